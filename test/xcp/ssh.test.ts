import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIM_BIN, runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tool } from '../helpers/tools.js';
import { addMaster, createState, seedXe, writeXe } from '../sim/xe.mjs';
import { hostTree, loopDevice, normalizedXe, objects, statuses, workdir, xcp, xeCalls } from './rig.js';

// One sshd for the file: every session sees the simulators first on PATH and this state directory.
const remoteSim = mkdtempSync(path.join(os.tmpdir(), 'xr-xcp-ssh-'));
let sshd: Sshd;
let w: ReturnType<typeof workdir>;
let disk: ReturnType<typeof loopDevice>;

beforeAll(async () => {
  tool('losetup');
  sshd = await startSshd({ env: { PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`, XR_SIM_DIR: remoteSim } });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(remoteSim, { recursive: true, force: true });
});
beforeEach(() => {
  w = workdir();
  disk = loopDevice(w.dir);
  rmSync(path.join(remoteSim, 'calls.jsonl'), { force: true });
});
afterEach(() => {
  disk.detach();
  w.cleanup();
});

/** Run over ssh: nothing of the simulators on this side; xe, lsblk, blkid run in the ssh session. */
const overSsh = (args: readonly string[]) =>
  runPlaybook('xcp-install', ['--host', sshd.destination, '--ssh-config', sshd.configFile, ...args]);

describe('xcp-install --host (real OpenSSH on 127.0.0.1)', () => {
  it('ends in the same state as the --root run, and a second run changes nothing', async () => {
    const args = [
      '--yes',
      '--json',
      '--sr-device',
      disk.path,
      '--sr-type',
      'ext',
      '--vm-name',
      'web01',
      '--template',
      'CentOS 7',
      '--memory',
      '1G',
      '--vcpus',
      '2',
      '--install-repository',
      'http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/',
    ];
    const local = path.join(w.dir, 'sim');
    seedXe(local);
    const viaRoot = await xcp(args, { root: hostTree('xcp-ng-8.2', w.dir), sim: local });
    expect(viaRoot.code, viaRoot.stderr).toBe(0);

    seedXe(remoteSim);
    const viaSsh = await overSsh(args);
    expect(viaSsh.code, viaSsh.stderr).toBe(0);
    expect(viaSsh.json.host).toBe(`ssh ${sshd.destination}`);
    expect(statuses(viaSsh.json)).toEqual(statuses(viaRoot.json));
    expect(normalizedXe(remoteSim)).toBe(normalizedXe(local));
    expect(xeCalls(remoteSim)).toEqual(xeCalls(local));

    const again = await overSsh(args);
    expect(again.code, again.stderr).toBe(0);
    for (const [id, s] of Object.entries(statuses(again.json))) expect(['ok', 'skipped'], id).toContain(s);
  });

  it('keeps hostile VM names one argument through the remote shell', async () => {
    seedXe(remoteSim);
    const names = ['a; rm -rf / $(reboot)', `it's "quoted" \\ * ?[a]`, '-x'];
    for (const name of names) {
      const r = await overSsh(['--yes', `--vm-name=${name}`, '--template', 'CentOS 7']);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(
        xeCalls(remoteSim)
          .filter((a) => a[0] === 'vm-install')
          .at(-1),
      ).toContain(`new-name-label=${name}`);
      expect(
        objects(remoteSim, 'vm').filter((v) => v['name-label'] === name),
        name,
      ).toHaveLength(1);
    }
  });

  it('joins a pool with the password on standard input: never on the ssh command line', async () => {
    const password = `pa ss'"$(id)`;
    const state = createState({ hostName: os.hostname() });
    addMaster(state, '192.0.2.10', { password, poolName: 'production' });
    writeXe(remoteSim, state);
    const file = path.join(w.dir, 'pw');
    writeFileSync(file, `${password}\n`);
    chmodSync(file, 0o600);
    const r = await overSsh(['--yes', '--verbose', '--join-pool', '192.0.2.10', '--pool-password-file', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\+ \[ssh [^\]]+\] sh -c .* xcp-install 192\.0\.2\.10 root/);
    expect(r.stderr).not.toContain('pa ss');
    expect(xeCalls(remoteSim).find((a) => a[0] === 'pool-join')).toContain(`master-password=${password}`);
    expect(objects(remoteSim, 'pool')[0]?.['name-label']).toBe('production');
  });
});
