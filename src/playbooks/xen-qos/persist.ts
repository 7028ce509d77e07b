/**
 * Keeping the values for the next start: what the configuration file (xl, xm) must say after this
 * run, and the VCPUs-params xapi (xe) must hold.
 */
import { usage } from '../../engine/errors.js';
import type { FileEdit } from '../../engine/files.js';
import type { Context } from '../../engine/runner.js';
import {
  mib,
  oracleIoniceParams,
  rewriteConfig,
  toTbfParams,
  type ConfigChanges,
  type DomainFacts,
} from '../../xen/qos.js';
import { findRequest, type Planned } from './plan.js';
import type { Want } from './want.js';

/** What step persist found to do: xapi parameters to set (xe), or the config file's edit (xl, xm). */
export interface PersistData {
  params?: string[];
  edit?: FileEdit;
}

/** What the config file must say after this run (xl, xm), from the requests that are kept there. */
export function configChanges(f: DomainFacts, want: Want, plan: readonly Planned[], persist: boolean): ConfigChanges {
  const c: ConfigChanges = {};
  const keepHere = (p: Planned | undefined) =>
    p !== undefined && p.decision.keep !== undefined && (persist || f.state === 'halted');
  if (keepHere(findRequest(plan, 'cpu-weight')) && want.weight) c.weight = want.weight.weight;
  if (keepHere(findRequest(plan, 'cpu-cap')) && want.cap !== undefined) c.cap = want.cap;
  const vcpus = findRequest(plan, 'vcpus', 'vcpus-above-max', 'vcpus-fewer-hvm');
  if (keepHere(vcpus) && want.vcpus !== undefined) {
    c.vcpus = want.vcpus;
    if (vcpus?.decision.kind === 'vcpus-above-max') c.maxVcpus = want.vcpus;
    // Keep the room to grow back live: without maxvcpus, the next start's maximum would be vcpus.
    else if (f.state === 'running' && want.vcpus < f.maxVcpus && (f.stored.explicitMaxVcpus ?? 0) < f.maxVcpus)
      c.maxVcpus = f.maxVcpus;
  }
  const memory = findRequest(plan, 'memory', 'memory-above-max');
  if (keepHere(memory) && want.memory !== undefined) {
    c.memory = mib(want.memory);
    if (memory?.decision.kind === 'memory-above-max') c.maxMemory = mib(want.memory);
    else if (
      f.state === 'running' &&
      want.memory < f.maxMemory &&
      (f.stored.explicitMaxMemory ?? 0) < f.maxMemory &&
      (f.guestType !== 'hvm' || f.balloon === true)
    ) {
      c.maxMemory = mib(f.maxMemory);
    }
  }
  const rate = findRequest(plan, 'vif-rate');
  if (keepHere(rate) && rate?.vif && want.rate)
    c.vifRate = { index: rate.vif.index, mac: rate.vif.mac, rate: want.rate.text };
  const inbound = findRequest(plan, 'vif-rate-in');
  if (keepHere(inbound) && inbound?.vif && want.inbound)
    c.inbound = { mac: inbound.vif.mac, params: toTbfParams(want.inbound) };
  const io = findRequest(plan, 'io-priority');
  if (keepHere(io) && io?.disk && want.io)
    c.ionice = { vdev: io.disk.vdev, params: oracleIoniceParams(want.io.cls, want.io.prio) };
  return c;
}

/** xe: the VCPUs-params xapi does not hold yet (`VCPUs-params:weight=W`, `VCPUs-params:cap=C`). */
export function xeSchedParams(f: DomainFacts, want: Pick<Want, 'weight' | 'cap'>, onlyNew: boolean): string[] {
  const { weight, cap } = want;
  return [
    ...(weight && !(onlyNew && weight.weight === f.stored.weight) ? [`VCPUs-params:weight=${weight.weight}`] : []),
    ...(cap !== undefined && !(onlyNew && cap === f.stored.cap) ? [`VCPUs-params:cap=${cap}`] : []),
  ];
}

/** Plan the edit of the domain's config file; a file that cannot be rewritten is bad input (exit 2). */
export async function planConfigEdit(
  ctx: Pick<Context, 'planEdit'>,
  f: DomainFacts,
  changes: ConfigChanges,
): Promise<FileEdit> {
  const path = f.configPath;
  if (path === undefined)
    throw usage(`--persist: ${f.name} has no configuration file where it was looked for: give --config FILE`);
  try {
    return await ctx.planEdit(path, (text) =>
      rewriteConfig(text ?? '', changes, path, f.toolstack === 'xm' ? 'xm' : 'xl'),
    );
  } catch (e) {
    throw usage(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
