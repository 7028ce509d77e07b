/**
 * The first VM: found by name or what installing it needs (template, network, SR), its memory and
 * vCPUs, its VIF and its other-config, read and set with xe.
 */
import { fail, refuse } from '../../engine/errors.js';
import type { CommandFn } from '../../engine/runner.js';
import { xe, xeArgs, xeList, xeRecords } from '../../xen/xe.js';
import { storageAsked } from './asked.js';
import type { XcpContext, XcpOptions } from './state.js';
import { need } from './step-data.js';
import { otherConfig, thePool } from './xapi.js';

export interface VmPlan {
  /** The VM of that name, when there is one. */
  existing?: string;
  /** The network on --network-bridge. */
  network: string;
  /** The SR to install on: the one this run made or found, else the pool's default. */
  sr?: string;
}

/**
 * The VM: found by name, or what its installation needs (template, network, SR). Refuses two VMs of
 * that name; fails on a missing template, bridge or SR (an SR may still come: storage asked for, or
 * a pool join that brings the pool's default).
 */
export async function plan(
  ctx: Pick<XcpContext, '$' | 'opts' | 'state'>,
  how: { joining?: boolean } = {},
): Promise<VmPlan> {
  const o = ctx.opts;
  const name = need(o['vm-name'], 'vm-name');
  const found = await xeList(ctx.$, 'vm', { 'name-label': name, 'is-control-domain': 'false' });
  if (found.length > 1) {
    throw refuse(
      `${found.length} VMs are named "${name}"`,
      'rename or remove all but one: xe vm-list name-label=… params=uuid,power-state',
    );
  }
  const bridge = o['network-bridge'];
  const nets = await xeList(ctx.$, 'network', { bridge });
  const network = nets[0];
  if (nets.length !== 1 || network === undefined) {
    const bridges = await xeList(ctx.$, 'network', {}, 'bridge');
    throw fail(
      `no network on bridge ${bridge}`,
      `bridges here: ${bridges.join(', ')}; choose one with --network-bridge`,
    );
  }
  if (found[0]) return { existing: found[0], network };
  const templates = await xeList(ctx.$, 'template', { 'name-label': o.template });
  if (templates.length !== 1) {
    const names = (await xeList(ctx.$, 'template', {}, 'name-label')).sort();
    throw fail(
      templates.length
        ? `${templates.length} templates are named "${o.template}"`
        : `no template named "${o.template}"`,
      `templates here: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''} (xe template-list params=name-label)`,
    );
  }
  const sr = ctx.state.sr ?? (await thePool(ctx.$)).defaultSr;
  if (!sr && !storageAsked(o) && !how.joining) {
    throw fail(
      'there is no SR to install the VM on: no --sr-device was given and the pool has no default SR (xe vm-install would answer: Failed to find a valid default SR for the Pool)',
      'give --sr-device (or --sr-type nfs …), or set a default SR: xe pool-param-set uuid=POOL default-SR=SR',
    );
  }
  return { network, ...(sr ? { sr } : {}) };
}

/** What the preflight says of the plan. */
export const summary = (v: VmPlan, o: Pick<XcpOptions, 'vm-name' | 'template'>): string =>
  v.existing ? `VM "${o['vm-name']}" is there` : `VM to install from "${o.template}"`;

/** xe vm-install from the template on the SR; the new VM's uuid. */
export async function install($: CommandFn, template: string, name: string, sr: string | undefined): Promise<string> {
  return (await xe($, xeArgs('vm-install', { template, 'new-name-label': name, 'sr-uuid': sr }))).trim();
}

/* ------------------------------------------------------------------ memory and vCPUs */

/** `memory 1024 MiB and 2 vCPUs`: what was asked for. */
export function describeResources(memory: number | undefined, vcpus: number | undefined): string {
  return [memory !== undefined ? `memory ${memory / 1024 ** 2} MiB` : '', vcpus !== undefined ? `${vcpus} vCPUs` : '']
    .filter(Boolean)
    .join(' and ');
}

export interface VmResources {
  power: string | undefined;
  staticMin: number;
  staticMax: number;
  dynamicMin: number;
  dynamicMax: number;
  vcpusMax: number;
  vcpusAtStartup: number;
}

/** The VM's power state, memory limits and vCPU counts. */
export async function readResources($: CommandFn, vm: string): Promise<VmResources> {
  const [r] = await xeRecords($, 'vm', { uuid: vm }, [
    'uuid',
    'power-state',
    'memory-static-min',
    'memory-static-max',
    'memory-dynamic-min',
    'memory-dynamic-max',
    'VCPUs-max',
    'VCPUs-at-startup',
  ]);
  if (!r) throw fail(`VM ${vm} is gone`);
  const num = (f: string) => Number(r.get(f));
  return {
    power: r.get('power-state'),
    staticMin: num('memory-static-min'),
    staticMax: num('memory-static-max'),
    dynamicMin: num('memory-dynamic-min'),
    dynamicMax: num('memory-dynamic-max'),
    vcpusMax: num('VCPUs-max'),
    vcpusAtStartup: num('VCPUs-at-startup'),
  };
}

export interface ResourcesChange {
  /** Memory already as asked (static max = dynamic min = dynamic max = it). */
  memOk: boolean;
  /** vCPUs already as asked (max = at startup = it). */
  cpuOk: boolean;
  /** The static minimum to keep: lowered to the memory asked for when above it. */
  staticMin: number;
  vcpusMax: number;
}

