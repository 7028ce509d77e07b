import { describe, expect, it } from 'vitest';
import {
  BoundError,
  MODEL,
  ORACLE_WEIGHTS,
  REQUESTS,
  STATES,
  TOOLSTACKS,
  checkCap,
  checkIoPriority,
  checkLiveMemory,
  checkLiveVcpus,
  creditArithmetic,
  formatCredit,
  decide,
  describeDecision,
  ioClassOf,
  oracleIoniceParams,
  modelTable,
  parseRate,
  parseWeight,
  sameRate,
  toTbfParams,
  toXeKbps,
  xeKbpsBounds,
  XE_KBPS_MAX,
} from '../../src/xen/qos.js';

function boundOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof BoundError) return e.bound;
    throw e;
  }
  throw new Error('no BoundError was thrown');
}

describe('rate syntax', () => {
  it('reads the Oracle VM example as xl does: decimal prefix, bits divided by 8, 50 ms credit', () => {
    const r = parseRate('8Mb/s@50ms');
    expect(r.bytesPerSecond).toBe(1_000_000);
    expect(r.intervalUs).toBe(50_000);
    expect(r.bytesPerInterval).toBe(50_000);
    expect(r.interval).toEqual({ amount: 50, unit: 'ms' });
  });

  it('defaults the interval to 50 ms and keeps bytes as bytes', () => {
    const r = parseRate('10MB/s');
    expect(r.bytesPerSecond).toBe(10_000_000);
    expect(r.intervalUs).toBe(50_000);
    expect(r.bytesPerInterval).toBe(500_000);
    expect(r.interval).toBeUndefined();
  });

  it.each([
    ['1GB/s', 1_000_000_000, 50_000, 50_000_000],
    ['1Gb/s@1s', 125_000_000, 1_000_000, 125_000_000],
    ['100KB/s@10ms', 100_000, 10_000, 1000],
    ['100Kb/s@250us', 12_500, 250, 3],
    ['4096B/s@1s', 4096, 1_000_000, 4096],
    ['12b/s@1s', 1, 1_000_000, 1],
    // xl divides after multiplying, with integer division: 9 bits are 1 byte.
    ['9b/s@1s', 1, 1_000_000, 1],
    ['4294967295B/s@1ms', 4_294_967_295, 1000, 4_294_967],
  ])('%s → %d bytes/s, %d µs, %d bytes per interval', (text, bps, us, per) => {
    const r = parseRate(text);
    expect([r.bytesPerSecond, r.intervalUs, r.bytesPerInterval]).toEqual([bps, us, per]);
  });

  it.each([
    '8 Mb/s',
    '8mb/s',
    '8Mbit/s',
    '8Mb',
    '8Mb/s@50',
    '8Mb/s@50m',
    '1.5Mb/s',
    '-8Mb/s',
    'Mb/s',
    '8Mb/s@',
    '8Tb/s',
  ])('refuses %s as not matching the syntax', (text) => {
    expect(boundOf(() => parseRate(text))).toBe('rate syntax');
  });

  it('refuses a leading zero, which xl would read as octal', () => {
    expect(() => parseRate('010Mb/s')).toThrow(/octal/);
  });

  it('refuses a zero or too large number as xl does', () => {
    expect(boundOf(() => parseRate('0Mb/s'))).toBe('rate number');
    expect(boundOf(() => parseRate('4294967296B/s'))).toBe('rate number');
  });

  it('refuses an interval of zero or above 2^32-1 µs', () => {
    expect(boundOf(() => parseRate('8Mb/s@0ms'))).toBe('rate interval');
    expect(boundOf(() => parseRate('8Mb/s@4295s'))).toBe('rate interval');
  });

  it('refuses a rate that gives no byte of credit per interval (xm would make it unlimited)', () => {
    // 7 bits/s is 0 bytes/s after xl's integer division.
    expect(boundOf(() => parseRate('7b/s'))).toBe('rate credit');
    // 10 bytes/s over 50 ms is half a byte.
    expect(boundOf(() => parseRate('10B/s'))).toBe('rate credit');
    expect(boundOf(() => parseRate('4294967295GB/s@1s'))).toBe('rate credit');
  });

  it('compares rates by the credit they give, not their spelling', () => {
    expect(sameRate(parseRate('8Mb/s'), parseRate('1MB/s@50ms'))).toBe(true);
    expect(sameRate(parseRate('8Mb/s@100ms'), parseRate('8Mb/s'))).toBe(false);
  });

  it('shows a credit as a person reads it', () => {
    expect(formatCredit(parseRate('100Mb/s'))).toBe('625 000 bytes every 50 ms (12 500 000 bytes/s)');
    expect(formatCredit({ bytesPerInterval: 3, intervalUs: 250 })).toBe('3 bytes every 250 µs (12 000 bytes/s)');
  });

  it('shows the credit netback gets', () => {
    expect(creditArithmetic(parseRate('8Mb/s@50ms'))).toBe(
      '8 × 1 000 000 bit/s ÷ 8 = 1 000 000 bytes/s; × 50 ms = 50 000 bytes every 50 ms',
    );
  });
});

