import { describe, expect, it } from 'vitest';
import { findRequest, pickDisk, pickVif, planRequests, rateRoute } from '../../src/playbooks/xen-qos/plan.js';
import { wantFromOptions } from '../../src/playbooks/xen-qos/want.js';
import type { DomainFacts } from '../../src/xen/qos.js';
import { MiB, xeHalted, xlRunning } from './facts.js';

/** planRequests with the log kept. */
function plan(f: DomainFacts, options: Parameters<typeof wantFromOptions>[0], persist = false) {
  const info: string[] = [];
  const warn: string[] = [];
  const r = planRequests(
    f,
    { want: wantFromOptions(options), persist, vif: options.vif, disk: options.disk },
    { info: (t) => info.push(t), warn: (t) => warn.push(t) },
  );
  return { ...r, info, warn };
}

describe('planRequests: every request against the model and the bounds', () => {
  it('plans live changes on a running xl domain, each with its decision', () => {
    const r = plan(xlRunning(), { 'cpu-weight': '512', vcpus: 3, memory: 1536 * MiB });
    expect(r.violations).toEqual([]);
    expect(r.plan.map((p) => [p.option, p.value, p.decision.kind, p.decision.effect])).toEqual([
      ['--cpu-weight', '512', 'cpu-weight', 'live'],
      ['--vcpus', '3', 'vcpus', 'live'],
      ['--memory', '1536 MiB', 'memory', 'live'],
    ]);
    expect(r.plan.every((p) => p.decision.lostOnRestart)).toBe(true);
  });

  it('refuses vCPUs above the boot maximum of a running domain, and names the bound', () => {
    const r = plan(xlRunning(), { vcpus: 6 });
    expect(r.plan[0]?.decision.kind).toBe('vcpus-above-max');
    expect(r.violations.join('\n')).toMatch(/boot maximum|maxvcpus|4/);
  });

  it('refuses more vCPUs than the host has CPUs under xl (vcpu-set refuses to overcommit)', () => {
    const r = plan(xlRunning({ nrCpus: 2, maxVcpus: 4, vcpus: 1 }), { vcpus: 3 });
    expect(r.violations).toEqual([
      "--vcpus 3: more vCPUs than the host's 2 CPUs; xl vcpu-set refuses to overcommit a domain",
    ]);
  });

  it('takes fewer vCPUs from a running HVM guest only for the next start', () => {
    const hvm = xlRunning({ guestType: 'hvm', vcpus: 3 });
    const live = plan(hvm, { vcpus: 2 });
    expect(live.plan[0]?.decision.kind).toBe('vcpus-fewer-hvm');
    expect(live.violations[0]).toMatch(/^--vcpus 2: .*--persist writes it for the next start$/);
    expect(plan(hvm, { vcpus: 2 }, true).violations).toEqual([]);
  });

  it('refuses a cap above 100 × the domain’s vCPUs, and a credit2 cap before Xen 4.10', () => {
    expect(plan(xlRunning(), { 'cpu-cap': 500 }).violations.join()).toMatch(/cap/);
    const old = plan(xlRunning({ xen: { major: 4, minor: 8 } }), { 'cpu-cap': 50 });
    expect(old.violations).toEqual(['--cpu-cap 50: xl sched-credit2 has no cap before Xen 4.10 (this host runs 4.8)']);
  });

  it('refuses weight and cap live under a scheduler without them, and only warns for a halted domain', () => {
    expect(plan(xlRunning({ scheduler: 'rtds' }), { 'cpu-weight': '512' }).violations[0]).toMatch(/rtds scheduler/);
    const halted = plan(xlRunning({ scheduler: 'rtds', state: 'halted' }), { 'cpu-weight': '512' });
    expect(halted.violations).toEqual([]);
    expect(halted.warn[0]).toMatch(/rtds scheduler/);
  });

  it('warns that Oracle VM’s Low weight gives less CPU than the default', () => {
    expect(plan(xlRunning(), { 'cpu-weight': 'Low' }).warn[0]).toMatch(/Low is weight 1, below the default 256/);
  });

  it('warns before shrinking a guest that says it has no balloon driver', () => {
    const r = plan(xlRunning({ balloon: false }), { memory: 512 * MiB });
    expect(r.violations).toEqual([]);
    expect(r.warn.join()).toMatch(/has no balloon driver.*1024 to 512 MiB/);
  });

  it('refuses a live memory target below the floor', () => {
    expect(plan(xlRunning(), { memory: 256 * MiB }).violations.join()).toMatch(/512|floor|memory/);
  });

  it('routes a running xl rate through xenstore when dom0’s netback watches it, else re-plugs', () => {
    expect(plan(xlRunning(), { rate: '8Mb/s' }).plan[0]?.route).toBe('xenstore');
    const replug = plan(xlRunning({ dom0Kernel: '3.16.0' }), { rate: '8Mb/s' });
    expect(replug.plan[0]?.route).toBe('replug');
    expect(replug.plan[0]?.decision.effect).toBe('replug');
    expect(replug.info).toEqual([expect.stringMatching(/^ {2}rate: /)]);
  });

  // RELEASE-4.1.x tools/libxl/xl_cmdimpl.c: parse_config_data() answers a vif's rate= with "the rate
  // parameter for vifs is currently not supported" and main_networkattach() drops it; 4.2.0 parses it.
  it('refuses a rate under xl 4.1, with --persist too: xl 4.1 ignores rate= in the file and on attach', () => {
    const f = xlRunning({ dom0Kernel: '3.2.0', xen: { major: 4, minor: 1 } });
    const live = plan(f, { rate: '8Mb/s' });
    expect(live.violations[0]).toMatch(/^--rate 8Mb\/s: nothing: xl 4\.1's network-attach drops rate=/);
    expect(live.violations[0]).toContain('currently not supported');
    expect(live.violations[0]).not.toContain('--persist writes it');
    const kept = plan(f, { rate: '8Mb/s' }, true);
    expect(kept.violations).toHaveLength(1);
    expect(kept.violations[0]).toContain('xl reads it from Xen 4.2');
    expect(kept.plan[0]?.route).toBe('next-start');
    const halted = plan(xlRunning({ state: 'halted', domid: undefined, xen: { major: 4, minor: 1 } }), {
      rate: '8Mb/s',
    });
    expect(halted.violations).toEqual([
      expect.stringMatching(/nothing can write it for the next start: xl before Xen 4\.2/),
    ]);
    // A dom0 kernel that watches the rate key applies it live under xl 4.1, but no file keeps it.
    const newKernel = xlRunning({ xen: { major: 4, minor: 1 } });
    expect(plan(newKernel, { rate: '8Mb/s' }).violations).toEqual([]);
    expect(plan(newKernel, { rate: '8Mb/s' }, true).violations[0]).toMatch(
      /the file --persist writes would not keep it/,
    );
    // From 4.2 the file keeps it.
    expect(
      plan(xlRunning({ dom0Kernel: '3.2.0', xen: { major: 4, minor: 2 } }), { rate: '8Mb/s' }, true).violations,
    ).toEqual([]);
  });

  it('computes the xe limit in xapi’s kbps (KiB/s, rounded) and says the arithmetic', () => {
    // 8 Mb/s = 1 000 000 B/s = 976.5625 KiB/s → kbps=977; the interval goes to timeslice_us.
    const r = plan(xeHalted(), { rate: '8Mb/s@20ms' });
    expect(r.violations).toEqual([]);
    expect(r.plan[0]).toMatchObject({ kbps: 977, timesliceUs: 20_000, xeIntervalUs: 20_000 });
    expect(plan(xeHalted(), { rate: '10MB/s' }).plan[0]).toMatchObject({ kbps: 9766, xeIntervalUs: 50_000 });
    expect(r.info[0]).toMatch(/^ {2}rate for xe: /);
  });

  it('needs a config file to persist into (xl)', () => {
    const r = plan(xlRunning({ configPath: undefined }), { vcpus: 3 }, true);
    expect(r.violations).toEqual([
      '--persist: vm01 has no configuration file where it was looked for: give --config FILE',
    ]);
  });

  it('refuses Oracle VM’s keys on an upstream xend', () => {
    const xm = xlRunning({ toolstack: 'xm', oracleVm: false, state: 'halted' });
    expect(plan(xm, { 'io-priority': 2 }).violations.join()).toMatch(/Oracle VM's xend only/);
  });

  it('findRequest finds a request by any of its kinds', () => {
    const r = plan(xlRunning(), { vcpus: 6, memory: 1536 * MiB }, true);
    expect(findRequest(r.plan, 'vcpus', 'vcpus-above-max')?.value).toBe('6');
    expect(findRequest(r.plan, 'vif-rate')).toBeUndefined();
  });
});

describe('rateRoute', () => {
  const f = xlRunning();
  const vif = f.vifs[0]!;
  it.each([
    [{}, 'xenstore'],
    [{ dom0Kernel: '4.1.0' }, 'replug'],
    [{ dom0Kernel: '4.1.0', xen: { major: 4, minor: 4 } }, 'replug-no-devid'],
    [{ dom0Kernel: '3.2.0', xen: { major: 4, minor: 1 } }, 'next-start'],
    [{ toolstack: 'xm' as const }, 'replug-no-devid'],
  ])('%o: %s', (over, route) => {
    expect(rateRoute({ ...f, ...over }, vif)).toBe(route);
  });
  it('an HVM guest whose netfront never connected: emulated', () => {
    expect(rateRoute({ ...f, guestType: 'hvm' }, { ...vif, backendState: 2 })).toBe('emulated');
  });
});

describe('pickVif and pickDisk', () => {
  const two = xlRunning({
    vifs: [
      { index: 0, mac: 'a' },
      { index: 2, mac: 'b' },
    ],
    disks: [{ vdev: 'xvda' }, { vdev: 'xvdb', aliases: ['1'] }],
  });
  it('take the only one, or the one named, and say which there are otherwise', () => {
    const v: string[] = [];
    expect(pickVif(xlRunning(), undefined, v)?.index).toBe(0);
    expect(pickVif(two, 2, v)?.mac).toBe('b');
    expect(pickDisk(two, '1', v)?.vdev).toBe('xvdb');
    expect(v).toEqual([]);
    expect(pickVif(two, undefined, v)).toBeUndefined();
    expect(pickVif(two, 1, v)).toBeUndefined();
    expect(pickDisk(two, undefined, v)).toBeUndefined();
    expect(pickDisk(xlRunning({ disks: [] }), undefined, v)).toBeUndefined();
    expect(v).toEqual([
      'vm01 has 2 network interfaces (0, 2): say which with --vif N',
      '--vif 1: vm01 has interfaces 0, 2',
      'vm01 has 2 disks (xvda, xvdb): say which with --disk',
      'vm01 has no disk',
    ]);
  });
});
