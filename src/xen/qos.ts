/**
 * QoS and dynamic resources: the rate syntax, the bounds, and the model of what applies live.
 *
 * One source for the playbook and the runbook page: the xen-qos playbook decides with
 * {@link decide} and validates with the bound checks below (src/playbooks/xen-qos/plan.ts and
 * want.ts); the page's table is rendered from {@link MODEL} by `src/components/QosModelTable.astro`.
 *
 * Facts behind the numbers:
 * - xl (libxlu_vif.c) reads `rate=` as `^[0-9]+[GMK]?[Bb]/s$`, decimal multipliers (K = 1000),
 *   bits divided by 8 after the multiplier (integer division), the number at most 2^32-1; the
 *   interval `@N(s|ms|us)` defaults to 50 ms; netback receives `bytes_per_interval,interval_us`
 *   with bytes_per_interval = bytes_per_sec × interval_us / 1 000 000 (integer division).
 * - xend (xm) reads the same syntax and silently falls back to "unlimited" when
 *   bytes_per_interval is 0 or above 2^32-1.
 * - xapi (xe) keeps `qos_algorithm_params:kbps` in kilobytes of 1024 bytes per second and
 *   `qos_algorithm_params:timeslice_us`, the interval in µs (xen-api ocaml/xapi/xapi_xenops.ml, the
 *   VIF's `rate` = (kbps, timeslice_us or 0), at v1.249.0 and v26.1.4; vm_config.ml at master/1.3.2).
 *   xenopsd's Device.Vif.add (ocaml/xenopsd/xc/device.ml at v26.1.4; ocaml/xenops/device.ml at
 *   master/1.3.2; xapi-project/xenopsd xc/device.ml, the separate repository whose 0.150 series
 *   xcp-ng-rpms/xenopsd packages for XCP-ng 8.2, has the same code) uses the
 *   timeslice when > 0, else 50 000 µs, and writes `bytes_per_interval,timeslice_us` with
 *   bytes_per_interval = kbps × 1024 × timeslice_us / 1 000 000 (integer division), which must be
 *   between 1 and 2^32-2 or the limit is dropped.
 */

import {
  XlConfig,
  parseDiskSpec,
  parseVifRate,
  parseVifSpec,
  sameValue,
  type XenRelease,
  type XlValue,
} from './xlcfg.js';
import type { XenVersion } from './xlversion.js';

/* ------------------------------------------------------------------ rate */

export type RateUnit = 'GB' | 'MB' | 'KB' | 'B' | 'Gb' | 'Mb' | 'Kb' | 'b';
export type IntervalUnit = 's' | 'ms' | 'us';

export const RATE_SYNTAX = 'NUMBER(GB|MB|KB|B|Gb|Mb|Kb|b)/s[@NUMBER(s|ms|us)]';
/** The interval xl, xm and xapi use when none is given. */
export const DEFAULT_INTERVAL_US = 50_000;
const UINT32_MAX = 4_294_967_295n;
/** xapi keeps the limit only while kbps × 1024 × 50000 / 10^6 < 0xffffffff (the default interval). */
export const XE_KBPS_MAX = 83_886_079;

/**
 * The kbps xenopsd keeps a limit for at an interval (Device.Vif.add): bytes_per_interval =
 * kbps × 1024 × timeslice_us / 10^6, integer division, must be > 0 and < 0xffffffff.
 */
export function xeKbpsBounds(timesliceUs: number): { min: number; max: number } {
  const ts = BigInt(timesliceUs) * 1024n;
  const min = (1_000_000n + ts - 1n) / ts;
  const max = (0xffffffffn * 1_000_000n + ts - 1n) / ts - 1n;
  return { min: Number(min), max: Number(max) };
}

/** What netback enforces: so many bytes per interval. */
export interface Credit {
  bytesPerInterval: number;
  intervalUs: number;
}

export interface Rate extends Credit {
  /** As the administrator wrote it, e.g. `8Mb/s@50ms`. */
  text: string;
  amount: number;
  unit: RateUnit;
  /** The interval as written, if any. */
  interval?: { amount: number; unit: IntervalUnit };
  /** Bytes per second, computed as xl computes it (integer division for bits). */
  bytesPerSecond: number;
}

/** A value outside its bound or syntax; the message names the bound. */
export class BoundError extends Error {
  readonly bound: string;
  constructor(bound: string, message: string) {
    super(message);
    this.name = 'BoundError';
    this.bound = bound;
  }
}

const RATE_RE = /^([0-9]+)(GB|MB|KB|B|Gb|Mb|Kb|b)\/s(?:@([0-9]+)(s|ms|us))?$/;
const PREFIX: Record<string, bigint> = { G: 1_000_000_000n, M: 1_000_000n, K: 1000n, '': 1n };
const INTERVAL_FACTOR: Record<IntervalUnit, bigint> = { s: 1_000_000n, ms: 1000n, us: 1n };

/** Parse `8Mb/s@50ms`; throws {@link BoundError} naming the syntax or the bound it breaks. */
export function parseRate(text: string): Rate {
  const t = text.trim();
  const m = RATE_RE.exec(t);
  if (!m) {
    throw new BoundError('rate syntax', `rate '${text}' does not match ${RATE_SYNTAX} (example: 8Mb/s@50ms)`);
  }
  const [, num = '', unit = 'B', inum, iunit] = m;
  if (/^0\d/.test(num) || (inum !== undefined && /^0\d/.test(inum))) {
    // xl reads numbers with strtoull(…, 0): a leading 0 means octal.
    throw new BoundError(
      'rate syntax',
      `rate '${text}': write numbers without a leading 0 (xl would read them as octal)`,
    );
  }
  const n = BigInt(num);
  if (n === 0n || n > UINT32_MAX) {
    throw new BoundError('rate number', `rate '${text}': the number must be 1 to ${UINT32_MAX} (xl refuses others)`);
  }
  let bps = n * (PREFIX[unit.slice(0, -1)] ?? 1n);
  if (unit.endsWith('b')) bps /= 8n;
  let intervalUs = BigInt(DEFAULT_INTERVAL_US);
  let interval: Rate['interval'];
  if (inum !== undefined && iunit !== undefined) {
    const i = BigInt(inum);
    intervalUs = i * INTERVAL_FACTOR[iunit as IntervalUnit];
    if (i === 0n || intervalUs > UINT32_MAX) {
      throw new BoundError(
        'rate interval',
        `rate '${text}': the interval must be 1 µs to ${UINT32_MAX} µs (about 71 minutes)`,
      );
    }
    interval = { amount: Number(i), unit: iunit as IntervalUnit };
  }
  const perInterval = (bps * intervalUs) / 1_000_000n;
  if (perInterval < 1n || perInterval > UINT32_MAX) {
    throw new BoundError(
      'rate credit',
      `rate '${text}' gives ${perInterval} bytes per ${formatInterval(Number(intervalUs))}: the credit per interval must be 1 to ${UINT32_MAX} bytes ` +
        `(xm would silently make the interface unlimited)`,
    );
  }
  return {
    text: t,
    amount: Number(n),
    unit: unit as RateUnit,
    ...(interval ? { interval } : {}),
    bytesPerSecond: Number(bps),
    intervalUs: Number(intervalUs),
    bytesPerInterval: Number(perInterval),
  };
}

