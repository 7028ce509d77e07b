// The boot filesystem through the backend chosen: opened only when clean, read as pygrub reads it,
// and a write that did not happen told apart: refused (exit 3) or failed (exit 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { RefusedError, StepError, UsageError, type Logger } from 'xen-runbooks/engine';
import { GuestFsError, type GuestFs } from 'xen-runbooks/disk';
import { parseXenVersion, type PartitionFs } from 'xen-runbooks/grub';
import * as guestFs from 'xen-runbooks/playbooks/pygrub-fix/guest-fs';
import { $, bootImage, GiB, tempDir, writeAt } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';
import { ROOT, runInProcess } from '../helpers/playbook.js';

const P1 = 1048576;
let dir: string;
let n = 0;
const file = () => path.join(dir, `g${n++}.img`);

beforeAll(() => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck'] as const) tool(t);
  dir = tempDir('xr-guestfs-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const warnings: string[] = [];
const log: Logger = { info: () => {}, warn: (t) => warnings.push(t), detail: () => {} };
const cleanups: (() => Promise<void> | void)[] = [];
const run = { $, dryRun: false, log, cleanup: (fn: () => Promise<void> | void) => void cleanups.push(fn) };
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const part1: PartitionFs = {
  partition: {
    number: 1,
    kind: 'primary',
    start: 2048,
    size: 262144,
    offset: P1,
    bytes: 262144 * 512,
    type: '83',
    typeName: 'Linux',
  },
  offset: P1,
  fs: { kind: 'ext2', features: [] },
};

async function opened(files: Record<string, string | Buffer>): Promise<{ img: string; fs: GuestFs }> {
  const img = file();
  await bootImage(img, files);
  const fs = await guestFs.open(run, part1, { image: img, backend: 'debugfs', diskSize: 1 * GiB });
  return { img, fs };
}

describe('opening the boot filesystem', () => {
  it('a clean ext2 partition opens with debugfs; the config is found and read as written', async () => {
    const cfg = 'set default=0\nmenuentry "x" {\n  linux /vmlinuz\n}\n';
    const { fs } = await opened({ 'grub/grub.cfg': cfg });
    expect(fs.backend).toBe('debugfs');
    const config = await guestFs.findConfigIn(fs, part1, parseXenVersion('4.17'));
    expect(config).toMatchObject({ path: '/grub/grub.cfg', kind: 'grub2' });
    if (!config) throw new Error('no config');
    expect(await guestFs.readText(fs, { ...part1, config, text: '' })).toBe(cfg);
    await fs.close();
  });

  it('no config: undefined, not an error', async () => {
    const { fs } = await opened({ 'etc/hostname': 'vm01\n' });
    expect(await guestFs.findConfigIn(fs, part1, parseXenVersion('4.17'))).toBeUndefined();
    await fs.close();
  });

  it('a filesystem e2fsck -n does not find clean is bad input, with the way to repair a copy', async () => {
    const img = file();
    await bootImage(img, { 'grub/grub.cfg': 'x\n' });
    await writeAt(img, P1 + 2048, Buffer.alloc(4096));
    const e = await guestFs
      .open(run, part1, { image: img, backend: 'debugfs', diskSize: GiB })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).message).toMatch(
      /^partition 1 \(offset 1048576\): e2fsck -fn finds the ext2 filesystem damaged/,
    );
    expect((e as UsageError).hint).toMatch(/repair a copy of the image first/);
  });

  it('a dry run leaves e2fsck -fn (a read of the whole filesystem) to the run that writes, and says so', async () => {
    const img = file();
    await bootImage(img, { 'grub/grub.cfg': 'x\n' });
    const commands: string[] = [];
    const r = await runInProcess(path.join(ROOT, 'playbooks/pygrub-fix.mjs'), [img, '--dry-run'], {
      onCommand: (c) => commands.push(c.argv[0] ?? ''),
    });
    expect(r.stdout).toMatch(/its health \(e2fsck -fn\) is checked by the run that writes, before it writes/);
    expect(commands).toContain('debugfs');
    expect(commands).not.toContain('e2fsck');
  });

  it('a binary config is bad input naming the partition', async () => {
    const { fs } = await opened({ 'grub/grub.cfg': Buffer.from([0, 1, 2, 0xff, 0, 10]) });
    const config = await guestFs.findConfigIn(fs, part1, parseXenVersion('4.17'));
    if (!config) throw new Error('no config');
    const e = await guestFs.readText(fs, { ...part1, config, text: '' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(/^partition 1 \(offset 1048576\): /);
    await fs.close();
  });
});

describe('backups and failed writes', () => {
  it('a backup is read when it is a regular file, absent is undefined, a directory is refused', async () => {
    const { fs } = await opened({
      'grub/grub.cfg': 'new\n',
      'grub/grub.cfg.orig': 'old\n',
      'grub/menu.lst.orig/x': 'y',
    });
    expect(await guestFs.readBackup(fs, '/grub/grub.cfg.orig')).toBe('old\n');
    expect(await guestFs.readBackup(fs, '/grub/none.orig')).toBeUndefined();
    await expect(guestFs.readBackup(fs, '/grub/menu.lst.orig')).rejects.toThrow(
      /\/grub\/menu\.lst\.orig is a directory, not a backup: nothing restored/,
    );
    await fs.close();
  });

  it('a write refused before it started is exit 3; one that failed and was rolled back is exit 1', () => {
    for (const code of ['no-space', 'unsafe', 'read-only', 'undo', 'bad-path', 'not-file'] as const) {
      expect(() => guestFs.writeError(new GuestFsError('no', code))).toThrow(RefusedError);
    }
    for (const code of ['write', 'io', 'open'] as const) {
      expect(() => guestFs.writeError(new GuestFsError('no', code))).toThrow(StepError);
      expect(() => guestFs.writeError(new GuestFsError('no', code))).not.toThrow(RefusedError);
    }
    const other = new TypeError('bug');
    expect(() => guestFs.writeError(other)).toThrow(other);
  });
});
