import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../../src/engine/runner.js';
import { planRequests } from '../../src/playbooks/xen-qos/plan.js';
import {
  inForce,
  lostOnRestart,
  storedMatches,
  storedValue,
  xlRebootNote,
  xlRebootOutcome,
} from '../../src/playbooks/xen-qos/restart.js';
import { wantFromOptions } from '../../src/playbooks/xen-qos/want.js';
import type { DomainFacts } from '../../src/xen/qos.js';
import { MiB, xlRunning } from './facts.js';

const quiet = { info: () => {}, warn: () => {} };
const outcome = (id: string, status: StepOutcome['status']): StepOutcome => ({ id, title: id, status, message: '' });
const allChanged = ['cpu-scheduler', 'vcpus', 'memory', 'vif-rate'].map((id) => outcome(id, 'changed'));

function planFor(f: DomainFacts, options: Parameters<typeof wantFromOptions>[0], persist = false) {
  const want = wantFromOptions(options);
  const { plan, violations } = planRequests(f, { want, persist }, quiet);
  expect(violations).toEqual([]);
  return { want, plan };
}

describe('lostOnRestart: the live changes the next start would undo', () => {
  it('lists each one with what the next start uses instead', () => {
    const f = xlRunning({ dom0Kernel: '3.16.0' });
    const { want, plan } = planFor(f, { 'cpu-weight': '512', vcpus: 3, memory: 1536 * MiB, rate: '8Mb/s' });
    expect(lostOnRestart(f, want, plan, allChanged)).toEqual([
      '--cpu-weight 512 (the next start uses weight 256)',
      '--vcpus 3 (the next start uses 2 vCPUs)',
      '--memory 1536 MiB (the next start uses 1024 MiB)',
      '--rate 8Mb/s (the next start uses no limit)',
    ]);
  });

  it('leaves out what --persist keeps, what its step did not do, and what the file says anyway', () => {
    const f = xlRunning();
    const persisted = planFor(f, { vcpus: 3 }, true);
    expect(lostOnRestart(f, persisted.want, persisted.plan, allChanged)).toEqual([]);
    const notDone = planFor(f, { vcpus: 3 });
    expect(lostOnRestart(f, notDone.want, notDone.plan, [outcome('vcpus', 'skipped')])).toEqual([]);
    const same = planFor(f, { memory: 1024 * MiB });
    expect(lostOnRestart(f, same.want, same.plan, allChanged)).toEqual([]);
  });

  it('inForce: ok, changed and would-change count; skipped and declined do not', () => {
    const { plan } = planFor(xlRunning(), { vcpus: 3 });
    const p = plan[0]!;
    expect(inForce(p, [outcome('vcpus', 'ok')])).toBe(true);
    expect(inForce(p, [outcome('vcpus', 'would-change')])).toBe(true);
    expect(inForce(p, [outcome('vcpus', 'declined')])).toBe(false);
    expect(inForce(p, [outcome('memory', 'changed')])).toBe(false);
  });

  it('storedValue and storedMatches read the next start’s values', () => {
    const f = xlRunning({
      stored: { weight: 512, cap: 100, vifCredit: { 0: { bytesPerInterval: 50_000, intervalUs: 50_000 } } },
    });
    const { want, plan } = planFor(f, { 'cpu-weight': '512', 'cpu-cap': 50, rate: '8Mb/s' });
    const [weight, cap, rate] = plan;
    expect(storedValue(f, weight!)).toBe('weight 512');
    expect(storedMatches(f, want, weight!)).toBe(true);
    expect(storedValue(f, cap!)).toBe('cap 100');
    expect(storedMatches(f, want, cap!)).toBe(false);
    // 8Mb/s at 50 ms is 50 000 bytes per interval: what the file already says.
    expect(storedMatches(f, want, rate!)).toBe(true);
  });
});

describe('xlRebootOutcome: what an xl reboot keeps, by release', () => {
  const options = { 'cpu-weight': '512', vcpus: 3, memory: 1536 * MiB };
  it('Xen 4.17 keeps the scheduler, vCPUs and memory (libxl’s record of the domain)', () => {
    const f = xlRunning();
    const { plan } = planFor(f, options);
    const r = xlRebootOutcome(f, plan, allChanged);
    expect(r).toEqual({ keeps: ['--cpu-weight 512', '--vcpus 3', '--memory 1536 MiB'], restores: [] });
    expect(xlRebootNote(f, r)).toBe(
      'An xl reboot of vm01 (Xen 4.17) keeps --cpu-weight 512, --vcpus 3, --memory 1536 MiB; xl config-update vm01 FILE makes the next reboot use FILE instead.',
    );
  });

  it('Xen 4.6 keeps the memory only; the others go back to what the domain started with', () => {
    const f = xlRunning({ xen: { major: 4, minor: 6 } });
    const { plan } = planFor(f, options);
    const r = xlRebootOutcome(f, plan, allChanged);
    expect(r).toEqual({ keeps: ['--memory 1536 MiB'], restores: ['--cpu-weight 512', '--vcpus 3'] });
    expect(xlRebootNote(f, r)).toMatch(
      /keeps --memory 1536 MiB and restores the values it started with for --cpu-weight 512, --vcpus 3;/,
    );
  });

  it('a rate written into xenstore is not in libxl’s record; a re-plugged one is', () => {
    const xs = xlRunning();
    expect(xlRebootOutcome(xs, planFor(xs, { rate: '8Mb/s' }).plan, allChanged).restores).toEqual(['--rate 8Mb/s']);
    const rp = xlRunning({ dom0Kernel: '3.16.0' });
    expect(xlRebootOutcome(rp, planFor(rp, { rate: '8Mb/s' }).plan, allChanged).keeps).toEqual(['--rate 8Mb/s']);
  });
});
