/**
 * Reading the domain and its host: which toolstack manages it, its configuration file (xl, xm),
 * and what `read-xl.ts`, `read-xm.ts` and `read-xe.ts` find in the toolstack's own output.
 */
import { fail, usage } from '../../engine/errors.js';
import type { Context } from '../../engine/runner.js';
import {
  configDisks,
  configVifs,
  cpupoolScheduler,
  domainScheduler,
  parseInfo,
  parseSchedParams,
  storedFromConfig,
  type DomainFacts,
  type Toolstack,
} from '../../xen/qos.js';
import { XlConfig } from '../../xen/xlcfg.js';
import { xenVersionOf, type XenVersion } from '../../xen/xlversion.js';
import { readXlLive } from './read-xl.js';
import { readXmLive } from './read-xm.js';
import { readXe } from './read-xe.js';

/** What reading the host needs: its commands and its files. */
export type HostAccess = Pick<Context, '$' | 'host'>;

/** What the read found: the domain, and (xe) where it runs. */
export interface DomainRead {
  facts: DomainFacts;
  /** xe, running: the host the VM is resident on (xapi's resident-on). */
  residentOn?: string | undefined;
  /** xe: this host's uuid (/etc/xensource-inventory), read when the scheduler is asked. */
  hostUuid?: string | undefined;
  /** xe, running: memory-dynamic-min differs from memory-dynamic-max. */
  dynamicRange?: boolean;
}

/** xe when the host has /etc/xensource-inventory, else xl, else xm: the first that answers. */
export async function detectToolstack(ctx: HostAccess): Promise<Toolstack> {
  if (await ctx.host.exists('/etc/xensource-inventory')) return 'xe';
  if ((await ctx.$({ nothrow: true })`xl info`).exitCode === 0) return 'xl';
  if ((await ctx.$({ nothrow: true })`xm info`).exitCode === 0) return 'xm';
  throw fail('neither xe, xl nor xm answers on this host: is it running Xen? (or say which with --toolstack)');
}

/** Where a domain's configuration file is looked for when --config does not say. */
export function configCandidates(name: string, tool: 'xl' | 'xm'): string[] {
  return [
    `/etc/xen/${name}.cfg`,
    `/etc/xen/${name}`,
    ...(tool === 'xm' ? [`/OVS/running_pool/${name}/vm.cfg`, `/etc/xen/auto/${name}`] : []),
  ];
}

/** The domain's configuration file: --config, else the usual places. */
export async function findConfig(
  ctx: HostAccess,
  name: string,
  tool: 'xl' | 'xm',
  given: string | undefined,
  xen?: XenVersion,
): Promise<{ path?: string; cfg?: XlConfig; looked: string[] }> {
  const candidates = given ? [given] : configCandidates(name, tool);
  const looked: string[] = [];
  for (const path of candidates) {
    looked.push(path);
    const text = await ctx.host.readText(path);
    if (text === undefined) continue;
    let cfg: XlConfig;
    try {
      // xl: as the host's release reads it (its grammar changed: += from 4.13, nested lists from 4.6).
      // xm: lenient, so that the lines beyond KEY = VALUE are collected (and refused below).
      const opts = tool === 'xm' ? { source: path, lenient: true } : { source: path, ...(xen ? { xen } : {}) };
      cfg = XlConfig.parse(text, opts);
    } catch (e) {
      throw usage(`${path} cannot be read as a domain configuration: ${e instanceof Error ? e.message : String(e)}`);
    }
    // xend executes its files as Python (xm/opts.py Opts.load: execfile, RELEASE-4.1.0 …
    // 4.4.0). What is read and written here is the subset both take: KEY = number, 'string' or
    // [ list ] lines. Any other line is refused, named, rather than guessed at.
    if (cfg.issues.length) throw usage(unreadableXm(path, cfg));
    // A file found by its name that sets another domain's name (a copy kept under the old name,
    // say) is not this domain's: --persist would change the other one at its next start. (--config
    // is checked the same way, and refused: config-option.ts.)
    const named = cfg.get('name');
    if (!given && named !== undefined && String(named) !== name) {
      looked[looked.length - 1] = `${path}, which is the configuration of ${String(named)}`;
      continue;
    }
    return { path, cfg, looked };
  }
  if (given) throw usage(`--config ${given}: no such file`);
  return { looked };
}

/** The lines of an xm file that are Python beyond KEY = VALUE, each named. */
export function unreadableXm(path: string, cfg: XlConfig): string {
  const lines = cfg.issues.map((i) => `line ${i.line} (${i.text.trim()}): ${i.message}`);
  return (
    `${path}: ${lines.join('; ')}. xend runs this file as Python; xen-qos reads and writes only ` +
    `KEY = VALUE lines (a number, a 'string' or a [ list ]) and will not guess what the others set: ` +
    `rewrite ${lines.length === 1 ? 'that line' : 'those lines'} as plain values, or give --config a file without them`
  );
}