describe('conversion to xe kbps (kilobytes of 1024 bytes per second)', () => {
  it('converts 8Mb/s with the arithmetic shown and rounds', () => {
    const x = toXeKbps(parseRate('8Mb/s'));
    expect(x.exact).toBe(976.5625);
    expect(x.kbps).toBe(977);
    expect(x.arithmetic).toBe(
      '8Mb/s: 8 × 1 000 000 bit/s ÷ 8 = 1 000 000 bytes/s; ÷ 1024 = 976.5625 KiB/s → kbps=977 (rounded); xenopsd: 977 × 1024 × 50000 µs ÷ 10^6 = 50 022 bytes every 50 ms',
    );
    expect(x.notes).toEqual([]);
  });

  it('is exact for multiples of 1024 bytes', () => {
    const x = toXeKbps(parseRate('1048576B/s'));
    expect(x.kbps).toBe(1024);
    expect(x.arithmetic).toMatch(/= 1024 KiB\/s → kbps=1024; xenopsd: /);
  });

  it('never gives 0 (xapi would drop the limit) and passes the interval as timeslice_us', () => {
    const x = toXeKbps(parseRate('100B/s@1s'));
    expect(x.kbps).toBe(1);
    expect(x.timesliceUs).toBe(1_000_000);
    expect(x.arithmetic).toMatch(
      /timeslice_us=1000000; xenopsd: 1 × 1024 × 1000000 µs ÷ 10\^6 = 1 024 bytes every 1 s$/,
    );
    // No interval written: no timeslice, xenopsd's 50 ms.
    expect(toXeKbps(parseRate('10MB/s')).timesliceUs).toBeUndefined();
    expect(toXeKbps(parseRate('10MB/s')).intervalUs).toBe(50_000);
  });

  it('bounds kbps by the interval xenopsd will use (1 to 2^32-2 bytes per interval)', () => {
    // xenopsd Device.Vif.add: kbps × 1024 × timeslice_us / 10^6 must be > 0 and < 0xffffffff.
    expect(xeKbpsBounds(50_000)).toEqual({ min: 1, max: XE_KBPS_MAX });
    expect(xeKbpsBounds(1_000_000)).toEqual({ min: 1, max: 4_194_303 });
    expect(xeKbpsBounds(250)).toEqual({ min: 4, max: 16_777_215_996 });
    // At 10 ms, 90 GB/s is 900 000 000 bytes per interval: kept.
    expect(toXeKbps(parseRate('90GB/s@10ms'))).toMatchObject({ kbps: 87_890_625, timesliceUs: 10_000 });
    // xl takes 4294967295 bytes per 1 s; kbps=4194304 gives xenopsd 4294967296: dropped.
    expect(boundOf(() => toXeKbps(parseRate('4294967295B/s@1s')))).toBe('xe kbps');
    expect(toXeKbps(parseRate('80GB/s')).kbps).toBe(78_125_000);
  });

  it('writes the Oracle VM inbound form', () => {
    expect(toTbfParams(parseRate('8Mb/s@50ms'))).toBe('rate=8mbit,latency=50ms');
    expect(toTbfParams(parseRate('2MB/s'))).toBe('rate=2mbps,latency=50ms');
    expect(toTbfParams(parseRate('512Kb/s@20ms'))).toBe('rate=512kbit,latency=20ms');
  });
});

