/**
 * A write into a guest image killed at every one of its write points (strace -e inject=...
 * :signal=KILL around debugfs, see bin/debugfs): the points are counted by a first run under
 * strace, then each one is a case of its own.
 * - The whole run killed (debugfs, then the run's process group): the next run rolls back the
 *   undo records, then writes. Afterwards e2fsck -fn is clean, grub.cfg is the new config,
 *   grub.cfg.orig the old one, nothing else in /grub, no record left.
 * kill-more.test.ts kills --restore, and debugfs alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { DebugfsFs } from 'xen-runbooks/disk';
import {
  $,
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
});
