#!/usr/bin/env node
// @ts-check
/**
 * QoS and dynamic resources of a Xen guest: network rate, disk I/O priority, CPU weight and cap,
 * vCPUs and memory, changed live where Xen allows it and kept for the next start with --persist.
 *
 * When each request takes effect (live, after a device re-plug, or only after a restart) comes
 * from one model, src/xen/qos.ts, which also draws the table on the runbook page.
 */
import { definePlaybook, step, ok, change, skip, usage, refuse, fail } from 'xen-runbooks/engine';
import {
  BoundError,
  IO_CLASSES,
  checkCap,
  checkLiveMemory,
  checkLiveVcpus,
  configDisks,
  configVifs,
  creditArithmetic,
  formatCredit,
  decide,
  describeDecision,
  ioClassOf,
  mib,
  oracleIoniceParams,
  parseInfo,
  parseRate,
  parseSchedParams,
  parseSxp,
  parseWeight,
  rewriteConfig,
  sameRate,
  storedFromConfig,
  sxpAll,
  sxpGet,
  toTbfParams,
  toXeKbps,
  DEFAULT_INTERVAL_US,
  WEIGHT_DEFAULT,
  checkIoPriority,
  rateLimitsVif,
} from 'xen-runbooks/xen/qos';
import {
  attachAppliesRate,
  attachTakesDevid,
  credit2HasCap,
  netbackWatchesRate,
  versionText,
  xenVersionOf,
  xlRebootKeeps,
} from 'xen-runbooks/xen/xlversion';
import { XlConfig } from 'xen-runbooks/xen/xlcfg';
import { checkLiveMemoryFloor } from 'xen-runbooks/xen/memfloor';
import { xeList, xeRecords } from 'xen-runbooks/xen/xe';

/** @typedef {import('xen-runbooks/xen/qos').DomainFacts} DomainFacts */
/** @typedef {import('xen-runbooks/xen/qos').VifFacts} VifFacts */
/** @typedef {import('xen-runbooks/xen/qos').DiskFacts} DiskFacts */
/** @typedef {import('xen-runbooks/xen/qos').Decision} Decision */
/** @typedef {import('xen-runbooks/xen/qos').RequestKind} RequestKind */
/** @typedef {import('xen-runbooks/xen/qos').Rate} Rate */
/** @typedef {import('xen-runbooks/xen/qos').IoClass} IoClass */
/** @typedef {import('xen-runbooks/xen/qos').ConfigChanges} ConfigChanges */
/** @typedef {import('xen-runbooks/engine').Context} Ctx */
/** @typedef {{ params?: string[], edit?: import('xen-runbooks/engine').FileEdit }} PersistData */
/** @typedef {import('xen-runbooks/engine').OptionValues<typeof OPTIONS>} Opts */

/**
 * What the administrator asked for, checked against the bounds that need no host.
 * @typedef {{
 *   weight?: { weight: number, name?: string },
 *   cap?: number,
 *   vcpus?: number,
 *   memory?: number,
 *   rate?: Rate,
 *   inbound?: Rate,
 *   io?: { cls: IoClass, prio: number | undefined },
 * }} Want
 */

/**
 * One request, decided: when it takes effect, on which device, with which values.
 * @typedef {{
 *   option: string,
 *   value: string,
 *   decision: Decision,
 *   vif?: VifFacts,
 *   disk?: DiskFacts,
 *   kbps?: number,
 *   timesliceUs?: number,
 *   xeIntervalUs?: number,
 *   route?: 'emulated' | 'xenstore' | 'replug' | 'replug-no-devid' | 'next-start',
 * }} Planned
 */

const MiB = 1024 ** 2;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The xe limit as the VIF keeps it: `kbps=K` and, when the rate names its interval, `timeslice_us=T`. @param {Planned} r */
const xeQosText = (r) => `kbps=${r.kbps}${r.timesliceUs !== undefined ? `, timeslice_us=${r.timesliceUs}` : ''}`;

/** The options, typed as declared. @param {Ctx} ctx */
const options = (ctx) => /** @type {Opts} */ (/** @type {unknown} */ (ctx.opts));
/** The DOMAIN argument (the runner requires it). @param {Ctx} ctx */
const domainName = (ctx) => /** @type {string} */ (ctx.args.DOMAIN);
/** @param {Ctx} ctx @returns {Want} */
const wanted = (ctx) => /** @type {Want} */ (ctx.state.want);
/** @param {Ctx} ctx @returns {DomainFacts} */
const facts = (ctx) => /** @type {DomainFacts} */ (ctx.state.facts);
/** @param {Ctx} ctx @returns {Planned[]} */
const planned = (ctx) => /** @type {Planned[]} */ (ctx.state.plan ?? []);
/** @param {Ctx} ctx @param {RequestKind[]} kinds */
const request = (ctx, ...kinds) => planned(ctx).find((p) => kinds.includes(p.decision.kind));
/** @param {DomainFacts} f */
const domRef = (f) => (f.domid !== undefined ? String(f.domid) : f.name);

/* ------------------------------------------------------------------ reading the domain */

/** @param {Ctx} ctx @returns {Promise<'xl' | 'xe' | 'xm'>} */
async function detectToolstack(ctx) {
  if (await ctx.host.exists('/etc/xensource-inventory')) return 'xe';
  if ((await ctx.$({ nothrow: true })`xl info`).exitCode === 0) return 'xl';
  if ((await ctx.$({ nothrow: true })`xm info`).exitCode === 0) return 'xm';
  throw fail('neither xe, xl nor xm answers on this host: is it running Xen? (or say which with --toolstack)');
}

/** The domain's configuration file: --config, else the usual places. @param {Ctx} ctx @param {'xl' | 'xm'} tool */
async function findConfig(ctx, tool) {
  const name = domainName(ctx);
  const given = options(ctx).config;
  const candidates = given
    ? [given]
    : [
        `/etc/xen/${name}.cfg`,
        `/etc/xen/${name}`,
        ...(tool === 'xm' ? [`/OVS/running_pool/${name}/vm.cfg`, `/etc/xen/auto/${name}`] : []),
      ];
  for (const path of candidates) {
    const text = await ctx.host.readText(path);
    if (text === undefined) continue;
    try {
      // xend executed its files as Python: read what xl's grammar allows and skip the rest.
      return { path, cfg: XlConfig.parse(text, { source: path, lenient: tool === 'xm' }) };
    } catch (e) {
      throw usage(`${path} cannot be read as a domain configuration: ${/** @type {Error} */ (e).message}`);
    }
  }
  if (given) throw usage(`--config ${given}: no such file`);
  return { path: undefined, cfg: undefined, looked: candidates };
}

/**
 * xl and xm: the live domain (`list -l`, `sched-credit`), the host (`info`), the config file.
 * @param {Ctx} ctx @param {'xl' | 'xm'} tool @returns {Promise<DomainFacts>}
 */
async function readXlXm(ctx, tool) {
  const name = domainName(ctx);
  const info = parseInfo((await ctx.$`${tool} info`).stdout);
  const nrCpus = Number(info.nr_cpus);
  const scheduler = info.xen_scheduler ?? 'credit';
  const xen = xenVersionOf(info);
  const host = {
    ...(xen ? { xen } : {}),
    ...(info.release ? { dom0Kernel: info.release } : {}),
    // Oracle VM Server's dom0 carries /etc/ovs-release; its xend alone reads vif_other_config and
    // disk_other_config (upstream xend's create.py has neither key, RELEASE-4.1.0 to 4.4.0).
    ...(tool === 'xm' ? { oracleVm: await ctx.host.exists('/etc/ovs-release') } : {}),
  };
  const { path: configPath, cfg, looked } = await findConfig(ctx, tool);
  const listed = await ctx.$({ nothrow: true })`${tool} list ${name}`;
  if (listed.exitCode !== 0 && !/invalid domain|not found|does not exist|no such domain/i.test(listed.stderr)) {
    throw fail(`${tool} list ${name} failed: ${listed.stderr.trim() || listed.stdout.trim()}`);
  }
  const stored = cfg ? storedFromConfig(cfg, tool) : {};
  if (listed.exitCode !== 0) {
    if (!cfg)
      throw usage(
        `${name} is not running and has no configuration file (looked at ${looked?.join(', ')}): give --config FILE`,
      );
    const type = cfg.get('type') ?? (cfg.get('builder') === 'hvm' ? 'hvm' : 'pv');
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
      maxMemory: cfg.getNumber('maxmem') !== undefined ? /** @type {number} */ (stored.maxMemory) : Infinity,
      vifs: configVifs(cfg),
      disks: configDisks(cfg),
      ...(configPath ? { configPath } : {}),
      stored,
      ...host,
    };
  }
  const live = tool === 'xl' ? await readXlLive(ctx, name, cfg) : await readXmLive(ctx, name, cfg);
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

