/**
 * Reading and writing files inside a guest's filesystem, given the image and the byte offset
 * of the partition.
 *
 * - `DebugfsFs` (the default): e2fsprogs' debugfs on `IMAGE?offset=N`, in user space. Nothing is
 *   mounted into the host kernel, no loop device is made, a hostile filesystem meets only
 *   libext2fs in a short-lived process. Reads use catastrophic mode (`-c`: no bitmaps), so their
 *   cost does not grow with the filesystem's size.
 * - `MountFs` (`--backend mount`): `losetup -o OFFSET --sizelimit` + `mount` read-only (nosuid,
 *   nodev, noexec; ext3/4 with `noload` so no journal is replayed), remounted read-write only to
 *   write. Every path is resolved inside the mount point: a guest symlink cannot lead out.
 *   `close()` unmounts and detaches; the caller registers it as a cleanup.
 */
import { link, lstat, mkdtemp, open, rename, rm, rmdir, statfs, readFile as fsReadFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandFn, CommandResult } from '../engine/index.js';
import { RootTransport } from '../engine/index.js';
import { GuestFsError, checkGuestPath } from './guestfs-error.js';
import { recoverInterrupted, removeGuestFile, replaceGuestFile, tempName } from './image-write.js';
import type { Recovery } from './undo.js';
import { diskHost, isRemote, readBytesAt, type DiskHost } from './host-io.js';
import { headRanges, parseBlockMap, type BlockRun } from './debugfs-blockmap.js';

export interface GuestStat {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /**
   * The file's bytes are in its inode (ext4 inline_data). debugfs's `cat` then prints the whole
   * inline area, not `size` bytes (ext2fs_file_read_inline_data, lib/ext2fs/fileio.c).
   */
  inlineData?: true;
}

/** A filesystem inside the image, seen from the host. Guest paths are absolute (`/grub/grub.cfg`). */
export interface GuestFs {
  readonly backend: 'debugfs' | 'mount';
  /** What to show the administrator: `vm01.img?offset=1048576`. */
  readonly label: string;
  /** lstat: the last component is not followed. undefined when nothing is there. */
  stat(p: string): Promise<GuestStat | undefined>;
  /** Several lstat()s at once (a backend may do them in one go). */
  statMany?(paths: readonly string[]): Promise<(GuestStat | undefined)[]>;
  /** Names in a directory (without . and ..), or undefined when it is not a directory. */
  readdir(p: string): Promise<string[] | undefined>;
  /** A regular file's bytes; refuses anything larger than `limit`. */
  readFile(p: string, limit: number): Promise<Buffer>;
  /**
   * The first `bytes` of a regular file the caller has already stat'ed (a kernel's header): over
   * ssh only those bytes cross the connection, not the whole kernel.
   */
  readHead?(p: string, bytes: number): Promise<Buffer>;
  /**
   * The first `bytes` of several regular files at once (a backend may read them in one go): those
   * that are regular files; the others are left out (readFile says why).
   */
  readHeads?(paths: readonly string[], bytes: number): Promise<Map<string, Buffer>>;
  /**
   * Replace a regular file's contents, keeping its mode and owner: the new contents go to a new
   * file first, then take the old one's name. With `backup`, `FILE.orig` is made first unless it
   * exists. Returns the backup's path when one was made.
   */
  replaceFile(p: string, data: Buffer, opts: { backup: boolean }): Promise<string | undefined>;
  /** Remove a regular file (used by --restore for the backup once it is put back). */
  removeFile(p: string): Promise<void>;
  close(): Promise<void>;
}

export { GuestFsError, checkGuestPath } from './guestfs-error.js';

const q = (p: string) => `"${checkGuestPath(p)}"`;
export class DebugfsFs implements GuestFs {
  readonly backend = 'debugfs' as const;
  readonly device: string;
  readonly label: string;

