/** What the options ask for beyond the installation: a pool, storage, a VM and its settings. */
import { needsXapi } from './conditions.js';
import type { State, XcpOptions } from './state.js';

/** Storage asked for: a device, or NFS. */
export const storageAsked = (o: XcpOptions): boolean => Boolean(o['sr-device'] || o['sr-type'] === 'nfs');

/** A pool to join, storage or a VM: what the preflight looks at. */
export const anythingAsked = (o: XcpOptions): boolean => storageAsked(o) || Boolean(o['join-pool'] || o['vm-name']);

/** The VM's memory or vCPUs (with --vm-name), once xapi answers; else why not. */
export function resourcesAsked(ctx: { opts: XcpOptions; state: State }): true | string {
  if (!ctx.opts['vm-name']) return 'no --vm-name given';
  if (ctx.opts.memory === undefined && ctx.opts.vcpus === undefined)
    return "no --memory or --vcpus given: the template's values stay";
  return needsXapi(ctx.state);
}

/**
 * The VM's other-config (with --vm-name): its installer repository, or on XCP 1.x its text console
 * (asked for or not), once xapi answers; else why not.
 */
export function otherConfigAsked(ctx: { opts: XcpOptions; state: State }): true | string {
  if (!ctx.opts['vm-name']) return 'no --vm-name given';
  if (!ctx.opts['install-repository'] && ctx.state.platform?.kind !== 'legacy') return 'no --install-repository given';
  return needsXapi(ctx.state);
}
