import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execLocal } from '../../src/engine/index.js';
import { spawnArgv } from '../../src/engine/spawn.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'xr-spawn-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a command on this machine, from its argv', () => {
  it('reaches the program with no shell: nothing is expanded, split or globbed', async () => {
    const r = await spawnArgv(['printf', '%s|', '$HOME', '*', '~', 'a b', '$(id)']);
    expect(r.stdout.toString()).toBe('$HOME|*|~|a b|$(id)|');
    expect(r.exitCode).toBe(0);
  });

  it('a missing program: exit 127 and "command not found", as a shell says it', async () => {
    const r = await spawnArgv(['xr-no-such-command', '--help']);
    expect(r).toMatchObject({ exitCode: 127, stderr: 'xr-no-such-command: command not found\n' });
    await expect(execLocal(['xr-no-such-command'])).rejects.toThrow(/command not found: xr-no-such-command/);
  });

  it('a file that is not executable: exit 126', async () => {
    const f = path.join(dir, 'not-executable');
    await writeFile(f, '#!/bin/sh\necho hi\n');
    await chmod(f, 0o644);
    const r = await spawnArgv([f]);
    expect(r.exitCode).toBe(126);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('finds the program in the PATH of the environment it is given', async () => {
    const f = path.join(dir, 'xr-only-here');
    await writeFile(f, '#!/bin/sh\necho "found $XR_X"\n');
    await chmod(f, 0o755);
    const r = await execLocal(['xr-only-here'], { env: { PATH: `${dir}:${process.env.PATH ?? ''}`, XR_X: 'it' } });
    expect(r.stdout).toBe('found it\n');
  });

  it('standard input: the given bytes, then end of file; none given, an empty input, never the terminal', async () => {
    const bytes = Buffer.from([0, 255, 10, 1]);
    expect((await spawnArgv(['cat'], { input: bytes })).stdout.equals(bytes)).toBe(true);
    expect((await spawnArgv(['wc', '-c'])).stdout.toString().trim()).toBe('0');
    // A command that stops reading early is not an error of the caller's.
    const r = await spawnArgv(['head', '-c', '1'], { input: Buffer.alloc(4 << 20, 1) });
    expect(r).toMatchObject({ exitCode: 0 });
    expect(r.stdout.length).toBe(1);
  });

  it('standard output kept as bytes, standard error as text', async () => {
    const r = await spawnArgv(['sh', '-c', 'printf "\\377\\000x"; printf "warn\\n" >&2; exit 3']);
    expect([...r.stdout]).toEqual([255, 0, 120]);
    expect(r).toMatchObject({ exitCode: 3, stderr: 'warn\n', signal: null });
  });

  it('a timeout ends it with SIGTERM: no exit code', async () => {
    const r = await spawnArgv(['sleep', '30'], { timeoutMs: 100 });
    expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
  });

  it('runs in the working directory of the moment', async () => {
    const before = process.cwd();
    process.chdir(dir);
    try {
      expect((await spawnArgv(['pwd'])).stdout.toString().trim()).toBe(dir);
    } finally {
      process.chdir(before);
    }
  });
});
