/**
 * Guests for the lab (its tests, its benchmark, rehearsals), built on the spot: a PV guest's disk image (sfdisk + mke2fs -d) whose
 * /boot holds the lab's real Debian kernel and a tiny initrd whose /init (busybox) prints a marker
 * on the console and powers the guest off; and the domain configs that boot it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync, chmodSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { buildImage, localCommands, type Tree } from '../disk/index.js';
import { gzipSync } from 'node:zlib';
import { moduleLoadOrder } from './initramfs.js';
import { unpack } from './packages.js';

const $ = localCommands();

/**
 * A newc cpio whose /init prints MARKER and powers off, or with `stay` keeps the guest running
 * (busybox-static from this machine). `modules` (host paths of .ko or .ko.xz files, in load order)
 * are copied in, an .xz one unpacked here (busybox's insmod reads plain ELF only), and insmod'ed by
 * /init before it prints the marker.
 */
export function markerInitrd(marker: string, o: { stay?: boolean; modules?: readonly string[] } = {}): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-lab-initrd-'));
  try {
    mkdirSync(path.join(dir, 'bin'));
    mkdirSync(path.join(dir, 'proc'));
    mkdirSync(path.join(dir, 'dev'));
    copyFileSync('/usr/bin/busybox', path.join(dir, 'bin/busybox'));
    chmodSync(path.join(dir, 'bin/busybox'), 0o755);
    const insmods: string[] = [];
    if (o.modules?.length) {
      mkdirSync(path.join(dir, 'modules'));
      for (const m of o.modules) {
        const base = path.basename(m).replace(/\.xz$/, '');
        writeFileSync(path.join(dir, 'modules', base), m.endsWith('.xz') ? unxz(m) : readFileSync(m));
        insmods.push(`/bin/busybox insmod /modules/${base} || echo "insmod ${base} failed"\n`);
      }
    }
    writeFileSync(
      path.join(dir, 'init'),
      `#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n${insmods.join('')}echo ${marker}\n` +
        (o.stay ? 'while :; do /bin/busybox sleep 3600; done\n' : '/bin/busybox poweroff -f\n'),
      { mode: 0o755 },
    );
    return execFileSync('sh', ['-c', 'find . | sort | cpio -o -H newc -R 0:0 --quiet'], {
      cwd: dir,
      maxBuffer: 1 << 26,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An .xz file unpacked (python3's lzma, as elfKernel does). */
function unxz(file: string): Buffer {
  return execFileSync(
    'python3',
    ['-c', 'import lzma,sys;sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())', file],
    { maxBuffer: 1 << 28 },
  );
}

/**
 * Kernel modules for a guest, taken from the lab's linux-image package (DEB, kernel RELEASE) with
 * what they need (depmod's modules.dep), in load order: NAMES' files copied under DIR, whose paths
 * are returned for markerInitrd's `modules`.
 */
export async function guestModules(
  deb: string,
  release: string,
  names: readonly string[],
  dir: string,
): Promise<string[]> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'xr-lab-modules-'));
  try {
    await unpack(deb, tmp);
    await promisify(execFile)('depmod', ['-b', tmp, release]);
    const modDir = path.join(tmp, 'lib/modules', release);
    const order = moduleLoadOrder(await readFile(path.join(modDir, 'modules.dep'), 'utf8'), names);
    mkdirSync(dir, { recursive: true });
    return order.map((m) => {
      const dest = path.join(dir, path.basename(m));
      copyFileSync(path.join(modDir, m), dest);
      return dest;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The lab's Debian kernel as an ELF (the payload of its bzImage, cut out and unpacked by python3's
 * lzma): what the domain builder boots without unpacking anything.
 */
export function elfKernel(vmlinuz: string): Buffer {
  const elf = execFileSync(
    'python3',
    [
      '-c',
      'import lzma,sys;b=open(sys.argv[1],"rb").read();i=b.find(b"\\xfd7zXZ\\x00");sys.stdout.buffer.write(lzma.LZMADecompressor().decompress(b[i:]))',
      vmlinuz,
    ],
    { maxBuffer: 1 << 28 },
  );
  if (!elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])))
    throw new Error(`no ELF kernel inside ${vmlinuz}`);
  return elf;
}

/**
 * The lab's Debian kernel as a gzip-compressed ELF: the bzImage carries an xz payload, which the
 * domain builder of the oldest Xen releases cannot unpack (pygrub-fix names that); a gzipped ELF
 * every Xen loads.
 */
export function gzippedElfKernel(vmlinuz: string): Buffer {
  return gzipSync(elfKernel(vmlinuz), { level: 1 });
}

export const KERNEL = '/boot/vmlinuz-lab';
export const INITRD = '/boot/initrd.img-lab';

/** GRUB 2 menu as grub-mkconfig writes it, partition named the GRUB 2 way (pygrub 4.17 reads it). */
export function classicGrubCfg(args = 'console=hvc0'): string {
  return `set default="0"
set timeout=5
insmod part_msdos
insmod ext2
set root='(hd0,msdos1)'
menuentry 'Debian GNU/Linux, lab kernel' --class debian {
	insmod part_msdos
	insmod ext2
	set root='(hd0,msdos1)'
	echo	'Loading Linux ...'
	linux	${KERNEL} root=/dev/xvda1 ro ${args}
	initrd	${INITRD}
}
`;
}

/** The kernel's menu entry only inside an `if` block: GRUB 2 runs it, 4.17's pygrub sees no entry. */
export function ifOnlyGrubCfg(args = 'console=hvc0'): string {
  return `set default="0"
set timeout=5
if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
if [ -s \${prefix}/grubenv ]; then
  menuentry 'Debian GNU/Linux, lab kernel' --class debian {
	insmod part_msdos
	insmod ext2
	linux	${KERNEL} root=/dev/xvda1 ro ${args}
	initrd	${INITRD}
  }
fi
`;
}

/**
 * An entry whose kernel and initrd name their device through a variable, `($root)/boot/…`, the
 * root found by `search`: GRUB 2 (and so PVGRUB2) expands it; pygrub raises on it
 * (tools/pygrub/src/GrubConf.py, RELEASE-4.17.0: get_path() makes a GrubDiskPart of "($root",
 * whose set_disk() calls int() on "oot": ValueError).
 */
export function rootVariableGrubCfg(args = 'console=hvc0'): string {
  return `set default="0"
set timeout=1
insmod part_msdos
insmod ext2
search --no-floppy --set=root -f ${KERNEL}
menuentry 'Debian GNU/Linux, lab kernel' --class debian {
	insmod part_msdos
	insmod ext2
	echo	'Loading Linux ...'
	linux	($root)${KERNEL} root=/dev/xvda1 ro ${args}
	initrd	($root)${INITRD}
}
`;
}

/** PVGRUB2 as grub-xen-host installs it: GRUB 2 built as a PV kernel, given as the domain's kernel=. */
export const PVGRUB2_X86_64 = '/usr/lib/grub-xen/grub-x86_64-xen.bin';

/** grub.cfg as Fedora 30+ / RHEL 8 write it: blscfg, no menuentry (the entry is a BLS file). */
export const BLS_GRUB_CFG = `set default="\${saved_entry}"
insmod part_msdos
insmod ext2
insmod blscfg
blscfg
`;

/** The BootLoaderSpec entry BLS_GRUB_CFG would load. */
export function blsEntry(args = 'console=hvc0'): string {
  return `title Lab kernel\nversion lab\nlinux ${KERNEL}\ninitrd ${INITRD}\noptions root=/dev/xvda1 ro ${args}\n`;
}

/** A dos-labelled image, one ext4 partition holding /boot (grub.cfg, the kernel, the initrd). */
export async function guestImage(
  file: string,
  o: { kernel: Buffer; marker: string; grubCfg: string; mib?: number; extra?: Tree },
): Promise<void> {
  const files: Tree = {
    ...o.extra,
    'boot/grub/grub.cfg': o.grubCfg,
    [KERNEL.slice(1)]: o.kernel,
    [INITRD.slice(1)]: markerInitrd(o.marker),
  };
  await buildImage($, file, {
    bytes: (o.mib ?? 48) * 1024 * 1024,
    label: 'dos',
    partitions: [{ start: 2048, type: '83', bootable: true, fs: { type: 'ext4', files } }],
  });
}

/** An xl domain config for a PV guest on FILE (a dom0 path). */
export function pvConfig(o: {
  name: string;
  disk: string;
  bootloader?: 'pygrub';
  kernel?: string;
  memory?: number;
  maxmem?: number;
  vcpus?: number;
  maxvcpus?: number;
  vif?: string;
  extra?: string[];
}): string {
  const lines = [`name = "${o.name}"`];
  if (o.bootloader) lines.push(`bootloader = "${o.bootloader}"`);
  if (o.kernel) lines.push(`kernel = "${o.kernel}"`);
  lines.push(`memory = ${o.memory ?? 128}`);
  if (o.maxmem) lines.push(`maxmem = ${o.maxmem}`);
  lines.push(`vcpus = ${o.vcpus ?? 1}`);
  if (o.maxvcpus) lines.push(`maxvcpus = ${o.maxvcpus}`);
  lines.push(`disk = [ 'file:${o.disk},xvda,w' ]`);
  if (o.vif !== undefined) lines.push(`vif = [ '${o.vif}' ]`);
  lines.push('on_poweroff = "destroy"', 'on_reboot = "destroy"', 'on_crash = "destroy"');
  lines.push(...(o.extra ?? []));
  return `${lines.join('\n')}\n`;
}

/**
 * A bootable ISO 9660 image (El Torito, no emulation, built by xorriso) whose boot sector writes
 * MARKER and a newline to port 0xE9, then halts with interrupts off. Xen logs what an HVM guest
 * writes there (hvm.c hvm_print_line: "(dN) MARKER" in `xl dmesg`, with guest_loglvl=all), and
 * a guest whose vCPUs all halt with interrupts off is powered off (hvm.c hvm_hlt →
 * hvm_vcpu_down: "All CPUs offline -- powering off", RELEASE-4.17.0): the guest proves it ran
 * and leaves nothing running.
 */
export function markerIso(file: string, marker: string): void {
  if (!/^[\x20-\x7e]{1,64}$/.test(marker))
    throw new Error(`a marker is up to 64 printable ASCII characters: ${marker}`);
  // Loaded at 0000:7C00 (the El Torito default). Hand-assembled 16-bit code:
  const code = Buffer.from([
    0x31,
    0xc0, //       xor ax, ax
    0x8e,
    0xd8, //       mov ds, ax
    0xfc, //             cld
    0xbe,
    0x15,
    0x7c, // mov si, 0x7C15 (the message, right after the code)
    0xac, //             .next: lodsb
    0x84,
    0xc0, //       test al, al
    0x74,
    0x04, //       jz .halt
    0xe6,
    0xe9, //       out 0xE9, al
    0xeb,
    0xf7, //       jmp .next
    0xfa, //             .halt: cli
    0xf4, //             hlt
    0xeb,
    0xfc, //       jmp .halt
  ]);
  const boot = Buffer.alloc(2048);
  code.copy(boot);
  boot.write(`${marker}\n\0`, code.length, 'latin1');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-iso-'));
  try {
    mkdirSync(path.join(dir, 'boot'));
    writeFileSync(path.join(dir, 'boot', 'marker.bin'), boot);
    execFileSync(
      'xorriso',
      [
        '-as',
        'mkisofs',
        '-quiet',
        '-V',
        'XRLAB',
        '-b',
        'boot/marker.bin',
        '-no-emul-boot',
        '-boot-load-size',
        '4',
        '-o',
        file,
        dir,
      ],
      { stdio: 'pipe' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
