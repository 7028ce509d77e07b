/**
 * One debugfs process driven command by command: each command's result is read and checked
 * before the next one is sent, so a failed `cd` or `write` never lets a later command run.
 *
 * How the end of a command's output is found (e2fsprogs 1.47.0, debugfs/debugfs.c source_file):
 * with `-f -` debugfs reads a line, prints `debugfs: LINE` on stdout, runs it, and reports an
 * unknown command as `debugfs: Command not found LINE` on stderr (lib/ss/execute_cmd.c via
 * ss_perror). After each command a marker line that is no command is sent; once its echo is on
 * stdout and its complaint on stderr, everything the command printed on either stream has
 * arrived. stdout is a pipe, so debugfs is started under `stdbuf -oL` to have it line-buffered.
 *
 * Quoting (lib/ss/parse.c, ss_parse): words split on blanks; inside double quotes a doubled
 * quote stands for one; nothing else is special. A line cannot hold a newline or a NUL.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { tellProcess } from '../engine/index.js';
import { GuestFsError } from './guestfs-error.js';
import { hostArgv, isRemote, type DiskHost } from './host-io.js';
import { crypto } from '../engine/builtins.js';

/** One argument of a debugfs command line, quoted by ss's rules. */
export function dq(arg: string): string {
  if (/[\n\r\u0000]/.test(arg)) throw new GuestFsError(`cannot pass ${JSON.stringify(arg)} to debugfs`, 'bad-path');
  return `"${arg.replace(/"/g, '""')}"`;
}

export interface DebugfsReply {
  command: string;
  /** What the command printed on stdout (its echo left out). */
  out: string;
  /** What it printed on stderr. */
  err: string;
}

export interface SessionOptions {
  /** `IMAGE?offset=N`. */
  device: string;
  write: boolean;
  /** debugfs -z: the old contents of every block it overwrites go to this file first. */
  undoFile?: string;
  /** Milliseconds one command may take before debugfs is killed. */
  timeoutMs?: number;
  /**
   * Where debugfs runs: this machine (the default) or a host over ssh. Over ssh the remote shell
   * says debugfs's process id first, so that kill() stops debugfs itself: closing the connection
   * alone would give it an end of input, and debugfs would close the filesystem as if done.
   */
  host?: DiskHost;
}

const BANNER = /^debugfs [\d.]+ \([^)]*\)\n/;

