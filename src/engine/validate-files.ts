/**
 * What a path given on the command line is, where it lives (this machine, a --root tree, a host over
 * ssh), and bounded reads of it. A FIFO or a device is never opened for reading here: its type is
 * known first (stat, or `[ -f ]` over ssh), and a local open uses O_NONBLOCK and checks the type on
 * the open descriptor, so a FIFO with no writer cannot block the run.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { PlaybookError } from './errors.js';
import type { Transport } from './transport.js';

export type PathKind = 'file' | 'dir' | 'block' | 'char' | 'fifo' | 'socket' | 'other' | 'missing' | 'dangling';

export interface Probe {
  kind: PathKind;
  readable: boolean;
  /** Bytes, for a regular file. */
  size: number;
}

/** The words a refusal uses for what a path is. */
export const KIND_WORDS: Record<PathKind, string> = {
  file: 'a regular file',
  dir: 'a directory',
  block: 'a block device',
  char: 'a character device',
  fifo: 'a FIFO (named pipe)',
  socket: 'a socket',
  other: 'not a regular file',
  missing: 'not there (no such file)',
  dangling: 'a symbolic link to nothing',
};

/** Why a file was refused; the caller names the option and the value. */
export class FileRuleError extends Error {}

/** What `p` is (symbolic links followed), on this machine: `real` is the path already resolved. */
export async function probeLocal(real: string): Promise<Probe> {
  let s: import('node:fs').Stats;
  try {
    s = await fsp.stat(real);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const link = await fsp.lstat(real).catch(() => undefined);
      return { kind: link?.isSymbolicLink() ? 'dangling' : 'missing', readable: false, size: 0 };
    }
    if (code === 'ELOOP') throw new FileRuleError('too many levels of symbolic links');
    if (code === 'ENAMETOOLONG') throw new FileRuleError('the name is too long for the file system');
    if (code === 'EACCES') throw new FileRuleError('permission denied (a directory on the way cannot be searched)');
    throw new FileRuleError((e as Error).message);
  }
  const kind: PathKind = s.isFile()
    ? 'file'
    : s.isDirectory()
      ? 'dir'
      : s.isBlockDevice()
        ? 'block'
        : s.isCharacterDevice()
          ? 'char'
          : s.isFIFO()
            ? 'fifo'
            : s.isSocket()
              ? 'socket'
              : 'other';
  const readable = await fsp.access(real, fsc.R_OK).then(
    () => true,
    () => false,
  );
  return { kind, readable, size: kind === 'file' ? s.size : 0 };
}

/**
 * One round trip over ssh for every path: a line each with the type, whether it can be read, the
 * size. POSIX sh, `test` and `stat -L -c %s` (GNU coreutils and BusyBox both have them).
 */
const PROBE_SH = [
  'for p in "$@"; do',
  'if [ ! -e "$p" ]; then if [ -L "$p" ]; then echo dangling no 0; else echo missing no 0; fi; continue; fi',
  'if [ -b "$p" ]; then k=block; elif [ -c "$p" ]; then k=char; elif [ -p "$p" ]; then k=fifo;',
  'elif [ -S "$p" ]; then k=socket; elif [ -d "$p" ]; then k=dir; elif [ -f "$p" ]; then k=file; else k=other; fi',
  'r=no; [ -r "$p" ] && r=yes',
  's=0; if [ "$k" = file ]; then s=$(stat -L -c %s -- "$p" 2>/dev/null) || s=unknown; fi',
  'echo "$k $r $s"',
  'done',
].join('\n');