/** Two rates give the same credit: the same bytes per interval and the same interval. */
export function sameRate(a: Credit | undefined, b: Credit | undefined): boolean {
  if (!a || !b) return a === b;
  return a.bytesPerInterval === b.bytesPerInterval && a.intervalUs === b.intervalUs;
}

export function formatInterval(us: number): string {
  if (us % 1_000_000 === 0) return `${us / 1_000_000} s`;
  if (us % 1000 === 0) return `${us / 1000} ms`;
  return `${us} µs`;
}

function group(n: number | bigint): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** The arithmetic from the written rate to bytes per second, e.g. `8 × 1 000 000 bit/s ÷ 8 = 1 000 000 bytes/s`. */
export function bytesPerSecondArithmetic(rate: Rate): string {
  const prefix = PREFIX[rate.unit.slice(0, -1)] ?? 1n;
  const bits = rate.unit.endsWith('b');
  const factor = prefix === 1n ? '' : ` × ${group(prefix)}`;
  return bits
    ? `${rate.amount}${factor} bit/s ÷ 8 = ${group(rate.bytesPerSecond)} bytes/s`
    : `${rate.amount}${factor} bytes/s = ${group(rate.bytesPerSecond)} bytes/s`;
}

export interface XeRate {
  /** The integer xe takes: `qos_algorithm_params:kbps=`. */
  kbps: number;
  /** `qos_algorithm_params:timeslice_us=`, set when the rate names its interval; else xapi's 50 ms. */
  timesliceUs?: number;
  /** The interval xenopsd will use: the timeslice, or 50 000 µs. */
  intervalUs: number;
  /** bytes/s ÷ 1024 before rounding. */
  exact: number;
  /** The whole conversion, as shown to the administrator. */
  arithmetic: string;
  /** Set when xe cannot express the rate exactly as asked (rounding). */
  notes: string[];
}

/**
 * xe counts kilobytes of 1024 bytes per second, outbound; the interval written in the rate goes to
 * `timeslice_us` (xapi_xenops.ml), otherwise xenopsd uses 50 ms. The kbps must give xenopsd
 * 1 to 2^32-2 bytes per interval ({@link xeKbpsBounds}), or it drops the limit.
 */
export function toXeKbps(rate: Rate): XeRate {
  const exact = rate.bytesPerSecond / 1024;
  const kbps = Math.max(1, Math.round(exact));
  const shown = Number.isInteger(exact) ? String(exact) : String(Number(exact.toFixed(4)));
  const intervalUs = rate.interval ? rate.intervalUs : DEFAULT_INTERVAL_US;
  const perInterval = (BigInt(kbps) * 1024n * BigInt(intervalUs)) / 1_000_000n;
  const arithmetic =
    `${rate.text}: ${bytesPerSecondArithmetic(rate)}; ÷ 1024 = ${shown} KiB/s` +
    (Number.isInteger(exact) ? ` → kbps=${kbps}` : ` → kbps=${kbps} (rounded)`) +
    (rate.interval ? `, timeslice_us=${intervalUs}` : '') +
    `; xenopsd: ${kbps} × 1024 × ${intervalUs} µs ÷ 10^6 = ${group(Number(perInterval))} bytes every ${formatInterval(intervalUs)}`;
  const notes: string[] = [];
  const { min, max } = xeKbpsBounds(intervalUs);
  if (kbps > max || kbps < min) {
    throw new BoundError(
      'xe kbps',
      `rate '${rate.text}' is ${kbps} kbps; at ${formatInterval(intervalUs)} xapi keeps limits of ${min} to ${max} kbps only (1 to ${UINT32_MAX - 1n} bytes per interval)`,
    );
  }
  return { kbps, ...(rate.interval ? { timesliceUs: intervalUs } : {}), intervalUs, exact, arithmetic, notes };
}

/** A credit as a person reads it: `50 000 bytes every 50 ms (1 000 000 bytes/s)`. */
export function formatCredit(c: Credit): string {
  const perSecond = Math.round((c.bytesPerInterval * 1_000_000) / c.intervalUs);
  return `${group(c.bytesPerInterval)} bytes every ${formatInterval(c.intervalUs)} (${group(perSecond)} bytes/s)`;
}

/** The credit netback gets, e.g. `1 000 000 bytes/s × 50 ms = 50 000 bytes every 50 ms`. */
export function creditArithmetic(rate: Rate): string {
  return `${bytesPerSecondArithmetic(rate)}; × ${formatInterval(rate.intervalUs)} = ${group(rate.bytesPerInterval)} bytes every ${formatInterval(rate.intervalUs)}`;
}

const TC_UNIT: Record<RateUnit, string> = {
  GB: 'gbps',
  MB: 'mbps',
  KB: 'kbps',
  B: 'bps',
  Gb: 'gbit',
  Mb: 'mbit',
  Kb: 'kbit',
  b: 'bit',
};

/** Oracle VM's inbound form for `vif_other_config` (tc tbf): `rate=8mbit,latency=50ms`. */
export function toTbfParams(rate: Rate): string {
  const latency = rate.interval ? `${rate.interval.amount}${rate.interval.unit}` : '50ms';
  return `rate=${rate.amount}${TC_UNIT[rate.unit]},latency=${latency}`;
}

/* ------------------------------------------------------------------ bounds */

export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 65535;
/** The credit schedulers' default weight. */
export const WEIGHT_DEFAULT = 256;

/** Oracle VM Manager's CPU priority names and the weights they stand for. */
export const ORACLE_WEIGHTS: Readonly<Record<'High' | 'Intermediate' | 'Low', number>> = {
  High: 100,
  Intermediate: 50,
  Low: 1,
};

export interface Weight {
  weight: number;
  /** The Oracle VM name it was given by, if any. */
  name?: keyof typeof ORACLE_WEIGHTS;
}

/** `512`, `High`, `intermediate`, `low` → a weight within 1–65535. */
export function parseWeight(text: string): Weight {
  const t = text.trim();
  const named = (Object.keys(ORACLE_WEIGHTS) as (keyof typeof ORACLE_WEIGHTS)[]).find(
    (k) => k.toLowerCase() === t.toLowerCase(),
  );
  if (named) return { weight: ORACLE_WEIGHTS[named], name: named };
  if (!/^\d+$/.test(t)) {
    throw new BoundError(
      'weight',
      `CPU weight '${text}' is not a number ${WEIGHT_MIN}–${WEIGHT_MAX} nor one of High (100), Intermediate (50), Low (1)`,
    );
  }
  const weight = Number(t);
  if (weight < WEIGHT_MIN || weight > WEIGHT_MAX) {
    throw new BoundError('weight', `CPU weight ${weight} is outside the weight bound ${WEIGHT_MIN}–${WEIGHT_MAX}`);
  }
  return { weight };
}

/** The cap is a percentage of one physical CPU: 0 (no cap) to 100 × the host's CPUs. */
export function capMax(nrCpus: number): number {
  return 100 * nrCpus;
}

/**
 * 0 (none) to 100 × the host's CPUs; libxl also refuses more than 100 × the domain's vCPU
 * maximum (a domain cannot use more than its vCPUs), so that bound applies when it is lower.
 */
