/**
 * A running domain as xl sees it, on the release at hand: `xl list -l` (libxl's record of the
 * domain from Xen 4.5; before, the configuration it was created with: src/xen/xl-list-long.ts),
 * `xl list` (the hypervisor's vCPUs online and memory held), `xl network-list`, and xenstore
 * (the memory target, each vif backend's state and rate, the balloon driver).
 */
import type { DomainFacts, VifFacts } from '../../xen/qos.js';
import { configVifs } from '../../xen/qos.js';
import type { XlConfig } from '../../xen/xlcfg.js';
import {
  listLongLive,
  parseNetworkList,
  parseXlListLong,
  parseXlListRow,
  type ListedDomain,
  type ListedNic,
} from '../../xen/xl-list-long.js';
import { versionText, type XenVersion } from '../../xen/xlversion.js';
import type { HostAccess } from './read-domain.js';

/** What a live read adds to the facts the caller fills in (toolstack, name, state, host). */
export type LiveFacts = Omit<DomainFacts, 'toolstack' | 'name' | 'state' | 'scheduler' | 'nrCpus' | 'stored'>;

const KiB = 1024;

/** The guest's balloon driver says it is there (Linux and the Windows PV drivers write it). */
export async function balloonDriver(ctx: HostAccess, domid: number): Promise<boolean | undefined> {
  const r = await ctx.$({ nothrow: true })`xenstore-read /local/domain/${String(domid)}/control/feature-balloon`;
  if (r.exitCode !== 0) return undefined;
  return r.stdout.trim() === '1';
}

/** A number xenstore holds at PATH, or undefined. */
export async function xenstoreNumber(ctx: Pick<HostAccess, '$'>, path: string): Promise<number | undefined> {
  const r = await ctx.$({ nothrow: true })`xenstore-read ${path}`;
  const t = r.stdout.trim();
  return r.exitCode === 0 && /^\d+$/.test(t) ? Number(t) : undefined;
}

/**
 * The memory target libxl keeps in xenstore, bytes: memory/target plus memory/videoram (libxl
 * writes the target without the video memory: libxl_set_memory_target, libxl__build_post;
 * RELEASE-4.1.0 libxl.c and libxl_dom.c alike). undefined when xenstore does not say.
 */
export async function xenstoreTarget(ctx: Pick<HostAccess, '$'>, domid: number): Promise<number | undefined> {
  const base = `/local/domain/${String(domid)}/memory`;
  const target = await xenstoreNumber(ctx, `${base}/target`);
  if (target === undefined) return undefined;
  return (target + ((await xenstoreNumber(ctx, `${base}/videoram`)) ?? 0)) * KiB;
}

/** How many vCPUs cpu/N/availability marks online, or undefined when xenstore does not say. */
export async function availableVcpus(
  ctx: Pick<HostAccess, '$'>,
  f: Pick<DomainFacts, 'domid' | 'maxVcpus'>,
): Promise<number | undefined> {
  if (f.domid === undefined || !Number.isFinite(f.maxVcpus)) return undefined;
  let online = 0;
  for (let i = 0; i < f.maxVcpus; i++) {
    const r = await ctx.$({
      nothrow: true,
    })`xenstore-read ${`/local/domain/${String(f.domid)}/cpu/${String(i)}/availability`}`;
    if (r.exitCode !== 0) return undefined;
    if (r.stdout.trim() === 'online') online++;
  }
  return online;
}

/** The running domain NAME under xl, on Xen `xen`. */
export async function readXlLive(
  ctx: HostAccess,
  name: string,
  cfg: XlConfig | undefined,
  xen: XenVersion | undefined,
): Promise<LiveFacts> {
  const live = listLongLive(xen);
  const listed = parseXlListLong((await ctx.$`xl list -l ${name}`).stdout).at(-1);
  const row = parseXlListRow((await ctx.$`xl list ${name}`).stdout);
  if (!row) throw new Error(`xl list ${name} printed no row`);
  if (!listed && live.memory) throw new Error(`xl list -l ${name} printed no domain`);
  const domid = row.domid;
  const notes: string[] = [];
  const release = `Xen ${versionText(xen)}`;
  if (!live.memory)
    notes.push(
      `${release}: xl list -l shows the configuration ${name} was created with; the live values are read from xl list, xl network-list and xenstore`,
    );
  const memory = await liveMemory(ctx, listed, live.memory, domid, row.memMiB, notes);
  const maxMemory = await liveMaxMemory(ctx, listed, live.memory, domid, notes);
  const nics = live.nics ? (listed?.nics ?? []) : await nicsFromNetworkList(ctx, name, listed);
  const vifs = await vifFacts(ctx, domid, nics, cfg);
  const balloon = await balloonDriver(ctx, domid);
  const maxVcpus = Number(listed?.maxVcpus ?? row.vcpus);
  const asked = await availableVcpus(ctx, { domid, maxVcpus });
  return {
    domid,
    ...(listed?.uuid && (live.uuid || listed.form === 'sxp') ? { uuid: listed.uuid } : {}),
    guestType: listed?.type ?? 'pv',
    // xl list's VCPUs column is the hypervisor's count online, in every release.
    vcpus: row.vcpus,
    // The boot maximum cannot change while the domain runs: the created configuration has it.
    maxVcpus,
    ...(asked !== undefined ? { vcpusAsked: asked } : {}),
    memory,
    maxMemory,
    ...(balloon !== undefined ? { balloon } : {}),
    vifs,
    disks: listed?.disks ?? [],
    ...(notes.length ? { liveNotes: notes } : {}),
  };
}

