/**
 * `xl list -l DOMAIN` in the forms Xen's releases print it, and what in it is the running domain.
 * Read from xen.git (the simulator, test/sim/xl-list-long.mjs, prints the same forms):
 *
 * - RELEASE-4.1.0 tools/libxl/xl_cmdimpl.c list_domains_details → printf_info: an S-expression of
 *   the configuration text xl stored when it created the domain, parsed again; no Domain-0.
 * - RELEASE-4.2.0 … 4.4.0: the same stored text, as JSON (`[{"domid": N, "config": {...}}]`), or
 *   as printf_info_sexp's S-expression when /etc/xen/xl.conf sets output_format="sxp".
 * - RELEASE-4.5.0 on: libxl_retrieve_domain_configuration, the stored record merged with the live
 *   domain (memory target and maximum, devices as attached; vCPUs online from 4.8; scheduler
 *   parameters from 4.9), as JSON or, with output_format="sxp", the S-expression.
 *
 * Both S-expression printers close `(domain` early for a PV guest (`(linux 0)` then two closing
 * parentheses), so its devices follow at the top level and a stray `)` ends the output: the
 * reader here takes top-level `(device …)` lists as the preceding domain's and ignores the `)`.
 */
import { parseSxp, sxpGet as get, type Credit, type Sxp } from './qos.js';
import { atLeast, type XenVersion } from './xlversion.js';

export interface ListedNic {
  devid?: number;
  mac?: string;
  bridge?: string;
  model?: string;
  script?: string;
  ip?: string;
  ifname?: string;
  credit?: Credit;
}

export interface ListedDomain {
  form: 'json' | 'sxp';
  domid: number;
  type?: 'pv' | 'hvm' | 'pvh';
  uuid?: string;
  maxVcpus?: number;
  availVcpus?: number;
  /** KiB */
  targetKb?: number;
  maxKb?: number;
  nics: ListedNic[];
  disks: { vdev: string }[];
}

/** Which parts of `xl list -l` are the running domain's on release `v` (the rest is the configuration it was created with). */
export interface ListLive {
  memory: boolean;
  nics: boolean;
  vcpus: boolean;
  sched: boolean;
  uuid: boolean;
}

export function listLongLive(v: XenVersion | undefined): ListLive {
  return {
    memory: atLeast(v, 4, 5),
    nics: atLeast(v, 4, 5),
    vcpus: atLeast(v, 4, 8),
    sched: atLeast(v, 4, 9),
    uuid: atLeast(v, 4, 5),
  };
}

