// @ts-check
/**
 * A simulator of Xen's `xl` (and of xend's `xm`) for the tests: real commands need a hypervisor.
 *
 * It answers as the release it claims (`xl info` xen_major/xen_minor; 4.17 unless seeded otherwise)
 * wherever xl changed between releases: network-attach keys and devid=, rate= on attach, credit2
 * caps, list -l's scheduler parameters, autoballoon's default, the type of a hot-plugged NIC.
 * It keeps the host in $XR_SIM_DIR/xl.json and prints what xl 4.17 prints: the field layout of
 * `xl info`, the columns of `xl list`, the JSON of `xl list -l`, the tables of sched-credit(2),
 * network-list and block-list, and the error texts of xl and libxl (taken from xl's and libxl's
 * sources: xl_info.c, xl_sched.c, xl_vcpu.c, xl_mem.c, xl_nic.c, xl_block.c, xl_vmcontrol.c,
 * libxl_mem.c, libxl_domain.c). Configuration files are read with the same parser the
 * playbooks use, which the test suite checks against Xen's own libxlutil.
 * Every call is appended to $XR_SIM_DIR/calls.jsonl as {"cmd": "xl", "argv": [...]}.
 *
 * Without xl.json there is no hypervisor: xl says so the way the real binary does.
 * With XR_SIM_ROOT=DIR, the paths a configuration names (disk images) are looked up under DIR,
 * as on a host whose / is DIR (the playbooks' --root).
 *
 * State (xl.json), as written by seedXl(dir, seed):
 *   {
 *     "info": { host, release, version, machine, nr_cpus, ..., virt_caps, total_memory, free_memory,
 *               xen_major, xen_minor, xen_extra, xen_caps, xen_scheduler, ... },   // `xl info` fields
 *     "autoballoon": null,        // true/false: forced; null: xl reads /etc/xen/xl.conf and Xen's
 *                                 // command line as its release does (Sim.autoballoon)
 *     "xend": false,              // xm only: xend is running
 *     "bridges": null,            // dom0's bridges (["xenbr0"]); null: any valid interface name
 *     "cpupools": null,           // [{ "name": "Pool-0", "sched": "credit2", "cpus": 2 }, ...]; null:
 *                                 // Pool-0 with every CPU under info.xen_scheduler
 *     "nextDomid": 1,
 *     "domains": [ {
 *        "domid": 0, "name": "Domain-0", "uuid": "...", "type": "pv" | "hvm",
 *        "memory": 2048, "maxmem": 2048,         // MiB: current target and static maximum
 *        "vcpus": 4, "maxvcpus": 4,              // online now, and the boot maximum
 *        "state": "r-----", "cpu_time": 12.3,    // xl list columns
 *        "weight": 256, "cap": 0,                // scheduler parameters (credit / credit2)
 *        "pool": "Pool-0",                       // its cpupool (default: the first one)
 *        "pvDrivers": true,                      // PV drivers: graceful shutdown, ballooning
 *        "frontends": true,                      // the guest's netfront/blkfront connected (xenbus
 *                                                // state 4); default: a PV guest, or an HVM guest
 *                                                // with pvDrivers. `xl create` starts with false.
 *        "vifs": [ { "devid": 0, "mac": "00:16:3e:..", "bridge": "xenbr0", "model": "e1000",
 *                    "rate": "10Mb/s@50ms", "script": "vif-bridge" } ],
 *        "disks": [ { "vdev": "hda", "target": "/srv/x.img", "format": "raw", "access": "rw",
 *                     "devtype": "cdrom", "backend": "phy" } ],   // backend: libxl's choice
 *                                                // (diskBackend; seeded: as for an existing target)
 *        "config": { ... }                       // the config file's keys, as created
 *     } ]
 *   }
 */
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { XlConfig, XlConfigError, parseDiskSpec, parseVifRate, parseMemSize } from 'xen-runbooks/xen/xlcfg';
import { storedView, sxp41, sxpLater, videoKb } from './xl-list-long.mjs';

/* ------------------------------------------------------------------ state and seeding */

export const DEFAULT_INFO = {
  host: 'xenhost',
  release: '6.1.0-18-amd64',
  version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
  machine: 'x86_64',
  nr_cpus: 4,
  max_cpu_id: 3,
  nr_nodes: 1,
  cores_per_socket: 4,
  threads_per_core: 1,
  cpu_mhz: '3392.294',
  hw_caps: 'bfebfbff:77faf3ff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100',
  virt_caps: 'pv hvm hvm_directio pv_directio hap shadow',
  total_memory: 16279,
  free_memory: 13987,
  sharing_freed_memory: 0,
  sharing_used_memory: 0,
  outstanding_claims: 0,
  free_cpus: 0,
  xen_major: 4,
  xen_minor: 17,
  xen_extra: '.7',
  xen_caps: 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
  xen_scheduler: 'credit2',
  xen_pagesize: 4096,
  platform_params: 'virt_start=0xffff800000000000',
  xen_changeset: '',
  xen_commandline: 'placeholder dom0_mem=2048M,max:2048M',
  cc_compiler: 'x86_64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0',
  cc_compile_by: 'pkg-xen-devel',
  cc_compile_domain: 'lists.alioth.debian.org',
  cc_compile_date: 'Mon Jan 15 12:00:00 UTC 2024',
  build_id: '4c0d7e3f2b1a9d8c7e6f5a4b3c2d1e0f9a8b7c6d',
  xend_config_format: 4,
};

const INFO_ORDER = [
  'host',
  'release',
  'version',
  'machine',
  'nr_cpus',
  'max_cpu_id',
  'nr_nodes',
  'cores_per_socket',
  'threads_per_core',
  'cpu_mhz',
  'hw_caps',
  'virt_caps',
  'total_memory',
  'free_memory',
  'sharing_freed_memory',
  'sharing_used_memory',
  'outstanding_claims',
  'free_cpus',
  'xen_major',
  'xen_minor',
  'xen_extra',
  'xen_version',
  'xen_caps',
  'xen_scheduler',
  'xen_pagesize',
  'platform_params',
  'xen_changeset',
  'xen_commandline',
  'cc_compiler',
  'cc_compile_by',
  'cc_compile_domain',
  'cc_compile_date',
  'build_id',
  'xend_config_format',
];