/** What each path is where the transport acts: a Probe, or the FileRuleError saying why it cannot be looked at. */
export async function probeAll(host: Transport, paths: readonly string[]): Promise<(Probe | FileRuleError)[]> {
  if (host.kind !== 'ssh') {
    return Promise.all(
      paths.map(async (p) => {
        try {
          return await probeLocal(await host.resolve(p));
        } catch (e) {
          if (e instanceof FileRuleError) return e;
          // --root: a path that leaves the tree (RefusedError) is a refusal of this input.
          if (e instanceof PlaybookError) return new FileRuleError(e.message);
          throw e;
        }
      }),
    );
  }
  if (!paths.length) return [];
  const r = await host.exec(['sh', '-c', PROBE_SH, 'sh', ...paths], { nothrow: true });
  const lines = r.stdout.split('\n');
  return paths.map((_, i) => {
    const [kind, readable, size] = (lines[i] ?? '').split(' ');
    if (!r.ok || !kind || !(kind in KIND_WORDS) || size === 'unknown') {
      return new FileRuleError(r.stderr.trim() || `cannot look at it (exit ${String(r.exitCode)})`);
    }
    return { kind: kind as PathKind, readable: readable === 'yes', size: Number(size) };
  });
}

/** What `p` is where the transport acts. */
export async function probe(host: Transport, p: string): Promise<Probe> {
  const [one] = await probeAll(host, [p]);
  if (one instanceof FileRuleError || one === undefined) throw one ?? new FileRuleError('cannot look at it');
  return one;
}

const READ_SH = [
  '[ -e "$1" ] || exit 3',
  'if [ "$3" = any ]; then [ -f "$1" ] || [ -b "$1" ] || exit 4; else [ -f "$1" ] || exit 4; fi',
  'exec head -c "$2" -- "$1" </dev/null',
].join('\n');

/**
 * At most `limit` bytes from the start of `p`: a regular file (or, with `blockDevices`, a block
 * device). Never opens a FIFO or a character device for reading; never reads past `limit`.
 */
export async function readHead(host: Transport, p: string, limit: number, blockDevices = false): Promise<Buffer> {
  if (host.kind === 'ssh') {
    const r = await host.exec(['sh', '-c', READ_SH, 'sh', p, String(limit), blockDevices ? 'any' : 'file'], {
      nothrow: true,
    });
    if (r.exitCode === 3) throw new FileRuleError('no such file');
    if (r.exitCode === 4) throw new FileRuleError('it is not a regular file: refused');
    if (!r.ok) throw new FileRuleError(r.stderr.trim() || `cannot read it (exit ${String(r.exitCode)})`);
    return r.bytes.subarray(0, limit);
  }
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fsp.open(await host.resolve(p), fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileRuleError('no such file');
    if (code === 'EACCES') throw new FileRuleError('permission denied');
    throw new FileRuleError((e as Error).message);
  }
  try {
    const s = await fh.stat();
    if (!s.isFile() && !(blockDevices && s.isBlockDevice()))
      throw new FileRuleError('it is not a regular file: refused');
    const buf = Buffer.alloc(limit);
    let got = 0;
    while (got < limit) {
      const { bytesRead } = await fh.read(buf, got, limit - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/**
 * The whole of a regular file of at most `maxBytes`: refused when larger (checked before the read,
 * and the read itself stops one byte past the bound, should the file grow meanwhile).
 */
export async function readBounded(host: Transport, p: string, maxBytes: number): Promise<Buffer> {
  const bytes = await readHead(host, p, maxBytes + 1);
  if (bytes.length > maxBytes) throw new FileRuleError(`it is larger than ${maxBytes} bytes`);
  return bytes;
}

/** ISO 9660 ("CD001") or UDF ("BEA01", "NSR02", "NSR03") volume descriptors, from 32 KiB on (ECMA-119 8.1, ECMA-167 2/9.1). */
export const ISO_HEAD_BYTES = 32768 + 2048 * 4;

export function isIsoImage(head: Buffer): boolean {
  for (let at = 32768; at + 6 <= head.length; at += 2048) {
    const id = head.subarray(at + 1, at + 6).toString('latin1');
    if (id === 'CD001' || id === 'BEA01' || id === 'NSR02' || id === 'NSR03') return true;
  }
  return false;
}
