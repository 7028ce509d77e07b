import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError, StepError, UsageError } from '../../src/engine/errors.js';
import { configCandidates, detectToolstack, readDomain } from '../../src/playbooks/xen-qos/read-domain.js';
import { ROOT } from '../helpers/playbook.js';
import { GiB, MiB, seedXe } from '../sim/xe.mjs';
import { seedXl } from '../sim/xl.mjs';
import { simulated, testHost } from './host.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/qos');
const MAC0 = '00:16:3e:2b:11:83';
const MAC1 = '00:16:3e:2b:11:84';

let sim: string;
let root: string;
beforeEach(() => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-read-sim-'));
  root = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-read-root-'));
});
afterEach(() => {
  rmSync(sim, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

const host = () => testHost(root, simulated(sim));
function file(at: string, fixture: string) {
  mkdirSync(path.dirname(path.join(root, at)), { recursive: true });
  copyFileSync(path.join(FIXTURES, fixture), path.join(root, at));
}

describe('detectToolstack', () => {
  it('xe where /etc/xensource-inventory is, else the first of xl and xm that answers, else a failure', async () => {
    seedXl(sim, {});
    expect(await detectToolstack(host())).toBe('xl');
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/xensource-inventory'), "INSTALLATION_UUID='x'\n");
    expect(await detectToolstack(host())).toBe('xe');
    const none = testHost(mkdtempSync(path.join(os.tmpdir(), 'xr-qos-none-')), () => ({
      code: 1,
      stdout: '',
      stderr: 'no',
    }));
    await expect(detectToolstack(none)).rejects.toThrow(StepError);
    expect(none.commands).toEqual(['xl info', 'xm info']);
  });
});

describe('readDomain under xl', () => {
  const vm01 = {
    name: 'vm01',
    type: 'pv' as const,
    memory: 1024,
    maxmem: 2048,
    vcpus: 2,
    maxvcpus: 4,
    pvDrivers: true,
    weight: 512,
    vifs: [
      { mac: MAC0, bridge: 'xenbr0' },
      { mac: MAC1, bridge: 'xenbr1', rate: '100Mb/s' },
    ],
    disks: [
      { vdev: 'xvda', target: '/dev/vg0/vm01-disk' },
      { vdev: 'xvdb', target: '/dev/vg0/vm01-data' },
    ],
  };

  it('reads a running domain from xl list -l, xl sched-credit2 and xenstore', async () => {
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit2' }, domains: [vm01] });
    file('etc/xen/vm01.cfg', 'vm01.cfg');
    const h = host();
    const { facts: f } = await readDomain(h, 'xl', 'vm01', undefined);
    expect(f).toMatchObject({
      toolstack: 'xl',
      name: 'vm01',
      state: 'running',
      domid: 1,
      guestType: 'pv',
      scheduler: 'credit2',
      nrCpus: 4,
      sched: { weight: 512, cap: 0 },
      vcpus: 2,
      maxVcpus: 4,
      memory: 1024 * MiB,
      maxMemory: 2048 * MiB,
      configPath: '/etc/xen/vm01.cfg',
    });
    expect(f.vifs.map((v) => [v.index, v.mac, v.params?.bridge, v.backendState])).toEqual([
      [0, MAC0, 'xenbr0', 4],
      [1, MAC1, 'xenbr1', 4],
    ]);
    // 100Mb/s = 12 500 000 B/s; at xl's default 50 ms: 625 000 bytes per interval.
    expect(f.vifs[1]?.credit).toEqual({ bytesPerInterval: 625_000, intervalUs: 50_000 });
    expect(f.vifs[0]?.credit).toBeUndefined();
    expect(f.disks).toEqual([{ vdev: 'xvda' }, { vdev: 'xvdb' }]);
    expect(h.commands).toContain('xl sched-credit2 -d 1');
  });

  it('reads a halted domain from its file, and says where it looked when there is none', async () => {
    seedXl(sim, { info: { nr_cpus: 4 } });
    file('etc/xen/vm01', 'vm01.cfg');
    const { facts: f } = await readDomain(host(), 'xl', 'vm01', undefined);
    expect(f.state).toBe('halted');
    expect(f.configPath).toBe('/etc/xen/vm01');
    expect(f.vifs.map((v) => v.mac)).toEqual([MAC0, MAC1]);
    expect(f.stored.vcpus).toBe(f.vcpus);
    rmSync(path.join(root, 'etc/xen/vm01'));
    await expect(readDomain(host(), 'xl', 'vm01', undefined)).rejects.toThrow(
      /vm01 is not running and has no configuration file \(looked at \/etc\/xen\/vm01\.cfg, \/etc\/xen\/vm01\): give --config FILE/,
    );
    await expect(readDomain(host(), 'xl', 'vm01', '/srv/vm01.cfg')).rejects.toThrow(
      '--config /srv/vm01.cfg: no such file',
    );
  });

  it("passes over a file found by the domain's name that names another domain (name =), and says so", async () => {
    seedXl(sim, { info: { nr_cpus: 4 } });
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'name = "vm01-old"\nmemory = 512\n');
    await expect(readDomain(host(), 'xl', 'vm01', undefined)).rejects.toThrow(
      'vm01 is not running and has no configuration file (looked at /etc/xen/vm01.cfg, which is the configuration of vm01-old, /etc/xen/vm01)',
    );
    file('etc/xen/vm01', 'vm01.cfg');
    const { facts: f } = await readDomain(host(), 'xl', 'vm01', undefined);
    expect(f.configPath).toBe('/etc/xen/vm01');
  });

  it('refuses a config file that is not one (exit 2)', async () => {
    seedXl(sim, {});
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'vcpus = [\n');
    await expect(readDomain(host(), 'xl', 'vm01', undefined)).rejects.toThrow(UsageError);
  });

  it('refuses (exit 2) an xm file with Python beyond KEY = VALUE, naming the line, rather than guess', async () => {
    seedXl(sim, { xend: true });
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    writeFileSync(
      path.join(root, 'etc/xen/vm02.cfg'),
      "name = 'vm02'\nimport os\nmemory = 512\nvcpus = int(os.environ.get('VCPUS', '2'))\n",
    );
    const r = readDomain(host(), 'xm', 'vm02', undefined);
    await expect(r).rejects.toThrow(UsageError);
    await expect(readDomain(host(), 'xm', 'vm02', undefined)).rejects.toThrow(
      /^\/etc\/xen\/vm02\.cfg: line 2 \(import os\): .*; line 4 \(vcpus = int\(os\.environ\.get\('VCPUS', '2'\)\)\): .*xend runs this file as Python/,
    );
  });

  it('xm looks in Oracle VM’s places too', () => {
    expect(configCandidates('vm02', 'xm')).toEqual([
      '/etc/xen/vm02.cfg',
      '/etc/xen/vm02',
      '/OVS/running_pool/vm02/vm.cfg',
      '/etc/xen/auto/vm02',
    ]);
    expect(configCandidates('vm02', 'xl')).toHaveLength(2);
  });
});

describe('readDomain under xm (xend’s S-expressions)', () => {
  it('reads the running domain from xm list --long and xm network-list', async () => {
    seedXl(sim, {
      xend: true,
      info: { nr_cpus: 4, xen_scheduler: 'credit' },
      domains: [
        {
          name: 'vm02',
          type: 'pv',
          memory: 1024,
          maxmem: 1024,
          vcpus: 2,
          maxvcpus: 2,
          vifs: [{ mac: MAC0, bridge: 'xenbr0', rate: '8Mb/s' }],
          disks: [{ vdev: 'xvda', target: '/dev/vg0/vm02' }],
        },
      ],
    });
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    writeFileSync(path.join(root, 'etc/ovs-release'), 'Oracle VM server release 3.4.6\n');
    const { facts: f } = await readDomain(host(), 'xm', 'vm02', undefined);
    expect(f).toMatchObject({ toolstack: 'xm', state: 'running', vcpus: 2, maxVcpus: 2, oracleVm: true });
    expect(f.memory).toBe(1024 * MiB);
    expect(f.vifs).toHaveLength(1);
    expect(f.vifs[0]).toMatchObject({ index: 0, mac: MAC0, credit: { bytesPerInterval: 50_000, intervalUs: 50_000 } });
    expect(f.disks).toEqual([{ vdev: 'xvda' }]);
  });
});

describe('readDomain under xe', () => {
  function xcp(power: 'running' | 'halted', otherHost = false) {
    const seeded = seedXe(sim, {
      sr: { name: 'Local storage', type: 'ext', device: '/dev/sdb' },
      vms: [
        {
          name: 'web01',
          powerState: power,
          vcpusMax: 4,
          vcpusAtStartup: 2,
          memory: { staticMin: 512 * MiB, dynamicMin: 1 * GiB, dynamicMax: 1 * GiB, staticMax: 2 * GiB },
          vifs: [{ mac: '00:16:3e:5a:01:01' }],
          vbds: [{ size: 20 * GiB, userdevice: '0' }],
        },
      ],
    });
    const vm = seeded.state.objects.vm?.[seeded.vms.web01?.uuid ?? ''];
    seedXl(sim, {
      info: { nr_cpus: 8, xen_scheduler: 'credit' },
      domains:
        power === 'running'
          ? [{ name: 'web01', domid: Number(vm?.['dom-id']), type: 'hvm', vcpus: 2, maxvcpus: 4, memory: 1024 }]
          : [],
    });
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    const here = otherHost ? '6f0b2a9c-0000-4000-8000-00000000beef' : seeded.host;
    writeFileSync(path.join(root, 'etc/xensource-inventory'), `INSTALLATION_UUID='${here}'\n`);
    return seeded;
  }

  it('reads the VM, its VIF and disk from xapi, and the scheduler through xl on its own host', async () => {
    const seeded = xcp('running');
    const h = host();
    const r = await readDomain(h, 'xe', 'web01', undefined);
    expect(r.facts).toMatchObject({
      toolstack: 'xe',
      uuid: seeded.vms.web01?.uuid,
      state: 'running',
      vcpus: 2,
      maxVcpus: 4,
      memory: GiB,
      maxMemory: 2 * GiB,
      minMemory: 512 * MiB,
      sched: { weight: 256, cap: 0 },
      stored: { weight: 256, cap: 0, vcpus: 2, maxVcpus: 4 },
    });
    expect(r.facts.vifs[0]).toMatchObject({ index: 0, mac: '00:16:3e:5a:01:01', qosType: '' });
    expect(r.facts.disks[0]).toMatchObject({ aliases: ['0'] });
    expect(r.residentOn).toBe(seeded.host);
    expect(r.hostUuid).toBe(seeded.host);
    expect(r.dynamicRange).toBeUndefined();
    expect(h.commands.some((c) => c.startsWith('xl sched-credit -d '))).toBe(true);
  });

  it('does not ask xl for a VM that runs on another host of the pool', async () => {
    xcp('running', true);
    const h = host();
    const r = await readDomain(h, 'xe', 'web01', undefined);
    expect(r.hostUuid).not.toBe(r.residentOn);
    expect(r.facts.sched).toBeUndefined();
    expect(h.commands.some((c) => c.startsWith('xl sched-credit'))).toBe(false);
  });

  it('a halted VM has no domid and no host; an unknown name is bad input', async () => {
    xcp('halted');
    const r = await readDomain(host(), 'xe', 'web01', undefined);
    expect(r.facts.state).toBe('halted');
    expect(r.facts.domid).toBeUndefined();
    expect(r.residentOn).toBeUndefined();
    await expect(readDomain(host(), 'xe', 'web02', undefined)).rejects.toThrow('xe knows no VM named web02');
  });

  it('refuses a paused or suspended VM (exit 3)', async () => {
    const seeded = xcp('halted');
    const state = seeded.state;
    const vm = state.objects.vm?.[seeded.vms.web01?.uuid ?? ''];
    if (vm) vm['power-state'] = 'suspended';
    seedXe(sim, state);
    await expect(readDomain(host(), 'xe', 'web01', undefined)).rejects.toThrow(RefusedError);
  });
});
