// The pool master's password: one line from --pool-password-file, never an option value.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import { passwordFromText, poolPasswordOption } from '../../src/playbooks/xcp-install/password.js';
import { memoryLog, simDir } from './shell.js';

describe('passwordFromText', () => {
  it('drops one final line break (LF or CRLF) and keeps everything else', () => {
    expect(passwordFromText('s3cret\n', 'pw')).toBe('s3cret');
    expect(passwordFromText('s3cret\r\n', 'pw')).toBe('s3cret');
    expect(passwordFromText(' spaced pass ', 'pw')).toBe(' spaced pass ');
  });

  it('refuses an empty file and a password on more than one line', () => {
    expect(() => passwordFromText('\n', 'pw')).toThrow(/--pool-password-file: pw is empty/);
    expect(() => passwordFromText('', '-')).toThrow(/standard input is empty/);
    expect(() => passwordFromText('a\nb\n', 'pw')).toThrow(/must be on one line/);
  });
});

describe('poolPasswordOption', () => {
  let w: ReturnType<typeof simDir>;
  beforeEach(() => {
    w = simDir();
  });
  afterEach(() => w.cleanup());

  it('reads the file, warning when other users can read it', async () => {
    const file = path.join(w.dir, 'pw');
    writeFileSync(file, 'hunter2\n');
    chmodSync(file, 0o644);
    const log = memoryLog();
    expect(await poolPasswordOption(file, { log, dryRun: false })).toBe('hunter2');
    expect(log.lines).toEqual([`warn: ${file} can be read by other users: chmod 600 ${file}`]);
    chmodSync(file, 0o600);
    const quiet = memoryLog();
    expect(await poolPasswordOption(file, { log: quiet, dryRun: false })).toBe('hunter2');
    expect(quiet.lines).toEqual([]);
  });

  it('without a file: refused when there is no terminal to ask on, left to ask otherwise (a dry run asks nothing)', async () => {
    const tty = process.stdin.isTTY;
    try {
      process.stdin.isTTY = false;
      const e = await poolPasswordOption(undefined, { log: memoryLog(), dryRun: false }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect(String(e)).toMatch(/--join-pool needs the pool master's password/);
      expect(await poolPasswordOption(undefined, { log: memoryLog(), dryRun: true })).toBeUndefined();
      process.stdin.isTTY = true;
      expect(await poolPasswordOption(undefined, { log: memoryLog(), dryRun: false })).toBeUndefined();
    } finally {
      process.stdin.isTTY = tty;
    }
  });
});