export function checkCap(cap: number, nrCpus: number, domainVcpus?: number): void {
  const byDomain = domainVcpus !== undefined && Number.isFinite(domainVcpus) && domainVcpus < nrCpus;
  const max = byDomain ? 100 * (domainVcpus as number) : capMax(nrCpus);
  if (!Number.isInteger(cap) || cap < 0 || cap > max) {
    const why = byDomain
      ? `100 × the domain's ${domainVcpus} vCPUs; the host has ${nrCpus} CPUs`
      : `100 × ${nrCpus} host CPUs`;
    throw new BoundError('cap', `CPU cap ${cap} is outside the cap bound 0 (none) to ${max} (${why})`);
  }
}

export function checkLiveVcpus(vcpus: number, bootMax: number): void {
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > bootMax) {
    throw new BoundError(
      'live vCPUs',
      `${vcpus} vCPUs is outside the live vCPU bound 1 to ${bootMax} (the maximum the domain booted with)`,
    );
  }
}

/** Bytes; the live bound is the boot maximum (xl/xm maxmem, xe memory-static-max). */
export function checkLiveMemory(bytes: number, bootMax: number, min = 0): void {
  if (bytes <= 0 || bytes < min || bytes > bootMax) {
    const floor = min > 0 ? `${mib(min)}` : '1';
    throw new BoundError(
      'live memory',
      `memory ${mib(bytes)} MiB is outside the live memory bound ${floor}–${mib(bootMax)} MiB ` +
        `(up to the maximum the domain booted with${min > 0 ? ', from its static minimum' : ''})`,
    );
  }
}

export const IO_PRIORITY_MIN = 0;
export const IO_PRIORITY_MAX = 7;

export function checkIoPriority(prio: number): void {
  if (!Number.isInteger(prio) || prio < IO_PRIORITY_MIN || prio > IO_PRIORITY_MAX) {
    throw new BoundError(
      'I/O priority',
      `I/O priority ${prio} is outside the I/O priority bound ${IO_PRIORITY_MIN}–${IO_PRIORITY_MAX} (0 is the highest)`,
    );
  }
}

export type IoClass = 'rt' | 'be' | 'idle';

/** The ionice classes as each toolstack writes them. */
export const IO_CLASSES: Readonly<Record<IoClass, { title: string; xe: string; oracle: string }>> = {
  rt: { title: 'real-time', xe: 'rt', oracle: 'real-time' },
  be: { title: 'best-effort', xe: 'best-effort', oracle: 'best-effort' },
  idle: { title: 'idle (only when the disk is otherwise unused)', xe: 'idle', oracle: 'idle' },
};

/** xapi's `sched` value back to a class (`rt` and `real-time` are the same). */
export function ioClassOf(sched: string | undefined): IoClass | undefined {
  switch ((sched ?? '').trim().toLowerCase()) {
    case 'rt':
    case 'real-time':
      return 'rt';
    case 'be':
    case 'best-effort':
      return 'be';
    case 'idle':
      return 'idle';
    default:
      return undefined;
  }
}

/** Oracle VM's `disk_other_config` value: `sched=real-time,prio=2` (idle has no level). */
export function oracleIoniceParams(cls: IoClass, prio: number | undefined): string {
  const sched = `sched=${IO_CLASSES[cls].oracle}`;
  return cls === 'idle' || prio === undefined ? sched : `${sched},prio=${prio}`;
}

/** Memory in whole MiB, as xl.cfg and xm take it. */
export function mib(bytes: number): number {
  return Math.floor(bytes / 1024 ** 2);
}

/* ------------------------------------------------------------------ the model */

export type Toolstack = 'xl' | 'xe' | 'xm';
export type DomainState = 'running' | 'halted';
export type RequestKind =
  | 'cpu-weight'
  | 'cpu-cap'
  | 'vcpus'
  | 'vcpus-above-max'
  | 'vcpus-fewer-hvm'
  | 'memory'
  | 'memory-above-max'
  | 'vif-rate'
  | 'vif-rate-in'
  | 'io-priority';

/**
 * When a request takes effect:
 * - `live`: at once, on the running domain;
 * - `replug`: when the device is unplugged and plugged again (the playbook asks first);
 * - `restart`: only when the domain next starts (xl, xm: shut down and create it again from its
 *   file; what an xl reboot keeps is the cell's `reboot`);
 * - `start`: the domain is halted; the value is written for its next start;
 * - `unsupported`: this toolstack has no such setting.
 */
export type Effect = 'live' | 'replug' | 'restart' | 'start' | 'unsupported';

export interface ModelCell {
  effect: Effect;
  /** What the playbook runs or writes, in the toolstack's own words. */
  how: string;
  /**
   * Where the value is kept for the next start. `itself`: the change is stored by the command
   * that applies it; `persist`: only with --persist; absent: cannot be kept (see `why`).
   */
  keep?: { by: 'itself' | 'persist'; where: string };
  /** A sentence for the page and for refusals. */
  why?: string;
  /**
   * xl only: what a reboot does with a live change. xl restarts a rebooted domain from
   * `xl config-update`'s file if one was stored, else from libxl_retrieve_domain_configuration()
   * (xl_vmcontrol.c reload_domain_config), not from the configuration file.
   */
  reboot?: string;
}

export const TOOLSTACKS: readonly Toolstack[] = ['xl', 'xe', 'xm'];
export const STATES: readonly DomainState[] = ['running', 'halted'];

export const REQUESTS: readonly { kind: RequestKind; title: string; option: string }[] = [
  { kind: 'cpu-weight', title: 'CPU weight', option: '--cpu-weight' },
  { kind: 'cpu-cap', title: 'CPU cap', option: '--cpu-cap' },
  { kind: 'vcpus', title: 'vCPUs, up to the boot maximum', option: '--vcpus' },
  { kind: 'vcpus-above-max', title: 'vCPUs above the boot maximum', option: '--vcpus' },
  { kind: 'vcpus-fewer-hvm', title: 'Fewer vCPUs, HVM guest', option: '--vcpus' },
  { kind: 'memory', title: 'Memory, up to the boot maximum', option: '--memory' },
  { kind: 'memory-above-max', title: 'Memory above the boot maximum', option: '--memory' },
  { kind: 'vif-rate', title: 'Network rate, outbound', option: '--rate' },
  { kind: 'vif-rate-in', title: 'Network rate, inbound', option: '--inbound-rate' },
  { kind: 'io-priority', title: 'Disk I/O priority', option: '--io-priority, --io-class' },
];

type Row = Record<Toolstack, Record<DomainState, ModelCell>>;

const XL_HALTED = (key: string): ModelCell => ({
  effect: 'start',
  how: `config file: ${key}`,
  keep: { by: 'itself', where: key },
});

/** A vCPU count with xe, whether it is more or fewer than now: xapi hot-plugs either way. */
const XE_VCPUS: Record<DomainState, ModelCell> = {
  running: {
    effect: 'live',
    how: 'xe vm-vcpu-hotplug new-vcpus=N',
    keep: { by: 'itself', where: 'VCPUs-at-startup (xapi updates it)' },
    why: 'older xapi refuses CPU hotplug for HVM guests',
  },
  halted: {
    effect: 'start',
    how: 'xe vm-param-set VCPUs-at-startup=N',
    keep: { by: 'itself', where: 'VCPUs-at-startup=N' },
  },
};

