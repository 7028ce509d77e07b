import { spawn } from 'node:child_process';
import path from 'node:path';
import { childEnv, ROOT, type RunResult } from './playbook.js';

export const SAMPLE = path.join(ROOT, 'test/fixtures/playbooks/sample.mjs');

/** Run the engine's sample playbook with no terminal. */
export function runSample(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SAMPLE, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
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
    child.stdin.end();
  });
}
