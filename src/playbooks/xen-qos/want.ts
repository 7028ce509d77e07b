/**
 * What the administrator asked for, read from the options and checked against the bounds that need
 * no host (the rate syntax, the weight names, the I/O priority range, whole MiB of memory).
 */
import { usage } from '../../engine/errors.js';
import {
  BoundError,
  checkIoPriority,
  parseRate,
  parseWeight,
  type IoClass,
  type Rate,
  type Weight,
} from '../../xen/qos.js';

const MiB = 1024 ** 2;

export interface Want {
  weight?: Weight;
  cap?: number;
  vcpus?: number;
  /** bytes, a whole number of MiB */
  memory?: number;
  rate?: Rate;
  inbound?: Rate;
  io?: { cls: IoClass; prio: number | undefined };
}

/** The playbook's options this reads (as the runner parsed them). */
export interface QosRequestOptions {
  readonly 'cpu-weight'?: string | undefined;
  readonly 'cpu-cap'?: number | undefined;
  readonly vcpus?: number | undefined;
  readonly memory?: number | undefined;
  readonly rate?: string | undefined;
  readonly 'inbound-rate'?: string | undefined;
  readonly vif?: number | undefined;
  readonly 'io-priority'?: number | undefined;
  readonly 'io-class'?: IoClass | undefined;
  readonly disk?: string | undefined;
}

/** The requests in the options; bad input is a UsageError (exit 2) naming the bound it breaks. */
export function wantFromOptions(o: QosRequestOptions): Want {
  const want: Want = {};
  try {
    if (o['cpu-weight'] !== undefined) want.weight = parseWeight(o['cpu-weight']);
    if (o['cpu-cap'] !== undefined) {
      if (o['cpu-cap'] < 0)
        throw new BoundError(
          'cap',
          `CPU cap ${o['cpu-cap']} is outside the cap bound 0 (none) to 100 × the host’s CPUs`,
        );
      want.cap = o['cpu-cap'];
    }
    if (o.rate !== undefined) want.rate = parseRate(o.rate);
    if (o['inbound-rate'] !== undefined) want.inbound = parseRate(o['inbound-rate']);
    if (o['io-priority'] !== undefined) checkIoPriority(o['io-priority']);
  } catch (e) {
    if (e instanceof BoundError) throw usage(e.message);
    throw e;
  }
  if (o.vcpus !== undefined) want.vcpus = o.vcpus;
  if (o.memory !== undefined) {
    if (o.memory % MiB !== 0)
      throw usage(`--memory: ${o.memory} bytes is not a whole number of MiB (xl and xm count memory in MiB)`);
    want.memory = o.memory;
  }
  if (o['io-class'] === 'idle' && o['io-priority'] !== undefined) {
    throw usage('--io-priority: the idle class has no priority levels; give --io-class rt or be, or no --io-priority');
  }
  if (o['io-priority'] !== undefined || o['io-class'] !== undefined) {
    const cls = o['io-class'] ?? 'be';
    want.io = { cls, prio: cls === 'idle' ? undefined : (o['io-priority'] ?? 4) };
  }
  if (o.disk !== undefined && !want.io) throw usage('--disk goes with --io-priority or --io-class');
  if (o.vif !== undefined && !want.rate && !want.inbound) throw usage('--vif goes with --rate or --inbound-rate');
  if (Object.keys(want).length === 0) {
    throw usage(
      'nothing to do: give at least one of --rate, --inbound-rate, --io-priority, --io-class, --cpu-weight, --cpu-cap, --vcpus, --memory',
    );
  }
  return want;
}
