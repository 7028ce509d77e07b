/**
 * A change is done when the host shows it. After each live change xen-qos reads back what the
 * hypervisor and xenstore report, and says that; where the guest itself must act (bring a
 * hot-added vCPU online, balloon to a new target) it says what the guest must do, and the
 * change is not claimed. Each read names its source:
 *
 * - CPU weight and cap: `xl sched-credit -d D` / `sched-credit2` (libxl_domain_sched_params_get,
 *   the hypervisor's values), `xm sched-credit -d D` (xend's sched_credit_get, xc.sched_credit_domain_get;
 *   xm/main.py xm_sched_credit, RELEASE-4.1.0 … 4.4.0).
 * - vCPUs: the VCPUs column of `xl list D` (libxl_dominfo vcpu_online, from the hypervisor) or
 *   `xm list D` (xend's online_vcpus, XendConfig._dominfo_to_xapi), and cpu/N/availability in
 *   xenstore, which is what vcpu-set wrote for the guest to act on.
 * - Memory: memory/target (+ memory/videoram) in xenstore, which mem-set writes (libxl_mem.c
 *   libxl_set_memory_target; xend XendDomainInfo.setMemoryTarget), and under xl the Mem column
 *   of `xl list D`, what the domain holds now (current_memkb). xm shows only xend's target
 *   (memory_dynamic_max), not what the guest holds.
 * - Network rate: the vif backend's `rate` and `state` in xenstore (what netback reads).
 */
import { fail } from '../../engine/errors.js';
import type { Context } from '../../engine/runner.js';
import { formatCredit, mib, parseSchedParams, type Credit, type DomainFacts } from '../../xen/qos.js';
import { parseXlListRow } from '../../xen/xl-list-long.js';
import { availableVcpus, xenstoreTarget } from './read-xl.js';
import { domRef } from './replug.js';

type Host = Pick<Context, '$'>;

/** xapi's view of a running VM: `xe vm-param-get` (VM_metrics VCPUs_number, memory_actual; VM memory_target). */
async function xeParam(ctx: Host, uuid: string | undefined, param: string): Promise<string> {
  if (!uuid) throw fail('xe: the VM has no uuid to read back');
  return (await ctx.$`xe vm-param-get uuid=${uuid} param-name=${param}`).stdout.trim();
}