export class DebugfsSession {
  private out = '';
  private err = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private waiter: (() => void) | undefined;
  private readonly nonce = crypto().randomBytes(6).toString('hex');
  private seq = 0;
  /** debugfs's process id on the remote host (ssh only). */
  private remotePid: number | undefined;
  private remoteKill: Promise<void> | undefined;
  /** Every command sent, with its reply: what the caller reports when something fails. */
  readonly log: DebugfsReply[] = [];
  /** What debugfs printed on stderr while opening the filesystem (its banner). */
  private openingErr = '';
  private told = false;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly opts: SessionOptions,
    /** debugfs's command line on the host. */
    private readonly argv: readonly string[],
  ) {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
      this.waiter?.();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.err += d;
      this.waiter?.();
    });
    child.on('close', (code, signal) => {
      this.exited = { code, signal };
      this.waiter?.();
    });
    child.stdin.on('error', () => undefined);
  }

  /** Start debugfs on the device; throws when it cannot open the filesystem as asked. */
  static async open(opts: SessionOptions): Promise<DebugfsSession> {
    const argv = ['stdbuf', '-oL', 'debugfs', ...(opts.write ? ['-w'] : ['-c'])];
    if (opts.undoFile) argv.push('-z', opts.undoFile);
    argv.push('-f', '-', opts.device);
    const ssh = isRemote(opts.host) ? opts.host : undefined;
    const local = ssh ? await hostArgv(ssh, ['sh', '-c', 'echo "xr-pid $$"; exec "$@"', 'sh', ...argv]) : argv;
    const child = spawn(local[0] as string, local.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new DebugfsSession(child, opts, argv);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new GuestFsError(`cannot start debugfs: ${e.message}`, 'open')));
    });
    // The first marker collects what debugfs printed while opening.
    const opening = await s.exchange(undefined);
    s.openingErr = opening.err;
    if (ssh) {
      const pid = /^xr-pid (\d+)$/m.exec(opening.out)?.[1];
      if (!pid) {
        s.kill();
        throw new GuestFsError(
          `debugfs did not start on ${ssh.label}: ${opening.err.trim().split('\n')[0] ?? ''}`,
          'open',
        );
      }
      s.remotePid = Number(pid);
    }
    const openErr = opening.err.replace(BANNER, '').trim();
    if (openErr) {
      s.kill();
      const ro = /Read-only file system|Operation not permitted|Permission denied/.test(openErr);
      throw new GuestFsError(
        ro && opts.write
          ? `the image cannot be opened for writing (${openErr.split('\n')[0]}): it is read-only (a read-only device or mount, or an immutable file)`
          : `debugfs cannot open ${opts.device}: ${openErr.split('\n')[0]}`,
        ro && opts.write ? 'read-only' : 'open',
      );
    }
    if (opts.write) {
      // debugfs says how it opened the filesystem (debugfs.c, do_show_debugfs_params).
      const p = await s.exchange('params');
      if (!/^Open mode: read-write$/m.test(p.out)) {
        s.kill();
        throw new GuestFsError(
          `debugfs opened ${opts.device} read-only although asked to write (${/^Open mode: .*$/m.exec(p.out)?.[0] ?? 'no open mode reported'})`,
          'read-only',
        );
      }
    }
    return s;
  }

  /** Send one command (or only a marker) and wait for everything it printed. */
  private async exchange(command: string | undefined): Promise<DebugfsReply> {
    if (this.exited) throw this.gone(command ?? '(start)');
    const mark = `xr-end-${this.nonce}-${this.seq++}`;
    if (command !== undefined && /[\n\r\u0000]/.test(command))
      throw new GuestFsError(`a debugfs command cannot hold a line break: ${JSON.stringify(command)}`, 'bad-path');
    const outEnd = `debugfs: ${mark}\n`;
    const errEnd = `debugfs: Command not found ${mark}\n`;
    this.child.stdin.write(`${command === undefined ? '' : `${command}\n`}${mark}\n`);
    const timeout = this.opts.timeoutMs ?? 120_000;
    const started = Date.now();
    for (;;) {
      const o = this.out.indexOf(outEnd);
      const e = this.err.indexOf(errEnd);
      if (o >= 0 && e >= 0) {
        let out = this.out.slice(0, o);
        const err = this.err.slice(0, e);
        this.out = this.out.slice(o + outEnd.length);
        this.err = this.err.slice(e + errEnd.length);
        if (command !== undefined) {
          const echo = `debugfs: ${command}\n`;
          // Everything before the echo was printed while opening (the undo notice).
          const at = out.indexOf(echo);
          if (at < 0) throw new GuestFsError(`debugfs did not echo ${JSON.stringify(command)}`, 'io');
          out = out.slice(at + echo.length);
        }
        const reply = { command: command ?? '', out, err };
        if (command !== undefined) this.log.push(reply);
        return reply;
      }
      if (this.exited) throw this.gone(command ?? '(start)');
      if (Date.now() - started > timeout) {
        this.kill();
        throw new GuestFsError(`debugfs did not answer ${JSON.stringify(command)} within ${timeout} ms`, 'io');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  private gone(command: string): GuestFsError {
    const how = this.exited?.signal ? `was killed (${this.exited.signal})` : `exited (${this.exited?.code})`;
    const err = this.err.replace(BANNER, '').trim().split('\n')[0];
    return new GuestFsError(`debugfs ${how} during ${JSON.stringify(command)}${err ? `: ${err}` : ''}`, 'write');
  }

  /** Run a command; anything on stderr is a failure, reported with the command. */
  async run(command: string): Promise<DebugfsReply> {
    const r = await this.exchange(command);
    const err = r.err.trim();
    if (err) throw new GuestFsError(`debugfs ${command}: ${err.split('\n').join('; ')}`, 'write');
    return r;
  }

  /** End the session: debugfs writes its bitmaps and superblock and exits; any complaint fails. */
  async close(): Promise<void> {
    if (this.exited) throw this.gone('(close)');
    this.child.stdin.end();
    await new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      this.child.once('close', () => resolve());
    });
    const err = this.err.trim();
    const ex = this.exited as { code: number | null; signal: NodeJS.Signals | null } | undefined;
    this.tell(ex?.code ?? null, err);
    if (ex?.signal || err)
      throw new GuestFsError(
        `debugfs failed while closing the filesystem: ${err || `killed (${ex?.signal})`}`,
        'write',
      );
  }

  kill(): void {
    this.tell(null);
    const host = this.opts.host;
    if (this.remotePid !== undefined && host && !this.remoteKill) {
      // debugfs on the host first (if it still is debugfs), then the ssh client here.
      const script =
        'p=$1; [ "$(cat /proc/$p/comm 2>/dev/null)" = debugfs ] || exit 0; kill -9 "$p"; ' +
        'i=0; while [ -d /proc/$p ] && [ $i -lt 100 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done';
      this.remoteKill = host
        .exec(['sh', '-c', script, 'sh', String(this.remotePid)], { nothrow: true })
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          if (!this.exited) this.child.kill('SIGKILL');
        });
      return;
    }
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /**
   * The session as one command, once it ends, for the run's record (the runbook pages): its
   * command line, the commands it was sent as its input, and what debugfs printed, as with `-f -`.
   */
  private tell(exitCode: number | null, closing = ''): void {
    if (this.told) return;
    this.told = true;
    tellProcess({
      argv: this.argv,
      exitCode,
      input: this.log.map((r) => `${r.command}\n`).join(''),
      stdout: this.log.map((r) => `debugfs: ${r.command}\n${r.out}`).join(''),
      stderr: this.openingErr + this.log.map((r) => r.err).join('') + (closing ? `${closing}\n` : ''),
    });
  }

  /** Wait for the process to be gone (after kill()). */
  async ended(): Promise<void> {
    await this.remoteKill;
    if (this.exited) return;
    await new Promise<void>((resolve) => this.child.once('close', () => resolve()));
  }
}