/** THE MODEL: request × toolstack × domain state. */
export const MODEL: Readonly<Record<RequestKind, Row>> = {
  'cpu-weight': {
    xl: {
      running: {
        effect: 'live',
        how: 'xl sched-credit -d DOM -w W (credit2: xl sched-credit2)',
        keep: { by: 'persist', where: 'cpu_weight = W' },
        reboot: 'an xl reboot keeps it from Xen 4.9 (libxl_retrieve_domain_configuration reads the scheduler)',
      },
      halted: XL_HALTED('cpu_weight = W'),
    },
    xe: {
      running: {
        effect: 'live',
        how: 'xl sched-credit -d DOMID -w W on the host running the VM',
        keep: { by: 'persist', where: 'VCPUs-params:weight=W' },
        why: 'xapi applies VCPUs-params only when it builds the domain',
      },
      halted: {
        effect: 'start',
        how: 'xe vm-param-set VCPUs-params:weight=W',
        keep: { by: 'itself', where: 'VCPUs-params:weight=W' },
      },
    },
    xm: {
      running: { effect: 'live', how: 'xm sched-credit -d DOM -w W', keep: { by: 'persist', where: 'cpu_weight = W' } },
      halted: XL_HALTED('cpu_weight = W'),
    },
  },
  'cpu-cap': {
    xl: {
      running: {
        effect: 'live',
        how: 'xl sched-credit -d DOM -c C (credit2: xl sched-credit2 from Xen 4.10)',
        keep: { by: 'persist', where: 'cap = C' },
        reboot: 'an xl reboot keeps it from Xen 4.9 (libxl_retrieve_domain_configuration reads the scheduler)',
      },
      halted: XL_HALTED('cap = C'),
    },
    xe: {
      running: {
        effect: 'live',
        how: 'xl sched-credit -d DOMID -c C on the host running the VM',
        keep: { by: 'persist', where: 'VCPUs-params:cap=C' },
        why: 'xapi applies VCPUs-params only when it builds the domain',
      },
      halted: {
        effect: 'start',
        how: 'xe vm-param-set VCPUs-params:cap=C',
        keep: { by: 'itself', where: 'VCPUs-params:cap=C' },
      },
    },
    xm: {
      running: { effect: 'live', how: 'xm sched-credit -d DOM -c C', keep: { by: 'persist', where: 'cpu_cap = C' } },
      halted: XL_HALTED('cpu_cap = C'),
    },
  },
  vcpus: {
    xl: {
      running: {
        effect: 'live',
        how: 'xl vcpu-set DOM N',
        keep: { by: 'persist', where: 'vcpus = N' },
        reboot: 'an xl reboot keeps the vCPUs online from Xen 4.8',
        // Seen in the lab (Xen 4.17, an HVM guest with no OS): libxl_set_vcpuonline hot-plugs the
        // vCPU into QEMU (device_add) and writes cpu/N/availability, and Xen's vCPU stays down.
        why: "an HVM guest's OS must bring the new vCPU online: xl only hot-plugs it into QEMU (a PV kernel does it by itself)",
      },
      halted: XL_HALTED('vcpus = N'),
    },
    xe: XE_VCPUS,
    xm: {
      // xend has no maxvcpus: vcpus is the maximum, vcpu_avail the bitmask of those online at start.
      running: { effect: 'live', how: 'xm vcpu-set DOM N', keep: { by: 'persist', where: 'vcpu_avail = 2^N−1' } },
      halted: XL_HALTED('vcpu_avail = 2^N−1'),
    },
  },
  'vcpus-above-max': {
    xl: {
      running: {
        effect: 'restart',
        how: 'nothing live: the domain booted with fewer vCPU slots',
        keep: { by: 'persist', where: 'maxvcpus = N, vcpus = N' },
      },
      halted: XL_HALTED('maxvcpus = N, vcpus = N'),
    },
    xe: {
      running: {
        effect: 'restart',
        how: 'nothing live: the domain booted with fewer vCPU slots',
        why: 'xapi changes VCPUs-max only while the VM is halted: shut it down, then run again',
      },
      halted: {
        effect: 'start',
        how: 'xe vm-param-set VCPUs-max=N VCPUs-at-startup=N',
        keep: { by: 'itself', where: 'VCPUs-max=N, VCPUs-at-startup=N' },
      },
    },
    xm: {
      running: {
        effect: 'restart',
        how: 'nothing live: the domain booted with fewer vCPU slots',
        keep: { by: 'persist', where: 'vcpus = N (and no vcpu_avail)' },
      },
      halted: XL_HALTED('vcpus = N (and no vcpu_avail)'),
    },
  },
  'vcpus-fewer-hvm': {
    xl: {
      running: {
        effect: 'restart',
        how: 'nothing live: xl vcpu-set only writes cpu/N/availability, which an HVM guest ignores',
        keep: { by: 'persist', where: 'vcpus = N' },
        why: 'libxl_set_vcpuonline hot-adds vCPUs to an HVM guest through QEMU but cannot take them away',
      },
      halted: XL_HALTED('vcpus = N'),
    },
    // xe: as for any vCPU count (the playbook never picks this row for xe).
    xe: XE_VCPUS,
    xm: {
      running: {
        effect: 'restart',
        how: 'nothing live: xm vcpu-set only writes cpu/N/availability, which an HVM guest ignores',
        keep: { by: 'persist', where: 'vcpu_avail = 2^N−1' },
        why: 'only a PV kernel takes vCPUs offline when xenstore asks',
      },
      halted: XL_HALTED('vcpu_avail = 2^N−1'),
    },
  },
  memory: {
    xl: {
      running: {
        effect: 'live',
        how: 'xl mem-set DOM Mm (the guest balloon driver gives or takes the memory)',
        keep: { by: 'persist', where: 'memory = M' },
        reboot: 'an xl reboot keeps the memory target from Xen 4.5',
      },
      halted: XL_HALTED('memory = M'),
    },
    xe: {
      running: {
        effect: 'live',
        how: 'xe vm-memory-dynamic-range-set min=M max=M (the balloon driver follows)',
        keep: { by: 'itself', where: 'memory-dynamic-min/max' },
      },
      halted: {
        effect: 'start',
        how: 'xe vm-memory-dynamic-range-set min=M max=M',
        keep: { by: 'itself', where: 'memory-dynamic-min/max' },
      },
    },
    xm: {
      running: {
        effect: 'live',
        how: 'xm mem-set DOM M (the guest balloon driver gives or takes the memory)',
        keep: { by: 'persist', where: 'memory = M' },
      },
      halted: XL_HALTED('memory = M'),
    },
  },
  'memory-above-max': {
    xl: {
      running: {
        effect: 'restart',
        how: 'nothing live: the guest booted with a smaller memory map',
        keep: { by: 'persist', where: 'maxmem = M, memory = M' },
      },
      halted: XL_HALTED('maxmem = M, memory = M'),
    },
    xe: {
      running: {
        effect: 'restart',
        how: 'nothing live: the guest booted with a smaller memory map',
        why: 'xapi changes memory-static-max only while the VM is halted: shut it down, then run again',
      },
      halted: {
        effect: 'start',
        how: 'xe vm-memory-limits-set static-max=M dynamic-max=M dynamic-min=M',
        keep: { by: 'itself', where: 'memory-static-max, memory-dynamic-min/max' },
      },
    },
    xm: {
      running: {
        effect: 'restart',
        how: 'nothing live: the guest booted with a smaller memory map',
        keep: { by: 'persist', where: 'maxmem = M, memory = M' },
      },
      halted: XL_HALTED('maxmem = M, memory = M'),
    },
  },
  'vif-rate': {
    xl: {
      running: {
        effect: 'live',
        how: 'xenstore-write /local/domain/0/backend/vif/DOMID/DEVID/rate BYTES,USECS',
        keep: { by: 'persist', where: "vif = [ '…, rate=R' ]" },
        why:
          'Linux netback (4.2 and later) watches its rate key and applies it at once; with an older dom0 kernel the ' +
          'interface is detached and attached again (devid= from Xen 4.9). Only the PV path is limited: an HVM ' +
          'guest without PV drivers sends through QEMU’s emulated NIC, which has no limit',
        reboot:
          'an xl reboot restores the rate libxl attached the interface with (a re-plug’s, not a xenstore write’s)',
      },
      halted: XL_HALTED("vif = [ '…, rate=R' ]"),
    },
    xe: {
      running: {
        effect: 'replug',
        how: 'xe vif-param-set qos_algorithm_type=ratelimit qos_algorithm_params:kbps=K [qos_algorithm_params:timeslice_us=T], then vif-unplug/vif-plug',
        keep: { by: 'itself', where: 'qos_algorithm_params:kbps, :timeslice_us' },
        why: 'xapi reads the limit when it plugs the VIF; until then (or the next start) the old rate stays',
      },
      halted: {
        effect: 'start',
        how: 'xe vif-param-set qos_algorithm_type=ratelimit qos_algorithm_params:kbps=K [qos_algorithm_params:timeslice_us=T]',
        keep: { by: 'itself', where: 'qos_algorithm_params:kbps, :timeslice_us' },
      },
    },
    xm: {
      running: {
        effect: 'replug',
        how: 'xm network-detach, then xm network-attach with rate= (the same MAC)',
        keep: { by: 'persist', where: "vif = [ '…, rate=R' ]" },
        why: 'xend sets the rate when it attaches the interface',
      },
      halted: XL_HALTED("vif = [ '…, rate=R' ]"),
    },
  },
  'vif-rate-in': {
    xl: {
      running: { effect: 'unsupported', how: '—', why: 'xl limits outbound traffic only (rate=)' },
      halted: { effect: 'unsupported', how: '—', why: 'xl limits outbound traffic only (rate=)' },
    },
    xe: {
      running: { effect: 'unsupported', how: '—', why: 'xapi limits outbound traffic only (kbps)' },
      halted: { effect: 'unsupported', how: '—', why: 'xapi limits outbound traffic only (kbps)' },
    },
    xm: {
      running: {
        effect: 'restart',
        how: 'nothing from the command line',
        keep: { by: 'persist', where: "vif_other_config = [ [MAC, 'tbf', 'rate=…,latency=…'] ]" },
        why: 'Oracle VM’s xend reads vif_other_config when it starts the domain; upstream xend has no such key',
      },
      halted: XL_HALTED("vif_other_config = [ [MAC, 'tbf', 'rate=…,latency=…'] ]"),
    },
  },
  'io-priority': {
    xl: {
      running: {
        effect: 'unsupported',
        how: '—',
        why: 'xl.cfg has no per-disk I/O priority (by hand: ionice the blkback thread or qemu process serving the disk)',
      },
      halted: {
        effect: 'unsupported',
        how: '—',
        why: 'xl.cfg has no per-disk I/O priority (by hand: ionice the blkback thread or qemu process serving the disk)',
      },
    },
    xe: {
      running: {
        effect: 'restart',
        how: 'xe vbd-param-set qos_algorithm_type=ionice qos_algorithm_params:sched=S qos_algorithm_params:class=P',
        keep: { by: 'itself', where: 'VBD qos_algorithm_params' },
        why: 'xapi applies ionice when it plugs the disk; the playbook never unplugs a disk the guest may be using',
      },
      halted: {
        effect: 'start',
        how: 'xe vbd-param-set qos_algorithm_type=ionice qos_algorithm_params:sched=S qos_algorithm_params:class=P',
        keep: { by: 'itself', where: 'VBD qos_algorithm_params' },
      },
    },
    xm: {
      running: {
        effect: 'restart',
        how: 'nothing from the command line',
        keep: { by: 'persist', where: "disk_other_config = [ [VDEV, 'ionice', 'sched=…,prio=P'] ]" },
        why: 'Oracle VM’s xend reads disk_other_config when it starts the domain; upstream xend has no such key',
      },
      halted: XL_HALTED("disk_other_config = [ [VDEV, 'ionice', 'sched=…,prio=P'] ]"),
    },
  },
};

