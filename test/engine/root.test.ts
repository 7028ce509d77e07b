import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefusedError, RootTransport } from '../../src/engine/index.js';
import { runSample } from '../helpers/sample.js';

let base: string;
let root: string;
beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'xr-root-'));
  root = path.join(base, 'host');
  mkdirSync(path.join(root, 'etc/default'), { recursive: true });
  mkdirSync(path.join(root, 'boot/grub'), { recursive: true });
  writeFileSync(path.join(root, 'etc/default/grub'), 'GRUB_DEFAULT=0\n');
  writeFileSync(path.join(base, 'outside'), 'secret\n');
  symlinkSync('/etc/default/grub', path.join(root, 'etc/grub-abs')); // absolute: means <root>/etc/default/grub
  symlinkSync('../boot', path.join(root, 'etc/boot-rel'));
  symlinkSync('../../outside', path.join(root, 'etc/escape-rel'));
  symlinkSync('../../../../../../../..', path.join(root, 'etc/escape-deep'));
  symlinkSync('/../../outside', path.join(root, 'etc/escape-abs'));
  symlinkSync('loop-b', path.join(root, 'etc/loop-a'));
  symlinkSync('loop-a', path.join(root, 'etc/loop-b'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('--root DIR', () => {
  it('resolves host paths inside DIR, absolute symlinks included', async () => {
    const t = new RootTransport(root);
    expect(await t.resolve('/etc/default/grub')).toBe(path.join(root, 'etc/default/grub'));
    expect(await t.resolve('/etc/grub-abs')).toBe(path.join(root, 'etc/default/grub'));
    expect(await t.resolve('/etc/boot-rel/grub')).toBe(path.join(root, 'boot/grub'));
    expect(await t.resolve('/boot/../etc/./default/grub')).toBe(path.join(root, 'etc/default/grub'));
    expect(await t.readText('/etc/grub-abs')).toBe('GRUB_DEFAULT=0\n');
  });

  it.each([
    '/../outside',
    '/etc/../../outside',
    '../outside',
    '/etc/escape-rel',
    '/etc/escape-deep/tmp',
    '/etc/escape-abs',
  ])('refuses %s, which leaves DIR', async (p) => {
    const t = new RootTransport(root);
    await expect(t.resolve(p)).rejects.toBeInstanceOf(RefusedError);
    await expect(t.readText(p)).rejects.toThrow(/leaves the --root directory/);
  });

  it('refuses a symlink loop', async () => {
    await expect(new RootTransport(root).resolve('/etc/loop-a')).rejects.toThrow(/too many symbolic links/);
  });

  it('a playbook under --root writes inside DIR only', async () => {
    const r = await runSample(['--root', root, '--file', '/etc/sample.conf', '--yes']);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, 'etc/sample.conf'), 'utf8')).toContain('count = 2');
    const esc = await runSample(['--root', root, '--file', '/etc/escape-rel', '--yes']);
    expect(esc.code).toBe(3);
    expect(esc.stderr).toContain('leaves the --root directory');
    expect(readFileSync(path.join(base, 'outside'), 'utf8')).toBe('secret\n');
    expect(existsSync(path.join(base, 'outside.orig'))).toBe(false);
  });
});