/** @param {number} domid @param {number} devid */
function macFor(domid, devid) {
  const r = randomBytes(3);
  r[0] = (r[0] ?? 0) & 0x7f;
  void domid;
  void devid;
  return `00:16:3e:${[...r].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * @param {any} d a domain as given to seedXl
 * @param {number} domid
 */
function normalizeDomain(d, domid) {
  const memory = d.memory ?? 1024;
  const vcpus = d.vcpus ?? 1;
  const dom = {
    domid: d.domid ?? domid,
    name: d.name,
    uuid: d.uuid ?? (domid === 0 ? '00000000-0000-0000-0000-000000000000' : randomUUID()),
    type: d.type ?? (domid === 0 ? 'pv' : 'hvm'),
    memory,
    maxmem: d.maxmem ?? memory,
    vcpus,
    maxvcpus: d.maxvcpus ?? vcpus,
    state: d.state ?? (domid === 0 ? 'r-----' : '-b----'),
    cpu_time: d.cpu_time ?? 0,
    weight: d.weight ?? 256,
    cap: d.cap ?? 0,
    ...(d.pool ? { pool: d.pool } : {}),
    pvDrivers: d.pvDrivers ?? domid === 0,
    ...(d.guestOnlinesVcpus ? { guestOnlinesVcpus: true } : {}),
    // A seeded guest is one already running on the host: a PV kernel connects its frontends as it
    // boots, an HVM guest only once it has PV drivers.
    frontends: d.frontends ?? ((d.type ?? (domid === 0 ? 'pv' : 'hvm')) !== 'hvm' || (d.pvDrivers ?? domid === 0)),
    vifs: (d.vifs ?? []).map((/** @type {any} */ v, /** @type {number} */ i) => ({
      devid: v.devid ?? i,
      mac: v.mac ?? macFor(domid, i),
      bridge: v.bridge ?? 'xenbr0',
      ...Object.fromEntries(Object.entries(v).filter(([k]) => !['devid', 'mac', 'bridge'].includes(k))),
    })),
    disks: (d.disks ?? []).map((/** @type {any} */ x) => ({ format: 'raw', access: 'rw', ...x })),
    config: d.config ?? {},
  };
  // What xl stored when it created the domain (the text `xl list -l` parses up to 4.4): a seeded
  // domain was created with the values it is seeded with.
  /** @type {any} */ (dom).created = d.created ?? {
    memory: dom.memory,
    maxmem: dom.maxmem,
    vcpus: dom.vcpus,
    maxvcpus: dom.maxvcpus,
    vifs: dom.vifs.map((v) => ({ ...v })),
  };
  return dom;
}

/**
 * Write a host for the simulator. `info` overrides fields of `xl info`; `domains` are added
 * after Domain-0 (which is created unless given) with domids 1, 2, ... unless they carry one.
 * @param {string} dir
 * @param {{ info?: Record<string, unknown>, domains?: any[], autoballoon?: boolean | null, xend?: boolean, dom0?: any }} [seed]
 */
export function seedXl(dir, seed = {}) {
  const info = { ...DEFAULT_INFO, ...(seed.info ?? {}) };
  if (seed.info && 'nr_cpus' in seed.info && !('max_cpu_id' in seed.info)) info.max_cpu_id = Number(info.nr_cpus) - 1;
  const dom0 = normalizeDomain({ name: 'Domain-0', memory: 2048, vcpus: info.nr_cpus, ...(seed.dom0 ?? {}) }, 0);
  const domains = [dom0];
  let next = 1;
  for (const d of seed.domains ?? []) {
    const dom = normalizeDomain(d, d.domid ?? next);
    next = Math.max(next, dom.domid) + 1;
    domains.push(dom);
  }
  const state = {
    info,
    autoballoon: seed.autoballoon ?? null,
    xend: seed.xend ?? false,
    bridges: seed.bridges ?? null,
    cpupools: seed.cpupools ?? null,
    nextDomid: next,
    domains,
  };
  mkdirSync(dir, { recursive: true });
  saveState(dir, state);
  return state;
}

/**
 * The host's state, replaced whole: written beside it and renamed over it. Commands run at once
 * (two Ansible forks on one host) each read a whole state, as xl reads a consistent xenstore;
 * written in place, a reader could find the file empty between the truncation and the write.
 * @param {string} dir @param {unknown} state
 */
function saveState(dir, state) {
  const file = path.join(dir, 'xl.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** The simulator's state, for assertions (undefined: no hypervisor). @param {string} dir */
export function readXl(dir) {
  const f = path.join(dir, 'xl.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined;
}

/* ------------------------------------------------------------------ running */

class Exit extends Error {
  /** @param {number} code */
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/**
 * Run one xl (or xm) command line against the state in `dir`.
 * @param {'xl' | 'xm'} tool
 * @param {string[]} argv
 * @param {string} dir
 * @param {{ root?: string }} [opts] root: where the host's / is (disk paths are looked up under it)
 * @returns {{ code: number, stdout: string, stderr: string }}
 */
export function runXl(tool, argv, dir, opts = {}) {
  let stdout = '';
  let stderr = '';
  const out = (/** @type {string} */ s) => (stdout += s);
  const err = (/** @type {string} */ s) => (stderr += s);
  const file = path.join(dir, 'xl.json');
  try {
    appendFileSync(path.join(dir, 'calls.jsonl'), `${JSON.stringify({ cmd: tool, argv })}\n`);
  } catch {
    /* a missing directory is reported below */
  }
  const state = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const save = () => saveState(dir, state);
  const die = (/** @type {number} */ code = 1) => {
    throw new Exit(code);
  };
  try {
    // No hypervisor: xl.c main() "cannot init xl context" after libxl_ctx_alloc fails (xl.c,
    // RELEASE-4.17.0); xm: xm/main.py _run_cmd "Unable to connect to xend: … Is xend running?" (RELEASE-4.1.0).
    if (!state) {
      if (tool === 'xm') {
        err('Error: Unable to connect to xend: No such file or directory. Is xend running?\n');
        die(1);
      }
      err('xencall: error: Could not obtain handle on privileged command interface: No such file or directory\n');
      err('libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle: No such file or directory\n');
      err('cannot init xl context\n');
      die(1);
    }
    if (tool === 'xm' && !state.xend) {
      err('Error: Unable to connect to xend: No such file or directory. Is xend running?\n');
      die(1);
    }
    const sim = new Sim(tool, state, out, err, die, opts.root);
    const code = sim.dispatch(argv);
    save();
    return { code, stdout, stderr };
  } catch (e) {
    if (e instanceof Exit) {
      if (state && e.code === 0) save();
      return { code: e.code, stdout, stderr };
    }
    throw e;
  }
}

const LIBXL_HVM_EXTRA_MEMORY = 2048; // KiB

class Sim {
  /**
   * @param {'xl'|'xm'} tool
   * @param {any} state
   * @param {(s: string) => void} out
   * @param {(s: string) => void} err
   * @param {(code?: number) => never} die
   * @param {string} [root]
   */
  constructor(tool, state, out, err, die, root) {
    this.root = root;
    this.tool = tool;
    this.state = state;
    this.out = out;
    this.err = err;
    this.die = die;
  }

  /** @param {string[]} argv */
  dispatch(argv) {
    // Global options of xl: -v (verbose), -N (dry run), -f, -t, -T (xl.c main, RELEASE-4.17.0); an
    // unknown subcommand: xl.c "command not implemented", xm/main.py "Subcommand %s not found!".
    let i = 0;
    let dryrun = false;
    while (argv[i]?.startsWith('-')) {
      if (argv[i] === '-N') dryrun = true;
      i++;
    }
    const cmd = argv[i];
    const args = argv.slice(i + 1);
    switch (cmd) {
      case 'info':
        return this.info(args);
      case 'list':
        return this.list(args);
      case 'create':
        return this.create(args, dryrun);
      case 'destroy':
        return this.destroy(args);
      case 'shutdown':
        return this.shutdown(args);
      case 'reboot':
        return this.tool === 'xl' ? this.reboot(args) : this.dispatchUnknown(cmd);
      case 'config-update':
        return this.tool === 'xl' ? this.configUpdate(args) : this.dispatchUnknown(cmd);
      case 'sched-credit':
        return this.schedCredit('credit', args);
      case 'sched-credit2':
        return this.schedCredit('credit2', args);
      case 'vcpu-set':
        return this.vcpuSet(args);
      case 'mem-set':
        return this.memSet(args);
      case 'mem-max':
        return this.memMax(args);
      case 'network-list':
        return this.networkList(args);
      case 'cpupool-list':
        return this.tool === 'xl' ? this.cpupoolList(args) : this.dispatchUnknown(cmd);
      case 'network-attach':
        return this.networkAttach(args, dryrun);
      case 'network-detach':
        return this.networkDetach(args);
      case 'block-list':
        return this.blockList(args);
      case undefined:
        this.err(`Usage ${this.tool} [-vfNtT] <subcommand> [args]\n`);
        return 1;
      default:
        return this.dispatchUnknown(cmd);
    }
  }

  /** @param {string} cmd */
  dispatchUnknown(cmd) {
    if (this.tool === 'xm') this.err(`Error: Subcommand ${cmd} not found!\n`);
    else this.err(`command not implemented\n`);
    return 1;
  }

  /* ---------------------------------------------------------------- helpers */

  /** The release this host claims (`xl info` xen_major, xen_minor). */
  get version() {
    return { major: Number(this.state.info.xen_major), minor: Number(this.state.info.xen_minor) };
  }

  /**
   * The cpupools: the seeded `cpupools` ([{ name, sched, cpus }]), else Pool-0 holding every CPU
   * under Xen's boot scheduler (xen/common/sched/cpupool.c cpupool_init creates pool 0 with the
   * default scheduler, `sched=` on Xen's command line; RELEASE-4.17.0).
   * @returns {{ name: string, sched: string, cpus: number }[]}
   */
  get pools() {
    const seeded = this.state.cpupools;
    if (Array.isArray(seeded) && seeded.length) return seeded;
    return [{ name: 'Pool-0', sched: String(this.state.info.xen_scheduler), cpus: Number(this.state.info.nr_cpus) }];
  }

  /** A domain's cpupool: the config's `pool=` (c_info.pool_name), else pool 0. @param {any} d */
  poolOf(d) {
    const pools = this.pools;
    return pools.find((p) => p.name === (d.pool ?? pools[0]?.name)) ?? /** @type {any} */ (pools[0]);
  }

  /**
   * `xl cpupool-list [POOL]`: main_cpupoollist (xl_cpupool.c, RELEASE-4.17.0): "%-19s" Name, then
   * "CPUs   Sched     Active   Domain count"; a row "%3d %9s       y       %4d"; an unknown pool:
   * "Pool '%s' does not exist", exit 1.
   * @param {string[]} args
   */
  cpupoolList(args) {
    const wanted = args.find((a) => !a.startsWith('-'));
    const pools = this.pools;
    if (wanted !== undefined && !pools.some((p) => p.name === wanted)) {
      this.err(`Pool '${wanted}' does not exist\n`);
      return 1;
    }
    this.out(`${'Name'.padEnd(19)}CPUs   Sched     Active   Domain count\n`);
    for (const p of pools) {
      if (wanted !== undefined && p.name !== wanted) continue;
      const n = this.domains.filter((d) => this.poolOf(d).name === p.name).length;
      this.out(
        `${p.name.padEnd(19)}${String(p.cpus).padStart(3)} ${p.sched.padStart(9)}       y       ${String(n).padStart(4)}\n`,
      );
    }
    return 0;
  }

  /** This host's Xen is at least major.minor. @param {number} major @param {number} minor */
  atLeast(major, minor) {
    const v = this.version;
    return v.major > major || (v.major === major && v.minor >= minor);
  }

  /**
   * Is autoballoon on? The seed may force it (true/false); otherwise xl reads /etc/xen/xl.conf
   * (under XR_SIM_ROOT) as parse_global_config does:
   * - RELEASE-4.1.0/4.2.0 tools/libxl/xl.c: `int autoballoon = 1`, xl.conf read with
   *   xlu_cfg_get_long (a number; anything else keeps 1);
   * - RELEASE-4.3.0 onwards (xl.c parse_global_config): a string "on"/"1", "off"/"0", "auto"
   *   (the default); "auto" is auto_autoballoon(): on unless xen_commandline matches
   *   `(^| )dom0_mem=((|min:|max:)[0-9]+[bBkKmMgG]?,?)+($| )` — RELEASE-4.16.0 adds negative sizes,
   *   T and percentages (commit 2faeb4213d "tools/xl: fix autoballoon regex").
   */
  autoballoon() {
    const forced = this.state.autoballoon;
    if (forced === true || forced === false) return forced;
    const file = this.root ? path.join(this.root, 'etc/xen/xl.conf') : '/etc/xen/xl.conf';
    let cfg;
    try {
      cfg = existsSync(file) ? XlConfig.parse(readFileSync(file, 'utf8'), { lenient: true, source: file }) : undefined;
    } catch {
      cfg = undefined;
    }
    const raw = cfg?.get('autoballoon');
    if (!this.atLeast(4, 3)) {
      const n = cfg?.getNumber('autoballoon');
      return n === undefined ? true : n !== 0;
    }
    const s = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : 'auto';
    if (s === 'on' || s === '1') return true;
    if (s === 'off' || s === '0') return false;
    if (s !== 'auto') this.err('invalid autoballoon option');
    const size = '-?[0-9]+[bBkKmMgGtT]?';
    const re = this.atLeast(4, 16)
      ? new RegExp(`(^| )dom0_mem=((|min:|max:)(${size}|(${size}\\+)?[0-9]{1,2}%),?)+($| )`)
      : /(^| )dom0_mem=((|min:|max:)[0-9]+[bBkKmMgG]?,?)+($| )/;
    return !re.test(String(this.state.info.xen_commandline ?? ''));
  }

  /**
   * xend's dom0 ballooning: XendOptions.get_enable_dom0_ballooning / get_dom0_min_mem (RELEASE-4.1.0)
   * from /etc/xen/xend-config.sxp (under XR_SIM_ROOT): enable-dom0-ballooning defaults to yes when
   * dom0-min-mem is not 0; no file: dom0-min-mem 0, no ballooning. The seed's autoballoon forces it.
   */
  xendBallooning() {
    const file = this.root ? path.join(this.root, 'etc/xen/xend-config.sxp') : '/etc/xen/xend-config.sxp';
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
    const get = (/** @type {string} */ key) =>
      lines.map((l) => new RegExp(`^\\s*\\(${key}\\s+([^)\\s]+)`).exec(l)?.[1]).find((v) => v !== undefined);
    const min = Number(get('dom0-min-mem') ?? 0) || 0;
    const raw = get('enable-dom0-ballooning');
    const forced = this.state.autoballoon;
    const on =
      forced === true || forced === false ? forced : raw === undefined ? min !== 0 : /^(yes|y|true|1|on)$/i.test(raw);
    return { on, min };
  }

  get domains() {
    return /** @type {any[]} */ (this.state.domains);
  }

  /**
   * find_domain() (xl_utils.c, RELEASE-4.17.0): a domid or a name; "%s is an invalid domain
   * identifier (rc=%d)" for a name; a number is taken as is and the command then reports it
   * missing. xm: xm/main.py "Domain '%s' does not exist." (RELEASE-4.1.0).
   * @param {string | undefined} q
   * @returns {any}
   */
  find(q) {
    if (q === undefined) return this.die(1);
    const s = q;
    const dom = /^\d+$/.test(s)
      ? this.domains.find((d) => d.domid === Number(s))
      : this.domains.find((d) => d.name === s);
    if (dom) return dom;
    if (this.tool === 'xm') {
      this.err(`Error: Domain '${s}' does not exist.\n`);
      this.die(1);
    }
    if (/^\d+$/.test(s)) {
      this.err(`Domain ${s} does not exist.\n`);
      this.die(1);
    }
    this.err(`${s} is an invalid domain identifier (rc=-6)\n`);
    return this.die(1);
  }

  /**
   * libxl's log line. "Domain N:" only for a guest's domid: libxl__logv (libxl_internal.c,
   * RELEASE-4.17.0) adds it when libxl_domid_valid_guest(domid), which is false for Domain-0.
   * @param {string} where @param {string} msg @param {number} [domid]
   */
  libxlError(where, msg, domid) {
    this.err(`libxl: error: ${where}: ${domid === undefined || domid === 0 ? '' : `Domain ${domid}:`}${msg}\n`);
  }

  /** The requirements of `xl <cmd> A B`: exactly `n` positional arguments. @param {string[]} args @param {number} n @param {string} cmd */
  need(args, n, cmd) {
    const pos = args.filter((a) => !a.startsWith('-') || /^-\d/.test(a));
    if (pos.length < n) {
      this.err(`'${this.tool} ${cmd}' requires at least ${n === 1 ? 'one argument' : `${n} arguments`}.\n\n`);
      this.die(1);
    }
    return pos;
  }

  /* ---------------------------------------------------------------- info, list */

  /** `xl info`: output_physinfo, output_xeninfo (xl_info.c, RELEASE-4.17.0), `%-23s: %s` lines. @param {string[]} args */
  info(args) {
    const info = {
      ...this.state.info,
      xen_version: `${this.state.info.xen_major}.${this.state.info.xen_minor}${this.state.info.xen_extra}`,
    };
    const name = args.find((a) => !a.startsWith('-'));
    for (const key of INFO_ORDER) {
      const v = info[key];
      if (v === undefined) continue;
      const line = `${key.padEnd(23)}: ${v}\n`;
      if (name) {
        if (key.startsWith(name)) this.out(`${v}\n`);
      } else this.out(line);
    }
    return 0;
  }

  /**
   * `xl list`: list_domains (xl_info.c, RELEASE-4.17.0), the columns Name ID Mem VCPUs State
   * Time(s); `-l`: list_domains_details, libxl_domain_config as JSON. xm: xm/main.py xm_list
   * (RELEASE-4.1.0), `--long` an S-expression ({@link xmSxp}).
   * @param {string[]} args
   */
  list(args) {
    const long = args.includes('-l') || args.includes('--long');
    const names = args.filter((a) => !a.startsWith('-'));
    const doms = names.length ? names.map((n) => this.find(n)) : [...this.domains].sort((a, b) => a.domid - b.domid);
    if (long) {
      if (this.tool === 'xm') {
        for (const d of doms) this.out(xmSxp(d));
        return 0;
      }
      return this.listLong(doms);
    }
    if (this.tool === 'xm') {
      this.out(
        `${'Name'.padEnd(40)} ${'ID'.padStart(5)} ${'Mem'.padStart(5)} ${'VCPUs'.padStart(5)} ${'State'.padStart(10)} ${'Time(s)'.padStart(9)}\n`,
      );
      for (const d of doms) {
        this.out(
          `${d.name.padEnd(40)} ${String(d.domid).padStart(5)} ${String(d.memory).padStart(5)} ${String(d.vcpus).padStart(5)} ${d.state.padStart(10)} ${d.cpu_time.toFixed(1).padStart(9)}\n`,
        );
      }
      return 0;
    }
    // -c / --cpupool: "         Cpupool" in the header, "%16s" the pool's name on each row.
    const pool = args.includes('-c') || args.includes('--cpupool');
    this.out(
      `Name                                        ID   Mem VCPUs\tState\tTime(s)${pool ? '         Cpupool' : ''}\n`,
    );
    for (const d of doms) {
      this.out(
        `${d.name.padEnd(40)} ${String(d.domid).padStart(5)} ${String(d.memory).padStart(5)} ${String(d.vcpus).padStart(5)}     ${d.state}  ${d.cpu_time.toFixed(1).padStart(8)}${pool ? this.poolOf(d).name.padStart(16) : ''}\n`,
      );
    }
    return 0;
  }

  /**
   * `xl list -l` as this release prints it ({@link storedView}, {@link sxp41}, {@link sxpLater}
   * in xl-list-long.mjs): up to 4.4 the text stored at create, without Domain-0; 4.1 as an
   * S-expression, 4.2 on as JSON unless xl.conf says output_format="sxp"; from 4.5 the live record.
   * @param {any[]} doms
   */
  listLong(doms) {
    const v = this.version;
    const live = this.atLeast(4, 5);
    const shown = live ? doms : doms.filter((d) => d.domid !== 0);
    if (!this.atLeast(4, 2)) {
      for (const d of shown) this.out(sxp41(storedView(d, v), d.uuid));
      return 0;
    }
    if (this.outputFormat() === 'sxp') {
      for (const d of shown) this.out(sxpLater(live ? d : storedView(d, v), d.uuid));
      return 0;
    }
    const list = shown.map((d) => (live ? this.domainJson(d) : this.domainJson(storedView(d, v), { stored: true })));
    this.out(`${JSON.stringify(list, null, 4)}\n`);
    return 0;
  }

  /**
   * xl.conf's output_format (xl.c parse_global_config, RELEASE-4.2.0 … 4.17.0): "json" (the
   * default) or "sxp"; anything else is reported and JSON stays.
   */
  outputFormat() {
    const file = this.root ? path.join(this.root, 'etc/xen/xl.conf') : '/etc/xen/xl.conf';
    let value;
    try {
      value = existsSync(file)
        ? XlConfig.parse(readFileSync(file, 'utf8'), { lenient: true, source: file }).get('output_format')
        : undefined;
    } catch {
      value = undefined;
    }
    if (value === undefined || value === 'json') return 'json';
    if (value === 'sxp') return 'sxp';
    this.err(`invalid default output format "${String(value)}"\n`);
    return 'json';
  }

  /**
   * libxl_domain_config as `xl list -l` prints it: the stored config merged with the live state
   * by libxl_retrieve_domain_configuration (libxl_domain.c, RELEASE-4.17.0): target and max memory,
   * avail_vcpus, the NICs as attached (libxl_nic.c libxl__update_config_nic keeps devid, nictype
   * and mac of the live device; the rate is the stored one).
   * With `stored`, `d` is {@link storedView}'s: the configuration as parsed, nothing live (4.2–4.4).
   * @param {any} d @param {{ stored?: boolean }} [opts]
   */
  domainJson(d, opts = {}) {
    const hvm = d.type === 'hvm';
    const c = d.config ?? {};
    const bool = (/** @type {unknown} */ v) => (v === undefined ? undefined : String(v) !== '0' ? 'True' : 'False');
    /** @type {Record<string, unknown>} */
    const typeHvm = {};
    if (hvm) {
      if (c.vga) typeHvm.vga = { kind: c.vga === 'stdvga' ? 'std' : c.vga };
      if (c.vnc !== undefined)
        typeHvm.vnc = {
          enable: bool(c.vnc),
          ...(c.vnclisten ? { listen: c.vnclisten } : {}),
          ...(c.vncpasswd !== undefined ? { passwd: c.vncpasswd } : {}),
          ...(c.vncdisplay !== undefined ? { display: Number(c.vncdisplay) } : {}),
          ...(c.vncunused !== undefined ? { findunused: bool(c.vncunused) } : {}),
        };
      if (c.boot) typeHvm.boot = c.boot;
      if (c.usb !== undefined) typeHvm.usb = bool(c.usb);
      if (Array.isArray(c.usbdevice)) typeHvm.usbdevice_list = c.usbdevice;
      if (c.viridian !== undefined) typeHvm.viridian = bool(Array.isArray(c.viridian) ? 1 : c.viridian);
    }
    return {
      domid: d.domid,
      config: {
        c_info: { type: d.type, name: d.name, uuid: d.uuid, run_hotplug_scripts: 'True' },
        b_info: {
          max_vcpus: d.maxvcpus,
          // The vCPUs online: libxl_retrieve_domain_configuration reads them from RELEASE-4.8.0
          // (libxl.c libxl__update_avail_vcpus_*); before, the stored configuration's.
          avail_vcpus: Array.from(
            { length: opts.stored || this.atLeast(4, 8) ? d.vcpus : storedView(d, this.version).vcpus },
            (_, i) => i,
          ),
          max_memkb: d.maxmem * 1024,
          // libxl reads the target back from xenstore: it moves even when no balloon driver follows.
          target_memkb: (d.target ?? d.memory) * 1024,
          ...(hvm && c.videoram !== undefined ? { video_memkb: Number(c.videoram) * 1024 } : {}),
          // libxl_retrieve_domain_configuration reads the scheduler from RELEASE-4.9.0 (libxl_domain.c,
          // commit 3b4adbadb9); before, sched_params are what the configuration gave (cpu_weight=, cap=).
          ...(opts.stored || !this.atLeast(4, 9)
            ? Object.keys(schedOf(d, this.version)).length
              ? { sched_params: schedOf(d, this.version) }
              : {}
            : { sched_params: { sched: this.poolOf(d).sched, weight: d.weight, cap: d.cap } }),
          ...(hvm ? { 'type.hvm': typeHvm } : {}),
          ...(d.type === 'pv' ? { 'type.pv': {} } : {}),
        },
        disks: d.disks.map((/** @type {any} */ x) => ({
          pdev_path: x.target ?? '',
          vdev: x.vdev,
          // libxl's choice (diskBackend). `xl create -n` prints the configuration before libxl
          // sets it: an unknown backend (0) is left out of the JSON (gentypes.py get_default_expr,
          // RELEASE-4.17.0: an enum without init_val is written when non-zero).
          ...(d.domid >= 0 ? { backend: diskBackendOf(d, x) } : {}),
          format: x.format ?? 'raw',
          ...(x.devtype === 'cdrom'
            ? { removable: 1, is_cdrom: 1 }
            : x.access === 'ro' || x.access === 'r'
              ? {}
              : { readwrite: 1 }),
        })),
        nics: d.vifs.map((/** @type {any} */ v) => {
          const rate = v.rate ? parseVifRate(v.rate) : undefined;
          return {
            devid: v.devid,
            mac: v.mac,
            bridge: v.bridge,
            ...(v.model ? { model: v.model } : {}),
            ...(v.script ? { script: v.script } : {}),
            ...(v.ip ? { ip: v.ip } : {}),
            nictype: hvm && v.type !== 'vif' ? 'vif_ioemu' : 'vif',
            ...(rate
              ? { rate_bytes_per_interval: rate.bytesPerInterval, rate_interval_usecs: rate.intervalUsecs }
              : {}),
          };
        }),
        on_poweroff: 'destroy',
        on_reboot: 'restart',
        on_watchdog: 'destroy',
        on_crash: 'destroy',
        on_soft_reset: 'soft_reset',
      },
    };
  }

  /* ---------------------------------------------------------------- create */

  /**
   * `xl create`: main_create and create_domain (xl_vmcontrol.c, RELEASE-4.17.0), the config read
   * by parse_config_data (xl_parse.c: "Domain name must be specified.", "xl: maxvcpus < vcpus",
   * "Contradicting \"builder\" and \"type\" options specified."), syntax errors from
   * libxlu_cfg.c (the Python warning), then libxl_create.c; memory as libxl_domain_need_memory
   * (libxl_mem.c) counts it and freemem (xl_vmcontrol.c) finds it. xm: xm/create.py (RELEASE-4.1.0).
   * @param {string[]} args @param {boolean} dryrunGlobal
   */
  create(args, dryrunGlobal) {
    let dryrun = dryrunGlobal;
    let quiet = false;
    let paused = false;
    const rest = [];
    for (const a of args) {
      if (a === '-n' || a === '--dryrun') dryrun = true;
      else if (a === '-q' || a === '--quiet') quiet = true;
      else if (a === '-p') paused = true;
      else if (a === '-c' || a === '-V' || a === '-e' || a === '-F' || a === '-d') continue;
      else if (a.startsWith('-f')) rest.push(a.slice(2) || undefined);
      else rest.push(a);
    }
    const positional = rest.filter((x) => x !== undefined);
    let file = positional.find((a) => !a.includes('='));
    const extra = positional.filter((a) => a.includes('='));
    if (!file) {
      this.err(
        this.tool === 'xm'
          ? 'Error: Configuration file not specified\n'
          : 'Config file not specified and none in save file\n',
      );
      return 1;
    }
    if (this.tool === 'xm' && !existsSync(file) && existsSync(path.join('/etc/xen', file)))
      file = path.join('/etc/xen', file);
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (this.tool === 'xm') {
        this.err(`Error: CONFIG_FILE: ${file} does not exist\n`);
        return 1;
      }
      this.err(
        `Failed to read config file: ${file}: ${/** @type {any} */ (e).code === 'EISDIR' ? 'Is a directory' : 'No such file or directory'}\n`,
      );
      return 1;
    }
    if (extra.length) text += `\n${extra.join('\n')}\n`;
    if (this.tool === 'xm') this.out(`Using config file "${file}".\n`);
    else if (!quiet) this.err(`Parsing config from ${file}\n`);

    /** @type {XlConfig} */
    let cfg;
    try {
      // xl reads the file as the release it claims (src/xen/xlcfg.ts, checked against libxlutil).
      const xen = this.tool === 'xl' ? { xen: this.version } : {};
      cfg = XlConfig.parse(text, { lenient: this.tool === 'xm', source: file, ...xen });
    } catch (e) {
      if (!(e instanceof XlConfigError)) throw e;
      const lines = text.split('\n');
      const near = (lines[e.line - 1] ?? '').slice(e.column - 1).split(/\s/)[0] ?? '';
      this.err(`${file}:${e.line}: config parsing error near \`${near}': ${e.message.replace(/^.*?:\d+:\d+: /, '')}\n`);
      // libxlu_cfg_l.l sets likely_python on any of `+-.():` where a token starts (parse(), libxlu_cfg.c).
      if (e.likelyPython) {
        this.err('warning: Config file looks like it contains Python code.\n');
        this.err('warning:  Arbitrary Python is no longer supported.\n');
        this.err('warning:  See https://wiki.xen.org/wiki/PythonInXlConfig\n');
      }
      this.err('Failed to parse config: Invalid argument\n');
      return 1;
    }
    /** @type {Record<string, any>} */
    const c = Object.fromEntries(cfg.keys().map((k) => [k, cfg.get(k)]));

    // Domain type: xl reads type=; builder= is xend's and still honoured.
    let type = typeof c.type === 'string' ? c.type : undefined;
    if (c.builder !== undefined) {
      const fromBuilder = c.builder === 'hvm' ? 'hvm' : 'pv';
      if (type !== undefined && type !== fromBuilder && this.tool === 'xl') {
        this.err('Contradicting "builder" and "type" options specified.\n');
        return 1;
      }
      type ??= fromBuilder;
    }
    if (this.tool === 'xm' && c.builder === undefined) type = 'pv';
    type ??= 'pv';
    if (!['hvm', 'pv', 'pvh'].includes(type)) {
      this.err(`Invalid domain type ${type}.\n`);
      return 1;
    }
    if (this.tool === 'xl') {
      if (type === 'hvm' && typeof c.kernel === 'string') {
        this.err(
          'WARNING: you seem to be using "kernel" directive to override HVM guest firmware. Ignore that. Use "firmware_override" instead if you really want a non-default firmware\n',
        );
      }
      if (c.device_model !== undefined) {
        this.err('WARNING: ignoring device_model directive.\n');
        this.err('WARNING: Use "device_model_override" instead if you really want a non-default device_model\n');
        this.err('WARNING: Or use "device_model_stubdomain_override" if you  want to enable stubdomains\n');
      }
      if (c.vncviewer !== undefined) {
        this.err(
          'WARNING: ignoring "vncviewer" option. Use "-V" option of "xl create" to automatically spawn vncviewer.\n',
        );
      }
    }
    const num = (/** @type {string} */ k, /** @type {number} */ def) => {
      const n = cfg.getNumber(k);
      if (c[k] !== undefined && n === undefined) {
        this.err(
          `${file}:${cfg.line(k)}: warning: parameter \`${k}' could not be parsed as a number: ${String(c[k])}\n`,
        );
        this.die(1);
      }
      return n ?? def;
    };
    const memory = num('memory', 128);
    const maxmem = num('maxmem', memory);
    const vcpus = num('vcpus', 1);
    const maxvcpus = num('maxvcpus', vcpus);
    if (maxvcpus < vcpus) {
      this.err('xl: maxvcpus < vcpus\n');
      return 1;
    }
    const name = typeof c.name === 'string' ? c.name : undefined;
    if (!name) {
      this.err(
        this.tool === 'xm'
          ? 'Error: Missing required configuration option: name\n'
          : 'Domain name must be specified.\n',
      );
      return 1;
    }
    if (type === 'hvm' && !/\bhvm\b/.test(this.state.info.virt_caps)) {
      // RELEASE-4.17.7: physinfo still has shadow paging, so libxl__domain_create_info_setdefault
      // passes; Xen refuses the domain (xen/arch/x86/domain.c arch_sanitise_domain_config: "HVM
      // support not available", -EINVAL) and libxl__domain_make logs it (libxl_create.c:709, LOGED,
      // no valid domid yet), then initiate_domain_create "cannot make domain: %d" (line 1294).
      this.libxlError('libxl_create.c:709:libxl__domain_make', 'domain creation fail: Invalid argument');
      this.libxlError('libxl_create.c:1294:initiate_domain_create', 'cannot make domain: -3');
      return 1;
    }

    // pool= (xl_parse.c parse_config_data → c_info.pool_name); libxl__domain_config_setdefault
    // (libxl_create.c, RELEASE-4.17.0) refuses a name that is no cpupool.
    const poolName = this.tool === 'xl' && typeof c.pool === 'string' ? c.pool : undefined;
    if (poolName !== undefined && !this.pools.some((p) => p.name === poolName)) {
      this.libxlError('libxl_create.c:1132:libxl__domain_config_setdefault', `Illegal pool specified: ${poolName}`);
      return 1;
    }

    // Disks and network interfaces, as libxl reads them.
    /** @type {any[]} */
    const disks = [];
    for (const spec of Array.isArray(c.disk) ? c.disk : c.disk !== undefined ? [c.disk] : []) {
      try {
        const p = parseDiskSpec(String(spec), this.version);
        disks.push({
          vdev: p.vdev,
          target: p.target,
          // libxlu_disk.c xlu_disk_parse (RELEASE-4.17.0): raw unless given; a CD-ROM without a target is empty.
          format: p.devtype === 'cdrom' && !p.target ? 'empty' : (p.format ?? 'raw'),
          access: p.access ?? (p.devtype === 'cdrom' ? 'ro' : 'rw'),
          ...(p.devtype ? { devtype: p.devtype } : {}),
          spec: p,
        });
      } catch (e) {
        this.err(`${file}: ${/** @type {Error} */ (e).message}\n`);
        return 1;
      }
    }
    /** @type {any[]} */
    const vifs = [];
    for (const [i, spec] of (Array.isArray(c.vif) ? c.vif : []).entries()) {
      /** @type {Record<string, string>} */
      const v = {};
      for (const item of String(spec).split(',')) {
        const t = item.trim();
        if (!t) continue;
        const eq = t.indexOf('=');
        if (eq < 0) {
          this.err(`unrecognized argument \`${t}'\n`);
          return 1;
        }
        v[t.slice(0, eq)] = t.slice(eq + 1);
      }
      if (v.rate !== undefined) {
        try {
          parseVifRate(v.rate, this.version);
        } catch (e) {
          this.err(
            `${file}: ${/** @type {Error} */ (e).message.replace(/^config parsing error in vif: /, 'config parsing error in vif: ')}\n`,
          );
          return 1;
        }
      }
      vifs.push({ devid: i, ...v, mac: v.mac ?? macFor(0, i), bridge: v.bridge ?? 'xenbr0' });
    }

    if (dryrun) {
      const dom = {
        domid: -1,
        name,
        uuid: randomUUID(),
        type,
        memory,
        maxmem,
        vcpus,
        maxvcpus,
        weight: num('cpu_weight', 256),
        cap: num('cap', 0),
        vifs,
        disks,
        config: c,
        state: '------',
        cpu_time: 0,
      };
      const j = this.domainJson(dom);
      this.out(`${JSON.stringify(j.config, null, 4)}\n`);
      return 0;
    }

    const domid = this.state.nextDomid;
    if (this.domains.some((d) => d.name === name)) {
      if (this.tool === 'xm') {
        this.err(
          `Error: Domain '${name}' already exists with ID '${this.domains.find((d) => d.name === name).domid}'\n`,
        );
        return 1;
      }
      // libxl__domain_make → libxl__domain_rename (libxl_domain.c:81), then initiate_domain_create (libxl_create.c:1294), RELEASE-4.17.7.
      this.libxlError('libxl_domain.c:81:libxl__domain_rename', `Domain with name "${name}" already exists.`);
      this.libxlError('libxl_create.c:1294:initiate_domain_create', 'cannot make domain: -6');
      return 1;
    }
    // Memory: what libxl_domain_need_memory() (libxl_mem.c) asks for: memory, the paging pool and
    // LIBXL_HVM_EXTRA_MEMORY for HVM, rounded up to 2 MiB. The pool: up to 4.16
    // libxl_get_required_shadow_memory, 4 KiB × (256 × vcpus + 2 × maxmem MiB); from RELEASE-4.17.0
    // libxl__get_required_paging_memory (libxl_create.c), 4 KiB × (256 × vcpus + (1 + !hap) × maxmem
    // MiB), hap the default where virt_caps has it (libxl__domain_create_info_setdefault) unless hap=0.
    const hap = /\bhap\b/.test(this.state.info.virt_caps) && String(c.hap ?? '1') !== '0';
    const perMiB = this.atLeast(4, 17) && hap ? 1 : 2;
    const shadowKb = type === 'pv' ? 0 : 4 * (256 * maxvcpus + perMiB * maxmem);
    let needKb = memory * 1024 + shadowKb + (type === 'pv' ? 0 : LIBXL_HVM_EXTRA_MEMORY);
    if (needKb % 2048) needKb += 2048 - (needKb % 2048);
    const needMb = Math.ceil(needKb / 1024);
    const info = this.state.info;
    if (info.free_memory < needMb) {
      const dom0 = this.domains.find((d) => d.domid === 0);
      const short = needMb - info.free_memory;
      const xend = this.tool === 'xm' ? this.xendBallooning() : undefined;
      const balloon = xend ? xend.on : this.autoballoon();
      // xl_vmcontrol.c freemem() (RELEASE-4.17.0): libxl_set_memory_target(ctx, 0, free - need,
      // relative) on dom0, refused below LIBXL_MIN_DOM0_MEM = 128 MiB (libxl_internal.h,
      // libxl_mem.c libxl_set_memory_target): "failed to free memory for the domain".
      // xend: balloon.py free() (RELEASE-4.1.0) lowers dom0 down to dom0-min-mem.
      const floor = xend ? xend.min : 128;
      if (balloon && dom0 && dom0.memory - short >= floor) {
        dom0.memory -= short;
        info.free_memory += short;
      } else if (balloon && xend) {
        this.err(
          `Error: I need ${needKb} KiB, but dom0_min_mem is ${floor * 1024} and shrinking to ${floor * 1024} KiB would leave only ${(info.free_memory + (dom0?.memory ?? 0) - floor) * 1024} KiB free.\n`,
        );
        return 1;
      } else if (balloon) {
        this.libxlError(
          'libxl_mem.c:287:libxl_set_memory_target',
          `New target ${(dom0?.memory ?? 0) * 1024 - short * 1024} for dom0 is below the minimum threshold`,
          0,
        );
        this.err('failed to free memory for the domain\n');
        return 1;
      } else {
        if (this.tool === 'xm') {
          this.err(
            `Error: Not enough free memory and enable-dom0-ballooning is False, so I cannot release any more.  I need ${needKb} KiB but only have ${info.free_memory * 1024}.\n`,
          );
          return 1;
        }
        this.err(
          // tools/libs/guest/xg_dom_boot.c (xc_dom_boot.c until 4.14) xc_dom_boot_mem_init, RELEASE-4.17.7.
          `xc: error: panic: xg_dom_boot.c:121: xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory\n`,
        );
        this.libxlError('libxl_dom.c:586:libxl__build_dom', 'xc_dom_boot_mem_init failed: Cannot allocate memory');
        this.libxlError('libxl_create.c:1638:domcreate_rebuild_done', 'cannot (re-)build domain: -3', domid);
        this.destroyFailed(domid);
        this.state.nextDomid++;
        return 1;
      }
    }
    for (const [i, d] of disks.entries()) {
      if (this.tool === 'xm') {
        // xend (RELEASE-4.1.0) checks that a file: image exists; its backends are not libxl's.
        if (d.target && !existsSync(this.root ? path.join(this.root, d.target) : d.target)) {
          this.err(`Error: Disk image does not exist: ${d.target}\n`);
          return 1;
        }
        continue;
      }
      // libxl_create.c initiate_domain_create → libxl__device_disk_setdefault → set_backend.
      const chosen = diskBackend(d.spec, type, (t) => {
        const onHost = this.root ? path.join(this.root, t) : t;
        if (t === '' || !existsSync(onHost)) return 'missing';
        const st = statSync(onHost);
        return st.isFile() ? 'file' : st.isBlockDevice() ? 'block' : 'other';
      });
      if ('error' in chosen) {
        this.libxlError(chosen.where, chosen.error, chosen.domain ? domid : undefined);
        this.libxlError(
          'libxl_create.c:1316:initiate_domain_create',
          `Unable to set disk defaults for disk ${i}`,
          domid,
        );
        this.destroyFailed(domid);
        this.state.nextDomid++;
        return 1;
      }
      d.backend = chosen.backend;
    }
    for (const d of disks) delete d.spec;
    this.state.nextDomid++;
    info.free_memory -= needMb;
    this.domains.push({
      domid,
      name,
      uuid: typeof c.uuid === 'string' ? c.uuid : randomUUID(),
      type,
      // maxmem below memory is no error: no release's xl or libxl checks one against the other
      // (git log -S on xen.git), and the lab's Xen 4.17.7 creates the domain. A PV guest gets its
      // memory (xl list: Mem 256 with memory=256, maxmem=128; test/lab/xl-differential.test.ts); an
      // HVM guest only maxmem (Mem 128, seen once in the lab by hand: an HVM guest is kept out of the
      // shared lab's files). xl list -l shows max_memkb = maxmem, target_memkb = memory for both.
      ...(type !== 'pv' && maxmem < memory ? { memory: maxmem, target: memory } : { memory }),
      maxmem,
      vcpus,
      maxvcpus,
      // xl list's State (xl_info.c list_domains, RELEASE-4.17.0): r when a vCPU is running, b when
      // every online vCPU is blocked (xen/common/domctl.c getdomaininfo). A guest between two
      // commands waits for work: -b---- (the lab's idle PV guest shows it), --p--- with -p.
      state: paused ? '--p---' : '-b----',
      cpu_time: 0,
      weight: num('cpu_weight', 256),
      cap: num('cap', 0),
      ...(poolName ? { pool: poolName } : {}),
      pvDrivers: false,
      // No frontend driver has connected yet: network-list/block-list show state 1, evt-ch -1
      // (frontendKeys); netback waits in InitWait (backendState).
      frontends: false,
      needKb,
      vifs: vifs.map((v) => ({ ...v, mac: v.mac })),
      disks,
      config: c,
      configFile: path.resolve(file),
    });
    if (this.tool === 'xm') this.out(`Started domain ${name} (id=${domid})\n`);
    return 0;
  }

  /** What libxl prints when it cleans up a domain it failed to build (libxl_domain.c libxl__destroy_domid, domain_destroy_cb, RELEASE-4.17.0). @param {number} domid */
  destroyFailed(domid) {
    this.libxlError('libxl_domain.c:1183:libxl__destroy_domid', 'Non-existant domain', domid);
    this.libxlError('libxl_domain.c:1137:domain_destroy_callback', 'Unable to destroy guest', domid);
    this.libxlError('libxl_domain.c:1064:domain_destroy_cb', 'Destruction of domain failed', domid);
  }

  /** @param {any} d */
  remove(d) {
    this.state.domains = this.domains.filter((x) => x !== d);
    const kb = d.needKb ?? d.memory * 1024;
    this.state.info.free_memory += Math.ceil(kb / 1024);
  }

  /* ---------------------------------------------------------------- destroy, shutdown */

  /**
   * `xl config-update DOM FILE` (xl_vmcontrol.c main_config_update, RELEASE-4.17.0): stores the
   * file's text as the domain's "xl" userdata, which the next reboot uses instead of libxl's record.
   * @param {string[]} args
   */
  configUpdate(args) {
    const [q, file] = this.need(args, 2, 'config-update');
    const d = this.find(q);
    let text;
    try {
      text = readFileSync(/** @type {string} */ (file), 'utf8');
    } catch {
      this.err(`Failed to read config file: ${file}: No such file or directory\n`);
      return 1;
    }
    const cfg = XlConfig.parse(text, { source: /** @type {string} */ (file) });
    d.updatedConfig = Object.fromEntries(cfg.keys().map((k) => [k, cfg.get(k)]));
    return 0;
  }

  /**
   * `xl reboot DOM`: reboot_domain (xl_vmcontrol.c, RELEASE-4.17.0) asks the guest (PV control
   * interface, or -F the ACPI button); xl, which watches the domain, then builds it again
   * (handle_domain_death → reload_domain_config): from config-update's file if one was stored,
   * else from libxl_retrieve_domain_configuration: from RELEASE-4.5.0 the memory target and
   * maximum and the devices as libxl recorded them (a NIC re-attached with a rate keeps it; a rate
   * written into xenstore is not in the record), from RELEASE-4.8.0 the vCPUs online, from
   * RELEASE-4.9.0 the scheduler weight and cap. Before 4.5, the configuration it was created with.
   * The domain comes back under a new domid.
   * @param {string[]} args
   */
  reboot(args) {
    const [q] = this.need(args, 1, 'reboot');
    const d = this.find(q);
    if (!d.pvDrivers && !args.includes('-F')) {
      this.err('PV control interface not available: external graceful reboot not possible.\n');
      this.err('Use "-F" to fallback to ACPI reset event.\n');
      return 1;
    }
    const from = d.updatedConfig ?? (this.atLeast(4, 5) ? undefined : (d.config ?? {}));
    const num = (/** @type {any} */ c, /** @type {string} */ k, /** @type {number} */ def) =>
      c && c[k] !== undefined && Number.isFinite(Number(c[k])) ? Number(c[k]) : def;
    const created = d.config ?? {};
    if (from) {
      d.memory = num(from, 'memory', d.memory);
      d.maxmem = num(from, 'maxmem', d.memory);
      d.maxvcpus = num(from, 'maxvcpus', num(from, 'vcpus', d.maxvcpus));
      d.vcpus = num(from, 'vcpus', d.vcpus);
      d.weight = num(from, 'cpu_weight', 256);
      d.cap = num(from, 'cap', 0);
      if (Array.isArray(from.vif)) {
        d.vifs = from.vif.map((/** @type {string} */ spec, /** @type {number} */ i) => {
          const v = Object.fromEntries(
            String(spec)
              .split(',')
              .map((t) => t.trim())
              .filter((t) => t.includes('='))
              .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]),
          );
          return {
            ...v,
            devid: v.devid !== undefined ? Number(v.devid) : i,
            mac: v.mac ?? macFor(d.domid, i),
            bridge: v.bridge ?? 'xenbr0',
          };
        });
      }
    } else {
      if (!this.atLeast(4, 8)) d.vcpus = num(created, 'vcpus', d.vcpus);
      if (!this.atLeast(4, 9)) {
        d.weight = num(created, 'cpu_weight', 256);
        d.cap = num(created, 'cap', 0);
      }
    }
    // libxl__get_memory_target: the target in xenstore, which mem-set moved even without a balloon driver.
    if (!from && d.target !== undefined) d.memory = d.target;
    delete d.target;
    for (const v of d.vifs) {
      delete v.xsRate;
      delete v.enforced;
      delete v.hotplugged;
    }
    delete d.availability;
    delete d.updatedConfig;
    d.domid = this.state.nextDomid++;
    return 0;
  }

  /** `xl destroy`: destroy_domain (xl_vmcontrol.c, RELEASE-4.17.0) refuses domain 0 without -f. @param {string[]} args */
  destroy(args) {
    const force = args.includes('-f');
    const [q] = this.need(args, 1, 'destroy');
    const d = this.find(q);
    if (d.domid === 0 && !force) {
      this.err(
        'Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated hardware domain and toolstack.\n\n',
      );
      return 1;
    }
    this.remove(d);
    return 0;
  }

  /**
   * `xl shutdown`: shutdown_domain (xl_vmcontrol.c, RELEASE-4.17.0): without PV drivers
   * libxl_domain_shutdown fails with ERROR_NOPARAVIRT, "PV control interface not available", and
   * -F falls back to the ACPI power button; -w waits ("Waiting for %d domains").
   * @param {string[]} args
   */
  shutdown(args) {
    const all = args.includes('-a') || args.includes('--all');
    const wait = args.includes('-w') || args.includes('--wait');
    const fallback = args.includes('-F');
    const pos = args.filter((a) => !a.startsWith('-'));
    if (!pos.length && !all) {
      this.err('You must specify -a or a domain id.\n\n');
      return 1;
    }
    const targets = all ? this.domains.filter((d) => d.domid !== 0) : [this.find(pos[0])];
    for (const d of targets) {
      if (this.tool === 'xm') {
        this.remove(d);
        continue;
      }
      this.err(`Shutting down domain ${d.domid}\n`);
      if (!d.pvDrivers) {
        if (fallback) {
          this.err('PV control interface not available: sending ACPI power button event.\n');
        } else {
          this.err('PV control interface not available: external graceful shutdown not possible.\n');
          this.err('Use "-F" to fallback to ACPI power event.\n');
          this.err('shutdown failed (rc=-10)\n');
          return 1;
        }
      }
      this.remove(d);
    }
    if (wait && this.tool === 'xl') {
      this.err(`Waiting for ${targets.length} domains\n`);
      for (const d of targets) this.err(`Domain ${d.domid} has been destroyed\n`);
    }
    return 0;
  }

  /* ---------------------------------------------------------------- schedulers */

  /**
   * `xl sched-credit` / `sched-credit2`: main_sched_credit, main_sched_credit2, sched_domain_get
   * ("libxl_domain_sched_params_get returned %s not %s.") in xl_sched.c (RELEASE-4.17.0); the bounds
   * from sched_credit_domain_set / sched_credit2_domain_set (libxl_sched.c): weight 1–65535, cap
   * 0 to 100 × the domain's vCPUs. xm: xm/main.py xm_sched_credit (RELEASE-4.1.0).
   * @param {'credit'|'credit2'} sched @param {string[]} args
   */
  schedCredit(sched, args) {
    /** @type {Record<string, string>} */
    const o = {};
    let schedparam = false;
    for (let i = 0; i < args.length; i++) {
      const a = /** @type {string} */ (args[i]);
      const long = /^--(domain|weight|cap|cpupool)=(.*)$/.exec(a);
      /** @type {Record<string, string>} */
      const short = { domain: 'd', weight: 'w', cap: 'c', cpupool: 'p' };
      if (long) o[short[long[1] ?? ''] ?? ''] = long[2] ?? '';
      else if (a === '-s' || a === '--schedparam') schedparam = true;
      else if (/^-[dwcptrm]$/.test(a)) o[a[1] ?? ''] = args[++i] ?? '';
      else if (/^-[dwcptrm]./.test(a)) o[a[1] ?? ''] = a.slice(2);
    }
    // Pool 0's scheduler (-s without -p reads pool 0); a domain's is its own pool's (poolOf).
    const pool0 = /** @type {{ name: string, sched: string }} */ (this.pools[0]);
    const running = pool0.sched;
    const ratelimit = this.state.info.ratelimit_us ?? 1000;
    const poolLine = (name = pool0.name) =>
      sched === 'credit'
        ? `Cpupool ${name}: tslice=${this.state.info.tslice_ms ?? 30}ms ratelimit=${ratelimit}us migration-delay=0us\n`
        : `Cpupool ${name}: ratelimit=${ratelimit}us\n`;
    if (this.tool === 'xm' && sched === 'credit2') {
      // xm/main.py xm_sched_credit2 (RELEASE-4.1.0, the first with it; xend left in 4.5):
      // getopt "d:w:", ["domain=", "weight="] — no cap; an unknown option is err(opterr) + usage.
      if (!this.atLeast(4, 1)) {
        this.err('Error: Subcommand sched-credit2 not found!\n');
        return 1;
      }
      // check_sched_type('credit2') first: "Xen is running with the credit scheduler", exit 1.
      if (this.state.info.xen_scheduler !== 'credit2') {
        this.err(`Error: Xen is running with the ${this.state.info.xen_scheduler} scheduler\n`);
        return 1;
      }
      const bad = args.find((a) => /^-[^dw-]/.test(a) || /^--(?!domain=|weight=)/.test(a));
      if (bad) {
        this.err(`Error: option ${bad.replace(/=.*$/, '')} not recognized\n`);
        // usage('sched-credit2') → cmdHelp: SUBCOMMAND_HELP's line, then sys.exit(1).
        this.out(xmUsage('sched-credit2'));
        return 1;
      }
    }
    // xm/main.py xm_sched_credit (RELEASE-4.0.0 … 4.4.0): check_sched_type('credit') first.
    if (this.tool === 'xm' && sched === 'credit' && this.state.info.xen_scheduler !== 'credit') {
      this.err(`Error: Xen is running with the ${this.state.info.xen_scheduler} scheduler\n`);
      return 1;
    }
    // xl_sched.c main_sched_credit2: options "d:w:c:p:r:s" from RELEASE-4.10.0, "d:w:p:r:s" before
    // (def_getopt in xl_utils.c / xl_cmdimpl.c: "option `c' not supported." and exit 2).
    if (this.tool === 'xl' && sched === 'credit2' && o.c !== undefined && !this.atLeast(4, 10)) {
      this.err("option `c' not supported.\n");
      return 2;
    }
    const withCap = sched === 'credit' || (this.tool === 'xl' && this.atLeast(4, 10));
    const hasDomOpt = o.d !== undefined || o.w !== undefined || o.c !== undefined;
    if ((o.p !== undefined || schedparam) && hasDomOpt) {
      this.err(
        sched === 'credit'
          ? 'Specifying a cpupool or schedparam is not allowed with domain options.\n'
          : 'Specifying a cpupool is not allowed with other options.\n',
      );
      return 1;
    }
    if (o.d === undefined && (o.w !== undefined || o.c !== undefined)) {
      this.err('Must specify a domain.\n');
      return 1;
    }
    // The Cap column: credit always; credit2 from RELEASE-4.10.0 (sched_credit2_domain_output).
    const header = () =>
      this.out(
        `${'Name'.padEnd(33)} ${'ID'.padStart(4)} ${'Weight'.padStart(6)}${withCap ? ` ${'Cap'.padStart(4)}` : ''}\n`,
      );
    // xm: '%(name)-32s %(domid)5s %(weight)6d %(cap)4d' under a '%-33s %4s %6s %4s' header.
    const row = (/** @type {any} */ d) =>
      this.tool === 'xm'
        ? this.out(
            `${d.name.padEnd(32)} ${String(d.domid).padStart(5)} ${String(d.weight).padStart(6)} ${String(d.cap).padStart(4)}\n`,
          )
        : this.out(
            `${d.name.padEnd(33)} ${String(d.domid).padStart(4)} ${String(d.weight).padStart(6)}${withCap ? ` ${String(d.cap).padStart(4)}` : ''}\n`,
          );
    if (schedparam) {
      if (running === sched) this.out(poolLine());
      else this.out(`Cpupool ${pool0.name}: [sched params unavailable]\n`);
      return 0;
    }
    if (o.d === undefined) {
      // sched_domain_output: each pool running this scheduler, its line, the header, its domains.
      for (const p of this.pools) {
        if (p.sched !== sched) continue;
        this.out(poolLine(p.name));
        header();
        for (const d of [...this.domains].sort((a, b) => a.domid - b.domid)) if (this.poolOf(d).name === p.name) row(d);
      }
      return 0;
    }
    const d = this.find(o.d);
    // libxl_domain_sched_params_get/set work with the scheduler of the domain's pool
    // (libxl_sched.c, libxl__domain_scheduler in libxl_dom.c, RELEASE-4.17.0).
    const domSched = this.poolOf(d).sched;
    if (o.w === undefined && o.c === undefined) {
      header();
      if (domSched !== sched) {
        this.err(`libxl_domain_sched_params_get returned ${domSched} not ${sched}.\n`);
        return 1;
      }
      row(d);
      return 0;
    }
    if (domSched !== sched) {
      // Line numbers: sched_credit_domain_set / sched_credit2_domain_set, libxl_sched.c, RELEASE-4.17.0.
      this.libxlError(
        `libxl_sched.c:${sched === 'credit' ? 232 : 439}:sched_${sched}_domain_set`,
        `Getting domain sched ${sched}: Invalid argument`,
        d.domid,
      );
      this.err('libxl_domain_sched_params_set failed.\n');
      return 1;
    }
    const weight = o.w !== undefined ? parseInt(o.w, 10) || 0 : undefined;
    const cap = o.c !== undefined ? parseInt(o.c, 10) || 0 : undefined;
    if (this.tool === 'xm') {
      // XendDomain.domain_sched_credit_set (RELEASE-4.1.0 … 4.4.0) raises XendError; xm prints
      // "Error: " and the fault, then the command's usage, and exits 1 (main.py _run_cmd).
      const why =
        weight !== undefined && (weight < 1 || weight > 65535)
          ? 'Cpu weight out of range, valid values are within range from 1 to 65535'
          : cap !== undefined && (cap < 0 || cap > d.maxvcpus * 100)
            ? `Cpu cap out of range, valid range is from 0 to ${d.maxvcpus * 100} for specified number of vcpus`
            : undefined;
      if (why) {
        this.err(`Error: ${why}\n`);
        this.out(xmUsage(`sched-${sched}`));
        return 1;
      }
    }
    if (weight !== undefined && (weight < 1 || weight > 65535)) {
      this.libxlError(
        `libxl_sched.c:${sched === 'credit' ? 238 : 445}:sched_${sched}_domain_set`,
        'Cpu weight out of range, valid values are within range from 1 to 65535',
        d.domid,
      );
      this.err('libxl_domain_sched_params_set failed.\n');
      return 1;
    }
    if (cap !== undefined && (cap < 0 || cap > d.maxvcpus * 100)) {
      this.libxlError(
        `libxl_sched.c:${sched === 'credit' ? 248 : 455}:sched_${sched}_domain_set`,
        `Cpu cap out of range, valid range is from 0 to ${d.maxvcpus * 100} for specified number of vcpus`,
        d.domid,
      );
      this.err('libxl_domain_sched_params_set failed.\n');
      return 1;
    }
    if (weight !== undefined) d.weight = weight;
    if (cap !== undefined) d.cap = cap;
    return 0;
  }

  /* ---------------------------------------------------------------- vcpus and memory */

  /**
   * `xl vcpu-set`: vcpuset (xl_vcpu.c, RELEASE-4.17.0) refuses more vCPUs than host CPUs without
   * --ignore-host ("You are overcommmitting!"); libxl_set_vcpuonline (libxl_domain.c) refuses 0 and
   * more than the maximum.
   * @param {string[]} args
   */
  vcpuSet(args) {
    const ignoreHost = args.includes('-i') || args.includes('--ignore-host');
    const [q, n] = this.need(args, 2, 'vcpu-set');
    const d = this.find(q);
    const m = /^\d+/.exec(n ?? '');
    if (!m) {
      this.err('Error: Invalid argument.\n');
      return 1;
    }
    const want = Number(m[0]);
    const hostCpus = this.state.info.nr_cpus;
    if (!ignoreHost && want > d.vcpus && want > hostCpus) {
      this.err(
        `You are overcommmitting! You have ${hostCpus} physical CPUs and want ${want} vCPUs! Aborting, use --ignore-host to continue\n`,
      );
      return 1;
    }
    if (want === 0) {
      this.libxlError('libxl_domain.c:1863:libxl_set_vcpuonline', 'Requested 0 VCPUs!: Success', d.domid);
      this.err(`libxl_set_vcpuonline failed domid=${d.domid} max_vcpus=0, rc: -3\n`);
      return 1;
    }
    if (want > d.maxvcpus) {
      this.libxlError(
        'libxl_domain.c:1869:libxl_set_vcpuonline',
        `Requested ${want} VCPUs, however maxcpus is ${d.maxvcpus}!: Success`,
        d.domid,
      );
      this.err(`libxl_set_vcpuonline failed domid=${d.domid} max_vcpus=${want}, rc: -3\n`);
      return 1;
    }
    if (d.type === 'hvm' && want < d.vcpus) {
      // libxl_set_vcpuonline (libxl_domain.c, RELEASE-4.17.0): for qemu-xen it only hot-adds the
      // missing vCPUs (QMP device_add, set_vcpuonline_qmp_add_cpu); fewer is written as
      // cpu/N/availability=offline in xenstore (libxl__set_vcpuonline_xenstore), which only a PV
      // guest's kernel acts on. xl exits 0; the HVM guest keeps its vCPUs online (xl list: VCPUs).
      // xend's domain.setVCpuCount writes the same keys.
      d.availability = want;
      return 0;
    }
    if (d.type === 'hvm' && want > d.vcpus && !d.guestOnlinesVcpus) {
      // More: QEMU hot-plugs the vCPU (an ACPI event), and Xen runs it only once the guest's OS
      // brings it up (seen in the lab, Xen 4.17: xl list's VCPUs stays, cpu/N/availability says
      // online). A guest that does (Linux with a udev rule) is seeded with guestOnlinesVcpus.
      d.availability = want;
      return 0;
    }
    d.vcpus = want;
    delete d.availability;
    return 0;
  }

  /**
   * `xl mem-set`: set_memory_target (xl_mem.c, RELEASE-4.17.0) parses the size ("invalid memory
   * size"), libxl_set_memory_target (libxl_mem.c) refuses a target above the static maximum; the
   * target moves in xenstore whether a balloon driver follows or not.
   * @param {string[]} args
   */
  memSet(args) {
    const [q, size] = this.need(args, 2, 'mem-set');
    const d = this.find(q);
    const kb = parseMemSize(size ?? '');
    if (kb === undefined) {
      this.err(`invalid memory size: ${size}\n`);
      return 1;
    }
    if (this.tool === 'xm' && kb > d.maxmem * 1024) {
      // XendDomainInfo.setMemoryTarget → _safe_set_memory → XendConfig._memory_sanity_check
      // (RELEASE-4.1.0 … 4.4.0): XendConfigError, printed as "Error: …" with the usage, exit 1.
      this.err('Error: memory_dynamic_max must be less than or equal to memory_static_max\n');
      this.out(xmUsage('mem-set'));
      return 1;
    }
    if (kb > d.maxmem * 1024) {
      this.libxlError(
        // libxl_set_memory_target's LOGD, libxl_mem.c line 278 at RELEASE-4.17.0 … 4.17.7 (the real xl 4.17 prints it).
        'libxl_mem.c:278:libxl_set_memory_target',
        'memory_dynamic_max must be less than or equal to memory_static_max\n',
        d.domid,
      );
      this.err(`cannot set domid ${d.domid} dynamic max memory to : ${size}\n`);
      return 1;
    }
    const mb = Math.floor(kb / 1024);
    this.state.info.free_memory += d.memory - mb;
    // Without a balloon driver the guest does not give memory back: xl sets the target anyway.
    if (d.pvDrivers || d.domid === 0) d.memory = mb;
    else d.target = mb;
    return 0;
  }

  /** `xl mem-max`: main_memmax (xl_mem.c) → libxl_domain_setmaxmem (libxl_mem.c, RELEASE-4.17.0), not below the current target. @param {string[]} args */
  memMax(args) {
    const [q, size] = this.need(args, 2, 'mem-max');
    const d = this.find(q);
    const kb = parseMemSize(size ?? '');
    if (kb === undefined) {
      this.err(`invalid memory size: ${size}\n`);
      return 1;
    }
    if (kb < d.memory * 1024) {
      this.libxlError(
        'libxl_mem.c:59:libxl_domain_setmaxmem',
        'memory_static_max must be greater than or or equal to memory_dynamic_max',
        d.domid,
      );
      this.err(`cannot set domid ${d.domid} static max memory to : ${size}\n`);
      return 1;
    }
    d.maxmem = Math.floor(kb / 1024);
    return 0;
  }

  /* ---------------------------------------------------------------- devices */

  /**
   * `xl network-list`: main_networklist (xl_nic.c, RELEASE-4.17.0): "%-3s %-2s %-17s %-6s %-5s
   * %-6s %5s/%-5s %-30s" header, then devid, backend, MAC, handle, the frontend's xenbus state
   * ({@link frontendKeys}); `xm network-list` the same keys in xend's layout, event channel and ring refs, backend path.
   * @param {string[]} args
   */
  networkList(args) {
    const pos = this.need(args, 1, 'network-list');
    if (this.tool === 'xm') this.out('Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n');
    else
      this.out(
        `${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'Mac Addr.'.padEnd(17)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'tx-'.padStart(5)}/${'rx-ring-ref'.padEnd(5)} ${'BE-path'.padEnd(30)}\n`,
      );
    for (const q of pos) {
      const d = this.find(q);
      for (const v of d.vifs) {
        const be = `/local/domain/0/backend/vif/${d.domid}/${v.devid}`;
        // Both read the FRONTEND's keys (frontendKeys). xl: libxl_device_nic_getinfo. xm:
        // xm/main.py xm_network_list → XendDomainInfo.getDeviceSxprs → DevController.sxprs
        // (ListRecursive of the frontend directory), parse_dev_info's defaults -1 (RELEASE-4.1.0);
        // xend wrote the frontend's state as Initialising (1) when it created the device.
        const fe = frontendKeys(d, 20 + v.devid * 2, 768 + v.devid * 2);
        const rx = fe.ref < 0 ? -1 : fe.ref + 1;
        if (this.tool === 'xm') {
          // "%(idx)-3d %(backend-id)-3d%(mac)-17s    %(handle)-3d   %(state)-3d    %(event-ch)-3d   %(tx-ring-ref)-5d/%(rx-ring-ref)-5d   %(be-path)-30s  "
          this.out(
            `${String(v.devid).padEnd(3)} ${'0'.padEnd(3)}${v.mac.padEnd(17)}    ${String(v.devid).padEnd(3)}   ${String(fe.state).padEnd(3)}    ${String(fe.evtch).padEnd(3)}   ${String(fe.ref).padEnd(5)}/${String(rx).padEnd(5)}   ${be.padEnd(30)}  \n`,
          );
          continue;
        }
        this.out(
          `${String(v.devid).padEnd(3)} ${'0'.padEnd(2)} ${v.mac}${String(v.devid).padStart(6)} ${String(fe.state).padStart(5)} ${String(fe.evtch).padStart(6)} ${String(fe.ref).padStart(5)}/${String(rx).padEnd(11)} ${be.padEnd(30)}\n`,
        );
      }
    }
    return 0;
  }

  /**
   * The keys `xl network-attach` takes, by release (read from each tag):
   * - RELEASE-4.1.0 tools/libxl/xl_cmdimpl.c main_networkattach: type mac bridge ip script backend
   *   vifname model rate accel — and its `rate=` branch is empty: the rate is dropped;
   * - RELEASE-4.2.0: the same keys, `rate=` through parse_vif_rate();
   * - RELEASE-4.3.0 … 4.6.0: + netdev gatewaydev; RELEASE-4.7.0, 4.8.0: + forwarddev;
   * - RELEASE-4.9.0 tools/xl/xl_parse.c parse_nic_config: + devid;
   * - RELEASE-4.15.0: + mtu; RELEASE-4.17.0: + the bare words trusted/untrusted (commit 54d8f27d04).
   * Any other key: "unrecognized argument `KEY=VALUE'" and exit 1.
   */
  attachKeys() {
    const keys = ['type', 'mac', 'bridge', 'ip', 'script', 'backend', 'vifname', 'model', 'rate', 'accel'];
    if (this.atLeast(4, 3)) keys.push('netdev', 'gatewaydev');
    if (this.atLeast(4, 7)) keys.push('forwarddev');
    if (this.atLeast(4, 9)) keys.push('devid');
    if (this.atLeast(4, 15)) keys.push('mtu');
    return keys;
  }

  /** @param {string[]} args @param {boolean} dryrun */
  networkAttach(args, dryrun) {
    const [q, ...specs] = this.need(args, 1, 'network-attach');
    const d = this.find(q);
    /** @type {Record<string, string>} */
    const v = {};
    // xm/main.py xm_network_attach (RELEASE-4.1.0 … 4.4.0; 4.0.0 the same keys): vif_params type
    // mac bridge ip script backend vifname rate model accel, no devid; a word that is not KEY=VALUE
    // with one of them and a value: "Error: Invalid argument: WORD", the usage, exit 1.
    if (this.tool === 'xm') {
      const xmKeys = ['type', 'mac', 'bridge', 'ip', 'script', 'backend', 'vifname', 'rate', 'model', 'accel'];
      const bad = specs.find((w) => {
        const kv = w.split('=');
        return kv.length !== 2 || kv[1] === '' || !xmKeys.includes(kv[0] ?? '');
      });
      if (bad !== undefined) {
        this.err(`Error: Invalid argument: ${bad}\n`);
        this.out(xmUsage('network-attach'));
        return 1;
      }
    }
    const known = this.attachKeys();
    for (const s of specs) {
      if (this.tool === 'xl' && this.atLeast(4, 17) && (s === 'trusted' || s === 'untrusted')) continue;
      const eq = s.indexOf('=');
      const key = eq < 0 ? s : s.slice(0, eq);
      if (eq < 0 || !known.includes(key)) {
        this.err(`unrecognized argument \`${s}'\n`);
        return 1;
      }
      v[key] = s.slice(eq + 1);
    }
    if (v.mac !== undefined && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v.mac)) {
      this.err("Invalid parameter `mac'.\n");
      return 1;
    }
    if (v.rate !== undefined) {
      try {
        parseVifRate(v.rate, this.version);
      } catch (e) {
        this.err(`command line: ${/** @type {Error} */ (e).message}\n`);
        return 1;
      }
      // RELEASE-4.1.0 main_networkattach: `} else if (!strncmp("rate=", *argv, 5)) { }` — dropped.
      if (this.tool === 'xl' && !this.atLeast(4, 2)) delete v.rate;
    }
    // No devid: libxl__device_nextid() (libxl.c, RELEASE-4.4.0; libxl_device.c later) takes the last
    // entry of the guest's device/vif directory plus one, 0 when there is none.
    const devid =
      v.devid !== undefined ? Number(v.devid) : d.vifs.reduce((m, /** @type {any} */ x) => Math.max(m, x.devid + 1), 0);
    if (d.vifs.some((/** @type {any} */ x) => x.devid === devid)) {
      this.libxlError('libxl_device.c:1486:device_addrm_aocomplete', 'unable to add device', d.domid);
      this.err('libxl_device_nic_add failed.\n');
      return 1;
    }
    const vif = { devid, mac: v.mac ?? macFor(d.domid, devid), bridge: v.bridge ?? 'xenbr0', ...v };
    delete vif.devid;
    // A NIC hot-plugged into an HVM guest is PV only from RELEASE-4.10.0: libxl__device_nic_setdefault
    // (libxl_nic.c) sets nictype VIF when `hotplug` and none is given; up to 4.9 (libxl.c) it made
    // it VIF_IOEMU whatever the moment. Either way QEMU gets no new emulated card.
    if (d.type === 'hvm' && vif.type === undefined && this.atLeast(4, 10)) vif.type = 'vif';
    if (dryrun) {
      this.out(`vif: ${JSON.stringify({ ...vif, devid })}\n`);
      return 0;
    }
    // parse_nic_config (tools/xl/xl_parse.c, RELEASE-4.17.0) keeps all after "bridge=": with
    // `bridge=xenbr0,rate=1MB/s` the bridge is named "xenbr0,rate=1MB/s". vif-bridge
    // (tools/hotplug/Linux/vif-bridge) then fails `ip link show dev "$bridge"` with "Could not find
    // bridge device $bridge"; libxl reports the script's exit (libxl_exec.c
    // libxl_report_child_exitstatus, libxl_device.c device_hotplug_child_death_cb) and
    // device_addrm_aocomplete "Unable to add vif with id N" (line numbers as the 4.17.7 build prints
    // them). Not modelled: the real refused attach leaves its backend entry (state 1) in
    // network-list and the NIC in the domain's stored configuration, so a later xl reboot fails.
    if (this.tool === 'xl' && !this.bridgeExists(String(vif.bridge))) {
      this.libxlError(
        'libxl_exec.c:117:libxl_report_child_exitstatus',
        `/etc/xen/scripts/vif-bridge online [${1000 + devid}] exited with error status 1`,
      );
      this.libxlError(
        'libxl_device.c:1337:device_hotplug_child_death_cb',
        `script: Could not find bridge device ${vif.bridge}`,
      );
      this.libxlError('libxl_device.c:1481:device_addrm_aocomplete', `Unable to add vif with id ${devid}`, d.domid);
      this.err('libxl_device_nic_add failed.\n');
      return 1;
    }
    d.vifs.push({ ...vif, devid, hotplugged: true });
    return 0;
  }

  /**
   * Whether dom0 has bridge NAME: the seeded `bridges` when given; otherwise any name Linux takes
   * for an interface (net/core/dev.c dev_valid_name: shorter than IFNAMSIZ 16, not "." or "..",
   * no '/', ':' or white space). @param {string} name
   */
  bridgeExists(name) {
    const seeded = /** @type {string[] | null | undefined} */ (this.state.bridges);
    if (Array.isArray(seeded)) return seeded.includes(name);
    return name.length > 0 && name.length < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
  }

  /** `xl network-detach`: main_networkdetach (xl_nic.c, RELEASE-4.17.0): by devid or MAC, "Unknown device %s." otherwise. @param {string[]} args */
  networkDetach(args) {
    const [q, id] = this.need(args, 2, 'network-detach');
    const d = this.find(q);
    const sel = String(id);
    const vif = sel.includes(':')
      ? d.vifs.find((/** @type {any} */ v) => v.mac.toLowerCase() === sel.toLowerCase())
      : d.vifs.find((/** @type {any} */ v) => v.devid === (parseInt(sel, 10) || 0));
    if (!vif) {
      this.err(`Unknown device ${sel}.\n`);
      return 1;
    }
    d.vifs = d.vifs.filter((/** @type {any} */ v) => v !== vif);
    return 0;
  }

  /** `xl block-list`: main_blocklist (xl_block.c, RELEASE-4.17.0): device numbers as xen-vbd-interface gives them. @param {string[]} args */
  blockList(args) {
    const pos = this.need(args, 1, 'block-list');
    this.out(
      `${'Vdev'.padEnd(5)} ${'BE'.padEnd(3)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'ring-ref'.padEnd(8)} ${'BE-path'.padEnd(30)}\n`,
    );
    for (const q of pos) {
      const d = this.tool === 'xl' ? this.findForBlockList(q) : this.find(q);
      if (!d) continue;
      for (const x of d.disks) {
        const devid = vdevNumber(x.vdev);
        const be = `/local/domain/0/backend/${BACKEND_KIND[diskBackendOf(d, x)]}/${d.domid}/${devid}`;
        const fe = frontendKeys(d, 30 + (devid % 16), 8);
        this.out(
          `${String(devid).padEnd(5)} ${'0'.padEnd(3)} ${String(d.domid).padEnd(6)} ${String(fe.state).padEnd(5)} ${String(fe.evtch).padEnd(6)} ${String(fe.ref).padEnd(8)} ${be.padEnd(30)}\n`,
        );
      }
    }
    return 0;
  }

  /** block-list reports a bad domain and goes on with the next. @param {string} q */
  findForBlockList(q) {
    const dom = /^\d+$/.test(q)
      ? this.domains.find((d) => d.domid === Number(q))
      : this.domains.find((d) => d.name === q);
    if (!dom) this.err(`${q} is an invalid domain identifier\n`);
    return dom;
  }
}

