/**
 * A running domain as xl sees it: `xl list -l` (libxl's JSON record of the domain), `xl list`
 * (the vCPUs online now), and xenstore (each vif backend's state and rate, the balloon driver).
 */
import type { DomainFacts, VifFacts } from '../../xen/qos.js';
import { configVifs } from '../../xen/qos.js';
import type { XlConfig } from '../../xen/xlcfg.js';
import type { HostAccess } from './read-domain.js';

/** What a live read adds to the facts the caller fills in (toolstack, name, state, host). */
export type LiveFacts = Omit<DomainFacts, 'toolstack' | 'name' | 'state' | 'scheduler' | 'nrCpus' | 'stored'>;

/** libxl's record of a NIC in `xl list -l` (libxl_types.idl libxl_device_nic). */
interface XlNic {
  devid?: number;
  mac?: string;
  bridge?: string;
  model?: string;
  script?: string;
  ip?: string;
  ifname?: string;
  rate_bytes_per_interval?: number;
  rate_interval_usecs?: number;
}

/** The parts of `xl list -l`'s JSON read here. */
interface XlDomain {
  domid: number;
  config: {
    c_info?: { type?: string; uuid?: string };
    b_info?: { max_vcpus?: number; avail_vcpus?: unknown[]; target_memkb?: number; max_memkb?: number };
    nics?: XlNic[];
    disks?: { vdev: string }[];
  };
}

/** The guest's balloon driver says it is there (Linux and the Windows PV drivers write it). */
export async function balloonDriver(ctx: HostAccess, domid: number): Promise<boolean | undefined> {
  const r = await ctx.$({ nothrow: true })`xenstore-read /local/domain/${String(domid)}/control/feature-balloon`;
  if (r.exitCode !== 0) return undefined;
  return r.stdout.trim() === '1';
}

/** The running domain NAME under xl. */
export async function readXlLive(ctx: HostAccess, name: string, cfg: XlConfig | undefined): Promise<LiveFacts> {
  const [dom] = JSON.parse((await ctx.$`xl list -l ${name}`).stdout) as XlDomain[];
  if (!dom) throw new Error(`xl list -l ${name} printed no domain`);
  const c = dom.config;
  const b = c.b_info ?? {};
  const row = (await ctx.$`xl list ${name}`).stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) ?? [];
  const online = Number(row.at(-3));
  const fromConfig = cfg ? configVifs(cfg) : [];
  const vifs: VifFacts[] = [];
  for (const [i, n] of (c.nics ?? []).entries()) {
    const devid = n.devid ?? i;
    const mac = String(n.mac ?? '').toLowerCase();
    const known = fromConfig.find((v) => v.mac && v.mac === mac);
    // Attach it again as libxl has it now, not as the file says: a file edited since the domain
    // started may hold keys this release's network-attach refuses (mtu= before 4.15, …).
    const params: Record<string, string> = {
      mac: known?.params?.mac ?? mac,
      ...(n.bridge ? { bridge: n.bridge } : {}),
      ...(n.model ? { model: n.model } : {}),
      ...(n.script ? { script: n.script } : {}),
      ...(n.ip ? { ip: n.ip } : {}),
      ...(n.ifname ? { vifname: n.ifname } : {}),
    };
    // What netback has now: the backend's rate key (libxl writes it at attach; a live change is
    // written there too), else libxl's record; and whether the guest's netfront connected.
    const backend = `/local/domain/0/backend/vif/${dom.domid}/${devid}`;
    const state = await ctx.$({ nothrow: true })`xenstore-read ${`${backend}/state`}`;
    const rate = await ctx.$({ nothrow: true })`xenstore-read ${`${backend}/rate`}`;
    const xs = rate.exitCode === 0 ? /^(\d+),(\d+)$/.exec(rate.stdout.trim()) : null;
    const credit = xs
      ? Number(xs[1]) > 0 && Number(xs[2]) > 0
        ? { bytesPerInterval: Number(xs[1]), intervalUs: Number(xs[2]) }
        : undefined
      : n.rate_bytes_per_interval
        ? { bytesPerInterval: Number(n.rate_bytes_per_interval), intervalUs: Number(n.rate_interval_usecs) }
        : undefined;
    vifs.push({
      index: devid,
      mac,
      credit,
      // The MAC as the config file spells it; devid= is added where xl takes it (Xen 4.9).
      params: { ...params, mac: params.mac ?? mac },
      ...(state.exitCode === 0 && /^\d+$/.test(state.stdout.trim())
        ? { backendState: Number(state.stdout.trim()) }
        : {}),
    });
  }
  const type = c.c_info?.type;
  const balloon = await balloonDriver(ctx, dom.domid);
  return {
    domid: dom.domid,
    ...(c.c_info?.uuid ? { uuid: c.c_info.uuid } : {}),
    guestType: type === 'hvm' ? 'hvm' : type === 'pvh' ? 'pvh' : 'pv',
    vcpus: Number.isFinite(online) ? online : Number(b.avail_vcpus?.length ?? b.max_vcpus),
    maxVcpus: Number(b.max_vcpus),
    memory: Number(b.target_memkb) * 1024,
    maxMemory: Number(b.max_memkb) * 1024,
    ...(balloon !== undefined ? { balloon } : {}),
    vifs,
    disks: (c.disks ?? []).map((d) => ({ vdev: d.vdev })),
  };
}
