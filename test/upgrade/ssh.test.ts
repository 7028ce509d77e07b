// Over ssh: the guests read on one host (--host) and the target read on another (--to-host), here
// both this machine behind a real sshd, with the xl simulator answering `xl info` as Xen 4.17.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_BIN, runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { seedXl } from '../sim/xl.mjs';

let sshd: Sshd;
let sim: string;
let dir: string;

beforeAll(async () => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-upgrade-ssh-'));
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-upgrade-ssh-cfg-'));
  sshd = await startSshd({ env: { PATH: `${SIM_BIN}:/usr/local/bin:/usr/bin:/bin`, XR_SIM_DIR: sim } });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(sim, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('xen-upgrade-check over ssh', () => {
  it('reads the target with xl info on the new host, looks for the files there, and does not read images remotely', async () => {
    seedXl(sim, { info: { xen_major: 4, xen_minor: 17, xen_extra: '.3' } });
    const configs = path.join(dir, 'configs');
    mkdirSync(configs);
    writeFileSync(path.join(dir, 'vmlinuz'), 'not really a kernel');
    writeFileSync(path.join(configs, 'direct.cfg'), `name = "direct"\nkernel = "${dir}/vmlinuz"\nmemory = 256\n`);
    writeFileSync(path.join(configs, 'gone.cfg'), `name = "gone"\nkernel = "${dir}/nothing-here"\nmemory = 256\n`);
    writeFileSync(
      path.join(configs, 'grub.cfg'),
      `name = "grub"\nbootloader = "pygrub"\ndisk = ['format=raw, vdev=xvda, access=rw, target=${dir}/grub.img']\n`,
    );
    const ssh = ['--host', sshd.destination, '--ssh-config', sshd.configFile];
    const r = await runPlaybook('xen-upgrade-check', [
      ...ssh,
      '--to-host',
      sshd.destination,
      '--config-dir',
      configs,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.data.target).toMatchObject({ release: '4.17.3', toolstack: 'xl' });
    expect(r.json.data.target.from).toMatch(/: xl$/);
    const mine = (r.json.data.guests as { name: string; verdict: string; reasons: { id: string }[] }[])
      .filter((g) => ['direct', 'gone', 'grub'].includes(g.name))
      .map((g) => [g.name, g.verdict, g.reasons.map((x) => x.id)]);
    expect(mine).toEqual([
      ['direct', 'starts', []],
      ['gone', 'will-not-start', ['kernel-missing']],
      ['grub', 'cannot-tell', ['image-remote']],
    ]);
  });
});