export interface Decision extends ModelCell {
  kind: RequestKind;
  toolstack: Toolstack;
  state: DomainState;
  /** The value is written for the next start in this run (persisted, or stored by the change itself). */
  kept: boolean;
  /** Applied now but gone at the next start, because --persist was not given. */
  lostOnRestart: boolean;
  /** Why nothing can be done in this run (the caller reports it as bad input, exit 2). */
  impossible?: string;
}

/** What the model says for one request; the playbook acts on it and the page shows it. */
export function decide(kind: RequestKind, toolstack: Toolstack, state: DomainState, persist: boolean): Decision {
  const cell = MODEL[kind][toolstack][state];
  const kept = cell.keep ? cell.keep.by === 'itself' || persist : false;
  const appliesNow = cell.effect === 'live' || cell.effect === 'replug';
  const d: Decision = {
    ...cell,
    kind,
    toolstack,
    state,
    kept,
    lostOnRestart: appliesNow && !kept,
  };
  if (cell.effect === 'unsupported') {
    d.impossible = `${toolstack} cannot do this: ${cell.why ?? 'no such setting'}`;
  } else if (cell.effect === 'restart' && !kept) {
    d.impossible = cell.keep
      ? `this only takes effect when the domain next starts, and nothing would be written without --persist (it goes to ${cell.keep.where})`
      : (cell.why ?? 'this cannot be changed while the domain runs');
  }
  return d;
}

export const EFFECT_TITLES: Readonly<Record<Effect, string>> = {
  live: 'live',
  replug: 'device re-plug',
  restart: 'restart',
  start: 'next start',
  unsupported: 'not available',
};

/** One line saying, before anything is done, when the request applies. */
export function describeDecision(d: Decision): string {
  const when: Record<Effect, string> = {
    live: 'applies live',
    replug: 'needs the device re-plugged',
    restart: 'needs a restart of the domain',
    start: 'the domain is halted: written for its next start',
    unsupported: 'not available',
  };
  let line = `${when[d.effect]} (${d.how})`;
  if (d.impossible) return `${line}: ${d.impossible}`;
  if (d.effect === 'live' || d.effect === 'replug') {
    if (d.keep?.by === 'itself') line += `; kept in ${d.keep.where}`;
    else if (d.kept && d.keep) line += `; --persist writes ${d.keep.where}`;
    else line += '; a restart would lose it (no --persist)';
  } else if (d.effect === 'restart' && d.keep) {
    line += d.keep.by === 'itself' ? `; kept in ${d.keep.where}` : `; --persist writes ${d.keep.where}`;
  }
  return line;
}

/* ------------------------------------------------------------------ the model as the page shows it */

