import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlaybook } from '../helpers/playbook.js';
import { readXl, seedXl } from '../sim/xl.mjs';
import { GiB, MiB, readCalls, readXe, seedXe, type Seeded, type VmSpec } from '../sim/xe.mjs';
import { MODEL } from '../../src/xen/qos.js';

let sim: string;
let root: string;

beforeEach(() => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-xe-'));
  root = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-xe-root-'));
});
afterEach(() => {
  rmSync(sim, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

const WEB01: VmSpec = {
  name: 'web01',
  powerState: 'running',
  vcpusMax: 4,
  vcpusAtStartup: 2,
  memory: { staticMin: 512 * MiB, dynamicMin: 1 * GiB, dynamicMax: 1 * GiB, staticMax: 2 * GiB },
};

/**
 * An XCP-ng host running web01: xapi's view (xe), the hypervisor's (xl in dom0: the same domain by
 * dom-id and uuid), and /etc/xensource-inventory naming this host.
 */
function xcpHost(vm: Partial<VmSpec> = {}, opts: { otherHost?: boolean } = {}): Seeded {
  const seeded = seedXe(sim, {
    sr: { name: 'Local storage', type: 'ext', device: '/dev/sdb' },
    vms: [
      {
        ...WEB01,
        ...vm,
        vifs: [{ mac: '00:16:3e:5a:01:01' }],
        vbds: [
          { size: 20 * GiB, userdevice: '0' },
          { size: 100 * GiB, userdevice: '1' },
        ],
      },
    ],
  });
  const v = seeded.state.objects.vm?.[seeded.vms.web01?.uuid ?? ''];
  if (v?.['power-state'] === 'running') {
    seedXl(sim, {
      info: { nr_cpus: 8, xen_scheduler: 'credit' },
      domains: [
        {
          name: 'web01',
          domid: Number(v['dom-id']),
          type: 'hvm',
          vcpus: Number(v['VCPUs-at-startup']),
          maxvcpus: Number(v['VCPUs-max']),
          memory: Number(v['memory-dynamic-max']) / MiB,
          maxmem: Number(v['memory-static-max']) / MiB,
        },
      ],
    });
  } else {
    seedXl(sim, { info: { nr_cpus: 8, xen_scheduler: 'credit' } });
  }
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  const here = opts.otherHost ? '6f0b2a9c-0000-4000-8000-00000000beef' : seeded.host;
  writeFileSync(
    path.join(root, 'etc/xensource-inventory'),
    `PRIMARY_DISK='/dev/sda'\nPRODUCT_BRAND='XCP-ng'\nINSTALLATION_UUID='${here}'\nCONTROL_DOMAIN_UUID='00000000-0000-0000-0000-000000000000'\n`,
  );
  return seeded;
}

const vmOf = (s: Seeded) => readXe(sim).objects.vm?.[s.vms.web01?.uuid ?? ''] ?? {};
const vifOf = (s: Seeded) => readXe(sim).objects.vif?.[s.vms.web01?.vifs[0] ?? ''] ?? {};
const vbdOf = (s: Seeded, i: number) => readXe(sim).objects.vbd?.[s.vms.web01?.vbds[i] ?? ''] ?? {};
const state = () => readFileSync(path.join(sim, 'xe.json'), 'utf8') + readFileSync(path.join(sim, 'xl.json'), 'utf8');
const WRITES =
  /-(set|add|remove|plug|unplug|hotplug)$|^vm-memory|^sched-credit|^vcpu-set|^mem-set|^network-(attach|detach)/;
const writes = () =>
  readCalls(sim)
    .filter(
      (c) =>
        WRITES.test(c.argv[0] ?? '') &&
        (!/^sched/.test(c.argv[0] ?? '') || c.argv.includes('-w') || c.argv.includes('-c')),
    )
    .map((c) => [c.cmd, ...c.argv]);

// Without --toolstack: /etc/xensource-inventory says this is an xapi host.
const qos = (args: string[]) => runPlaybook('xen-qos', ['--root', root, ...args], { sim });

describe('xen-qos with xe (XCP-ng, XenServer)', () => {
  it('applies CPU weight and cap with xl in dom0, vCPUs and memory through xapi, and keeps them with --persist', async () => {
    const s = xcpHost();
    const uuid = s.vms.web01?.uuid as string;
    const domid = vmOf(s)['dom-id'];
    const args = ['web01', '--cpu-weight', '512', '--cpu-cap', '100', '--vcpus', '3', '--memory', '1536', '--persist'];
    const r = await qos([...args, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.domain).toMatchObject({ toolstack: 'xe', state: 'running', nrCpus: 8, scheduler: 'credit' });
    expect(writes()).toEqual([
      ['xl', 'sched-credit', '-d', domid, '-w', '512', '-c', '100'],
      ['xe', 'vm-vcpu-hotplug', `uuid=${uuid}`, 'new-vcpus=3'],
      ['xe', 'vm-memory-dynamic-range-set', `uuid=${uuid}`, `min=${1536 * MiB}`, `max=${1536 * MiB}`],
      ['xe', 'vm-param-set', `uuid=${uuid}`, 'VCPUs-params:weight=512', 'VCPUs-params:cap=100'],
    ]);
    expect(vmOf(s)).toMatchObject({
      'VCPUs-params': { weight: '512', cap: '100' },
      'VCPUs-at-startup': '3',
      'memory-dynamic-min': String(1536 * MiB),
      'memory-dynamic-max': String(1536 * MiB),
    });
    expect(readXl(sim)?.domains.find((d) => d.name === 'web01')).toMatchObject({ weight: 512, cap: 100 });
    for (const q of r.json.data.requests) expect(q.effect).toBe(MODEL[q.kind as keyof typeof MODEL].xe.running.effect);
    expect(r.json.data.lostOnRestart).toEqual([]);

    const before = state();
    const again = await qos([...args, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(state()).toBe(before);
  });

  it('without --persist only the live weight and cap would be lost: xapi keeps the rest itself', async () => {
    xcpHost();
    const r = await qos(['web01', '--cpu-weight', '512', '--vcpus', '3', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.lostOnRestart).toEqual(['--cpu-weight 512 (the next start uses weight 256)']);
    expect(r.stderr).toMatch(/--vcpus 3: applies live \(xe vm-vcpu-hotplug new-vcpus=N\); kept in VCPUs-at-startup/);
  });

  it('converts the rate to kbps and timeslice_us with the arithmetic shown, and re-plugs the VIF when told to', async () => {
    const s = xcpHost();
    const vif = s.vms.web01?.vifs[0] as string;
    const r = await qos(['web01', '--rate', '8Mb/s@50ms', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'rate for xe: 8Mb/s@50ms: 8 × 1 000 000 bit/s ÷ 8 = 1 000 000 bytes/s; ÷ 1024 = 976.5625 KiB/s → kbps=977 (rounded), timeslice_us=50000; xenopsd: 977 × 1024 × 50000 µs ÷ 10^6 = 50 022 bytes every 50 ms',
    );
    expect(r.stdout).toMatch(/--rate 8Mb\/s@50ms: needs the device re-plugged .*kept in qos_algorithm_params:kbps/);
    expect(writes()).toEqual([
      [
        'xe',
        'vif-param-set',
        `uuid=${vif}`,
        'qos_algorithm_type=ratelimit',
        'qos_algorithm_params:kbps=977',
        'qos_algorithm_params:timeslice_us=50000',
      ],
      ['xe', 'vif-unplug', `uuid=${vif}`],
      ['xe', 'vif-plug', `uuid=${vif}`],
    ]);
    expect(vifOf(s)).toMatchObject({
      qos_algorithm_type: 'ratelimit',
      qos_algorithm_params: { kbps: '977', timeslice_us: '50000' },
      'currently-attached': 'true',
    });
    const again = await qos(['web01', '--rate', '8Mb/s@50ms', '--yes']);
    expect(again.stdout).toContain('vif 0 already has kbps=977, timeslice_us=50000');
    // Without an interval xenopsd uses 50 ms too: the same limit, nothing to do.
    const plain = await qos(['web01', '--rate', '8Mb/s', '--yes']);
    expect(plain.stdout).toContain('vif 0 already has kbps=977');
  });

  it('passes the interval as timeslice_us under --no-replug, and says when it takes effect', async () => {
    const s = xcpHost();
    const r = await qos(['web01', '--rate', '10MB/s@20ms', '--no-replug', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
    expect(r.stdout).toContain(
      'set kbps=9766, timeslice_us=20000 on vif 0; it takes effect when the VIF is next plugged (next start)',
    );
    expect(writes().map((w) => w[1])).toEqual(['vif-param-set']);
    expect(vifOf(s).qos_algorithm_params).toEqual({ kbps: '9766', timeslice_us: '20000' });
    // The same kbps without an interval is another limit (50 ms): the timeslice goes back to 50 000.
    const back = await qos(['web01', '--rate', '10MB/s', '--no-replug', '--yes']);
    expect(back.code, back.stderr).toBe(0);
    expect(vifOf(s).qos_algorithm_params).toEqual({ kbps: '9766', timeslice_us: '50000' });
  });

  it('sets the disk I/O priority on the VBD, for the next plug of the disk', async () => {
    const s = xcpHost();
    const vbd = s.vms.web01?.vbds[1] as string;
    const r = await qos(['web01', '--io-priority', '2', '--io-class', 'rt', '--disk', 'xvdb', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/--io-priority rt 2: needs a restart of the domain/);
    expect(writes()).toEqual([
      [
        'xe',
        'vbd-param-set',
        `uuid=${vbd}`,
        'qos_algorithm_type=ionice',
        'qos_algorithm_params:sched=rt',
        'qos_algorithm_params:class=2',
      ],
    ]);
    expect(vbdOf(s, 1)).toMatchObject({
      qos_algorithm_type: 'ionice',
      qos_algorithm_params: { sched: 'rt', class: '2' },
    });
    const again = await qos(['web01', '--io-priority', '2', '--io-class', 'rt', '--disk', '1', '--yes']);
    expect(again.stdout).toContain('xvdb already has ionice real-time 2');
  });

  it('on a halted VM writes xapi fields only: VCPUs-max first, memory limits, weight', async () => {
    const s = xcpHost({ powerState: 'halted' });
    const uuid = s.vms.web01?.uuid as string;
    const r = await qos(['web01', '--vcpus', '6', '--memory', '4G', '--cpu-weight', 'Low', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const q of r.json.data.requests) expect(q.effect).toBe('start');
    expect(writes()).toEqual([
      ['xe', 'vm-param-set', `uuid=${uuid}`, 'VCPUs-params:weight=1'],
      ['xe', 'vm-param-set', `uuid=${uuid}`, 'VCPUs-max=6'],
      ['xe', 'vm-param-set', `uuid=${uuid}`, 'VCPUs-at-startup=6'],
      [
        'xe',
        'vm-memory-limits-set',
        `uuid=${uuid}`,
        `static-min=${512 * MiB}`,
        `static-max=${4 * GiB}`,
        `dynamic-min=${4 * GiB}`,
        `dynamic-max=${4 * GiB}`,
      ],
    ]);
    expect(vmOf(s)).toMatchObject({
      'VCPUs-max': '6',
      'VCPUs-at-startup': '6',
      'memory-static-max': String(4 * GiB),
      'VCPUs-params': { weight: '1' },
    });
  });

  it('refuses the live CPU change when the VM runs on another host of the pool (exit 3), nothing changed', async () => {
    xcpHost({}, { otherHost: true });
    const before = state();
    const r = await qos(['web01', '--cpu-weight', '512', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('xl sees only the domains of its own host; run this there (--host root@THAT-HOST)');
    expect(state()).toBe(before);
  });

  it.each([
    [['--vcpus', '6'], /6 vCPUs is outside the live vCPU bound 1 to 4[\s\S]*only while the VM is halted/],
    [
      ['--memory', '3G', '--persist'],
      /memory 3072 MiB is outside the live memory bound 512–2048 MiB[\s\S]*shut it down/,
    ],
    [['--memory', '256'], /memory 256 MiB is outside the live memory bound 512–2048 MiB/],
    [['--rate', '4294967295B/s@1s'], /at 1 s xapi keeps limits of 1 to 4194303 kbps only/],
    [['--inbound-rate', '8Mb/s'], /xe cannot do this: xapi limits outbound traffic only/],
    [['--io-priority', '1'], /web01 has 2 disks \(xvda, xvdb\): say which with --disk/],
  ])('refuses %s with exit 2 and changes nothing', async (args, message) => {
    xcpHost();
    const before = state();
    const r = await qos(['web01', ...args, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(state()).toBe(before);
    expect(writes()).toEqual([]);
  });

  it('finds the VM by uuid too, and says when no VM has the name', async () => {
    const s = xcpHost();
    const uuid = s.vms.web01?.uuid as string;
    const r = await qos([uuid, '--cpu-weight', '300', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('would set weight 256 → 300');
    expect(writes()).toEqual([]);
    const none = await qos(['db01', '--cpu-weight', '300', '--dry-run']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('xe knows no VM named db01');
  });
});
