import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlaybook, type RunResult } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';
import { isoStandIn } from '../helpers/iso.js';
import { readXl, seedXl, type XlSeed } from '../sim/xl.mjs';
import { GOLDEN, UUID, grubenv, makeHost, pygrubReads, sourcedGrubDefault, type HostSpec } from './host.js';
import { pythonReads, xenPython, xlu } from './oracle.js';

const GiB = 1024 ** 3;
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

interface Host {
  root: string;
  sim: string;
  run(args: string[], env?: Record<string, string>): Promise<RunResult>;
  read(p: string): string;
  exists(p: string): boolean;
}

/** A host tree with the xl simulator seeded (when Xen runs) and a runner for the playbook under --root. */
function host(spec: HostSpec & { xl?: XlSeed | false } = {}): Host {
  const root = makeHost({ dom0: true, ...spec, files: { '/root/win7.vnc': 's3cret\n', ...(spec.files ?? {}) } });
  const sim = `${root}.sim`;
  mkdirSync(sim);
  cleanup.push(root, sim);
  if (spec.xl !== false && (spec.dom0 ?? true)) seedXl(sim, { info: { free_memory: 12000 }, ...(spec.xl ?? {}) });
  return {
    root,
    sim,
    run: (args, env = {}) =>
      runPlaybook('windows-hvm', ['--root', root, ...args], { sim, env: { XR_SIM_ROOT: root, ...env } }),
    read: (p) => readFileSync(path.join(root, p), 'utf8'),
    exists: (p) => existsSync(path.join(root, p)),
  };
}

/** The options of the reference guest: win7, 40G image, 4G, 2 vCPUs, a fixed MAC, VNC :1 with a password. */
const WIN7 = [
  '--name',
  'win7',
  '--iso',
  '/srv/iso/win7.iso',
  '--disk',
  '/srv/xen/win7.img',
  '--disk-size',
  '40G',
  '--memory',
  '4096',
  '--vcpus',
  '2',
  '--mac',
  '00:16:3e:5a:01:02',
  '--vnc-password-file',
  '/root/win7.vnc',
  '--vnc-display',
  '1',
];

const stepsOf = (r: RunResult) =>
  Object.fromEntries((r.json?.steps ?? []).map((s: { id: string; status: string }) => [s.id, s.status]));

beforeAll(() => {
  tool('grub-script-check');
  tool('sfdisk');
  tool('mke2fs');
  xenPython();
});

