import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import type { FileEdit } from '../../src/engine/files.js';
import { configChanges, planConfigEdit, xeSchedParams } from '../../src/playbooks/xen-qos/persist.js';
import { planRequests } from '../../src/playbooks/xen-qos/plan.js';
import { wantFromOptions } from '../../src/playbooks/xen-qos/want.js';
import type { DomainFacts } from '../../src/xen/qos.js';
import { MiB, xeHalted, xlRunning } from './facts.js';

const quiet = { info: () => {}, warn: () => {} };

function changes(f: DomainFacts, options: Parameters<typeof wantFromOptions>[0], persist: boolean) {
  const want = wantFromOptions(options);
  const { plan, violations } = planRequests(f, { want, persist, vif: options.vif, disk: options.disk }, quiet);
  expect(violations).toEqual([]);
  return configChanges(f, want, plan, persist);
}

describe('configChanges: what the config file must say', () => {
  it('writes nothing for a running domain without --persist', () => {
    expect(changes(xlRunning(), { vcpus: 3, memory: 1536 * MiB }, false)).toEqual({});
  });

  it('keeps the room to grow back live: the running maxima are written beside fewer vCPUs and less memory', () => {
    const f = xlRunning({ stored: { weight: 256, cap: 0 } });
    expect(changes(f, { vcpus: 1, memory: 768 * MiB, 'cpu-cap': 50 }, true)).toEqual({
      cap: 50,
      vcpus: 1,
      maxVcpus: 4,
      memory: 768,
      maxMemory: 2048,
    });
  });

  it('does not write a maxmem for an HVM guest without a balloon driver (it would start pre-ballooned)', () => {
    const f = xlRunning({ guestType: 'hvm', balloon: false, stored: {} });
    expect(changes(f, { memory: 1536 * MiB }, true)).toEqual({ memory: 1536 });
  });

  it('raises the maxima with a request above them, and writes the rate on the vif by its MAC', () => {
    const f = xlRunning({ state: 'halted', domid: undefined });
    expect(changes(f, { vcpus: 6, memory: 4096 * MiB, rate: '8Mb/s@50ms' }, false)).toEqual({
      vcpus: 6,
      maxVcpus: 6,
      memory: 4096,
      maxMemory: 4096,
      vifRate: { index: 0, mac: '00:16:3e:2b:11:83', rate: '8Mb/s@50ms' },
    });
  });

  it('writes Oracle VM’s tbf and ionice keys for xm', () => {
    const f = xlRunning({ toolstack: 'xm', oracleVm: true, state: 'halted', domid: undefined, scheduler: 'credit' });
    const c = changes(f, { 'inbound-rate': '8Mb/s', 'io-priority': 2, 'io-class': 'rt' }, false);
    expect(c.inbound?.mac).toBe('00:16:3e:2b:11:83');
    expect(c.inbound?.params).toMatch(/rate=/);
    expect(c.ionice).toEqual({ vdev: 'xvda', params: expect.stringMatching(/2/) });
  });
});

describe('xeSchedParams', () => {
  const want = wantFromOptions({ 'cpu-weight': '512', 'cpu-cap': 0 });
  it('names every parameter asked for, or only those xapi does not hold yet', () => {
    expect(xeSchedParams(xeHalted(), want, false)).toEqual(['VCPUs-params:weight=512', 'VCPUs-params:cap=0']);
    expect(xeSchedParams(xeHalted(), want, true)).toEqual(['VCPUs-params:weight=512']);
    expect(xeSchedParams(xeHalted(), { weight: { weight: 256 } }, true)).toEqual([]);
  });
});

describe('planConfigEdit', () => {
  const planEdit = async (file: string, transform: (current: string | undefined) => string | Promise<string>) => {
    const before = 'name = "vm01"\nvcpus = 2\n';
    const after = await transform(before);
    return { path: file, before, after, changed: after !== before, diff: '' } satisfies FileEdit;
  };

  it('rewrites the domain’s file with the changes', async () => {
    const edit = await planConfigEdit({ planEdit }, xlRunning(), { vcpus: 3 });
    expect(edit.path).toBe('/etc/xen/vm01.cfg');
    expect(edit.after).toMatch(/^vcpus = 3$/m);
    expect(edit.after).toMatch(/^name = "vm01"$/m);
  });

  it('is bad input (exit 2) without a file, or with a file it cannot read', async () => {
    await expect(planConfigEdit({ planEdit }, xlRunning({ configPath: undefined }), { vcpus: 3 })).rejects.toThrow(
      UsageError,
    );
    const broken = async (file: string, transform: (current: string | undefined) => string | Promise<string>) => {
      await transform('vcpus = [\n');
      return { path: file, before: '', after: '', changed: false, diff: '' };
    };
    await expect(planConfigEdit({ planEdit: broken }, xlRunning(), { vcpus: 3 })).rejects.toThrow(
      /^\/etc\/xen\/vm01\.cfg: /,
    );
  });
});