/** @param {Ctx} ctx @param {number} domid @returns {Promise<boolean | undefined>} */
async function balloonDriver(ctx, domid) {
  // The guest's balloon driver says it is there (Linux and the Windows PV drivers write it).
  const r = await ctx.$({ nothrow: true })`xenstore-read /local/domain/${String(domid)}/control/feature-balloon`;
  if (r.exitCode !== 0) return undefined;
  return r.stdout.trim() === '1';
}

/**
 * @param {Ctx} ctx @param {string} name @param {XlConfig | undefined} cfg
 * @returns {Promise<Omit<DomainFacts, 'toolstack' | 'name' | 'state' | 'scheduler' | 'nrCpus' | 'stored'>>}
 */
async function readXlLive(ctx, name, cfg) {
  const [dom] = JSON.parse((await ctx.$`xl list -l ${name}`).stdout);
  const c = dom.config;
  const b = c.b_info ?? {};
  const row = (await ctx.$`xl list ${name}`).stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) ?? [];
  const online = Number(row.at(-3));
  const fromConfig = cfg ? configVifs(cfg) : [];
  /** @type {VifFacts[]} */
  const vifs = [];
  for (const [i, n] of /** @type {any[]} */ (c.nics ?? []).entries()) {
    const devid = n.devid ?? i;
    const mac = String(n.mac ?? '').toLowerCase();
    const known = fromConfig.find((v) => v.mac && v.mac === mac);
    // Attach it again as libxl has it now, not as the file says: a file edited since the domain
    // started may hold keys this release's network-attach refuses (mtu= before 4.15, …).
    /** @type {Record<string, string>} */
    const params = {
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
    vcpus: Number.isFinite(online) ? online : (b.avail_vcpus?.length ?? b.max_vcpus),
    maxVcpus: b.max_vcpus,
    memory: Number(b.target_memkb) * 1024,
    maxMemory: Number(b.max_memkb) * 1024,
    ...(balloon !== undefined ? { balloon } : {}),
    vifs,
    disks: (c.disks ?? []).map((/** @type {any} */ d) => ({ vdev: d.vdev })),
  };
}

/**
 * xend's view: `xm list --long` prints the domain as an S-expression.
 * @param {Ctx} ctx @param {string} name @param {XlConfig | undefined} cfg
 * @returns {Promise<Omit<DomainFacts, 'toolstack' | 'name' | 'state' | 'scheduler' | 'nrCpus' | 'stored'>>}
 */
async function readXmLive(ctx, name, cfg) {
  const [dom = []] = parseSxp((await ctx.$`xm list --long ${name}`).stdout);
  const domid = Number(sxpGet(dom, 'domid'));
  const maxVcpus = Number(sxpGet(dom, 'vcpus'));
  const avail = sxpGet(dom, 'vcpu_avail');
  const online =
    sxpGet(dom, 'online_vcpus') ?? (avail ? String(Number(avail).toString(2).replace(/0/g, '').length) : undefined);
  const fromConfig = cfg ? configVifs(cfg) : [];
  const devices = sxpAll(dom, 'device').map((d) => d[1]);
  /** @type {VifFacts[]} */
  const vifs = [];
  /** @type {DiskFacts[]} */
  const disks = [];
  for (const d of devices) {
    if (!Array.isArray(d)) continue;
    if (d[0] === 'vif') {
      const mac = (sxpGet(d, 'mac') ?? '').toLowerCase();
      const rate = sxpGet(d, 'rate');
      const index = vifs.length;
      const known = fromConfig.find((v) => v.mac === mac);
      const credit = rate ? parseRate(rate) : undefined;
      vifs.push({
        index,
        mac,
        credit: credit ? { bytesPerInterval: credit.bytesPerInterval, intervalUs: credit.intervalUs } : undefined,
        params: {
          ...(known?.params ?? {
            ...(sxpGet(d, 'bridge') ? { bridge: /** @type {string} */ (sxpGet(d, 'bridge')) } : {}),
            ...(sxpGet(d, 'type') ? { type: /** @type {string} */ (sxpGet(d, 'type')) } : {}),
            ...(sxpGet(d, 'script') ? { script: /** @type {string} */ (sxpGet(d, 'script')) } : {}),
          }),
          mac: known?.params?.mac ?? mac,
        },
      });
    } else if (d[0] === 'vbd' || d[0] === 'tap' || d[0] === 'tap2') {
      const dev = (sxpGet(d, 'dev') ?? '').replace(/:(disk|cdrom)$/, '');
      if (dev) disks.push({ vdev: dev });
    }
  }
  // xend's devids and the backends' xenbus state (4: the guest's netfront connected): `xm network-list`.
  const listed = await ctx.$({ nothrow: true })`xm network-list ${name}`;
  for (const line of listed.exitCode === 0 ? listed.stdout.split('\n').slice(1) : []) {
    const cols = line.trim().split(/\s+/);
    const vif = vifs.find((v) => v.mac === (cols[2] ?? '').toLowerCase());
    if (!vif || !/^\d+$/.test(cols[0] ?? '') || !/^\d+$/.test(cols[4] ?? '')) continue;
    vif.index = Number(cols[0]);
    vif.backendState = Number(cols[4]);
  }
  const image = sxpAll(dom, 'image')[0]?.[1];
  return {
    domid,
    guestType: Array.isArray(image) && image[0] === 'hvm' ? 'hvm' : 'pv',
    vcpus: Number(online ?? maxVcpus),
    maxVcpus,
    memory: Number(sxpGet(dom, 'memory')) * MiB,
    maxMemory: Number(sxpGet(dom, 'maxmem')) * MiB,
    vifs,
    disks,
  };
}

/**
 * xe: the VM's fields in xapi; the running domain's scheduler through xl in dom0.
 * @param {Ctx} ctx @returns {Promise<DomainFacts>}
 */
async function readXe(ctx) {
  const name = domainName(ctx);
  const uuids = UUID_RE.test(name)
    ? await xeList(ctx.$, 'vm', { uuid: name })
    : await xeList(ctx.$, 'vm', { 'name-label': name, 'is-control-domain': 'false' });
  if (uuids.length === 0) throw usage(`xe knows no VM named ${name}`);
  if (uuids.length > 1) throw usage(`${uuids.length} VMs are named ${name}: give the uuid (${uuids.join(', ')})`);
  const uuid = /** @type {string} */ (uuids[0]);
  const fields = [
    'power-state',
    'dom-id',
    'resident-on',
    'VCPUs-max',
    'VCPUs-at-startup',
    'VCPUs-params',
    'memory-static-min',
    'memory-static-max',
    'memory-dynamic-min',
    'memory-dynamic-max',
    'HVM-boot-policy',
    'PV-drivers-version',
    'other',
  ];
  const [vm] = await xeRecords(ctx.$, 'vm', { uuid }, fields);
  if (!vm) throw fail(`xe vm-list uuid=${uuid} printed nothing`);
  const power = vm.get('power-state');
  if (power !== 'running' && power !== 'halted') {
    throw refuse(`${name} is ${power}: resume or shut it down first (this playbook acts on running or halted VMs)`);
  }
  const info = parseInfo((await ctx.$`xl info`).stdout);
  const params = vm.map('VCPUs-params');
  const vifs = (
    await xeRecords(ctx.$, 'vif', { 'vm-uuid': uuid }, [
      'uuid',
      'device',
      'MAC',
      'currently-attached',
      'qos_algorithm_type',
      'qos_algorithm_params',
    ])
  )
    .map((r) => {
      const q = r.map('qos_algorithm_params');
      const kbps = q.kbps;
      // xapi_xenops.ml reads timeslice_us beside kbps; 0 or absent means xenopsd's 50 ms.
      const ts = Number(q.timeslice_us);
      return {
        index: Number(r.get('device')),
        mac: (r.get('MAC') ?? '').toLowerCase(),
        uuid: /** @type {string} */ (r.get('uuid')),
        qosType: r.get('qos_algorithm_type') ?? '',
        ...(kbps !== undefined ? { kbps: Number(kbps) } : {}),
        ...(Number.isInteger(ts) && ts > 0 ? { timesliceUs: ts } : {}),
        attached: r.get('currently-attached') === 'true',
      };
    })
    .sort((a, b) => a.index - b.index);
  const disks = (
    await xeRecords(ctx.$, 'vbd', { 'vm-uuid': uuid, type: 'Disk' }, [
      'uuid',
      'device',
      'userdevice',
      'qos_algorithm_type',
      'qos_algorithm_params',
    ])
  ).map((r) => {
    const q = r.map('qos_algorithm_params');
    const cls = r.get('qos_algorithm_type') === 'ionice' ? ioClassOf(q.sched) : undefined;
    return {
      // A halted VM's VBD may have no device name yet: its userdevice number names it too.
      vdev: r.get('device') || /** @type {string} */ (r.get('userdevice')),
      aliases: [/** @type {string} */ (r.get('userdevice'))],
      uuid: /** @type {string} */ (r.get('uuid')),
      ...(cls ? { ioClass: cls } : {}),
      ...(q.class !== undefined && /^\d$/.test(q.class) ? { ioPriority: Number(q.class) } : {}),
    };
  });
  const running = power === 'running';
  const domid = running ? Number(vm.get('dom-id')) : undefined;
  // The guest's balloon driver announces itself; xapi shows it in the guest metrics (other:feature-balloon).
  const other = vm.map('other');
  const drivers = Object.keys(vm.map('PV-drivers-version')).length > 0;
  const balloon = !running ? undefined : other['feature-balloon'] === '1' ? true : drivers ? false : undefined;
  /** @type {DomainFacts} */
  const f = {
    toolstack: 'xe',
    name,
    uuid,
    state: running ? 'running' : 'halted',
    guestType: vm.get('HVM-boot-policy') ? 'hvm' : 'pv',
    scheduler: info.xen_scheduler ?? 'credit',
    nrCpus: Number(info.nr_cpus),
    vcpus: Number(vm.get('VCPUs-at-startup')),
    maxVcpus: Number(vm.get('VCPUs-max')),
    memory: Number(vm.get('memory-dynamic-max')),
    maxMemory: Number(vm.get('memory-static-max')),
    minMemory: Number(vm.get('memory-static-min')),
    ...(balloon !== undefined ? { balloon } : {}),
    vifs,
    disks,
    stored: {
      weight: params.weight !== undefined ? Number(params.weight) : WEIGHT_DEFAULT,
      cap: params.cap !== undefined ? Number(params.cap) : 0,
      vcpus: Number(vm.get('VCPUs-at-startup')),
      maxVcpus: Number(vm.get('VCPUs-max')),
      memory: Number(vm.get('memory-dynamic-max')),
      maxMemory: Number(vm.get('memory-static-max')),
    },
  };
  if (domid !== undefined) {
    f.domid = domid;
    ctx.state.residentOn = vm.get('resident-on');
    if (vm.get('memory-dynamic-min') !== vm.get('memory-dynamic-max')) ctx.state.dynamicRange = true;
    if (['credit', 'credit2'].includes(f.scheduler) && (await residentHere(ctx))) {
      const cmd = f.scheduler === 'credit2' ? 'sched-credit2' : 'sched-credit';
      const sched = parseSchedParams((await ctx.$`xl ${cmd} -d ${String(domid)}`).stdout);
      if (sched) f.sched = sched;
    }
  }
  return f;
}