/**
 * xend's `xm list --long` (xm/main.py xm_list → XendDomainInfo.sxpr, RELEASE-4.1.0): the domain as an S-expression (the fields the QoS runbook reads:
 * vcpus is the boot maximum, online_vcpus those online; memory and maxmem in MiB; devices).
 * @param {any} d
 */
function xmSxp(d) {
  const vifs = d.vifs.map(
    (/** @type {any} */ v) =>
      `    (device\n        (vif\n            (bridge ${v.bridge})\n            (mac ${v.mac})\n            (script ${v.script ?? 'vif-bridge'})\n            (backend 0)${v.rate ? `\n            (rate ${v.rate})` : ''}\n        )\n    )\n`,
  );
  const vbds = d.disks.map(
    (/** @type {any} */ x) =>
      `    (device\n        (vbd\n            (uname ${x.target ? `file:${x.target}` : ''})\n            (dev ${x.vdev}:${x.devtype === 'cdrom' ? 'cdrom' : 'disk'})\n            (mode ${x.access === 'ro' || x.access === 'r' ? 'r' : 'w'})\n            (backend 0)\n        )\n    )\n`,
  );
  const image = d.type === 'hvm' ? '(hvm (kernel ) (device_model /usr/lib/xen/bin/qemu-dm))' : '(linux (kernel ))';
  return (
    `(domain\n    (domid ${d.domid})\n    (uuid ${d.uuid})\n    (vcpus ${d.maxvcpus})\n    (online_vcpus ${d.vcpus})\n` +
    `    (name ${d.name})\n    (memory ${d.target ?? d.memory})\n    (maxmem ${d.maxmem})\n` +
    `    (cpu_weight ${d.weight})\n    (cpu_cap ${d.cap})\n    (image ${image})\n    (state ${d.state})\n` +
    `${vifs.join('')}${vbds.join('')})\n`
  );
}

