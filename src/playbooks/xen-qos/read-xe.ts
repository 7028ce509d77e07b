/**
 * A VM as xapi sees it (`xe vm-list`, `vif-list`, `vbd-list` records), and the running domain's
 * scheduler parameters through xl in dom0, which sees only the domains of its own host.
 */
import { fail, refuse, usage } from '../../engine/errors.js';
import {
  WEIGHT_DEFAULT,
  ioClassOf,
  parseInfo,
  parseSchedParams,
  type DiskFacts,
  type DomainFacts,
  type VifFacts,
} from '../../xen/qos.js';
import { xeList, xeRecords } from '../../xen/xe.js';
import type { DomainRead, HostAccess } from './read-domain.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const VM_FIELDS = [
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

/** This host's uuid, from /etc/xensource-inventory (INSTALLATION_UUID). */
export async function thisHostUuid(ctx: HostAccess): Promise<string | undefined> {
  const inventory = (await ctx.host.readText('/etc/xensource-inventory')) ?? '';
  return /^INSTALLATION_UUID=['"]?([^'"\n]+)/m.exec(inventory)?.[1];
}

/** The VM named (or with the uuid) NAME, with its VIFs and disk VBDs. */
export async function readXe(ctx: HostAccess, name: string): Promise<DomainRead> {
  const uuids = UUID_RE.test(name)
    ? await xeList(ctx.$, 'vm', { uuid: name })
    : await xeList(ctx.$, 'vm', { 'name-label': name, 'is-control-domain': 'false' });
  const [uuid] = uuids;
  if (uuid === undefined) throw usage(`xe knows no VM named ${name}`);
  if (uuids.length > 1) throw usage(`${uuids.length} VMs are named ${name}: give the uuid (${uuids.join(', ')})`);
  const [vm] = await xeRecords(ctx.$, 'vm', { uuid }, VM_FIELDS);
  if (!vm) throw fail(`xe vm-list uuid=${uuid} printed nothing`);
  const power = vm.get('power-state');
  if (power !== 'running' && power !== 'halted') {
    throw refuse(`${name} is ${power}: resume or shut it down first (this playbook acts on running or halted VMs)`);
  }
  const info = parseInfo((await ctx.$`xl info`).stdout);
  const params = vm.map('VCPUs-params');
  const vifRecords = await xeRecords(ctx.$, 'vif', { 'vm-uuid': uuid }, [
    'uuid',
    'device',
    'MAC',
    'currently-attached',
    'qos_algorithm_type',
    'qos_algorithm_params',
  ]);
  const vifs: VifFacts[] = vifRecords
    .map((r) => {
      const q = r.map('qos_algorithm_params');
      const kbps = q.kbps;
      // xapi_xenops.ml reads timeslice_us beside kbps; 0 or absent means xenopsd's 50 ms.
      const ts = Number(q.timeslice_us);
      return {
        index: Number(r.get('device')),
        mac: (r.get('MAC') ?? '').toLowerCase(),
        uuid: r.get('uuid') ?? '',
        qosType: r.get('qos_algorithm_type') ?? '',
        ...(kbps !== undefined ? { kbps: Number(kbps) } : {}),
        ...(Number.isInteger(ts) && ts > 0 ? { timesliceUs: ts } : {}),
        attached: r.get('currently-attached') === 'true',
      };
    })
    .sort((a, b) => a.index - b.index);
  const vbdRecords = await xeRecords(ctx.$, 'vbd', { 'vm-uuid': uuid, type: 'Disk' }, [
    'uuid',
    'device',
    'userdevice',
    'qos_algorithm_type',
    'qos_algorithm_params',
  ]);
  const disks: DiskFacts[] = vbdRecords.map((r) => {
    const q = r.map('qos_algorithm_params');
    const cls = r.get('qos_algorithm_type') === 'ionice' ? ioClassOf(q.sched) : undefined;
    const userdevice = r.get('userdevice') ?? '';
    return {
      // A halted VM's VBD may have no device name yet: its userdevice number names it too.
      vdev: r.get('device') || userdevice,
      aliases: [userdevice],
      uuid: r.get('uuid') ?? '',
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
  const f: DomainFacts = {
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
  if (domid === undefined) return { facts: f };
  f.domid = domid;
  const read: DomainRead = { facts: f, residentOn: vm.get('resident-on') };
  if (vm.get('memory-dynamic-min') !== vm.get('memory-dynamic-max')) read.dynamicRange = true;
  if (['credit', 'credit2'].includes(f.scheduler)) {
    // Is the VM's domain on this host? xl in dom0 sees only the domains of its own host.
    read.hostUuid = await thisHostUuid(ctx);
    if (read.hostUuid !== undefined && read.hostUuid === read.residentOn) {
      const cmd = f.scheduler === 'credit2' ? 'sched-credit2' : 'sched-credit';
      const sched = parseSchedParams((await ctx.$`xl ${cmd} -d ${String(domid)}`).stdout);
      if (sched) f.sched = sched;
    }
  }
  return read;
}