export interface ModelTableCell {
  effect: Effect;
  /** `live`, `device re-plug`, … */
  effectTitle: string;
  how: string;
  /** What happens at the next start: kept where, or lost. */
  next: string;
  why?: string;
}

export interface ModelTableRow {
  kind: RequestKind;
  title: string;
  option: string;
  cells: Record<DomainState, ModelTableCell>;
}

function nextStart(cell: ModelCell, state: DomainState): string {
  if (cell.effect === 'unsupported') return '—';
  if (!cell.keep) return 'cannot be kept while running';
  if (cell.keep.by === 'itself') return state === 'halted' ? `written: ${cell.keep.where}` : `kept: ${cell.keep.where}`;
  if (cell.effect === 'restart') return `only with --persist: ${cell.keep.where}`;
  return cell.reboot
    ? `with --persist: ${cell.keep.where}; otherwise lost when the domain is created again from its file (${cell.reboot})`
    : `with --persist: ${cell.keep.where}; otherwise lost`;
}

/** The rows of the page's table for one toolstack, straight from {@link MODEL}. */
export function modelTable(toolstack: Toolstack): ModelTableRow[] {
  return REQUESTS.map(({ kind, title, option }) => {
    const cells = {} as Record<DomainState, ModelTableCell>;
    for (const state of STATES) {
      const cell = MODEL[kind][toolstack][state];
      cells[state] = {
        effect: cell.effect,
        effectTitle: EFFECT_TITLES[cell.effect],
        how: cell.how,
        next: nextStart(cell, state),
        ...(cell.why ? { why: cell.why } : {}),
      };
    }
    return { kind, title, option, cells };
  });
}

/* ------------------------------------------------------------------ reading xl and xm output */

/** `xl info` / `xm info`: `key : value` lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][\w ]*?)\s*:\s?(.*)$/.exec(line);
    if (m?.[1]) out[m[1].trim()] = (m[2] ?? '').trim();
  }
  return out;
}

export interface SchedParams {
  weight: number;
  cap?: number;
}

/**
 * The parameters of one domain from `xl sched-credit -d D`, `xl sched-credit2 -d D` or
 * `xm sched-credit -d D`: the table (`Name ID Weight Cap`, Cap absent with old credit2) or the
 * dictionary older xm printed (`{'cap': 0, 'weight': 256}`).
 */
export function parseSchedParams(text: string): SchedParams | undefined {
  const dict = /\{[^}]*'weight':\s*(\d+)[^}]*\}/.exec(text);
  if (dict) {
    const cap = /'cap':\s*(\d+)/.exec(text);
    return { weight: Number(dict[1]), ...(cap ? { cap: Number(cap[1]) } : {}) };
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const headerAt = lines.findIndex((l) => /^Name\s+ID\s+Weight\b/.test(l));
  if (headerAt < 0) return undefined;
  const header = (lines[headerAt] as string).trim().split(/\s+/);
  const row = lines.slice(headerAt + 1).find((l) => !/^Cpupool\b/.test(l));
  if (!row) return undefined;
  // The name may hold spaces in xm; the numbers are the last columns.
  const cols = row.trim().split(/\s+/);
  const numbers = cols.slice(cols.length - (header.length - 1));
  const at = (name: string) => {
    const i = header.indexOf(name);
    return i < 1 ? undefined : Number(numbers[i - 1]);
  };
  const weight = at('Weight');
  if (weight === undefined || Number.isNaN(weight)) return undefined;
  const cap = at('Cap');
  return { weight, ...(cap !== undefined && !Number.isNaN(cap) ? { cap } : {}) };
}

/**
 * The scheduler that runs a domain: its cpupool's (tools/libs/light/libxl_dom.c
 * libxl__domain_scheduler, RELEASE-4.17.0), which is what `xl sched-credit*` checks. `xl info`'s
 * xen_scheduler is not it on a host with cpupools: that is Xen's boot default
 * (xen/common/sysctl.c XEN_SYSCTL_sched_id, sched/core.c sched_id(): ops.sched_id), and
 * `xl sched-credit -d D` on a domain in a credit2 pool fails ("Invalid argument").
 * From `xl list -c DOMAIN` (its last column, the pool; xl_info.c list_domains) and
 * `xl cpupool-list` (`Name CPUs Sched Active Domain count`; xl_cpupool.c main_cpupoollist).
 */
export function domainScheduler(listWithPool: string, cpupoolList: string): string | undefined {
  const row = listWithPool
    .split('\n')
    .slice(1)
    .find((l) => l.trim() !== '');
  const pool = row?.trim().split(/\s+/).at(-1);
  return pool ? cpupoolScheduler(cpupoolList, pool) : undefined;
}

/** The scheduler of cpupool POOL in `xl cpupool-list`'s output (its Sched column). */
export function cpupoolScheduler(cpupoolList: string, pool: string): string | undefined {
  for (const line of cpupoolList.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[0] === pool && f.length >= 3) return f[2];
  }
  return undefined;
}

/**
 * An S-expression from `xm list --long`: atoms are strings, lists are arrays. `loose` reads xl's
 * (xl-list-long.ts): bare atoms, a stray `)` forgiven, lists the text leaves open closed.
 */
export type Sxp = string | Sxp[];

export function parseSxp(text: string, o: { loose?: boolean } = {}): Sxp[] {
  const out: Sxp[] = [];
  const stack: Sxp[][] = [out];
  // xm prints Python reprs (quoted strings); xl's printf_info (loose) prints bare words, unquoted.
  const re = o.loose
    ? /\s*(?:(\()|(\))|([^\s()]+))/gy
    : /\s*(?:(\()|(\))|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s()'"]+))/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const top = stack[stack.length - 1] as Sxp[];
    if (m[1]) {
      const list: Sxp[] = [];
      top.push(list);
      stack.push(list);
    } else if (m[2]) {
      if (stack.length > 1) stack.pop();
      else if (!o.loose) throw new SyntaxError('unbalanced ) in xm output');
    } else {
      top.push(m[3] ?? m[4] ?? m[5] ?? '');
    }
  }
  return out;
}

/** The value of `(key value)` directly inside an SXP list. */
export function sxpGet(list: Sxp, key: string): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const item of list) {
    if (Array.isArray(item) && item[0] === key && typeof item[1] === 'string') return item[1];
  }
  return undefined;
}

/** Every `(key ...)` list directly inside an SXP list. */
export function sxpAll(list: Sxp, key: string): Sxp[][] {
  if (!Array.isArray(list)) return [];
  return list.filter((i): i is Sxp[] => Array.isArray(i) && i[0] === key);
}

/* ------------------------------------------------------------------ what the playbook reads */

export interface VifFacts {
  /** devid (xl, xm) or the VIF's device number (xe): N of ethN in most guests. */
  index: number;
  mac: string;
  /** The limit in force (running) or configured (halted); undefined: unlimited. */
  credit?: Credit | undefined;
  /** xl/xm: the parameters to attach it again with (bridge, model, script, …), without rate or devid. */
  params?: Record<string, string>;
  /**
   * xl: the backend's xenbus state (BACKEND/state): 4 once the guest's netfront has connected; an
   * HVM guest without PV drivers leaves it waiting (2) and sends through QEMU's emulated NIC.
   */
  backendState?: number;
  /** xe */
  uuid?: string;
  qosType?: string;
  kbps?: number;
  /** xe: qos_algorithm_params:timeslice_us when set (xenopsd uses 50 000 µs otherwise). */
  timesliceUs?: number;
  attached?: boolean;
}

