/**
 * A file's first bytes read from the image at the blocks debugfs's `stat` lists
 * (src/disk/debugfs-blockmap.ts) are the bytes debugfs itself reads (`cat FILE | head -c N`): on
 * filesystems real e2fsprogs builds (ext2, ext3, ext4; 1 KiB and 4 KiB blocks; indirect blocks,
 * extents, a fragmented file, a hole, inline data). Where the map cannot say (a hole, inline data),
 * the head is read by debugfs, as before.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headRanges, parseBlockMap } from '../../src/disk/debugfs-blockmap.js';
import { DebugfsFs, localCommands } from 'xen-runbooks/disk';
import type { CommandFn, RunOptions } from 'xen-runbooks/engine';
import { tempDir } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';

const HEAD = 256 * 1024;

describe('parseBlockMap, on what debugfs prints (debugfs.c finish_range, list_blocks_proc, dump_extents)', () => {
  it('block-mapped: data runs in order, indirect blocks left out', () => {
    const out = 'Size of extra inode fields: 32\nBLOCKS:\n(0-11):816-827, (IND):828, (12-18):829-835\nTOTAL: 20\n';
    expect(parseBlockMap(out)).toEqual([
      { logical: 0, physical: 816, count: 12, unwritten: false },
      { logical: 12, physical: 829, count: 7, unwritten: false },
    ]);
  });

  it('extents: single blocks, unwritten extents and the tree blocks', () => {
    const out = 'EXTENTS:\n(ETB0):5000, (0):1618, (1-3[u]):1619-1621, (4[u]):1700, (10-12):1800-1802\n';
    expect(parseBlockMap(out)).toEqual([
      { logical: 0, physical: 1618, count: 1, unwritten: false },
      { logical: 1, physical: 1619, count: 3, unwritten: true },
      { logical: 4, physical: 1700, count: 1, unwritten: true },
      { logical: 10, physical: 1800, count: 3, unwritten: false },
    ]);
  });

  it('no map for inline data or output it does not know; none for an empty file', () => {
    expect(parseBlockMap('Size of inline data: 60\n')).toBeUndefined();
    expect(parseBlockMap('EXTENTS:\n(0-3):10-11\n')).toBeUndefined();
    expect(parseBlockMap('BLOCKS:\n(0-1):10-11 (2):12\n')).toBeUndefined();
    expect(parseBlockMap('BLOCKS:\n\n')).toEqual([]);
  });

  it('headRanges: contiguous runs joined, a hole or an unwritten extent in the head gives none', () => {
    const runs = parseBlockMap('BLOCKS:\n(0-11):816-827, (IND):828, (12-18):829-835\nTOTAL: 20\n') ?? [];
    expect(headRanges(runs, 19299, HEAD, 1024)).toEqual([
      { offset: 816 * 1024, length: 12 * 1024 },
      { offset: 829 * 1024, length: 19299 - 12 * 1024 },
    ]);
    expect(headRanges(runs, 19299, 100, 1024)).toEqual([{ offset: 816 * 1024, length: 100 }]);
    const holed = parseBlockMap('EXTENTS:\n(0):10, (2):12\n') ?? [];
    expect(headRanges(holed, 3 * 1024, HEAD, 1024)).toBeUndefined();
    expect(headRanges(holed, 3 * 1024, 1024, 1024)).toEqual([{ offset: 10 * 1024, length: 1024 }]);
    const unwritten = parseBlockMap('EXTENTS:\n(0-1[u]):10-11\n') ?? [];
    expect(headRanges(unwritten, 2048, HEAD, 1024)).toBeUndefined();
    // The map must reach the head's end: a file longer than its blocks is not guessed at.
    expect(headRanges([{ logical: 0, physical: 10, count: 1, unwritten: false }], 4096, HEAD, 1024)).toBeUndefined();
  });
});

/** The files whose heads were read by a debugfs command (`cat "FILE"` among its arguments). */
function counting(): { $: CommandFn; readByDebugfs: Set<string> } {
  const inner = localCommands();
  const readByDebugfs = new Set<string>();
  const note = (values: unknown[]) => {
    for (const v of values.flat()) {
      const m = typeof v === 'string' ? /^cat "(.*)"$/.exec(v) : null;
      if (m) readByDebugfs.add(m[1] as string);
    }
  };
  const $ = ((first: TemplateStringsArray | RunOptions, ...values: unknown[]) => {
    if (Array.isArray(first) && 'raw' in (first as object)) {
      note(values);
      return (inner as (p: TemplateStringsArray, ...v: unknown[]) => unknown)(first as TemplateStringsArray, ...values);
    }
    const run = (inner as (o: RunOptions) => (p: TemplateStringsArray, ...v: unknown[]) => unknown)(
      first as RunOptions,
    );
    return (p: TemplateStringsArray, ...v: unknown[]) => {
      note(v);
      return run(p, ...v);
    };
  }) as CommandFn;
  return { $, readByDebugfs };
}

