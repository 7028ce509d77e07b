import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  DebugfsFs,
  DebugfsSession,
  dq,
  MountFs,
  GuestFsError,
  localCommands,
  openSource,
  detectFilesystem,
  type GuestFs,
} from 'xen-runbooks/disk';
import type { CommandFn, RunOptions } from 'xen-runbooks/engine';
import { tool } from '../helpers/tools.js';
import {
  bootImage,
  buildImage,
  imageHash,
  incidentImage,
  tempDir,
  writeAt,
  filler,
  GiB,
  MiB,
  lvmLabel,
} from '../fixtures/images.js';

let dir: string;
const $ = localCommands();
const P1 = 1048576;
const P1_BYTES = 497664 * 512;

function e2fsckClean(img: string, offset: number): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync(tool('e2fsck'), ['-fn', `${img}?offset=${offset}`], { encoding: 'utf8', stdio: 'pipe' }),
    };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

function losetupList(img: string): string {
  return execFileSync(tool('losetup'), ['-j', img], { encoding: 'utf8' }).trim();
}

beforeAll(async () => {
  tool('debugfs');
  tool('e2fsck');
  tool('losetup');
  dir = tempDir('xr-guestfs-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exercise(fs: GuestFs): Promise<void> {
  expect(await fs.stat('/grub/grub.cfg')).toMatchObject({ type: 'file', mode: 0o644 });
  expect(await fs.stat('/grub')).toMatchObject({ type: 'dir' });
  expect(await fs.stat('/nothing/here')).toBeUndefined();
  expect(await fs.readdir('/grub')).toEqual(['grub.cfg', 'grubenv']);
  expect(await fs.readdir('/grub/grub.cfg')).toBeUndefined();
  const cfg = await fs.readFile('/grub/grub.cfg', 1 << 20);
  expect(cfg.toString()).toMatch(/set root='\(hd0,msdos1\)'/);
  await expect(fs.readFile('/grub/grub.cfg', 100)).rejects.toThrow(/more than the 100/);
  await expect(fs.readFile('/grub', 1 << 20)).rejects.toThrow(/not a regular file/);
}

describe('debugfs backend', () => {
  it('reads files at the partition offset, nothing mounted', async () => {
    const img = path.join(dir, 'r.img');
    await incidentImage(img);
    const fs = new DebugfsFs($, img, P1);
    expect((await fs.probe()).blockSize).toBe(1024);
    await exercise(fs);
    expect(losetupList(img)).toBe('');
  });

  it('replaces a file through a new inode, keeps FILE.orig, mode and owner; e2fsck -fn stays clean; nothing outside the filesystem changes', async () => {
    const img = path.join(dir, 'w.img');
    await incidentImage(img);
    const outside = imageHash(img, { from: P1, to: P1 + P1_BYTES });
    const fs = new DebugfsFs($, img, P1);
    const before = await fs.readFile('/grub/grub.cfg', 1 << 20);
    const after = Buffer.from(before.toString().replace(/msdos1/g, '0'));
    expect(await fs.replaceFile('/grub/grub.cfg', after, { backup: true })).toBe('/grub/grub.cfg.orig');
    expect((await fs.readFile('/grub/grub.cfg', 1 << 20)).equals(after)).toBe(true);
    expect((await fs.readFile('/grub/grub.cfg.orig', 1 << 20)).equals(before)).toBe(true);
    expect(await fs.stat('/grub/grub.cfg')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
    expect(await fs.readdir('/grub')).toEqual(['grub.cfg', 'grub.cfg.orig', 'grubenv']);
    const fsck = e2fsckClean(img, P1);
    expect(fsck.out).not.toMatch(/Fix\?|ERROR|corrupt/i);
    expect(fsck.ok).toBe(true);
    expect(imageHash(img, { from: P1, to: P1 + P1_BYTES })).toBe(outside);
    // A second replace keeps the first backup.
    const again = Buffer.from(`${after.toString()}# again\n`);
    expect(await fs.replaceFile('/grub/grub.cfg', again, { backup: true })).toBeUndefined();
    expect((await fs.readFile('/grub/grub.cfg.orig', 1 << 20)).equals(before)).toBe(true);
    await fs.removeFile('/grub/grub.cfg.orig');
    expect(await fs.stat('/grub/grub.cfg.orig')).toBeUndefined();
    expect(e2fsckClean(img, P1).ok).toBe(true);
  });

  it('statMany in one debugfs process agrees with one stat per path, even when a symlink mimics the prompt', async () => {
    const img = path.join(dir, 'many.img');
    // A fast symlink (under 60 bytes): debugfs prints its target inside the stat output.
    const trap = 'x\ndebugfs: stat "/vmlinuz"\nInode: 9 Type: regular';
    await bootImage(img, { 'grub/grub.cfg': 'set default=0\n', 'grub/menu.lst': { symlink: trap }, vmlinuz: 'k' });
    const fs = new DebugfsFs($, img, P1);
    const paths = ['/boot/grub/grub.cfg', '/grub/grub.cfg', '/grub/menu.lst', '/vmlinuz', '/grub', '/nothing'];
    const one = [];
    for (const p of paths) one.push(await fs.stat(p));
    expect(one.map((s) => s?.type)).toEqual([undefined, 'file', 'symlink', 'file', 'dir', undefined]);
    expect(await fs.statMany(paths)).toEqual(one);
  });

  it("readHeads reads several files' heads in one command, byte for byte, and a write is seen at once", async () => {
    const img = path.join(dir, 'readmany.img');
    // Binary bytes, a file whose bytes spell debugfs's prompt, an empty file and a large one.
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 37) % 256));
    const trap = 'debugfs: cat "/b"\nnot the next file\n';
    const big = Buffer.alloc(3 * 1024 * 1024, 0x5a);
    await bootImage(img, { a: binary, b: trap, empty: '', big, 'grub/grub.cfg': 'set default=0\n' });
    const fs = new DebugfsFs($, img, P1);
    const seen: string[] = [];
    const counting$ = ((first: TemplateStringsArray | RunOptions, ...rest: unknown[]) => {
      if ('raw' in first) {
        seen.push('debugfs');
        return $(first, ...rest);
      }
      const bound = $(first);
      return (p: TemplateStringsArray, ...v: unknown[]) => {
        seen.push('debugfs');
        return bound(p, ...v);
      };
    }) as CommandFn;
    const counting = new DebugfsFs(counting$, img, P1);
    const many = await counting.readHeads(['/a', '/b', '/empty', '/big', '/grub', '/nothing', '/a'], 100_000);
    expect(seen.length).toBe(2); // one stat batch, one read of the heads
    expect([...many.keys()].sort()).toEqual(['/a', '/b', '/big', '/empty']);
    expect(many.get('/a')?.equals(binary)).toBe(true);
    expect(many.get('/b')?.toString()).toBe(trap);
    expect(many.get('/empty')?.length).toBe(0);
    expect(many.get('/big')?.equals(big.subarray(0, 100_000))).toBe(true);
    for (const p of ['/a', '/b', '/empty']) expect(many.get(p)?.equals(await fs.readFile(p, 1 << 20))).toBe(true);
    // The second look at a file is the first one's answer; a write changes what is seen.
    const before = seen.length;
    expect(await counting.stat('/a')).toMatchObject({ type: 'file', size: 70_000 });
    expect(seen.length).toBe(before);
    await counting.replaceFile('/b', Buffer.from('new\n'), { backup: true });
    expect(await counting.stat('/b')).toMatchObject({ size: 4 });
    expect(await counting.stat('/b.orig')).toMatchObject({ size: trap.length });
    expect((await counting.readHeads(['/b'], 1 << 20)).get('/b')?.toString()).toBe('new\n');
  });

  it('probe looks up the paths asked for in the same debugfs process, with the answers one stat each would give', async () => {
    const img = path.join(dir, 'probe.img');
    const trap = 'x\ndebugfs: stat "/vmlinuz"\nInode: 9 Type: regular';
    await bootImage(img, { 'grub/grub.cfg': 'set default=0\n', 'grub/menu.lst': { symlink: trap }, vmlinuz: 'k' });
    const paths = ['/boot/grub/grub.cfg', '/grub/grub.cfg', '/grub/menu.lst', '/vmlinuz', '/grub', '/nothing'];
    const one = new DebugfsFs($, img, P1);
    const expected = [];
    for (const p of paths) expected.push(await one.stat(p));
    const runs: string[] = [];
    const counting$ = ((first: TemplateStringsArray | RunOptions, ...rest: unknown[]) => {
      if ('raw' in first) {
        runs.push(String(rest[0]));
        return $(first, ...rest);
      }
      const bound = $(first);
      return (p: TemplateStringsArray, ...v: unknown[]) => {
        runs.push(first.input === undefined ? String(v[0]) : String(first.input));
        return bound(p, ...v);
      };
    }) as CommandFn;
    // Without the symlink that mimics the prompt: one process answers the superblock and every path.
    const plain = path.join(dir, 'probe-plain.img');
    await bootImage(plain, { 'grub/grub.cfg': 'set default=0\n', vmlinuz: 'k' });
    const fs = new DebugfsFs(counting$, plain, P1);
    expect((await fs.probe(['/grub/grub.cfg', '/vmlinuz', '/nothing'])).blockSize).toBe(1024);
    expect(runs).toEqual(['stats -h\nstat "/grub/grub.cfg"\nstat "/vmlinuz"\nstat "/nothing"\n']);
    expect(await fs.statMany(['/grub/grub.cfg', '/vmlinuz', '/nothing'])).toEqual([
      expect.objectContaining({ type: 'file', size: 14 }),
      expect.objectContaining({ type: 'file', size: 1 }),
      undefined,
    ]);
    expect(runs.length).toBe(1);
    // With it, the answers are still those of one stat a path (found again, apart).
    runs.length = 0;
    const trapped = new DebugfsFs(counting$, img, P1);
    expect((await trapped.probe(paths)).blockSize).toBe(1024);
    expect(await trapped.statMany(paths)).toEqual(expected);
    expect(runs.length).toBeGreaterThan(1);
  });

  it('a filesystem that is not ext2/3/4 does not open', async () => {
    const img = path.join(dir, 'garbage.img');
    await incidentImage(img, { bytes: 1 * GiB });
    await writeAt(img, P1, filler(2 * MiB, 99));
    await writeAt(img, P1 + 1080, Buffer.from([0x53, 0xef]));
    const fs = new DebugfsFs($, img, P1);
    await expect(fs.probe()).rejects.toThrow(GuestFsError);
    await expect(fs.stat('/grub/grub.cfg')).rejects.toThrow(/cannot open the filesystem/);
  });

  it('a debugfs session checks each command before the next: a failed cd is reported, nothing runs after it unasked', async () => {
    const img = path.join(dir, 'session.img');
    await bootImage(img, { 'grub/grub.cfg': 'x\n' });
    const s = await DebugfsSession.open({ device: `${img}?offset=${P1}`, write: false });
    try {
      await expect(s.run(`cd ${dq('/no such dir')}`)).rejects.toThrow(/cd "\/no such dir": .*File not found/);
      expect((await s.run(`cd ${dq('/grub')}`)).err).toBe('');
      expect((await s.run('pwd')).out).toMatch(/PATH: \/grub/);
      // Quoting by ss's rules: a doubled quote is one quote, blanks stay inside.
      await expect(s.run(`stat ${dq('a "b" c')}`)).rejects.toThrow(/a "b" c: File not found/);
    } finally {
      await s.close();
    }
    expect(s.log.map((r) => r.command)).toEqual(['cd "/no such dir"', 'cd "/grub"', 'pwd', 'stat "a ""b"" c"']);
  });

  it('refuses guest paths debugfs could misread', async () => {
    const fs = new DebugfsFs($, '/nonexistent.img', 0);
    await expect(fs.stat('/a"b')).rejects.toThrow(/unusual characters/);
    await expect(fs.stat('relative')).rejects.toThrow(/unusual characters/);
    expect(() => new DebugfsFs($, '/tmp/a?b.img', 0)).toThrow(/containing '\?'/);
  });
});