  constructor(
    readonly $: CommandFn,
    /** The image file or block device, as an absolute host path (no `?`). */
    readonly image: string,
    readonly offset: number,
    /** Where undo records of writes into block devices are kept (default /var/lib/xen-runbooks/undo). */
    readonly stateDir?: string,
    /** The host the image is on, when it is not this machine (commands already go there through `$`). */
    readonly host?: DiskHost,
  ) {
    if (image.includes('?')) throw new GuestFsError(`debugfs cannot open a path containing '?': ${image}`, 'bad-path');
    this.device = `${path.resolve(image)}?offset=${offset}`;
    this.label = `${image}?offset=${offset}`;
  }

  /**
   * What stat found, per path, until this filesystem is written: the diagnosis looks at the same
   * files more than once (a kernel's stat, then its bytes), and each look is a debugfs process.
   */
  private readonly stats = new Map<string, GuestStat | undefined>();
  /** Where each file stat found keeps its data (debugfs-blockmap.ts), for reading a head from the image. */
  private readonly maps = new Map<string, BlockRun[] | undefined>();
  /** The filesystem's block size and count, once probed. */
  private geometry: { blockSize: number; blockCount: number } | undefined;
  /** Off while this filesystem is written: a write looks again at what it changed, and must see it. */
  private caching = true;

  /** Run a write with the stat cache off, and forget what it held once the write ends. */
  private async writing<T>(fn: () => Promise<T>): Promise<T> {
    this.caching = false;
    this.stats.clear();
    this.maps.clear();
    try {
      return await fn();
    } finally {
      this.stats.clear();
      this.maps.clear();
      this.caching = true;
    }
  }

  private async request(req: string): Promise<CommandResult> {
    const r = await this.$({ nothrow: true })`debugfs -c -R ${req} ${this.device}`;
    this.refuseUnopened(r);
    return r;
  }

  /** Throws GuestFsError('open') when debugfs could not open the filesystem. */
  private refuseUnopened(r: CommandResult): void {
    const err = complaints(r);
    if (
      /while (trying to open|opening filesystem)|Could not open|Bad magic number|Superblock checksum|corrupt/i.test(
        err,
      ) ||
      (r.exitCode !== 0 && !r.stdout)
    ) {
      throw new GuestFsError(
        `debugfs cannot open the filesystem at offset ${this.offset}: ${firstLine(err) || `exit ${r.exitCode}`}`,
        'open',
      );
    }
  }

  /**
   * Open the filesystem once: throws GuestFsError('open') when it is not a readable ext2/3/4.
   * LOOKFOR are paths the caller stats next (the places pygrub looks for a config): they are
   * looked up in the same debugfs process, one process (over --host, one round trip) less.
   */
  async probe(lookFor: readonly string[] = []): Promise<{ blockSize: number; blockCount: number; features: string[] }> {
    const paths = this.caching ? [...new Set(lookFor)].filter((p) => !this.stats.has(p)) : [];
    if (!paths.length) return this.probed(this.superblock((await this.request('stats -h')).stdout));
    const requests = ['stats -h', ...paths.map((p) => `stat ${q(p)}`)];
    const r = await this.batch(requests);
    this.refuseUnopened(r);
    const sections = splitBatch(r.stdout, requests);
    if (!sections) return this.probe();
    const [head, ...stats] = sections;
    const found = this.superblock(head ?? '');
    this.lookupErrors(r);
    paths.forEach((p, i) => this.remember(p, stats[i] ?? ''));
    return this.probed(found);
  }

  private probed<T extends { blockSize: number; blockCount: number }>(sb: T): T {
    this.geometry = { blockSize: sb.blockSize, blockCount: sb.blockCount };
    return sb;
  }

  /** What a `stat` of P printed, kept while caching (not while this filesystem is written). */
  private parsed(p: string, statOutput: string): GuestStat | undefined {
    return this.caching ? this.remember(p, statOutput) : parseStat(statOutput);
  }

  /** What a `stat` of P printed, kept: the inode, and where its data is. */
  private remember(p: string, statOutput: string): GuestStat | undefined {
    const st = parseStat(statOutput);
    this.stats.set(p, st);
    this.maps.set(p, st?.type === 'file' ? parseBlockMap(statOutput) : undefined);
    return st;
  }

