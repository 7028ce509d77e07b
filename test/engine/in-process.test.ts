/**
 * The in-process entry point (src/engine/in-process.ts) is what most tests run playbooks through:
 * it must give what a new process gives (exit code, stdout, stderr, the files written) for the
 * same argv, environment, directory and input, and leave this process as it found it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandRecord } from '../../src/engine/io.js';
import { ROOT, runInProcess, runScript, type RunResult } from '../helpers/playbook.js';

const SAMPLE = path.join(ROOT, 'test/fixtures/playbooks/sample.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-inproc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Output with the run's own file names made comparable. */
const same = (r: RunResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

describe('a run in-process is the run a new process makes', () => {
  const cases: [string, string[]][] = [
    ['--help', ['--help']],
    ['--describe', ['--describe']],
    ['a bad option (exit 2)', ['--count', '9']],
    ['an unknown option (exit 2)', ['--nope']],
    ['a dry run', ['web01', '--dry-run']],
    ['no terminal and no --yes (exit 3)', ['web01']],
    ['a run that writes, with --json', ['web01', '--yes', '--json']],
  ];
  for (const [label, args] of cases) {
    it(label, async () => {
      const a = path.join(dir, `a-${label.replace(/\W+/g, '-')}.conf`);
      const b = path.join(dir, `b-${label.replace(/\W+/g, '-')}.conf`);
      const spawned = await runScript(SAMPLE, [...args, '--file', a]);
      const inproc = await runInProcess(SAMPLE, [...args, '--file', b]);
      const norm = (r: RunResult, f: string) => JSON.parse(JSON.stringify(same(r)).replaceAll(f, 'FILE'));
      expect(norm(inproc, b)).toEqual(norm(spawned, a));
      const read = (f: string) => {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          return undefined;
        }
      };
      expect(read(b)).toEqual(read(a));
    });
  }
});

describe('what a run takes and gives back', () => {
  it('its environment, directory and standard input are its own, and this process gets its own back', async () => {
    const envBefore = { ...process.env };
    const cwdBefore = process.cwd();
    const exitBefore = process.exitCode;
    const r = await runInProcess(SAMPLE, ['web01', '--file', 'rel.conf', '--yes'], {
      cwd: dir,
      env: { XR_ONLY_IN_THE_RUN: '1' },
    });
    expect(r.code).toBe(0);
    // A relative --file is the run's directory's, not this process's.
    expect(readFileSync(path.join(dir, 'rel.conf'), 'utf8')).toMatch(/^name = web01$/m);
    expect(process.env).toEqual(envBefore);
    expect(process.cwd()).toBe(cwdBefore);
    expect(process.exitCode).toBe(exitBefore);
  });

  it('tells every command the steps ran, with its output, as a person would type it', async () => {
    const seen: CommandRecord[] = [];
    const r = await runInProcess(SAMPLE, ['--value', 'a b;$(x)', '--file', path.join(dir, 'c.conf'), '--dry-run'], {
      onCommand: (c) => seen.push(c),
    });
    expect(r.code).toBe(0);
    // The command the step ran, and the file the next step read (told as the command that reads it).
    const ran = seen.filter((c) => !c.file);
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatchObject({ transport: 'local', exitCode: 0, argv: ['printf', '%s\\0', 'a b;$(x)', 'end'] });
    expect(ran[0]?.command).toBe(`printf '%s\\0' 'a b;$(x)' end`);
    expect(ran[0]?.stdout).toBe('a b;$(x)\0end\0');
    expect(seen.filter((c) => c.file === 'read').map((c) => c.step)).toEqual(['write-settings']);
  });

  it('each run starts from the playbook fresh state, though its file is loaded once', async () => {
    const one = await runInProcess(SAMPLE, ['--value', 'x', '--dry-run', '--json', '--file', path.join(dir, 'd.conf')]);
    const two = await runInProcess(SAMPLE, ['--value', 'y', '--dry-run', '--json', '--file', path.join(dir, 'd.conf')]);
    expect(one.json.data.argv).toEqual(['x', 'end']);
    expect(two.json.data.argv).toEqual(['y', 'end']);
  });
});