describe('mount backend', () => {
  it('mounts read-only at the offset, reads, writes with a backup, and always detaches', async () => {
    const img = path.join(dir, 'm.img');
    await incidentImage(img);
    const outside = imageHash(img, { from: P1, to: P1 + P1_BYTES });
    const undo: (() => Promise<void>)[] = [];
    const fs = new MountFs($, img, P1, P1_BYTES, 'ext2', (fn) => undo.push(fn));
    try {
      await fs.open();
      expect(losetupList(img)).toMatch(/\/dev\/loop\d+/);
      await exercise(fs);
      const before = await fs.readFile('/grub/grub.cfg', 1 << 20);
      const after = Buffer.from(before.toString().replace(/msdos1/g, '0'));
      expect(await fs.replaceFile('/grub/grub.cfg', after, { backup: true })).toBe('/grub/grub.cfg.orig');
      expect((await fs.readFile('/grub/grub.cfg', 1 << 20)).equals(after)).toBe(true);
    } finally {
      for (const fn of undo.reverse()) await fn();
    }
    expect(losetupList(img)).toBe('');
    expect(e2fsckClean(img, P1).ok).toBe(true);
    expect(imageHash(img, { from: P1, to: P1 + P1_BYTES })).toBe(outside);
    const check = new DebugfsFs($, img, P1);
    expect((await check.readFile('/grub/grub.cfg.orig', 1 << 20)).toString()).toMatch(/msdos1/);
  });

  it('writes like the debugfs backend: .orig a hard link to the original, refuses odd layouts, synced and read back', async () => {
    const img = path.join(dir, 'mw.img');
    await bootImage(img, {
      'grub/grub.cfg': 'old\n',
      'grub/menu.lst.orig': { symlink: '/etc/passwd' },
      'grub/menu.lst': 'm\n',
      link: { symlink: 'grub' },
    });
    const undo: (() => Promise<void>)[] = [];
    const fs = new MountFs($, img, P1, 262144 * 512, 'ext2', (fn) => undo.push(fn));
    try {
      await fs.open();
      await expect(fs.replaceFile('/grub/menu.lst', Buffer.from('x\n'), { backup: true })).rejects.toThrow(
        /menu\.lst\.orig exists and is a symlink, not a backup/,
      );
      await expect(fs.replaceFile('/link/grub.cfg', Buffer.from('x\n'), { backup: true })).rejects.toThrow(
        /\/link is a symbolic link inside the guest/,
      );
      expect(await fs.replaceFile('/grub/grub.cfg', Buffer.from('new\n'), { backup: true })).toBe(
        '/grub/grub.cfg.orig',
      );
      expect((await fs.readFile('/grub/grub.cfg', 100)).toString()).toBe('new\n');
      expect(await fs.readdir('/grub')).toEqual(['grub.cfg', 'grub.cfg.orig', 'menu.lst', 'menu.lst.orig']);
    } finally {
      for (const fn of undo.reverse()) await fn();
    }
    expect(e2fsckClean(img, P1).ok).toBe(true);
    const check = new DebugfsFs($, img, P1);
    expect((await check.readFile('/grub/grub.cfg.orig', 100)).toString()).toBe('old\n');
    expect((await check.readFile('/grub/menu.lst', 100)).toString()).toBe('m\n');
  });

  it('a symlink in the guest cannot lead out of the mount point', async () => {
    const img = path.join(dir, 'link.img');
    await bootImage(img, {
      'grub/grub.cfg': { symlink: '/etc/hostname' },
      'grub/escape': { symlink: '../../../../../../etc' },
    });
    const undo: (() => Promise<void>)[] = [];
    const fs = new MountFs($, img, P1, 262144 * 512, 'ext2', (fn) => undo.push(fn));
    try {
      await fs.open();
      expect(await fs.stat('/grub/grub.cfg')).toMatchObject({ type: 'symlink' });
      await expect(fs.readFile('/grub/escape/hostname', 1 << 20)).rejects.toThrow(/does not exist|leaves/);
    } finally {
      for (const fn of undo.reverse()) await fn();
    }
    expect(losetupList(img)).toBe('');
  });

  it('a failed mount leaves no loop device behind', async () => {
    const img = path.join(dir, 'nofs.img');
    await buildImage(img, { bytes: 256 * MiB, label: 'dos', partitions: [{ start: 2048, type: '83' }] });
    const undo: (() => Promise<void>)[] = [];
    const fs = new MountFs($, img, P1, 100 * MiB, 'ext2', (fn) => undo.push(fn));
    await expect(fs.open()).rejects.toThrow(/mount .* failed/);
    for (const fn of undo.reverse()) await fn();
    expect(losetupList(img)).toBe('');
  });
});