  private superblock(stats: string): { blockSize: number; blockCount: number; features: string[] } {
    const bs = /^Block size:\s+(\d+)/m.exec(stats);
    const bc = /^Block count:\s+(\d+)/m.exec(stats);
    const feat = /^Filesystem features:\s+(.*)$/m.exec(stats);
    if (!bs || !bc) throw new GuestFsError(`debugfs could not read the superblock at offset ${this.offset}`, 'open');
    return {
      blockSize: Number(bs[1]),
      blockCount: Number(bc[1]),
      features: (feat?.[1] ?? '').trim().split(/\s+/).filter(Boolean),
    };
  }

  /** Requests run by one debugfs process (`-f -`, one a line). */
  private batch(requests: readonly string[]): Promise<CommandResult> {
    return this.$({ nothrow: true, input: `${requests.join('\n')}\n` })`debugfs -c -f - ${this.device}`;
  }

  /** A batch of lookups: a path that is not there is an answer, anything else a damaged filesystem. */
  private lookupErrors(r: CommandResult): void {
    const err = complaints(r);
    const other = err.split('\n').filter((l) => l && !/File not found by ext2_lookup/.test(l));
    if (other.length) throw new GuestFsError(`debugfs: ${other[0]}`, 'io');
  }

  async stat(p: string): Promise<GuestStat | undefined> {
    if (this.caching && this.stats.has(p)) return this.stats.get(p);
    return this.statUncached(p);
  }

  private async statUncached(p: string): Promise<GuestStat | undefined> {
    const r = await this.request(`stat ${q(p)}`);
    const err = complaints(r);
    if (!/^Inode:/m.test(r.stdout)) {
      if (!err || /File not found by ext2_lookup/.test(err)) return undefined;
      // Anything else (a missing inode table, a bad directory block) is a damaged filesystem.
      throw new GuestFsError(`debugfs cannot look up ${p}: ${firstLine(err).replace(/^.*?: /, '')}`, 'io');
    }
    const st = this.parsed(p, r.stdout);
    if (!st) throw new GuestFsError(`unexpected debugfs output for stat ${p}`, 'io');
    return st;
  }

  /**
   * Many lstat()s in one debugfs process (`-f -`, one `stat` per line): what looking for a
   * config in pygrub's thirteen places costs. Falls back to one process per path when the
   * output cannot be split unambiguously (a symlink target that mimics debugfs's prompt).
   */
  async statMany(paths: readonly string[]): Promise<(GuestStat | undefined)[]> {
    if (!this.caching) return this.statManyUncached(paths);
    const unknown = [...new Set(paths.filter((p) => !this.stats.has(p)))];
    if (unknown.length) await this.statManyUncached(unknown);
    return paths.map((p) => this.stats.get(p));
  }

  private async statManyUncached(paths: readonly string[]): Promise<(GuestStat | undefined)[]> {
    const lines = paths.map((p) => `stat ${q(p)}`);
    const r = await this.batch(lines);
    const err = complaints(r);
    if (/while (trying to open|opening filesystem)|Could not open|Bad magic number/i.test(err)) {
      throw new GuestFsError(`debugfs cannot open the filesystem at offset ${this.offset}: ${firstLine(err)}`, 'open');
    }
    this.lookupErrors(r);
    const sections = splitBatch(r.stdout, lines);
    if (!sections) {
      const one: (GuestStat | undefined)[] = [];
      for (const p of paths) one.push(await this.statUncached(p));
      return one;
    }
    return sections.map((out, i) => this.parsed(paths[i] as string, out));
  }

  async readdir(p: string): Promise<string[] | undefined> {
    const st = await this.stat(p);
    if (st?.type !== 'dir') return undefined;
    const r = await this.request(`ls -p ${q(p)}`);
    const names: string[] = [];
    for (const line of r.stdout.split('\n')) {
      // /INODE/MODE/UID/GID/NAME/SIZE/
      const m = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
      if (!m || m[1] === '0') continue;
      const name = m[5] as string;
      if (name !== '.' && name !== '..') names.push(name);
    }
    return names.sort();
  }