/**
 * The scheduler parameters in a domain's stored configuration (cpu_weight=, cap=): `d` is a
 * storedView already, or a live domain whose view is taken. @param {any} d @param {{ major: number, minor: number }} v
 */
function schedOf(d, v) {
  return d.sched ?? storedView(d, v).sched;
}

/**
 * xend's `xm help CMD` as usage() prints it on stdout before exiting 1 (xm/main.py cmdHelp,
 * SUBCOMMAND_HELP and SUBCOMMAND_OPTIONS, RELEASE-4.1.0; the same entries to RELEASE-4.4.0):
 * "Usage: xm CMD ARGS", a blank line, the description, then each option as '  %-30s %-43s'.
 * @type {Record<string, [string, string, [string, string][]]>}
 */
const XM_HELP = {
  'sched-credit': [
    '[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]',
    'Get/set credit scheduler parameters.',
    [
      ['-d DOMAIN, --domain=DOMAIN', 'Domain to modify'],
      ['-w WEIGHT, --weight=WEIGHT', 'Weight (int)'],
      ['-c CAP, --cap=CAP', 'Cap (int)'],
    ],
  ],
  'sched-credit2': [
    '[-d <Domain> [-w[=WEIGHT]]',
    'Get/set credit2 scheduler parameters.',
    [
      ['-d DOMAIN, --domain=DOMAIN', 'Domain to modify'],
      ['-w WEIGHT, --weight=WEIGHT', 'Weight (int)'],
    ],
  ],
  'mem-set': ['<Domain> <Mem>', 'Set the current memory usage for a domain.', []],
  'network-attach': [
    '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>][accel=<accel>]',
    'Create a new virtual network device.',
    [],
  ],
};

