/**
 * Deciding: every request against the model (src/xen/qos.ts `decide`) and the bounds of this
 * domain, before anything is changed. A request that cannot be done here is a violation; the
 * playbook refuses the whole run when there is one.
 */
import type { Logger } from '../../engine/runner.js';
import {
  BoundError,
  WEIGHT_DEFAULT,
  checkCap,
  checkLiveMemory,
  checkLiveVcpus,
  creditArithmetic,
  decide,
  mib,
  rateLimitsVif,
  toXeKbps,
  type Decision,
  type DiskFacts,
  type DomainFacts,
  type RequestKind,
  type VifFacts,
} from '../../xen/qos.js';
import { checkLiveMemoryFloor } from '../../xen/memfloor.js';
import {
  attachAppliesRate,
  attachTakesDevid,
  configAppliesRate,
  credit2HasCap,
  netbackWatchesRate,
  versionText,
} from '../../xen/xlversion.js';
import type { Want } from './want.js';

/**
 * How a running xl/xm domain's interface gets a new rate:
 * - `emulated`: it cannot: an HVM guest whose netfront never connected uses QEMU's NIC;
 * - `xenstore`: written into the backend's rate key, which netback watches (dom0 Linux 4.2+);
 * - `replug` / `replug-no-devid`: detached and attached again, with its devid where xl takes
 *   devid= (Xen 4.9+), else under the next free one (xm never takes one);
 * - `next-start`: xl 4.1 drops rate= on network-attach, and in the configuration file too
 *   (parse_config_data: "the rate parameter for vifs is currently not supported"): nothing
 *   applies it before Xen 4.2.
 */
/** Why no xl before 4.2 keeps a rate, with the way out. */
const XL41_RATE =
  'xl before Xen 4.2 ignores rate= in the configuration file as well ("the rate parameter for vifs is currently not supported") ' +
  'and drops it on network-attach; xl reads it from Xen 4.2. A dom0 kernel 4.2 or later applies the rate live (xenstore), until the domain next starts';

export type RateRoute = 'emulated' | 'xenstore' | 'replug' | 'replug-no-devid' | 'next-start';

/** One request, decided: when it takes effect, on which device, with which values. */
export interface Planned {
  option: string;
  value: string;
  decision: Decision;
  vif?: VifFacts;
  disk?: DiskFacts;
  /** xe: the limit in xapi's units. */
  kbps?: number;
  timesliceUs?: number;
  xeIntervalUs?: number;
  route?: RateRoute;
}

export interface PlanInput {
  want: Want;
  persist: boolean;
  /** --vif and --disk, when given. */
  vif?: number | undefined;
  disk?: string | undefined;
}

/** The request of one of these kinds in the plan, if any. */
export function findRequest(plan: readonly Planned[], ...kinds: RequestKind[]): Planned | undefined {
  return plan.find((p) => kinds.includes(p.decision.kind));
}

/** The route a new rate takes to a running xl/xm domain's interface (see {@link RateRoute}). */
export function rateRoute(f: DomainFacts, vif: VifFacts): RateRoute {
  if (!rateLimitsVif(f, vif)) return 'emulated';
  if (f.toolstack === 'xl' && f.domid !== undefined && netbackWatchesRate(f.dom0Kernel)) return 'xenstore';
  if (f.toolstack === 'xm') return 'replug-no-devid';
  if (!attachAppliesRate(f.xen)) return 'next-start';
  return attachTakesDevid(f.xen) ? 'replug' : 'replug-no-devid';
}

/** The interface --rate acts on: --vif N, or the only one. */
export function pickVif(f: DomainFacts, index: number | undefined, violations: string[]): VifFacts | undefined {
  if (f.vifs.length === 0) {
    violations.push(`${f.name} has no network interface`);
    return undefined;
  }
  if (index === undefined) {
    if (f.vifs.length === 1) return f.vifs[0];
    violations.push(
      `${f.name} has ${f.vifs.length} network interfaces (${f.vifs.map((v) => v.index).join(', ')}): say which with --vif N`,
    );
    return undefined;
  }
  const vif = f.vifs.find((v) => v.index === index);
  if (!vif) violations.push(`--vif ${index}: ${f.name} has interfaces ${f.vifs.map((v) => v.index).join(', ')}`);
  return vif;
}

/** The disk --io-priority acts on: --disk VDEV (or an alias), or the only one. */
export function pickDisk(f: DomainFacts, vdev: string | undefined, violations: string[]): DiskFacts | undefined {
  if (f.disks.length === 0) {
    violations.push(`${f.name} has no disk`);
    return undefined;
  }
  if (vdev === undefined) {
    if (f.disks.length === 1) return f.disks[0];
    violations.push(
      `${f.name} has ${f.disks.length} disks (${f.disks.map((d) => d.vdev).join(', ')}): say which with --disk`,
    );
    return undefined;
  }
  const disk = f.disks.find((d) => d.vdev === vdev || d.aliases?.includes(vdev));
  if (!disk) violations.push(`--disk ${vdev}: ${f.name} has ${f.disks.map((d) => d.vdev).join(', ')}`);
  return disk;
}

