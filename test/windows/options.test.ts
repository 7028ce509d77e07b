// windows-hvm's options checked together before any step, each error naming the option.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootTransport, UsageError, type Logger } from 'xen-runbooks/engine';
import {
  checkOptions,
  isLocalListen,
  readVncPassword,
  type CheckedOptions,
} from 'xen-runbooks/playbooks/windows-hvm/options';

const MiB = 1024 ** 2;
let root: string;
let host: RootTransport;
beforeAll(() => {
  root = path.join(os.tmpdir(), `xr-win-opts-${process.pid}`);
  mkdirSync(path.join(root, 'srv/iso'), { recursive: true });
  writeFileSync(path.join(root, 'srv/iso/win7.iso'), 'CD001');
  symlinkSync('win7.iso', path.join(root, 'srv/iso/latest.iso'));
  mkdirSync(path.join(root, 'srv/iso/dir.iso'));
  writeFileSync(path.join(root, 'pw'), 'secret\nsecond line\n');
  writeFileSync(path.join(root, 'pw-long'), 'a-very-long-password\n');
  writeFileSync(path.join(root, 'pw-empty'), '\nx\n');
  writeFileSync(path.join(root, 'pw-ctl'), 'ab\x07c\n');
  host = new RootTransport(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const good: CheckedOptions = {
  disk: '/srv/xen/win7.img',
  iso: '/srv/iso/win7.iso',
  'config-dir': '/etc/xen',
  'vnc-listen': '127.0.0.1',
  memory: 4096 * MiB,
  'pv-drivers': false,
  installed: false,
};
const fails = async (o: Partial<CheckedOptions>, re: RegExp) => {
  const e = await checkOptions({ ...good, ...o }, host).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(UsageError);
  expect((e as UsageError).message).toMatch(re);
};

describe('checkOptions', () => {
  it('accepts a complete installation, an ISO reached by a link, and an installed guest without ISO', async () => {
    await checkOptions(good, host);
    await checkOptions({ ...good, iso: '/srv/iso/latest.iso' }, host);
    await checkOptions({ ...good, iso: undefined, installed: true }, host);
    await checkOptions({ ...good, 'pv-drivers': true, 'max-memory': 8192 * MiB, 'vnc-listen': '::1' }, host);
  });

  it('paths must be absolute; an ISO is needed to install, and must be a file', async () => {
    await fails({ disk: 'win7.img' }, /^--disk win7\.img: give an absolute path$/);
    await fails({ 'vnc-password-file': 'pw' }, /^--vnc-password-file pw: give an absolute path$/);
    await fails({ iso: undefined }, /^--iso is required to install Windows/);
    await fails({ iso: '/srv/iso/none.iso' }, /^--iso \/srv\/iso\/none\.iso: no such file$/);
    await fails({ iso: '/srv/iso/dir.iso' }, /is not a file$/);
  });

  it('memory in whole MiB; maxmem above memory only with PV drivers, and never below it', async () => {
    await fails({ memory: 4096 * MiB + 1 }, /^--memory .*: give a whole number of MiB$/);
    const e = await checkOptions({ ...good, 'max-memory': 8192 * MiB }, host).catch((x: unknown) => x);
    expect((e as UsageError).message).toMatch(/^--max-memory needs --pv-drivers/);
    expect((e as UsageError).hint).toMatch(/reboots in a loop/);
    await fails({ 'pv-drivers': true, 'max-memory': 1024 * MiB }, /^--max-memory 1GiB is below --memory 4GiB$/);
    await fails({ 'pv-drivers': true, 'max-memory': 8192 * MiB + 5 }, /^--max-memory: give a whole number of MiB$/);
  });

  it('--disk-size goes with an image file; --vnc-listen must be an address', async () => {
    await fails({ disk: '/dev/vg0/win7', 'disk-size': 40 * 1024 * MiB }, /^--disk-size goes with an image file/);
    await fails({ 'vnc-listen': 'localhost' }, /^--vnc-listen localhost: give an IP address/);
    await fails({ 'vnc-listen': '256.1.1.1' }, /give an IP address/);
  });

  it('the loopback is local: 127.x and ::1', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1'].map(isLocalListen)).toEqual([true, true, true]);
    expect(['0.0.0.0', '192.168.1.2', '::'].map(isLocalListen)).toEqual([false, false, false]);
  });
});

describe('readVncPassword', () => {
  const warnings: string[] = [];
  const log: Logger = { info: () => {}, warn: (t) => warnings.push(t), detail: () => {} };

  it('the first line of the file is the password; longer than 8 is a warning', async () => {
    expect(await readVncPassword('/pw', host, log)).toBe('secret');
    expect(warnings).toEqual([]);
    expect(await readVncPassword('/pw-long', host, log)).toBe('a-very-long-password');
    expect(warnings).toEqual(['the VNC password has 20 characters; VNC uses only the first 8']);
  });

  it('an empty first line or control characters are bad input', async () => {
    await expect(readVncPassword('/pw-empty', host, log)).rejects.toThrow(
      new UsageError('--vnc-password-file /pw-empty: the first line is empty'),
    );
    await expect(readVncPassword('/pw-ctl', host, log)).rejects.toThrow(/control characters in the password/);
  });
});