  async readFile(p: string, limit: number): Promise<Buffer> {
    const st = await this.stat(p);
    if (!st) throw new GuestFsError(`${p} does not exist in ${this.label}`, 'not-found');
    if (st.type !== 'file') throw new GuestFsError(`${p} is a ${st.type}, not a regular file`, 'not-file');
    if (st.size > limit)
      throw new GuestFsError(`${p} is ${st.size} bytes, more than the ${limit} this reads`, 'too-large');
    const r = await this.request(`cat ${q(p)}`);
    // An inline file comes with the rest of its inline area after it.
    if (st.inlineData && r.bytes.length > st.size) return r.bytes.subarray(0, st.size);
    if (r.bytes.length !== st.size) {
      throw new GuestFsError(
        `reading ${p} gave ${r.bytes.length} bytes, its inode says ${st.size}: the filesystem is damaged`,
        'io',
      );
    }
    return r.bytes;
  }

  async readHead(p: string, bytes: number): Promise<Buffer> {
    // head closes the pipe once it has its bytes; debugfs then stops on SIGPIPE (its status is not the pipeline's).
    const script = 'debugfs -c -R "$1" "$2" 2>/dev/null | head -c "$3"';
    const r = await this.$`sh -c ${script} sh ${`cat ${q(p)}`} ${this.device} ${bytes}`;
    // Not past the file's end: an inline file comes with the rest of its inline area.
    const size = this.caching ? this.stats.get(p)?.size : undefined;
    return size === undefined ? r.bytes : r.bytes.subarray(0, size);
  }

  /**
   * readHead of many files. On this machine each head is read from the image at the blocks
   * debugfs's `stat` listed (debugfs-blockmap.ts): no process at all. The others (over --host, a
   * file with a hole or inline data, a map that did not parse) are read by one command, each
   * file's head as long as its inode says, up to `bytes`; output that does not add up is read
   * again one file at a time.
   */
  async readHeads(paths: readonly string[], bytes: number): Promise<Map<string, Buffer>> {
    const wanted = [...new Set(paths)];
    const stats = await this.statMany(wanted);
    const files = wanted.filter((_, i) => stats[i]?.type === 'file');
    const out = new Map<string, Buffer>();
    const rest: string[] = [];
    for (const p of files) {
      const head = await this.headFromImage(p, bytes);
      if (head) out.set(p, head);
      else rest.push(p);
    }
    if (rest.length) for (const [p, head] of await this.headsByDebugfs(rest, bytes)) out.set(p, head);
    return new Map(files.map((p) => [p, out.get(p) as Buffer]));
  }

  /** The head of P read from the image itself, where stat found its blocks; undefined otherwise. */
  private async headFromImage(p: string, bytes: number): Promise<Buffer | undefined> {
    const runs = this.caching ? this.maps.get(p) : undefined;
    const size = this.stats.get(p)?.size;
    const fs = this.geometry;
    if (isRemote(this.host) || !runs || size === undefined || !fs) return undefined;
    // A block past the filesystem's end is damage (or a trap): debugfs says which.
    if (runs.some((r) => r.physical + r.count > fs.blockCount)) return undefined;
    const ranges = headRanges(runs, size, bytes, fs.blockSize);
    if (!ranges) return undefined;
    const parts: Buffer[] = [];
    for (const r of ranges) {
      const got = await readBytesAt(diskHost(this.host), path.resolve(this.image), this.offset + r.offset, r.length);
      if (got.length !== r.length) return undefined;
      parts.push(got);
    }
    return Buffer.concat(parts);
  }