/** What the host shows after a change: the line to report, and whether the change is in effect. */
export interface ReadBack {
  /** What the host reports, in words. */
  shown: string;
  /** The hypervisor runs with the value asked for. */
  done: boolean;
  /** What the guest must still do before it is (undefined when done). */
  guestMust?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The scheduler's weight and cap as the hypervisor has them now; a difference from the request is a failure. */
export async function readBackSched(
  ctx: Host,
  f: Pick<DomainFacts, 'toolstack' | 'domid' | 'name' | 'scheduler'>,
  want: { weight?: number; cap?: number },
): Promise<ReadBack> {
  const tool = f.toolstack === 'xm' ? 'xm' : 'xl';
  const cmd = f.scheduler === 'credit2' ? 'sched-credit2' : 'sched-credit';
  const out = await ctx.$`${tool} ${cmd} -d ${domRef(f)}`;
  const now = parseSchedParams(out.stdout);
  if (!now) throw fail(`${tool} ${cmd} -d ${domRef(f)} printed no weight to read back: ${out.stdout.trim()}`);
  const shown = `${tool} ${cmd} reads weight ${now.weight}${now.cap !== undefined ? `, cap ${now.cap}` : ''}`;
  const wrong =
    (want.weight !== undefined && now.weight !== want.weight) ||
    (want.cap !== undefined && now.cap !== undefined && now.cap !== want.cap);
  if (wrong)
    throw fail(
      `${shown}, not the ${[want.weight !== undefined ? `weight ${want.weight}` : '', want.cap !== undefined ? `cap ${want.cap}` : ''].filter(Boolean).join(', ')} asked for`,
    );
  return { shown, done: true };
}

/** vCPUs online (`xl list` / `xm list`) and those xenstore asks the guest to have online. */
export async function readBackVcpus(
  ctx: Host,
  f: Pick<DomainFacts, 'toolstack' | 'domid' | 'name' | 'guestType' | 'maxVcpus'>,
  n: number,
  opts: { waitMs?: number } = {},
): Promise<ReadBack> {
  const tool = f.toolstack === 'xm' ? 'xm' : 'xl';
  const asked = await availableVcpus(ctx, f);
  if (asked !== undefined && asked !== n)
    throw fail(`xenstore asks the guest for ${asked} vCPUs online after ${tool} vcpu-set ${n}`);
  // A PV kernel acts on cpu/N/availability by itself, within moments: look again for a while.
  let online: number | undefined;
  // An HVM guest's OS acts by its own rules: read once; a second run shows what it did.
  const deadline = Date.now() + (opts.waitMs ?? (f.guestType === 'hvm' ? 0 : 5000));
  for (;;) {
    online = parseXlListRow((await ctx.$`${tool} list ${domRef(f)}`).stdout)?.vcpus;
    if (online === n || Date.now() >= deadline) break;
    await sleep(500);
  }
  const shown = `${tool} list shows ${online ?? '?'} vCPUs online${asked !== undefined ? `, xenstore asks for ${asked}` : ''}`;
  if (online === n) return { shown, done: true };
  const more = online !== undefined && n > online;
  return {
    shown,
    done: false,
    guestMust: more
      ? `the guest's OS must bring the new vCPU${n - (online ?? 0) > 1 ? 's' : ''} online (Linux: echo 1 > /sys/devices/system/cpu/cpuN/online; ${f.guestType === 'hvm' ? 'an HVM guest gets them as ACPI hot-plugged processors' : 'a PV kernel does it when xenstore asks'})`
      : `the guest's kernel must take vCPUs offline (a PV kernel does it when xenstore asks; an HVM guest ignores it)`,
  };
}

/**
 * The memory target in xenstore (a target other than the request is a failure) and, under xl,
 * what the domain holds: the guest's balloon driver moves it, in its own time. Held within 1 MiB
 * or 1 % of the target counts as reached (libxl rounds, Xen keeps a few pages of its own).
 */
export async function readBackMemory(
  ctx: Host,
  f: Pick<DomainFacts, 'toolstack' | 'domid' | 'name' | 'balloon'>,
  bytes: number,
  opts: { waitMs?: number } = {},
): Promise<ReadBack> {
  if (f.domid === undefined) throw fail('memory: the domain has no domid to read back');
  const target = await xenstoreTarget(ctx, f.domid);
  if (target === undefined)
    throw fail(`xenstore-read /local/domain/${f.domid}/memory/target failed: the new target cannot be read back`);
  if (mib(target) !== mib(bytes))
    throw fail(`xenstore's memory target is ${mib(target)} MiB after asking for ${mib(bytes)} MiB`);
  if (f.toolstack === 'xm')
    return {
      shown: `xenstore's memory target is ${mib(target)} MiB (xm shows no more than xend's target)`,
      done: false,
      guestMust: `the guest's balloon driver must ${f.balloon === false ? '(there is none) ' : ''}move its memory to the target; xentop's MEM(k) shows what it holds`,
    };
  const want = mib(bytes);
  let held: number | undefined;
  const close = (h: number) => Math.abs(h - want) <= Math.max(1, want / 100);
  // Without a balloon driver nothing will move: read once.
  const deadline = Date.now() + (opts.waitMs ?? (f.balloon === false ? 0 : 10_000));
  for (;;) {
    held = parseXlListRow((await ctx.$`xl list ${domRef(f)}`).stdout)?.memMiB;
    if ((held !== undefined && close(held)) || Date.now() >= deadline) break;
    await sleep(1000);
  }
  const shown = `xenstore's memory target is ${mib(target)} MiB; the domain holds ${held ?? '?'} MiB (xl list)`;
  if (held !== undefined && close(held)) return { shown, done: true };
  return {
    shown,
    done: false,
    guestMust:
      f.balloon === false
        ? 'the guest has no balloon driver (control/feature-balloon): it keeps what it holds until it has one, or until the next start'
        : `the guest's balloon driver must ${held !== undefined && held > want ? 'give back' : 'take'} the difference; it has not yet`,
  };
}

/** The vif backend's rate and state in xenstore: what netback limits the interface to. */
export async function readBackRate(ctx: Host, domid: number, devid: number, credit: Credit): Promise<ReadBack> {
  const key = `/local/domain/0/backend/vif/${String(domid)}/${String(devid)}`;
  const rate = (await ctx.$({ nothrow: true })`xenstore-read ${`${key}/rate`}`).stdout.trim();
  const state = (await ctx.$({ nothrow: true })`xenstore-read ${`${key}/state`}`).stdout.trim();
  const value = `${credit.bytesPerInterval},${credit.intervalUs}`;
  if (rate !== value) throw fail(`${key}/rate reads ${rate || 'nothing'}, not ${value}`);
  const shown = `${key}/rate reads ${rate} (${formatCredit(credit)}), backend state ${state || '?'}`;
  if (state === '4') return { shown, done: true };
  return {
    shown,
    done: false,
    guestMust: "the guest's netfront must connect (backend state 4) before netback limits anything",
  };
}

/** xe: the vCPUs xapi sees online (VCPUs-number, which xenopsd reads from the domain). */
export async function readBackVcpusXe(ctx: Host, f: Pick<DomainFacts, 'uuid'>, n: number): Promise<ReadBack> {
  const now = Number(await xeParam(ctx, f.uuid, 'VCPUs-number'));
  const shown = `xe reads VCPUs-number ${now}`;
  if (now === n) return { shown, done: true };
  return {
    shown,
    done: false,
    guestMust: `the guest's OS must bring vCPUs online until it has ${n} (xe vm-vcpu-hotplug asks, the guest acts)`,
  };
}

/** xe: memory-target (a value other than the request is a failure) and memory-actual, what the guest holds. */
export async function readBackMemoryXe(ctx: Host, f: Pick<DomainFacts, 'uuid'>, bytes: number): Promise<ReadBack> {
  const target = Number(await xeParam(ctx, f.uuid, 'memory-target'));
  const actual = Number(await xeParam(ctx, f.uuid, 'memory-actual'));
  if (mib(target) !== mib(bytes))
    throw fail(`xe reads memory-target ${mib(target)} MiB after asking for ${mib(bytes)} MiB`);
  const shown = `xe reads memory-target ${mib(target)} MiB, memory-actual ${mib(actual)} MiB`;
  if (Math.abs(mib(actual) - mib(bytes)) <= Math.max(1, mib(bytes) / 100)) return { shown, done: true };
  return { shown, done: false, guestMust: "the guest's balloon driver must reach the target; it has not yet" };
}

/** Keep a read-back in the --json report (`data.readBack[id]`) and give the step's message. */
export function recordReadBack(ctx: Pick<Context, 'report'>, id: string, r: ReadBack): string {
  const all = (ctx.report.readBack ?? {}) as Record<string, ReadBack>;
  all[id] = r;
  ctx.report.readBack = all;
  return readBackMessage(r);
}

/** The step's message from a read-back: what the host shows, and what the guest must still do. */
export function readBackMessage(r: ReadBack): string {
  return r.done ? r.shown : `${r.shown}; not in effect yet: ${r.guestMust ?? 'the guest must act'}`;
}
