/**
 * Joining a pool: whether this host is a member already, what xapi would refuse (checked before
 * anything changes), and the join itself with the password on xe's standard input.
 */
import { fail, refuse } from '../../engine/errors.js';
import type { CommandFn } from '../../engine/runner.js';
import { xeFailure, xeRecords, type XeRecord } from '../../xen/xe.js';
import type { XcpContext } from './state.js';
import { need } from './step-data.js';
import { probe, thePool, type Pool } from './xapi.js';

/** pool-join reads the password from standard input: it never appears on a command line but xe's own. */
export const POOL_JOIN_SCRIPT =
  'IFS= read -r pw; exec xe pool-join master-address="$1" master-username="$2" master-password="$pw"';

/**
 * The Tools SR, which xapi does not count as shared storage against a pool join: the is-tools-sr
 * field (xapi 1.249 and later), other-config:xenserver_tools_sr or xensource_internal in 2012's xapi
 * (Helpers.is_tools_sr).
 */
export function isToolsSr(sr: XeRecord): boolean {
  if (sr.get('is-tools-sr') === 'true') return true;
  const other = sr.map('other-config');
  return 'xenserver_tools_sr' in other || 'xensource_internal' in other;
}

export interface JoinPlan {
  /** Already a member of that master's pool. */
  member: boolean;
  message: string;
}

/** Joining the pool of --join-pool: already a member, or what to do; refuses what xapi would refuse. */
export async function joinPlan(ctx: Pick<XcpContext, '$' | 'opts' | 'state'>): Promise<JoinPlan> {
  const address = need(ctx.opts['join-pool'], 'join-pool');
  const me = ctx.state.host;
  const pool = need(ctx.state.pool, 'pool');
  const hosts = await xeRecords(ctx.$, 'host', {}, ['uuid', 'name-label', 'address', 'hostname']);
  const master = hosts.find((h) => h.get('uuid') === pool.master);
  const masterNames = [master?.get('address'), master?.get('hostname'), master?.get('name-label')];
  if (pool.master !== me && masterNames.includes(address)) {
    return { member: true, message: `member of pool "${pool.name}" (master ${master?.get('address')})` };
  }
  if (masterNames.includes(address)) throw refuse(`${address} is this host: a host cannot join its own pool`);
  if (pool.master !== me) {
    throw refuse(
      `this host already belongs to the pool whose master is ${master?.get('address') ?? pool.master}`,
      'to move it, eject it first (xe pool-eject on the master; the host then reinstalls its database and reboots)',
    );
  }
  if (hosts.length > 1)
    throw refuse(`this host is the master of a pool of ${hosts.length} hosts: it cannot join another pool`);
  // xapi's pre_join_checks (xapi_pool.ml): assert_no_running_vms_on_me counts running VMs only.
  const vms = await xeRecords(ctx.$, 'vm', { 'is-control-domain': 'false' }, ['uuid', 'name-label', 'power-state']);
  const busy = vms.filter((v) => v.get('power-state') === 'running');
  if (busy.length) {
    throw refuse(
      `${busy.length} VM${busy.length > 1 ? 's are' : ' is'} running on this host (${busy.map((v) => v.get('name-label')).join(', ')}): a host joins a pool only with none running`,
      'shut them down (xe vm-shutdown uuid=…), then run again',
    );
  }
  // assert_no_shared_srs_on_me counts every shared SR but the Tools SR, which every XCP-ng host has.
  const shared = (await xeRecords(ctx.$, 'sr', { shared: 'true' })).filter((sr) => !isToolsSr(sr));
  if (shared.length) {
    throw refuse(
      `this host has shared storage (${shared.map((sr) => sr.get('name-label')).join(', ')}): a host joins a pool only without`,
      'detach it (xe pbd-unplug, then xe sr-forget), then run again',
    );
  }
  return { member: false, message: `to join the pool whose master is ${address}` };
}

/**
 * xe pool-join, the password fed on standard input (never on the command line that ssh, ps or
 * --verbose show); then, as xapi restarts to join, wait until this host reports the new master.
 */
export async function join(
  ctx: Pick<XcpContext, '$' | 'state'>,
  address: string,
  user: string,
  password: string,
): Promise<Pool> {
  const $ = ctx.$;
  const r = await $({
    nothrow: true,
    input: `${password}\n`,
  })`sh -c ${POOL_JOIN_SCRIPT} xcp-install ${address} ${user}`;
  const failure = xeFailure(['pool-join'], r);
  if (failure) throw failure;
  return waitForNewMaster($, ctx.state.host, address);
}

/** xapi restarts to join: wait (2 minutes at most) until this host reports a master other than itself. */
export async function waitForNewMaster($: CommandFn, me: string | undefined, address: string): Promise<Pool> {
  for (let i = 0; i < 60; i++) {
    if ((await probe($)).up) {
      const pool = await thePool($);
      if (pool.master && pool.master !== me) return pool;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw fail(
    `pool-join was accepted but this host does not report ${address} as its master after 2 minutes`,
    'look at /var/log/xensource.log on both hosts',
  );
}
