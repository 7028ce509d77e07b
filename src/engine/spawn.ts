/**
 * Runs one command on this machine from its argv, with no shell in between: each argument
 * reaches the program exactly as it is, whatever it holds (spaces, quotes, `$(…)`, a leading
 * dash is still the program's to read). A missing program answers as a shell would (exit 127,
 * "command not found"), one that cannot be executed with 126, so callers and messages do not
 * depend on how the command was started.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';

export interface SpawnOptions {
  /** Standard input; without it the command reads an empty input (never the terminal). */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** SIGTERM after this many milliseconds. */
  timeoutMs?: number;
}

export interface SpawnResult {
  /** null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Exit codes a POSIX shell gives a command it could not start (XCU 2.8.2). */
const NOT_STARTED: Record<string, { code: number; why: string }> = {
  ENOENT: { code: 127, why: 'command not found' },
  EACCES: { code: 126, why: 'Permission denied' },
};

export function spawnArgv(argv: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('empty command');
  const env = opts.env ?? process.env;
  // Looked up first, as a shell does: starting a process only to learn the program is missing
  // costs a fork of this whole process (a few ms, on every host that has xl but no xm).
  if (!file.includes('/') && !onPath(file, env.PATH)) {
    const { code, why } = NOT_STARTED.ENOENT as { code: number; why: string };
    return Promise.resolve({ exitCode: code, signal: null, stdout: Buffer.alloc(0), stderr: `${file}: ${why}\n` });
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // A command that exits without reading all of its input is not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
    child.on('error', (e: NodeJS.ErrnoException) => {
      const failed = NOT_STARTED[e.code ?? ''];
      if (!failed) return reject(e);
      resolve({ exitCode: failed.code, signal: null, stdout: Buffer.alloc(0), stderr: `${file}: ${failed.why}\n` });
    });
    child.on('close', (code, signal) =>
      resolve({ exitCode: code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** Whether a file of that name is in one of PATH's directories (execvp's default path when PATH is unset). */
function onPath(file: string, PATH = '/bin:/usr/bin'): boolean {
  return PATH.split(':').some((dir) => {
    try {
      const st = statSync(path.join(dir || '.', file), { throwIfNoEntry: false });
      return st !== undefined && !st.isDirectory();
    } catch {
      return false;
    }
  });
}
