/**
 * Where a file's data is in its filesystem, from the block map debugfs's `stat` prints, so that a
 * file's first bytes (a kernel's header) can be read from the image directly instead of by one
 * more debugfs process each. The formats are e2fsprogs' debugfs.c, the same from 1.42.9 to 1.47.3
 * (`git show v1.47.0:debugfs/debugfs.c`):
 * - block-mapped files (ext2, ext3): `BLOCKS:` then `(L):P` and `(L1-L2):P1-P2` runs of data
 *   blocks, and `(IND):P`, `(DIND):P`, `(TIND):P` for the indirect blocks (finish_range,
 *   list_blocks_proc);
 * - extent-mapped files (ext4): `EXTENTS:` then `(L):P`, `(L1-L2):P1-P2`, `[u]` after the logical
 *   range of an unwritten extent, and `(ETBn):P` for the extent tree's own blocks (dump_extents);
 * - inline data: `Size of inline data: N` and no map (dump_inline_data).
 * Anything else (a map that does not parse, a hole, an unwritten extent where the bytes are
 * wanted) gives no ranges, and the caller reads the file through debugfs as before.
 */

/** A run of data blocks: logical blocks [logical, logical + count) are at physical [physical, …). */
export interface BlockRun {
  logical: number;
  physical: number;
  count: number;
  /** An unwritten extent: it reads as zeros, whatever its blocks hold. */
  unwritten: boolean;
}

const RUN = /^\((\d+)(?:-(\d+))?(\[u\])?\):(\d+)(?:-(\d+))?$/;
const METADATA = /^\((?:IND|DIND|TIND|ETB\d+)\):\d+$/;

/** The data runs of the file whose `stat` output this is; undefined when it has no map that parses. */
export function parseBlockMap(statOutput: string): BlockRun[] | undefined {
  const lines = statOutput.split('\n');
  const at = lines.findIndex((l) => l === 'BLOCKS:' || l === 'EXTENTS:');
  if (at < 0) return undefined;
  const list = (lines[at + 1] ?? '').trim();
  // An empty file has a heading and no runs.
  if (list === '' || /^TOTAL:/.test(list)) return [];
  const runs: BlockRun[] = [];
  for (const item of list.split(', ')) {
    if (METADATA.test(item)) continue;
    const m = RUN.exec(item);
    if (!m) return undefined;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const physical = Number(m[4]);
    const physicalLast = m[5] === undefined ? physical : Number(m[5]);
    const count = last - first + 1;
    if (count < 1 || physicalLast - physical + 1 !== count) return undefined;
    runs.push({ logical: first, physical, count, unwritten: m[3] !== undefined });
  }
  return runs;
}

/**
 * The byte ranges, relative to the filesystem's start, that hold the file's first
 * min(size, bytes) bytes in order; undefined when a hole or an unwritten extent is among them
 * (those read as zeros, and debugfs says so better than a guess).
 */
export function headRanges(
  runs: readonly BlockRun[],
  size: number,
  bytes: number,
  blockSize: number,
): { offset: number; length: number }[] | undefined {
  let want = Math.min(size, bytes);
  const out: { offset: number; length: number }[] = [];
  let next = 0;
  for (const r of [...runs].sort((a, b) => a.logical - b.logical)) {
    if (want <= 0) break;
    if (r.logical !== next || r.unwritten) return undefined;
    const length = Math.min(r.count * blockSize, want);
    const last = out[out.length - 1];
    const offset = r.physical * blockSize;
    if (last && last.offset + last.length === offset) last.length += length;
    else out.push({ offset, length });
    want -= length;
    next = r.logical + r.count;
  }
  return want > 0 ? undefined : out;
}