/** Read the domain NAME as its toolstack sees it. */
export async function readDomain(
  ctx: HostAccess,
  toolstack: Toolstack,
  name: string | undefined,
  config: string | undefined,
): Promise<DomainRead> {
  if (!name) throw usage('give the DOMAIN');
  return toolstack === 'xe' ? readXe(ctx, name) : { facts: await readXlXm(ctx, toolstack, name, config) };
}

/** xl and xm: the live domain (`list -l`, `sched-credit`), the host (`info`), the config file. */
export async function readXlXm(
  ctx: HostAccess,
  tool: 'xl' | 'xm',
  name: string,
  config: string | undefined,
): Promise<DomainFacts> {
  const info = parseInfo((await ctx.$`${tool} info`).stdout);
  const nrCpus = Number(info.nr_cpus);
  // Xen's boot default; on a host with cpupools a domain has its pool's (poolScheduler, below).
  const bootScheduler = info.xen_scheduler ?? 'credit';
  let scheduler = bootScheduler;
  const xen = xenVersionOf(info);
  const host = {
    ...(xen ? { xen } : {}),
    ...(info.release ? { dom0Kernel: info.release } : {}),
    // Oracle VM Server's dom0 carries /etc/ovs-release; its xend alone reads vif_other_config and
    // disk_other_config (upstream xend's create.py has neither key, RELEASE-4.1.0 to 4.4.0).
    ...(tool === 'xm' ? { oracleVm: await ctx.host.exists('/etc/ovs-release') } : {}),
  };
  const { path: configPath, cfg, looked } = await findConfig(ctx, name, tool, config, tool === 'xl' ? xen : undefined);
  const listed = await ctx.$({ nothrow: true })`${tool} list ${name}`;
  if (listed.exitCode !== 0 && !/invalid domain|not found|does not exist|no such domain/i.test(listed.stderr)) {
    throw fail(`${tool} list ${name} failed: ${listed.stderr.trim() || listed.stdout.trim()}`);
  }
  const stored = cfg ? storedFromConfig(cfg, tool) : {};
  if (tool === 'xl') {
    const where =
      listed.exitCode === 0
        ? { domain: name }
        : { pool: typeof cfg?.get('pool') === 'string' ? String(cfg?.get('pool')) : undefined };
    scheduler = (await poolScheduler(ctx, where)) ?? bootScheduler;
  }
  if (listed.exitCode !== 0) {
    if (!cfg)
      throw usage(
        `${name} is not running and has no configuration file (looked at ${looked.join(', ')}): give --config FILE`,
      );
    const type = cfg.get('type') ?? (cfg.get('builder') === 'hvm' ? 'hvm' : 'pv');
    const maxmem = cfg.getNumber('maxmem');
    return {
      toolstack: tool,
      name,
      state: 'halted',
      guestType: type === 'hvm' ? 'hvm' : type === 'pvh' ? 'pvh' : 'pv',
      scheduler,
      nrCpus,
      vcpus: stored.vcpus ?? 1,
      // xl: no maxvcpus means no limit to raise; xm: vcpus is the maximum (default 1).
      maxVcpus: tool === 'xm' ? (stored.maxVcpus ?? 1) : (cfg.getNumber('maxvcpus') ?? Infinity),
      memory: stored.memory ?? 0,
      maxMemory: maxmem !== undefined ? (stored.maxMemory ?? maxmem * 1024 ** 2) : Infinity,
      vifs: configVifs(cfg, tool, tool === 'xl' ? xen : undefined),
      disks: configDisks(cfg, tool === 'xl' ? xen : undefined),
      ...(configPath ? { configPath } : {}),
      stored,
      ...host,
    };
  }
  const live = tool === 'xl' ? await readXlLive(ctx, name, cfg, xen) : await readXmLive(ctx, name, cfg);
  const schedCmd = scheduler === 'credit2' ? 'sched-credit2' : 'sched-credit';
  const schedOut = ['credit', 'credit2'].includes(scheduler)
    ? await ctx.$`${tool} ${schedCmd} -d ${String(live.domid)}`
    : undefined;
  const sched = schedOut ? parseSchedParams(schedOut.stdout) : undefined;
  return {
    toolstack: tool,
    name,
    state: 'running',
    scheduler,
    nrCpus,
    ...live,
    ...(sched ? { sched } : {}),
    ...(configPath ? { configPath } : {}),
    stored,
    ...host,
  };
}

/**
 * xl: the scheduler of the domain's cpupool, which is the one `xl sched-credit*` works with
 * (libxl__domain_scheduler): a running domain's pool from `xl list -c`, a halted one's from its
 * config's `pool=`; undefined when there is no such key or xl cannot say (Xen's boot default then).
 */
async function poolScheduler(
  ctx: HostAccess,
  where: { domain: string } | { pool: string | undefined },
): Promise<string | undefined> {
  if ('pool' in where && where.pool === undefined) return undefined;
  const pools = await ctx.$({ nothrow: true })`xl cpupool-list`;
  if (pools.exitCode !== 0) return undefined;
  if ('pool' in where) return cpupoolScheduler(pools.stdout, String(where.pool));
  const listed = await ctx.$({ nothrow: true })`xl list -c ${where.domain}`;
  return listed.exitCode === 0 ? domainScheduler(listed.stdout, pools.stdout) : undefined;
}
