import { spawn } from 'node:child_process';
import { StepError } from './errors.js';

/**
 * A lock held by a small process: util-linux `flock` takes an exclusive lock on a directory and
 * runs a shell that says `locked` and then waits for the end of its standard input. Closing that
 * input (release(), or this process dying: the pipe closes with it) ends the holder and frees the
 * lock. The same holder runs on this machine or on a host over ssh, where Node does not run.
 */
export interface HeldLock {
  /** What is locked, for messages. */
  readonly what: string;
  release(): Promise<void>;
}

/** How long to wait for another run's lock before giving up. */
export const LOCK_WAIT_SECONDS = 60;

/** The remote or local command: flock waits up to LOCK_WAIT_SECONDS, then the holder waits for EOF. */
export function lockArgv(dir: string): string[] {
  return ['flock', '-x', '-w', String(LOCK_WAIT_SECONDS), dir, 'sh', '-c', 'echo locked; exec cat >/dev/null'];
}

/**
 * Start the holder (`argv` runs lockArgv() here or through ssh). Resolves once the lock is held;
 * resolves `undefined` when flock is not installed where it runs (exit 127), so the caller can
 * say so and carry on without it.
 */
export function holdLock(argv: readonly string[], what: string): Promise<HeldLock | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let held = false;
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!held && out.includes('locked\n')) {
        held = true;
        resolve({
          what,
          async release() {
            child.stdin.end();
            await exited;
          },
        });
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (held) return;
      if (e.code === 'ENOENT') resolve(undefined);
      else reject(e);
    });
    // A holder that ends by itself after the lock was taken has freed it: nothing to do then.
    child.stdin.on('error', () => {});
    child.once('close', (code) => {
      if (held) return;
      if (code === 127 || /flock: (command )?not found|flock: No such file/i.test(err)) return resolve(undefined);
      if (code === 1 && err.trim() === '')
        return reject(
          new StepError(
            `${what} stayed locked by another run for ${LOCK_WAIT_SECONDS} s; nothing written`,
            'another playbook is editing files there: let it finish, then run this again',
          ),
        );
      reject(new StepError(`cannot lock ${what}: ${err.trim() || `flock exited with ${String(code)}`}`));
    });
  });
}
