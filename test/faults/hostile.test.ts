/**
 * A write into a guest image on a bad day: a full filesystem, no free inode, layouts that make a
 * careless write go astray (grub.cfg.orig a symlink or a directory, /grub a symlink), a TMPDIR
 * with a space and a quote, a read-only image, and two runs at once. Each either does the write
 * right (new file, original in grub.cfg.orig, e2fsck -fn clean) or refuses before writing and
 * leaves the image byte-identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DebugfsFs, DebugfsSession, GuestFsError, blocksNeeded, freeSpace, replaceGuestFile } from 'xen-runbooks/disk';
import { tempDir } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';
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
  lockedWrite,
  smallImage,
  undoLeftovers,
} from './helpers.js';

let dir: string;
let base: string;

beforeAll(async () => {
  needTools();
  tool('losetup');
  dir = tempDir('xr-faults-hostile-');
  base = path.join(dir, 'base.img');
  await smallImage(base);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NEW = Buffer.from(NEW_CFG);

async function attempt(img: string): Promise<GuestFsError | undefined> {
  const fs = new DebugfsFs($, img, OFFSET);
  return fs.replaceFile('/grub/grub.cfg', NEW, { backup: true }).then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof GuestFsError) return e;
      throw e;
    },
  );
}

async function expectDone(img: string): Promise<void> {
  const s = await guestState(img);
  expect(s.cfg).toBe(NEW_CFG);
  expect(s.orig).toBe(OLD_CFG);
  expect(fsckClean(img).ok).toBe(true);
  expect(undoLeftovers(img)).toEqual([]);
}

/** debugfs commands, one session, for building test layouts (not the code under test). */
function debugfsScript(img: string, lines: string[]): void {
  const script = path.join(dir, 'script');
  writeFileSync(script, `${lines.join('\n')}\n`);
  execFileSync(tool('debugfs'), ['-w', '-f', script, `${img}?offset=${OFFSET}`], { stdio: 'pipe' });
}

/** Fill the filesystem until exactly `free` blocks are free (a big file, then one-block files). */
async function fillTo(img: string, free: number): Promise<void> {
  const t = { $, image: img, offset: OFFSET, device: `${img}?offset=${OFFSET}` };
  const one = path.join(dir, 'one-block');
  writeFileSync(one, Buffer.alloc(1024, 7));
  debugfsScript(img, ['mkdir /fill']);
  let n = 0;
  for (let round = 0; round < 40; round++) {
    const now = (await freeSpace(t as never)).freeBlocks;
    if (now === free) return;
    if (now < free) throw new Error(`filled too far: ${now} free, wanted ${free}`);
    const over = now - free;
    if (over > 40) {
      const blocks = over - Math.ceil(over / 200) - 8;
      const big = path.join(dir, 'big');
      writeFileSync(big, Buffer.alloc(blocks * 1024, 1));
      debugfsScript(img, ['cd /fill', `write ${big} big${n++}`]);
    } else {
      debugfsScript(img, ['cd /fill', ...Array.from({ length: over }, () => `write ${one} f${n++}`)]);
    }
  }
  throw new Error(`could not fill ${img} to ${free} free blocks`);
}

describe('a full filesystem', () => {
  it('with fewer free blocks than the write needs, it is refused before writing; with enough, it is done', async () => {
    const need = blocksNeeded(NEW.length, 1024);
    const cases: { free: number; refused: boolean; identical: boolean; done: boolean }[] = [];
    for (let free = 0; free <= need + 1; free++) {
      const img = path.join(dir, `full-${free}.img`);
      copyImage(base, img);
      await fillTo(img, free);
      const before = readFileSync(img);
      const err = await attempt(img);
      const s = await guestState(img);
      cases.push({
        free,
        refused: err?.code === 'no-space' && /too full/.test(err.message),
        identical: readFileSync(img).equals(before),
        done: !err && s.cfg === NEW_CFG && s.orig === OLD_CFG && fsckClean(img).ok,
      });
      rmSync(img);
    }
    const held = cases.filter((c) => (c.free < need ? c.refused && c.identical : c.done)).length;
    console.log(`full filesystem: ${cases.length} cases tried (0..${need + 1} free blocks), ${held} held`);
    expect(cases.filter((c) => c.free < need).every((c) => c.refused && c.identical)).toBe(true);
    expect(cases.filter((c) => c.free >= need).every((c) => c.done)).toBe(true);
  });

  it('with no free inode, it is refused before writing', async () => {
    const img = path.join(dir, 'inodes.img');
    copyImage(base, img);
    const t = { $, image: img, offset: OFFSET, device: `${img}?offset=${OFFSET}` };
    const freeInodes = (await freeSpace(t as never)).freeInodes;
    debugfsScript(img, [
      'mkdir /many',
      'cd /many',
      ...Array.from({ length: freeInodes - 1 }, (_, i) => `write /dev/null e${i}`),
    ]);
    expect((await freeSpace(t as never)).freeInodes).toBe(0);
    const before = readFileSync(img);
    const err = await attempt(img);
    expect(err?.code).toBe('no-space');
    expect(err?.message).toMatch(/1 free inode, it has \d+ and 0/);
    expect(readFileSync(img).equals(before)).toBe(true);
  });
});

