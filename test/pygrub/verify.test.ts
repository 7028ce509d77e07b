// The proof after a write: the release's pygrub (the model checked against the real one) reads
// what was written, the filesystem is clean, and the active partition is the first one tried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { StepError } from 'xen-runbooks/engine';
import { DebugfsFs, MountFs, type GuestFs } from 'xen-runbooks/disk';
import { parseXenVersion, rewriteForPygrub, UBUNTU_1204_GRUB_CFG, type BootLocation } from 'xen-runbooks/grub';
import { checkActiveFirst, checkClean, pygrubVerdict } from 'xen-runbooks/playbooks/pygrub-fix/verify';
import { $, bootImage, buildImage, MiB, tempDir, writeAt } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';
import { fakeCommands } from '../helpers/fake-commands.js';

const P1 = 1048576;
let dir: string;
beforeAll(() => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck'] as const) tool(t);
  dir = tempDir('xr-verify-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const boot = (offset: number, number = 1): BootLocation => ({
  partition: {
    number,
    kind: 'primary',
    start: offset / 512,
    size: 16384,
    offset,
    bytes: 16384 * 512,
    type: '83',
    typeName: 'Linux',
  },
  offset,
  fs: { kind: 'ext2', features: [] },
  config: {
    path: '/grub/grub.cfg',
    kind: 'grub2',
    stat: { type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0 },
    hidden: [],
  },
  text: '',
});

describe("the release's pygrub on the written config", () => {
  it('the incident config still makes Xen 4.0.1 raise; its rewrite boots the first entry', () => {
    const v = parseXenVersion('4.0.1');
    expect(() => pygrubVerdict(UBUNTU_1204_GRUB_CFG, 'grub2', v)).toThrow(StepError);
    expect(() => pygrubVerdict(UBUNTU_1204_GRUB_CFG, 'grub2', v)).toThrow(/still makes pygrub raise/);
    expect(pygrubVerdict(rewriteForPygrub(UBUNTU_1204_GRUB_CFG, v, 'grub2').text, 'grub2', v)).toMatch(
      /^the pygrub of Xen 4\.0\.1 lists \d+ entries and boots entry 0 \(\/vmlinuz-3\.2\.0-\d+-generic\)$/,
    );
  });
});

describe('the filesystem after the write', () => {
  it('e2fsck -fn runs on a debugfs filesystem and a damaged one fails the step', async () => {
    const img = path.join(dir, 'clean.img');
    await bootImage(img, { 'grub/grub.cfg': 'x\n' });
    await checkClean($, new DebugfsFs($, img, P1), boot(P1));
    await writeAt(img, P1 + 2048, Buffer.alloc(4096));
    await expect(checkClean($, new DebugfsFs($, img, P1), boot(P1))).rejects.toThrow(
      /e2fsck -fn finds partition 1 \(offset 1048576\) damaged after the write .*\/grub\/grub\.cfg\.orig holds the old config/,
    );
  });

  it('a mounted filesystem is not checked with e2fsck (the kernel wrote it)', async () => {
    const seen: string[][] = [];
    const run = fakeCommands(() => ({ exitCode: 4 }), seen);
    const mounted: GuestFs = new MountFs(run, '/x.img', P1, MiB, 'ext2', () => {});
    await checkClean(run, mounted, boot(P1));
    expect(seen).toEqual([]);
  });
});

describe('the active partition after sfdisk --activate', () => {
  it('Xen 4.0.1 reads the active partition first; another partition fails the step', async () => {
    const img = path.join(dir, 'active.img');
    await buildImage(img, {
      bytes: 64 * MiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 16384, type: '83' },
        { start: 18432, type: '83', bootable: true },
      ],
    });
    const v = parseXenVersion('4.0.1');
    await checkActiveFirst(img, v, boot(18432 * 512, 2));
    await expect(checkActiveFirst(img, v, boot(P1))).rejects.toThrow(
      /still does not read partition 1 \(offset 1048576\) first \(offsets 9437184\).*\.mbr\.orig holds the old MBR/,
    );
  });
});
