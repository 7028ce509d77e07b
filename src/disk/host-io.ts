/**
 * The image and the files beside it (undo records, the MBR backup, debugfs's scratch files) live
 * on the host the playbook works on. On this machine (and under --root, whose paths are resolved
 * before they get here) they are read with Node; over ssh through the remote shell, a few bytes
 * at a time with dd, so that nothing reads the whole image across the connection.
 *
 * The remote side needs only POSIX sh, dd, stat -c, cat, mktemp, mv and rm: GNU coreutils and
 * BusyBox both have them (BusyBox 1.35: dd's bs/skip/seek/count/conv=notrunc, stat -L -c).
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CommandError, LocalTransport, type Transport } from '../engine/index.js';
import { GuestFsError } from './guestfs-error.js';

/** The transport disk code uses for a path already resolved on the host (see `diskHost`). */
export type DiskHost = Transport;

const LOCAL = new LocalTransport();

/**
 * The transport through which already resolved paths are reached: the ssh transport itself, or
 * this machine (under --root, `ctx.host.resolve` has already mapped the path into DIR).
 */
export function diskHost(t: Transport | undefined): DiskHost {
  return t?.kind === 'ssh' ? t : LOCAL;
}

export const isRemote = (h: DiskHost | undefined) => h?.kind === 'ssh';

/**
 * The argv that starts ARGV on the host: as it is on this machine, through the ssh transport's
 * `remoteArgv` (its quiet-shell check first) over --host. For a process the caller keeps
 * talking to, which `exec` cannot run.
 */
export function hostArgv(h: DiskHost | undefined, argv: readonly string[]): Promise<string[]> {
  if (!isRemote(h)) return Promise.resolve([...argv]);
  return (h as DiskHost & { remoteArgv(a: readonly string[]): Promise<string[]> }).remoteArgv(argv);
}

/** What stat(2) says of a path, links followed. */
export interface HostFileInfo {
  type: 'file' | 'block' | 'dir' | 'other';
  size: number;
  /** st_dev, decimal. */
  dev: string;
  ino: string;
  /** For a block device, `major:minor` (decimal) of the device it is. */
  rdev?: string;
}

/** stat(2) with links followed; undefined when nothing is there (or a link points nowhere). */
export async function statFollow(h: DiskHost, p: string): Promise<HostFileInfo | undefined> {
  if (!isRemote(h)) {
    const st = await fsp.stat(p, { bigint: true }).catch(() => undefined);
    if (!st) return undefined;
    const type = st.isFile() ? 'file' : st.isBlockDevice() ? 'block' : st.isDirectory() ? 'dir' : 'other';
    const rdev = type === 'block' ? `${majorOf(st.rdev)}:${minorOf(st.rdev)}` : undefined;
    return { type, size: Number(st.size), dev: String(st.dev), ino: String(st.ino), ...(rdev ? { rdev } : {}) };
  }
  const r = await h.exec(['sh', '-c', 'stat -L -c "%f|%s|%d|%i|%t|%T" -- "$1" 2>/dev/null || echo missing', 'sh', p]);
  return parseStatLine(r.stdout.trim());
}

/** One line of `stat -L -c "%f|%s|%d|%i|%t|%T"` (raw mode in hex; major and minor in hex). */
export function parseStatLine(line: string): HostFileInfo | undefined {
  const f = line.split('|');
  if (f.length !== 6) return undefined;
  const mode = parseInt(f[0] as string, 16) & 0o170000;
  const type = mode === 0o100000 ? 'file' : mode === 0o060000 ? 'block' : mode === 0o040000 ? 'dir' : 'other';
  const rdev = type === 'block' ? `${parseInt(f[4] as string, 16)}:${parseInt(f[5] as string, 16)}` : undefined;
  return { type, size: Number(f[1]), dev: f[2] as string, ino: f[3] as string, ...(rdev ? { rdev } : {}) };
}

function majorOf(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}
function minorOf(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}

/** The dd block size that divides both the offset and the length (at most 64 KiB). */
function blockFor(offset: number, length: number): number {
  let bs = 65536;
  while (bs > 1 && (offset % bs !== 0 || length % bs !== 0)) bs /= 2;
  return bs;
}

/** Up to `length` bytes at `offset` (fewer at the end of the file). */
export async function readBytesAt(h: DiskHost, file: string, offset: number, length: number): Promise<Buffer> {
  if (!isRemote(h)) {
    const fh = await fsp.open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }
  const bs = blockFor(offset, length);
  const r = await h.exec(['dd', `if=${file}`, `bs=${bs}`, `skip=${offset / bs}`, `count=${length / bs}`]);
  return r.bytes;
}