describe('filesystem signatures', () => {
  it('tells ext2, ext4 with its features, LVM2, XFS v4/v5 and btrfs apart', async () => {
    const img = path.join(dir, 'sig.img');
    await incidentImage(img, { bytes: 2 * GiB });
    const src = await openSource(img);
    try {
      expect((await detectFilesystem(src, P1)).kind).toBe('ext2');
      expect((await detectFilesystem(src, 501760 * 512)).kind).toBe('lvm2');
    } finally {
      await src.close();
    }
    const four = path.join(dir, 'sig4.img');
    await bootImage(four, { 'grub/grub.cfg': 'x\n' }, { type: 'ext4', features: 'metadata_csum_seed' });
    const s4 = await openSource(four);
    const info = await detectFilesystem(s4, P1);
    await s4.close();
    expect(info.kind).toBe('ext4');
    expect(info.features).toEqual(expect.arrayContaining(['extent', 'metadata_csum', 'metadata_csum_seed']));
    expect(info.dirty).toBe(false);
    // XFS and btrfs are made here from their superblock signatures only (no mkfs.xfs/mkfs.btrfs needed).
    const x = path.join(dir, 'xfs.img');
    await buildImage(x, {
      bytes: 256 * MiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 65536, type: '83', raw: [{ at: 0, data: xfsSuper(5) }] },
        { start: 67584, size: 65536, type: '83', raw: [{ at: 0, data: xfsSuper(4) }] },
        { start: 133120, type: '83', raw: [{ at: 0x10040, data: Buffer.from('_BHRfS_M') }] },
      ],
    });
    const sx = await openSource(x);
    try {
      expect(await detectFilesystem(sx, 2048 * 512)).toMatchObject({ kind: 'xfs', version: 5 });
      expect(await detectFilesystem(sx, 67584 * 512)).toMatchObject({ kind: 'xfs', version: 4 });
      expect((await detectFilesystem(sx, 133120 * 512)).kind).toBe('btrfs');
    } finally {
      await sx.close();
    }
    expect(lvmLabel()[0]?.at).toBe(512);
  });
});

/** The first bytes of an XFS superblock: magic, block size, and sb_versionnum (low nibble = version). */
export function xfsSuper(version: 4 | 5): Buffer {
  const b = Buffer.alloc(512);
  b.write('XFSB', 0, 'latin1');
  b.writeUInt32BE(4096, 4);
  b.writeUInt16BE(0xb4a0 | version, 100);
  return b;
}
