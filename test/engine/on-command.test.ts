// What an in-process run tells onCommand: each command with the step that ran it, and the files the
// steps read and wrote through the transport as the commands that do the same.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CommandRecord } from '../../src/engine/io.js';
import { ROOT, runInProcess } from '../helpers/playbook.js';

const SAMPLE = path.join(ROOT, 'test/fixtures/playbooks/sample.mjs');
let dir: string;
beforeEach(() => void (dir = mkdtempSync(path.join(os.tmpdir(), 'xr-oncommand-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('tells every command and file operation with its step; the edit as a backup and a write', async () => {
  const file = path.join(dir, 'settings.conf');
  writeFileSync(file, 'old\n');
  const seen: CommandRecord[] = [];
  const r = await runInProcess(SAMPLE, ['web', '--file', file, '--value', 'a b', '--yes'], {
    onCommand: (c) => seen.push(c),
  });
  expect(r.code, r.stderr).toBe(0);
  const shown = seen.map((c) => [c.step, c.file ?? 'command', c.command, c.exitCode]);
  expect(shown).toEqual([
    ['echo-value', 'command', "printf '%s\\0' 'a b' end", 0],
    ['write-settings', 'read', `cat ${file}`, 0],
    ['write-settings', 'read', `cat ${file}`, 0],
    ['write-settings', 'write', `cp -p ${file} ${file}.orig`, 0],
    ['write-settings', 'write', `tee ${file}`, 0],
  ]);
  expect(seen[1]?.stdout).toBe('old\n');
  expect(seen[4]?.input).toBe('name = web\ncount = 2\nmode = safe\n');
  expect(seen[0]?.stdout).toBe('a b\0end\0');
});

it('tells a dry run its reads only', async () => {
  const file = path.join(dir, 'new.conf');
  const seen: CommandRecord[] = [];
  const r = await runInProcess(SAMPLE, ['--file', file, '--dry-run'], { onCommand: (c) => seen.push(c) });
  expect(r.code, r.stderr).toBe(0);
  expect(seen.filter((c) => c.file === 'write')).toEqual([]);
  expect(seen.find((c) => c.file === 'read')).toMatchObject({ command: `cat ${file}`, exitCode: 1 });
});

it('tells commands run at once in the order they started, whichever ended first', async () => {
  const { processTeller, recordedTransport } = await import('../../src/engine/recorded.js');
  const { LocalTransport } = await import('../../src/engine/transport.js');
  const seen: CommandRecord[] = [];
  const host = recordedTransport(
    new LocalTransport(),
    processTeller(
      new LocalTransport(),
      (c) => seen.push(c),
      () => 'step',
    ),
  );
  // The first ends last and is told first all the same; a program that is not there is told too (exit 127).
  await Promise.all([
    host.exec(['sh', '-c', 'sleep 0.3; echo slow']),
    host.exec(['echo', 'fast']),
    host.readText(path.join(dir, 'missing')),
    host.exec(['xr-no-such-command'], { nothrow: true }),
  ]);
  expect(seen.map((c) => [c.command, c.stdout])).toEqual([
    ["sh -c 'sleep 0.3; echo slow'", 'slow\n'],
    ['echo fast', 'fast\n'],
    [`cat ${path.join(dir, 'missing')}`, ''],
    ['xr-no-such-command', ''],
  ]);
  expect(seen[3]?.exitCode).toBe(127);
  expect(seen.every((c) => c.step === 'step')).toBe(true);
});