/** Write `data` at `offset` in place (the file is not truncated), then flush it to the disk. */
export async function writeBytesAt(h: DiskHost, file: string, offset: number, data: Buffer): Promise<void> {
  if (!isRemote(h)) {
    const fh = await fsp.open(file, 'r+');
    try {
      const { bytesWritten } = await fh.write(data, 0, data.length, offset);
      if (bytesWritten !== data.length) throw new GuestFsError(`short write into ${file} at ${offset}`, 'io');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return;
  }
  const bs = blockFor(offset, data.length);
  // conv=fsync is in GNU and BusyBox dd; sync after it for the hosts whose dd lacks it.
  await h.exec(
    [
      'sh',
      '-c',
      'dd of="$1" bs="$2" seek="$3" count="$4" conv=notrunc,fsync 2>/dev/null && sync',
      'sh',
      file,
      String(bs),
      String(offset / bs),
      String(data.length / bs),
    ],
    { input: data },
  );
  const back = await readBytesAt(h, file, offset, data.length);
  if (!back.equals(data)) throw new GuestFsError(`${file} does not read back as written at offset ${offset}`, 'io');
}

/**
 * Can the image be opened for writing? Refused when it is read-only (a read-only device or
 * mount, an immutable file): nothing is written then.
 */
export async function assertWritable(h: DiskHost, image: string): Promise<void> {
  let code: string | undefined;
  if (!isRemote(h)) {
    try {
      const fh = await fsp.open(image, fsc.O_RDWR);
      await fh.close();
    } catch (e) {
      code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EROFS' && code !== 'EPERM' && code !== 'EACCES') throw e;
    }
  } else {
    // `<>` opens read-write without truncating (POSIX sh); the shell says why it could not.
    const r = await h.exec(['sh', '-c', ': 1<>"$1"', 'sh', image], { nothrow: true });
    if (!r.ok) {
      if (/Read-only file system/i.test(r.stderr)) code = 'EROFS';
      else if (/Operation not permitted/i.test(r.stderr)) code = 'EPERM';
      else if (/Permission denied/i.test(r.stderr)) code = 'EACCES';
      else throw new CommandError(`open ${image} read-write (on ${h.label})`, r.exitCode, r.stdout, r.stderr);
    }
  }
  if (code)
    throw new GuestFsError(
      `${image} cannot be opened for writing (${code}): it is read-only (a read-only device or mount, or an immutable file); nothing was written`,
      'read-only',
    );
}

/** A private scratch directory on the host (mode 0700), removed by the returned function. */
export async function scratchDir(h: DiskHost, prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  if (!isRemote(h)) {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    return { dir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
  }
  const r = await h.exec(['sh', '-c', 'mktemp -d "${TMPDIR:-/tmp}/$1XXXXXXXX"', 'sh', prefix]);
  const dir = r.stdout.trim();
  if (!dir.startsWith('/')) throw new GuestFsError(`mktemp -d on ${h.label} printed ${JSON.stringify(r.stdout)}`, 'io');
  return {
    dir,
    async remove() {
      await h.exec(['rm', '-rf', '--', dir], { nothrow: true });
    },
  };
}

/** Make sure what was renamed into `dir` reaches the disk (the directory synced; over ssh, sync). */
export async function syncDirectory(h: DiskHost, dir: string): Promise<void> {
  if (!isRemote(h)) {
    const fh = await fsp.open(dir, fsc.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return;
  }
  await h.exec(['sync'], { nothrow: true });
}

/** Which of the paths exist (lstat), in one round trip over ssh. */
export async function existing(h: DiskHost, paths: readonly string[]): Promise<Set<string>> {
  if (!isRemote(h)) {
    const out = new Set<string>();
    for (const p of paths) if (await h.exists(p)) out.add(p);
    return out;
  }
  const r = await h.exec([
    'sh',
    '-c',
    'for p; do if [ -e "$p" ] || [ -L "$p" ]; then echo y; else echo n; fi; done',
    'sh',
    ...paths,
  ]);
  const said = r.stdout.split('\n');
  return new Set(paths.filter((_, i) => said[i] === 'y'));
}

/** A file's bytes, then the file removed (one round trip over ssh). */
export async function takeFile(h: DiskHost, file: string): Promise<Buffer> {
  if (!isRemote(h)) {
    const b = await fsp.readFile(file);
    await fsp.rm(file, { force: true });
    return b;
  }
  return (await h.exec(['sh', '-c', 'cat -- "$1" && rm -f -- "$1"', 'sh', file])).bytes;
}

/** scratchDir with one file `name` holding `data` in it (mode 0600), in one round trip over ssh. */
export async function scratchWith(
  h: DiskHost,
  prefix: string,
  name: string,
  data: Buffer,
): Promise<{ dir: string; remove(): Promise<void> }> {
  if (!isRemote(h)) {
    const s = await scratchDir(h, prefix);
    await fsp.writeFile(path.join(s.dir, name), data, { mode: 0o600 });
    return s;
  }
  const script = 'umask 077; d=$(mktemp -d "${TMPDIR:-/tmp}/$1XXXXXXXX") && cat > "$d/$2" && echo "$d"';
  const r = await h.exec(['sh', '-c', script, 'sh', prefix, name], { input: data });
  const dir = r.stdout.trim();
  if (!dir.startsWith('/')) throw new GuestFsError(`mktemp -d on ${h.label} printed ${JSON.stringify(r.stdout)}`, 'io');
  return {
    dir,
    async remove() {
      await h.exec(['rm', '-rf', '--', dir], { nothrow: true });
    },
  };
}