function numberOf(s: string | undefined): number | undefined {
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/** `00163e2b1183` (printf_info's `%02x` × 6) or a MAC with colons, as aa:bb:cc:dd:ee:ff. */
function macOf(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const bare = s.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{12}$/.test(bare) ? (bare.match(/../g) ?? []).join(':') : s.toLowerCase();
}

function fromSxp(text: string): ListedDomain[] {
  const out: ListedDomain[] = [];
  for (const item of parseSxp(text, { loose: true })) {
    if (!Array.isArray(item)) continue;
    if (item[0] === 'domain') {
      const hvm = get(item, 'hvm');
      out.push({
        form: 'sxp',
        domid: Number(get(item, 'domid')),
        ...(hvm !== undefined ? { type: hvm === '1' ? 'hvm' : 'pv' } : {}),
        ...(get(item, 'uuid') && get(item, 'uuid') !== '<unknown>' ? { uuid: get(item, 'uuid') as string } : {}),
        ...opt('maxVcpus', numberOf(get(item, 'max_vcpus'))),
        ...opt('maxKb', numberOf(get(item, 'max_memkb'))),
        ...opt('targetKb', numberOf(get(item, 'target_memkb'))),
        nics: [],
        disks: [],
      });
      for (const inner of item) if (Array.isArray(inner) && inner[0] === 'device') addDevice(out.at(-1), inner);
    } else if (item[0] === 'device') addDevice(out.at(-1), item);
  }
  return out;
}

function addDevice(d: ListedDomain | undefined, device: Sxp[]): void {
  const dev = device[1];
  if (!d || !Array.isArray(dev)) return;
  if (dev[0] === 'vif') {
    const mac = macOf(get(dev, 'mac'));
    d.nics.push({
      ...opt('devid', numberOf(get(dev, 'devid'))),
      ...(mac ? { mac } : {}),
      ...(get(dev, 'model') ? { model: get(dev, 'model') as string } : {}),
      ...(get(dev, 'vifname') ? { ifname: get(dev, 'vifname') as string } : {}),
    });
  } else if (dev[0] === 'tap' || dev[0] === 'vbd') {
    const vdev = get(dev, 'virtpath');
    if (vdev) d.disks.push({ vdev });
  }
}

function opt<K extends string>(key: K, value: number | undefined): { [k in K]?: number } {
  return (value === undefined || Number.isNaN(value) ? {} : { [key]: value }) as { [k in K]?: number };
}

interface JsonNic {
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

interface JsonDomain {
  domid: number | null;
  config?: {
    c_info?: { type?: string; uuid?: string };
    b_info?: { max_vcpus?: number; avail_vcpus?: unknown[]; target_memkb?: number; max_memkb?: number };
    nics?: JsonNic[];
    disks?: { vdev?: string }[];
  };
}

function fromJson(list: JsonDomain[]): ListedDomain[] {
  return list.map((dom) => {
    const c = dom.config ?? {};
    const b = c.b_info ?? {};
    const type = c.c_info?.type;
    return {
      form: 'json' as const,
      domid: Number(dom.domid),
      ...(type === 'hvm' || type === 'pv' || type === 'pvh' ? { type } : {}),
      ...(c.c_info?.uuid ? { uuid: c.c_info.uuid } : {}),
      ...opt('maxVcpus', b.max_vcpus),
      ...opt('availVcpus', Array.isArray(b.avail_vcpus) ? b.avail_vcpus.length : undefined),
      ...opt('targetKb', b.target_memkb),
      ...opt('maxKb', b.max_memkb),
      nics: (c.nics ?? []).map((n) => ({
        ...opt('devid', n.devid),
        ...(n.mac ? { mac: n.mac.toLowerCase() } : {}),
        ...(n.bridge ? { bridge: n.bridge } : {}),
        ...(n.model ? { model: n.model } : {}),
        ...(n.script ? { script: n.script } : {}),
        ...(n.ip ? { ip: n.ip } : {}),
        ...(n.ifname ? { ifname: n.ifname } : {}),
        ...(n.rate_bytes_per_interval && n.rate_interval_usecs
          ? { credit: { bytesPerInterval: n.rate_bytes_per_interval, intervalUs: n.rate_interval_usecs } }
          : {}),
      })),
      disks: (c.disks ?? []).filter((d) => d.vdev).map((d) => ({ vdev: String(d.vdev) })),
    };
  });
}

/** `xl list -l` in any release's form: JSON, or an S-expression (4.1, or output_format="sxp"). */
export function parseXlListLong(text: string): ListedDomain[] {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[')) return fromJson(JSON.parse(t) as JsonDomain[]);
  if (t.startsWith('(')) return fromSxp(t);
  throw new SyntaxError(`xl list -l printed neither JSON nor an S-expression: ${t.slice(0, 60)}`);
}

/** One row of `xl list DOMAIN` (list_domains, xl_cmdimpl.c RELEASE-4.1.0 … xl_info.c RELEASE-4.17.0): all of it the hypervisor's. */
export interface ListedRow {
  domid: number;
  /** MiB the domain holds now (current_memkb / 1024): not its target. */
  memMiB: number;
  /** vCPUs online. */
  vcpus: number;
}

/** The row of `xl list DOMAIN` (`Name ID Mem VCPUs State Time(s)`; the name may hold no spaces under xl). */
export function parseXlListRow(text: string): ListedRow | undefined {
  const row = text
    .split('\n')
    .slice(1)
    .find((l) => l.trim() !== '');
  const cols = row?.trim().split(/\s+/) ?? [];
  // From the right: Time(s), State, VCPUs, Mem, ID (xm: the same columns).
  const [id, mem, vcpus] = [cols.at(-5), cols.at(-4), cols.at(-3)].map((s) => numberOf(s));
  if (id === undefined || mem === undefined || vcpus === undefined) return undefined;
  return { domid: id, memMiB: mem, vcpus };
}

/** A row of `xl network-list` / `xm network-list`: Idx, MAC, the frontend's xenbus state. */
export interface NetworkListRow {
  devid: number;
  mac: string;
  state?: number;
}

/** `xl network-list DOMAIN` (main_networklist: `Idx BE Mac Addr. handle state evt-ch …`; the same columns from RELEASE-4.1.0). */
export function parseNetworkList(text: string): NetworkListRow[] {
  const rows: NetworkListRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (!/^\d+$/.test(cols[0] ?? '') || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(cols[2] ?? '')) continue;
    rows.push({
      devid: Number(cols[0]),
      mac: String(cols[2]).toLowerCase(),
      ...(/^\d+$/.test(cols[4] ?? '') ? { state: Number(cols[4]) } : {}),
    });
  }
  return rows;
}