/** @param {string} cmd */
function xmUsage(cmd) {
  const [args, desc, opts] = XM_HELP[cmd] ?? ['', '', []];
  const lines = opts.map(([o, d]) => `  ${o.padEnd(30)} ${d.padEnd(43)}\n`).join('');
  return `Usage: xm ${cmd} ${args}\n\n${desc}\n${opts.length ? `${lines}\n` : ''}`;
}

/**
 * Have the guest's PV frontends (netfront, blkfront) connected? A domain written without the key
 * (an older xl.json) answers as seedXl's default: a PV guest, or an HVM guest with PV drivers.
 * @param {any} d
 */
function frontendsConnected(d) {
  return d.frontends ?? (d.type !== 'hvm' || Boolean(d.pvDrivers));
}

/**
 * The state a vif's backend shows (BACKEND/state in xenstore, what `xenstore-read` returns):
 * 4 (XenbusStateConnected) once the guest's netfront has connected; 2 (InitWait) while netback
 * waits for one (Linux drivers/net/xen-netback/xenbus.c netback_probe switches to InitWait) — a
 * guest without a netfront never connects (an HVM guest then uses QEMU's emulated card); see
 * include/xen/interface/io/xenbus.h for the numbers.
 * @param {any} d
 */
function backendState(d) {
  return frontendsConnected(d) ? 4 : 2;
}

