/** What xcp-install says when its steps have run: the reboot still needed, and the VM's console. */
import type { Context } from '../../engine/runner.js';
import type { State } from './state.js';
import { consoleCommand } from './vm.js';

/**
 * After the steps: ask for the reboot into Xen the xapi-ready step found missing (not on a dry run),
 * and name the running VM's domain and console, in the log and in the --json report.
 */
export function finish(
  ctx: Pick<Context, 'host' | 'report' | 'dryRun' | 'log'> & { state: State; opts: { 'vm-name'?: string | undefined } },
): void {
  const on = ctx.host.kind === 'ssh' ? ` on ${ctx.host.label.replace(/^ssh /, '')}` : '';
  if (ctx.report.rebootRequired && !ctx.dryRun)
    ctx.log.warn(`reboot${on} into Xen, then run this playbook again with the same options`);
  const { vm: uuid, domid, xenVersion } = ctx.state;
  if (!uuid || !domid) return;
  const console = consoleCommand({ legacy: ctx.state.platform?.kind === 'legacy', xenVersion, domid, uuid });
  const name = ctx.opts['vm-name'];
  ctx.report.vm = { uuid, name, domid: Number(domid), console };
  ctx.log.info(`VM "${name}" runs as domain ${domid}. Its console${on}: ${console}   (Ctrl+] leaves it)`);
}
