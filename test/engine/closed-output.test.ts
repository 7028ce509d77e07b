// A playbook whose output nobody reads any more (`… | head`, an ssh session that closed) finishes
// its run: the edit is written whole, the backup kept, the exit code is the run's, and no stack
// trace takes the place of the answer.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { childEnv, ROOT } from '../helpers/playbook.js';

const SAMPLE = path.join(ROOT, 'test/fixtures/playbooks/sample.mjs');
let dir: string;
beforeEach(() => void (dir = mkdtempSync(path.join(os.tmpdir(), 'xr-closed-output-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Run the sample with its standard output (or error) a pipe whose reader has gone. */
function runWithoutReader(args: string[], which: 'stdout' | 'stderr'): Promise<{ code: number | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SAMPLE, ...args], { cwd: ROOT, env: childEnv(), stdio: 'pipe' });
    child[which].destroy();
    let other = '';
    const kept = which === 'stdout' ? child.stderr : child.stdout;
    kept.setEncoding('utf8').on('data', (d: string) => (other += d));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, other }));
  });
}

it.each(['stdout', 'stderr'] as const)(
  'with no reader on its %s, a run writes its edit whole and exits 0',
  async (which) => {
    const file = path.join(dir, 'settings.conf');
    writeFileSync(file, 'old\n');
    // --verbose: the run prints on both streams.
    const r = await runWithoutReader(['web', '--file', file, '--yes', '--verbose'], which);
    expect(r.other).not.toMatch(/EPIPE|Unhandled|at .*\.m?js:\d+/);
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('name = web\ncount = 2\nmode = safe\n');
    expect(readFileSync(`${file}.orig`, 'utf8')).toBe('old\n');
  },
);

it('a run that fails still says so by its exit code when nobody reads its output', async () => {
  const r = await runWithoutReader(['--count', '9'], 'stdout');
  expect(r.code).toBe(2);
  expect(existsSync(path.join(dir, 'settings.conf'))).toBe(false);
});
