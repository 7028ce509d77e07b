import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport, StepError, templateToArgv } from '../../src/engine/index.js';
import { lockImage } from '../../src/disk/lock.js';
import { runSample } from '../helpers/sample.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const t = (pieces: TemplateStringsArray, ...values: unknown[]) => templateToArgv(pieces, values);
let sshd: Sshd;
let dir: string;
let ssh: SshTransport;
beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-ssh-'));
  ssh = new SshTransport({ destination: sshd.destination, configFile: sshd.configFile });
});
afterAll(async () => {
  await ssh?.close();
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const HOSTILE = ['a; rm -rf /', '$(reboot)', '`id`', "it's", '"dq"', 'two\nlines', '-rf', '*', '', '\\', '$HOME'];

describe('the ssh transport against a real sshd on 127.0.0.1', () => {
  it.each(HOSTILE)('sends %j to the remote shell as one argument', async (value) => {
    const r = await ssh.exec(t`printf ${'%s\\0'} ${value} end`);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual([value, 'end']);
  });

  it('reads, writes atomically keeping the mode, backs up once, and stats files', async () => {
    const f = path.join(dir, "odd name's.cfg");
    writeFileSync(f, 'old\n');
    chmodSync(f, 0o640);
    expect(await ssh.readText(f)).toBe('old\n');
    expect(await ssh.readText(path.join(dir, 'missing'))).toBeUndefined();
    expect(await ssh.backup(f)).toBe(`${f}.orig`);
    await ssh.writeFileAtomic(f, 'new\n');
    expect(await ssh.backup(f)).toBeUndefined();
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(readFileSync(`${f}.orig`, 'utf8')).toBe('old\n');
    expect(statSync(f).mode & 0o7777).toBe(0o640);
    expect(await ssh.stat(f)).toMatchObject({ type: 'file', mode: 0o640, size: 4 });
    expect(await ssh.stat(path.join(dir, 'missing'))).toBeUndefined();
    await ssh.mkdir(path.join(dir, 'a/b'));
    await ssh.symlink('a/b', path.join(dir, 'link'));
    expect(await ssh.readlink(path.join(dir, 'link'))).toBe('a/b');
    expect(await ssh.stat(path.join(dir, 'link'))).toMatchObject({ type: 'symlink' });
    expect(await ssh.readdir(dir)).toEqual(['a', 'link', "odd name's.cfg", "odd name's.cfg.orig"]);
    const bin = Buffer.from([0, 1, 2, 255, 10, 13]);
    await ssh.writeFileAtomic(path.join(dir, 'bin'), bin, { mode: 0o600 });
    expect(Buffer.compare(await ssh.readFile(path.join(dir, 'bin')), bin)).toBe(0);
    expect(statSync(path.join(dir, 'bin')).mode & 0o7777).toBe(0o600);
  });

  it('runs a playbook over --host: same result as locally', async () => {
    const f = path.join(dir, 'remote.conf');
    writeFileSync(f, 'before\n');
    const args = ['vm-remote', '--file', f, '--host', sshd.destination, '--ssh-config', sshd.configFile];
    const dry = await runSample([...args, '--dry-run', '--json', '--value=a; rm -rf /']);
    expect(dry.code).toBe(0);
    expect(dry.json.host).toBe(`ssh ${sshd.destination}`);
    expect(dry.json.data.argv).toEqual(['a; rm -rf /', 'end']);
    expect(readFileSync(f, 'utf8')).toBe('before\n');
    const run = await runSample([...args, '--yes']);
    expect(run.code).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe('name = vm-remote\ncount = 2\nmode = safe\n');
    expect(readFileSync(`${f}.orig`, 'utf8')).toBe('before\n');
    const again = await runSample([...args, '--yes', '--json']);
    expect(again.json.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok']);
  });

  it('checks the host key: an unknown host fails without prompting (exit 1)', async () => {
    const cfg = path.join(dir, 'no-known-hosts');
    writeFileSync(
      cfg,
      readFileSync(sshd.configFile, 'utf8').replace(
        /UserKnownHostsFile .*/,
        `UserKnownHostsFile ${path.join(dir, 'empty_known_hosts')}`,
      ),
    );
    const t = new SshTransport({ destination: sshd.destination, configFile: cfg });
    await expect(t.exec(['true'])).rejects.toBeInstanceOf(StepError);
    await expect(t.exec(['true'])).rejects.toThrow(/Host key verification failed/);
    expect(existsSync(path.join(dir, 'empty_known_hosts'))).toBe(false);
    const r = await runSample([
      '--file',
      path.join(dir, 'x'),
      '--host',
      sshd.destination,
      '--ssh-config',
      cfg,
      '--yes',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ssh to .* failed: [^]*Host key verification failed/);
  });
});

describe('a host whose shell prints something for every command', () => {
  let noisy: Sshd;
  let noisyDir: string;
  beforeAll(async () => {
    noisyDir = mkdtempSync(path.join(os.tmpdir(), 'xr-ssh-noisy-'));
    // bash reads BASH_ENV for every non-interactive shell, as a chatty ~/.bashrc is read for
    // every command sshd runs.
    writeFileSync(path.join(noisyDir, 'rc.sh'), 'echo "Welcome to dom0"\n');
    noisy = await startSshd({ env: { BASH_ENV: path.join(noisyDir, 'rc.sh') } });
  });
  afterAll(async () => {
    await noisy?.stop();
    rmSync(noisyDir, { recursive: true, force: true });
  });

  it('is refused before the first command, with what it printed and the way out (exit 1, nothing written)', async () => {
    const t = new SshTransport({ destination: noisy.destination, configFile: noisy.configFile });
    await expect(t.exec(['cat', '/etc/hostname'])).rejects.toBeInstanceOf(StepError);
    await expect(t.exec(['true'])).rejects.toThrow(/prints "Welcome to dom0" besides each command's own output/);
    await t.close();
    // The processes a run keeps talking to start through the same check: the image lock first.
    const lockFirst = new SshTransport({ destination: noisy.destination, configFile: noisy.configFile });
    await expect(
      lockImage(path.join(noisyDir, 'rc.sh'), { exclusive: false, waitSeconds: 1, host: lockFirst }),
    ).rejects.toThrow(/prints "Welcome to dom0"/);
    await lockFirst.close();
    const f = path.join(noisyDir, 'remote.conf');
    writeFileSync(f, 'before\n');
    const r = await runSample([
      'vm-noisy',
      '--file',
      f,
      '--host',
      noisy.destination,
      '--ssh-config',
      noisy.configFile,
      '--yes',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ -z "$PS1" ] && return');
    expect(readFileSync(f, 'utf8')).toBe('before\n');
    expect(existsSync(`${f}.orig`)).toBe(false);
  });
});
