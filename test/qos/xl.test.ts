import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, runPlaybook } from '../helpers/playbook.js';
import { readXl, runXl, seedXl } from '../sim/xl.mjs';
import type { XlSeed, XlSeedDomain } from '../sim/xl.mjs';
import { MODEL, decide } from '../../src/xen/qos.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/qos');
const MAC0 = '00:16:3e:2b:11:83';
const MAC1 = '00:16:3e:2b:11:84';

let sim: string;
let root: string;

beforeEach(() => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-sim-'));
  root = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-root-'));
});
afterEach(() => {
  rmSync(sim, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

/** vm01 as test/fixtures/qos/vm01.cfg describes it, running with 2 of 4 vCPUs and 1024 of 2048 MiB. */
function vm01(over: Partial<XlSeedDomain> = {}): XlSeedDomain {
  return {
    name: 'vm01',
    type: 'pv',
    memory: 1024,
    maxmem: 2048,
    vcpus: 2,
    maxvcpus: 4,
    pvDrivers: true,
    vifs: [
      { mac: MAC0, bridge: 'xenbr0' },
      { mac: MAC1, bridge: 'xenbr1', rate: '100Mb/s' },
    ],
    disks: [
      { vdev: 'xvda', target: '/dev/vg0/vm01-disk' },
      { vdev: 'xvdb', target: '/dev/vg0/vm01-data' },
    ],
    ...over,
  };
}

function host(seed: XlSeed = {}, config: string | false = 'vm01.cfg', at = 'etc/xen/vm01.cfg') {
  seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit2' }, domains: [vm01()], ...seed });
  if (config) {
    mkdirSync(path.dirname(path.join(root, at)), { recursive: true });
    copyFileSync(path.join(FIXTURES, config), path.join(root, at));
  }
}

const cfgText = (at = 'etc/xen/vm01.cfg') => readFileSync(path.join(root, at), 'utf8');
const simText = () => readFileSync(path.join(sim, 'xl.json'), 'utf8');
const dom = (name = 'vm01') => readXl(sim)?.domains.find((d) => d.name === name);
function calls(): { cmd: string; argv: string[] }[] {
  const f = path.join(sim, 'calls.jsonl');
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];
}
/** Commands that change the host (everything but reading). */
const CHANGING = /^(sched-credit2?|vcpu-set|mem-set|mem-max|network-attach|network-detach)$/;
const changingCalls = () =>
  calls().filter(
    (c) =>
      CHANGING.test(c.argv[0] ?? '') &&
      (!/^sched/.test(c.argv[0] ?? '') || c.argv.includes('-w') || c.argv.includes('-c')),
  );

const qos = (args: string[]) => runPlaybook('xen-qos', ['--root', root, ...args], { sim });

describe('xen-qos with xl', () => {
  it('says for every request when it applies, before anything, and changes nothing under --dry-run', async () => {
    host();
    const before = simText();
    const r = await qos([
      'vm01',
      '--toolstack',
      'xl',
      '--cpu-weight',
      '512',
      '--vcpus',
      '3',
      '--memory',
      '1536',
      '--rate',
      '8Mb/s@50ms',
      '--vif',
      '0',
      '--dry-run',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/--cpu-weight 512: applies live \(xl sched-credit -d DOM -w W.*a restart would lose it/);
    expect(r.stdout).toMatch(/--vcpus 3: applies live \(xl vcpu-set DOM N\)/);
    expect(r.stdout).toMatch(/--memory 1536 MiB: applies live/);
    // dom0 runs Linux 6.1: its netback watches the rate key, so no re-plug is needed.
    expect(r.stdout).toMatch(/--rate 8Mb\/s@50ms: applies live \(xenstore-write \/local\/domain\/0\/backend\/vif/);
    expect(r.stdout).toContain('rate: 8 × 1 000 000 bit/s ÷ 8 = 1 000 000 bytes/s; × 50 ms = 50 000 bytes every 50 ms');
    // The plan comes before the first step that changes anything.
    expect(r.stdout.indexOf('--cpu-weight 512:')).toBeLessThan(r.stdout.indexOf('Set the CPU weight and cap'));
    expect(r.stdout).toContain('would set weight 256 → 512');
    expect(r.stdout).toContain(
      "would write rate 50000,50000 into vif 0's backend: netback applies it at once (dom0 kernel 6.1.0-18-amd64), no re-plug",
    );
    expect(r.stdout).toContain('Nothing was changed');
    expect(simText()).toBe(before);
    expect(cfgText()).toBe(readFileSync(path.join(FIXTURES, 'vm01.cfg'), 'utf8'));
    expect(changingCalls()).toEqual([]);
  });

  it('applies live with the right commands, reports what a restart would lose, and a second run changes nothing', async () => {
    host();
    const args = [
      'vm01',
      '--toolstack',
      'xl',
      '--cpu-weight',
      '512',
      '--cpu-cap',
      '150',
      '--vcpus',
      '3',
      '--memory',
      '1536',
    ];
    const r = await qos([...args, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(changingCalls().map((c) => c.argv)).toEqual([
      ['sched-credit2', '-d', '1', '-w', '512', '-c', '150'],
      ['vcpu-set', '1', '3'],
      ['mem-set', '1', '1536m'],
    ]);
    expect(dom()).toMatchObject({ weight: 512, cap: 150, vcpus: 3, memory: 1536 });
    // No --persist: the config file is untouched and the report says what the next start loses.
    expect(cfgText()).toBe(readFileSync(path.join(FIXTURES, 'vm01.cfg'), 'utf8'));
    expect(existsSync(path.join(root, 'etc/xen/vm01.cfg.orig'))).toBe(false);
    expect(r.json.data.lostOnRestart).toEqual([
      '--cpu-weight 512 (the next start uses weight 256)',
      '--cpu-cap 150 (the next start uses cap 0)',
      '--vcpus 3 (the next start uses 2 vCPUs)',
      '--memory 1536 MiB (the next start uses 1024 MiB)',
    ]);
    expect(r.stderr).toContain('A restart of vm01 would lose: --cpu-weight 512');
    // Every decision the playbook reported is the model's.
    for (const q of r.json.data.requests) expect(q.effect).toBe(MODEL[q.kind as keyof typeof MODEL].xl.running.effect);

    const before = simText();
    const again = await qos([...args, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do: everything was already in place.');
    expect(again.stdout).toContain('weight 512, cap 150: as asked');
    expect(simText()).toBe(before);
  });

  it('--persist writes the config file (the golden rewrite), with a diff and a .orig backup, and sets the rate live', async () => {
    host();
    const args = [
      'vm01',
      '--toolstack',
      'xl',
      '--cpu-weight',
      '512',
      '--cpu-cap',
      '200',
      '--vcpus',
      '3',
      '--memory',
      '1536',
      '--rate',
      '8Mb/s@50ms',
      '--vif',
      '0',
      '--persist',
    ];
    const r = await qos([...args, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(cfgText()).toBe(readFileSync(path.join(FIXTURES, 'vm01.persist.cfg'), 'utf8'));
    expect(readFileSync(path.join(root, 'etc/xen/vm01.cfg.orig'), 'utf8')).toBe(
      readFileSync(path.join(FIXTURES, 'vm01.cfg'), 'utf8'),
    );
    const persist = r.json.steps.find((s: { id: string }) => s.id === 'persist');
    expect(persist.diff).toContain("+vif = [ 'mac=00:16:3e:2b:11:83,bridge=xenbr0,rate=8Mb/s@50ms',");
    expect(persist.diff).toContain('+cpu_weight = 512');
    expect(r.json.data.lostOnRestart).toEqual([]);
    // The VIF: no re-plug; the new credit goes into the backend's rate key, which netback watches.
    expect(changingCalls().filter((c) => /^network/.test(c.argv[0] ?? ''))).toEqual([]);
    expect(
      calls()
        .filter((c) => c.cmd === 'xenstore-write')
        .map((c) => c.argv),
    ).toEqual([['/local/domain/0/backend/vif/1/0/rate', '50000,50000']]);
    expect(dom()?.vifs.find((v) => v.devid === 0)).toMatchObject({ mac: MAC0, enforced: '50000,50000' });
    // A reboot reads libxl's record, not the file: the rate written into xenstore is not in it.
    expect(r.stdout + r.stderr).toMatch(
      /restores the values it started with for --rate 8Mb\/s@50ms; xl config-update vm01 FILE/,
    );

    const before = simText();
    const again = await qos([...args, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(again.stdout).toContain('/etc/xen/vm01.cfg already says so');
    expect(simText()).toBe(before);
  });

  it('leaves the VIF plugged with --no-replug; --persist still writes the rate for the next start', async () => {
    // A dom0 kernel before 4.2: netback reads the rate only when the interface connects.
    host({ info: { nr_cpus: 4, xen_scheduler: 'credit2', release: '3.16.0-4-amd64' } });
    const r = await qos([
      'vm01',
      '--toolstack',
      'xl',
      '--rate',
      '2MB/s',
      '--vif',
      '1',
      '--no-replug',
      '--persist',
      '--yes',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--no-replug: vif 1 keeps its rate until the next start');
    expect(changingCalls()).toEqual([]);
    expect(cfgText()).toContain("'mac=00:16:3e:2b:11:84, bridge=xenbr1, rate=2MB/s' ]");
  });

  it('warns when a guest without a balloon driver is asked to shrink, and not when it has one', async () => {
    host({ domains: [vm01({ type: 'hvm', pvDrivers: false })] });
    const r = await qos(['vm01', '--toolstack', 'xl', '--memory', '512', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: vm01 may have no balloon driver .*shrink from 1024 to 512 MiB/);
    // xl sets the target anyway; the guest keeps its memory.
    expect(dom()).toMatchObject({ memory: 1024, target: 512 });

    host({ domains: [vm01({ memory: 2048 })] });
    const ok = await qos(['vm01', '--toolstack', 'xl', '--memory', '512', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toContain('balloon');
    expect(dom()?.memory).toBe(512);
    expect(calls().some((c) => c.cmd === 'xenstore-read')).toBe(true);
  });

  it('uses sched-credit on a credit host', async () => {
    host({ info: { nr_cpus: 4, xen_scheduler: 'credit' } });
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-weight', 'Intermediate', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(changingCalls().map((c) => c.argv)).toEqual([['sched-credit', '-d', '1', '-w', '50']]);
    expect(r.stdout).toContain('--cpu-weight Intermediate (50): applies live');
  });

  it("uses the scheduler of the domain's cpupool, not Xen's boot default", async () => {
    // Booted with credit2 (xl info), vm01 in a credit pool: sched-credit2 -d would fail on it.
    host({
      info: { nr_cpus: 4, xen_scheduler: 'credit2' },
      cpupools: [
        { name: 'Pool-0', sched: 'credit2', cpus: 2 },
        { name: 'credit', sched: 'credit', cpus: 2 },
      ],
      domains: [vm01({ pool: 'credit' })],
    });
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-weight', 'Intermediate', '--cpu-cap', '50', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(changingCalls().map((c) => c.argv)).toEqual([['sched-credit', '-d', '1', '-w', '50', '-c', '50']]);
    expect(dom()).toMatchObject({ weight: 50, cap: 50 });
  });

  it("a halted domain's pool= names the scheduler its weight and cap will have", async () => {
    host({
      cpupools: [
        { name: 'Pool-0', sched: 'credit2', cpus: 2 },
        { name: 'credit', sched: 'credit', cpus: 2 },
      ],
      domains: [],
    });
    writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), `${cfgText()}pool = "credit"\n`);
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-cap', '50', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).data.domain).toMatchObject({ state: 'halted', scheduler: 'credit' });
  });

  it('keeps the room to grow back when it persists fewer vCPUs or less memory in a file without maxima', async () => {
    host({ domains: [vm01({ vcpus: 4, maxvcpus: 4, memory: 2048, maxmem: 2048 })] }, false);
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'name = "vm01"\ntype = "pv"\nvcpus = 4\nmemory = 2048\n');
    const r = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '2', '--memory', '1024', '--persist', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(cfgText()).toBe('name = "vm01"\ntype = "pv"\nvcpus = 2\nmemory = 1024\nmaxvcpus = 4\nmaxmem = 2048\n');
    const again = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '2', '--memory', '1024', '--persist', '--yes']);
    expect(again.stdout).toContain('Nothing to do');
  });

  it('writes vCPUs above the boot maximum for the next start with --persist, and changes nothing live', async () => {
    host();
    const before = simText();
    const r = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '6', '--persist', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--vcpus 6: needs a restart of the domain');
    expect(r.stdout).toContain('above the boot maximum 4: step persist writes it for the next start');
    expect(cfgText()).toMatch(/^vcpus = 6$/m);
    expect(cfgText()).toMatch(/^maxvcpus = 6$/m);
    expect(simText()).toBe(before);
  });

  it('writes the config file of a halted domain: nothing else exists of it', async () => {
    host({ domains: [] });
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--memory', '4096', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.domain.state).toBe('halted');
    expect(r.stderr).toMatch(
      /--memory 4096 MiB: the domain is halted: written for its next start \(config file: maxmem = M, memory = M\)/,
    );
    for (const q of r.json.data.requests) expect(q.effect).toBe(decide(q.kind, 'xl', 'halted', false).effect);
    expect(cfgText()).toMatch(/^memory = 4096$/m);
    expect(cfgText()).toMatch(/^maxmem = 4096$/m);
    expect(cfgText()).toMatch(/^cpu_weight = 512$/m);
    expect(changingCalls()).toEqual([]);
  });

  it('refuses a config file xl could not read, before anything', async () => {
    host();
    writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'name = "vm01"\nmemory = [1024\n');
    const before = simText();
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/etc/xen/vm01.cfg cannot be read as a domain configuration: /etc/xen/vm01.cfg:');
    expect(simText()).toBe(before);
  });

  it('refuses a halted domain without a config file, naming where it looked', async () => {
    host({ domains: [] }, false);
    const r = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '2', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'vm01 is not running and has no configuration file (looked at /etc/xen/vm01.cfg, /etc/xen/vm01)',
    );
  });
});

describe('the network rate and the vCPUs on the release and guest at hand', () => {
  /** The host's release and dom0 kernel: `xl info` xen_minor and release. */
  const at = (minor: number, release: string, domains = [vm01()]) =>
    host({
      info: { nr_cpus: 4, xen_scheduler: 'credit2', xen_major: 4, xen_minor: minor, xen_extra: '.0', release },
      domains,
    });
  const net = () =>
    changingCalls()
      .filter((c) => /^network/.test(c.argv[0] ?? ''))
      .map((c) => c.argv);
  const RATE = ['vm01', '--toolstack', 'xl', '--rate', '8Mb/s@50ms', '--vif', '0'];

  it('Xen 4.17 with a dom0 kernel older than 4.2: re-plugs with the same devid', async () => {
    at(17, '3.16.0-4-amd64');
    const r = await qos([...RATE, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(net()).toEqual([
      ['network-detach', '1', '0'],
      ['network-attach', '1', `mac=${MAC0}`, 'bridge=xenbr0', 'devid=0', 'rate=8Mb/s@50ms'],
    ]);
    expect(dom()?.vifs.find((v) => v.devid === 0)).toMatchObject({ mac: MAC0, rate: '8Mb/s@50ms' });
  });

  it('re-attaches the interface as libxl has it, not with keys the file gained since (mtu= before Xen 4.15)', async () => {
    at(14, '3.16.0-4-amd64');
    writeFileSync(
      path.join(root, 'etc/xen/vm01.cfg'),
      cfgText().replace(`'mac=${MAC0},bridge=xenbr0'`, `'mac=${MAC0},bridge=xenbr0,mtu=9000'`),
    );
    expect(cfgText()).toContain('mtu=9000');
    const r = await qos([...RATE, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(net()).toEqual([
      ['network-detach', '1', '0'],
      ['network-attach', '1', `mac=${MAC0}`, 'bridge=xenbr0', 'devid=0', 'rate=8Mb/s@50ms'],
    ]);
    expect(dom()?.vifs.find((v) => v.mac === MAC0)).toMatchObject({ devid: 0, rate: '8Mb/s@50ms' });
  });

  it('Xen 4.4 takes no devid=: the interface comes back under a new devid, reported, never left detached', async () => {
    at(4, '3.16.0-4-amd64');
    const r = await qos([...RATE, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(net()).toEqual([
      ['network-detach', '1', '0'],
      ['network-attach', '1', `mac=${MAC0}`, 'bridge=xenbr0', 'rate=8Mb/s@50ms'],
    ]);
    expect(dom()?.vifs.find((v) => v.mac === MAC0)).toMatchObject({ devid: 2, rate: '8Mb/s@50ms' });
    expect(r.json.data.vifDevid).toEqual({ was: 0, now: 2 });
    expect(r.stderr).toContain('vif 0 (00:16:3e:2b:11:83) came back as devid 2');
  });

  it('Xen 4.1 applies rate= nowhere (network-attach drops it, the config file ignores it): refused, with --persist too', async () => {
    at(1, '2.6.32-5-xen-amd64');
    const before = cfgText();
    const r = await qos([...RATE, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("network-attach drops rate= and dom0's kernel 2.6.32-5-xen-amd64 does not watch");
    const p = await qos([...RATE, '--persist', '--yes']);
    expect(p.code, p.stderr).toBe(2);
    expect(p.stderr).toContain('the rate parameter for vifs is currently not supported');
    expect(net()).toEqual([]);
    expect(cfgText()).toBe(before);
  });

  it('an HVM guest without PV drivers is not limited: its traffic goes through QEMU’s emulated NIC', async () => {
    at(17, '6.1.0-18-amd64', [vm01({ type: 'hvm', pvDrivers: false, vifs: [{ mac: MAC0, model: 'e1000' }] })]);
    const r = await qos([...RATE, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no PV network driver and sends through QEMU's emulated NIC, which no rate limits");
    const p = await qos([...RATE, '--persist', '--yes', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json.steps.find((x: { id: string }) => x.id === 'vif-rate').status).toBe('skipped');
    expect(p.stdout).toContain('vif 0 is not limited');
    expect(calls().filter((c) => c.cmd === 'xenstore-write' || /^network-(at|de)tach/.test(c.argv[0] ?? ''))).toEqual(
      [],
    );
    expect(p.json.data.lostOnRestart).toEqual([]);
  });

  it('an HVM guest with PV drivers gets the rate live through xenstore', async () => {
    at(17, '6.1.0-18-amd64', [vm01({ type: 'hvm', pvDrivers: true, vifs: [{ mac: MAC0, model: 'e1000' }] })]);
    const r = await qos([...RATE, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(dom()?.vifs[0]).toMatchObject({ enforced: '50000,50000' });
  });

  it('fewer vCPUs on an HVM guest is not live: refused without --persist, written with it, no vcpu-set', async () => {
    at(17, '6.1.0-18-amd64', [vm01({ type: 'hvm', pvDrivers: true })]);
    const r = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '1', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('xl vcpu-set only writes cpu/N/availability, which an HVM guest ignores');
    const p = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '1', '--persist', '--yes']);
    expect(p.code, p.stderr).toBe(0);
    expect(changingCalls()).toEqual([]);
    expect(cfgText()).toMatch(/^vcpus = 1$/m);
    // More vCPUs are hot-added live, and run once the guest's OS brings them up: the playbook
    // reads back xl list (2 online) and xenstore (3 asked for) and does not claim the change.
    const up = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '3', '--yes', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(dom()?.vcpus).toBe(2);
    const report = JSON.parse(up.stdout);
    expect(report.data.readBack.vcpus).toMatchObject({
      shown: 'xl list shows 2 vCPUs online, xenstore asks for 3',
      done: false,
    });
    expect(report.data.readBack.vcpus.guestMust).toContain("the guest's OS must bring the new vCPU online");
    // A second run sees the request in xenstore and changes nothing.
    const again = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '3', '--yes']);
    expect(again.stdout + again.stderr).toContain(
      "3 vCPUs asked for already (xenstore); 2 online: the guest's OS must bring the rest up",
    );
    expect(changingCalls().filter((c) => c.argv[0] === 'vcpu-set')).toHaveLength(1);
  });

  it('refuses a credit2 cap where xl has none (before Xen 4.10), and under xend', async () => {
    at(9, '4.9.0-8-amd64');
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-cap', '100', '--yes']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('xl sched-credit2 has no cap before Xen 4.10 (this host runs 4.9)');
    expect(changingCalls()).toEqual([]);
    at(10, '4.9.0-8-amd64');
    const ok = await qos(['vm01', '--toolstack', 'xl', '--cpu-cap', '100', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(dom()?.cap).toBe(100);
  });

  it('says what an xl reboot keeps, by release: 4.13 keeps weight, vCPUs and memory; 4.5 only the memory', async () => {
    const args = ['vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--vcpus', '3', '--memory', '1536', '--yes'];
    at(17, '6.1.0-18-amd64');
    const r = await qos(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(
      'An xl reboot of vm01 (Xen 4.17) keeps --cpu-weight 512, --vcpus 3, --memory 1536 MiB;',
    );
    expect(r.stdout + r.stderr).toContain('xl config-update vm01 FILE');
    // The simulator's xl reboot (reload_domain_config) agrees with what the playbook said.
    expect(runXl('xl', ['reboot', 'vm01'], sim).code).toBe(0);
    expect(dom()).toMatchObject({ weight: 512, vcpus: 3, memory: 1536 });
    at(5, '3.16.0-4-amd64', [vm01({ config: { vcpus: 2, maxvcpus: 4, memory: 1024, maxmem: 2048 } })]);
    const old = await qos(args);
    expect(old.stdout + old.stderr).toContain(
      'An xl reboot of vm01 (Xen 4.5) keeps --memory 1536 MiB and restores the values it started with for --cpu-weight 512, --vcpus 3',
    );
    expect(runXl('xl', ['reboot', 'vm01'], sim).code).toBe(0);
    expect(dom()).toMatchObject({ weight: 256, vcpus: 2, memory: 1536 });
    // The scheduler's block in libxl_retrieve_domain_configuration: RELEASE-4.9.0, not in 4.8.0.
    const weightOnly = ['vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--yes'];
    at(9, '4.9.0-8-amd64');
    const r49 = await qos(weightOnly);
    expect(r49.stdout + r49.stderr).toContain('An xl reboot of vm01 (Xen 4.9) keeps --cpu-weight 512');
    expect(runXl('xl', ['reboot', 'vm01'], sim).code).toBe(0);
    expect(dom()).toMatchObject({ weight: 512 });
    at(8, '4.9.0-8-amd64');
    const r48 = await qos(weightOnly);
    expect(r48.stdout + r48.stderr).toContain('restores the values it started with for --cpu-weight 512');
    expect(runXl('xl', ['reboot', 'vm01'], sim).code).toBe(0);
    expect(dom()).toMatchObject({ weight: 256 });
  });
});

describe('every bound, violated once: exit 2, a message naming the bound, nothing changed', () => {
  it.each([
    [['--cpu-weight', '70000'], /CPU weight 70000 is outside the weight bound 1–65535/],
    [['--cpu-weight', 'Highest'], /nor one of High \(100\), Intermediate \(50\), Low \(1\)/],
    [['--cpu-cap', '500'], /CPU cap 500 is outside the cap bound 0 \(none\) to 400 \(100 × 4 host CPUs\)/],
    [['--cpu-cap=-1'], /outside the cap bound 0 \(none\)/],
    [['--vcpus', '5'], /5 vCPUs is outside the live vCPU bound 1 to 4 .*\n.*--persist/],
    [['--memory', '4G'], /memory 4096 MiB is outside the live memory bound 1–2048 MiB/],
    [['--io-priority', '8', '--disk', 'xvda'], /I\/O priority 8 is outside the I\/O priority bound 0–7/],
    [
      ['--rate', '8 Mbit/s'],
      /rate '8 Mbit\/s' does not match NUMBER\(GB\|MB\|KB\|B\|Gb\|Mb\|Kb\|b\)\/s\[@NUMBER\(s\|ms\|us\)\]/,
    ],
    [['--rate', '7b/s', '--vif', '0'], /the credit per interval must be 1 to 4294967295 bytes/],
    [['--io-priority', '2', '--disk', 'xvda'], /xl cannot do this: xl.cfg has no per-disk I\/O priority/],
    [['--inbound-rate', '8Mb/s', '--vif', '0'], /xl cannot do this: xl limits outbound traffic only/],
  ])('%s', async (args, message) => {
    host();
    const before = simText();
    const r = await qos(['vm01', '--toolstack', 'xl', ...args, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(simText()).toBe(before);
    expect(changingCalls()).toEqual([]);
    expect(cfgText()).toBe(readFileSync(path.join(FIXTURES, 'vm01.cfg'), 'utf8'));
  });

  it('refuses more vCPUs than the host has CPUs (xl would refuse to overcommit)', async () => {
    host({ info: { nr_cpus: 2, xen_scheduler: 'credit2' } });
    const before = simText();
    const r = await qos(['vm01', '--toolstack', 'xl', '--vcpus', '4', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("more vCPUs than the host's 2 CPUs");
    expect(simText()).toBe(before);
  });

  it('caps at 100 × the domain’s vCPUs when it has fewer than the host, as libxl does', async () => {
    host({ info: { nr_cpus: 8, xen_scheduler: 'credit2' }, domains: [vm01({ vcpus: 2, maxvcpus: 2 })] });
    const r = await qos(['vm01', '--toolstack', 'xl', '--cpu-cap', '300', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cap bound 0 (none) to 200 (100 × the domain's 2 vCPUs; the host has 8 CPUs)");
  });

  it('wants something to do', async () => {
    host();
    const r = await qos(['vm01', '--toolstack', 'xl']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing to do: give at least one of --rate');
  });
});

describe('xen-qos with xm (Oracle VM 2)', () => {
  const VMCFG = 'OVS/running_pool/vm02/vm.cfg';
  const vm02: XlSeedDomain = {
    name: 'vm02',
    type: 'pv',
    memory: 1024,
    maxmem: 2048,
    vcpus: 2,
    maxvcpus: 2,
    pvDrivers: true,
    vifs: [{ mac: '00:16:3E:2B:11:83', bridge: 'xenbr0', type: 'netfront' }],
    disks: [
      { vdev: 'xvda', target: '/OVS/running_pool/vm02/System.img' },
      { vdev: 'xvdb', target: '/OVS/running_pool/vm02/data.img' },
    ],
  };

  /** Oracle VM Server's dom0 names itself in /etc/ovs-release. */
  const oracle = () => {
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    writeFileSync(path.join(root, 'etc/ovs-release'), 'Oracle VM server release 2.2.2\n');
  };

  it('writes vm.cfg with the Oracle keys (golden), sets the weight with xm sched-credit and re-plugs the VIF', async () => {
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit' }, xend: true, domains: [vm02] });
    oracle();
    mkdirSync(path.join(root, 'OVS/running_pool/vm02'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'vm02.cfg'), path.join(root, VMCFG));
    const args = [
      'vm02',
      '--toolstack',
      'xm',
      '--cpu-weight',
      'High',
      '--rate',
      '8Mb/s@50ms',
      '--inbound-rate',
      '8Mb/s@50ms',
      '--io-priority',
      '2',
      '--io-class',
      'rt',
      '--disk',
      'xvda',
      '--persist',
    ];
    const r = await qos([...args, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(root, VMCFG), 'utf8')).toBe(
      readFileSync(path.join(FIXTURES, 'vm02.persist.cfg'), 'utf8'),
    );
    const byOption = Object.fromEntries(
      r.json.data.requests.map((q: { option: string; effect: string }) => [q.option, q.effect]),
    );
    expect(byOption).toEqual({
      '--cpu-weight': 'live',
      '--rate': 'replug',
      '--inbound-rate': 'restart',
      '--io-priority': 'restart',
    });
    expect(r.stderr).toContain("warning: Oracle VM's High is weight 100, below the default 256");
    expect(changingCalls().map((c) => [c.cmd, ...c.argv])).toEqual([
      ['xm', 'sched-credit', '-d', '1', '-w', '100'],
      ['xm', 'network-detach', '1', '0'],
      ['xm', 'network-attach', '1', 'bridge=xenbr0', 'mac=00:16:3E:2B:11:83', 'type=netfront', 'rate=8Mb/s@50ms'],
    ]);
    expect(dom('vm02')).toMatchObject({ weight: 100 });
    expect(dom('vm02')?.vifs[0]).toMatchObject({ rate: '8Mb/s@50ms' });

    const before = simText();
    const again = await qos([...args, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(simText()).toBe(before);
  });

  it('keeps fewer vCPUs with vcpu_avail and the cap as cpu_cap, as xend reads them', async () => {
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit' }, xend: true, domains: [vm02] });
    mkdirSync(path.join(root, 'OVS/running_pool/vm02'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'vm02.cfg'), path.join(root, VMCFG));
    const r = await qos(['vm02', '--toolstack', 'xm', '--vcpus', '1', '--cpu-cap', '50', '--persist', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(changingCalls().map((c) => [c.cmd, ...c.argv])).toEqual([
      ['xm', 'sched-credit', '-d', '1', '-c', '50'],
      ['xm', 'vcpu-set', '1', '1'],
    ]);
    expect(dom('vm02')).toMatchObject({ vcpus: 1, cap: 50 });
    const text = readFileSync(path.join(root, VMCFG), 'utf8');
    expect(text).toMatch(/^cpu_cap = 50$/m);
    expect(text).toMatch(/^vcpu_avail = 1$/m);
    expect(text).toMatch(/^vcpus = 2$/m);
    const again = await qos(['vm02', '--toolstack', 'xm', '--vcpus', '1', '--cpu-cap', '50', '--persist', '--yes']);
    expect(again.stdout).toContain('Nothing to do');
  });

  it('does not claim a rate on an HVM guest that uses the emulated NIC (xm network-list: state 2)', async () => {
    const hvm: XlSeedDomain = {
      ...vm02,
      type: 'hvm',
      pvDrivers: false,
      vifs: [{ mac: '00:16:3E:2B:11:83', type: 'ioemu' }],
    };
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit' }, xend: true, domains: [hvm] });
    mkdirSync(path.join(root, 'OVS/running_pool/vm02'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'vm02.cfg'), path.join(root, VMCFG));
    const r = await qos(['vm02', '--toolstack', 'xm', '--rate', '8Mb/s@50ms', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("sends through QEMU's emulated NIC, which no rate limits");
    expect(changingCalls()).toEqual([]);
  });

  it('writes vif_other_config and disk_other_config only on Oracle VM: upstream xend ignores them (exit 2)', async () => {
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit' }, xend: true, domains: [vm02] });
    mkdirSync(path.join(root, 'OVS/running_pool/vm02'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'vm02.cfg'), path.join(root, VMCFG));
    for (const extra of [
      ['--inbound-rate', '8Mb/s@50ms'],
      ['--io-priority', '2', '--disk', 'xvda'],
    ]) {
      const r = await qos(['vm02', '--toolstack', 'xm', ...extra, '--persist', '--yes']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("vif_other_config and disk_other_config are read by Oracle VM's xend only");
    }
    expect(readFileSync(path.join(root, VMCFG), 'utf8')).toBe(readFileSync(path.join(FIXTURES, 'vm02.cfg'), 'utf8'));
    expect(changingCalls()).toEqual([]);
  });

  it('refuses an inbound rate or an I/O priority on a running domain without --persist: nothing would happen', async () => {
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit' }, xend: true, domains: [vm02] });
    oracle();
    mkdirSync(path.join(root, 'OVS/running_pool/vm02'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'vm02.cfg'), path.join(root, VMCFG));
    const r = await qos(['vm02', '--toolstack', 'xm', '--inbound-rate', '8Mb/s', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'only takes effect when the domain next starts, and nothing would be written without --persist',
    );
    const io = await qos(['vm02', '--toolstack', 'xm', '--io-priority', '1', '--disk', 'xvdb', '--yes']);
    expect(io.code).toBe(2);
    expect(io.stderr).toContain('(it goes to disk_other_config');
  });
});
