/** This host and its pool as xapi sees them, through xe. */
import { fail, type StepError } from '../../engine/errors.js';
import type { CommandFn } from '../../engine/runner.js';
import {
  XeError,
  parseMinimal,
  refOrUndefined,
  xeArgs,
  xeFailure,
  xeGet,
  xeRecords,
  type XeRecord,
} from '../../xen/xe.js';
import type { XcpContext } from './state.js';

/** Does xapi answer? The hosts, or why not (`installed`: xe is there, exit status not 127). */
export interface XapiProbe {
  up: boolean;
  hosts: string[];
  installed?: boolean;
  error?: StepError | XeError;
}

/** xe host-list --minimal: xapi answers when it succeeds. */
export async function probe($: CommandFn): Promise<XapiProbe> {
  const argv = xeArgs('host-list', { params: 'uuid' }, ['minimal']);
  const r = await $({ nothrow: true })`xe ${argv}`;
  if (r.exitCode === 0) return { up: true, hosts: parseMinimal(r.stdout) };
  const err = xeFailure(argv, r);
  return { up: false, hosts: [], installed: r.exitCode !== 127, ...(err ? { error: err } : {}) };
}

/** The pool as xe pool-list shows it; master and default SR undefined for xe's null references. */
export interface Pool {
  uuid: string;
  name: string;
  master?: string | undefined;
  defaultSr?: string | undefined;
}

/** This host's record among the pool's hosts: the only one, or the one with this host's name. */
export async function thisHost($: CommandFn): Promise<XeRecord> {
  const hosts = await xeRecords($, 'host', {}, ['uuid', 'name-label', 'hostname', 'address', 'software-version']);
  if (hosts.length === 1 && hosts[0]) return hosts[0];
  const name = (await $`uname -n`).stdout.trim();
  const short = name.split('.')[0];
  const mine = hosts.filter((h) => [name, short].includes(h.get('hostname') ?? '') || h.get('name-label') === name);
  if (mine.length === 1 && mine[0]) return mine[0];
  throw fail(
    `cannot tell which of the pool's ${hosts.length} hosts is this one (no host named '${name}')`,
    'run the playbook on the host itself, or with --host pointing at it',
  );
}

/** The pool (there is one per host): uuid, master, default SR. */
export async function thePool($: CommandFn): Promise<Pool> {
  const [pool] = await xeRecords($, 'pool', {}, ['uuid', 'name-label', 'master', 'default-SR']);
  if (!pool) throw fail('xe pool-list shows no pool');
  return {
    uuid: pool.get('uuid') ?? '',
    name: pool.get('name-label') ?? '',
    master: refOrUndefined(pool.get('master')),
    defaultSr: refOrUndefined(pool.get('default-SR')),
  };
}

/** Read this host and its pool into the state (once, or again after a pool join). */
export async function facts(ctx: Pick<XcpContext, '$' | 'state'>, refresh = false): Promise<void> {
  if (ctx.state.host && !refresh) return;
  const me = await thisHost(ctx.$);
  ctx.state.host = me.get('uuid');
  ctx.state.hostName = me.get('name-label');
  ctx.state.pool = await thePool(ctx.$);
}

/** One value of a VM's other-config, or undefined when the key is not there. */
export async function otherConfig($: CommandFn, vm: string, key: string): Promise<string | undefined> {
  try {
    return await xeGet($, 'vm', vm, 'other-config', key);
  } catch (e) {
    if (e instanceof XeError && /^Error: Key .* not found in map/.test(e.message.replace(/^xe \S+ failed: /, ''))) {
      return undefined;
    }
    throw e;
  }
}

/** The SR's name in quotes, or `none`. */
export async function srLabel($: CommandFn, sr: string | undefined): Promise<string> {
  return sr ? `"${await xeGet($, 'sr', sr, 'name-label')}"` : 'none';
}
