import { constants as fsc, promises as fsp } from 'node:fs';
import { currentIo } from './io.js';
import { UsageError } from './errors.js';

/**
 * Files that hold a secret (a password file given as an option). A secret file is a small
 * regular file: anything else is refused at once, before a byte is read.
 *
 * - It is opened with O_NONBLOCK, so a FIFO with no writer does not block the open (a blocked
 *   open holds a libuv thread, and then even SIGTERM cannot end the process), and its type is
 *   checked on the open descriptor: a FIFO, a device (/dev/zero, /dev/stdin on a terminal), a
 *   socket or a directory is refused.
 * - Its size is bounded (SECRET_MAX_BYTES) before and while it is read.
 */
export const SECRET_MAX_BYTES = 4096;

/** Standard input (`-`) waits this long for its end. */
export const SECRET_STDIN_TIMEOUT_MS = 60_000;

/** Why a file cannot be read as a secret; the caller names the option. */
export class SecretFileError extends Error {}

function kindOf(s: import('node:fs').Stats): string {
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  if (s.isDirectory()) return 'a directory';
  return 'not a regular file';
}

const tooBig = (max: number) =>
  new SecretFileError(`it is larger than ${max} bytes; a secret file holds the secret on one line`);

/** Read a secret file on this machine. Throws SecretFileError with the reason. */
export async function readLocalSecret(file: string, maxBytes = SECRET_MAX_BYTES): Promise<Buffer> {
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fsp.open(file, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SecretFileError('no such file');
    if (code === 'EACCES') throw new SecretFileError('permission denied');
    if (code === 'ENXIO') throw new SecretFileError('it is a socket or a device that cannot be opened: refused');
    throw new SecretFileError((e as Error).message);
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new SecretFileError(`it is ${kindOf(s)}, not a regular file: refused`);
    if (s.size > maxBytes) throw tooBig(maxBytes);
    const buf = Buffer.alloc(maxBytes + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > maxBytes) throw tooBig(maxBytes);
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** Read standard input to its end: at most maxBytes, within timeoutMs. */
export function readStdinSecret(
  maxBytes = SECRET_MAX_BYTES,
  timeoutMs = SECRET_STDIN_TIMEOUT_MS,
  stdin: NodeJS.ReadableStream & { destroy?: () => void } = currentIo().stdin,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onError);
      if (err) {
        stdin.pause();
        stdin.destroy?.();
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (c: Buffer | string) => {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
      size += b.length;
      if (size > maxBytes) return done(tooBig(maxBytes));
      chunks.push(b);
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(new SecretFileError(e.message));
    const timer = setTimeout(
      () => done(new SecretFileError(`standard input did not end within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    timer.unref();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
}

/**
 * The secret in `file` as text, for option `option` (`-`: standard input). `read` reads a file
 * where it lives (a transport's readSecret); without it the file is on this machine.
 * Every refusal is a UsageError (exit 2) naming the option and the file.
 */
export async function readSecretFile(
  file: string,
  option: string,
  read: (file: string, maxBytes: number) => Promise<Buffer> = readLocalSecret,
  maxBytes = SECRET_MAX_BYTES,
): Promise<string> {
  try {
    // Without a terminal nobody sees a prompt: say on stderr what the run waits for.
    const io = currentIo();
    if (file === '-' && !io.stdin.isTTY) io.err(`${option}: reading standard input…\n`);
    const bytes = file === '-' ? await readStdinSecret(maxBytes) : await read(file, maxBytes);
    return bytes.toString('utf8');
  } catch (e) {
    if (e instanceof SecretFileError) {
      throw new UsageError(`${option} ${file === '-' ? '- (standard input)' : file}: ${e.message}`);
    }
    throw e;
  }
}
