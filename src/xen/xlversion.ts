/**
 * What xl (and xend) do differently from one Xen release to the next, for the behaviours the
 * playbooks rely on. Each rule names the source it was read from (xen.git, tag RELEASE-x.y.0).
 */

export interface XenVersion {
  major: number;
  minor: number;
}

/** `xl info` / `xm info`: xen_major and xen_minor (xen_version as a fallback). */
export function xenVersionOf(info: Record<string, string | undefined>): XenVersion | undefined {
  const major = Number(info.xen_major);
  const minor = Number(info.xen_minor);
  if (Number.isInteger(major) && Number.isInteger(minor) && info.xen_major !== '' && info.xen_minor !== '')
    return { major, minor };
  const m = /^(\d+)\.(\d+)/.exec(info.xen_version ?? '');
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** a ≥ major.minor */
export function atLeast(v: XenVersion | undefined, major: number, minor: number): boolean {
  if (!v) return false;
  return v.major > major || (v.major === major && v.minor >= minor);
}

export function versionText(v: XenVersion | undefined): string {
  return v ? `${v.major}.${v.minor}` : 'an unknown release';
}

/**
 * `xl network-attach … devid=N`: parse_nic_config() in tools/xl/xl_parse.c matches "devid" from
 * RELEASE-4.9.0; main_networkattach() in tools/libxl/xl_cmdimpl.c (4.1–4.8) has no such key and
 * answers "unrecognized argument `devid=N'".
 */
export function attachTakesDevid(v: XenVersion | undefined): boolean {
  return atLeast(v, 4, 9);
}

/**
 * `xl network-attach … rate=`: RELEASE-4.1.0 main_networkattach() accepts `rate=` and drops it
 * (an empty branch); from RELEASE-4.2.0 it calls parse_vif_rate() and the rate reaches netback.
 */
export function attachAppliesRate(v: XenVersion | undefined): boolean {
  return atLeast(v, 4, 2);
}

/**
 * `rate=` in a vif of the domain's configuration file: RELEASE-4.1.0 to RELEASE-4.1.6.1
 * parse_config_data() (tools/libxl/xl_cmdimpl.c) prints "the rate parameter for vifs is currently
 * not supported" and drops it; from RELEASE-4.2.0 it calls parse_vif_rate(). An unknown release
 * is not assumed to drop it.
 */
export function configAppliesRate(v: XenVersion | undefined): boolean {
  return v === undefined || atLeast(v, 4, 2);
}

/** `xl sched-credit2 -c`: SWITCH_FOREACH_OPT "d:w:c:p:r:s" from RELEASE-4.10.0 (xl_sched.c main_sched_credit2); "d:w:p:r:s" before. */
export function credit2HasCap(v: XenVersion | undefined): boolean {
  return atLeast(v, 4, 10);
}

/**
 * What `xl` keeps when it restarts a domain that rebooted (xl_vmcontrol.c reload_domain_config):
 * a file stored with `xl config-update` first; otherwise, from RELEASE-4.5.0,
 * libxl_retrieve_domain_configuration(), which carries the live memory target and maximum and the
 * devices as attached (a NIC re-attached with a new rate keeps it); from RELEASE-4.8.0 also the
 * vCPUs online (avail_vcpus); from RELEASE-4.9.0 also the scheduler weight and cap
 * (tools/libxl/libxl_domain.c libxl_retrieve_domain_configuration, "Scheduler params":
 * libxl_domain_sched_params_get; commit 3b4adbadb9, first tagged RELEASE-4.9.0; RELEASE-4.8.0's
 * libxl.c has no such block). Before 4.5 xl restarts
 * from the configuration it created the domain with.
 */
export interface RebootKeeps {
  memory: boolean;
  vcpus: boolean;
  sched: boolean;
  nics: boolean;
}

export function xlRebootKeeps(v: XenVersion | undefined): RebootKeeps {
  return {
    memory: atLeast(v, 4, 5),
    nics: atLeast(v, 4, 5),
    vcpus: atLeast(v, 4, 8),
    sched: atLeast(v, 4, 9),
  };
}

/**
 * The Linux netback watches its backend's `rate` key and applies a new value to every queue at
 * once (drivers/net/xen-netback/xenbus.c: xen_register_credit_watch, xen_net_rate_changed; added
 * in 2015 by "xen-netback: making the bandwidth limiter runtime settable"). Kernels from 4.2 have
 * it; older dom0 kernels read `rate` only when the frontend connects.
 */
export function netbackWatchesRate(release: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 4 || (major === 4 && minor >= 2);
}