/** Is the VM's domain on this host? xl in dom0 sees only the domains of its own host. @param {Ctx} ctx */
async function residentHere(ctx) {
  const inventory = (await ctx.host.readText('/etc/xensource-inventory')) ?? '';
  const here = /^INSTALLATION_UUID=['"]?([^'"\n]+)/m.exec(inventory)?.[1];
  ctx.state.hostUuid = here;
  return here !== undefined && here === ctx.state.residentOn;
}

/** @param {DomainFacts} f */
function describeFacts(f) {
  const mem = (/** @type {number} */ b) => (Number.isFinite(b) ? `${mib(b)} MiB` : 'no maximum set');
  const vc = (/** @type {number} */ n) => (Number.isFinite(n) ? String(n) : 'no maximum set');
  const lines = [
    `${f.name}: ${f.state}${f.domid !== undefined ? ` as domain ${f.domid}` : ''}${f.guestType ? ` (${f.guestType})` : ''}, managed by ${f.toolstack}`,
    `host: ${f.nrCpus} CPUs, scheduler ${f.scheduler}`,
    `CPU: weight ${f.sched?.weight ?? f.stored.weight ?? WEIGHT_DEFAULT}, cap ${f.sched?.cap ?? f.stored.cap ?? 0}`,
    `vCPUs: ${f.vcpus}, boot maximum ${vc(f.maxVcpus)}`,
    `memory: ${f.memory ? `${mib(f.memory)} MiB` : 'not set'}, boot maximum ${mem(f.maxMemory)}${
      f.balloon === undefined ? '' : f.balloon ? ', balloon driver present' : ', no balloon driver'
    }`,
    ...f.vifs.map(
      (v) =>
        `vif ${v.index} ${v.mac || '(no fixed MAC)'}: ${
          f.toolstack === 'xe'
            ? v.qosType === 'ratelimit' && v.kbps !== undefined
              ? `kbps=${v.kbps}${v.timesliceUs ? `, timeslice_us=${v.timesliceUs}` : ''}`
              : 'no limit'
            : v.credit
              ? formatCredit(v.credit)
              : 'no limit'
        }`,
    ),
    ...f.disks.map(
      (d) =>
        `disk ${d.vdev}${d.ioClass ? `: ionice ${IO_CLASSES[d.ioClass].title}${d.ioPriority !== undefined ? ` ${d.ioPriority}` : ''}` : ''}`,
    ),
    ...(f.configPath ? [`config file: ${f.configPath}`] : []),
  ];
  return lines;
}

/* ------------------------------------------------------------------ deciding */

/**
 * Every request against the model and the bounds. Returns the plan, or the list of violations.
 * @param {Ctx} ctx @param {DomainFacts} f
 */
function planRequests(ctx, f) {
  const want = wanted(ctx);
  const persist = options(ctx).persist;
  /** @type {Planned[]} */
  const plan = [];
  /** @type {string[]} */
  const violations = [];
  /** @param {RequestKind} kind @param {string} option @param {string} value @param {Partial<Planned>} [extra] */
  const add = (kind, option, value, extra = {}) => {
    const decision = decide(kind, f.toolstack, f.state, persist);
    if (decision.impossible) violations.push(`${option} ${value}: ${decision.impossible}`);
    plan.push({ option, value, decision, ...extra });
    return decision;
  };
  /** @param {() => void} check */
  const bound = (check) => {
    try {
      check();
      return true;
    } catch (e) {
      if (e instanceof BoundError) {
        violations.push(e.message);
        return false;
      }
      throw e;
    }
  };
  const liveCpu = f.state === 'running';
  if ((want.weight || want.cap !== undefined) && !['credit', 'credit2'].includes(f.scheduler)) {
    const msg = `the host runs the ${f.scheduler} scheduler, which has no weight or cap (credit and credit2 do)`;
    if (liveCpu) violations.push(msg);
    else ctx.log.warn(msg);
  }
  if (want.weight?.name && want.weight.weight < WEIGHT_DEFAULT) {
    ctx.log.warn(
      `Oracle VM's ${want.weight.name} is weight ${want.weight.weight}, below the default ${WEIGHT_DEFAULT} that ` +
        'other domains have unless set: next to them this guest gets less CPU, not more (weights are relative)',
    );
  }
  if (want.weight) {
    add(
      'cpu-weight',
      '--cpu-weight',
      want.weight.name ? `${want.weight.name} (${want.weight.weight})` : String(want.weight.weight),
    );
  }
  if (want.cap !== undefined) {
    // libxl checks a cap against the domain's vCPU maximum: the one it runs with, or will start with.
    const domainVcpus =
      f.state === 'running'
        ? f.maxVcpus
        : Math.max(want.vcpus ?? 0, Number.isFinite(f.maxVcpus) ? f.maxVcpus : f.vcpus);
    bound(() => checkCap(/** @type {number} */ (want.cap), f.nrCpus, domainVcpus));
    add('cpu-cap', '--cpu-cap', String(want.cap));
    // credit2 caps: xl sched-credit2 -c from Xen 4.10 (xl_sched.c); xend's sched-credit2 takes -w only.
    if (
      liveCpu &&
      f.scheduler === 'credit2' &&
      (f.toolstack === 'xm' || (f.toolstack === 'xl' && !credit2HasCap(f.xen)))
    ) {
      violations.push(
        `--cpu-cap ${want.cap}: ${f.toolstack === 'xm' ? "xm sched-credit2 takes a weight only (xend's credit2 has no cap)" : `xl sched-credit2 has no cap before Xen 4.10 (this host runs ${versionText(f.xen)})`}`,
      );
    }
  }
  if (want.vcpus !== undefined) {
    const above = want.vcpus > f.maxVcpus;
    // An HVM guest gets vCPUs hot-added through QEMU but none taken away (libxl_set_vcpuonline).
    const fewerHvm =
      !above && f.state === 'running' && f.toolstack !== 'xe' && f.guestType === 'hvm' && want.vcpus < f.vcpus;
    const d = add(above ? 'vcpus-above-max' : fewerHvm ? 'vcpus-fewer-hvm' : 'vcpus', '--vcpus', String(want.vcpus));
    if (fewerHvm && d.impossible) {
      violations.pop();
      violations.push(`--vcpus ${want.vcpus}: ${d.how} (${d.why}); --persist writes it for the next start`);
    }
    if (above && f.state === 'running' && d.impossible) {
      violations.pop();
      bound(() => checkLiveVcpus(/** @type {number} */ (want.vcpus), f.maxVcpus));
      violations.push(`  ${d.impossible}`);
    }
    if (f.state === 'running' && !above && f.toolstack === 'xl' && want.vcpus > f.vcpus && want.vcpus > f.nrCpus) {
      // xl vcpu-set refuses this ("You are overcommmitting!") unless given --ignore-host.
      violations.push(
        `--vcpus ${want.vcpus}: more vCPUs than the host's ${f.nrCpus} CPUs; xl vcpu-set refuses to overcommit a domain`,
      );
    }
  }
  if (want.memory !== undefined) {
    const above = want.memory > f.maxMemory;
    const d = add(above ? 'memory-above-max' : 'memory', '--memory', `${mib(want.memory)} MiB`);
    if (f.state === 'running') {
      if (above && d.impossible) {
        violations.pop();
        bound(() => checkLiveMemory(/** @type {number} */ (want.memory), f.maxMemory, f.minMemory ?? 0));
        violations.push(`  ${d.impossible}`);
      } else if (!above) {
        if (bound(() => checkLiveMemory(/** @type {number} */ (want.memory), f.maxMemory, f.minMemory ?? 0)))
          bound(() => checkLiveMemoryFloor(/** @type {number} */ (want.memory), f));
        if (want.memory < f.memory && f.balloon !== true && !(f.balloon === undefined && f.guestType !== 'hvm')) {
          ctx.log.warn(
            `${f.name} ${f.balloon === false ? 'has no balloon driver' : 'may have no balloon driver (it did not say)'}: ` +
              `asked to shrink from ${mib(f.memory)} to ${mib(want.memory)} MiB, it cannot give memory back; ` +
              'the target changes but the guest keeps what it has (install its PV drivers first)',
          );
        }
      }
    } else if (f.toolstack === 'xe' && f.minMemory && want.memory < f.minMemory) {
      bound(() =>
        checkLiveMemory(
          /** @type {number} */ (want.memory),
          Math.max(f.maxMemory, /** @type {number} */ (want.memory)),
          f.minMemory,
        ),
      );
    }
    if (f.guestType === 'hvm' && f.toolstack !== 'xe' && (persist || f.state === 'halted')) {
      const max = above ? want.memory : Number.isFinite(f.maxMemory) ? f.maxMemory : want.memory;
      if (want.memory < max && f.balloon !== true) {
        ctx.log.warn(
          `memory ${mib(want.memory)} MiB below maxmem ${mib(max)} MiB: an HVM guest then starts pre-ballooned and, without a balloon driver, crashes when it touches all its memory`,
        );
      }
    }
  }
  if (want.rate) {
    const vif = pickVif(f, options(ctx).vif, violations);
    /** @type {Partial<Planned>} */
    const extra = vif ? { vif } : {};
    if (f.toolstack === 'xe') {
      bound(() => {
        const x = toXeKbps(/** @type {Rate} */ (want.rate));
        extra.kbps = x.kbps;
        extra.xeIntervalUs = x.intervalUs;
        if (x.timesliceUs !== undefined) extra.timesliceUs = x.timesliceUs;
        ctx.log.info(`  rate for xe: ${x.arithmetic}`);
        for (const n of x.notes) ctx.log.warn(n);
      });
    } else ctx.log.info(`  rate: ${creditArithmetic(want.rate)}`);
    const d = add('vif-rate', '--rate', want.rate.text, extra);
    if (f.toolstack !== 'xe' && f.state === 'running' && vif) {
      extra.route = rateRoute(f, vif);
      if (extra.route === 'replug' || extra.route === 'replug-no-devid') {
        d.effect = 'replug';
        d.how = `${f.toolstack} network-detach, then ${f.toolstack} network-attach with rate= (the same MAC${extra.route === 'replug' ? ' and devid' : '; a new devid: xl takes devid= only from Xen 4.9'})`;
      } else if (extra.route === 'next-start') {
        d.effect = 'restart';
        d.how = `nothing live: xl ${versionText(f.xen)}'s network-attach drops rate= and dom0's kernel ${f.dom0Kernel ?? '?'} does not watch the rate key`;
      } else if (extra.route === 'emulated') {
        d.effect = 'restart';
        d.how = `nothing: vif ${vif.index} carries no traffic of ${f.name}, which has no PV network driver and sends through QEMU's emulated NIC, which no rate limits`;
      }
      d.lostOnRestart = (d.effect === 'live' || d.effect === 'replug') && !d.kept;
      Object.assign(plan[plan.length - 1] ?? {}, { route: extra.route });
      if (d.effect === 'restart' && !d.kept) {
        violations.push(`--rate ${want.rate.text}: ${d.how}; --persist writes it for the next start`);
      } else if (extra.route === 'emulated') {
        ctx.log.warn(
          `${f.name} sends through QEMU's emulated NIC: the rate written for the next start limits it only once its PV network driver is installed`,
        );
      }
    }
  }
  if (want.inbound) {
    const vif = pickVif(f, options(ctx).vif, violations);
    add('vif-rate-in', '--inbound-rate', want.inbound.text, vif ? { vif } : {});
  }
  if (f.toolstack === 'xm' && !f.oracleVm && (want.inbound || want.io)) {
    violations.push(
      `${want.inbound ? '--inbound-rate' : '--io-priority/--io-class'}: vif_other_config and disk_other_config are read by Oracle VM's xend only ` +
        '(no /etc/ovs-release on this host); upstream xend ignores them, so nothing would be limited',
    );
  }
  if (want.io) {
    const disk = pickDisk(f, options(ctx).disk, violations);
    const shown = want.io.prio === undefined ? want.io.cls : `${want.io.cls} ${want.io.prio}`;
    add('io-priority', want.io.prio !== undefined ? '--io-priority' : '--io-class', shown, disk ? { disk } : {});
  }
  if (
    f.toolstack !== 'xe' &&
    !f.configPath &&
    plan.some((p) => p.decision.keep?.by === 'persist' && (persist || f.state === 'halted'))
  ) {
    violations.push(`--persist: ${f.name} has no configuration file where it was looked for: give --config FILE`);
  }
  return { plan, violations };
}

/**
 * Detach an interface and attach it again with a new rate; never leave the guest without it.
 * The devid is given only where xl takes devid= (Xen 4.9); elsewhere the interface comes back
 * under the next free devid, which is reported. If the attach with the rate fails, the interface
 * is attached back as it was (without devid, which every release takes) and its presence is
 * checked by MAC. Detach first: two interfaces with one MAC on a bridge would confuse it.
 * @param {Ctx} ctx @param {DomainFacts} f @param {VifFacts} vif @param {Rate} rate @param {boolean} withDevid
 */
async function replug(ctx, f, vif, rate, withDevid) {
  const tool = f.toolstack;
  /** @type {Record<string, string>} */
  const params = { ...vif.params };
  // A NIC hot-plugged into an HVM guest is PV only: let libxl choose (libxl_nic.c setdefault).
  if (f.guestType === 'hvm') delete params.type;
  const devid = withDevid ? { devid: String(vif.index) } : {};
  const spec = Object.entries({ ...params, ...devid, rate: rate.text }).map(([k, v]) => `${k}=${v}`);
  // The old limit, when it can be written back exactly (bytes/s at its interval).
  const old = vif.credit;
  const oldRate =
    old && (old.bytesPerInterval * 1_000_000) % old.intervalUs === 0
      ? { rate: `${(old.bytesPerInterval * 1_000_000) / old.intervalUs}B/s@${old.intervalUs}us` }
      : {};
  const original = Object.entries({ ...params, ...oldRate }).map(([k, v]) => `${k}=${v}`);
  const present = async () => {
    const listed = await ctx.$({ nothrow: true })`${tool} network-list ${domRef(f)}`;
    const row = listed.stdout.split('\n').find((l) => l.toLowerCase().includes(vif.mac));
    return row ? Number(row.trim().split(/\s+/)[0]) : undefined;
  };
  await ctx.$`${tool} network-detach ${domRef(f)} ${String(vif.index)}`;
  const attached = await ctx.$({ nothrow: true })`${tool} network-attach ${domRef(f)} ${spec}`;
  if (attached.exitCode !== 0) {
    // Put the interface back as it was: a guest without its network is worse than no limit.
    const sameDevid = Object.entries(devid).map(([k, v]) => `${k}=${v}`);
    const put = await ctx.$({ nothrow: true })`${tool} network-attach ${domRef(f)} ${[...original, ...sameDevid]}`;
    if (put.exitCode !== 0 && sameDevid.length)
      await ctx.$({ nothrow: true })`${tool} network-attach ${domRef(f)} ${original}`;
    const back = await present();
    throw fail(
      `${tool} network-attach with rate=${rate.text} failed: ${attached.stderr.trim()}; ` +
        (back !== undefined
          ? `vif ${vif.index} was attached again without the new rate${back !== vif.index ? `, as devid ${back}` : ''}`
          : `vif ${vif.index} is DETACHED, attach it by hand: ${tool} network-attach ${domRef(f)} ${original.join(' ')}`),
    );
  }
  const now = await present();
  if (now !== undefined && now !== vif.index) {
    ctx.log.warn(`vif ${vif.index} (${vif.mac}) came back as devid ${now}: this release cannot keep the devid`);
    ctx.report.vifDevid = { was: vif.index, now };
  }
}

/**
 * How a running xl/xm domain's interface gets a new rate:
 * - `emulated`: it cannot: an HVM guest whose netfront never connected uses QEMU's NIC;
 * - `xenstore`: written into the backend's rate key, which netback watches (dom0 Linux 4.2+);
 * - `replug` / `replug-no-devid`: detached and attached again, with its devid where xl takes
 *   devid= (Xen 4.9+), else under the next free one (xm never takes one);
 * - `next-start`: xl 4.1's network-attach drops rate=: only the next start applies it.
 * @param {DomainFacts} f @param {VifFacts} vif
 * @returns {'emulated' | 'xenstore' | 'replug' | 'replug-no-devid' | 'next-start'}
 */
function rateRoute(f, vif) {
  if (!rateLimitsVif(f, vif)) return 'emulated';
  if (f.toolstack === 'xl' && f.domid !== undefined && netbackWatchesRate(f.dom0Kernel)) return 'xenstore';
  if (f.toolstack === 'xm') return 'replug-no-devid';
  if (!attachAppliesRate(f.xen)) return 'next-start';
  return attachTakesDevid(f.xen) ? 'replug' : 'replug-no-devid';
}

/** @param {DomainFacts} f @param {number | undefined} index @param {string[]} violations */
function pickVif(f, index, violations) {
  if (f.vifs.length === 0) {
    violations.push(`${f.name} has no network interface`);
    return undefined;
  }
  if (index === undefined) {
    if (f.vifs.length === 1) return f.vifs[0];
    violations.push(
      `${f.name} has ${f.vifs.length} network interfaces (${f.vifs.map((v) => v.index).join(', ')}): say which with --vif N`,
    );
    return undefined;
  }
  const vif = f.vifs.find((v) => v.index === index);
  if (!vif) violations.push(`--vif ${index}: ${f.name} has interfaces ${f.vifs.map((v) => v.index).join(', ')}`);
  return vif;
}

/** @param {DomainFacts} f @param {string | undefined} vdev @param {string[]} violations */
function pickDisk(f, vdev, violations) {
  if (f.disks.length === 0) {
    violations.push(`${f.name} has no disk`);
    return undefined;
  }
  if (vdev === undefined) {
    if (f.disks.length === 1) return f.disks[0];
    violations.push(
      `${f.name} has ${f.disks.length} disks (${f.disks.map((d) => d.vdev).join(', ')}): say which with --disk`,
    );
    return undefined;
  }
  const disk = f.disks.find((d) => d.vdev === vdev || d.aliases?.includes(vdev));
  if (!disk) violations.push(`--disk ${vdev}: ${f.name} has ${f.disks.map((d) => d.vdev).join(', ')}`);
  return disk;
}

/**
 * What the config file must say after this run (xl, xm), from the requests that are kept there.
 * @param {Ctx} ctx @returns {ConfigChanges}
 */
function configChanges(ctx) {
  const f = facts(ctx);
  const want = wanted(ctx);
  /** @type {ConfigChanges} */
  const c = {};
  const keepHere = (/** @type {Planned | undefined} */ p) =>
    p !== undefined && p.decision.keep !== undefined && (options(ctx).persist || f.state === 'halted');
  if (keepHere(request(ctx, 'cpu-weight')) && want.weight) c.weight = want.weight.weight;
  if (keepHere(request(ctx, 'cpu-cap'))) c.cap = want.cap;
  const vcpus = request(ctx, 'vcpus', 'vcpus-above-max', 'vcpus-fewer-hvm');
  if (keepHere(vcpus) && want.vcpus !== undefined) {
    c.vcpus = want.vcpus;
    if (vcpus?.decision.kind === 'vcpus-above-max') c.maxVcpus = want.vcpus;
    // Keep the room to grow back live: without maxvcpus, the next start's maximum would be vcpus.
    else if (f.state === 'running' && want.vcpus < f.maxVcpus && (f.stored.explicitMaxVcpus ?? 0) < f.maxVcpus)
      c.maxVcpus = f.maxVcpus;
  }
  const memory = request(ctx, 'memory', 'memory-above-max');
  if (keepHere(memory) && want.memory !== undefined) {
    c.memory = mib(want.memory);
    if (memory?.decision.kind === 'memory-above-max') c.maxMemory = mib(want.memory);
    else if (
      f.state === 'running' &&
      want.memory < f.maxMemory &&
      (f.stored.explicitMaxMemory ?? 0) < f.maxMemory &&
      (f.guestType !== 'hvm' || f.balloon === true)
    ) {
      c.maxMemory = mib(f.maxMemory);
    }
  }
  const rate = request(ctx, 'vif-rate');
  if (keepHere(rate) && rate?.vif && want.rate)
    c.vifRate = { index: rate.vif.index, mac: rate.vif.mac, rate: want.rate.text };
  const inbound = request(ctx, 'vif-rate-in');
  if (keepHere(inbound) && inbound?.vif && want.inbound)
    c.inbound = { mac: inbound.vif.mac, params: toTbfParams(want.inbound) };
  const io = request(ctx, 'io-priority');
  if (keepHere(io) && io?.disk && want.io)
    c.ionice = { vdev: io.disk.vdev, params: oracleIoniceParams(want.io.cls, want.io.prio) };
  return c;
}

/** What the next start would use for a request's setting, as text. @param {Ctx} ctx @param {Planned} p */
function storedValue(ctx, p) {
  const s = facts(ctx).stored;
  switch (p.decision.kind) {
    case 'cpu-weight':
      return `weight ${s.weight ?? WEIGHT_DEFAULT}`;
    case 'cpu-cap':
      return `cap ${s.cap ?? 0}`;
    case 'vcpus':
      return s.vcpus !== undefined ? `${s.vcpus} vCPUs` : 'the configured vCPUs';
    case 'memory':
      return s.memory !== undefined ? `${mib(s.memory)} MiB` : 'the configured memory';
    case 'vif-rate': {
      const c = p.vif ? s.vifCredit?.[p.vif.index] : undefined;
      return c ? formatCredit(c) : 'no limit';
    }
    default:
      return 'the configured value';
  }
}

/** The next start would use what was asked anyway. @param {Ctx} ctx @param {Planned} p */
function storedMatches(ctx, p) {
  const s = facts(ctx).stored;
  const want = wanted(ctx);
  switch (p.decision.kind) {
    case 'cpu-weight':
      return want.weight?.weight === (s.weight ?? WEIGHT_DEFAULT);
    case 'cpu-cap':
      return want.cap === (s.cap ?? 0);
    case 'vcpus':
      return want.vcpus === s.vcpus;
    case 'memory':
      return want.memory === s.memory;
    case 'vif-rate':
      return p.vif !== undefined && sameRate(s.vifCredit?.[p.vif.index], want.rate);
    default:
      return false;
  }
}

/* ------------------------------------------------------------------ the playbook */

/** Declared once: parsing, --help, and the options table on the runbook page. */
const OPTIONS = /** @type {const} */ ({
  toolstack: {
    type: 'enum',
    choices: ['xl', 'xe', 'xm'],
    description:
      'The toolstack that manages the domain. Default: xe when /etc/xensource-inventory exists (XCP-ng, XenServer), else xl, else xm.',
  },
  config: {
    type: 'string',
    placeholder: 'FILE',
    description:
      'xl, xm: the domain configuration file. Default: /etc/xen/DOMAIN.cfg or /etc/xen/DOMAIN (xm also /OVS/running_pool/DOMAIN/vm.cfg).',
  },
  'cpu-weight': {
    type: 'string',
    placeholder: 'W',
    description:
      'CPU weight, 1 to 65535 (default 256), or Oracle VM’s High (100), Intermediate (50), Low (1): the share of CPU time under contention.',
  },
  'cpu-cap': {
    type: 'integer',
    placeholder: 'PERCENT',
    description:
      'CPU cap in percent of one physical CPU: 0 for none, 100 for one CPU, at most 100 × the host’s CPUs. Holds even when the host is idle.',
  },
  vcpus: {
    type: 'integer',
    min: 1,
    description: 'vCPUs: live from 1 to the boot maximum; above it only with --persist, for the next start.',
  },
  memory: {
    type: 'size',
    defaultUnit: 'M',
    min: MiB,
    description:
      'Memory target, in whole MiB: live up to the boot maximum (maxmem); above it only with --persist, for the next start.',
  },
  rate: {
    type: 'string',
    placeholder: 'RATE',
    description:
      'Outbound rate limit of a network interface: NUMBER(GB|MB|KB|B|Gb|Mb|Kb|b)/s[@NUMBER(s|ms|us)], e.g. 8Mb/s@50ms.',
  },
  'inbound-rate': {
    type: 'string',
    placeholder: 'RATE',
    description: 'xm / Oracle VM only: inbound rate limit (vif_other_config, tc tbf), same syntax as --rate.',
  },
  vif: {
    type: 'integer',
    placeholder: 'N',
    description:
      'The network interface for --rate: its device number (vif N, ethN in most guests). Default: the only one.',
  },
  'io-priority': {
    type: 'integer',
    placeholder: '0-7',
    description: 'Disk I/O priority, 0 (highest) to 7, within the --io-class.',
  },
  'io-class': {
    type: 'enum',
    choices: ['rt', 'be', 'idle'],
    description:
      'I/O scheduling class: rt (real-time), be (best-effort, the default), idle (only when the disk is otherwise unused).',
  },
  disk: {
    type: 'string',
    placeholder: 'VDEV',
    description: 'The disk for --io-priority, e.g. xvda (xe: also its userdevice number). Default: the only one.',
  },
  persist: {
    type: 'boolean',
    description:
      'Also keep the values for the next start: the configuration file (xl, xm, with a .orig backup) or xapi (xe).',
  },
  'no-replug': {
    type: 'boolean',
    description: 'Never unplug a network interface: a new rate then waits for the next start (with --persist).',
  },
});

const playbook = definePlaybook({
  name: 'xen-qos',
  summary: 'Set a Xen guest’s network rate, disk I/O priority, CPU weight and cap, vCPUs and memory.',
  description:
    'Reads the domain first (running or halted, scheduler, boot maxima, devices) and says for every request ' +
    'whether it applies live, needs the device re-plugged, or needs a restart, before changing anything. ' +
    'Values outside their bounds are refused (exit 2) with nothing changed. --persist writes the values into ' +
    'the domain configuration file (xl, xm) or xapi (xe) so the next start keeps them; without it the report ' +
    'lists what a restart would lose.',
  args: [{ name: 'DOMAIN', description: 'The domain: its name (xl, xm), or the VM name-label or uuid (xe).' }],
  options: OPTIONS,
  transports: ['local', 'root', 'ssh'],
  examples: [
    'vm01 --cpu-weight 512 --cpu-cap 200 --persist',
    'vm01 --vcpus 4 --memory 4G --dry-run',
    'vm01 --rate 8Mb/s@50ms --vif 0 --yes',
    'vm02 --toolstack xm --cpu-weight High --inbound-rate 8Mb/s@50ms --io-priority 2 --io-class rt --disk xvda --persist',
    'web01 --toolstack xe --rate 10MB/s --persist',
  ],

  validate(ctx) {
    const o = ctx.opts;
    /** @type {Want} */
    const want = {};
    try {
      if (o['cpu-weight'] !== undefined) want.weight = parseWeight(o['cpu-weight']);
      if (o['cpu-cap'] !== undefined) {
        if (o['cpu-cap'] < 0)
          throw new BoundError(
            'cap',
            `CPU cap ${o['cpu-cap']} is outside the cap bound 0 (none) to 100 × the host’s CPUs`,
          );
        want.cap = o['cpu-cap'];
      }
      if (o.rate !== undefined) want.rate = parseRate(o.rate);
      if (o['inbound-rate'] !== undefined) want.inbound = parseRate(o['inbound-rate']);
      if (o['io-priority'] !== undefined) checkIoPriority(o['io-priority']);
    } catch (e) {
      if (e instanceof BoundError) throw usage(e.message);
      throw e;
    }
    if (o.vcpus !== undefined) want.vcpus = o.vcpus;
    if (o.memory !== undefined) {
      if (o.memory % MiB !== 0)
        throw usage(`--memory: ${o.memory} bytes is not a whole number of MiB (xl and xm count memory in MiB)`);
      want.memory = o.memory;
    }
    if (o['io-class'] === 'idle' && o['io-priority'] !== undefined) {
      throw usage(
        '--io-priority: the idle class has no priority levels; give --io-class rt or be, or no --io-priority',
      );
    }
    if (o['io-priority'] !== undefined || o['io-class'] !== undefined) {
      const cls = o['io-class'] ?? 'be';
      want.io = { cls, prio: cls === 'idle' ? undefined : (o['io-priority'] ?? 4) };
    }
    if (o.disk !== undefined && !want.io) throw usage('--disk goes with --io-priority or --io-class');
    if (o.vif !== undefined && !want.rate && !want.inbound) throw usage('--vif goes with --rate or --inbound-rate');
    if (Object.keys(want).length === 0) {
      throw usage(
        'nothing to do: give at least one of --rate, --inbound-rate, --io-priority, --io-class, --cpu-weight, --cpu-cap, --vcpus, --memory',
      );
    }
    ctx.state.want = want;
  },

  steps: [
    step('read-domain', {
      title: 'Read the domain and the host',
      async check(ctx) {
        const toolstack = options(ctx).toolstack ?? (await detectToolstack(ctx));
        const f = toolstack === 'xe' ? await readXe(ctx) : await readXlXm(ctx, toolstack);
        ctx.state.facts = f;
        const lines = describeFacts(f);
        for (const line of lines.slice(1)) ctx.log.info(`  ${line}`);
        ctx.report.domain = {
          name: f.name,
          toolstack: f.toolstack,
          state: f.state,
          domid: f.domid,
          scheduler: f.scheduler,
          nrCpus: f.nrCpus,
          vcpus: f.vcpus,
          maxVcpus: Number.isFinite(f.maxVcpus) ? f.maxVcpus : null,
          memoryMiB: mib(f.memory),
          maxMemoryMiB: Number.isFinite(f.maxMemory) ? mib(f.maxMemory) : null,
          configPath: f.configPath ?? null,
        };
        return ok(lines[0] ?? f.name);
      },
    }),

    step('plan', {
      title: 'Say when each request takes effect',
      check(ctx) {
        const f = facts(ctx);
        const { plan, violations } = planRequests(ctx, f);
        if (violations.length) {
          throw usage(`nothing was changed:\n  ${violations.join('\n  ')}`);
        }
        ctx.state.plan = plan;
        for (const p of plan) ctx.log.info(`  ${p.option} ${p.value}: ${describeDecision(p.decision)}`);
        ctx.report.requests = plan.map((p) => ({
          option: p.option,
          value: p.value,
          kind: p.decision.kind,
          effect: p.decision.effect,
          how: p.decision.how,
          kept: p.decision.kept,
          lostOnRestart: p.decision.lostOnRestart,
        }));
        const counts = ['live', 'replug', 'restart', 'start'].map((e) => [
          e,
          plan.filter((p) => p.decision.effect === e).length,
        ]);
        return ok(
          counts
            .filter(([, n]) => n)
            .map(([e, n]) => `${n} ${e === 'start' ? 'at next start' : e}`)
            .join(', '),
        );
      },
    }),

    step('cpu-scheduler', {
      title: 'Set the CPU weight and cap',
      when: (ctx) => Boolean(request(ctx, 'cpu-weight', 'cpu-cap')) || 'no --cpu-weight or --cpu-cap',
      check(ctx) {
        const f = facts(ctx);
        const want = wanted(ctx);
        if (f.state === 'halted' && f.toolstack !== 'xe')
          return skip('the domain is halted: step persist writes the config file');
        if (f.state === 'running' && f.toolstack === 'xe' && ctx.state.hostUuid !== ctx.state.residentOn) {
          throw refuse(
            `${f.name} runs on host ${String(ctx.state.residentOn)}, not on this one (${String(ctx.state.hostUuid ?? 'unknown')}): ` +
              'xl sees only the domains of its own host; run this there (--host root@THAT-HOST)',
          );
        }
        const now =
          f.state === 'running'
            ? (f.sched ?? { weight: WEIGHT_DEFAULT, cap: 0 })
            : { weight: f.stored.weight, cap: f.stored.cap };
        const diff = [];
        if (want.weight && want.weight.weight !== now.weight) diff.push(`weight ${now.weight} → ${want.weight.weight}`);
        if (want.cap !== undefined && want.cap !== (now.cap ?? 0)) diff.push(`cap ${now.cap ?? 0} → ${want.cap}`);
        if (!diff.length) return ok(`weight ${now.weight}, cap ${now.cap ?? 0}: as asked`);
        return change(`set ${diff.join(', ')}`);
      },
      async apply(ctx) {
        const f = facts(ctx);
        const { weight, cap } = wanted(ctx);
        if (f.toolstack === 'xe' && f.state === 'halted') {
          const params = [
            ...(weight ? [`VCPUs-params:weight=${weight.weight}`] : []),
            ...(cap !== undefined ? [`VCPUs-params:cap=${cap}`] : []),
          ];
          await ctx.$`xe vm-param-set uuid=${f.uuid} ${params}`;
          return `${params.join(' ')} (used when ${f.name} starts)`;
        }
        // In dom0 of XCP-ng too: xapi applies VCPUs-params only when it builds the domain.
        const tool = f.toolstack === 'xm' ? 'xm' : 'xl';
        const cmd = f.scheduler === 'credit2' ? 'sched-credit2' : 'sched-credit';
        const flags = [
          ...(weight ? ['-w', String(weight.weight)] : []),
          ...(cap !== undefined ? ['-c', String(cap)] : []),
        ];
        await ctx.$`${tool} ${cmd} -d ${domRef(f)} ${flags}`;
        return `${tool} ${cmd} -d ${domRef(f)} ${flags.join(' ')}`;
      },
    }),

    step('vcpus', {
      title: 'Set the number of vCPUs',
      when: (ctx) => Boolean(request(ctx, 'vcpus', 'vcpus-above-max', 'vcpus-fewer-hvm')) || 'no --vcpus',
      check(ctx) {
        const f = facts(ctx);
        const n = /** @type {number} */ (wanted(ctx).vcpus);
        const r = /** @type {Planned} */ (request(ctx, 'vcpus', 'vcpus-above-max', 'vcpus-fewer-hvm'));
        if (r.decision.kind === 'vcpus-fewer-hvm')
          return skip(
            `${f.name} is an HVM guest: ${f.toolstack} vcpu-set cannot take vCPUs away from it (it ignores cpu/N/availability); step persist writes ${n} for the next start`,
          );
        if (r.decision.effect === 'restart')
          return skip(`above the boot maximum ${f.maxVcpus}: step persist writes it for the next start`);
        if (f.state === 'halted' && f.toolstack !== 'xe')
          return skip('the domain is halted: step persist writes the config file');
        if (f.toolstack === 'xe' && f.state === 'halted') {
          if (n === f.stored.vcpus && n <= /** @type {number} */ (f.stored.maxVcpus))
            return ok(`${n} vCPUs at startup already`);
          return change(
            `set VCPUs-at-startup ${f.stored.vcpus} → ${n}${n > f.maxVcpus ? `, VCPUs-max ${f.maxVcpus} → ${n}` : ''}`,
          );
        }
        if (n === f.vcpus) return ok(`${n} vCPUs online already`);
        return change(`set ${f.vcpus} → ${n} vCPUs online (boot maximum ${f.maxVcpus})`);
      },
      async apply(ctx) {
        const f = facts(ctx);
        const n = String(wanted(ctx).vcpus);
        if (f.toolstack === 'xe') {
          if (f.state === 'running') await ctx.$`xe vm-vcpu-hotplug uuid=${f.uuid} new-vcpus=${n}`;
          else {
            // VCPUs-at-startup ≤ VCPUs-max at every moment: raise the maximum first, lower it last.
            if (Number(n) > f.maxVcpus) await ctx.$`xe vm-param-set uuid=${f.uuid} VCPUs-max=${n}`;
            await ctx.$`xe vm-param-set uuid=${f.uuid} VCPUs-at-startup=${n}`;
          }
        } else {
          await ctx.$`${f.toolstack} vcpu-set ${domRef(f)} ${n}`;
        }
        return `${n} vCPUs`;
      },
    }),

    step('memory', {
      title: 'Set the memory',
      when: (ctx) => Boolean(request(ctx, 'memory', 'memory-above-max')) || 'no --memory',
      check(ctx) {
        const f = facts(ctx);
        const m = /** @type {number} */ (wanted(ctx).memory);
        const r = /** @type {Planned} */ (request(ctx, 'memory', 'memory-above-max'));
        if (r.decision.effect === 'restart')
          return skip(`above the boot maximum ${mib(f.maxMemory)} MiB: step persist writes it for the next start`);
        if (f.state === 'halted' && f.toolstack !== 'xe')
          return skip('the domain is halted: step persist writes the config file');
        const pinned = f.toolstack !== 'xe' || !ctx.state.dynamicRange;
        if (m === f.memory && pinned && (f.toolstack !== 'xe' || m <= f.maxMemory)) return ok(`${mib(m)} MiB already`);
        return change(
          `set the memory ${mib(f.memory)} → ${mib(m)} MiB${f.state === 'running' ? ' (the balloon driver gives or takes the difference)' : ''}`,
        );
      },
      async apply(ctx) {
        const f = facts(ctx);
        const m = /** @type {number} */ (wanted(ctx).memory);
        if (f.toolstack === 'xe') {
          if (m > f.maxMemory) {
            // Halted only (the plan refused it otherwise): the static maximum moves with it.
            await ctx.$`xe vm-memory-limits-set uuid=${f.uuid} static-min=${String(f.minMemory)} static-max=${String(m)} dynamic-min=${String(m)} dynamic-max=${String(m)}`;
          } else {
            await ctx.$`xe vm-memory-dynamic-range-set uuid=${f.uuid} min=${String(m)} max=${String(m)}`;
          }
        } else if (f.toolstack === 'xl') {
          await ctx.$`xl mem-set ${domRef(f)} ${`${mib(m)}m`}`;
        } else {
          await ctx.$`xm mem-set ${domRef(f)} ${String(mib(m))}`;
        }
        return `memory target ${mib(m)} MiB`;
      },
    }),

    step('vif-rate', {
      title: 'Limit the network rate',
      when: (ctx) => Boolean(request(ctx, 'vif-rate')) || 'no --rate',
      async check(ctx) {
        const f = facts(ctx);
        const r = /** @type {Planned} */ (request(ctx, 'vif-rate'));
        const vif = /** @type {VifFacts} */ (r.vif);
        const rate = /** @type {Rate} */ (wanted(ctx).rate);
        const replugAsk = async (/** @type {string} */ what) => {
          if (f.state !== 'running') return false;
          if (options(ctx)['no-replug']) return false;
          if (ctx.dryRun) return true;
          return ctx.confirm(`${what} vif ${vif.index} of ${f.name}: its network stops for a moment. Go ahead?`);
        };
        if (f.toolstack === 'xe') {
          // The same limit: the same kbps over the same interval (timeslice_us, or xenopsd's 50 ms).
          const same =
            vif.qosType === 'ratelimit' &&
            vif.kbps === r.kbps &&
            (vif.timesliceUs ?? DEFAULT_INTERVAL_US) === r.xeIntervalUs;
          if (same)
            return ok(
              `vif ${vif.index} already has ${xeQosText(r)}${f.state === 'running' ? ' (in force since it was last plugged)' : ''}`,
            );
          const replug = vif.attached === true && (await replugAsk('Unplug and plug'));
          const then = replug
            ? `, then unplug and plug it${ctx.dryRun && !ctx.common.yes ? ' (after asking)' : ''}`
            : f.state === 'running'
              ? '; it takes effect when the VIF is next plugged (next start)'
              : '';
          return change(`set ${xeQosText(r)} on vif ${vif.index}${then}`, { data: { replug } });
        }
        if (f.state === 'halted') return skip('the domain is halted: step persist writes rate= into its vif line');
        if (r.route === 'emulated')
          return skip(
            `vif ${vif.index} is not limited: ${f.name} has no PV network driver (backend state ${vif.backendState}, not connected) and its traffic goes through QEMU's emulated NIC`,
          );
        if (r.route === 'next-start')
          return skip(`xl ${versionText(f.xen)} cannot change a running interface's rate: step persist writes it`);
        if (sameRate(vif.credit, rate)) return ok(`vif ${vif.index} already gives ${formatCredit(rate)}`);
        if (r.route === 'xenstore') {
          return change(
            `write rate ${rate.bytesPerInterval},${rate.intervalUs} into vif ${vif.index}'s backend: netback applies it at once (dom0 kernel ${f.dom0Kernel}), no re-plug`,
            { data: { replug: false } },
          );
        }
        if (options(ctx)['no-replug'])
          return skip(
            `--no-replug: vif ${vif.index} keeps its rate until the next start${options(ctx).persist ? '' : ' (and without --persist, nothing keeps the new one)'}`,
          );
        if (!(await replugAsk('Detach and re-attach'))) {
          return skip(
            `not re-plugged (not confirmed): vif ${vif.index} keeps its rate${options(ctx).persist ? '; the next start uses the new one' : ''}`,
          );
        }
        const asked = ctx.dryRun && !ctx.common.yes ? ' (after asking)' : '';
        const devid = r.route === 'replug' ? '' : ' (under a new devid: this release takes no devid=)';
        return change(
          `detach vif ${vif.index} (${vif.mac}) and attach it again with rate=${rate.text}${devid}${asked}`,
          { data: { replug: true } },
        );
      },
      async apply(ctx, c) {
        const f = facts(ctx);
        const r = /** @type {Planned} */ (request(ctx, 'vif-rate'));
        const vif = /** @type {VifFacts} */ (r.vif);
        const rate = /** @type {Rate} */ (wanted(ctx).rate);
        if (f.toolstack === 'xe') {
          // timeslice_us is written when the rate names its interval, and put back to 50 ms when a
          // previous one is there and this rate names none.
          const ts = r.timesliceUs ?? (vif.timesliceUs !== undefined ? DEFAULT_INTERVAL_US : undefined);
          const slice = ts !== undefined ? [`qos_algorithm_params:timeslice_us=${ts}`] : [];
          await ctx.$`xe vif-param-set uuid=${vif.uuid} qos_algorithm_type=ratelimit qos_algorithm_params:kbps=${String(r.kbps)} ${slice}`;
          if (!(/** @type {{ replug: boolean }} */ (c.data).replug)) return `${xeQosText(r)} set on vif ${vif.index}`;
          await ctx.$`xe vif-unplug uuid=${vif.uuid}`;
          await ctx.$`xe vif-plug uuid=${vif.uuid}`;
          return `${xeQosText(r)} set on vif ${vif.index}, unplugged and plugged`;
        }
        if (r.route === 'xenstore') {
          const key = `/local/domain/0/backend/vif/${String(f.domid)}/${String(vif.index)}/rate`;
          const value = `${rate.bytesPerInterval},${rate.intervalUs}`;
          await ctx.$`xenstore-write ${key} ${value}`;
          const back = (await ctx.$({ nothrow: true })`xenstore-read ${key}`).stdout.trim();
          if (back !== value) throw fail(`${key} reads ${back || 'nothing'} after writing ${value}`);
          return `vif ${vif.index}: netback's rate is now ${value} (${formatCredit(rate)})`;
        }
        await replug(ctx, f, vif, rate, r.route === 'replug');
        return `vif ${vif.index} attached again with rate=${rate.text}`;
      },
    }),

    step('io-priority', {
      title: 'Set the disk I/O priority',
      when: (ctx) => Boolean(request(ctx, 'io-priority')) || 'no --io-priority or --io-class',
      check(ctx) {
        const f = facts(ctx);
        const { cls, prio } = /** @type {NonNullable<Want['io']>} */ (wanted(ctx).io);
        const disk = /** @type {DiskFacts} */ (request(ctx, 'io-priority')?.disk);
        if (f.toolstack !== 'xe')
          return skip('Oracle VM reads disk_other_config when the domain starts: step persist writes it');
        if (disk.ioClass === cls && (cls === 'idle' || disk.ioPriority === prio))
          return ok(`${disk.vdev} already has ionice ${IO_CLASSES[cls].title}${prio !== undefined ? ` ${prio}` : ''}`);
        ctx.log.info(
          '  ionice acts only where the disk’s I/O scheduler honours it (CFQ, BFQ): on XCP-ng set other-config:scheduler=cfq on the SR',
        );
        return change(
          `set ionice ${IO_CLASSES[cls].title}${prio !== undefined ? ` ${prio}` : ''} on ${disk.vdev}${f.state === 'running' ? ' (applied when the disk is next plugged: the next start)' : ''}`,
        );
      },
      async apply(ctx) {
        const f = facts(ctx);
        const { cls, prio } = /** @type {NonNullable<Want['io']>} */ (wanted(ctx).io);
        const disk = /** @type {DiskFacts} */ (request(ctx, 'io-priority')?.disk);
        const sched = IO_CLASSES[cls].xe;
        if (prio === undefined) {
          await ctx.$`xe vbd-param-set uuid=${disk.uuid} qos_algorithm_type=ionice qos_algorithm_params:sched=${sched}`;
        } else {
          await ctx.$`xe vbd-param-set uuid=${disk.uuid} qos_algorithm_type=ionice qos_algorithm_params:sched=${sched} qos_algorithm_params:class=${String(prio)}`;
        }
        return `${disk.vdev}: sched=${sched}${prio !== undefined ? ` class=${prio}` : ''}${f.state === 'running' ? ', from the next start' : ''}`;
      },
    }),

    step('persist', {
      title: 'Keep the values for the next start',
      when(ctx) {
        const f = facts(ctx);
        if (!options(ctx).persist && f.state === 'running')
          return 'no --persist: the live changes last until the domain stops';
        if (f.toolstack === 'xe' && f.state === 'halted') return 'xapi already keeps what the steps above set';
        return true;
      },
      async check(ctx) {
        const f = facts(ctx);
        if (f.toolstack === 'xe') {
          const { weight, cap } = wanted(ctx);
          const params = [
            ...(weight && weight.weight !== f.stored.weight ? [`VCPUs-params:weight=${weight.weight}`] : []),
            ...(cap !== undefined && cap !== f.stored.cap ? [`VCPUs-params:cap=${cap}`] : []),
          ];
          if (!params.length) return ok('xapi keeps everything asked for');
          return change(`run xe vm-param-set ${params.join(' ')}`, { data: /** @type {PersistData} */ ({ params }) });
        }
        const changes = configChanges(ctx);
        if (Object.keys(changes).length === 0) return ok('nothing to write');
        const path = /** @type {string} */ (f.configPath);
        let edit;
        try {
          edit = await ctx.planEdit(path, (text) =>
            rewriteConfig(text ?? '', changes, path, f.toolstack === 'xm' ? 'xm' : 'xl'),
          );
        } catch (e) {
          throw usage(`${path}: ${/** @type {Error} */ (e).message}`);
        }
        if (!edit.changed) return ok(`${path} already says so`);
        return change(`edit ${path}`, { diff: edit.diff, data: /** @type {PersistData} */ ({ edit }) });
      },
      async apply(ctx, c) {
        const f = facts(ctx);
        const { params, edit } = /** @type {{ params?: string[], edit?: import('xen-runbooks/engine').FileEdit }} */ (
          c.data
        );
        if (params) {
          await ctx.$`xe vm-param-set uuid=${f.uuid} ${params}`;
          return `${params.join(' ')} (used when ${f.name} next starts)`;
        }
        const planned = /** @type {import('xen-runbooks/engine').FileEdit} */ (edit);
        const backup = await ctx.applyEdit(planned);
        return `${planned.path} written${backup ? ` (backup: ${backup})` : ''}`;
      },
    }),
  ],

  finish(ctx, outcomes) {
    const f = /** @type {DomainFacts | undefined} */ (ctx.state.facts);
    if (!f || outcomes.some((o) => o.status === 'failed' || o.status === 'declined')) return;
    const stepOf = {
      'cpu-weight': 'cpu-scheduler',
      'cpu-cap': 'cpu-scheduler',
      vcpus: 'vcpus',
      memory: 'memory',
      'vif-rate': 'vif-rate',
    };
    const inForce = (/** @type {Planned} */ p) => {
      const id = /** @type {Record<string, string>} */ (stepOf)[p.decision.kind];
      const o = outcomes.find((x) => x.id === id);
      return o !== undefined && ['ok', 'changed', 'would-change'].includes(o.status);
    };
    const lost = planned(ctx)
      .filter((p) => p.decision.lostOnRestart && inForce(p) && !storedMatches(ctx, p))
      .map((p) => `${p.option} ${p.value} (the next start uses ${storedValue(ctx, p)})`);
    ctx.report.lostOnRestart = lost;
    if (lost.length) {
      ctx.log.info(
        `A restart of ${f.name} would lose: ${lost.join('; ')}. Run again with --persist to keep ${lost.length === 1 ? 'it' : 'them'}.`,
      );
    }
    if (f.toolstack === 'xl' && f.state === 'running') {
      // xl_vmcontrol.c reload_domain_config: a reboot restarts from libxl's record of the domain.
      const keeps = xlRebootKeeps(f.xen);
      /** @type {Record<string, boolean>} */
      const byKind = {
        'cpu-weight': keeps.sched,
        'cpu-cap': keeps.sched,
        vcpus: keeps.vcpus,
        memory: keeps.memory,
        'vif-rate': keeps.nics && planned(ctx).some((p) => p.route === 'replug' || p.route === 'replug-no-devid'),
      };
      // Every live change, persisted or not: a reboot does not read the file (only config-update's).
      const applied = planned(ctx).filter(
        (p) => (p.decision.effect === 'live' || p.decision.effect === 'replug') && inForce(p),
      );
      const reboot = applied.filter((p) => byKind[p.decision.kind]).map((p) => `${p.option} ${p.value}`);
      const notReboot = applied.filter((p) => !byKind[p.decision.kind]).map((p) => `${p.option} ${p.value}`);
      ctx.report.rebootKeeps = reboot;
      if (reboot.length || notReboot.length) {
        ctx.log.info(
          `An xl reboot of ${f.name} (Xen ${versionText(f.xen)}) ${reboot.length ? `keeps ${reboot.join(', ')}` : 'keeps none of these'}` +
            `${notReboot.length ? ` and restores the values it started with for ${notReboot.join(', ')}` : ''}; ` +
            `xl config-update ${f.name} FILE makes the next reboot use FILE instead.`,
        );
      }
    }
  },
});

await playbook.run();
