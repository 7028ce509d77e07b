import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/playbook.js';
import { SAMPLE } from '../helpers/sample.js';
import { onTerminal } from '../helpers/terminal.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-tty-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('on a terminal', () => {
  it('asks before changing anything, and a no changes nothing (exit 3)', async () => {
    const f = path.join(dir, 'a.conf');
    writeFileSync(f, 'before\n');
    const r = await onTerminal([process.execPath, SAMPLE, 'vm1', '--file', f], ['n']);
    expect(r.output).toContain("Apply 'Write the settings file'? [y]es / [n]o / [a]ll");
    expect(r.code).toBe(3);
    expect(readFileSync(f, 'utf8')).toBe('before\n');
  });

  it('applies what is confirmed', async () => {
    const f = path.join(dir, 'b.conf');
    writeFileSync(f, 'before\n');
    const r = await onTerminal([process.execPath, SAMPLE, 'vm1', '--file', f], ['y']);
    expect(r.code).toBe(0);
    expect(readFileSync(f, 'utf8')).toContain('name = vm1');
  });
});

describe('interrupted', () => {
  it('runs the cleanups on Ctrl-C (SIGINT) and exits 130', async () => {
    const marker = path.join(dir, 'marker');
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'test/fixtures/playbooks/interrupt.mjs'), '--marker', marker],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let err = '';
    await new Promise<void>((r) =>
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('holding')) r();
      }),
    );
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(err).toContain('interrupted (SIGINT); cleaning up');
    expect(existsSync(marker)).toBe(true);
  });
});
