import { constants as fsc, mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatCommand, shellQuote } from './command.js';
import { decodeBytes } from './bytes.js';
import { spawnArgv } from './spawn.js';
import { currentIo } from './io.js';
import { CommandError, RefusedError, StepError } from './errors.js';
import { holdLock, lockArgv, type HeldLock } from './lock.js';
import { readLocalSecret, SecretFileError } from './secret.js';
import { crypto } from './builtins.js';

export interface RunOptions {
  /** Data for the command's standard input. */
  input?: string | Buffer;
  /** Do not throw when the command exits non-zero: look at `exitCode`. */
  nothrow?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
}

export interface CommandResult {
  argv: string[];
  /** The command as a person would type it. */
  command: string;
  exitCode: number | null;
  ok: boolean;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output. */
  bytes: Buffer;
}

export interface FileStat {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

export type TransportKind = 'local' | 'root' | 'ssh';

/** A file's bytes and who it was when they were read: device, inode, mtime and size. */
export interface FileSnapshot {
  bytes: Buffer;
  /** `dev:ino:mtime:size` as the transport sees them; compared only with the same transport's. */
  identity: string;
}

/** Where the playbook acts: this machine, a tree standing for a host (--root), or a host over ssh. */
export interface Transport {
  readonly kind: TransportKind;
  /** For messages: `this host`, `root /srv/rescue`, `ssh root@xcp1`. */
  readonly label: string;
  /** Run a command. Arguments are passed as they are: never re-split by a shell. */
  exec(argv: readonly string[], opts?: RunOptions): Promise<CommandResult>;
  /** The path through which a host path is reached (under --root: resolved inside DIR, escapes refused). */
  resolve(p: string): Promise<string>;
  /** lstat: undefined when nothing is there. */
  stat(p: string): Promise<FileStat | undefined>;
  exists(p: string): Promise<boolean>;
  readFile(p: string): Promise<Buffer>;
  /** The file's text, or undefined when it does not exist. Bytes that are not UTF-8 are kept (see bytes.ts). */
  readText(p: string): Promise<string | undefined>;
  /** The file's bytes and identity, read together; undefined when it does not exist. */
  snapshot(p: string): Promise<FileSnapshot | undefined>;
  /**
   * An exclusive lock on a directory (flock), held until released or until this process ends.
   * Undefined when flock is not installed there.
   */
  lockDir(p: string): Promise<HeldLock | undefined>;
  /**
   * A secret file's bytes: refused (SecretFileError) unless it is a regular file of at most
   * maxBytes; never blocks on a FIFO or reads a device (see secret.ts).
   */
  readSecret(p: string, maxBytes: number): Promise<Buffer>;
  /** Temporary file and rename in the same directory; an existing file's mode and owner are kept. */
  writeFileAtomic(p: string, data: string | Buffer, opts?: { mode?: number }): Promise<void>;
  /** Copy FILE to FILE.orig unless FILE.orig exists. Returns the backup's path when one was made. */
  backup(p: string): Promise<string | undefined>;
  mkdir(p: string): Promise<void>;
  symlink(target: string, p: string): Promise<void>;
  readlink(p: string): Promise<string | undefined>;
  readdir(p: string): Promise<string[] | undefined>;
  rename(from: string, to: string): Promise<void>;
  remove(p: string): Promise<void>;
  close(): Promise<void>;
}

export type CommandObserver = (argv: readonly string[], transport: Transport) => void;

/** Runs a command on this machine from its argv, with no shell: an argument is never re-split or expanded. */
export async function execLocal(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  if (argv.length === 0) throw new TypeError('empty command');
  const answered = currentIo().answer?.(argv);
  if (answered) return resultOf(argv, answered.code, Buffer.from(answered.stdout), answered.stderr, opts);
  const r = await spawnArgv(argv, {
    input: opts.input,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    timeoutMs: opts.timeoutMs,
  });
  return resultOf(argv, r.exitCode, r.stdout, r.stderr, opts);
}

function resultOf(
  argv: readonly string[],
  exitCode: number | null,
  bytes: Buffer,
  stderr: string,
  opts: RunOptions,
): CommandResult {
  const result: CommandResult = {
    argv: [...argv],
    command: formatCommand(argv),
    exitCode,
    ok: exitCode === 0,
    stdout: bytes.toString('utf8'),
    stderr,
    bytes,
  };
  if (!result.ok && !opts.nothrow) {
    if (exitCode === 127 || /command not found/.test(stderr)) {
      throw new StepError(`command not found: ${argv[0]} (while running: ${result.command})`);
    }
    throw new CommandError(result.command, exitCode, result.stdout, result.stderr);
  }
  return result;
}

function identityOf(s: import('node:fs').BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.mtimeNs}:${s.size}`;
}

function statOf(s: import('node:fs').Stats): FileStat {
  const type = s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  return { type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size };
}

const isNotFound = (e: unknown) =>
  (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR';

/** This machine: host paths are used as they are. */
export class LocalTransport implements Transport {
  readonly kind: TransportKind = 'local';
  readonly label: string = 'this host';
  constructor(protected readonly observe?: CommandObserver) {}

  exec(argv: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    this.observe?.(argv, this);
    return execLocal(argv, opts);
  }
  async resolve(p: string): Promise<string> {
    return path.resolve(p);
  }
  async stat(p: string): Promise<FileStat | undefined> {
    try {
      return statOf(await fsp.lstat(await this.resolve(p)));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  async exists(p: string): Promise<boolean> {
    return (await this.stat(p)) !== undefined;
  }
  async readFile(p: string): Promise<Buffer> {
    return fsp.readFile(await this.resolve(p));
  }
  async readText(p: string): Promise<string | undefined> {
    try {
      return decodeBytes(await fsp.readFile(await this.resolve(p)));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  async snapshot(p: string): Promise<FileSnapshot | undefined> {
    let fh: import('node:fs/promises').FileHandle;
    try {
      fh = await fsp.open(await this.resolve(p), 'r');
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    try {
      // Read until the file holds still: the same identity before and after the read.
      for (let attempt = 0; ; attempt++) {
        const before = identityOf(await fh.stat({ bigint: true }));
        const bytes = await fh.readFile();
        const after = identityOf(await fh.stat({ bigint: true }));
        if (before === after || attempt >= 4) return { bytes, identity: after };
        await fh.close();
        fh = await fsp.open(await this.resolve(p), 'r');
      }
    } finally {
      await fh.close().catch(() => {});
    }
  }
  async lockDir(p: string): Promise<HeldLock | undefined> {
    return holdLock(lockArgv(await this.resolve(p)), `${p} (${this.label})`);
  }
  async readSecret(p: string, maxBytes: number): Promise<Buffer> {
    return readLocalSecret(await this.resolve(p), maxBytes);
  }
  async writeFileAtomic(p: string, data: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
    await writeAtomicLocal(await this.resolve(p), data, opts.mode);
  }
  async backup(p: string): Promise<string | undefined> {
    const real = await this.resolve(p);
    const orig = `${real}.orig`;
    try {
      await fsp.lstat(orig);
      return undefined;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const before = await fsp.stat(real);
    await writeAtomicLocal(orig, await fsp.readFile(real), before.mode & 0o7777, { uid: before.uid, gid: before.gid });
    return `${p}.orig`;
  }
  async mkdir(p: string): Promise<void> {
    await fsp.mkdir(await this.resolve(p), { recursive: true });
  }
  async symlink(target: string, p: string): Promise<void> {
    await fsp.symlink(target, await this.resolveParent(p));
  }
  async readlink(p: string): Promise<string | undefined> {
    try {
      return await fsp.readlink(await this.resolveParent(p));
    } catch (e) {
      if (isNotFound(e) || (e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw e;
    }
  }
  async readdir(p: string): Promise<string[] | undefined> {
    try {
      return (await fsp.readdir(await this.resolve(p))).sort();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(await this.resolveParent(from), await this.resolveParent(to));
  }
  async remove(p: string): Promise<void> {
    await fsp.rm(await this.resolveParent(p), { force: true });
  }
  /** The path with its last component left unresolved (for lstat-like operations on links). */
  protected async resolveParent(p: string): Promise<string> {
    return path.join(await this.resolve(path.dirname(p)), path.basename(p));
  }
  async close(): Promise<void> {}
}

/** Write `data` to `file` through a temporary file in the same directory and a rename. */
export async function writeAtomicLocal(
  file: string,
  data: string | Buffer,
  mode?: number,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const dir = path.dirname(file);
  let keep: { mode: number; uid: number; gid: number } | undefined;
  try {
    const s = await fsp.stat(file);
    keep = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const wantMode = mode ?? keep?.mode ?? 0o644;
  const wantOwner = owner ?? (keep ? { uid: keep.uid, gid: keep.gid } : undefined);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto().randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    await fh.writeFile(data);
    if (wantOwner) {
      const s = await fh.stat();
      if (s.uid !== wantOwner.uid || s.gid !== wantOwner.gid) {
        try {
          await fh.chown(wantOwner.uid, wantOwner.gid);
        } catch (e) {
          throw new StepError(
            `cannot keep the owner of ${file} (${wantOwner.uid}:${wantOwner.gid}): ${(e as Error).message}; run as root`,
          );
        }
      }
    }
    await fh.chmod(wantMode);
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * `--root DIR`: every host path is resolved inside DIR as if DIR were `/` (absolute symlinks
 * point into DIR). A path that would leave DIR, through `..` or a symlink, is refused.
 * Commands still run on this machine.
 */
export class RootTransport extends LocalTransport {
  override readonly kind: TransportKind = 'root';
  override readonly label: string;
  constructor(
    readonly root: string,
    observe?: CommandObserver,
  ) {
    super(observe);
    this.root = path.resolve(root);
    this.label = `root ${this.root}`;
  }

  override async resolve(p: string): Promise<string> {
    const refuse = () => new RefusedError(`path ${p} leaves the --root directory ${this.root}: refused`);
    const pending = p.split('/').filter((c) => c !== '' && c !== '.');
    const done: string[] = [];
    let links = 0;
    while (pending.length) {
      const c = pending.shift() as string;
      if (c === '..') {
        if (done.length === 0) throw refuse();
        done.pop();
        continue;
      }
      const here = path.join(this.root, ...done, c);
      let st: import('node:fs').Stats | undefined;
      try {
        st = await fsp.lstat(here);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (st?.isSymbolicLink()) {
        if (++links > 40) throw new RefusedError(`too many symbolic links under ${this.root} resolving ${p}`);
        const target = await fsp.readlink(here);
        if (target.startsWith('/')) done.length = 0;
        pending.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
        continue;
      }
      done.push(c);
    }
    return path.join(this.root, ...done);
  }

  override async symlink(target: string, p: string): Promise<void> {
    // The link's target is stored as given: it means the same inside the tree as on the host.
    await fsp.symlink(target, await this.resolveParent(p));
  }
}

export interface SshTarget {
  destination: string;
  configFile?: string;
}

/** What the first command over ssh prints, and nothing else, when the remote shell is quiet. */
const QUIET_SHELL_SENTINEL = 'xen-runbooks:quiet-shell';

/**
 * `--host USER@HOST`: the system's OpenSSH client, BatchMode (never a password prompt),
 * host keys checked against known_hosts. Each command is quoted for the remote POSIX shell;
 * files are read and written through that shell, so the host needs no Node.
 */
export class SshTransport implements Transport {
  readonly kind: TransportKind = 'ssh';
  readonly label: string;
  constructor(
    readonly target: SshTarget,
    private readonly observe?: CommandObserver,
  ) {
    this.label = `ssh ${target.destination}`;
  }

  /** A private directory for the shared connection's socket (one per run). */
  private controlDir: string | undefined;

  private baseArgv(): string[] {
    // The socket's path must fit sun_path (108 bytes): DIR/xr-ssh-XXXXXX/%C (40) and ssh's own
    // 17-character suffix leave 32 bytes for DIR; a longer TMPDIR would make every connection fail.
    this.controlDir ??= mkdtempSync(path.join(tmpdir().length <= 32 ? tmpdir() : '/tmp', 'xr-ssh-'));
    return [
      'ssh',
      ...(this.target.configFile ? ['-F', this.target.configFile] : []),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'LogLevel=ERROR',
      // One connection for the whole run: the first command opens it, the others reuse it,
      // close() ends it, and it ends by itself a few seconds after a crash.
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${path.join(this.controlDir, '%C')}`,
      '-o',
      'ControlPersist=15',
    ];
  }

  private sshArgv(remote: readonly string[]): string[] {
    return [...this.baseArgv(), '--', this.target.destination, formatCommand(remote)];
  }

  /** The first command's check that the host's shell adds nothing to what commands print. */
  private quiet: Promise<void> | undefined;

  /**
   * Every command runs through the login shell of the remote user, and bash reads ~/.bashrc for
   * a command sshd runs (shell.c run_startup_files). Whatever that prints lands in every
   * command's output, which the playbooks read byte for byte (a partition table, a config, JSON):
   * a shell that adds anything is refused before the first command, with the way out.
   */
  private async checkQuietShell(): Promise<void> {
    const r = await execLocal(this.sshArgv(['printf', '%s', QUIET_SHELL_SENTINEL]), { nothrow: true });
    this.throwIfUnreached(r);
    if (r.stdout === QUIET_SHELL_SENTINEL) return;
    const extra = r.stdout.replace(QUIET_SHELL_SENTINEL, '').trim().slice(0, 120);
    throw new StepError(
      `the shell of ${this.target.destination} prints ${JSON.stringify(extra)} besides each command's own output (a ~/.bashrc or /etc/bash.bashrc that prints when ssh runs a command): the playbooks read command output byte for byte and would misread it; nothing was run`,
      'make the shell print nothing when it is not interactive, e.g. first in ~/.bashrc: [ -z "$PS1" ] && return; then check that ' +
        `ssh ${shellQuote(this.target.destination)} true prints nothing`,
    );
  }

  private throwIfUnreached(r: { exitCode: number | null; stderr: string }): void {
    if (r.exitCode !== 255) return;
    throw new StepError(
      `ssh to ${this.target.destination} failed: ${r.stderr.trim() || 'no answer'}`,
      'check that the host key is in known_hosts and that key-based login works: ssh ' +
        shellQuote(this.target.destination) +
        ' true',
    );
  }

  /**
   * The argv that runs REMOTE on the host, once its shell is known to be quiet: every process of
   * the run over ssh starts from it, the commands and the ones the caller keeps talking to (a lock
   * holder, a debugfs session).
   */
  async remoteArgv(remote: readonly string[]): Promise<string[]> {
    this.quiet ??= this.checkQuietShell();
    await this.quiet;
    return this.sshArgv(remote);
  }

  async exec(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const local = await this.remoteArgv(argv);
    this.observe?.(argv, this);
    const r = await execLocal(local, { ...opts, nothrow: true });
    const result = { ...r, argv: [...argv], command: formatCommand(argv) };
    this.throwIfUnreached(r);
    if (!result.ok && !opts.nothrow) {
      if (r.exitCode === 127) throw new StepError(`command not found on ${this.target.destination}: ${argv[0]}`);
      throw new CommandError(`${result.command} (on ${this.target.destination})`, r.exitCode, r.stdout, r.stderr);
    }
    return result;
  }

  /** Run a small POSIX sh script with positional arguments ($1, $2, …). */
  private sh(script: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return this.exec(['sh', '-c', script, 'sh', ...args], opts);
  }

  async resolve(p: string): Promise<string> {
    return p;
  }
  async stat(p: string): Promise<FileStat | undefined> {
    const r = await this.sh(
      'if [ -e "$1" ] || [ -L "$1" ]; then stat -c "%f %u %g %s" -- "$1"; else echo missing; fi',
      [p],
    );
    const out = r.stdout.trim();
    if (out === 'missing') return undefined;
    const [rawMode, uid, gid, size] = out.split(' ');
    const m = parseInt(rawMode ?? '0', 16);
    const fmt = m & 0o170000;
    const type = fmt === 0o120000 ? 'symlink' : fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'dir' : 'other';
    return { type, mode: m & 0o7777, uid: Number(uid), gid: Number(gid), size: Number(size) };
  }
  async exists(p: string): Promise<boolean> {
    return (await this.stat(p)) !== undefined;
  }
  async readFile(p: string): Promise<Buffer> {
    return (await this.exec(['cat', '--', p])).bytes;
  }
  async readText(p: string): Promise<string | undefined> {
    const r = await this.sh('if [ -e "$1" ]; then cat -- "$1"; else exit 3; fi', [p], { nothrow: true });
    if (r.exitCode === 3) return undefined;
    if (!r.ok)
      throw new CommandError(`cat ${shellQuote(p)} (on ${this.target.destination})`, r.exitCode, r.stdout, r.stderr);
    return decodeBytes(r.bytes);
  }
  async snapshot(p: string): Promise<FileSnapshot | undefined> {
    // One round trip: the identity on the first line, then the bytes; again when it moved meanwhile.
    const script =
      '[ -e "$1" ] || exit 3; s() { stat -L -c "%d:%i:%y:%s" -- "$1"; }; a=$(s "$1") || exit 4; ' +
      'printf "%s\\n" "$a"; cat -- "$1" || exit 4; b=$(s "$1") || exit 4; [ "$a" = "$b" ] || exit 5';
    for (let attempt = 0; ; attempt++) {
      const r = await this.sh(script, [p], { nothrow: true });
      if (r.exitCode === 3) return undefined;
      if (r.exitCode === 5 && attempt < 4) continue;
      if (!r.ok && r.exitCode !== 5)
        throw new CommandError(`cat ${shellQuote(p)} (on ${this.target.destination})`, r.exitCode, r.stdout, r.stderr);
      const nl = r.bytes.indexOf(0x0a);
      return { identity: r.bytes.subarray(0, nl).toString('utf8'), bytes: r.bytes.subarray(nl + 1) };
    }
  }
  async lockDir(p: string): Promise<HeldLock | undefined> {
    return holdLock(await this.remoteArgv(lockArgv(p)), `${p} (${this.label})`);
  }
  async readSecret(p: string, maxBytes: number): Promise<Buffer> {
    // The type and size are checked before head reads it: a FIFO or a device is never opened.
    const script = [
      '[ -e "$1" ] || exit 3',
      '[ -f "$1" ] || exit 4',
      's=$(stat -L -c %s -- "$1") || exit 6',
      '[ "$s" -le "$2" ] || exit 5',
      'exec head -c "$(($2 + 1))" -- "$1" </dev/null',
    ].join('\n');
    const r = await this.sh(script, [p, String(maxBytes)], { nothrow: true });
    if (r.exitCode === 3) throw new SecretFileError('no such file');
    if (r.exitCode === 4)
      throw new SecretFileError('it is not a regular file (a FIFO, a device or a directory): refused');
    if (r.exitCode === 5 || (r.ok && r.bytes.length > maxBytes))
      throw new SecretFileError(`it is larger than ${maxBytes} bytes; a secret file holds the secret on one line`);
    if (!r.ok) throw new SecretFileError(r.stderr.trim() || `cannot read it (exit ${String(r.exitCode)})`);
    return r.bytes;
  }
  async writeFileAtomic(p: string, data: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
    const script = [
      'set -e',
      'f=$1; d=$(dirname -- "$f"); t=$(mktemp "$d/.xr.XXXXXXXX")',
      'trap \'rm -f "$t"\' EXIT',
      'cat > "$t"',
      // Owner before mode: chown clears the set-user-ID and set-group-ID bits. `stat -c` and numeric
      // chown/chmod are what GNU coreutils and BusyBox both have (BusyBox has no --reference).
      'if [ -e "$f" ]; then chown "$(stat -L -c %u:%g -- "$f")" -- "$t"; chmod "$(stat -L -c %a -- "$f")" -- "$t"; else chmod "$2" -- "$t"; fi',
      'if [ -n "$3" ]; then chmod "$3" -- "$t"; fi',
      'sync -- "$t" 2>/dev/null || true',
      'mv -f -- "$t" "$f"',
      'trap - EXIT',
    ].join('\n');
    await this.sh(script, [p, '644', opts.mode !== undefined ? opts.mode.toString(8) : ''], { input: data });
  }
  async backup(p: string): Promise<string | undefined> {
    const r = await this.sh(
      'if [ -e "$1.orig" ] || [ -L "$1.orig" ]; then echo kept; else cp -p -- "$1" "$1.orig" && echo made; fi',
      [p],
    );
    return r.stdout.trim() === 'made' ? `${p}.orig` : undefined;
  }
  async mkdir(p: string): Promise<void> {
    await this.exec(['mkdir', '-p', '--', p]);
  }
  async symlink(target: string, p: string): Promise<void> {
    await this.exec(['ln', '-s', '--', target, p]);
  }
  async readlink(p: string): Promise<string | undefined> {
    const r = await this.exec(['readlink', '--', p], { nothrow: true });
    return r.ok ? r.stdout.replace(/\n$/, '') : undefined;
  }
  async readdir(p: string): Promise<string[] | undefined> {
    const r = await this.sh('[ -d "$1" ] || exit 3; ls -A1 -- "$1"', [p], { nothrow: true });
    if (r.exitCode === 3) return undefined;
    if (!r.ok) throw new CommandError(`ls ${shellQuote(p)}`, r.exitCode, r.stdout, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  }
  async rename(from: string, to: string): Promise<void> {
    await this.exec(['mv', '-f', '--', from, to]);
  }
  async remove(p: string): Promise<void> {
    await this.exec(['rm', '-f', '--', p]);
  }
  async close(): Promise<void> {
    if (!this.controlDir) return;
    await execLocal([...this.baseArgv(), '-O', 'exit', '--', this.target.destination], { nothrow: true });
    rmSync(this.controlDir, { recursive: true, force: true });
    this.controlDir = undefined;
  }
}