export interface DiskFacts {
  vdev: string;
  /** Other names --disk may give it (xe: the userdevice number). */
  aliases?: string[];
  /** xe: the VBD */
  uuid?: string;
  ioClass?: IoClass;
  ioPriority?: number;
}

/** What the next start of the domain would use: the config file (xl, xm) or xapi's fields (xe). */
export interface StoredValues {
  weight?: number;
  cap?: number;
  vcpus?: number;
  maxVcpus?: number;
  /** bytes */
  memory?: number;
  maxMemory?: number;
  /** The maxima as written (xl maxvcpus, xm vcpus; maxmem in bytes), absent when the file leaves them to the defaults. */
  explicitMaxVcpus?: number;
  explicitMaxMemory?: number;
  /** vif index → credit (undefined: unlimited) */
  vifCredit?: Record<number, Credit | undefined>;
  /** mac (lower case) → tbf params */
  inbound?: Record<string, string>;
  /** vdev → ionice params as written */
  ionice?: Record<string, string>;
}

export interface DomainFacts {
  toolstack: Toolstack;
  name: string;
  state: DomainState;
  domid?: number;
  uuid?: string;
  guestType?: 'pv' | 'hvm' | 'pvh';
  /** `xl info` xen_scheduler: credit, credit2, rtds, … */
  scheduler: string;
  nrCpus: number;
  /** Live scheduler parameters (running). */
  sched?: SchedParams;
  /** vCPUs online now (running) or at start (halted). */
  vcpus: number;
  /** xl, running: the vCPUs xenstore asks the guest to have online (cpu/N/availability), when it says. */
  vcpusAsked?: number;
  /** The boot maximum: xl/xm maxvcpus, xe VCPUs-max. */
  maxVcpus: number;
  /** Memory target now (running) or at start (halted), bytes. */
  memory: number;
  /** The boot maximum: xl/xm maxmem, xe memory-static-max, bytes. */
  maxMemory: number;
  /** xe memory-static-min. */
  minMemory?: number;
  /** Whether the guest has a balloon driver; undefined when it cannot be told. */
  balloon?: boolean;
  vifs: VifFacts[];
  disks: DiskFacts[];
  /** xl/xm: the configuration file, if one was found. */
  configPath?: string;
  stored: StoredValues;
  /** xl/xm: the hypervisor's release (`xl info` xen_major, xen_minor). */
  xen?: XenVersion;
  /** xl/xm: dom0's kernel (`xl info` release), whose netback may watch the rate key. */
  dom0Kernel?: string;
  /** xm: the host is Oracle VM Server (/etc/ovs-release), whose xend reads vif_other_config and disk_other_config. */
  oracleVm?: boolean;
  /**
   * Where a live value came from when the toolstack's own listing does not show it (xl before 4.5
   * lists the configuration the domain was created with), and what could not be read live.
   */
  liveNotes?: string[];
}

/**
 * Does a rate limit this interface? netback limits the PV path only (libxl_nic.c writes `rate` into
 * the vif backend alone); an HVM guest whose netfront never connected sends through QEMU's
 * emulated card (the tap vifD.N-emu), which nothing limits.
 */
export function rateLimitsVif(f: Pick<DomainFacts, 'guestType' | 'state'>, vif: VifFacts): boolean {
  if (f.state !== 'running' || f.guestType !== 'hvm') return true;
  return vif.backendState === undefined || vif.backendState === 4;
}

const MiB = 1024 ** 2;

function strings(v: XlValue | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

function triples(v: XlValue | undefined): string[][] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is XlValue[] => Array.isArray(x)).map((x) => x.map((y) => String(y)));
}

/** A vif's rate as written in a config file, or undefined; a rate xl would refuse is reported. */
/**
 * The credit a config's `rate=` gives. xl: as the release's xlu_vif_parse_rate reads it
 * (parseVifRate, checked against every release's libxlutil; it throws xl's message where xl
 * refuses the rate). xm: the --rate syntax (parseRate), which xend reads alike.
 */
function creditOf(spec: Record<string, string>, dialect: 'xl' | 'xm', release?: XenRelease): Credit | undefined {
  const r = spec.rate;
  if (r === undefined || r === '') return undefined;
  if (dialect === 'xl') {
    const x = parseVifRate(r, release);
    return { bytesPerInterval: x.bytesPerInterval, intervalUs: x.intervalUsecs };
  }
  const p = parseRate(r);
  return { bytesPerInterval: p.bytesPerInterval, intervalUs: p.intervalUs };
}

/** The VIFs of a config file: position = devid unless `devid=` says otherwise. */
export function configVifs(cfg: XlConfig, dialect: 'xl' | 'xm' = 'xl', release?: XenRelease): VifFacts[] {
  return strings(cfg.get('vif')).map((spec, i) => {
    const p = parseVifSpec(spec);
    const { rate: _rate, devid: _devid, ...params } = p;
    return {
      index: p.devid !== undefined ? Number(p.devid) : i,
      mac: (p.mac ?? '').toLowerCase(),
      credit: creditOf(p, dialect, release),
      params,
    };
  });
}

/**
 * The disks of a config, as the release's xl reads them (parseDiskSpec follows libxlutil's
 * xlu_disk_parse, so `drbd:res0,xvda,w` and the other block-script prefixes are disks too).
 */
export function configDisks(cfg: XlConfig, release?: XenRelease): DiskFacts[] {
  const out: DiskFacts[] = [];
  for (const spec of strings(cfg.get('disk'))) {
    try {
      out.push({ vdev: parseDiskSpec(spec, release).vdev as string });
    } catch {
      // A disk xl could not read: the domain would not start either; not ours to judge here.
    }
  }
  return out;
}

/** The number of bits set in xend's vcpu_avail bitmask. */
function popcount(n: number): number {
  let c = 0;
  for (let v = BigInt(n); v > 0n; v >>= 1n) c += Number(v & 1n);
  return c;
}

/** The config file's vCPUs at start and their maximum: xl `vcpus`/`maxvcpus`, xm `vcpu_avail`/`vcpus`. */
export function configVcpus(cfg: XlConfig, dialect: 'xl' | 'xm' = 'xl'): { vcpus?: number; maxVcpus?: number } {
  const vcpus = cfg.getNumber('vcpus');
  if (dialect === 'xm') {
    const avail = cfg.getNumber('vcpu_avail');
    const online = avail !== undefined && vcpus !== undefined ? Math.min(popcount(avail), vcpus) : vcpus;
    return { ...(online !== undefined ? { vcpus: online } : {}), ...(vcpus !== undefined ? { maxVcpus: vcpus } : {}) };
  }
  const max = cfg.getNumber('maxvcpus') ?? vcpus;
  return { ...(vcpus !== undefined ? { vcpus } : {}), ...(max !== undefined ? { maxVcpus: max } : {}) };
}