describe('layouts a careless write goes astray in', () => {
  const cases: [string, Record<string, string | { symlink: string }>, RegExp][] = [
    [
      'grub.cfg.orig a symlink',
      { 'grub/grub.cfg.orig': { symlink: '/etc/passwd' } },
      /grub\.cfg\.orig exists and is a symlink, not a backup/,
    ],
    [
      'grub.cfg.orig a directory',
      { 'grub/grub.cfg.orig/x': 'y\n' },
      /grub\.cfg\.orig exists and is a directory, not a backup/,
    ],
  ];
  for (const [name, files, message] of cases) {
    it(`${name}: refused with a clear message, the image byte-identical`, async () => {
      const img = path.join(dir, `${name.replace(/\W+/g, '-')}.img`);
      await smallImage(img, files);
      const before = readFileSync(img);
      const err = await attempt(img);
      expect(err?.code).toBe('unsafe');
      expect(err?.message).toMatch(message);
      expect(readFileSync(img).equals(before)).toBe(true);
    });
  }

  it('/grub a symlink inside the guest: refused, nothing written at the root', async () => {
    const img = path.join(dir, 'grub-link.img');
    await smallImage(img, { 'boot/grub/grub.cfg': OLD_CFG, grub: { symlink: 'boot/grub' } }, { only: true });
    const before = readFileSync(img);
    const fs = new DebugfsFs($, img, OFFSET);
    // debugfs reaches the file through the symlink (ext2fs_namei follows inner components) ...
    expect((await fs.readFile('/grub/grub.cfg', 1 << 20)).toString()).toBe(OLD_CFG);
    // ... but the write is refused rather than made through it.
    const err = await attempt(img);
    expect(err?.code).toBe('unsafe');
    expect(err?.message).toMatch(/\/grub is a symbolic link inside the guest/);
    expect(readFileSync(img).equals(before)).toBe(true);
    expect(await fs.readdir('/')).toEqual(['boot', 'grub', 'lost+found']);
  });

  it('a TMPDIR with a space and a double quote: the temporary file still reaches debugfs whole', async () => {
    const img = path.join(dir, 'tmpdir.img');
    copyImage(base, img);
    const tmp = path.join(dir, 'tmp dir "quoted"');
    mkdirSync(tmp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      expect(await attempt(img)).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    await expectDone(img);
  });

  it('a read-only image: refused before writing, and debugfs opening it read-only is caught too', async () => {
    const img = path.join(dir, 'ro.img');
    copyImage(base, img);
    const before = readFileSync(img);
    const loop = execFileSync(tool('losetup'), ['--find', '--show', '--read-only', img], { encoding: 'utf8' }).trim();
    try {
      const fs = new DebugfsFs($, loop, OFFSET, path.join(dir, 'state'));
      const err = await fs.replaceFile('/grub/grub.cfg', NEW, { backup: true }).then(
        () => undefined,
        (e: unknown) => e as GuestFsError,
      );
      expect(err?.code).toBe('read-only');
      expect(err?.message).toMatch(/read-only/);
      // The session's own check, without the one before it.
      const s = await DebugfsSession.open({ device: `${loop}?offset=${OFFSET}`, write: true }).then(
        () => undefined,
        (e: unknown) => e as GuestFsError,
      );
      expect(s?.code).toBe('read-only');
    } finally {
      execFileSync(tool('losetup'), ['--detach', loop]);
    }
    expect(readFileSync(img).equals(before)).toBe(true);
  });
});

describe('a debugfs command that fails', () => {
  it('stops the session there and rolls back: the commands after it never run, the image is byte-identical', async () => {
    const img = path.join(dir, 'cmdfail.img');
    await smallImage(img, { 'grub/.grub.cfg.xr-new': 'left by someone\n' });
    const before = readFileSync(img);
    const real = new DebugfsFs($, img, OFFSET);
    // A view of the filesystem that hides the temporary name, so the write's own checks miss it
    // and debugfs's `write` meets an existing name (do_write_internal: EXT2_ET_FILE_EXISTS).
    const hide = (p: string) => p.endsWith('/.grub.cfg.xr-new');
    const view = {
      $: real.$,
      image: real.image,
      offset: real.offset,
      device: real.device,
      stat: async (p: string) => (hide(p) ? undefined : real.stat(p)),
      statMany: async (ps: readonly string[]) =>
        (await real.statMany(ps)).map((st, i) => (hide(ps[i] as string) ? undefined : st)),
      readFile: (p: string, limit: number) => real.readFile(p, limit),
    };
    const err = await replaceGuestFile(view, '/grub/grub.cfg', NEW, { backup: true }).then(
      () => undefined,
      (e: unknown) => e as GuestFsError,
    );
    expect(err?.message).toMatch(/debugfs write .*\.grub\.cfg\.xr-new.*exists.*rolled back/);
    // set_inode_field and the swap did not run: nothing changed at all.
    expect(readFileSync(img).equals(before)).toBe(true);
    expect(undoLeftovers(img)).toEqual([]);
  });
});

describe('two runs at once', () => {
  it('30 close pairs: one writes, the other refuses or finds nothing to do; e2fsck clean, original kept', async () => {
    const results = await pool(
      2,
      Array.from({ length: 30 }, (_, i) => async () => {
        const img = path.join(dir, `pair-${i}.img`);
        copyImage(base, img);
        // Two writers started together, each with its own lock holder (flock(1) child).
        const actions = (await Promise.all([lockedWrite(img), lockedWrite(img)])).sort();
        const s = await guestState(img);
        const ok =
          actions.filter((x) => x === 'replaced').length === 1 &&
          actions.every((x) => x === 'replaced' || x === 'nothing-to-do' || x === 'busy') &&
          s.cfg === NEW_CFG &&
          s.orig === OLD_CFG &&
          fsckClean(img).ok &&
          undoLeftovers(img).length === 0;
        rmSync(img);
        return { i, actions, ok };
      }),
    );
    const held = results.filter((r) => r.ok).length;
    const busy = results.filter((r) => r.actions.includes('busy')).length;
    console.log(`two runs at once: ${results.length} pairs tried, ${held} held (${busy} with one refused as busy)`);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
