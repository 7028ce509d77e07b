/** The lab's pure parts: what the build copies, how it is keyed, how QEMU and ssh are configured. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  appletLinks,
  bootFailure,
  bootStage,
  cacheKey,
  candidateVersion,
  debFileName,
  DOM0_MODULES,
  etcFiles,
  firstDependency,
  initScript,
  knownHostsLine,
  markerInitrd,
  moduleLoadOrder,
  parseDpkgQuery,
  parseLdd,
  qemuArgv,
  sshConfigText,
  usrMerged,
  xenCommandLine,
} from 'xen-runbooks/lab';

describe('initramfs contents', () => {
  test('ldd output gives every library path once, the loader included', () => {
    const out = `/usr/lib/xen-4.17/bin/xl:
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxlutil.so.4.17 => /lib/x86_64-linux-gnu/libxlutil.so.4.17 (0x00007f8c2f1ee000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f8c2ef14000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f8c2f252000)
/usr/bin/python3.11:
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f8c2ef14000)
\tlibmissing.so => not found
`;
    expect(parseLdd(out)).toEqual([
      { name: 'libxlutil.so.4.17', path: '/lib/x86_64-linux-gnu/libxlutil.so.4.17' },
      { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' },
      { name: 'ld-linux-x86-64.so.2', path: '/lib64/ld-linux-x86-64.so.2' },
    ]);
  });

  test('paths land in a merged /usr', () => {
    expect(usrMerged('/lib/x86_64-linux-gnu/libc.so.6')).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(usrMerged('/lib64/ld-linux-x86-64.so.2')).toBe('/usr/lib64/ld-linux-x86-64.so.2');
    expect(usrMerged('/sbin/ip')).toBe('/usr/sbin/ip');
    expect(usrMerged('/usr/bin/ip')).toBe('/usr/bin/ip');
    expect(usrMerged('/libexec/x')).toBe('/libexec/x');
  });

  test('modules load after their dependencies, each once', () => {
    const dep = `kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/802/stp.ko: kernel/net/llc/llc.ko
kernel/net/llc/llc.ko:
kernel/drivers/xen/xenfs/xenfs.ko: kernel/drivers/xen/xen-privcmd.ko
kernel/drivers/xen/xen-privcmd.ko:
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko
kernel/net/9p/9pnet.ko:
`;
    expect(moduleLoadOrder(dep, ['xenfs', 'xen-privcmd', 'bridge', '9p'])).toEqual([
      'kernel/drivers/xen/xen-privcmd.ko',
      'kernel/drivers/xen/xenfs/xenfs.ko',
      'kernel/net/llc/llc.ko',
      'kernel/net/802/stp.ko',
      'kernel/net/bridge/bridge.ko',
      'kernel/net/9p/9pnet.ko',
      'kernel/fs/9p/9p.ko',
    ]);
    expect(() => moduleLoadOrder(dep, ['tun'])).toThrow(/tun is not in modules.dep/);
  });

  test('dom0 loads the backends and the tools Xen needs', () => {
    for (const m of [
      'xenfs',
      'xen-evtchn',
      'xen-gntdev',
      'xen-gntalloc',
      'xen-privcmd',
      'xen-blkback',
      'xen-netback',
      'loop',
      'bridge',
      'tun',
    ])
      expect(DOM0_MODULES).toContain(m);
  });

  test('busybox applets never shadow a real program, and brctl is left out', () => {
    const list = 'bin/sh\nsbin/ip\nsbin/losetup\nusr/sbin/brctl\nbin/ls\n';
    const real = new Set(['ip', 'losetup']);
    expect(appletLinks(list, (n) => real.has(n))).toEqual(['/usr/bin/sh', '/usr/bin/ls']);
  });

  test('/init: devices the hotplug scripts need, modules, xenstored before xl, the bridge, sshd last', () => {
    const init = initScript({ kernelRelease: '6.1.0-56-amd64', modules: ['kernel/drivers/xen/xen-privcmd.ko'] });
    expect(init).toContain('ln -sf /proc/self/fd /dev/fd');
    expect(init).toContain('ln -sf /proc/self/fd/0 /dev/stdin');
    expect(init).toContain('/lib/modules/6.1.0-56-amd64/kernel/drivers/xen/xen-privcmd.ko');
    const order = [
      'mount -t xenfs',
      '/usr/sbin/xenstored',
      '/usr/sbin/xen-init-dom0',
      'xenconsoled',
      'xenbr0',
      '/usr/sbin/sshd',
    ];
    const at = order.map((s) => init.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  test('sshd accepts keys only, for root', () => {
    const cfg = etcFiles()['/etc/ssh/sshd_config']!;
    expect(cfg).toContain('PasswordAuthentication no');
    expect(cfg).toContain('PermitRootLogin prohibit-password');
    expect(etcFiles()['/etc/passwd']).toMatch(/^root:x:0:0:/);
  });
});

describe('packages and cache', () => {
  test('the key depends on the versions, not their order', () => {
    const a = cacheKey({ 'xen-utils-4.17': '4.17.7', 'linux-image-6.1.0-56-amd64': '6.1.192-2' }, 1);
    const b = cacheKey({ 'linux-image-6.1.0-56-amd64': '6.1.192-2', 'xen-utils-4.17': '4.17.7' }, 1);
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(cacheKey({ 'xen-utils-4.17': '4.17.8', 'linux-image-6.1.0-56-amd64': '6.1.192-2' }, 1)).not.toBe(a);
    expect(cacheKey({ 'xen-utils-4.17': '4.17.7', 'linux-image-6.1.0-56-amd64': '6.1.192-2' }, 2)).not.toBe(a);
  });

  test('apt and dpkg output', () => {
    expect(firstDependency('linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n')).toBe(
      'linux-image-6.1.0-56-amd64',
    );
    expect(candidateVersion('x:\n  Installed: (none)\n  Candidate: 4.17.7+13-0+deb12u1\n')).toBe('4.17.7+13-0+deb12u1');
    expect(candidateVersion('x:\n  Candidate: (none)\n')).toBeUndefined();
    expect(debFileName('openssh-server', '1:9.2p1-2')).toBe('openssh-server_1%3a9.2p1-2_amd64.deb');
    expect(parseDpkgQuery('bash 5.2-2 installed\nlibc6:amd64 2.36 installed\n', ['bash', 'libc6'])).toEqual({
      bash: '5.2-2',
      libc6: '2.36',
    });
    expect(() => parseDpkgQuery('bash 5.2-2 not-installed\n', ['bash'])).toThrow(/not installed: bash/);
  });
});

describe('QEMU and ssh', () => {
  const boot = {
    xen: '/c/xen',
    vmlinuz: '/c/vmlinuz',
    initrd: '/l/dom0-initrd.img',
    memoryMiB: 3072,
    cpus: 2,
    dom0MemMiB: 1024,
    sched: 'credit',
    sshPort: 40022,
    serialLog: '/l/serial.log',
    pidFile: '/l/qemu.pid',
    shareDir: '/l/share',
  } as const;

  test('Xen boots under TCG without SMAP, dom0 on hvc0, the comma of the module string doubled', () => {
    const argv = qemuArgv(boot);
    const after = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect(argv[0]).toBe('qemu-system-x86_64');
    expect(after('-accel')).toBe('tcg');
    // Two labs at once run their vCPUs in one thread each (test/lab/lab.ts).
    const single = qemuArgv({ ...boot, tcgThreads: 'single' });
    expect(single[single.indexOf('-accel') + 1]).toBe('tcg,thread=single');
    expect(after('-cpu')).toBe('max,-smap');
    expect(after('-machine')).toBe('q35');
    expect(after('-m')).toBe('3072');
    expect(after('-kernel')).toBe('/c/xen');
    expect(after('-initrd')).toBe('/c/vmlinuz console=hvc0 quiet,/l/dom0-initrd.img');
    expect(after('-append')).toBe(
      'console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2 sched=credit noreboot guest_loglvl=all bootscrub=0',
    );
    // QEMU's DHCP pool starts past dom0's address, and the forward names dom0's address.
    expect(after('-netdev')).toBe('user,id=n0,dhcpstart=10.0.2.100,hostfwd=tcp:127.0.0.1:40022-10.0.2.15:22');
    expect(after('-serial')).toBe('file:/l/serial.log');
    expect(after('-virtfs')).toContain('path=/l/share,mount_tag=labshare');
    expect(argv).toContain('-no-reboot');
    expect(argv).not.toContain('-enable-kvm');
    expect(qemuArgv({ ...boot, vmlinuz: '/a,b/vmlinuz' })[argv.indexOf('-initrd') + 1]).toBe(
      '/a,,b/vmlinuz console=hvc0 quiet,/l/dom0-initrd.img',
    );
  });

  test("dom0_mem none leaves dom0's memory to Xen", () => {
    expect(xenCommandLine({ dom0MemMiB: 'none', sched: 'credit2', cpus: 2 })).not.toContain('dom0_mem');
  });

  test('ssh_config: Host xenlab, the throwaway host key checked strictly, a key exchange the emulated dom0 does quickly', () => {
    const text = sshConfigText({ port: 40022, identityFile: '/l/id_ed25519', knownHostsFile: '/l/known_hosts' });
    expect(text.split('\n')[0]).toBe('Host xenlab');
    for (const line of [
      'HostName 127.0.0.1',
      'Port 40022',
      'User root',
      'IdentityFile /l/id_ed25519',
      'UserKnownHostsFile /l/known_hosts',
      'StrictHostKeyChecking yes',
      'HostKeyAlias xenlab',
      'KexAlgorithms curve25519-sha256',
    ])
      expect(text).toContain(`  ${line}\n`);
    expect(knownHostsLine('ssh-ed25519 AAAAC3Nza root@xenlab\n')).toBe('xenlab ssh-ed25519 AAAAC3Nza\n');
    expect(() => knownHostsLine('garbage')).toThrow();
  });

  test('the serial log tells a panic and the boot stage', () => {
    expect(bootFailure('(XEN) ****\n(XEN) Panic on CPU 0:\n(XEN) DOM0 crashed\n')).toMatch(/^Panic on CPU 0:/);
    expect(bootFailure('[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root fs\n')).toContain('VFS');
    expect(bootFailure('(XEN) Xen version 4.17.7\n')).toBeUndefined();
    expect(bootStage('(XEN) Xen version 4.17.7\n')).toBe('Xen starting');
    expect(bootStage('(XEN) *** LOADING DOMAIN 0 ***\n')).toBe('Xen loading dom0');
    expect(bootStage('XENLAB-READY\n')).toBe('dom0 is up, sshd starting');
  });
});

describe('guest initrd', () => {
  test("extra modules are copied in (an .xz one unpacked) and insmod'ed in order before the marker", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-parts-'));
    try {
      const plain = Buffer.from('\x7fELF plain module');
      const packed = Buffer.from('\x7fELF module that was xz-compressed');
      writeFileSync(path.join(dir, 'first.ko'), plain);
      writeFileSync(path.join(dir, 'raw'), packed);
      execFileSync('python3', [
        '-c',
        'import lzma,sys;open(sys.argv[2],"wb").write(lzma.compress(open(sys.argv[1],"rb").read()))',
        path.join(dir, 'raw'),
        path.join(dir, 'second.ko.xz'),
      ]);
      const cpio = markerInitrd('XR-MOD-UP', {
        stay: true,
        modules: [path.join(dir, 'first.ko'), path.join(dir, 'second.ko.xz')],
      });
      const out = path.join(dir, 'out');
      execFileSync('sh', ['-c', `mkdir ${out} && cd ${out} && cpio -i --quiet`], { input: cpio });
      expect(readFileSync(path.join(out, 'modules/first.ko'))).toEqual(plain);
      expect(readFileSync(path.join(out, 'modules/second.ko'))).toEqual(packed);
      const init = readFileSync(path.join(out, 'init'), 'utf8').split('\n');
      const first = init.findIndex((l) => l.includes('insmod /modules/first.ko'));
      const second = init.findIndex((l) => l.includes('insmod /modules/second.ko'));
      const marker = init.indexOf('echo XR-MOD-UP');
      expect(first).toBeGreaterThan(0);
      expect(second).toBeGreaterThan(first);
      expect(marker).toBeGreaterThan(second);
      // No /sbin/reboot: a reboot request from xl makes the kernel restart at once (orderly_reboot).
      expect(() => readFileSync(path.join(out, 'sbin/reboot'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
