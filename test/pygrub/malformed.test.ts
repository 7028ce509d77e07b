import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runPlaybook } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';
import {
  bootImage,
  buildImage,
  filler,
  imageHash,
  incidentImage,
  tempDir,
  writeAt,
  GiB,
  MiB,
} from '../fixtures/images.js';
import { loopsOf } from './oracles.js';

/**
 * Images that are not something to repair a boot loader on: each ends with a clear message,
 * exit 2, and the image byte-identical.
 */
const P1 = 1048576;
let dir: string;
let n = 0;

beforeAll(() => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck'] as const) tool(t);
  dir = tempDir('xr-malformed-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expectRefused(img: string, message: RegExp, extra: string[] = []): Promise<void> {
  const before = imageHash(img);
  for (const args of [['--dry-run'], ['--yes'], ['--yes', '--backend', 'debugfs', '--xen-version', '4.17']]) {
    const r = await runPlaybook('pygrub-fix', [img, ...args, ...extra]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  }
  expect(imageHash(img)).toBe(before);
}

const file = () => path.join(dir, `bad${n++}.img`);

describe('malformed images: exit 2, image byte-identical', () => {
  it('an empty file', async () => {
    const img = file();
    writeFileSync(img, '');
    await expectRefused(img, /is empty \(0 bytes\)/);
  });

  it('a partition table cut off (the file ends inside the MBR)', async () => {
    const img = file();
    await incidentImage(img, { bytes: 1 * GiB });
    truncateSync(img, 300);
    await expectRefused(img, /300 bytes: too small to hold a partition table/);
  });

  it('a GPT whose entries are cut off', async () => {
    const img = file();
    await buildImage(img, {
      bytes: 256 * MiB,
      label: 'gpt',
      partitions: [{ start: 2048, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' }],
    });
    truncateSync(img, 1536);
    await expectRefused(img, /GPT is damaged/);
  });

  it('an EBR chain that loops', async () => {
    const img = file();
    await buildImage(img, {
      bytes: 512 * MiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '83' },
        { start: 206848, type: '5' },
        { size: 102400, type: '83' },
      ],
    });
    // The first EBR's "next" link points back at itself.
    const link = Buffer.alloc(16);
    link[4] = 0x05;
    link.writeUInt32LE(0, 8);
    link.writeUInt32LE(2048, 12);
    await writeAt(img, 206848 * 512 + 462, link);
    await expectRefused(img, /loops back to the EBR at sector 206848/);
  });

  it('partitions past the end of the image', async () => {
    const img = file();
    await incidentImage(img, { bytes: 1 * GiB });
    truncateSync(img, 128 * MiB);
    await expectRefused(img, /goes past the end/);
  });

  it('overlapping partitions', async () => {
    const img = file();
    await buildImage(img, {
      bytes: 512 * MiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 409600, type: '83' },
        { start: 411648, type: '83' },
      ],
    });
    const e = Buffer.alloc(16);
    e[4] = 0x83;
    e.writeUInt32LE(204800, 8);
    e.writeUInt32LE(409600, 12);
    await writeAt(img, 446 + 16, e);
    await expectRefused(img, /overlap/);
  });

  it('a garbage filesystem (an ext superblock magic over random bytes)', async () => {
    const img = file();
    await incidentImage(img, { bytes: 1 * GiB });
    await writeAt(img, P1, filler(4 * MiB, 42));
    await writeAt(img, P1 + 1080, Buffer.from([0x53, 0xef]));
    await expectRefused(img, /partition 1 \(offset 1048576\): debugfs cannot open the filesystem/);
  });

  it('a half-written filesystem (group descriptors never written)', async () => {
    const img = file();
    await incidentImage(img, { bytes: 1 * GiB });
    await writeAt(img, P1 + 2048, Buffer.alloc(4096));
    // The run that writes refuses on e2fsck's word; a dry run (no e2fsck) on debugfs's own.
    await expectRefused(
      img,
      /e2fsck -fn finds the ext2 filesystem damaged|debugfs: .* A block group is missing an inode table/,
    );
  });

  it('a 50 MiB grub.cfg', async () => {
    const img = file();
    const big = Buffer.alloc(50 * MiB, '# padding line of a runaway config generator\n');
    await bootImage(img, { 'grub/grub.cfg': big });
    await expectRefused(img, /grub\.cfg is 52428800 bytes: no boot loader writes a config that large/);
  });

  it('a binary grub.cfg', async () => {
    const img = file();
    const bin = Buffer.concat([Buffer.from('set default=0\n'), Buffer.from([0, 1, 2, 0xff, 0xfe, 0]), filler(1000, 5)]);
    await bootImage(img, { 'grub/grub.cfg': bin });
    await expectRefused(img, /holds NUL bytes: it is binary/);
  });

  it('a grub.cfg that is a symlink', async () => {
    const img = file();
    await bootImage(img, { 'grub/grub.cfg': { symlink: '/etc/passwd' } });
    await expectRefused(img, /grub\.cfg is a symbolic link/);
  });

  it('a grub.cfg symlink is refused by the mount backend too, and it unmounts', async () => {
    const img = file();
    await bootImage(img, {
      'grub/grub.cfg': { symlink: 'grub.cfg.real' },
      'grub/grub.cfg.real': "menuentry 'x' {\n\tlinux /vmlinuz\n}\n",
    });
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--backend', 'mount', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/symbolic link/);
    expect(imageHash(img)).toBe(before);
    expect(loopsOf(img)).toBe('');
  });

  it('a path that is no image', async () => {
    const r = await runPlaybook('pygrub-fix', [path.join(dir, 'missing.img'), '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file or device/);
    const d = await runPlaybook('pygrub-fix', [dir, '--dry-run']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/neither a regular file nor a block device/);
  });
});
