import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runPlaybook } from '../helpers/playbook.js';
import { formatCommand } from '../../src/engine/index.js';
import { tool } from '../helpers/tools.js';
import { seedXl, runXl } from '../sim/xl.mjs';
import { parseXmListLong } from 'xen-runbooks/disk';
import { bootImage, imageHash, incidentImage, legacyNamed, tempDir, UBUNTU_1204_CFG, GiB } from '../fixtures/images.js';
import { e2fsck, grubScriptCheck, guestFile, loopsOf, pygrubList } from './oracles.js';

const P1 = 1048576;
const P1_END = P1 + 497664 * 512;
let dir: string;
/** What pygrub lists for the same guest written with GRUB legacy partition numbers. */
let legacyListing: string;

beforeAll(async () => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck', 'pygrub', 'grub-script-check', 'losetup'] as const) tool(t);
  dir = tempDir('xr-incident-');
  const legacy = path.join(dir, 'legacy.img');
  await incidentImage(legacy, { cfg: legacyNamed(UBUNTU_1204_CFG) });
  legacyListing = pygrubList(legacy);
  rmSync(legacy);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function freshImage(bytes?: number): Promise<string> {
  const img = path.join(dir, `vm${n++}.img`);
  await incidentImage(img, bytes ? { bytes } : {});
  return img;
}

describe('the incident: Ubuntu 12.04 guest, old pygrub, (hd0,msdos1)', () => {
  it('the legacy-named equivalent is what pygrub lists: the oracle has something to compare', () => {
    expect(legacyListing).toMatch(
      /^title: Ubuntu, with Linux 3\.2\.0-23-generic\n {2}root: d0p0\n {2}kernel: \/vmlinuz-3\.2\.0-23-generic\n/,
    );
    expect(legacyListing.match(/^title:/gm)?.length).toBe(5);
  });

  it('--dry-run names every failing line, shows the diff and changes nothing', async () => {
    const img = await freshImage();
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(imageHash(img)).toBe(before);
    const data = r.json.data;
    expect(data.table.partitions.map((p: { number: number; offset: number }) => [p.number, p.offset])).toEqual([
      [1, 1048576],
      [2, 501758 * 512],
      [5, 501760 * 512],
    ]);
    expect(data.boot).toMatchObject({
      partition: 1,
      offset: 1048576,
      filesystem: 'ext2',
      config: '/grub/grub.cfg',
      kind: 'grub2',
    });
    const names = data.findings.filter((f: { id: string }) => f.id === 'grub2-partition-name');
    expect(names.map((f: { line: number }) => f.line)).toEqual([107, 117, 131, 141, 158, 165]);
    expect(names[0].message).toContain("ValueError: invalid literal for int() with base 10: 'msdos1'");
    // Xen 4.0.1 (old) also stops at the submenu's closing brace (submenus came with 4.1.3 / 4.2.0).
    const submenu = data.findings.filter((f: { id: string }) => f.id === 'grub2-submenu');
    expect(submenu.map((f: { line: number }) => f.line)).toEqual([148]);
    const submenuLine = UBUNTU_1204_CFG.split('\n').findIndex((l) => l.startsWith('submenu')) + 1;
    expect(submenu[0].message).toContain(`closes the submenu of line ${submenuLine}`);
    expect(data.changes.map((c: { after: string }) => c.after)).toEqual([
      ...Array(2).fill("\tset root='(hd0,0)'"),
      '#submenu "Previous Linux versions" {',
      ...Array(2).fill("\tset root='(hd0,0)'"),
      '#}',
      ...Array(2).fill("\tset root='(hd0,0)'"),
    ]);
    const step = r.json.steps.find((s: { id: string }) => s.id === 'rewrite-config');
    expect(step.status).toBe('would-change');
    expect(step.diff).toContain("-\tset root='(hd0,msdos1)'\n+\tset root='(hd0,0)'");
  });

  it('the fix: pygrub lists the same kernels as the legacy-named guest, e2fsck is clean, GRUB accepts the config, nothing outside /boot changed', async () => {
    const img = await freshImage();
    const outside = imageHash(img, { from: P1, to: P1_END });
    const r = await runPlaybook('pygrub-fix', [img, '--yes']);
    expect(r.stderr).toMatch(/next update-grub/);
    expect(r.code).toBe(0);
    expect(pygrubList(img)).toBe(legacyListing);
    expect(pygrubList(img, P1)).toBe(legacyListing);
    const fsck = e2fsck(img, P1);
    expect(fsck.output).not.toMatch(/Fix\?/);
    expect(fsck.clean).toBe(true);
    const cfg = guestFile(img, P1, '/grub/grub.cfg')?.toString();
    expect(cfg).toBe(
      legacyNamed(UBUNTU_1204_CFG)
        .replace("insmod ext2\nset root='(hd0,0)'", "insmod ext2\nset root='(hd0,msdos1)'")
        .replace(/^ {2}set root='\(hd0,0\)'$/m, "  set root='(hd0,msdos1)'")
        .replace('\nsubmenu "Previous Linux versions" {\n', '\n#submenu "Previous Linux versions" {\n')
        .replace('\n}\n}\n### END /etc/grub.d/10_linux', '\n}\n#}\n### END /etc/grub.d/10_linux'),
    );
    expect(grubScriptCheck(cfg as string).ok).toBe(true);
    expect(guestFile(img, P1, '/grub/grub.cfg.orig')?.toString()).toBe(UBUNTU_1204_CFG);
    expect(imageHash(img, { from: P1, to: P1_END })).toBe(outside);

    const again = await runPlaybook('pygrub-fix', [img, '--yes', '--json']);
    expect(again.code).toBe(0);
    expect(again.json.steps.find((s: { id: string }) => s.id === 'rewrite-config').status).toBe('ok');
    expect(again.json.steps.every((s: { status: string }) => s.status !== 'changed')).toBe(true);
  });

  it('--restore puts grub.cfg.orig back, byte for byte', async () => {
    const img = await freshImage(2 * GiB);
    expect((await runPlaybook('pygrub-fix', [img, '--yes'])).code).toBe(0);
    const r = await runPlaybook('pygrub-fix', [img, '--restore', '--yes']);
    expect(r.code).toBe(0);
    expect(guestFile(img, P1, '/grub/grub.cfg')?.toString()).toBe(UBUNTU_1204_CFG);
    expect(guestFile(img, P1, '/grub/grub.cfg.orig')).toBeUndefined();
    expect(e2fsck(img, P1).clean).toBe(true);
  });

  it('without a terminal and without --yes nothing is written (exit 3)', async () => {
    const img = await freshImage(2 * GiB);
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--yes/);
    expect(imageHash(img)).toBe(before);
  });

  it('for Xen 4.17, whose pygrub strips msdos/gpt, there is nothing to fix', async () => {
    const img = await freshImage(2 * GiB);
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--xen-version', '4.17', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.data.findings.map((f: { id: string }) => f.id)).toEqual(['grub2-variable-args']);
    expect(imageHash(img)).toBe(before);
  });

  it('--backend mount does what the manual fix did, and leaves no loop device or mount behind', async () => {
    const img = await freshImage();
    const outside = imageHash(img, { from: P1, to: P1_END });
    const r = await runPlaybook('pygrub-fix', [img, '--backend', 'mount', '--yes']);
    expect(r.code).toBe(0);
    expect(loopsOf(img)).toBe('');
    expect(readFileSync('/proc/mounts', 'utf8')).not.toMatch(/xr-pygrub-mnt-/);
    expect(pygrubList(img)).toBe(legacyListing);
    expect(e2fsck(img, P1).clean).toBe(true);
    expect(guestFile(img, P1, '/grub/grub.cfg.orig')?.toString()).toBe(UBUNTU_1204_CFG);
    expect(imageHash(img, { from: P1, to: P1_END })).toBe(outside);
  });

  it('--backend mount cleans up when it is refused after mounting', async () => {
    const img = await freshImage(2 * GiB);
    const r = await runPlaybook('pygrub-fix', [img, '--backend', 'mount']);
    expect(r.code).toBe(3);
    expect(loopsOf(img)).toBe('');
    expect(readFileSync('/proc/mounts', 'utf8')).not.toMatch(/xr-pygrub-mnt-/);
  });
});

