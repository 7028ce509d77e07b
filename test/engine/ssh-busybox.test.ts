// A dom0 whose userland is BusyBox (Alpine, small appliances) has no GNU coreutils: the ssh
// transport's remote scripts must use only what both offer (no `chmod --reference`).
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/engine/index.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tool } from '../helpers/tools.js';

let sshd: Sshd;
let dir: string;
let ssh: SshTransport;
beforeAll(async () => {
  const busybox = tool('busybox');
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-bb-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean))
    symlinkSync(busybox, path.join(bin, applet));
  sshd = await startSshd({ env: { PATH: bin } });
  ssh = new SshTransport({ destination: sshd.destination, configFile: sshd.configFile });
});
afterAll(async () => {
  await ssh?.close();
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the ssh transport on a host whose userland is BusyBox', () => {
  it('the remote commands really are BusyBox applets', async () => {
    const r = await ssh.exec(['chmod', '--help'], { nothrow: true });
    expect(r.stdout + r.stderr).toMatch(/^BusyBox v/m);
  });

  it('an atomic write keeps the owner and the mode, special bits included', async () => {
    const f = path.join(dir, 'vm.cfg');
    writeFileSync(f, 'old\n');
    chownSync(f, 1234, 5678);
    chmodSync(f, 0o2750);
    await ssh.writeFileAtomic(f, 'new\n');
    const st = statSync(f);
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 1234, gid: 5678, mode: 0o2750 });
  });

  it('a new file gets the mode asked for, and stat, snapshot and backup work', async () => {
    const f = path.join(dir, 'new.cfg');
    await ssh.writeFileAtomic(f, 'x\n', { mode: 0o600 });
    expect(statSync(f).mode & 0o7777).toBe(0o600);
    expect(await ssh.stat(f)).toMatchObject({ type: 'file', mode: 0o600, size: 2 });
    const snap = await ssh.snapshot(f);
    expect(snap?.bytes.toString()).toBe('x\n');
    expect(snap?.identity).toMatch(/^\d+:\d+:.+:2$/);
    expect(await ssh.backup(f)).toBe(`${f}.orig`);
    expect(readFileSync(`${f}.orig`, 'utf8')).toBe('x\n');
    expect(await ssh.readSecret(f, 64)).toEqual(Buffer.from('x\n'));
  });
});