/** What differs from the memory (a fixed size: no ballooning) and vCPUs asked for. */
export function resourcesChange(
  now: VmResources,
  memory: number | undefined,
  vcpus: number | undefined,
): ResourcesChange {
  const m = memory;
  const memOk =
    m === undefined || (now.staticMax === m && now.dynamicMax === m && now.dynamicMin === m && now.staticMin <= m);
  const cpuOk = vcpus === undefined || (now.vcpusMax === vcpus && now.vcpusAtStartup === vcpus);
  return { memOk, cpuOk, staticMin: Math.min(now.staticMin, m ?? Infinity), vcpusMax: now.vcpusMax };
}

/** Set the memory limits and vCPUs of a halted VM. */
export async function setResources(
  $: CommandFn,
  vm: string,
  c: ResourcesChange,
  memory: number | undefined,
  vcpus: number | undefined,
): Promise<void> {
  if (!c.memOk && memory !== undefined) {
    const limits = { 'static-min': c.staticMin, 'static-max': memory, 'dynamic-min': memory, 'dynamic-max': memory };
    await xe($, xeArgs('vm-memory-limits-set', { uuid: vm, ...limits }));
  }
  if (vcpus !== undefined && !c.cpuOk) {
    // 0 < VCPUs-at-startup ≤ VCPUs-max must hold after each call.
    const order = vcpus > c.vcpusMax ? ['VCPUs-max', 'VCPUs-at-startup'] : ['VCPUs-at-startup', 'VCPUs-max'];
    for (const field of order) await xe($, xeArgs('vm-param-set', { uuid: vm, [field]: vcpus }));
  }
}

/* ------------------------------------------------------------------ network */

/** The device number of the VM's VIF on this network, if it has one. */
export async function vifOnNetwork($: CommandFn, vm: string, network: string | undefined): Promise<string | undefined> {
  const vifs = await xeRecords($, 'vif', { 'vm-uuid': vm }, ['uuid', 'device', 'network-uuid']);
  const vif = vifs.find((v) => v.get('network-uuid') === network);
  return vif ? (vif.get('device') ?? '') : undefined;
}

/** The first free VIF device number, and whether the VM runs (a new VIF is then plugged). */
export async function freeVifDevice($: CommandFn, vm: string): Promise<{ device: string; running: boolean }> {
  const [r] = await xeRecords($, 'vm', { uuid: vm }, ['uuid', 'allowed-VIF-devices', 'power-state']);
  const device = r?.set('allowed-VIF-devices')[0];
  if (device === undefined) throw fail('the VM has no free VIF device number');
  return { device, running: r?.get('power-state') === 'running' };
}

/** xe vif-create (and vif-plug when the VM runs); the VIF's uuid. */
export async function createVif(
  ctx: Pick<XcpContext, '$' | 'state'>,
  how: { device: string; running: boolean },
): Promise<string> {
  const { $ } = ctx;
  const vm = need(ctx.state.vm, 'vm-name');
  const network = need(ctx.state.network, 'network-bridge');
  const vif = (
    await xe($, xeArgs('vif-create', { 'vm-uuid': vm, 'network-uuid': network, device: how.device }))
  ).trim();
  if (how.running) await xe($, xeArgs('vif-plug', { uuid: vif }));
  return vif;
}

/* ------------------------------------------------------------------ other-config, power */

/** `other-config:k=v other-config:k2=v2`. */
export const otherConfigText = (keys: Record<string, string>): string =>
  Object.entries(keys)
    .map(([k, v]) => `other-config:${k}=${v}`)
    .join(' ');

/** Those of the wanted other-config keys the VM does not have with that value. */
export async function otherConfigTodo(
  $: CommandFn,
  vm: string,
  wanted: Record<string, string>,
): Promise<Record<string, string>> {
  const todo: Record<string, string> = {};
  for (const [k, v] of Object.entries(wanted)) if ((await otherConfig($, vm, k)) !== v) todo[k] = v;
  return todo;
}

/**
 * The other-config keys the VM gets: its installer repository, and on XCP 1.x a PV guest's console
 * on the text console (xenconsole) instead of VNC.
 */
export function wantedOtherConfig(repository: string | undefined, legacy: boolean): Record<string, string> {
  const wanted: Record<string, string> = {};
  if (repository) wanted['install-repository'] = repository;
  if (legacy) wanted.disable_pv_vnc = '1';
  return wanted;
}

/** How to reach the running VM's console: xenconsole on XCP 1.x, xe console on XCP-ng. */
export function consoleCommand(how: {
  legacy: boolean;
  xenVersion?: string | undefined;
  domid: string;
  uuid: string;
}): string {
  return how.legacy
    ? `/usr/lib/xen-${how.xenVersion ?? '4.1'}/bin/xenconsole ${how.domid}`
    : `xe console uuid=${how.uuid}`;
}

/** The VM's power state (halted, running, paused, suspended). */
export async function powerState($: CommandFn, vm: string): Promise<string> {
  return (await xe($, xeArgs('vm-list', { uuid: vm, params: 'power-state' }, ['minimal']))).trim();
}

/** The domain id of a running VM. */
export async function domainId($: CommandFn, vm: string): Promise<string> {
  return (await xe($, xeArgs('vm-list', { uuid: vm, params: 'dom-id' }, ['minimal']))).trim();
}
