import { describe, expect, it } from 'vitest';
import { planRequests } from '../../src/playbooks/xen-qos/plan.js';
import { QosState } from '../../src/playbooks/xen-qos/state.js';
import { wantFromOptions } from '../../src/playbooks/xen-qos/want.js';
import { xeHalted, xlRunning } from './facts.js';

describe('QosState: what the steps share', () => {
  it('says which step was to make a part that is read before it exists', () => {
    const s = new QosState();
    expect(() => s.want).toThrow(/requests are read before the steps run/);
    expect(() => s.facts).toThrow(/read by step read-domain first/);
    expect(s.hasFacts).toBe(false);
    expect(s.plan).toEqual([]);
    expect(s.request('vcpus')).toBeUndefined();
    expect(() => s.planned('vcpus')).toThrow(/no vcpus request/);
  });

  it('keeps what was read, asked for and planned', () => {
    const s = new QosState();
    s.want = wantFromOptions({ vcpus: 3, rate: '8Mb/s', 'io-class': 'idle' });
    s.read({ facts: xeHalted(), residentOn: 'host-a', hostUuid: 'host-b', dynamicRange: true });
    expect(s.hasFacts).toBe(true);
    expect([s.residentOn, s.hostUuid, s.dynamicRange]).toEqual(['host-a', 'host-b', true]);
    expect(s.wanted('vcpus')).toBe(3);
    expect(() => s.wanted('memory')).toThrow(/memory was not asked for/);
    s.plan = planRequests(s.facts, { want: s.want, persist: false }, { info: () => {}, warn: () => {} }).plan;
    expect(s.planned('vcpus', 'vcpus-above-max').value).toBe('3');
    expect(s.plannedVif().vif.uuid).toBe('vif-uuid');
    expect(s.plannedDisk().disk.vdev).toBe('xvda');
  });

  it('a new read replaces the last one, xe’s host fields included', () => {
    const s = new QosState();
    s.read({ facts: xeHalted(), residentOn: 'a', dynamicRange: true });
    s.read({ facts: xlRunning() });
    expect(s.facts.toolstack).toBe('xl');
    expect([s.residentOn, s.hostUuid, s.dynamicRange]).toEqual([undefined, undefined, false]);
  });
});