describe('heads read from the image are the bytes debugfs reads, on filesystems e2fsprogs builds', () => {
  let dir: string;
  beforeAll(() => {
    tool('mke2fs');
    tool('debugfs');
    dir = tempDir('xr-blockmap-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Files of every shape a map can take, with bytes that differ everywhere. */
  function content(): string {
    const src = path.join(dir, `src-${Math.random().toString(36).slice(2)}`);
    mkdirSync(src);
    const bytes = (n: number, seed: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 251;
      return b;
    };
    const sizes = {
      empty: 0,
      one: 1,
      tiny: 50,
      block: 1024,
      direct: 12 * 1024,
      indirect: 12 * 1024 + 1,
      kernel: 300_000,
      big: 2_000_000,
    };
    for (const [name, n] of Object.entries(sizes)) writeFileSync(path.join(src, name), bytes(n, n % 97));
    // A hole at the start: its head reads as zeros, which only debugfs can say.
    writeFileSync(path.join(src, 'sparse'), '');
    truncateSync(path.join(src, 'sparse'), 64 * 1024);
    writeFileSync(path.join(src, 'sparse'), bytes(100, 3), { flag: 'a' });
    return src;
  }

  function debugfsHead(device: string, file: string): Buffer {
    return execFileSync('sh', [
      '-c',
      'debugfs -c -R "$1" "$2" 2>/dev/null | head -c "$3"',
      'sh',
      `cat "${file}"`,
      device,
      String(HEAD),
    ]);
  }

  it.each([
    ['ext2', 1024, []],
    ['ext3', 4096, []],
    ['ext4', 1024, []],
    ['ext4', 4096, []],
    ['ext4', 4096, ['-O', 'inline_data']],
  ] as const)('%s, %i-byte blocks %j', async (type, blockSize, extra) => {
    const src = content();
    const img = path.join(dir, `${type}-${blockSize}-${extra.length}.img`);
    execFileSync(tool('mke2fs'), ['-q', '-F', '-t', type, '-b', String(blockSize), ...extra, '-d', src, img, '16M']);
    // A fragmented file: written after a file before it is removed, into the gap and past it.
    const frag = path.join(dir, 'frag');
    writeFileSync(frag, Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 253)));
    execFileSync(tool('debugfs'), ['-w', '-R', 'rm /one', img], { stdio: 'ignore' });
    execFileSync(tool('debugfs'), ['-w', '-R', 'rm /direct', img], { stdio: 'ignore' });
    execFileSync(tool('debugfs'), ['-w', '-R', `write ${frag} frag`, img], { stdio: 'ignore' });
    const names = ['/empty', '/tiny', '/block', '/indirect', '/kernel', '/big', '/sparse', '/frag'];

    const { $, readByDebugfs } = counting();
    const fs = new DebugfsFs($, img, 0);
    await fs.probe();
    const heads = await fs.readHeads(names, HEAD);
    for (const n of names) {
      const size = (await fs.stat(n))?.size ?? -1;
      // debugfs's cat prints an inline file's whole inline area (lib/ext2fs/fileio.c
      // ext2fs_file_read_inline_data): the file is its first `size` bytes.
      const want = debugfsHead(img, n).subarray(0, size);
      const got = heads.get(n) ?? Buffer.alloc(0);
      // Buffer.compare: vitest's deep equality takes seconds on 256 KiB.
      expect(Buffer.compare(got, want), `${type} ${n}: ${got.length} bytes, debugfs ${want.length}`).toBe(0);
    }
    // Only what the map cannot say was read by debugfs: the hole, and the files inline in their inode.
    const inline = extra.length ? ['/empty', '/tiny'] : [];
    expect([...readByDebugfs].sort()).toEqual(['/sparse', ...inline].sort());
    const map = execFileSync(tool('debugfs'), ['-c', '-R', 'stat /frag', img], { encoding: 'utf8', stdio: 'pipe' });
    expect(parseBlockMap(map)?.length, map).toBeGreaterThan(1);
  });
});

it('reads a file inline in its inode as its size says, not its whole inline area (ext4 inline_data)', async () => {
  const dir = tempDir('xr-inline-');
  try {
    mkdirSync(path.join(dir, 'src/grub'), { recursive: true });
    writeFileSync(path.join(dir, 'src/grub/menu.lst'), 'default 0\ntimeout 5\n');
    const img = path.join(dir, 'inline.img');
    execFileSync(tool('mke2fs'), [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-O',
      'inline_data',
      '-d',
      path.join(dir, 'src'),
      img,
      '8M',
    ]);
    const fs = new DebugfsFs(localCommands(), img, 0);
    expect(await fs.stat('/grub/menu.lst')).toMatchObject({ size: 20, inlineData: true });
    expect((await fs.readFile('/grub/menu.lst', 4096)).toString()).toBe('default 0\ntimeout 5\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("a block map that points past the filesystem's end is not followed: debugfs reads that file", async () => {
  const dir = tempDir('xr-pastend-');
  try {
    mkdirSync(path.join(dir, 'src'));
    writeFileSync(path.join(dir, 'src/vmlinuz'), Buffer.alloc(4096, 0x4b));
    // An 8 MiB filesystem at the start of a 16 MiB image: block 9000 is in the image, past the
    // filesystem's end (a damaged or hostile inode pointing at another partition's bytes).
    const img = path.join(dir, 'ext2.img');
    writeFileSync(img, '');
    truncateSync(img, 16 * 1024 * 1024);
    execFileSync(tool('mke2fs'), ['-q', '-F', '-t', 'ext2', '-b', '1024', '-d', path.join(dir, 'src'), img, '8M']);
    execFileSync(tool('debugfs'), ['-w', '-R', 'set_inode_field /vmlinuz block[0] 9000', img], { stdio: 'ignore' });
    const { $, readByDebugfs } = counting();
    const fs = new DebugfsFs($, img, 0);
    await fs.probe();
    await fs.readHeads(['/vmlinuz'], HEAD);
    expect([...readByDebugfs]).toEqual(['/vmlinuz']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
