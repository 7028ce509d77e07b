import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
}

/** Run `node playbooks/NAME.mjs ...args` (no terminal: stdin is a pipe). */
export function runPlaybook(name: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runScript(path.join(ROOT, 'playbooks', `${name}.mjs`), args, opts);
}

/** Run any playbook file the way runPlaybook does. */
export function runScript(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = childEnv();
  if (opts.sim) {
    env.XR_SIM_DIR = opts.sim;
    env.PATH = `${SIM_BIN}:${env.PATH ?? ''}`;
  }
  Object.assign(env, opts.env ?? {});
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
      const r: RunResult = { code, stdout, stderr };
      if (args.includes('--json') && stdout.trim()) {
        try {
          r.json = JSON.parse(stdout);
        } catch {
          /* left undefined: the test will say so */
        }
      }
      resolve(r);
    });
    child.stdin.end(opts.input ?? '');
  });
}