/**
 * What `xl network-list` and `xl block-list` print for a device's state, event channel and ring
 * references: the FRONTEND's keys, not the backend's (libxl_nic.c libxl_device_nic_getinfo and
 * libxl_disk.c libxl_device_disk_getinfo, RELEASE-4.17.0: FRONTEND/state, event-channel,
 * tx-ring-ref, rx-ring-ref, ring-ref; -1 for a key that is not there). libxl writes
 * FRONTEND/state = 1 (XenbusStateInitialising) when it adds the device (libxl_device.c
 * libxl__device_add_async for a vif, libxl_disk.c device_disk_add for a disk, RELEASE-4.17.0)
 * and nothing else: the event channel and ring keys, and state 4, come from a frontend driver
 * in the guest when it connects. The numbers of a connected one are the simulator's own.
 * @param {any} d @param {number} evtch @param {number} ref
 * @returns {{ state: number, evtch: number, ref: number }}
 */
function frontendKeys(d, evtch, ref) {
  return frontendsConnected(d) ? { state: 4, evtch, ref } : { state: 1, evtch: -1, ref: -1 };
}

/**
 * The xenstore directory of each disk backend (libxl_disk.c libxl__device_from_disk,
 * RELEASE-4.17.0: phy and tap → vbd, qdisk → qdisk, standalone → virtio_disk).
 * @type {Record<string, string>}
 */