describe('bounds', () => {
  it('maps the Oracle VM priority names, in any case', () => {
    expect(parseWeight('High')).toEqual({ weight: 100, name: 'High' });
    expect(parseWeight('intermediate')).toEqual({ weight: 50, name: 'Intermediate' });
    expect(parseWeight('LOW')).toEqual({ weight: 1, name: 'Low' });
    expect(ORACLE_WEIGHTS).toEqual({ High: 100, Intermediate: 50, Low: 1 });
  });

  it('keeps the weight within 1–65535', () => {
    expect(parseWeight('1').weight).toBe(1);
    expect(parseWeight('65535').weight).toBe(65535);
    expect(() => parseWeight('0')).toThrow(/weight bound 1–65535/);
    expect(() => parseWeight('65536')).toThrow(/weight bound 1–65535/);
    expect(boundOf(() => parseWeight('medium'))).toBe('weight');
    expect(boundOf(() => parseWeight('-5'))).toBe('weight');
  });

  it('caps at 100 × the host CPUs', () => {
    expect(() => checkCap(0, 4)).not.toThrow();
    expect(() => checkCap(400, 4)).not.toThrow();
    expect(() => checkCap(401, 4)).toThrow(/cap bound 0 \(none\) to 400 \(100 × 4 host CPUs\)/);
    expect(boundOf(() => checkCap(-1, 4))).toBe('cap');
    // libxl: no more than 100 × the domain's vCPUs.
    expect(() => checkCap(200, 8, 2)).not.toThrow();
    expect(() => checkCap(201, 8, 2)).toThrow(
      /cap bound 0 \(none\) to 200 \(100 × the domain's 2 vCPUs; the host has 8 CPUs\)/,
    );
    expect(() => checkCap(800, 8, 16)).not.toThrow();
  });

  it('keeps live vCPUs between 1 and the boot maximum', () => {
    expect(() => checkLiveVcpus(1, 4)).not.toThrow();
    expect(() => checkLiveVcpus(4, 4)).not.toThrow();
    expect(() => checkLiveVcpus(5, 4)).toThrow(/live vCPU bound 1 to 4/);
    expect(boundOf(() => checkLiveVcpus(0, 4))).toBe('live vCPUs');
  });

  it('keeps live memory up to the boot maximum', () => {
    const M = 1024 ** 2;
    expect(() => checkLiveMemory(2048 * M, 2048 * M)).not.toThrow();
    expect(() => checkLiveMemory(2049 * M, 2048 * M)).toThrow(/live memory bound 1–2048 MiB/);
    expect(() => checkLiveMemory(256 * M, 2048 * M, 512 * M)).toThrow(/live memory bound 512–2048 MiB/);
  });

  it('keeps the I/O priority within 0–7', () => {
    expect(() => checkIoPriority(0)).not.toThrow();
    expect(() => checkIoPriority(7)).not.toThrow();
    expect(() => checkIoPriority(8)).toThrow(/I\/O priority bound 0–7/);
    expect(boundOf(() => checkIoPriority(-1))).toBe('I/O priority');
  });

  it('writes the ionice classes as each toolstack spells them', () => {
    expect(oracleIoniceParams('rt', 2)).toBe('sched=real-time,prio=2');
    expect(oracleIoniceParams('be', 4)).toBe('sched=best-effort,prio=4');
    expect(oracleIoniceParams('idle', undefined)).toBe('sched=idle');
    expect(ioClassOf('real-time')).toBe('rt');
    expect(ioClassOf('rt')).toBe('rt');
    expect(ioClassOf('best-effort')).toBe('be');
    expect(ioClassOf('')).toBeUndefined();
  });
});

describe('the model', () => {
  it('has a cell for every request, toolstack and state', () => {
    for (const { kind } of REQUESTS) {
      for (const t of TOOLSTACKS) {
        for (const s of STATES) {
          const cell = MODEL[kind][t][s];
          expect(cell, `${kind}/${t}/${s}`).toBeDefined();
          expect(cell.how.length).toBeGreaterThan(0);
        }
      }
    }
    expect(Object.keys(MODEL).sort()).toEqual(REQUESTS.map((r) => r.kind).sort());
  });

  it('never applies anything live or by re-plug to a halted domain', () => {
    for (const { kind } of REQUESTS) {
      for (const t of TOOLSTACKS) {
        const e = MODEL[kind][t].halted.effect;
        expect(['start', 'unsupported'], `${kind}/${t}`).toContain(e);
      }
    }
  });

  it('keeps every halted change by itself: the config or xapi is all a halted domain has', () => {
    for (const { kind } of REQUESTS) {
      for (const t of TOOLSTACKS) {
        const cell = MODEL[kind][t].halted;
        if (cell.effect === 'start') expect(cell.keep?.by, `${kind}/${t}`).toBe('itself');
      }
    }
  });

  it('says a live xl change is lost at restart without --persist, and kept with it', () => {
    const without = decide('cpu-weight', 'xl', 'running', false);
    expect(without.effect).toBe('live');
    expect(without.lostOnRestart).toBe(true);
    expect(describeDecision(without)).toMatch(/applies live .*a restart would lose it/);
    const withPersist = decide('cpu-weight', 'xl', 'running', true);
    expect(withPersist.lostOnRestart).toBe(false);
    expect(describeDecision(withPersist)).toMatch(/--persist writes cpu_weight = W/);
  });

  it('says a restart-only change xapi stores itself is kept, not that --persist writes it', () => {
    expect(describeDecision(decide('io-priority', 'xe', 'running', false))).toMatch(
      /^needs a restart of the domain \(xe vbd-param-set .*\); kept in VBD qos_algorithm_params$/,
    );
    expect(describeDecision(decide('io-priority', 'xm', 'running', true))).toMatch(
      /; --persist writes disk_other_config/,
    );
  });

  it('knows xapi stores the vCPU count and memory range itself', () => {
    expect(decide('vcpus', 'xe', 'running', false).lostOnRestart).toBe(false);
    expect(decide('memory', 'xe', 'running', false).lostOnRestart).toBe(false);
    expect(decide('cpu-cap', 'xe', 'running', false).lostOnRestart).toBe(true);
  });

  it('makes the xl VIF rate live (netback watches its rate key), a re-plug for xe and xm', () => {
    expect(decide('vif-rate', 'xl', 'running', false)).toMatchObject({ effect: 'live', lostOnRestart: true });
    expect(decide('vif-rate', 'xl', 'running', false).how).toMatch(
      /^xenstore-write \/local\/domain\/0\/backend\/vif\//,
    );
    expect(decide('vif-rate', 'xe', 'running', false).effect).toBe('replug');
    expect(decide('vif-rate', 'xm', 'running', false).effect).toBe('replug');
  });

  it('never calls fewer vCPUs live on an HVM guest under xl or xm', () => {
    for (const t of ['xl', 'xm'] as const) {
      const d = decide('vcpus-fewer-hvm', t, 'running', false);
      expect(d.effect).toBe('restart');
      expect(d.impossible).toMatch(/without --persist/);
      expect(decide('vcpus-fewer-hvm', t, 'running', true).impossible).toBeUndefined();
    }
  });

  it('says which live xl changes a reboot keeps, not only that a restart loses them', () => {
    const next = (kind: (typeof REQUESTS)[number]['kind']) =>
      modelTable('xl').find((r) => r.kind === kind)?.cells.running.next;
    expect(next('cpu-weight')).toMatch(
      /lost when the domain is created again from its file \(an xl reboot keeps it from Xen 4\.9/,
    );
    expect(next('vcpus')).toMatch(/an xl reboot keeps the vCPUs online from Xen 4\.8/);
    expect(next('memory')).toMatch(/an xl reboot keeps the memory target from Xen 4\.5/);
  });

  it('refuses what cannot happen in this run', () => {
    expect(decide('vcpus-above-max', 'xl', 'running', false).impossible).toMatch(/without --persist/);
    expect(decide('vcpus-above-max', 'xl', 'running', true).impossible).toBeUndefined();
    expect(decide('vcpus-above-max', 'xe', 'running', true).impossible).toMatch(/only while the VM is halted/);
    expect(decide('memory-above-max', 'xe', 'halted', false).impossible).toBeUndefined();
    expect(decide('io-priority', 'xl', 'running', true).impossible).toMatch(/xl cannot do this/);
    expect(decide('vif-rate-in', 'xe', 'halted', true).impossible).toMatch(/outbound traffic only/);
    expect(decide('vif-rate-in', 'xm', 'running', true).impossible).toBeUndefined();
  });

  it('gives the page the same cells the playbook decides with', () => {
    for (const t of TOOLSTACKS) {
      const rows = modelTable(t);
      expect(rows.map((r) => r.kind)).toEqual(REQUESTS.map((r) => r.kind));
      for (const row of rows) {
        for (const s of STATES) {
          const d = decide(row.kind, t, s, false);
          expect(row.cells[s].effect, `${row.kind}/${t}/${s}`).toBe(d.effect);
          expect(row.cells[s].how).toBe(d.how);
        }
      }
    }
    const xlWeight = modelTable('xl').find((r) => r.kind === 'cpu-weight');
    expect(xlWeight?.cells.running.next).toBe(
      'with --persist: cpu_weight = W; otherwise lost when the domain is created again from its file (an xl reboot keeps it from Xen 4.9 (libxl_retrieve_domain_configuration reads the scheduler))',
    );
    expect(modelTable('xe').find((r) => r.kind === 'cpu-weight')?.cells.running.next).toBe(
      'with --persist: VCPUs-params:weight=W; otherwise lost',
    );
    expect(xlWeight?.cells.halted.next).toBe('written: cpu_weight = W');
    const xeVcpus = modelTable('xe').find((r) => r.kind === 'vcpus-above-max');
    expect(xeVcpus?.cells.running.next).toBe('cannot be kept while running');
  });
});
