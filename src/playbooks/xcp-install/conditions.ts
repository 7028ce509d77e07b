/** When the steps of xcp-install apply: what runs on the host, whether xapi answers. */
import type { Transport } from '../../engine/transport.js';
import type { State } from './state.js';

/** Skip unless this is an Ubuntu 12.04 / Debian 7 host getting the packages. */
export function legacyOnly(state: State): true | string {
  const p = state.platform;
  return p?.kind === 'legacy' ? true : `${p?.name ?? 'this host'} runs xapi already: nothing to install or work around`;
}

/** The PPA is for Ubuntu 12.04: Debian 7 has xcp-xapi in its own archive. */
export function legacyUbuntuOnly(state: State): true | string {
  return state.platform?.distro === 'debian' ? 'Debian 7 carries xcp-xapi in its own archive' : legacyOnly(state);
}

/**
 * Legacy steps on a file the Xen packages bring: run when it is there; else skip, saying whether it is
 * still to come with the packages this run installs (`pending`) or simply not there (`absent`).
 */
export async function legacyWithFile(
  ctx: { host: Pick<Transport, 'exists'>; state: State },
  file: string,
  why: { pending: string; absent: string },
): Promise<true | string> {
  const l = legacyOnly(ctx.state);
  if (l !== true) return l;
  if (await ctx.host.exists(file)) return true;
  return ctx.state.packagesPending ? why.pending : why.absent;
}

/** Steps that need xapi: skip with the reason while it does not answer. */
export function needsXapi(state: State): true | string {
  return state.xapi ? true : 'xapi does not answer yet: reboot into Xen, then run this playbook again';
}
