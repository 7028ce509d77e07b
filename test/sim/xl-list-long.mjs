// @ts-check
/**
 * `xl list -l` as each release prints it, for the xl simulator (xl.mjs). Read from xen.git:
 *
 * - RELEASE-4.1.0 tools/libxl/xl_cmdimpl.c list_domains_details: for every domain but Domain-0,
 *   the configuration text xl stored when it created the domain (libxl_userdata_retrieve "xl")
 *   is parsed again (parse_config_data) and printed by printf_info as an S-expression. Nothing in
 *   it is read from the running domain except the uuid (libxl_domain_info); a NIC without mac=
 *   gets a new random MAC at every listing (libxl.c libxl_device_nic_init). There is no JSON.
 * - RELEASE-4.2.0 … 4.4.0 (same function): the same stored text, printed as JSON
 *   (printf_info_one_json: `[{"domid": N, "config": libxl_domain_config}]`) or, when
 *   /etc/xen/xl.conf sets output_format="sxp" (xl.c parse_global_config), by printf_info_sexp
 *   (xl_sxp.c). A NIC without mac= shows 00:00:00:00:00:00 (its MAC is drawn later, in
 *   libxl__device_nic_setdefault, libxl.c); its uuid is parse_config_data's fresh one.
 * - RELEASE-4.5.0 onwards: libxl_retrieve_domain_configuration (libxl.c; libxl_domain.c from
 *   4.9), the stored JSON merged with the live domain: memory target and maximum (xenstore), the
 *   devices as attached, from 4.8 the vCPUs online, from 4.9 the scheduler parameters. Domain-0
 *   is listed too. output_format="sxp" still selects printf_info_sexp (xl_sxp.c, RELEASE-4.17.0).
 *
 * Both S-expression printers close `(domain` early for a PV guest: `(linux 0)` is a complete
 * list, the `\t\t)` meant for it closes `(image`, and `\t)` then closes `(domain`, so the devices
 * follow at the top level and a stray `)` ends the output (xl_cmdimpl.c printf_info,
 * RELEASE-4.1.0; xl_sxp.c printf_info_sexp, RELEASE-4.2.0 … 4.17.0). Printed here as they are.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseVifRate } from 'xen-runbooks/xen/xlcfg';

/** @param {any} c @param {string} k @returns {number | undefined} */
function num(c, k) {
  return c && c[k] !== undefined && Number.isFinite(Number(c[k])) ? Number(c[k]) : undefined;
}