describe('a new guest, xl', () => {
  let h: Host;
  let first: RunResult;
  beforeAll(async () => {
    h = host();
    first = await h.run([...WIN7, '--yes', '--json']);
  });

  it('runs every step and writes the golden configuration', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(stepsOf(first)).toEqual({
      'check-cpu': 'ok',
      'check-dom0': 'ok',
      'check-xen': 'ok',
      'check-config': 'ok',
      'check-disk': 'ok',
      'boot-entry': 'ok',
      'create-disk': 'changed',
      'write-config': 'changed',
      start: 'skipped',
    });
    expect(h.read('/etc/xen/win7.cfg')).toBe(readFileSync(path.join(GOLDEN, 'xl/win7.cfg'), 'utf8'));
  });

  it('keeps the file readable by root only: it holds the VNC password', () => {
    expect(statSync(path.join(h.root, 'etc/xen/win7.cfg')).mode & 0o777).toBe(0o600);
  });

  it('never shows the password in the diff or the report', () => {
    expect(first.stdout).not.toContain('s3cret');
    expect(first.stderr).not.toContain('s3cret');
    expect(JSON.stringify(first.json.steps)).toContain('vncpasswd = \\"********\\"');
  });

  it('creates a sparse 40 GiB image, readable by root only', () => {
    const st = statSync(path.join(h.root, 'srv/xen/win7.img'));
    expect(st.size).toBe(40 * GiB);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('writes a file that Xen’s own parser reads as intended', () => {
    const text = h.read('/etc/xen/win7.cfg');
    const { configs, disks } = xlu({
      configs: [text],
      disks: [
        'format=raw, vdev=hda, access=rw, target=/srv/xen/win7.img',
        'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/iso/win7.iso',
      ],
    });
    const v = configs[0]?.values ?? {};
    expect(configs[0]?.ok, configs[0]?.report).toBe(true);
    expect(v).toMatchObject({
      type: 'hvm',
      name: 'win7',
      memory: '4096',
      maxmem: '4096',
      vcpus: '2',
      viridian: ['defaults'],
      vga: 'stdvga',
      videoram: '16',
      vnc: '1',
      vnclisten: '127.0.0.1',
      vncdisplay: '1',
      vncpasswd: 's3cret',
      usb: '1',
      usbdevice: ['tablet'],
      boot: 'dc',
      vif: ['bridge=xenbr0,model=e1000,mac=00:16:3e:5a:01:02'],
    });
    expect(v.disk).toEqual(
      disks.map((_, i) =>
        i === 0
          ? 'format=raw, vdev=hda, access=rw, target=/srv/xen/win7.img'
          : 'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/iso/win7.iso',
      ),
    );
    expect(disks[0]?.disk).toMatchObject({ pdev_path: '/srv/xen/win7.img', vdev: 'hda', format: 'raw', readwrite: 1 });
    expect(disks[1]?.disk).toMatchObject({ pdev_path: '/srv/iso/win7.iso', vdev: 'hdc', is_cdrom: 1 });
  });

  it('changes nothing the second time', async () => {
    const before = h.read('/etc/xen/win7.cfg');
    const again = await h.run([...WIN7, '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(stepsOf(again)).filter((s) => s === 'changed' || s === 'would-change')).toEqual([]);
    expect(again.stdout + again.stderr).toContain('Nothing to do');
    expect(h.read('/etc/xen/win7.cfg')).toBe(before);
    expect(h.exists('/etc/xen/win7.cfg.orig')).toBe(false);
  });
});

describe('a new guest, xm (xend)', () => {
  it('writes the legacy form, which Python (as xend executes it) reads', async () => {
    const h = host({ xl: { xend: true, info: { free_memory: 12000 } } });
    const r = await h.run([...WIN7, '--toolstack', 'xm', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const text = h.read('/etc/xen/win7.cfg');
    expect(text).toBe(readFileSync(path.join(GOLDEN, 'xm/win7.cfg'), 'utf8'));
    expect(pythonReads(text)).toMatchObject({
      builder: 'hvm',
      kernel: '/usr/lib/xen/boot/hvmloader',
      device_model: '/usr/lib/xen/bin/qemu-dm',
      memory: 4096,
      maxmem: 4096,
      stdvga: 1,
      usbdevice: 'tablet',
      disk: ['file:/srv/xen/win7.img,hda,w', 'file:/srv/iso/win7.iso,hdc:cdrom,r'],
      vif: ['type=ioemu,bridge=xenbr0,model=e1000,mac=00:16:3e:5a:01:02'],
    });
    const again = await h.run([...WIN7, '--toolstack', 'xm', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
  });

  it('finds qemu-dm under /usr/lib64 on 64-bit Red Hat systems', async () => {
    const h = host({ xl: { xend: true }, files: { '/usr/lib64/xen/bin/qemu-dm': '' } });
    expect((await h.run([...WIN7, '--toolstack', 'xm', '--yes'])).code).toBe(0);
    expect(h.read('/etc/xen/win7.cfg')).toContain('device_model = "/usr/lib64/xen/bin/qemu-dm"\n');
  });
});

describe('dry run', () => {
  it('shows the plan and the file, and changes nothing', async () => {
    const h = host();
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('would create /srv/xen/win7.img: a sparse raw image of 40GiB');
    expect(r.stdout).toContain('+type = "hvm"');
    expect(r.stdout).toContain('+vncpasswd = "********"');
    expect(r.stdout).not.toContain('s3cret');
    expect(h.exists('/etc/xen/win7.cfg')).toBe(false);
    expect(h.exists('/srv/xen/win7.img')).toBe(false);
  });
});

describe('an existing file is updated in place', () => {
  it('changes only the values that differ and keeps what the administrator added', async () => {
    const h = host();
    expect((await h.run([...WIN7, '--yes'])).code).toBe(0);
    const golden = h.read('/etc/xen/win7.cfg');
    writeFileSync(path.join(h.root, 'etc/xen/win7.cfg'), `${golden}# added by hand\nlocaltime = 1\n`);
    const r = await h.run([...WIN7.map((a) => (a === '4096' ? '6144' : a)), '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const text = h.read('/etc/xen/win7.cfg');
    expect(text).toBe(
      `${golden.replace('memory = 4096', 'memory = 6144').replace('maxmem = 4096', 'maxmem = 6144')}# added by hand\nlocaltime = 1\n`,
    );
    expect(h.read('/etc/xen/win7.cfg.orig')).toContain('localtime = 1');
    expect(r.stdout).toContain('update /etc/xen/win7.cfg: memory, maxmem');
  });

  it('keeps a password and a display the file already has, and never shows the password', async () => {
    const h = host();
    expect((await h.run([...WIN7, '--yes'])).code).toBe(0);
    const noPw = WIN7.filter(
      (a, i) =>
        !['--vnc-password-file', '--vnc-display'].includes(a) &&
        !['--vnc-password-file', '--vnc-display'].includes(WIN7[i - 1] ?? ''),
    );
    const r = await h.run([...noPw.map((a) => (a === '2' ? '4' : a)), '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = xlu({ configs: [h.read('/etc/xen/win7.cfg')] }).configs[0]?.values;
    expect(v).toMatchObject({ vcpus: '4', vncpasswd: 's3cret', vncdisplay: '1', vncunused: '0' });
    expect(r.stdout + r.stderr).not.toContain('s3cret');
    expect(r.json.data.vnc).toEqual({ listen: '127.0.0.1', display: 1, port: 5901 });
  });

  it('modernizes an xend file for xl, naming each deprecated setting, and keeps its MAC', async () => {
    const old = [
      '# Windows 2008 R2, from the Red Hat 5 days',
      "name = 'win7'",
      "builder = 'hvm'",
      'kernel = "/usr/lib/xen/boot/hvmloader"',
      "device_model = '/usr/lib64/xen/bin/qemu-dm'",
      'memory = 2048',
      'stdvga = 1',
      "disk = [ 'file:/srv/xen/win7.img,hda,w', 'file:/srv/iso/win7.iso,hdc:cdrom,r' ]",
      "vif = [ 'type=ioemu, bridge=xenbr0, mac=00:16:3e:11:22:33' ]",
      'localtime = 1',
      '',
    ].join('\n');
    const h = host({ files: { '/etc/xen/win7.cfg': old, '/srv/xen/win7.img': '' } });
    const args = WIN7.filter(
      (a, i) => !['--mac', '--disk-size'].includes(a) && !['--mac', '--disk-size'].includes(WIN7[i - 1] ?? ''),
    );
    const r = await h.run([...args, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('/etc/xen/win7.cfg:3: builder = \'hvm\' -> type = "hvm"');
    expect(r.stderr).toContain('/etc/xen/win7.cfg:4: kernel = "/usr/lib/xen/boot/hvmloader" -> (removed)');
    expect(r.stderr).toContain('device_model = \'/usr/lib64/xen/bin/qemu-dm\' -> device_model_version = "qemu-xen"');
    expect(r.stderr).toContain('stdvga = 1 -> vga = "stdvga"');
    expect(r.stderr).toContain(
      'file:/srv/xen/win7.img,hda,w -> format=raw, vdev=hda, access=rw, target=/srv/xen/win7.img',
    );
    const text = h.read('/etc/xen/win7.cfg');
    const { configs } = xlu({ configs: [text] });
    expect(configs[0]?.values).not.toHaveProperty('builder');
    expect(configs[0]?.values).not.toHaveProperty('kernel');
    expect(configs[0]?.values).not.toHaveProperty('device_model');
    expect(configs[0]?.values).not.toHaveProperty('stdvga');
    expect(configs[0]?.values).toMatchObject({ type: 'hvm', vga: 'stdvga', memory: '4096', localtime: '1' });
    expect(configs[0]?.values.vif).toEqual(['bridge=xenbr0,model=e1000,mac=00:16:3e:11:22:33']);
    expect(text.startsWith("# Windows 2008 R2, from the Red Hat 5 days\nname = 'win7'\n")).toBe(true);
    expect(h.read('/etc/xen/win7.cfg.orig')).toBe(old);
  });

  it('for xm, keeps the Python of an xend file and updates the values around it', async () => {
    const py = [
      'import os, re',
      "arch_libdir = 'lib'",
      'arch = os.uname()[4]',
      "if os.uname()[0] == 'Linux' and re.search('64', arch):",
      "    arch_libdir = 'lib64'",
      "name = 'win7'",
      "builder = 'hvm'",
      'memory = 1024',
      '',
    ].join('\n');
    const h = host({ xl: { xend: true }, files: { '/etc/xen/win7.cfg': py } });
    const r = await h.run([...WIN7, '--toolstack', 'xm', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('/etc/xen/win7.cfg:3: left as it is (Python for xend): arch = os.uname()[4]');
    const text = h.read('/etc/xen/win7.cfg');
    expect(text.startsWith(py.replace('memory = 1024', 'memory = 4096'))).toBe(true);
    expect(text).toContain('\nmaxmem = 4096\n');
  });

  it('refuses a file with Python xl cannot read, and leaves everything as it was', async () => {
    const py = "import os\narch = os.uname()[4]\nname = 'win7'\nmemory = 1024\n";
    const h = host({ files: { '/etc/xen/win7.cfg': py } });
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('line 1 (import os)');
    expect(h.read('/etc/xen/win7.cfg')).toBe(py);
    expect(h.exists('/srv/xen/win7.img')).toBe(false);
  });
});

describe('free memory as xl judges it (autoballoon)', () => {
  // A stock host: dom0 owns nearly all memory and Xen's command line has no dom0_mem=.
  const stock = (over: XlSeed = {}): XlSeed => ({
    info: { free_memory: 600, total_memory: 16279, xen_commandline: 'placeholder', ...(over.info ?? {}) },
    dom0: { memory: 15500 },
    ...over,
  });

  it('starts the guest xl create would start: no dom0_mem=, autoballoon "auto" takes memory from dom0', async () => {
    const h = host({ xl: stock() });
    const r = await h.run([...WIN7, '--start', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('autoballoon "auto": Xen\'s command line has no dom0_mem=');
    expect(r.stdout).toMatch(
      /600 MiB free; the guest needs 41\d\d MiB; xl create will take 3\d{3} MiB from dom0 \(15500 MiB now\)/,
    );
    const state = readXl(h.sim);
    expect(state?.domains.find((d) => d.name === 'win7')).toBeDefined();
    expect(state?.domains.find((d) => d.domid === 0)?.memory).toBeLessThan(15500);
  });

  it('refuses when dom0_mem= is on Xen\'s command line: "auto" then leaves dom0 alone, as xl create would fail', async () => {
    const h = host({
      xl: stock({ info: { free_memory: 600, xen_commandline: 'placeholder dom0_mem=2048M,max:2048M' } }),
    });
    const r = await h.run([...WIN7, '--start', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Xen has 600 MiB free \(autoballoon "auto": Xen's command line sets dom0_mem=/);
    expect(h.exists('/etc/xen/win7.cfg')).toBe(false);
  });

  it('reads xl.conf: autoballoon="off" refuses, "on" counts dom0 even with dom0_mem=', async () => {
    const off = host({ xl: stock(), files: { '/etc/xen/xl.conf': 'autoballoon="off"\n' } });
    const r1 = await off.run([...WIN7, '--dry-run']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('xl.conf says autoballoon off');
    const on = host({
      xl: stock({ info: { free_memory: 600, xen_commandline: 'dom0_mem=15500M' } }),
      files: { '/etc/xen/xl.conf': 'autoballoon="on"\n' },
    });
    const r2 = await on.run([...WIN7, '--start', '--yes']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('xl.conf says autoballoon on');
  });

  it('never counts dom0 below the 128 MiB libxl keeps it at', async () => {
    const h = host({ xl: stock({ dom0: { memory: 1000 } }) });
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Xen has 600 MiB free and dom0 can give 872 MiB more \(down to 128 MiB\)/);
  });

  it('xm: balloons as xend-config.sxp says (enable-dom0-ballooning, dom0-min-mem); no file, no ballooning', async () => {
    const sxp = '(dom0-min-mem 196)\n(enable-dom0-ballooning yes)\n';
    const stockXend = host({ xl: stock({ xend: true }), files: { '/etc/xen/xend-config.sxp': sxp } });
    const r = await stockXend.run([...WIN7, '--toolstack', 'xm', '--start', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('xend balloons dom0 down to dom0-min-mem 196 MiB');
    const bare = host({ xl: stock({ xend: true }) });
    const r2 = await bare.run([...WIN7, '--toolstack', 'xm', '--dry-run']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('xend does not balloon dom0');
  });

  it('on Xen 4.2, xl balloons by default whatever the command line says (autoballoon = 1)', async () => {
    const h = host({
      xl: stock({
        info: { free_memory: 600, xen_major: 4, xen_minor: 2, xen_extra: '.5', xen_commandline: 'dom0_mem=15500M' },
      }),
    });
    const r = await h.run([...WIN7, '--start', '--yes']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('memory and PV drivers', () => {
  it('sets maxmem above memory only with --pv-drivers', async () => {
    const h = host();
    const bad = await h.run([...WIN7, '--max-memory', '8G', '--yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-memory needs --pv-drivers');
    expect(bad.stderr).toContain('populated on demand');
    const r = await h.run([...WIN7, '--pv-drivers', '--max-memory', '8G', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const v = xlu({ configs: [h.read('/etc/xen/win7.cfg')] }).configs[0]?.values;
    expect([v?.memory, v?.maxmem]).toEqual(['4096', '8192']);
    expect(h.read('/etc/xen/win7.cfg')).toContain(
      'This guest has PV drivers (a balloon driver): it may start below maxmem.',
    );
  });
});

describe('bad inputs exit 2 and change nothing', () => {
  const cases: [string, string[], RegExp, XlSeed?][] = [
    ['a missing ISO', ['--iso', '/srv/iso/nope.iso'], /--iso \/srv\/iso\/nope\.iso: no such file/],
    ['memory that is not a number', ['--memory', 'lots'], /--memory: 'lots' is not a size/],
    [
      'memory above free memory',
      ['--memory', '8G'],
      /needs 8\d{3} MiB .* and Xen has 2000 MiB free/,
      { info: { free_memory: 2000 } },
    ],
    ['a name with shell characters', ['--name', 'win7;reboot'], /--name: 'win7;reboot' is not valid/],
    ['a name with a space', ['--name', 'win 7'], /--name: 'win 7' is not valid/],
    ['a relative disk path', ['--disk', 'win7.img'], /give an absolute path/],
    ['a VNC console on every address without a password', ['--vnc-listen', '0.0.0.0'], /without --vnc-password-file/],
  ];
  it.each(cases)('%s', async (_what, change, message, seed) => {
    const h = host(seed ? { xl: seed } : {});
    const args = [...WIN7];
    for (let i = 0; i < change.length; i += 2) {
      const at = args.indexOf(change[i] as string);
      if (at >= 0) args[at + 1] = change[i + 1] as string;
      else args.push(change[i] as string, change[i + 1] as string);
    }
    if (change[0] === '--vnc-listen') args.splice(args.indexOf('--vnc-password-file'), 2);
    const r = await h.run([...args, '--yes']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(h.exists('/etc/xen/win7.cfg')).toBe(false);
    expect(h.exists('/srv/xen/win7.img')).toBe(false);
  });

  it('a missing image without --disk-size', async () => {
    const h = host();
    const r = await h.run([...WIN7.slice(0, 6), '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --disk-size');
  });

  it('an ISO that is not needed once Windows is installed', async () => {
    const h = host({ files: { '/srv/xen/win7.img': '' } });
    const r = await h.run(['--name', 'win7', '--disk', '/srv/xen/win7.img', '--installed', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const v = xlu({ configs: [h.read('/etc/xen/win7.cfg')] }).configs[0]?.values;
    expect(v?.boot).toBe('c');
    expect(v?.disk).toEqual([
      'format=raw, vdev=hda, access=rw, target=/srv/xen/win7.img',
      'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=',
    ]);
    expect((await h.run(['--name', 'win7', '--disk', '/srv/xen/win7.img', '--yes'])).code).toBe(2);
  });
});

describe('disks that already hold something', () => {
  function image(h: Host, build: (file: string) => void): string {
    const file = path.join(h.root, 'srv/xen/win7.img');
    execFileSync('truncate', ['-s', '64M', file]);
    build(file);
    return file;
  }
  const DISK_ARGS = WIN7.filter((a, i) => a !== '--disk-size' && WIN7[i - 1] !== '--disk-size');

  it('refuses an image with an MBR partition table (exit 3), and writes nothing', async () => {
    const h = host();
    image(h, (f) => execFileSync(tool('sfdisk'), ['-q', f], { input: 'label: dos\n,,7\n' }));
    const r = await h.run([...DISK_ARGS, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('/srv/xen/win7.img already holds an MBR partition table');
    expect(h.exists('/etc/xen/win7.cfg')).toBe(false);
    const forced = await h.run([...DISK_ARGS, '--force', '--yes']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('--force: /srv/xen/win7.img holds an MBR partition table');
    const again = await h.run([...DISK_ARGS, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("it is this guest's disk");
  });

  it('refuses a GPT disk and a bare ext4 filesystem', async () => {
    const gpt = host();
    image(gpt, (f) => execFileSync(tool('sfdisk'), ['-q', f], { input: 'label: gpt\n,,L\n' }));
    const r1 = await gpt.run([...DISK_ARGS, '--yes']);
    expect([r1.code, r1.stderr.includes('a GPT partition table')]).toEqual([3, true]);
    const ext = host();
    image(ext, (f) => execFileSync(tool('mke2fs'), ['-q', '-F', '-t', 'ext4', f]));
    const r2 = await ext.run([...DISK_ARGS, '--yes']);
    expect([r2.code, r2.stderr.includes('an ext2/3/4 filesystem')]).toEqual([3, true]);
  });

  it('refuses the disk of another guest', async () => {
    const h = host({
      files: {
        '/etc/xen/web.cfg': "name = 'web'\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=/srv/xen/win7.img' ]\n",
      },
    });
    image(h, () => {});
    const r = await h.run([...DISK_ARGS, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is the disk of another guest: /etc/xen/web.cfg');
  });

  it('accepts a blank logical volume (a real block device) and writes phy: for xm', async () => {
    const losetup = tool('losetup');
    const h = host({ xl: { xend: true } });
    const backing = path.join(h.sim, 'lv.img');
    execFileSync('truncate', ['-s', '256M', backing]);
    const loop = execFileSync(losetup, ['-f', '--show', backing], { encoding: 'utf8' }).trim();
    try {
      const st = statSync(loop);
      const major = Math.floor(Number(st.rdev) / 256);
      const minor = Number(st.rdev) % 256;
      mkdirSync(path.join(h.root, 'dev/mapper'), { recursive: true });
      execFileSync('mknod', [path.join(h.root, 'dev/mapper/vg0-win7'), 'b', String(major), String(minor)]);
      mkdirSync(path.join(h.root, 'dev/vg0'));
      execFileSync('ln', ['-s', '../mapper/vg0-win7', path.join(h.root, 'dev/vg0/win7')]);
      const args = WIN7.slice(0, 4).concat(['--disk', '/dev/vg0/win7'], WIN7.slice(8));
      const r = await h.run([...args, '--toolstack', 'xm', '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('/dev/vg0/win7: a blank block device');
      expect(pythonReads(h.read('/etc/xen/win7.cfg')).disk).toEqual([
        'phy:/dev/vg0/win7,hda,w',
        'file:/srv/iso/win7.iso,hdc:cdrom,r',
      ]);
      // Data on the LV: refused.
      execFileSync(tool('sfdisk'), ['-q', loop], { input: 'label: dos\n,,7\n' });
      rmSync(path.join(h.root, 'etc/xen/win7.cfg'));
      const r2 = await h.run([...args, '--toolstack', 'xm', '--yes']);
      expect(r2.code).toBe(3);
    } finally {
      execFileSync(losetup, ['-d', loop]);
    }
  });

  it('refuses a mounted device even with --force', async () => {
    const h = host({ files: { '/proc/mounts': '/dev/sdb1 /srv/data ext4 rw 0 0\n' } });
    mkdirSync(path.join(h.root, 'dev'), { recursive: true });
    execFileSync('mknod', [path.join(h.root, 'dev/sdb1'), 'b', '7', '250']);
    const args = WIN7.slice(0, 4).concat(['--disk', '/dev/sdb1'], WIN7.slice(8));
    const r = await h.run([...args, '--force', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('/dev/sdb1 is in use on this host (mounted on /srv/data)');
  });
});

describe('the CPU and the hypervisor', () => {
  it('fails without vmx or svm on a host not running Xen', async () => {
    const h = host({ cpu: 'no-virt', dom0: false, xl: false });
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no CPU shows vmx (Intel VT-x) or svm (AMD-V)');
    expect(r.stderr).toContain('firmware setup');
  });

  it('names AMD-V', async () => {
    const r = await host({ cpu: 'amd-svm' }).run([...WIN7, '--dry-run']);
    expect(r.stdout).toContain('AMD-V (svm) on 2 CPUs: AMD Opteron(tm) Processor 4184');
  });

  it('asks Xen when dom0 hides vmx from /proc/cpuinfo', async () => {
    const h = host({ cpu: 'xen-dom0' });
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("vmx/svm are hidden from dom0's /proc/cpuinfo, and Xen reports HVM support");
    const noHvm = host({
      cpu: 'xen-dom0',
      xl: { info: { virt_caps: 'pv pv_directio shadow', xen_caps: 'xen-3.0-x86_64' } },
    });
    const r2 = await noHvm.run([...WIN7, '--dry-run']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('Xen runs but reports no HVM support');
  });

  it('reports Xen: version, scheduler, free memory against what the guest needs', async () => {
    const r = await host({ xl: { info: { free_memory: 9000, xen_scheduler: 'credit' } } }).run([...WIN7, '--dry-run']);
    expect(r.stdout).toMatch(/Xen 4\.17\.7 with HVM, credit scheduler, 9000 MiB free; the guest needs 41\d\d MiB/);
  });

  it("counts the guest's memory as the host's release does: 4.17's HAP pool is half 4.16's per MiB", async () => {
    const need = async (minor: number, virtCaps: string) => {
      const info = { free_memory: 9000, xen_minor: minor, xen_extra: '.0', virt_caps: virtCaps };
      const r = await host({ xl: { info } }).run([...WIN7, '--dry-run']);
      return Number(/the guest needs (\d+) MiB/.exec(r.stdout)?.[1]);
    };
    const hap = 'pv hvm hvm_directio pv_directio hap shadow';
    // 4096 MiB, 2 vCPUs, maxmem 4096: + 4 KiB × (512 + 2 × 4096) + 2 MiB up to 4.16; + 4 KiB × (512 + 4096) + 2 MiB on 4.17.
    expect(await need(16, hap)).toBe(4132);
    expect(await need(17, hap)).toBe(4116);
    expect(await need(17, 'pv hvm hvm_directio pv_directio shadow')).toBe(4132);
  });

  it('fails when the toolstack cannot reach Xen', async () => {
    const h = host({ xl: false });
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('vmx/svm are hidden from this kernel');
    expect(r.stderr).toContain('xl info failed: cannot init xl context');
    expect(r.stderr).toContain('xencommons');
    const xm = await host({ xl: {} }).run([...WIN7, '--toolstack', 'xm', '--dry-run']);
    expect(xm.stderr).toContain('Is xend running?');
  });

  it('refuses to run in a Xen guest', async () => {
    const h = host({ files: { '/proc/xen/capabilities': '' } });
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('this system is a Xen guest (domU)');
  });
});

describe('not booted into Xen yet: the boot entry', () => {
  it('adds the Xen entry (CentOS 6, GRUB legacy) with the dom0 kernel, makes it the default, prepares the guest', async () => {
    const h = host({ dom0: false, xl: false, grub: { kind: 'legacy', file: 'centos6-no-xen' } });
    const r = await h.run([...WIN7, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(stepsOf(r)).toMatchObject({
      'check-dom0': 'skipped',
      'check-xen': 'skipped',
      'boot-entry': 'changed',
      'create-disk': 'changed',
      'write-config': 'changed',
    });
    expect(r.stderr).toContain('the running kernel 2.6.32-220.el6.x86_64 is not a Xen dom0');
    expect(r.stderr).toContain('no CONFIG_XEN_DOM0=y: this kernel cannot be dom0');
    const conf = h.read('/boot/grub/grub.conf');
    expect(conf).toBe(readFileSync(path.join(GOLDEN, 'grub-legacy/centos6-xen-added.conf'), 'utf8'));
    const seen = pygrubReads(xenPython(), path.join(h.root, 'boot/grub/grub.conf'));
    expect(seen.images[seen.default]).toEqual({
      title: 'Xen hypervisor, CentOS (2.6.32.26-174.1.xendom0.el6.x86_64)',
      kernel: '/xen.gz',
    });
    expect(h.read('/boot/grub/grub.conf.orig')).toBe(
      readFileSync(path.join(path.dirname(GOLDEN), 'grub-legacy/centos6-no-xen.conf'), 'utf8'),
    );
    expect(statSync(path.join(h.root, 'boot/grub/grub.conf')).mode & 0o777).toBe(0o600);
    expect(lstatSync(path.join(h.root, 'etc/grub.conf')).isSymbolicLink()).toBe(true);
    const again = await h.run([...WIN7, '--yes', '--json']);
    expect(stepsOf(again)['boot-entry']).toBe('ok');
  });

  it('selects an existing Xen entry that is not the default', async () => {
    const h = host({ dom0: false, xl: false, grub: { kind: 'legacy', file: 'centos6-xen-second' } });
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'make entry 1 "CentOS (2.6.32.26-174.1.xendom0.el6.x86_64)" the default (now 0: "CentOS (2.6.32-220.el6.x86_64)")',
    );
    const seen = pygrubReads(xenPython(), path.join(h.root, 'boot/grub/grub.conf'));
    expect(seen.default).toBe(1);
    expect(seen.images[1]?.kernel).toBe('/xen.gz');
  });

  it('accepts a Xen entry that is already the default (Debian menu.lst spelling)', async () => {
    const h = host({ dom0: true, grub: { kind: 'menu.lst', file: 'debian6-menu.lst' } });
    const menu = h.read('/boot/grub/menu.lst').replace('default\t\t0', 'default\t\t1');
    writeFileSync(path.join(h.root, 'boot/grub/menu.lst'), menu);
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.stdout).toContain(
      'the default entry 1, "Xen 4.0-amd64 / Debian GNU/Linux, kernel 2.6.32-5-xen-amd64", boots /boot/xen-4.0-amd64.gz',
    );
  });

  it('fails when no kernel can be dom0', async () => {
    const h = host({ dom0: false, xl: false, grub: { kind: 'legacy', file: 'centos6-stock-only' } });
    rmSync(path.join(h.root, 'boot/config-2.6.32.26-174.1.xendom0.el6.x86_64'));
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('none of its kernels can run as dom0');
    expect(r.stderr).toContain('rpmbuild -bb kernel.spec');
    expect(h.read('/boot/grub/grub.conf')).toBe(
      readFileSync(path.join(path.dirname(GOLDEN), 'grub-legacy/centos6-stock-only.conf'), 'utf8'),
    );
  });

  it('GRUB 2: sets GRUB_DEFAULT to the Xen entry and says to regenerate grub.cfg', async () => {
    const h = host({ dom0: false, xl: false, grub: { kind: 'grub2', xen: true, default: '0' } });
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `GRUB_DEFAULT=xen-gnulinux-simple-${UUID}: boot "Debian GNU/Linux, with Xen hypervisor" by default (now "Debian GNU/Linux")`,
    );
    expect(sourcedGrubDefault(path.join(h.root, 'etc/default/grub'))).toBe(`xen-gnulinux-simple-${UUID}`);
    expect(h.read('/etc/default/grub')).toBe(readFileSync(path.join(GOLDEN, 'default-grub-xen'), 'utf8'));
    expect(r.stderr).toContain(`regenerate /boot/grub/grub.cfg inside that system: chroot ${h.root} update-grub`);
  });

  it('GRUB 2 with GRUB_DEFAULT=saved: sets saved_entry with grub-editenv', async () => {
    const h = host({
      dom0: true,
      grub: { kind: 'grub2', xen: true, default: 'saved', saved: `gnulinux-simple-${UUID}` },
    });
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(grubenv(path.join(h.root, 'boot/grub/grubenv')).saved_entry).toBe(`xen-gnulinux-simple-${UUID}`);
    const again = await h.run([...WIN7, '--yes']);
    expect(again.stdout).toContain(
      'the default entry "Debian GNU/Linux, with Xen hypervisor" loads /boot/xen-4.17-amd64.gz',
    );
  });

  it('GRUB 2: a default given as a submenu path is followed', async () => {
    const h = host({ grub: { kind: 'grub2', xen: true, default: '3>0>0' } });
    const r = await h.run([...WIN7, '--dry-run']);
    expect(r.stdout).toContain(
      'the default entry "Advanced options for Debian GNU/Linux (with Xen hypervisor) > Xen hypervisor, version 4.17-amd64 > Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-18-amd64" loads /boot/xen-4.17-amd64.gz',
    );
  });

  it('GRUB 2 without Xen entries: says which package brings them', async () => {
    const h = host({ dom0: false, xl: false, grub: { kind: 'grub2', xen: false, default: '0' } });
    const r = await h.run([...WIN7, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no entry that loads Xen');
    expect(r.stderr).toContain('20_linux_xen');
  });
});

describe('--start', () => {
  it('creates the domain with xl, then finds it running', async () => {
    const h = host();
    const r = await h.run([...WIN7, '--start', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const dom = readXl(h.sim)?.domains.find((d) => d.name === 'win7');
    expect(dom).toMatchObject({ type: 'hvm', memory: 4096, maxmem: 4096, vcpus: 2 });
    expect(dom?.vifs[0]).toMatchObject({ mac: '00:16:3e:5a:01:02', model: 'e1000', bridge: 'xenbr0' });
    expect(r.stdout).toContain('win7 started (domain 1)');
    expect(r.stdout).toContain('VNC console: display :1, TCP port 5901 on 127.0.0.1.');
    expect(r.stdout).toContain('ssh -L 5901:127.0.0.1:5901');
    expect(r.stdout).toContain('RDP');
    const calls = readFileSync(path.join(h.sim, 'calls.jsonl'), 'utf8');
    expect(calls).toContain(JSON.stringify({ cmd: 'xl', argv: ['create', path.join(h.root, 'etc/xen/win7.cfg')] }));
    const again = await h.run([...WIN7, '--start', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('win7 is already running (domain 1)');
  });

  it('fails with xl’s own words when xl cannot create the domain', async () => {
    const h = host();
    // xl is not told that the tree is the host's /: it looks for /srv/xen/win7.img on this machine.
    const r = await h.run([...WIN7, '--start', '--yes'], { XR_SIM_ROOT: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Disk vdev=hda failed to stat: /srv/xen/win7.img: No such file or directory');
    expect(readXl(h.sim)?.domains).toHaveLength(1);
  });

  it('creates the domain with xm on xend', async () => {
    const h = host({ xl: { xend: true, info: { free_memory: 12000 } } });
    const r = await h.run([...WIN7, '--toolstack', 'xm', '--start', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('win7 started (domain 1)');
    const calls = readFileSync(path.join(h.sim, 'calls.jsonl'), 'utf8');
    expect(calls).toContain(JSON.stringify({ cmd: 'xm', argv: ['create', path.join(h.root, 'etc/xen/win7.cfg')] }));
    expect(readXl(h.sim)?.domains.find((d) => d.name === 'win7')?.type).toBe('hvm');
  });

  it('is skipped until the host runs Xen', async () => {
    const h = host({ dom0: false, xl: false, grub: { kind: 'legacy', file: 'centos6-xen-default' } });
    const r = await h.run([...WIN7, '--start', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.steps.find((s: { id: string }) => s.id === 'start').message).toContain('reboot into the Xen entry');
  });
});

describe('the command line', () => {
  it('runs through zx as well as node, and describes itself', async () => {
    const viaZx = await runPlaybook('windows-hvm', ['--help'], { zx: true });
    expect(viaZx.code).toBe(0);
    expect(viaZx.stdout).toContain('--vnc-password-file FILE');
    const d = JSON.parse((await runPlaybook('windows-hvm', ['--describe'])).stdout);
    expect(d.steps.map((s: { id: string }) => s.id)).toEqual([
      'check-cpu',
      'check-dom0',
      'check-xen',
      'check-config',
      'check-disk',
      'boot-entry',
      'create-disk',
      'write-config',
      'start',
    ]);
    expect(d.options.find((o: { name: string }) => o.name === 'toolstack').choices).toEqual(['xl', 'xm']);
  });

  it('refuses to change anything without a terminal and without --yes', async () => {
    const h = host();
    const r = await h.run(WIN7);
    expect(r.code).toBe(3);
    expect(h.exists('/srv/xen/win7.img')).toBe(false);
    expect(h.exists('/etc/xen/win7.cfg')).toBe(false);
  });
});

describe('over ssh', () => {
  it('reads the remote /proc/cpuinfo and reaches the same verdict as reading it here', async () => {
    const { startSshd } = await import('../helpers/sshd.js');
    const sim = path.join(os.tmpdir(), `xr-win-ssh-${process.pid}`);
    mkdirSync(path.join(sim, 'xen'), { recursive: true });
    writeFileSync(path.join(sim, 'win7.iso'), isoStandIn('win7'));
    cleanup.push(sim);
    const sshd = await startSshd({
      env: { PATH: `${path.resolve('test/sim/bin')}:${process.env.PATH ?? ''}`, XR_SIM_DIR: sim },
    });
    try {
      const r = await runPlaybook('windows-hvm', [
        '--host',
        sshd.destination,
        '--ssh-config',
        sshd.configFile,
        '--name',
        'win7',
        '--iso',
        path.join(sim, 'win7.iso'),
        '--disk',
        path.join(sim, 'win7.img'),
        '--disk-size',
        '1G',
        '--config-dir',
        path.join(sim, 'xen'),
        '--dry-run',
        '--json',
      ]);
      const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
      const hasVirt = /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
      const cpuStep = r.json?.steps?.find((s: { id: string }) => s.id === 'check-cpu');
      // On a Xen dom0 the flags are hidden and the verdict comes from xl; elsewhere /proc/cpuinfo decides.
      const onXen = existsSync('/proc/xen/capabilities');
      expect(cpuStep?.status, r.stderr).toBe(hasVirt ? 'ok' : onXen ? 'skipped' : 'failed');
      if (!hasVirt && !onXen) {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('no CPU shows vmx (Intel VT-x) or svm (AMD-V) in /proc/cpuinfo');
      }
      expect(existsSync(path.join(sim, 'win7.img'))).toBe(false);
    } finally {
      await sshd.stop();
    }
  });
});