const BACKEND_KIND = { phy: 'vbd', tap: 'vbd', qdisk: 'qdisk', standalone: 'virtio_disk' };

/**
 * The backend libxl 4.17 gives a disk, or the error that refuses it. Read from RELEASE-4.17.0:
 * - libxl_disk.c libxl__device_disk_setdefault: a CD-ROM of an HVM guest is forced onto qdisk
 *   (another backendtype= is an error); the specification defaults to xen;
 * - libxl_device.c libxl__device_disk_set_backend: an `empty` format (a CD-ROM without a medium,
 *   libxlu_disk.c xlu_disk_parse) needs a CD-ROM and no stat; otherwise, unless script= is given,
 *   the target is stat()ed first when the backend is unset, phy or standalone ("failed to
 *   stat"); a backendtype= is tried alone, else phy, qdisk, tap, standalone in turn;
 * - disk_try_backend: phy takes a raw format only, no colo, and a script= or a path that is a
 *   regular file or a block device (libxl_linux.c libxl__try_phy_backend: S_ISBLK || S_ISREG);
 *   qdisk takes anything without script=; tap never ("blktap not available"); standalone only the
 *   virtio specification, raw, no script=, a file or block device; and phy/qdisk/tap never the
 *   virtio specification.
 * So a raw image file or a block device is phy (vbd); qcow2/vhd/qed, a CD-ROM of an HVM guest, an
 * empty drive and a raw path that is neither file nor block device are qdisk.
 * A storage driver domain (backend=) is not simulated: Domain-0 serves every disk.
 * Line numbers in the messages are RELEASE-4.17.7's (the release the lab runs; 4.17.0 prints
 * these four 18 lines earlier: 421, 425, 437, 457).
 * @param {Record<string, string | undefined>} p a disk spec as parseDiskSpec reads it
 * @param {string} domType
 * @param {(target: string) => 'file' | 'block' | 'other' | 'missing'} stat
 * @returns {{ backend: string } | { where: string, error: string, domain?: true }}
 */