/** A MAC libxl_device_nic_init draws (RELEASE-4.1.0 libxl.c): 00:16:3e, then 3 random bytes, the first & 0x7f. */
function randomMac() {
  const r = randomBytes(3);
  r[0] = (r[0] ?? 0) & 0x7f;
  return `00:16:3e:${[...r].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * The domain as parse_config_data reads the text xl stored at `xl create` (its `config` keys);
 * a seeded domain's stored text holds what it was seeded with (`created`, else its values now).
 * @param {any} d @param {{ major: number, minor: number }} v
 */
export function storedView(d, v) {
  const c = d.config ?? {};
  const was = d.created ?? d;
  const memory = num(c, 'memory') ?? was.memory;
  const vcpus = num(c, 'vcpus') ?? was.vcpus;
  const zeroMac = '00:00:00:00:00:00';
  /** @type {any[]} */
  const vifs = Array.isArray(c.vif)
    ? c.vif.map((/** @type {unknown} */ spec, /** @type {number} */ i) => {
        /** @type {Record<string, string>} */
        const kv = {};
        for (const t of String(spec).split(',')) {
          const eq = t.indexOf('=');
          if (eq > 0) kv[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
        }
        const mac = kv.mac ?? (v.minor <= 1 && v.major === 4 ? randomMac() : zeroMac);
        return { ...kv, devid: i, mac };
      })
    : (was.vifs ?? []).map((/** @type {any} */ x) => ({ ...x }));
  return {
    domid: d.domid,
    name: d.name,
    // parse_config_data generates a uuid unless the text has one.
    uuid: typeof c.uuid === 'string' ? c.uuid : randomUUID(),
    type: d.type,
    memory,
    maxmem: num(c, 'maxmem') ?? (num(c, 'memory') !== undefined ? memory : was.maxmem),
    vcpus,
    maxvcpus: num(c, 'maxvcpus') ?? (num(c, 'vcpus') !== undefined ? vcpus : was.maxvcpus),
    // b_info.sched_params from cpu_weight= and cap= (xl_cmdimpl.c parse_config_data, RELEASE-4.2.0).
    sched: {
      ...(num(c, 'cpu_weight') !== undefined ? { weight: num(c, 'cpu_weight') } : {}),
      ...(num(c, 'cap') !== undefined ? { cap: num(c, 'cap') } : {}),
    },
    vifs,
    disks: d.disks,
    config: c,
  };
}

/** A MAC as printf_info prints it: `%02x` six times, no separators. @param {string} mac */
function bareMac(mac) {
  return mac.toLowerCase().replace(/:/g, '');
}

/**
 * RELEASE-4.1.0 printf_info: the fields the playbooks could look at, in its order and layout
 * (tabs, `%d`). @param {ReturnType<typeof storedView>} s @param {string} uuid the live one
 */
export function sxp41(s, uuid) {
  const hvm = s.type === 'hvm';
  let o = `(domain\n\t(domid ${s.domid})\n\t(domain_create_info)\n\t(hvm ${hvm ? 1 : 0})\n\t(hap 1)\n\t(oos 1)\n\t(ssidref 0)\n`;
  o += `\t(name ${s.name})\n\t(uuid ${uuid})\n\t(cpupool Pool-0)\n\t(xsdata (null))\n\t(platformdata (null))\n`;
  o += `\t(domain_build_info)\n\t(max_vcpus ${s.maxvcpus})\n\t(tsc_mode 0)\n`;
  o += `\t(max_memkb ${s.maxmem * 1024})\n\t(target_memkb ${s.memory * 1024})\n\t(nomigrate 0)\n`;
  o += imageSxp(s, hvm);
  for (const x of s.disks ?? []) {
    o += `\t(device\n\t\t(tap\n\t\t\t(backend_domid 0)\n\t\t\t(domid 0)\n\t\t\t(physpath ${x.target ?? ''})\n\t\t\t(phystype 0)\n`;
    o += `\t\t\t(virtpath ${x.vdev})\n\t\t\t(unpluggable 0)\n\t\t\t(readwrite ${x.access === 'ro' || x.access === 'r' ? 0 : 1})\n\t\t\t(is_cdrom ${x.devtype === 'cdrom' ? 1 : 0})\n\t\t)\n\t)\n`;
  }
  for (const n of s.vifs) {
    o += `\t(device\n\t\t(vif\n\t\t\t(backend_domid 0)\n\t\t\t(domid 0)\n\t\t\t(devid ${n.devid})\n\t\t\t(mtu 1492)\n`;
    o += `\t\t\t(model ${n.model ?? 'rtl8139'})\n\t\t\t(mac ${bareMac(n.mac)})\n\t\t)\n\t)\n`;
  }
  return `${o})\n`;
}

/**
 * printf_info_sexp (xl_sxp.c, RELEASE-4.2.0 … 4.17.0): the same layout, `create_info` and
 * `build_info`, devices with frontend_domid, a NIC's vifname when it has one.
 * @param {{ domid: number, name: string, type: string, maxvcpus: number, maxmem: number, memory: number, disks?: any[], vifs: any[] }} s
 * @param {string} uuid
 */
export function sxpLater(s, uuid) {
  const hvm = s.type === 'hvm';
  let o = `(domain\n\t(domid ${s.domid})\n\t(create_info)\n\t(hvm ${hvm ? 1 : 0})\n\t(hap <default>)\n\t(oos <default>)\n\t(ssidref 0)\n`;
  o += `\t(name ${s.name})\n\t(uuid ${uuid})\n\t(cpupool Pool-0)\n\t(xsdata (null))\n\t(platformdata (null))\n`;
  o += `\t(build_info)\n\t(max_vcpus ${s.maxvcpus})\n\t(tsc_mode default)\n`;
  o += `\t(max_memkb ${s.maxmem * 1024})\n\t(target_memkb ${s.memory * 1024})\n\t(nomigrate <default>)\n`;
  o += imageSxp(s, hvm);
  for (const x of s.disks ?? []) {
    o += `\t(device\n\t\t(tap\n\t\t\t(backend_domid 0)\n\t\t\t(frontend_domid ${s.domid})\n\t\t\t(physpath ${x.target ?? ''})\n\t\t\t(phystype 0)\n`;
    o += `\t\t\t(virtpath ${x.vdev})\n\t\t\t(unpluggable 0)\n\t\t\t(readwrite ${x.access === 'ro' || x.access === 'r' ? 0 : 1})\n\t\t\t(is_cdrom ${x.devtype === 'cdrom' ? 1 : 0})\n\t\t)\n\t)\n`;
  }
  for (const n of s.vifs) {
    o += `\t(device\n\t\t(vif\n${n.vifname ? `\t\t\t(vifname ${n.vifname})\n` : ''}\t\t\t(backend_domid 0)\n\t\t\t(frontend_domid ${s.domid})\n`;
    o += `\t\t\t(devid ${n.devid})\n\t\t\t(mtu 0)\n\t\t\t(model ${n.model ?? '(null)'})\n\t\t\t(mac ${bareMac(n.mac)})\n\t\t)\n\t)\n`;
  }
  return `${o})\n`;
}

/** The `(image` block, with the early close of a PV guest's. @param {any} s @param {boolean} hvm */
function imageSxp(s, hvm) {
  if (hvm) return `\t(image\n\t\t(hvm\n\t\t\t(firmware (null))\n\t\t\t(video_memkb ${videoKb(s)})\n\t\t)\n\t)\n`;
  const k = s.config ?? {};
  return `\t(image\n\t\t(linux 0)\n\t\t\t(kernel ${k.kernel ?? '(null)'})\n\t\t\t(cmdline ${k.extra ?? '(null)'})\n\t\t\t(ramdisk ${k.ramdisk ?? '(null)'})\n\t\t)\n\t)\n`;
}

/**
 * The video memory libxl gives an HVM guest, KiB: videoram= (MiB), else 8 MiB (cirrus, the default
 * card: libxl_create.c libxl__domain_build_info_setdefault, RELEASE-4.17.0; RELEASE-4.1.0
 * libxl_init_build_info video_memkb = 8 * 1024). A PV guest has none.
 * @param {any} d
 */
export function videoKb(d) {
  if (d.type !== 'hvm') return 0;
  const mb = num(d.config, 'videoram');
  return (mb ?? 8) * 1024;
}

/** The rate keys libxl_device_nic has in JSON (parse_vif_rate). @param {string | undefined} rate */
export function rateJson(rate) {
  if (!rate) return {};
  const r = parseVifRate(rate);
  return { rate_bytes_per_interval: r.bytesPerInterval, rate_interval_usecs: r.intervalUsecs };
}