describe('pv-grub instead', () => {
  const CFG =
    'name = "vm01"\nmemory = 512\nbootloader = "/usr/bin/pygrub"\ndisk = [ "file:/srv/xen/vm01.img,xvda,w" ]\n';

  it('legacy PV-GRUB: bootloader commented out, kernel and extra for partition 1 (hd0,0); the image untouched; --restore puts the config back', async () => {
    const root = path.join(dir, 'host-legacy');
    mkdirSync(path.join(root, 'srv/xen'), { recursive: true });
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    mkdirSync(path.join(root, 'usr/lib/xen/boot'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/xen/boot/pv-grub-x86_64.gz'), 'pv-grub');
    writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), CFG);
    const img = path.join(root, 'srv/xen/vm01.img');
    await incidentImage(img, { bytes: 2 * GiB });
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [
      '/srv/xen/vm01.img',
      '--root',
      root,
      '--strategy',
      'pvgrub',
      '--domain-config',
      '/etc/xen/vm01.cfg',
      '--yes',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'utf8')).toBe(
      'name = "vm01"\nmemory = 512\n#bootloader = "/usr/bin/pygrub"\nkernel = "/usr/lib/xen/boot/pv-grub-x86_64.gz"\nextra = "(hd0,0)/grub/grub.cfg"\ndisk = [ "file:/srv/xen/vm01.img,xvda,w" ]\n',
    );
    expect(readFileSync(path.join(root, 'etc/xen/vm01.cfg.orig'), 'utf8')).toBe(CFG);
    expect(r.json.data.pvgrub).toEqual({
      flavour: 'pv-grub-legacy',
      kernel: '/usr/lib/xen/boot/pv-grub-x86_64.gz',
      extra: '(hd0,0)/grub/grub.cfg',
    });
    expect(imageHash(img)).toBe(before);
    const again = await runPlaybook('pygrub-fix', [
      '/srv/xen/vm01.img',
      '--root',
      root,
      '--strategy',
      'pvgrub',
      '--domain-config',
      '/etc/xen/vm01.cfg',
      '--yes',
      '--json',
    ]);
    expect(again.json.steps.find((s: { id: string }) => s.id === 'switch-to-pvgrub').status).toBe('ok');
    const back = await runPlaybook('pygrub-fix', [
      '/srv/xen/vm01.img',
      '--root',
      root,
      '--strategy',
      'pvgrub',
      '--domain-config',
      '/etc/xen/vm01.cfg',
      '--restore',
      '--yes',
    ]);
    expect(back.code).toBe(0);
    expect(readFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'utf8')).toBe(CFG);
  });

  it('PVGRUB2 when the host has grub-xen-host: only kernel, GRUB 2 finds grub.cfg itself', async () => {
    const root = path.join(dir, 'host-pvgrub2');
    mkdirSync(path.join(root, 'usr/lib/grub-xen'), { recursive: true });
    mkdirSync(path.join(root, 'usr/lib/xen/boot'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/grub-xen/grub-x86_64-xen.bin'), 'grub');
    writeFileSync(path.join(root, 'usr/lib/xen/boot/pv-grub-x86_64.gz'), 'pv-grub');
    writeFileSync(path.join(root, 'vm01.cfg'), CFG);
    await incidentImage(path.join(root, 'vm01.img'), { bytes: 2 * GiB });
    const r = await runPlaybook('pygrub-fix', [
      '/vm01.img',
      '--root',
      root,
      '--strategy',
      'pvgrub',
      '--domain-config',
      '/vm01.cfg',
      '--yes',
    ]);
    expect(r.code).toBe(0);
    const cfg = readFileSync(path.join(root, 'vm01.cfg'), 'utf8');
    expect(cfg).toContain('#bootloader = "/usr/bin/pygrub"\nkernel = "/usr/lib/grub-xen/grub-x86_64-xen.bin"\n');
    expect(cfg).not.toMatch(/^extra/m);
  });

  it('no pv-grub on the host: exit 1, the config untouched', async () => {
    const root = path.join(dir, 'host-none');
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, 'vm01.cfg'), CFG);
    await incidentImage(path.join(root, 'vm01.img'), { bytes: 2 * GiB });
    const r = await runPlaybook('pygrub-fix', [
      '/vm01.img',
      '--root',
      root,
      '--strategy',
      'pvgrub',
      '--domain-config',
      '/vm01.cfg',
      '--yes',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/grub-xen-host/);
    expect(readFileSync(path.join(root, 'vm01.cfg'), 'utf8')).toBe(CFG);
  });

  it('--strategy pvgrub without --domain-config is a usage error', async () => {
    const img = path.join(dir, 'any.img');
    writeFileSync(img, 'x');
    const r = await runPlaybook('pygrub-fix', [img, '--strategy', 'pvgrub']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--domain-config/);
  });
});