export function diskBackend(p, domType, stat) {
  const cdrom = p.devtype === 'cdrom';
  const target = p.target ?? '';
  // libxlu_disk.c xlu_disk_parse (RELEASE-4.17.0): raw unless given; a CD-ROM without a target is empty.
  const format = cdrom && target === '' ? 'empty' : (p.format ?? 'raw');
  const virtio = p.specification === 'virtio';
  const script = p.script !== undefined && p.script !== '';
  const colo = p.colo !== undefined;
  let wanted = p.backendtype;
  if (cdrom && domType === 'hvm') {
    if (wanted !== undefined && wanted !== 'qdisk')
      return {
        where: 'libxl_disk.c:196:libxl__device_disk_setdefault',
        error: 'Backend for CD devices on HVM guests must be Qdisk',
        domain: true,
      };
    wanted = 'qdisk';
  }
  const where = (/** @type {number} */ line) => `libxl_device.c:${line}:libxl__device_disk_set_backend`;
  /** @type {string} */
  let kind = 'other';
  if (format === 'empty') {
    if (!cdrom) return { where: where(439), error: `Disk vdev=${p.vdev} is empty but not cdrom` };
    if (target !== '')
      return { where: where(443), error: `Disk vdev=${p.vdev} is empty but an image has been provided: ${target}` };
  } else if ((wanted === undefined || wanted === 'phy' || wanted === 'standalone') && !script) {
    kind = stat(target);
    if (kind === 'missing')
      return { where: where(455), error: `Disk vdev=${p.vdev} failed to stat: ${target}: No such file or directory` };
  }
  const fileOrBlock = kind === 'file' || kind === 'block';
  const tryBackend = (/** @type {string} */ b) => {
    if (virtio !== (b === 'standalone')) return false;
    if (b === 'phy') return format === 'raw' && !colo && (script || fileOrBlock);
    if (b === 'qdisk') return !script;
    if (b === 'standalone') return format === 'raw' && !script && !colo && fileOrBlock;
    return false; // tap: "backend tap unsuitable because blktap not available"
  };
  const chosen =
    wanted !== undefined ? [wanted].find(tryBackend) : ['phy', 'qdisk', 'tap', 'standalone'].find(tryBackend);
  if (!chosen) return { where: where(475), error: `no suitable backend for disk ${p.vdev}` };
  return { backend: chosen };
}

/**
 * A domain's disk backend: libxl's choice at `xl create`; for a seeded disk, the choice libxl
 * makes for a target that exists (a block device under /dev, else a regular file).
 * @param {any} d @param {any} x
 */
function diskBackendOf(d, x) {
  if (x.backend) return x.backend;
  const b = diskBackend(x, d.type, (t) => (t.startsWith('/dev/') ? 'block' : 'file'));
  return 'backend' in b ? b.backend : 'qdisk';
}

/** The credit netback was given, as `bytes,usecs` (libxl_nic.c libxl__set_xenstore_nic writes "rate"). @param {any} v */
function xsRateOf(v) {
  if (v.xsRate !== undefined) return v.xsRate;
  if (!v.rate) return undefined;
  const r = parseVifRate(v.rate);
  return `${r.bytesPerInterval},${r.intervalUsecs}`;
}

/**
 * Does this dom0's netback apply a rate written into xenstore while the vif runs? Linux's
 * drivers/net/xen-netback/xenbus.c: connect() reads `rate` (xen_net_read_rate), then
 * xen_register_watchers() → xen_register_credit_watch() watches BACKEND/rate and
 * xen_net_rate_changed() updates every queue's credit_bytes/credit_usec. Added in 2015
 * ("xen-netback: making the bandwidth limiter runtime settable"): kernels 4.2 and later.
 * The state may say otherwise with netbackRateWatch: true/false (a test knob, not an `xl info` field).
 * @param {any} state
 */
function netbackWatchesRate(state) {
  if (typeof state.netbackRateWatch === 'boolean') return state.netbackRateWatch;
  const m = /^(\d+)\.(\d+)/.exec(String(state.info.release ?? ''));
  return m ? Number(m[1]) > 4 || (Number(m[1]) === 4 && Number(m[2]) >= 2) : false;
}

/**
 * What netback enforces on a vif now (`bytes,usecs`, or undefined: unlimited); only meaningful
 * while the frontend is connected (backend state 4).
 * @param {any} v
 */
export function enforcedRate(v) {
  return v.enforced !== undefined ? v.enforced || undefined : xsRateOf(v);
}

/** @param {string} p @param {any} state */
function backendVif(p, state) {
  const m = /^\/local\/domain\/0\/backend\/vif\/(\d+)\/(\d+)\/(state|rate)$/.exec(p);
  if (!m) return undefined;
  const d = state.domains.find((/** @type {any} */ x) => x.domid === Number(m[1]));
  const v = d?.vifs.find((/** @type {any} */ x) => x.devid === Number(m[2]));
  return v ? { d, v, key: /** @type {'state' | 'rate'} */ (m[3]) } : undefined;
}

/**
 * A domain's own keys libxl writes and moves: memory/static-max, memory/target (without the video
 * memory) and memory/videoram in KiB (libxl_dom.c libxl__build_post; libxl_mem.c
 * libxl_set_memory_target writes target − videoram; RELEASE-4.1.0 libxl.c the same), and
 * cpu/N/availability, online or offline (libxl__build_post; libxl_set_vcpuonline,
 * libxl__set_vcpuonline_xenstore). undefined: not such a key; null: no such domain or vCPU.
 * @param {string} p @param {any} state
 * @returns {string | null | undefined}
 */
function domainKey(p, state) {
  const m = /^\/local\/domain\/(\d+)\/(memory\/(?:target|static-max|videoram)|cpu\/(\d+)\/availability)$/.exec(p);
  if (!m) return undefined;
  const d = state.domains.find((/** @type {any} */ x) => x.domid === Number(m[1]));
  if (!d) return null;
  const video = videoKb(d);
  if (m[2] === 'memory/target') return String((d.target ?? d.memory) * 1024 - video);
  if (m[2] === 'memory/static-max') return String(d.maxmem * 1024);
  if (m[2] === 'memory/videoram') return String(video);
  const n = Number(m[3]);
  if (n >= d.maxvcpus) return null;
  return n < (d.availability ?? d.vcpus) ? 'online' : 'offline';
}

/**
 * `xenstore-read PATH...` in dom0, for the keys the runbooks read: a guest's balloon driver
 * announces itself in control/feature-balloon (the Windows PV drivers write 1; a guest without
 * PV drivers writes nothing); a vif backend's `state` and `rate`. Other paths are not in this store.
 * @param {string[]} argv @param {string} dir
 * @returns {{ code: number, stdout: string, stderr: string }}
 */
export function runXenstoreRead(argv, dir) {
  try {
    appendFileSync(path.join(dir, 'calls.jsonl'), `${JSON.stringify({ cmd: 'xenstore-read', argv })}\n`);
  } catch {
    /* reported below */
  }
  const state = readXl(dir);
  if (!state) return { code: 1, stdout: '', stderr: 'xs_open: No such file or directory\n' };
  let stdout = '';
  for (const p of argv.filter((a) => !a.startsWith('-'))) {
    const be = backendVif(p, state);
    if (be) {
      const value = be.key === 'state' ? String(backendState(be.d)) : xsRateOf(be.v);
      if (value === undefined) return { code: 1, stdout, stderr: `xenstore-read: couldn't read path ${p}\n` };
      stdout += `${value}\n`;
      continue;
    }
    const own = domainKey(p, state);
    if (own !== undefined) {
      if (own === null) return { code: 1, stdout, stderr: `xenstore-read: couldn't read path ${p}\n` };
      stdout += `${own}\n`;
      continue;
    }
    const m = /^\/local\/domain\/(\d+)\/control\/feature-balloon$/.exec(p);
    const d = m ? state.domains.find((/** @type {any} */ x) => x.domid === Number(m[1])) : undefined;
    if (!d || !d.pvDrivers) return { code: 1, stdout, stderr: `xenstore-read: couldn't read path ${p}\n` };
    stdout += '1\n';
  }
  return { code: 0, stdout, stderr: '' };
}

/**
 * `xenstore-write PATH VALUE...` in dom0: a vif backend's `rate` (what netback does with it:
 * {@link netbackWatchesRate}). libxl keeps its own copy of the NIC (the domain's JSON, which
 * `xl list -l` prints): the write does not change it (libxl_nic.c libxl__nic_from_xenstore
 * reads no rate back). Other paths are refused here: this store holds only what the runbooks touch.
 * @param {string[]} argv @param {string} dir
 * @returns {{ code: number, stdout: string, stderr: string }}
 */
export function runXenstoreWrite(argv, dir) {
  try {
    appendFileSync(path.join(dir, 'calls.jsonl'), `${JSON.stringify({ cmd: 'xenstore-write', argv })}\n`);
  } catch {
    /* reported below */
  }
  const state = readXl(dir);
  if (!state) return { code: 1, stdout: '', stderr: 'xs_open: No such file or directory\n' };
  const args = argv.filter((a) => !a.startsWith('-'));
  if (args.length === 0 || args.length % 2)
    return { code: 1, stdout: '', stderr: 'Usage: xenstore-write [-h] [-s] [-R] key value [...]\n' };
  for (let i = 0; i < args.length; i += 2) {
    const p = /** @type {string} */ (args[i]);
    const be = backendVif(p, state);
    if (!be || be.key !== 'rate')
      return { code: 1, stdout: '', stderr: `xenstore-write: simulator has no writable path ${p}\n` };
    be.v.xsRate = args[i + 1];
    // xen_net_rate_changed → xen_net_read_rate: "BYTES,USECS"; a parse failure means unlimited.
    if (netbackWatchesRate(state) && backendState(be.d) === 4) {
      be.v.enforced = /^\d+,\d+$/.test(String(args[i + 1])) ? args[i + 1] : '';
    }
  }
  saveState(dir, state);
  return { code: 0, stdout: '', stderr: '' };
}

/** The device number xl shows for a vdev (xen-vbd-interface). @param {string} vdev */
export function vdevNumber(vdev) {
  const letters = (/** @type {string} */ s) => [...s].reduce((n, ch) => n * 26 + (ch.charCodeAt(0) - 96), 0) - 1;
  let m = /^xvd([a-z]+)(\d*)$/.exec(vdev);
  if (m) {
    const disk = letters(m[1] ?? 'a');
    const part = Number(m[2] || 0);
    return disk < 16 ? (202 << 8) | (disk << 4) | part : (1 << 28) | (disk << 8) | part;
  }
  m = /^hd([a-z])(\d*)$/.exec(vdev);
  if (m) {
    const disk = letters(m[1] ?? 'a');
    const major = [3, 3, 22, 22][disk] ?? 3;
    return (major << 8) | ((disk % 2) << 6) | Number(m[2] || 0);
  }
  m = /^sd([a-z])(\d*)$/.exec(vdev);
  if (m) return (8 << 8) | (letters(m[1] ?? 'a') << 4) | Number(m[2] || 0);
  return Number(vdev) || 0;
}

/** Entry point of test/sim/bin/xl and xm. @param {'xl'|'xm'} tool */
export function main(tool) {
  const dir = process.env.XR_SIM_DIR;
  if (!dir) {
    process.stderr.write(`${tool} simulator: XR_SIM_DIR is not set\n`);
    process.exit(2);
  }
  const r = runXl(tool, process.argv.slice(2), dir, process.env.XR_SIM_ROOT ? { root: process.env.XR_SIM_ROOT } : {});
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.code;
}
