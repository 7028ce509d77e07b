import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SIM_BIN, runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { readXl, seedXl } from '../sim/xl.mjs';

// Hosts such as XCP-ng's dom0 cannot run Node: the playbook runs on a workstation and every
// command and file goes over ssh. Here the host is this machine behind a real sshd.
let sshd: Sshd;
let sim: string;
let etc: string;

beforeAll(async () => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-ssh-'));
  etc = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-ssh-etc-'));
  sshd = await startSshd({ env: { PATH: `${SIM_BIN}:/usr/local/bin:/usr/bin:/bin`, XR_SIM_DIR: sim } });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(sim, { recursive: true, force: true });
  rmSync(etc, { recursive: true, force: true });
});

describe('xen-qos over ssh', () => {
  it('reads, applies and persists on the remote host', async () => {
    seedXl(sim, {
      info: { nr_cpus: 4, xen_scheduler: 'credit2' },
      domains: [{ name: 'vm01', type: 'pv', vcpus: 2, maxvcpus: 4, memory: 1024, maxmem: 2048, pvDrivers: true }],
    });
    const cfg = path.join(etc, 'vm01.cfg');
    copyFileSync(path.join(ROOT, 'test/fixtures/qos/vm01.cfg'), cfg);
    const args = ['vm01', '--host', sshd.destination, '--ssh-config', sshd.configFile, '--toolstack', 'xl'];
    const r = await runPlaybook('xen-qos', [
      ...args,
      '--config',
      cfg,
      '--cpu-cap',
      '100',
      '--vcpus',
      '4',
      '--persist',
      '--yes',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readXl(sim)?.domains[1]).toMatchObject({ cap: 100, vcpus: 4 });
    expect(readFileSync(cfg, 'utf8')).toMatch(/^vcpus = 4$/m);
    expect(readFileSync(cfg, 'utf8')).toMatch(/^cap = 100$/m);
    expect(readFileSync(`${cfg}.orig`, 'utf8')).toBe(
      readFileSync(path.join(ROOT, 'test/fixtures/qos/vm01.cfg'), 'utf8'),
    );
  });
});
