/**
 * A write into a guest image killed at every one of its write points (strace -e inject=...
 * :signal=KILL around debugfs, see bin/debugfs): the points are counted by a first run under
 * strace, then each one is a case of its own.
 * - The whole run killed (debugfs, then the run's process group): the next run rolls back the
 *   undo records, then writes. Afterwards e2fsck -fn is clean, grub.cfg is the new config,
 *   grub.cfg.orig the old one, nothing else in /grub, no record left.
 * - debugfs alone killed (the run survives): the run itself rolls back and fails; the image is
 *   byte-identical. Every point of the swap session and of the superblock, every other point of
 *   the session that writes the new file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DebugfsFs, GuestFsError } from 'xen-runbooks/disk';
import { tempDir } from '../fixtures/images.js';
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
  smallImage,
  undoLeftovers,
  writeNewCfg,
} from './helpers.js';

let dir: string;
let base: string;
let newFile: string;
let points: string[] = [];

beforeAll(async () => {
  needTools();
  dir = tempDir('xr-faults-kill-');
  base = path.join(dir, 'base.img');
  await smallImage(base);
  newFile = writeNewCfg(dir);
  // The write points of one write: a run under strace that only lists them.
  const img = path.join(dir, 'count.img');
  copyImage(base, img);
  const fault = path.join(dir, 'f-count');
  const r = await runWriter(img, newFile, { fault: { dir: fault, list: true } });
  expect(r.out).toMatchObject({ action: 'replaced', error: '' });
  points = readFileSync(path.join(fault, 'points'), 'utf8').trim().split('\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names = ['grub.cfg', 'grub.cfg.orig', 'grubenv'];

describe('a write killed at every write point', () => {
  it('has write points in both debugfs sessions (the new file, then the swap)', () => {
    expect(points.some((p) => p.startsWith('1:pwrite64:'))).toBe(true);
    expect(points.some((p) => p.startsWith('2:pwrite64:'))).toBe(true);
    // libext2fs writes superblock fields with write(2) (unix_io.c, unix_write_byte): points too.
    expect(points.some((p) => /:write:/.test(p))).toBe(true);
  });

  it('the whole run killed at each point: the next run rolls back, then fixes; nothing lost', async () => {
    const results = await pool(
      2,
      points.map((point, i) => async () => {
        const img = path.join(dir, `whole-${i}.img`);
        copyImage(base, img);
        const killed = await runWriter(img, newFile, { fault: { dir: path.join(dir, `f-${i}`), point } });
        // Before any recovery: what a guest booted now would find under grub.cfg.
        const mid = await guestState(img).catch(() => ({ cfg: undefined }));
        const fs = new DebugfsFs($, img, OFFSET);
        const recovery = await fs.recover();
        await fs.replaceFile('/grub/grub.cfg', Buffer.from(NEW_CFG), { backup: true });
        const after = await guestState(img);
        const fsck = fsckClean(img);
        const left = undoLeftovers(img);
        rmSync(img, { force: true });
        return {
          point,
          killed: killed.signal === 'SIGKILL',
          reachable: mid.cfg === OLD_CFG || mid.cfg === NEW_CFG,
          recovery: recovery.action,
          held:
            fsck.ok &&
            after.cfg === NEW_CFG &&
            after.orig === OLD_CFG &&
            JSON.stringify(after.names) === JSON.stringify(names) &&
            left.length === 0,
        };
      }),
    );
    const held = results.filter((r) => r.held).length;
    const reachable = results.filter((r) => r.reachable).length;
    const rolled = results.filter((r) => r.recovery === 'rolled-back').length;
    console.log(
      `whole run killed: ${results.length} write points tried, ${held} held (e2fsck clean, new config, original kept); ` +
        `${rolled} rolled back by the next run; grub.cfg old or new before any recovery at ${reachable}`,
    );
    expect(results.filter((r) => !r.killed).map((r) => r.point)).toEqual([]);
    expect(results.filter((r) => !r.held).map((r) => r.point)).toEqual([]);
    // The order of the write: a guest booted at any of these moments finds a whole grub.cfg.
    expect(results.filter((r) => !r.reachable).map((r) => r.point)).toEqual([]);
    // A kill before the first filesystem write leaves nothing to roll back; most leave a record.
    expect(rolled).toBeGreaterThan(results.length / 2);
  });

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
