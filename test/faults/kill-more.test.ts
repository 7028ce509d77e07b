/**
 * More kills of a write into a guest image (strace -e inject=...:signal=KILL around debugfs, see
 * bin/debugfs), beside kill.test.ts (which kills the whole run at every write point):
 * - --restore (the original put back over grub.cfg, grub.cfg.orig removed) killed whole at
 *   points spread over its three debugfs sessions: the next --restore finishes it.
 * - debugfs alone killed, the run surviving: the run itself rolls back and fails; the image is
 *   byte-identical. Every point of the swap session and of the superblock, every other point of
 *   the session that writes the new file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DebugfsFs, GuestFsError } from 'xen-runbooks/disk';
import {
  $,
  FAULT_BIN,
  NEW_CFG,
  OFFSET,
  OLD_CFG,
  copyImage,
  fsckClean,
  guestState,
  needTools,
  pool,
  runWriter,
  undoLeftovers,
  writePointsFixture,
} from './helpers.js';

let dir: string;
let base: string;
let newFile: string;
let points: string[] = [];

beforeAll(async () => {
  needTools();
  ({ dir, base, newFile, points } = await writePointsFixture('xr-faults-kill-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a write killed, more ways', () => {
  it('--restore killed at points spread over its three sessions: the next --restore rolls back, then puts the original back', async () => {
    // A fixed image: grub.cfg new, grub.cfg.orig the original.
    const fixedImg = path.join(dir, 'fixed.img');
    copyImage(base, fixedImg);
    await new DebugfsFs($, fixedImg, OFFSET).replaceFile('/grub/grub.cfg', Buffer.from(NEW_CFG), { backup: true });
    const listDir = path.join(dir, 'f-restore-count');
    const counted = path.join(dir, 'restore-count.img');
    copyImage(fixedImg, counted);
    const r = await runWriter(counted, newFile, { restore: true, fault: { dir: listDir, list: true } });
    expect(r.out).toMatchObject({ action: 'restored', error: '' });
    const all = readFileSync(path.join(listDir, 'points'), 'utf8').trim().split('\n');
    // Sessions 1-2 put the original back over grub.cfg, session 3 removes grub.cfg.orig.
    expect(all.some((p) => p.startsWith('3:'))).toBe(true);
    // Five points spread over each session (the first write's every point is swept above).
    const chosen = [...new Set(all.map((p) => p.split(':')[0]))].flatMap((session) => {
      const mine = all.filter((p) => p.startsWith(`${session}:`));
      return [...new Set([0, 1, 2, 3, 4].map((k) => mine[Math.round((k * (mine.length - 1)) / 4)] as string))];
    });
    const results = await pool(
      2,
      chosen.map((point, i) => async () => {
        const img = path.join(dir, `restore-${i}.img`);
        copyImage(fixedImg, img);
        const killed = await runWriter(img, newFile, {
          restore: true,
          fault: { dir: path.join(dir, `r-${i}`), point },
        });
        const mid = await guestState(img).catch(() => ({ cfg: undefined }));
        const next = await runWriter(img, newFile, { restore: true });
        const after = await guestState(img);
        const ok =
          killed.signal === 'SIGKILL' &&
          next.out?.error === '' &&
          after.cfg === OLD_CFG &&
          after.orig === undefined &&
          JSON.stringify(after.names) === JSON.stringify(['grub.cfg', 'grubenv']) &&
          fsckClean(img).ok &&
          undoLeftovers(img).length === 0;
        rmSync(img, { force: true });
        return { point, ok, reachable: mid.cfg === OLD_CFG || mid.cfg === NEW_CFG };
      }),
    );
    const held = results.filter((x) => x.ok).length;
    console.log(
      `--restore killed: ${results.length} of its ${all.length} write points tried, ${held} held (original back, no .orig, e2fsck clean); grub.cfg whole before recovery at ${results.filter((x) => x.reachable).length}`,
    );
    expect(results.filter((x) => !x.ok).map((x) => x.point)).toEqual([]);
    expect(results.filter((x) => !x.reachable).map((x) => x.point)).toEqual([]);
  });

  it('debugfs alone killed (every point of the swap and of the superblock, every other one of the new file): the run rolls back and fails; the image is byte-identical', async () => {
    // Every point is covered by the whole-run case above; here the run survives and rolls back itself.
    const chosen = points.filter((p) => !/^1:pwrite64:/.test(p) || Number(p.split(':')[2]) % 2 === 1);
    const before = readFileSync(base);
    const saved = { PATH: process.env.PATH, dir: process.env.XR_FAULT_DIR, point: process.env.XR_FAULT_POINT };
    process.env.PATH = `${FAULT_BIN}:${process.env.PATH ?? ''}`;
    const results: { point: string; failed: boolean; identical: boolean; clean: boolean }[] = [];
    try {
      for (const [i, point] of chosen.entries()) {
        const img = path.join(dir, `alone-${i}.img`);
        copyImage(base, img);
        const fdir = path.join(dir, `g-${i}`);
        rmSync(fdir, { recursive: true, force: true });
        mkdirSync(fdir);
        process.env.XR_FAULT_DIR = fdir;
        process.env.XR_FAULT_POINT = point;
        const fs = new DebugfsFs($, img, OFFSET);
        const err = await fs.replaceFile('/grub/grub.cfg', Buffer.from(NEW_CFG), { backup: true }).then(
          () => undefined,
          (e: unknown) => e,
        );
        results.push({
          point,
          failed: err instanceof GuestFsError && /rolled back/.test(err.message),
          identical: readFileSync(img).equals(before),
          clean: undoLeftovers(img).length === 0,
        });
        rmSync(img, { force: true });
      }
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.dir === undefined) delete process.env.XR_FAULT_DIR;
      if (saved.point === undefined) delete process.env.XR_FAULT_POINT;
    }
    const held = results.filter((r) => r.failed && r.identical && r.clean).length;
    console.log(
      `debugfs alone killed: ${results.length} write points tried, ${held} held (rolled back, byte-identical)`,
    );
    expect(results.filter((r) => !(r.failed && r.identical && r.clean))).toEqual([]);
  });
});
