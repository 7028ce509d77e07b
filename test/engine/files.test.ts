import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEdit, planEdit, writeAtomicLocal, LocalTransport, unifiedDiff } from '../../src/engine/index.js';
import { ROOT } from '../helpers/playbook.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('atomic write', () => {
  it('keeps mode and owner', async () => {
    const f = path.join(dir, 'f');
    writeFileSync(f, 'old');
    chmodSync(f, 0o600);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chownSync(f, 1234, 2345);
    await writeAtomicLocal(f, 'new');
    const s = statSync(f);
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(s.mode & 0o7777).toBe(0o600);
    if (isRoot) expect([s.uid, s.gid]).toEqual([1234, 2345]);
    expect(readdirSync(dir)).toEqual(['f']);
  });

  it('leaves either the old or the new file when the writer is killed at any moment', async () => {
    const f = path.join(dir, 'big');
    const oldData = Buffer.alloc(8 * 1024 * 1024, 'o');
    const newData = Buffer.alloc(8 * 1024 * 1024, 'n');
    const good = new Set([sha(oldData), sha(newData)]);
    const writer = path.join(dir, 'writer.mjs');
    writeFileSync(
      writer,
      `import { writeAtomicLocal } from ${JSON.stringify(path.join(ROOT, 'lib/engine/index.js'))};
const [f] = process.argv.slice(2);
const a = Buffer.alloc(8 * 1024 * 1024, 'o'), b = Buffer.alloc(8 * 1024 * 1024, 'n');
process.stdout.write('ready\\n');
for (let i = 0; ; i++) await writeAtomicLocal(f, i % 2 ? a : b);
`,
    );
    writeFileSync(f, oldData);
    const seen = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, [writer, f], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      const h = sha(readFileSync(f));
      expect(good.has(h)).toBe(true);
      seen.add(h);
    }
    // The test killed writes in flight, not only between them: both versions were observed.
    expect(seen.size).toBe(2);
  });
});

describe('backup', () => {
  it('makes FILE.orig once and never overwrites it', async () => {
    const t = new LocalTransport();
    const f = path.join(dir, 'grub.cfg');
    writeFileSync(f, 'v1');
    expect(await t.backup(f)).toBe(`${f}.orig`);
    writeFileSync(f, 'v2');
    expect(await t.backup(f)).toBeUndefined();
    expect(readFileSync(`${f}.orig`, 'utf8')).toBe('v1');
  });
});

describe('unified diff', () => {
  it('is empty for equal texts and labels the path', () => {
    expect(unifiedDiff('/etc/x', 'a\n', 'a\n')).toBe('');
    const d = unifiedDiff('/etc/x', 'a\nb\n', 'a\nc\n');
    expect(d.split('\n').slice(0, 2)).toEqual(['--- a/etc/x', '+++ b/etc/x']);
    expect(d).toContain('-b\n+c');
  });
});

describe('creating a file', () => {
  it('makes its directory when the plan creates the file', async () => {
    const t = new LocalTransport();
    const f = path.join(dir, 'etc/xcp/network.conf');
    const edit = await planEdit(t, f, () => 'bridge\n');
    expect(edit.before).toBeUndefined();
    expect(await applyEdit(t, edit)).toBeUndefined();
    expect(readFileSync(f, 'utf8')).toBe('bridge\n');
    expect(readdirSync(path.join(dir, 'etc/xcp'))).toEqual(['network.conf']);
  });
});