  private async headsByDebugfs(files: readonly string[], bytes: number): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const lengths = files.map((p) => Math.min(this.stats.get(p)?.size ?? 0, bytes));
    const script = 'dev=$1; n=$2; shift 2; for r; do debugfs -c -R "$r" "$dev" 2>/dev/null | head -c "$n"; done';
    const requests = files.map((p) => `cat ${q(p)}`);
    const r = await this.$`sh -c ${script} sh ${this.device} ${bytes} ${requests}`;
    if (r.bytes.length !== lengths.reduce((a, b) => a + b, 0)) {
      for (const p of files) out.set(p, await this.readHead(p, bytes));
      return out;
    }
    let at = 0;
    for (const [i, p] of files.entries()) {
      const n = lengths[i] ?? 0;
      out.set(p, r.bytes.subarray(at, at + n));
      at += n;
    }
    return out;
  }

  /** See image-write.ts: checked before writing, written under a temporary name, undo record kept. */
  async replaceFile(p: string, data: Buffer, opts: { backup: boolean }): Promise<string | undefined> {
    return this.writing(() => replaceGuestFile(this, p, data, opts));
  }

  async removeFile(p: string): Promise<void> {
    return this.writing(() => removeGuestFile(this, p));
  }

  /** Roll back what an interrupted earlier write left (its undo record), before anything is read. */
  async recover(opts: { dryRun?: boolean } = {}): Promise<Recovery> {
    return this.writing(() => recoverInterrupted(this, opts));
  }

  async close(): Promise<void> {}
}

/** debugfs `stat` output → GuestStat (undefined when it holds no inode). */
function parseStat(out: string): GuestStat | undefined {
  const type = /Type:\s+(\w+)/.exec(out)?.[1];
  const mode = /Mode:\s+(\d+)/.exec(out)?.[1];
  const size = /Size:\s+(\d+)/.exec(out)?.[1];
  const user = /User:\s+(\d+)/.exec(out)?.[1];
  const group = /Group:\s+(\d+)/.exec(out)?.[1];
  if (!/^Inode:/m.test(out) || !type || size === undefined) return undefined;
  return {
    type: type === 'regular' ? 'file' : type === 'directory' ? 'dir' : type === 'symlink' ? 'symlink' : 'other',
    size: Number(size),
    mode: parseInt(mode ?? '0', 8),
    uid: Number(user ?? 0),
    gid: Number(group ?? 0),
    // dump_inline_data (debugfs.c) prints this line for an inode with EXT4_INLINE_DATA_FL.
    ...(/^Size of inline data: \d+$/m.test(out) ? { inlineData: true as const } : {}),
  };
}

/** What debugfs printed on stderr besides its version banner. */
function complaints(r: CommandResult): string {
  return r.stderr.replace(/^debugfs [\d.]+ \([^)]*\)\n?/m, '').trim();
}

/**
 * The output of a `debugfs -f -` batch, one section per request: debugfs echoes each request as
 * `debugfs: REQUEST` before its output. Undefined when the echoes do not line up one to one (an
 * output line that mimics the prompt: a symlink's target can).
 */
