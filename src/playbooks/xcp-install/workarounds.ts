/**
 * The known workarounds for XCP 1.x on Ubuntu 12.04 / Debian 7: the network backend file, the VIF
 * script's offline events, xend and xendomains kept from starting.
 */
import type { Logger } from '../../engine/runner.js';
import type { Transport } from '../../engine/transport.js';

export const NETWORK_CONF = '/etc/xcp/network.conf';
export const VIF_SCRIPT = '/usr/lib/xcp/scripts/vif';
export const XEND_INIT = '/etc/init.d/xend';
/** Where qemu looks for its keymaps, and where Ubuntu's qemu-linaro puts them. */
export const KEYMAPS = '/usr/share/qemu/keymaps';
export const KEYMAPS_TARGET = '/usr/share/qemu-linaro/keymaps';

/** The backend /etc/xcp/network.conf names (its first line that is not a comment), if any. */
export function networkMode(text: string | undefined): string | undefined {
  return text
    ?.split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
}

/** The VIF script's case for removal handles `offline` too (the event a halting VM's VIF gets). */
export const vifHandlesOffline = (script: string): boolean =>
  /^\s*remove\|offline\)/m.test(script) || /^\s*offline\|remove\)/m.test(script);

/** The script has the `remove)` case this fix extends. */
export const vifHasRemoveCase = (script: string): boolean => /^\s*remove\)/m.test(script);

/** `remove)` becomes `remove|offline)`. */
export const addOfflineCase = (script: string): string => script.replace(/^(\s*)remove\)/m, '$1remove|offline)');

/** /etc/init.d/xend with its xend_start and xend_stop calls commented out. */
export const disableXend = (script: string): string => script.replace(/^(\s*)(xend_start|xend_stop)[ \t]*$/gm, '$1#$2');

/** The S links that start xendomains in runlevels 2 to 5. */
export async function xendomainsStartLinks(host: Transport): Promise<string[]> {
  const links: string[] = [];
  for (const level of ['2', '3', '4', '5']) {
    for (const f of (await host.readdir(`/etc/rc${level}.d`)) ?? []) {
      if (/^S\d\dxendomains$/.test(f)) links.push(`/etc/rc${level}.d/${f}`);
    }
  }
  return links;
}

/** Under --root, commands still run on this machine: say so before running them. */
export function warnRunsHere(ctx: { host: Pick<Transport, 'kind'>; log: Logger }, what: string): void {
  if (ctx.host.kind === 'root') ctx.log.warn(`--root: ${what} on this machine, not inside the directory`);
}
