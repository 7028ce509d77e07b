import {
  mkdtempSync,
  readFileSync,
  writeFileSync,
  existsSync,
  rmSync,
  statSync,
  chmodSync,
  readdirSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSample } from '../helpers/sample.js';

const HOSTILE = [
  'a; rm -rf /',
  '$(reboot)',
  '`reboot`',
  'it\'s "quoted"',
  'two\nlines',
  '-rf',
  '--yes',
  '*',
  '~root',
  ' spaced ',
  'tab\there',
  '\\',
];

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-runner-'));
  file = path.join(dir, 'settings.conf');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the step runner', () => {
  it('--dry-run shows the plan and the diff and changes nothing', async () => {
    writeFileSync(file, 'name = old\ncount = 2\nmode = safe\n');
    const before = readdirSync(dir);
    const r = await runSample(['vm1', '--file', file, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would edit ${file}`);
    expect(r.stdout).toContain('-name = old');
    expect(r.stdout).toContain('+name = vm1');
    expect(r.stdout).toContain('Nothing was changed');
    expect(readFileSync(file, 'utf8')).toBe('name = old\ncount = 2\nmode = safe\n');
    expect(readdirSync(dir)).toEqual(before);
  });

  it('refuses to change anything without a terminal and without --yes (exit 3)', async () => {
    writeFileSync(file, 'original\n');
    const r = await runSample(['vm1', '--file', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refus.*--yes/);
    expect(readFileSync(file, 'utf8')).toBe('original\n');
    expect(existsSync(`${file}.orig`)).toBe(false);
  });

  it('applies with --yes, keeps FILE.orig once, and a second run changes nothing', async () => {
    writeFileSync(file, 'original\n');
    const first = await runSample(['vm1', '--file', file, '--yes', '--json']);
    expect(first.code).toBe(0);
    expect(first.json.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'changed']);
    expect(readFileSync(file, 'utf8')).toBe('name = vm1\ncount = 2\nmode = safe\n');
    expect(readFileSync(`${file}.orig`, 'utf8')).toBe('original\n');

    const second = await runSample(['vm1', '--file', file, '--yes', '--json']);
    expect(second.code).toBe(0);
    expect(second.json.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok']);
    expect(second.stderr).toContain('Nothing to do');

    // A later change keeps the first backup: .orig is the file as it was before any run.
    const third = await runSample(['vm2', '--file', file, '--yes']);
    expect(third.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('name = vm2');
    expect(readFileSync(`${file}.orig`, 'utf8')).toBe('original\n');
  });

  it('--json prints one report on stdout and the human lines on stderr', async () => {
    const r = await runSample(['--file', file, '--dry-run', '--json']);
    expect(r.json).toMatchObject({ playbook: 'sample', dryRun: true, exitCode: 0 });
    expect(r.json.steps[1]).toMatchObject({ id: 'write-settings', status: 'would-change' });
    expect(r.json.steps[1].diff).toContain('+count = 2');
    expect(r.stderr).toContain('Dry run');
    expect(existsSync(file)).toBe(false);
  });

  it('--verbose echoes every command, quoted for a shell', async () => {
    const r = await runSample(['--file', file, '--dry-run', '--verbose', '--value', 'a b']);
    expect(r.stderr).toContain("+ printf '%s\\0' 'a b' end");
  });

  it.each(HOSTILE)('passes the hostile value %j to the command as one argument', async (value) => {
    const r = await runSample(['--file', file, '--dry-run', '--json', `--value=${value}`]);
    expect(r.code).toBe(0);
    expect(r.json.data.argv).toEqual([value, 'end']);
  });

  it('keeps the mode of the file it rewrites', async () => {
    writeFileSync(file, 'x\n');
    chmodSync(file, 0o640);
    const r = await runSample(['--file', file, '--yes']);
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o7777).toBe(0o640);
    expect(statSync(`${file}.orig`).mode & 0o7777).toBe(0o640);
  });

  it('exits 1 naming the step when a step fails, and leaves the file as it was', async () => {
    // The parent "directory" is a regular file: nothing can be created under it.
    const blocker = path.join(dir, 'blocker');
    writeFileSync(blocker, 'a file, not a directory\n');
    const r = await runSample(['--file', path.join(blocker, 'f.conf'), '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sample: failed: Write the settings file: .*(ENOTDIR|EEXIST)/);
    expect(readFileSync(blocker, 'utf8')).toBe('a file, not a directory\n');
    expect(readdirSync(dir)).toEqual(['blocker']);
  });
});

describe('--json on bad input', () => {
  it('still prints one report, with the error and exit code 2', async () => {
    const r = await runSample(['--json', '--count', 'many']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ playbook: 'sample', exitCode: 2, steps: [] });
    expect(r.json.error).toContain("--count: 'many' is not a whole number");
  });
});
