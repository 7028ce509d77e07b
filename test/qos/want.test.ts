import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import { wantFromOptions } from '../../src/playbooks/xen-qos/want.js';

const MiB = 1024 ** 2;

describe('wantFromOptions: the requests in the options', () => {
  it('reads every request with its parsed value', () => {
    const w = wantFromOptions({
      'cpu-weight': 'High',
      'cpu-cap': 150,
      vcpus: 3,
      memory: 1536 * MiB,
      rate: '8Mb/s@50ms',
      'inbound-rate': '1MB/s',
      vif: 1,
      'io-priority': 2,
      'io-class': 'rt',
      disk: 'xvda',
    });
    expect(w.weight).toEqual({ weight: 100, name: 'High' });
    expect(w.cap).toBe(150);
    expect(w.vcpus).toBe(3);
    expect(w.memory).toBe(1536 * MiB);
    expect(w.rate).toMatchObject({ text: '8Mb/s@50ms', bytesPerInterval: 50_000, intervalUs: 50_000 });
    expect(w.inbound?.bytesPerSecond).toBe(1_000_000);
    expect(w.io).toEqual({ cls: 'rt', prio: 2 });
  });

  it('gives an I/O class without a priority the middle one (4), and the idle class none', () => {
    expect(wantFromOptions({ 'io-class': 'be' }).io).toEqual({ cls: 'be', prio: 4 });
    expect(wantFromOptions({ 'io-priority': 0 }).io).toEqual({ cls: 'be', prio: 0 });
    expect(wantFromOptions({ 'io-class': 'idle' }).io).toEqual({ cls: 'idle', prio: undefined });
  });

  it.each([
    [{}, /nothing to do/],
    [{ 'cpu-cap': -1 }, /outside the cap bound/],
    [{ rate: '8Mbit' }, /does not match/],
    [{ rate: '010Mb/s' }, /leading 0/],
    [{ 'cpu-weight': 'Highest' }, /weight/i],
    [{ 'io-priority': 8 }, /0 .*7|7/],
    [{ 'io-class': 'idle' as const, 'io-priority': 1 }, /idle class has no priority/],
    [{ memory: MiB + 1 }, /not a whole number of MiB/],
    [{ vcpus: 2, disk: 'xvda' }, /--disk goes with/],
    [{ vcpus: 2, vif: 0 }, /--vif goes with/],
  ])('refuses %o as bad input (exit 2)', (o, message) => {
    expect(() => wantFromOptions(o)).toThrow(UsageError);
    expect(() => wantFromOptions(o)).toThrow(message);
  });

  it('takes --vif with --inbound-rate alone', () => {
    expect(wantFromOptions({ 'inbound-rate': '8Mb/s', vif: 2 }).inbound?.text).toBe('8Mb/s');
  });
});