function splitBatch(stdout: string, requests: readonly string[]): string[] | undefined {
  const out = stdout.split('\n');
  const markers = out.map((l, i) => (l.startsWith('debugfs: ') ? i : -1)).filter((i) => i >= 0);
  if (markers.length !== requests.length || markers.some((m, k) => out[m] !== `debugfs: ${requests[k]}`))
    return undefined;
  return markers.map((m, k) => out.slice(m + 1, markers[k + 1] ?? out.length).join('\n'));
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

/**
 * Until the kernel has let go of loop device $1 (its sysfs backing_file gone), at most 10 s.
 * `losetup --detach` returns once the device is marked to be cleared at its last close
 * (drivers/block/loop.c: loop_clr_fd sets LO_FLAGS_AUTOCLEAR, lo_release clears it), not once it
 * is: a run that ended there had `losetup -j IMAGE` still naming the image, on a loaded machine.
 */
const UNTIL_DETACHED =
  'f=/sys/block/$1/loop/backing_file; i=0; while [ -e "$f" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done';

/** `--backend mount`: a loop device at the partition's offset, mounted read-only until a write. */
export class MountFs implements GuestFs {
  readonly backend = 'mount' as const;
  readonly label: string;
  loopDevice: string | undefined;
  mountPoint: string | undefined;
  private root: RootTransport | undefined;
  private writable = false;
  private closed = false;

  constructor(
    private readonly $: CommandFn,
    readonly image: string,
    readonly offset: number,
    readonly sizeLimit: number,
    /** The filesystem type for mount -t (ext2, ext3, ext4, xfs, btrfs, vfat) or undefined for auto. */
    readonly fsType: string | undefined,
    /** Called with each undo action as soon as there is something to undo. */
    private readonly onCleanup: (fn: () => Promise<void>) => void,
  ) {
    this.label = `${image} at offset ${offset} (mounted)`;
  }

  /** Attach the loop device and mount read-only. */
  async open(): Promise<void> {
    this.onCleanup(() => this.close());
    const r = await this
      .$`losetup --find --show --read-only --offset ${this.offset} --sizelimit ${this.sizeLimit} ${this.image}`;
    this.loopDevice = r.stdout.trim();
    if (!/^\/dev\/loop\d+$/.test(this.loopDevice))
      throw new GuestFsError(`losetup printed ${JSON.stringify(r.stdout)}`, 'open');
    this.mountPoint = await mkdtemp(path.join(os.tmpdir(), 'xr-pygrub-mnt-'));
    const options =
      this.fsType === 'ext3' || this.fsType === 'ext4' ? 'ro,nosuid,nodev,noexec,noload' : 'ro,nosuid,nodev,noexec';
    const type = this.fsType ? ['-t', this.fsType] : [];
    const m = await this.$({ nothrow: true })`mount ${type} -o ${options} ${this.loopDevice} ${this.mountPoint}`;
    if (!m.ok) {
      throw new GuestFsError(`mount ${this.loopDevice} failed: ${firstLine(m.stderr) || `exit ${m.exitCode}`}`, 'open');
    }
    this.mounted = true;
    this.root = new RootTransport(this.mountPoint);
  }
  private mounted = false;

  private host(): RootTransport {
    if (!this.root) throw new GuestFsError('the filesystem is not mounted', 'io');
    return this.root;
  }

  async stat(p: string): Promise<GuestStat | undefined> {
    checkGuestPath(p);
    // lstat: the parent is resolved inside the mount point, the last component is not followed.
    const parent = await this.host().resolve(path.posix.dirname(p));
    try {
      const s = await lstat(path.join(parent, path.posix.basename(p)));
      const type = s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
      return { type, size: s.size, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
        return undefined;
      throw e;
    }
  }

  async readdir(p: string): Promise<string[] | undefined> {
    checkGuestPath(p);
    const st = await this.stat(p);
    if (st?.type !== 'dir') return undefined;
    return this.host().readdir(p);
  }

  async readFile(p: string, limit: number): Promise<Buffer> {
    const st = await this.stat(p);
    if (!st) throw new GuestFsError(`${p} does not exist`, 'not-found');
    if (st.type !== 'file') throw new GuestFsError(`${p} is a ${st.type}, not a regular file`, 'not-file');
    if (st.size > limit)
      throw new GuestFsError(`${p} is ${st.size} bytes, more than the ${limit} this reads`, 'too-large');
    return fsReadFile(await this.host().resolve(p));
  }

  private async makeWritable(): Promise<void> {
    if (this.writable) return;
    // The loop device was attached read-only: attach a writable one is not possible in place,
    // so unmount, re-attach read-write and mount again.
    await this.unmountAndDetach();
    const r = await this.$`losetup --find --show --offset ${this.offset} --sizelimit ${this.sizeLimit} ${this.image}`;
    this.loopDevice = r.stdout.trim();
    const type = this.fsType ? ['-t', this.fsType] : [];
    await this.$`mount ${type} -o nosuid,nodev,noexec ${this.loopDevice} ${this.mountPoint as string}`;
    this.mounted = true;
    this.writable = true;
  }

  /**
   * The same guarantees as the debugfs write where they apply: checked first (a regular file in
   * a real directory, FILE.orig absent or a regular file, free space and an inode), the new
   * contents written to a temporary name, synced and read back, FILE.orig a hard link to the
   * original (the first time only), then rename(2) over the name and the directory synced.
   */
  async replaceFile(p: string, data: Buffer, opts: { backup: boolean }): Promise<string | undefined> {
    checkGuestPath(p);
    const dir = path.posix.dirname(p);
    const name = path.posix.basename(p);
    await this.assertRealDirectory(dir);
    const st = await this.stat(p);
    if (!st) throw new GuestFsError(`${p} does not exist in the guest filesystem`, 'not-found');
    if (st.type !== 'file') throw new GuestFsError(`${p} is a ${st.type}, not a regular file: refused`, 'unsafe');
    const orig = await this.stat(`${p}.orig`);
    if (orig && orig.type !== 'file')
      throw new GuestFsError(
        `${p}.orig exists and is a ${orig.type === 'dir' ? 'directory' : orig.type}, not a backup: move it away, then run again (nothing was written)`,
        'unsafe',
      );
    const mnt = this.mountPoint as string;
    const fsStat = await statfs(mnt);
    const need = BigInt(data.length) + 4n * BigInt(fsStat.bsize);
    if (BigInt(fsStat.bavail) * BigInt(fsStat.bsize) < need || fsStat.ffree < 1) {
      throw new GuestFsError(
        `the guest filesystem is too full to write ${p} safely: it needs ${need} bytes and 1 inode free, it has ${BigInt(fsStat.bavail) * BigInt(fsStat.bsize)} and ${fsStat.ffree} (nothing was written)`,
        'no-space',
      );
    }
    await this.makeWritable();
    const real = path.join(mnt, p);
    const tmp = path.join(mnt, dir, tempName(name));
    await rm(tmp, { force: true });
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.chown(st.uid, st.gid);
      await fh.chmod(st.mode & 0o7777);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (!(await fsReadFile(tmp)).equals(data)) {
      await rm(tmp, { force: true });
      throw new GuestFsError(`${p}: the new contents do not read back as written; nothing replaced`, 'write');
    }
    const makeBackup = opts.backup && !orig;
    if (makeBackup) await link(real, `${real}.orig`);
    await rename(tmp, real);
    await syncDirectory(path.join(mnt, dir));
    if (!(await fsReadFile(real)).equals(data)) throw new GuestFsError(`${p} does not read back as written`, 'write');
    return makeBackup ? `${p}.orig` : undefined;
  }

  async removeFile(p: string): Promise<void> {
    checkGuestPath(p);
    await this.assertRealDirectory(path.posix.dirname(p));
    const st = await this.stat(p);
    if (!st) return;
    if (st.type !== 'file') throw new GuestFsError(`${p} is not a regular file`, 'not-file');
    await this.makeWritable();
    const mnt = this.mountPoint as string;
    await rm(path.join(mnt, p));
    await syncDirectory(path.join(mnt, path.posix.dirname(p)));
  }

  /** No symlink on the way to a directory a write goes into. */
  private async assertRealDirectory(dir: string): Promise<void> {
    let at = '';
    for (const part of dir.split('/').filter(Boolean)) {
      at += `/${part}`;
      const st = await this.stat(at);
      if (st?.type === 'symlink')
        throw new GuestFsError(
          `${at} is a symbolic link inside the guest: writing through it is refused (nothing was written); point the tool at the real directory`,
          'unsafe',
        );
      if (st?.type !== 'dir') throw new GuestFsError(`${at} is not a directory in the guest filesystem`, 'unsafe');
    }
  }

  private async unmountAndDetach(): Promise<void> {
    if (this.mounted && this.mountPoint) {
      const u = await this.$({ nothrow: true })`umount ${this.mountPoint}`;
      if (!u.ok) throw new GuestFsError(`umount ${this.mountPoint} failed: ${firstLine(u.stderr)}`, 'io');
      this.mounted = false;
    }
    if (this.loopDevice) {
      const d = await this.$({ nothrow: true })`losetup --detach ${this.loopDevice}`;
      if (!d.ok) throw new GuestFsError(`losetup --detach ${this.loopDevice} failed: ${firstLine(d.stderr)}`, 'io');
      await this.$({ nothrow: true })`sh -c ${UNTIL_DETACHED} sh ${path.basename(this.loopDevice)}`;
      this.loopDevice = undefined;
    }
  }

  /** Unmount, detach, remove the mount point. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.unmountAndDetach();
    if (this.mountPoint) await rmdir(this.mountPoint).catch(() => undefined);
    this.closed = true;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
