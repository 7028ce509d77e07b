import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CommandRecord } from '../../src/engine/io.js';
import { answerSimulated } from '../sim/in-process.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Simulators of xe, xl, xm and recording stand-ins: put first on PATH by runPlaybook({ sim }). */
export const SIM_BIN = path.join(ROOT, 'test/sim/bin');

/**
 * This process's environment without what vitest adds (NODE_ENV=test, DEV=1, PROD=, MODE=test,
 * VITEST…): children such as `astro build` read those and would build for development.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(VITEST.*|TEST|DEV|PROD|SSR|MODE|BASE_URL|FORCE_TTY)$/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, NODE_ENV: 'production', ...extra };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when --json was passed. */
  json?: any;
}

export interface RunOptions {
  /** A state folder for the simulators: sets XR_SIM_DIR and puts test/sim/bin first on PATH. */
  sim?: string;
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
  /** Run through zx's command line instead of node. */
  zx?: boolean;
  /**
   * Run in a new Node process, as an administrator's shell would: for what only a process shows
   * (runs at once against each other, signals, its own exit). Otherwise runs are in-process.
   */
  newProcess?: boolean;
}

/**
 * Run `node playbooks/NAME.mjs ...args` (no terminal: stdin is a pipe). Set XR_TEST_SPAWN=1 to run
 * every such call in a new process, as before the in-process entry point (see runInProcess).
 */
export function runPlaybook(name: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const file = path.join(ROOT, 'playbooks', `${name}.mjs`);
  if (opts.zx || opts.newProcess || opts.timeoutMs !== undefined || process.env.XR_TEST_SPAWN === '1')
    return runScript(file, args, opts);
  return runInProcess(file, args, opts);
}

type Engine = typeof import('../../src/engine/index.js');
let engine: Promise<Engine> | undefined;

/**
 * Run a playbook file in this test's process through the engine's in-process entry point: the
 * same argv, environment, directory and standard input as runScript gives a new process, the
 * same exit code, output and JSON report back, without starting Node for every run.
 */
export async function runInProcess(
  file: string,
  args: readonly string[],
  opts: Omit<RunOptions, 'zx' | 'timeoutMs' | 'newProcess'> & { onCommand?: (r: CommandRecord) => void } = {},
): Promise<RunResult> {
  // The engine as the playbooks load it (lib/, compiled): vitest.config.ts leaves lib/ to Node's own
  // loader, so this is the very module instance the playbook files import.
  engine ??= import(pathToFileURL(path.join(ROOT, 'lib/engine/index.js')).href) as Promise<Engine>;
  const { runPlaybookFile } = await engine;
  const r = await runPlaybookFile(file, {
    argv: args,
    env: scriptEnv(opts),
    cwd: opts.cwd ?? ROOT,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.onCommand ? { onCommand: opts.onCommand } : {}),
    answer: answerSimulated,
  });
  return withJson({ code: r.code, stdout: r.stdout, stderr: r.stderr }, args);
}

function scriptEnv(opts: RunOptions): Record<string, string> {
  const env = childEnv();
  if (opts.sim) {
    env.XR_SIM_DIR = opts.sim;
    env.PATH = `${SIM_BIN}:${env.PATH ?? ''}`;
  }
  return Object.assign(env, opts.env ?? {});
}

function withJson(r: RunResult, args: readonly string[]): RunResult {
  if (args.includes('--json') && r.stdout.trim()) {
    try {
      r.json = JSON.parse(r.stdout);
    } catch {
      /* left undefined: the test will say so */
    }
  }
  return r;
}

/** Run any playbook file the way runPlaybook does. */
export function runScript(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = scriptEnv(opts);
  const cmd = opts.zx ? [path.join(ROOT, 'node_modules/zx/build/cli.js'), file, ...args] : [file, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cmd, { cwd: opts.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(withJson({ code, stdout, stderr }, args));
    });
    // A playbook that refuses its arguments exits before it reads its input: the write then fails
    // with EPIPE, which is the child's business (its exit code and output are what the test reads).
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