describe('an image in use is refused (exit 3), unchanged', () => {
  it('a running domain has it as a disk (xl list -l)', async () => {
    const img = await freshImage(2 * GiB);
    const sim = path.join(dir, `sim${n++}`);
    seedXl(sim, { domains: [{ name: 'vm01', type: 'pv', disks: [{ vdev: 'xvda', target: img }] }] });
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--yes'], { sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/domain vm01 has it as a disk \(xl list -l/);
    expect(imageHash(img)).toBe(before);
    const forced = await runPlaybook('pygrub-fix', [img, '--force', '--dry-run'], { sim });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/--force: going on although domain vm01/);
  });

  it("xend's domains too (xm list -l)", async () => {
    const img = await freshImage(2 * GiB);
    const sim = path.join(dir, `sim${n++}`);
    seedXl(sim, { xend: true, domains: [{ name: 'vm01', type: 'pv', disks: [{ vdev: 'xvda', target: img }] }] });
    const r = await runPlaybook('pygrub-fix', [img, '--yes'], { sim });
    expect(r.stderr).toMatch(/domain vm01 has it as a disk \(xm list -l: /);
    expect(r.code).toBe(3);
    // What xm prints is read by the same parser the playbook uses.
    const xm = runXl('xm', ['list', '-l'], sim);
    expect(parseXmListLong(xm.stdout)).toContainEqual({ domain: 'vm01', targets: [img] });
  });

  it('another process holds it open', async () => {
    const img = await freshImage(2 * GiB);
    const holder = spawn('sh', ['-c', 'exec 3<"$1"; echo ready; exec sleep 60', 'sh', img], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const before = imageHash(img);
      const r = await runPlaybook('pygrub-fix', [img, '--yes']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`process ${holder.pid} \\(sleep\\) has it open`));
      expect(imageHash(img)).toBe(before);
    } finally {
      holder.kill();
    }
  });
});

