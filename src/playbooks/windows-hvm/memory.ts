/**
 * The memory a new HVM guest can get: Xen's free memory, plus what dom0 gives when the toolstack
 * balloons it down. xl create does when autoballoon is on (xl.c auto_autoballoon, xl_vmcontrol.c
 * freemem); xend (xm) has its own: enable-dom0-ballooning and dom0-min-mem in xend-config.sxp.
 */
import type { Transport } from '../../engine/index.js';
import { judgeAutoballoon, judgeXendBallooning, memoryAvailableMiB, MIN_DOM0_MIB } from '../../xen/autoballoon.js';
import type { PagingHost, Toolstack } from '../../xen/hvmconfig.js';
import { xenVersionOf } from '../../xen/xlversion.js';
import { dom0MemoryMiB, type HostRun } from './host.js';

export interface MemoryOnHand {
  /** Xen's free memory, MiB. */
  free: number;
  /** Whether and why the toolstack balloons dom0 down (undefined: nothing to judge it by). */
  balloon: { on: boolean; why: string } | undefined;
  /** How low dom0 may go, MiB. */
  floor: number;
  /** dom0's memory now, MiB, when ballooning counts. */
  dom0: number | undefined;
  /** What a new domain can get, MiB. */
  available: number;
}

/** Xen's free memory and what ballooning dom0 adds, as the toolstack `ts` would find it for `xl create`. */
export async function memoryOnHand(run: HostRun, ts: Toolstack, info: Record<string, string>): Promise<MemoryOnHand> {
  const free = Number(info.free_memory);
  const xend = ts === 'xm' ? judgeXendBallooning(await run.host.readText('/etc/xen/xend-config.sxp')) : undefined;
  const balloon = ts === 'xl' ? await xlAutoballoon(run.host, info) : xend;
  const floor = xend ? xend.minMiB : MIN_DOM0_MIB;
  const dom0 = balloon?.on ? await dom0MemoryMiB(run.$, ts) : undefined;
  return { free, balloon, floor, dom0, available: memoryAvailableMiB(free, dom0, balloon?.on ?? false, floor) };
}

async function xlAutoballoon(host: Transport, info: Record<string, string>) {
  return judgeAutoballoon(await host.readText('/etc/xen/xl.conf'), info.xen_commandline, xenVersionOf(info));
}

/**
 * The host's side of libxl's memory count (hvmMemoryNeedMiB): its release (`xl info` xen_major,
 * xen_minor) and whether the guest gets HAP: libxl sets c_info.hap to true when the hypervisor has
 * it (libxl_create.c libxl__domain_create_info_setdefault, physinfo cap_hap, RELEASE-4.17.0), which
 * `xl info` shows as hap in virt_caps.
 */
export function pagingHost(info: Record<string, string>, hapInConfig: boolean | undefined): PagingHost {
  return { xen: xenVersionOf(info), hap: hapInConfig !== false && /\bhap\b/.test(info.virt_caps ?? '') };
}

/** Why the guest does not fit: what it needs against what Xen (and dom0) can give. */
export function notEnoughMemory(memory: number, need: number, info: Record<string, string>, m: MemoryOnHand): string {
  const from =
    m.balloon?.on && m.dom0 !== undefined
      ? `Xen has ${info.free_memory} MiB free and dom0 can give ${m.available - m.free} MiB more (down to ${m.floor} MiB)`
      : `Xen has ${info.free_memory} MiB free${m.balloon ? ` (${m.balloon.why})` : ''}`;
  return `--memory ${memory}M: the guest needs ${need} MiB (memory, maxmem overhead and video) and ${from}`;
}

/** When the guest fits only with dom0's memory: how much xl create will take from dom0. */
export function takenFromDom0(ts: Toolstack, need: number, m: MemoryOnHand): string {
  return m.available > m.free && m.free < need
    ? `; ${ts} create will take ${need - m.free} MiB from dom0 (${m.dom0} MiB now)`
    : '';
}