/**
 * Every request against the model and the bounds. Returns the plan and the violations (none: the
 * plan can run). Notes (the rate arithmetic) and warnings go to `log` as they are found.
 */
export function planRequests(
  f: DomainFacts,
  input: PlanInput,
  log: Pick<Logger, 'info' | 'warn'>,
): { plan: Planned[]; violations: string[] } {
  const { want, persist } = input;
  const plan: Planned[] = [];
  const violations: string[] = [];
  const add = (kind: RequestKind, option: string, value: string, extra: Partial<Planned> = {}): Decision => {
    const decision = decide(kind, f.toolstack, f.state, persist);
    if (decision.impossible) violations.push(`${option} ${value}: ${decision.impossible}`);
    plan.push({ option, value, decision, ...extra });
    return decision;
  };
  const bound = (check: () => void): boolean => {
    try {
      check();
      return true;
    } catch (e) {
      if (e instanceof BoundError) {
        violations.push(e.message);
        return false;
      }
      throw e;
    }
  };
  const liveCpu = f.state === 'running';
  if ((want.weight || want.cap !== undefined) && !['credit', 'credit2'].includes(f.scheduler)) {
    const msg = `the host runs the ${f.scheduler} scheduler, which has no weight or cap (credit and credit2 do)`;
    if (liveCpu) violations.push(msg);
    else log.warn(msg);
  }
  if (want.weight?.name && want.weight.weight < WEIGHT_DEFAULT) {
    log.warn(
      `Oracle VM's ${want.weight.name} is weight ${want.weight.weight}, below the default ${WEIGHT_DEFAULT} that ` +
        'other domains have unless set: next to them this guest gets less CPU, not more (weights are relative)',
    );
  }
  if (want.weight) {
    add(
      'cpu-weight',
      '--cpu-weight',
      want.weight.name ? `${want.weight.name} (${want.weight.weight})` : String(want.weight.weight),
    );
  }
  const cap = want.cap;
  if (cap !== undefined) {
    // libxl checks a cap against the domain's vCPU maximum: the one it runs with, or will start with.
    const domainVcpus =
      f.state === 'running'
        ? f.maxVcpus
        : Math.max(want.vcpus ?? 0, Number.isFinite(f.maxVcpus) ? f.maxVcpus : f.vcpus);
    bound(() => checkCap(cap, f.nrCpus, domainVcpus));
    add('cpu-cap', '--cpu-cap', String(cap));
    // credit2 caps: xl sched-credit2 -c from Xen 4.10 (xl_sched.c); xend's sched-credit2 takes -w only.
    if (
      liveCpu &&
      f.scheduler === 'credit2' &&
      (f.toolstack === 'xm' || (f.toolstack === 'xl' && !credit2HasCap(f.xen)))
    ) {
      violations.push(
        `--cpu-cap ${cap}: ${f.toolstack === 'xm' ? "xm sched-credit2 takes a weight only (xend's credit2 has no cap)" : `xl sched-credit2 has no cap before Xen 4.10 (this host runs ${versionText(f.xen)})`}`,
      );
    }
  }
  const vcpus = want.vcpus;
  if (vcpus !== undefined) {
    const above = vcpus > f.maxVcpus;
    // An HVM guest gets vCPUs hot-added through QEMU but none taken away (libxl_set_vcpuonline).
    const fewerHvm =
      !above && f.state === 'running' && f.toolstack !== 'xe' && f.guestType === 'hvm' && vcpus < f.vcpus;
    const d = add(above ? 'vcpus-above-max' : fewerHvm ? 'vcpus-fewer-hvm' : 'vcpus', '--vcpus', String(vcpus));
    if (fewerHvm && d.impossible) {
      violations.pop();
      violations.push(`--vcpus ${vcpus}: ${d.how} (${d.why}); --persist writes it for the next start`);
    }
    if (above && f.state === 'running' && d.impossible) {
      violations.pop();
      bound(() => checkLiveVcpus(vcpus, f.maxVcpus));
      violations.push(`  ${d.impossible}`);
    }
    if (f.state === 'running' && !above && f.toolstack === 'xl' && vcpus > f.vcpus && vcpus > f.nrCpus) {
      // xl vcpu-set refuses this ("You are overcommmitting!") unless given --ignore-host.
      violations.push(
        `--vcpus ${vcpus}: more vCPUs than the host's ${f.nrCpus} CPUs; xl vcpu-set refuses to overcommit a domain`,
      );
    }
  }
  const memory = want.memory;
  if (memory !== undefined) {
    const above = memory > f.maxMemory;
    const d = add(above ? 'memory-above-max' : 'memory', '--memory', `${mib(memory)} MiB`);
    if (f.state === 'running') {
      if (above && d.impossible) {
        violations.pop();
        bound(() => checkLiveMemory(memory, f.maxMemory, f.minMemory ?? 0));
        violations.push(`  ${d.impossible}`);
      } else if (!above) {
        if (bound(() => checkLiveMemory(memory, f.maxMemory, f.minMemory ?? 0)))
          bound(() => checkLiveMemoryFloor(memory, f));
        if (memory < f.memory && f.balloon !== true && !(f.balloon === undefined && f.guestType !== 'hvm')) {
          log.warn(
            `${f.name} ${f.balloon === false ? 'has no balloon driver' : 'may have no balloon driver (it did not say)'}: ` +
              `asked to shrink from ${mib(f.memory)} to ${mib(memory)} MiB, it cannot give memory back; ` +
              'the target changes but the guest keeps what it has (install its PV drivers first)',
          );
        }
      }
    } else if (f.toolstack === 'xe' && f.minMemory && memory < f.minMemory) {
      const min = f.minMemory;
      bound(() => checkLiveMemory(memory, Math.max(f.maxMemory, memory), min));
    }
    if (f.guestType === 'hvm' && f.toolstack !== 'xe' && (persist || f.state === 'halted')) {
      const max = above ? memory : Number.isFinite(f.maxMemory) ? f.maxMemory : memory;
      if (memory < max && f.balloon !== true) {
        log.warn(
          `memory ${mib(memory)} MiB below maxmem ${mib(max)} MiB: an HVM guest then starts pre-ballooned and, without a balloon driver, crashes when it touches all its memory`,
        );
      }
    }
  }
  const rate = want.rate;
  if (rate) {
    const vif = pickVif(f, input.vif, violations);
    const extra: Partial<Planned> = vif ? { vif } : {};
    if (f.toolstack === 'xe') {
      bound(() => {
        const x = toXeKbps(rate);
        extra.kbps = x.kbps;
        extra.xeIntervalUs = x.intervalUs;
        if (x.timesliceUs !== undefined) extra.timesliceUs = x.timesliceUs;
        log.info(`  rate for xe: ${x.arithmetic}`);
        for (const n of x.notes) log.warn(n);
      });
    } else log.info(`  rate: ${creditArithmetic(rate)}`);
    const d = add('vif-rate', '--rate', rate.text, extra);
    if (f.toolstack !== 'xe' && f.state === 'running' && vif) {
      const route = rateRoute(f, vif);
      if (route === 'replug' || route === 'replug-no-devid') {
        d.effect = 'replug';
        d.how = `${f.toolstack} network-detach, then ${f.toolstack} network-attach with rate= (the same MAC${route === 'replug' ? ' and devid' : '; a new devid: xl takes devid= only from Xen 4.9'})`;
      } else if (route === 'next-start') {
        d.effect = 'restart';
        d.how = `nothing: xl ${versionText(f.xen)}'s network-attach drops rate= and dom0's kernel ${f.dom0Kernel ?? '?'} does not watch the rate key`;
      } else if (route === 'emulated') {
        d.effect = 'restart';
        d.how = `nothing: vif ${vif.index} carries no traffic of ${f.name}, which has no PV network driver and sends through QEMU's emulated NIC, which no rate limits`;
      }
      d.lostOnRestart = (d.effect === 'live' || d.effect === 'replug') && !d.kept;
      const last = plan[plan.length - 1];
      if (last) last.route = route;
      if (route === 'next-start' && !configAppliesRate(f.xen)) {
        violations.push(`--rate ${rate.text}: ${d.how}; ${XL41_RATE}`);
      } else if (d.effect === 'restart' && !d.kept) {
        violations.push(`--rate ${rate.text}: ${d.how}; --persist writes it for the next start`);
      } else if (route === 'emulated') {
        log.warn(
          `${f.name} sends through QEMU's emulated NIC: the rate written for the next start limits it only once its PV network driver is installed`,
        );
      }
    }
  }
  if (rate && f.toolstack === 'xl' && !configAppliesRate(f.xen) && (f.state === 'halted' || persist)) {
    if (!violations.some((v) => v.startsWith('--rate '))) {
      violations.push(
        `--rate ${rate.text}: ${f.state === 'halted' ? 'nothing can write it for the next start' : 'the file --persist writes would not keep it'}: ${XL41_RATE}`,
      );
    }
  }
  if (want.inbound) {
    const vif = pickVif(f, input.vif, violations);
    add('vif-rate-in', '--inbound-rate', want.inbound.text, vif ? { vif } : {});
  }
  if (f.toolstack === 'xm' && !f.oracleVm && (want.inbound || want.io)) {
    violations.push(
      `${want.inbound ? '--inbound-rate' : '--io-priority/--io-class'}: vif_other_config and disk_other_config are read by Oracle VM's xend only ` +
        '(no /etc/ovs-release on this host); upstream xend ignores them, so nothing would be limited',
    );
  }
  if (want.io) {
    const disk = pickDisk(f, input.disk, violations);
    const shown = want.io.prio === undefined ? want.io.cls : `${want.io.cls} ${want.io.prio}`;
    add('io-priority', want.io.prio !== undefined ? '--io-priority' : '--io-class', shown, disk ? { disk } : {});
  }
  if (
    f.toolstack !== 'xe' &&
    !f.configPath &&
    plan.some((p) => p.decision.keep?.by === 'persist' && (persist || f.state === 'halted'))
  ) {
    violations.push(`--persist: ${f.name} has no configuration file where it was looked for: give --config FILE`);
  }
  return { plan, violations };
}
