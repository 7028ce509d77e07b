/**
 * The ways out beside the rewrite, each on the release it needs: pygrub --offset (Xen 4.4.0+)
 * for /boot on a logical partition, proven with the real pygrub of Xen 4.17; the MBR active flag
 * for Xen 4.0.x, whose pygrub reads one partition only; and the refusal of an image held open
 * under another name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { bootloaderArgs, setPygrubOffset } from 'xen-runbooks/grub';
import { runPlaybook } from '../helpers/playbook.js';
import { seedXl } from '../sim/xl.mjs';
import { tool } from '../helpers/tools.js';
import { buildImage, bzImage, imageHash, initrd, sfdiskJson, tempDir, GiB } from '../fixtures/images.js';
import { e2fsck, guestFile, pygrubList } from './oracles.js';

let dir: string;
beforeAll(() => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck', 'pygrub', 'losetup'] as const) tool(t);
  dir = tempDir('xr-waysout-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CFG = (root: string) =>
  [
    "menuentry 'Debian GNU/Linux' --class debian --class os {",
    `\tset root='${root}'`,
    '\tlinux /vmlinuz-5.10.0 root=/dev/xvda1 ro',
    '\tinitrd /initrd.img-5.10.0',
    '}',
    '',
  ].join('\n');

async function bootFiles(root: string) {
  return {
    'grub/grub.cfg': CFG(root),
    'vmlinuz-5.10.0': await bzImage('gzip', '5.10.0'),
    'initrd.img-5.10.0': await initrd('5.10.0'),
  };
}

const readSector = (img: string) => readFileSync(img).subarray(0, 512);

describe('--strategy offset: /boot on a logical partition, Xen 4.4.0 and later', () => {
  let root: string;
  let img: string;
  const P5 = 206848 * 512 + 2048 * 512; // the first logical partition starts one MiB into the extended one
  beforeAll(async () => {
    root = path.join(dir, 'host-offset');
    mkdirSync(root, { recursive: true });
    img = path.join(root, 'vm.img');
    const built = await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '82' },
        { start: 206848, type: '5' },
        {
          start: 206848 + 2048,
          size: 262144,
          type: '83',
          fs: { type: 'ext2', files: await bootFiles('(hd0,msdos5)') },
        },
      ],
    });
    expect(built.parts.find((p) => p.number === 5)?.offset).toBe(P5);
  });

  it("Xen 4.17's own pygrub finds nothing without --offset, and lists the kernel with it", () => {
    expect(pygrubList(img)).toBe('');
    expect(pygrubList(img, P5)).toMatch(/^title: Debian GNU\/Linux\n {2}root: d0p5\n {2}kernel: \/vmlinuz-5.10.0\n/);
  });

  it('the diagnosis offers it where the release has it, and says what each way out needs', async () => {
    const modern = await runPlaybook('pygrub-fix', [img, '--xen-version', '4.17.3', '--dry-run', '--json']);
    expect(modern.code).toBe(1);
    const f = modern.json.data.findings.find((x: { id: string }) => x.id === 'boot-on-logical');
    expect(f.strategies).toEqual(['offset', 'pvgrub']);
    expect(f.message).toContain(`bootloader_args = ['--offset=${P5}']`);
    expect(modern.stderr).toMatch(/--strategy offset, Xen 4\.4\.0 or later/);
    const older = await runPlaybook('pygrub-fix', [img, '--xen-version', '4.3.4', '--dry-run', '--json']);
    expect(older.json.data.findings.find((x: { id: string }) => x.id === 'boot-on-logical').strategies).toEqual([
      'pvgrub',
    ]);
    // A domain config that names the image: the refusal is about the release alone.
    writeFileSync(path.join(root, 'vm.cfg'), `name = "vm01"\nbootloader = "pygrub"\ndisk = [ "file:${img},xvda,w" ]\n`);
    const refused = await runPlaybook('pygrub-fix', [
      img,
      '--xen-version',
      '4.3.4',
      '--strategy',
      'offset',
      '--domain-config',
      path.join(root, 'vm.cfg'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/needs Xen 4\.4\.0 or later/);
  });

  it('writes bootloader_args into the domain config (vm.cfg.orig kept); the real pygrub, given those args, lists the kernel', async () => {
    const cfg = 'name = "vm01"\nbootloader = "pygrub"\ndisk = [ "file:/vm.img,xvda,w" ]\n';
    writeFileSync(path.join(root, 'vm.cfg'), cfg);
    const before = imageHash(img);
    const args = [
      '/vm.img',
      '--root',
      root,
      '--xen-version',
      '4.17',
      '--strategy',
      'offset',
      '--domain-config',
      '/vm.cfg',
    ];
    const r = await runPlaybook('pygrub-fix', [...args, '--yes', '--json']);
    expect(r.code).toBe(0);
    const now = readFileSync(path.join(root, 'vm.cfg'), 'utf8');
    expect(now).toBe(
      `name = "vm01"\nbootloader = "pygrub"\nbootloader_args = ['--offset=${P5}']\ndisk = [ "file:/vm.img,xvda,w" ]\n`,
    );
    expect(readFileSync(path.join(root, 'vm.cfg.orig'), 'utf8')).toBe(cfg);
    expect(r.json.data.offset).toMatchObject({ offset: P5, partition: 5 });
    // The image is not touched: pygrub reads the GRUB 2 names of 4.17 as they are.
    expect(imageHash(img)).toBe(before);
    const passed = bootloaderArgs(now) ?? [];
    const real = spawnSync(tool('pygrub'), ['-l', '-n', ...passed, img], { encoding: 'utf8' });
    expect(real.stdout).toMatch(/kernel: \/vmlinuz-5\.10\.0/);
    const again = await runPlaybook('pygrub-fix', [...args, '--yes', '--json']);
    expect(again.code).toBe(0);
    expect(again.json.steps.every((s: { status: string }) => s.status !== 'changed')).toBe(true);
    const restored = await runPlaybook('pygrub-fix', [...args, '--restore', '--yes']);
    expect(restored.code).toBe(0);
    expect(readFileSync(path.join(root, 'vm.cfg'), 'utf8')).toBe(cfg);
  });

  it('keeps other bootloader arguments and replaces an old --offset', () => {
    expect(setPygrubOffset("bootloader_args = ['-q', '--offset=1']\n", 2048)).toBe(
      "bootloader_args = ['-q', '--offset=2048']\n",
    );
    expect(setPygrubOffset('bootloader_args = "-q"\n', 512)).toBe("bootloader_args = ['-q', '--offset=512']\n");
    const done = "bootloader = 'pygrub'\nbootloader_args = ['--offset=512']\n";
    expect(setPygrubOffset(done, 512)).toBe(done);
    expect(setPygrubOffset('memory = 512\n', 512)).toBe("memory = 512\nbootloader_args = ['--offset=512']\n");
  });
});

describe('--strategy activate: Xen 4.0.x reads only the active partition (else slot 1)', () => {
  let img: string;
  const P2 = 206848 * 512;
  beforeAll(async () => {
    img = path.join(dir, 'swap-first.img');
    // The classic layout of a small guest: swap first, /boot second, no active flag.
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '82' },
        { start: 206848, size: 262144, type: '83', fs: { type: 'ext2', files: await bootFiles('(hd0,msdos2)') } },
      ],
    });
  });

  it('4.0.1 takes the swap partition for Solaris and raises; 4.1.0 skips it; the real 4.17 lists the kernel', async () => {
    const old = await runPlaybook('pygrub-fix', [img, '--dry-run', '--json']);
    expect(old.code).toBe(1);
    expect(old.json.data.pygrubOffsets).toMatchObject({ status: 'exception', msg: 'Invalid disklabel magic' });
    const f = old.json.data.findings.find((x: { id: string }) => x.id === 'partition-raises');
    expect(f.strategies).toEqual(['activate', 'pvgrub']);
    expect(f.message).toContain('partition 1 (type 82, Linux swap)');
    const newer = await runPlaybook('pygrub-fix', [img, '--xen-version', '4.1.0', '--dry-run', '--json']);
    expect(newer.json.data.pygrubOffsets).toEqual({ status: 'ok', offsets: [P2] });
    expect(pygrubList(img)).toMatch(/kernel: \/vmlinuz-5\.10\.0/);
  });

  it('marks partition 2 active with sfdisk (MBR kept), rewrites msdos2, and --restore puts both back', async () => {
    const mbr = Buffer.from(readSector(img));
    const cfgBefore = guestFile(img, P2, '/grub/grub.cfg')?.toString();
    const r = await runPlaybook('pygrub-fix', [img, '--strategy', 'activate', '--yes', '--json']);
    expect(r.code).toBe(0);
    const table = await sfdiskJson(img);
    expect(table?.partitions.map((p) => Boolean((p as { bootable?: boolean }).bootable))).toEqual([false, true]);
    expect(readFileSync(`${img}.mbr.orig`)).toEqual(mbr);
    // Only the boot flags changed in the MBR.
    const now = readSector(img);
    const diff = [...now.keys()].filter((i) => now[i] !== mbr[i]);
    expect(diff).toEqual([462]);
    expect(guestFile(img, P2, '/grub/grub.cfg')?.toString()).toBe(CFG('(hd0,1)'));
    expect(e2fsck(img, P2).clean).toBe(true);
    expect(r.json.steps.find((s: { id: string }) => s.id === 'verify').status).toBe('ok');

    const again = await runPlaybook('pygrub-fix', [img, '--strategy', 'activate', '--yes', '--json']);
    expect(again.code).toBe(0);
    expect(again.json.steps.every((s: { status: string }) => s.status !== 'changed')).toBe(true);

    const back = await runPlaybook('pygrub-fix', [img, '--strategy', 'activate', '--restore', '--yes']);
    expect(back.code).toBe(0);
    expect(readSector(img)).toEqual(mbr);
    expect(existsSync(`${img}.mbr.orig`)).toBe(false);
    expect(guestFile(img, P2, '/grub/grub.cfg')?.toString()).toBe(cfgBefore);
  });

  it('is refused for releases that try every partition', async () => {
    const r = await runPlaybook('pygrub-fix', [img, '--strategy', 'activate', '--xen-version', '4.2.0', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/for Xen 4\.0\.x/);
  });
});

describe('an image held open under another name is in use', () => {
  let img: string;
  beforeAll(async () => {
    img = path.join(dir, 'held.img');
    await buildImage(img, {
      bytes: 256 * 1024 * 1024,
      label: 'dos',
      partitions: [
        { start: 2048, type: '83', bootable: true, fs: { type: 'ext2', files: await bootFiles('(hd0,msdos1)') } },
      ],
    });
  });

  it('a process holding a hard link of it: refused (exit 3), the image untouched', async () => {
    const link = path.join(dir, 'other-name.img');
    linkSync(img, link);
    const holder = spawn('sh', ['-c', 'exec 3<"$1"; echo ready; exec sleep 60', 'sh', link], {
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
      rmSync(link);
    }
  });

  it('a loop device on a hard link of it: refused (exit 3)', async () => {
    const link = path.join(dir, 'loop-name.img');
    linkSync(img, link);
    const loop = execFileSync(tool('losetup'), ['--find', '--show', '--read-only', link], { encoding: 'utf8' }).trim();
    try {
      const r = await runPlaybook('pygrub-fix', [img, '--yes']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`it is attached to ${loop}`);
    } finally {
      execFileSync(tool('losetup'), ['--detach', loop]);
      rmSync(link);
    }
  });

  it('a running domain whose disk is a hard link of it (xl list -l names the other path): refused (exit 3)', async () => {
    const link = path.join(dir, 'domain-name.img');
    linkSync(img, link);
    const sim = path.join(dir, 'sim-link');
    seedXl(sim, { domains: [{ name: 'vm07', type: 'pv', disks: [{ vdev: 'xvda', target: link }] }] });
    try {
      const r = await runPlaybook('pygrub-fix', [img, '--yes'], { sim });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/domain vm07 has it as a disk \(xl list -l/);
    } finally {
      rmSync(link);
    }
  });
});