describe('a filesystem that was not cleanly unmounted', () => {
  it('debugfs does not write into it (exit 3); the mount backend, which goes through the kernel, does', async () => {
    const img = path.join(dir, `dirty${n++}.img`);
    await bootImage(
      img,
      { 'grub/grub.cfg': "menuentry 'x' {\n\tset root='(hd0,msdos1)'\n\tlinux /vmlinuz\n}\n", vmlinuz: 'kernel' },
      { type: 'ext4' },
    );
    execFileSync(tool('debugfs'), ['-w', '-R', 'ssv state 0', `${img}?offset=${P1}`], { stdio: 'ignore' });
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--yes']);
    expect(r.stderr).toMatch(/not cleanly unmounted/);
    expect(r.code).toBe(3);
    expect(imageHash(img)).toBe(before);
    const m = await runPlaybook('pygrub-fix', [img, '--yes', '--backend', 'mount']);
    expect(m.code).toBe(0);
    expect(guestFile(img, P1, '/grub/grub.cfg')?.toString()).toContain("set root='(hd0,0)'");
    expect(loopsOf(img)).toBe('');
  });
});

describe('Ctrl-C while the mount backend holds the image', () => {
  it('unmounts, detaches the loop device and exits 130', async () => {
    const img = await freshImage(2 * GiB);
    const before = imageHash(img);
    const argv = [process.execPath, path.join(ROOT, 'playbooks/pygrub-fix.mjs'), img, '--backend', 'mount'];
    // On a terminal the playbook stops at its question, with the filesystem mounted.
    const child = spawn(tool('script'), ['-qfec', formatCommand(argv), '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, TERM: 'dumb', CI: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('[a]ll ')) resolve();
      }),
    );
    expect(loopsOf(img)).toMatch(/\/dev\/loop\d+/);
    expect(readFileSync('/proc/mounts', 'utf8')).toMatch(/xr-pygrub-mnt-/);
    const pid = playbookPid(img);
    process.kill(pid, 'SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(out).toContain('interrupted (SIGINT); cleaning up');
    expect(code).toBe(130);
    expect(loopsOf(img)).toBe('');
    expect(readFileSync('/proc/mounts', 'utf8')).not.toMatch(/xr-pygrub-mnt-/);
    expect(imageHash(img)).toBe(before);
  });
});

/** The pid of the node process running the playbook on this image (by its command line). */
function playbookPid(img: string): number {
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd[0] === process.execPath && cmd.includes(img) && cmd.some((a) => a.endsWith('pygrub-fix.mjs')))
        return Number(p);
    } catch {
      /* gone */
    }
  }
  throw new Error('the playbook process is not running');
}