/** The memory target: libxl's record from 4.5, else xenstore, else what the domain holds (said so). */
async function liveMemory(
  ctx: HostAccess,
  listed: ListedDomain | undefined,
  recordIsLive: boolean,
  domid: number,
  heldMiB: number,
  notes: string[],
): Promise<number> {
  if (recordIsLive && listed?.targetKb !== undefined) return listed.targetKb * KiB;
  const target = await xenstoreTarget(ctx, domid);
  if (target !== undefined) return target;
  notes.push(
    `memory target: not readable (xenstore-read /local/domain/${domid}/memory/target failed); the memory shown is what the domain holds now (xl list)`,
  );
  return heldMiB * 1024 * KiB;
}

/** The static maximum: libxl's record from 4.5, else xenstore's memory/static-max, else the created configuration's (said so). */
async function liveMaxMemory(
  ctx: HostAccess,
  listed: ListedDomain | undefined,
  recordIsLive: boolean,
  domid: number,
  notes: string[],
): Promise<number> {
  if (recordIsLive && listed?.maxKb !== undefined) return listed.maxKb * KiB;
  const max = await xenstoreNumber(ctx, `/local/domain/${domid}/memory/static-max`);
  if (max !== undefined) return max * KiB;
  if (listed?.maxKb !== undefined) {
    notes.push(`memory maximum: not readable in xenstore; the one shown is the configuration's (maxmem)`);
    return listed.maxKb * KiB;
  }
  return Infinity;
}

/**
 * Before 4.5 the NICs of `xl list -l` are the created configuration's: a NIC attached since is
 * missing, one detached is still there, a MAC not written in the file is made up. `xl network-list`
 * lists the attached ones with their MAC; the listing adds what it knows of the same MAC.
 */
async function nicsFromNetworkList(
  ctx: HostAccess,
  name: string,
  listed: ListedDomain | undefined,
): Promise<ListedNic[]> {
  const r = await ctx.$({ nothrow: true })`xl network-list ${name}`;
  if (r.exitCode !== 0) return [];
  return parseNetworkList(r.stdout).map((row) => {
    const known = listed?.nics.find((n) => n.mac === row.mac);
    return { ...(known ?? {}), devid: row.devid, mac: row.mac, credit: undefined };
  });
}

/** Each NIC with what netback has: the backend's state and rate in xenstore. */
async function vifFacts(
  ctx: HostAccess,
  domid: number,
  nics: ListedNic[],
  cfg: XlConfig | undefined,
): Promise<VifFacts[]> {
  const fromConfig = cfg ? configVifs(cfg) : [];
  const vifs: VifFacts[] = [];
  for (const [i, n] of nics.entries()) {
    const devid = n.devid ?? i;
    const mac = String(n.mac ?? '').toLowerCase();
    const known = fromConfig.find((v) => v.mac && v.mac === mac);
    // Attach it again as libxl has it now, not as the file says: a file edited since the domain
    // started may hold keys this release's network-attach refuses (mtu= before 4.15, …).
    const params: Record<string, string> = {
      mac: known?.params?.mac ?? mac,
      ...(n.bridge ? { bridge: n.bridge } : known?.params?.bridge ? { bridge: known.params.bridge } : {}),
      ...(n.model ? { model: n.model } : {}),
      ...(n.script ? { script: n.script } : {}),
      ...(n.ip ? { ip: n.ip } : {}),
      ...(n.ifname ? { vifname: n.ifname } : {}),
    };
    // What netback has now: the backend's rate key (libxl writes it at attach; a live change is
    // written there too), else libxl's record; and whether the guest's netfront connected.
    const backend = `/local/domain/0/backend/vif/${domid}/${devid}`;
    const state = await ctx.$({ nothrow: true })`xenstore-read ${`${backend}/state`}`;
    const rate = await ctx.$({ nothrow: true })`xenstore-read ${`${backend}/rate`}`;
    const xs = rate.exitCode === 0 ? /^(\d+),(\d+)$/.exec(rate.stdout.trim()) : null;
    const credit = xs
      ? Number(xs[1]) > 0 && Number(xs[2]) > 0
        ? { bytesPerInterval: Number(xs[1]), intervalUs: Number(xs[2]) }
        : undefined
      : n.credit;
    vifs.push({
      index: devid,
      mac,
      credit,
      params,
      ...(state.exitCode === 0 && /^\d+$/.test(state.stdout.trim())
        ? { backendState: Number(state.stdout.trim()) }
        : {}),
    });
  }
  return vifs;
}
