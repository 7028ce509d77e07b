import { Readable } from 'node:stream';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommandRecord, Io } from './io.js';
import type { Playbook } from './runner.js';

/** What one in-process run takes: what a process would get from its parent. */
export interface InProcessRun {
  argv: readonly string[];
  /** The run's whole environment (not added to this process's). Default: this process's. */
  env?: Record<string, string | undefined>;
  /** Its working directory. Default: this process's. */
  cwd?: string;
  /** Its standard input (never a terminal). Default: empty. */
  input?: string | Buffer;
  /** Told of every command the run's steps executed on the host. */
  onCommand?: (record: CommandRecord) => void;
  /** Commands answered in this process instead of started (a test's simulators). */
  answer?: Io['answer'];
}

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

const LOADING = Symbol.for('xen-runbooks.loading-in-process');
const loaded = new Map<string, Promise<Playbook<never, object>>>();
let queue: Promise<unknown> = Promise.resolve();

/**
 * Run a playbook file in this process, as `node FILE ...argv` would run it in a new one: same
 * parsing, steps, output and exit code, without a process start. The file is loaded once; each run
 * starts from the playbook's fresh state. A run owns the process's environment and working
 * directory while it runs, so runs are taken one at a time. Signals, a terminal and the
 * executable's own start are what a real process proves: test those with one.
 */
export function runPlaybookFile(file: string, run: InProcessRun): Promise<InProcessResult> {
  const next = queue.then(() => runNow(file, run));
  queue = next.catch(() => undefined);
  return next;
}

async function runNow(file: string, run: InProcessRun): Promise<InProcessResult> {
  const playbook = await load(path.resolve(file));
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    stdin: Readable.from(run.input === undefined ? [] : [Buffer.from(run.input)]),
    interactive: false,
    ...(run.onCommand ? { onCommand: run.onCommand } : {}),
    ...(run.answer ? { answer: run.answer } : {}),
  };
  const restore = enter(run);
  try {
    const code = await playbook.runWith(run.argv, io);
    return { code, stdout, stderr };
  } finally {
    restore();
  }
}

function load(file: string): Promise<Playbook<never, object>> {
  let p = loaded.get(file);
  if (!p) {
    p = (async () => {
      const g = globalThis as Record<symbol, unknown>;
      g[LOADING] = true;
      try {
        const mod = (await import(pathToFileURL(file).href)) as { default?: Playbook<never, object> };
        if (!mod.default || typeof mod.default.runWith !== 'function') {
          throw new TypeError(`${file}: a playbook file exports its playbook: export default playbook`);
        }
        return mod.default;
      } finally {
        g[LOADING] = false;
      }
    })();
    loaded.set(file, p);
  }
  return p;
}

/** Give the process the run's environment and directory; returns what puts them back. */
function enter(run: InProcessRun): () => void {
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const savedExitCode = process.exitCode;
  if (run.env) replaceEnv(run.env);
  if (run.cwd) process.chdir(run.cwd);
  return () => {
    replaceEnv(savedEnv);
    process.chdir(savedCwd);
    process.exitCode = savedExitCode;
  };
}

/** process.env is changed in place: modules keep references to it. */
function replaceEnv(env: Record<string, string | undefined>): void {
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
