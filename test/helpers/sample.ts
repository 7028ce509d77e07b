import path from 'node:path';
import { ROOT, runScript, type RunResult } from './playbook.js';

export const SAMPLE = path.join(ROOT, 'test/fixtures/playbooks/sample.mjs');

/** Run the engine's sample playbook with no terminal. */
export function runSample(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runScript(SAMPLE, args, { env });
}
