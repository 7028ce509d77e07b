import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AFTER_A_FAILURE } from '../../src/engine/index.js';
import { ROOT, runScript } from '../helpers/playbook.js';

// A run that stops part way does not undo the steps before the failure: it says which it left
// applied, in its human report and in --json, and the next run completes.
const PARTIAL = path.join(ROOT, 'test/fixtures/playbooks/partial.mjs');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-partial-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a run whose second step fails', () => {
  it('lists the step it left applied (human and --json), and a run after the cause is fixed completes', async () => {
    const blocker = path.join(dir, 'blocker');
    writeFileSync(blocker, '');
    const args = ['--dir', dir, '--blocker', blocker, '--yes'];

    const human = await runScript(PARTIAL, args);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain(`partial: failed: ${blocker} is in the way`);
    expect(human.stderr).toMatch(/left applied by this run \(the steps before the failure are not undone\):/);
    expect(human.stderr).toContain(`✚ [1/3] Write the first file: ${dir}/first.conf written`);
    expect(human.stderr).not.toMatch(/\[2\/3\] Write the second file: .*written/);
    expect(human.stderr).toMatch(/Run it again once the cause is fixed/);
    expect(readFileSync(path.join(dir, 'first.conf'), 'utf8')).toBe('first = done\n');
    expect(existsSync(path.join(dir, 'second.conf'))).toBe(false);
    expect(existsSync(path.join(dir, 'third.conf'))).toBe(false);

    // The same again, as JSON: the first step is in place now, so nothing is left applied by this run.
    const json = await runScript(PARTIAL, [...args, '--json']);
    expect(json.code).toBe(1);
    expect(json.json.applied).toEqual([]);
    expect(json.json.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'failed']);
    expect(json.stderr).not.toMatch(/left applied/);

    // From scratch, with --json: the report names what it left.
    rmSync(path.join(dir, 'first.conf'));
    const fresh = await runScript(PARTIAL, [...args, '--json']);
    expect(fresh.code).toBe(1);
    expect(fresh.json.applied).toEqual([
      { id: 'first', title: 'Write the first file', message: `${dir}/first.conf written` },
    ]);

    rmSync(blocker);
    const again = await runScript(PARTIAL, [...args, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'changed', 'changed']);
    expect(again.json.applied.map((s: { id: string }) => s.id)).toEqual(['second', 'third']);
    for (const f of ['first', 'second', 'third']) {
      expect(readFileSync(path.join(dir, `${f}.conf`), 'utf8')).toBe(`${f} = done\n`);
    }
    const third = await runScript(PARTIAL, [...args, '--json']);
    expect(third.code).toBe(0);
    expect(third.json.applied).toEqual([]);
  });

  it('--help says what a run that stops part way leaves', async () => {
    const r = await runScript(PARTIAL, ['--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(AFTER_A_FAILURE);
  });
});