/** What a domain configuration file says the next start will use (xm: xend's keys). */
export function storedFromConfig(cfg: XlConfig, dialect: 'xl' | 'xm' = 'xl'): StoredValues {
  const { vcpus, maxVcpus } = configVcpus(cfg, dialect);
  const memory = cfg.getNumber('memory');
  const maxMemory = cfg.getNumber('maxmem') ?? memory;
  const vifCredit: Record<number, Credit | undefined> = {};
  for (const v of configVifs(cfg, dialect)) vifCredit[v.index] = v.credit;
  const inbound: Record<string, string> = {};
  for (const [mac, type, params] of triples(cfg.get('vif_other_config'))) {
    if (mac && type === 'tbf' && params !== undefined) inbound[mac.toLowerCase()] = params;
  }
  const ionice: Record<string, string> = {};
  for (const [vdev, type, params] of triples(cfg.get('disk_other_config'))) {
    if (vdev && type === 'ionice' && params !== undefined) ionice[vdev] = params;
  }
  const explicitMaxVcpus = cfg.getNumber(dialect === 'xm' ? 'vcpus' : 'maxvcpus');
  const explicitMaxMemory = cfg.getNumber('maxmem');
  return {
    ...(explicitMaxVcpus !== undefined ? { explicitMaxVcpus } : {}),
    ...(explicitMaxMemory !== undefined ? { explicitMaxMemory: explicitMaxMemory * MiB } : {}),
    weight: cfg.getNumber('cpu_weight') ?? WEIGHT_DEFAULT,
    cap: cfg.getNumber(dialect === 'xm' ? 'cpu_cap' : 'cap') ?? 0,
    ...(vcpus !== undefined ? { vcpus } : {}),
    ...(maxVcpus !== undefined ? { maxVcpus } : {}),
    ...(memory !== undefined ? { memory: memory * MiB } : {}),
    ...(maxMemory !== undefined ? { maxMemory: maxMemory * MiB } : {}),
    vifCredit,
    inbound,
    ionice,
  };
}

/* ------------------------------------------------------------------ writing the config file */

/** What --persist (or a halted domain) writes into an xl or xm configuration file. */
export interface ConfigChanges {
  weight?: number;
  cap?: number;
  vcpus?: number;
  maxVcpus?: number;
  /** MiB */
  memory?: number;
  maxMemory?: number;
  vifRate?: { index: number; mac: string; rate: string };
  /** Oracle VM: vif_other_config [mac, 'tbf', params] */
  inbound?: { mac: string; params: string };
  /** Oracle VM: disk_other_config [vdev, 'ionice', params] */
  ionice?: { vdev: string; params: string };
}

/** Set `key=value` in a comma-separated spec, keeping every other byte (and the separator style). */
export function setSpecKey(spec: string, key: string, value: string): string {
  const items = spec.split(',');
  const at = items.findIndex((it) => it.trim().startsWith(`${key}=`));
  if (at >= 0) {
    const item = items[at] as string;
    const lead = /^\s*/.exec(item)?.[0] ?? '';
    items[at] = `${lead}${key}=${value}`;
    return items.join(',');
  }
  const sep = items.length > 1 && /^\s/.test(items[1] as string) ? ', ' : ',';
  return spec.trim() === '' ? `${key}=${value}` : `${spec}${sep}${key}=${value}`;
}

function upsertTriple(list: XlValue | undefined, key: string, entry: string[], ignoreCase: boolean): XlValue[] {
  const out: XlValue[] = Array.isArray(list) ? [...list] : [];
  const same = (a: string) => (ignoreCase ? a.toLowerCase() === key.toLowerCase() : a === key);
  const at = out.findIndex((x) => Array.isArray(x) && typeof x[0] === 'string' && same(x[0]) && x[1] === entry[1]);
  if (at >= 0) {
    const old = out[at] as XlValue[];
    out[at] = [old[0] as string, ...entry.slice(1)];
  } else out.push(entry);
  return out;
}

/**
 * Replace one string of a list where it is written (its quotes and the list's layout kept), checked
 * by parsing the result; when the string cannot be found as written, the list is set whole.
 */
function replaceListString(
  cfg: XlConfig,
  key: string,
  before: string,
  after: string,
  wanted: XlValue[],
  source: string,
): XlConfig {
  const statements = cfg.statementText(key);
  const text = cfg.toString();
  if (statements.length === 1 && !/['"\\]/.test(before + after)) {
    const stmt = statements[0] as string;
    for (const q of ["'", '"']) {
      const literal = `${q}${before}${q}`;
      if (stmt.split(literal).length === 2 && text.split(stmt).length === 2) {
        const candidate = XlConfig.parse(
          text.replace(stmt, () => stmt.replace(literal, () => `${q}${after}${q}`)),
          {
            source,
          },
        );
        if (sameValue(candidate.get(key), wanted)) return candidate;
      }
    }
  }
  cfg.set(key, wanted);
  return cfg;
}

/**
 * The config file's new text. Only the keys asked for are touched; everything else stays byte for
 * byte. Throws when the VIF to limit is not in the file.
 */
export function rewriteConfig(
  text: string,
  changes: ConfigChanges,
  source = 'config',
  dialect: 'xl' | 'xm' = 'xl',
): string {
  let cfg = XlConfig.parse(text, { source });
  if (changes.weight !== undefined) cfg.set('cpu_weight', changes.weight);
  if (changes.cap !== undefined) cfg.set(dialect === 'xm' ? 'cpu_cap' : 'cap', changes.cap);
  if (dialect === 'xm') {
    // xend: vcpus is the maximum; vcpu_avail, a bitmask, brings fewer online at start.
    const max = changes.maxVcpus ?? configVcpus(cfg, 'xm').maxVcpus;
    if (changes.maxVcpus !== undefined) cfg.set('vcpus', changes.maxVcpus);
    if (changes.vcpus !== undefined || changes.maxVcpus !== undefined) {
      const online = changes.vcpus ?? configVcpus(cfg, 'xm').vcpus;
      if (online === undefined || max === undefined || online >= max) cfg.delete('vcpu_avail');
      else cfg.set('vcpu_avail', 2 ** online - 1);
    }
  } else {
    if (changes.maxVcpus !== undefined) cfg.set('maxvcpus', changes.maxVcpus);
    if (changes.vcpus !== undefined) cfg.set('vcpus', changes.vcpus);
  }
  if (changes.maxMemory !== undefined) cfg.set('maxmem', changes.maxMemory);
  if (changes.memory !== undefined) cfg.set('memory', changes.memory);
  if (changes.vifRate) {
    const { index, mac, rate } = changes.vifRate;
    const list = strings(cfg.get('vif'));
    const vifs = configVifs(cfg, dialect);
    let at = mac ? vifs.findIndex((v) => v.mac === mac.toLowerCase()) : -1;
    if (at < 0) at = vifs.findIndex((v) => v.index === index && (v.mac === '' || !mac));
    if (at < 0) {
      throw new Error(`${source} has no vif line for interface ${index}${mac ? ` (${mac})` : ''}: add it there first`);
    }
    const updated = list.map((spec, i) => (i === at ? setSpecKey(spec, 'rate', rate) : spec));
    cfg = replaceListString(cfg, 'vif', list[at] as string, updated[at] as string, updated, source);
  }
  if (changes.inbound) {
    const { mac, params } = changes.inbound;
    cfg.set('vif_other_config', upsertTriple(cfg.get('vif_other_config'), mac, [mac, 'tbf', params], true));
  }
  if (changes.ionice) {
    const { vdev, params } = changes.ionice;
    cfg.set('disk_other_config', upsertTriple(cfg.get('disk_other_config'), vdev, [vdev, 'ionice', params], false));
  }
  return cfg.toString();
}
