#!/usr/bin/env node
// @ts-check
/**
 * Install and configure XCP / XCP-ng: the XCP packages and their known workarounds on Ubuntu 12.04
 * (or Debian 7), or nothing to install on an XCP-ng/XenServer host; then, with xe: an optional pool
 * to join, the storage repository, and the first VM.
 *
 * On an XCP-ng control domain only the host's shell and xe are used, so `--host root@HOST` works
 * from a workstation.
 */
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import {
  definePlaybook,
  step,
  fileStep,
  ok,
  change,
  skip,
  usage,
  refuse,
  fail,
  readSecretFile,
} from 'xen-runbooks/engine';
import {
  XeError,
  assertXeValue,
  parseMinimal,
  refOrUndefined,
  xe,
  xeArgs,
  xeFailure,
  xeGet,
  xeList,
  xeRecords,
} from 'xen-runbooks/xen/xe';
import { grubDefaultValue, setGrubDefault } from 'xen-runbooks/grub';

/** @typedef {import('xen-runbooks/engine').Context} Ctx */
/** @typedef {import('xen-runbooks/engine').OptionValues<typeof OPTIONS>} Opts */
/**
 * @typedef {{ kind: 'xcp-ng' | 'legacy', name: string, version: string, distro?: 'ubuntu' | 'debian',
 *   codename?: string, brand?: string }} Platform
 */

const PPA = 'ubuntu-xen-org/xcp-unstable';
const PACKAGES = ['pciutils', 'xcp-xapi', 'xcp-xe'];
const NETWORK_CONF = '/etc/xcp/network.conf';
const VIF_SCRIPT = '/usr/lib/xcp/scripts/vif';
const XEND_INIT = '/etc/init.d/xend';
const KEYMAPS = '/usr/share/qemu/keymaps';
const KEYMAPS_TARGET = '/usr/share/qemu-linaro/keymaps';
const GRUB_DEFAULTS = '/etc/default/grub';
const GRUB_CFG = '/boot/grub/grub.cfg';
/** pool-join reads the password from standard input: it never appears on a command line but xe's own. */
const POOL_JOIN_SCRIPT =
  'IFS= read -r pw; exec xe pool-join master-address="$1" master-username="$2" master-password="$pw"';

const OPTIONS = /** @type {const} */ ({
  'sr-device': {
    type: 'string',
    placeholder: 'DEVICE',
    description:
      'Block device for the local storage repository, best a stable /dev/disk/by-id/… path. Whatever it holds is lost.',
  },
  'sr-type': {
    type: 'enum',
    choices: ['lvm', 'ext', 'nfs'],
    default: 'lvm',
    description:
      'lvm (thick, LVM volumes), ext (thin, VHD files on ext3) or nfs (shared). When lvm is missing and this option was not given, ext is used.',
  },
  'sr-name': {
    type: 'string',
    placeholder: 'NAME',
    default: 'Local storage',
    description: 'Name of the storage repository (the VM is installed on it by uuid, never by this name).',
  },
  'nfs-server': { type: 'string', placeholder: 'HOST', description: 'NFS server, with --sr-type nfs.' },
  'nfs-path': {
    type: 'string',
    placeholder: 'PATH',
    description: 'Exported directory, with --sr-type nfs (e.g. /export/vms).',
  },
  force: {
    type: 'boolean',
    description:
      'Use --sr-device although it holds a partition table, a filesystem or an LVM label (never when it is mounted or in use).',
  },
  'join-pool': {
    type: 'string',
    placeholder: 'MASTER',
    description: 'Join the pool whose master has this address (xe pool-join) before storage and VM are set up.',
  },
  'pool-user': { type: 'string', placeholder: 'USER', default: 'root', description: 'User name on the pool master.' },
  'pool-password-file': {
    type: 'string',
    placeholder: 'FILE',
    description:
      "File holding the pool master's password (- reads standard input). Without it the password is asked on the terminal; it is never an option value.",
  },
  'vm-name': { type: 'string', placeholder: 'NAME', description: 'Create (or find) and start a VM with this name.' },
  template: {
    type: 'string',
    placeholder: 'NAME',
    default: 'CentOS 5 (64-bit)',
    description: 'Template the VM is installed from (xe template-list params=name-label).',
  },
  'install-repository': {
    type: 'string',
    placeholder: 'URL',
    description:
      "Installer repository for the VM (other-config:install-repository), e.g. a distribution's os/x86_64 URL.",
  },
  'network-bridge': {
    type: 'string',
    placeholder: 'BRIDGE',
    default: 'xenbr0',
    description: 'Bridge of the network the VM is attached to.',
  },
  memory: {
    type: 'size',
    defaultUnit: 'M',
    min: 128 * 1024 ** 2,
    max: 1024 ** 4,
    description: 'Memory of the VM (its static and dynamic maximum), e.g. 1G.',
  },
  vcpus: { type: 'integer', min: 1, max: 64, description: 'Virtual CPUs of the VM.' },
});

/* ------------------------------------------------------------------ helpers */

/** What a step's check handed to its apply. @param {{ data?: unknown }} c @returns {any} */
function dataOf(c) {
  if (c.data === undefined) throw new Error('a change reached apply without the data its check computed');
  return c.data;
}

/** The options with their declared types (steps see the engine's generic context). @param {Ctx} ctx */
const opts = (ctx) => /** @type {Opts} */ (/** @type {unknown} */ (ctx.opts));

/** KEY=value lines (os-release, lsb-release, xensource-inventory). @param {string | undefined} text */
function parseKeyValues(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const raw = (m[2] ?? '').trim();
    out[/** @type {string} */ (m[1])] = raw.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** Packages dpkg records as installed. @param {string | undefined} status */
function installedPackages(status) {
  /** @type {Set<string>} */
  const out = new Set();
  for (const para of (status ?? '').split(/\n\s*\n/)) {
    const name = /^Package: (.+)$/m.exec(para)?.[1];
    if (name && /^Status: install ok installed$/m.test(para)) out.add(name.trim());
  }
  return out;
}

/** Titles of the top-level menu entries and submenus of a GRUB 2 config. @param {string} cfg */
function topLevelMenu(cfg) {
  /** @type {{ kind: string, title: string }[]} */
  const entries = [];
  let depth = 0;
  for (const raw of cfg.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (depth === 0) {
      const m = /^(menuentry|submenu)\s+(?:'((?:[^']|'\\'')*)'|"((?:[^"\\]|\\.)*)"|(\S+))/.exec(line);
      if (m) {
        const title =
          m[2] !== undefined
            ? m[2].replace(/'\\''/g, "'")
            : m[3] !== undefined
              ? m[3].replace(/\\(.)/g, '$1')
              : (m[4] ?? '');
        entries.push({ kind: /** @type {string} */ (m[1]), title });
      }
    }
    const unquoted = line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
    depth += (unquoted.match(/\{/g) ?? []).length - (unquoted.match(/\}/g) ?? []).length;
    if (depth < 0) depth = 0;
  }
  return entries;
}

/** The `set default="…"` grub-mkconfig wrote into grub.cfg. @param {string} cfg */
function cfgDefault(cfg) {
  return /^set default="(.*)"$/m.exec(cfg)?.[1];
}

/** @param {Ctx} ctx */
function platform(ctx) {
  return /** @type {Platform | undefined} */ (ctx.state.platform);
}

/** Skip unless this is an Ubuntu 12.04 / Debian 7 host getting the packages. @param {Ctx} ctx */
function legacyOnly(ctx) {
  const p = platform(ctx);
  return p?.kind === 'legacy' ? true : `${p?.name ?? 'this host'} runs xapi already: nothing to install or work around`;
}

/** Steps that need xapi: skip with the reason while it does not answer. @param {Ctx} ctx */
function needsXapi(ctx) {
  return ctx.state.xapi ? true : 'xapi does not answer yet: reboot into Xen, then run this playbook again';
}

/** True while the packages are still to be installed by this (dry) run. @param {Ctx} ctx */
function packagesPending(ctx) {
  return Boolean(ctx.state.packagesPending);
}

/** Does xapi answer? The hosts, or why not. @param {Ctx} ctx */
async function probeXapi(ctx) {
  const argv = xeArgs('host-list', { params: 'uuid' }, ['minimal']);
  const r = await ctx.$({ nothrow: true })`xe ${argv}`;
  if (r.exitCode === 0) return { up: true, hosts: parseMinimal(r.stdout) };
  const err = xeFailure(argv, r);
  return { up: false, hosts: [], installed: r.exitCode !== 127, error: err };
}

/** This host's record among the pool's hosts: the only one, or the one with this hostname. @param {Ctx} ctx */
async function thisHost(ctx) {
  const hosts = await xeRecords(ctx.$, 'host', {}, ['uuid', 'name-label', 'hostname', 'address', 'software-version']);
  if (hosts.length === 1) return /** @type {import('xen-runbooks/xen/xe').XeRecord} */ (hosts[0]);
  const name = (await ctx.$`uname -n`).stdout.trim();
  const short = name.split('.')[0];
  const mine = hosts.filter((h) => [name, short].includes(h.get('hostname') ?? '') || h.get('name-label') === name);
  if (mine.length === 1) return /** @type {import('xen-runbooks/xen/xe').XeRecord} */ (mine[0]);
  throw fail(
    `cannot tell which of the pool's ${hosts.length} hosts is this one (no host named '${name}')`,
    'run the playbook on the host itself, or with --host pointing at it',
  );
}

/** The pool (there is one per host): uuid, master, default SR. @param {Ctx} ctx */
async function thePool(ctx) {
  const [pool] = await xeRecords(ctx.$, 'pool', {}, ['uuid', 'name-label', 'master', 'default-SR']);
  if (!pool) throw fail('xe pool-list shows no pool');
  return {
    uuid: /** @type {string} */ (pool.get('uuid')),
    name: pool.get('name-label') ?? '',
    master: refOrUndefined(pool.get('master')),
    defaultSr: refOrUndefined(pool.get('default-SR')),
  };
}

/** One value of the VM's other-config, or undefined. @param {Ctx} ctx @param {string} vm @param {string} key */
async function otherConfig(ctx, vm, key) {
  try {
    return await xeGet(ctx.$, 'vm', vm, 'other-config', key);
  } catch (e) {
    if (e instanceof XeError && /^Error: Key .* not found in map/.test(e.message.replace(/^xe \S+ failed: /, ''))) {
      return undefined;
    }
    throw e;
  }
}

/** Ask for a password on the terminal without echo. @param {string} prompt */
async function askPassword(prompt) {
  // readline in terminal mode puts the tty in raw mode (no echo); what it would draw goes nowhere.
  const mute = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: mute, terminal: true });
  process.stderr.write(prompt);
  try {
    return await new Promise((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** Read the pool password from --pool-password-file (a local file, or - for standard input). @param {string} file */
async function readPassword(file) {
  // A small regular file (or standard input), refused at once if it is a FIFO, a device or too large.
  const text = await readSecretFile(file, '--pool-password-file');
  const pw = text.replace(/\r?\n$/, '');
  if (pw === '') throw usage(`--pool-password-file: ${file === '-' ? 'standard input' : file} is empty`);
  if (/[\r\n]/.test(pw)) throw usage('--pool-password-file: the password must be on one line');
  return pw;
}

/** What is on a block device that creating an SR would destroy. @param {Ctx} ctx @param {string} dev */
async function probeDevice(ctx, dev) {
  const isBlock = await ctx.$({ nothrow: true })`test -b ${dev}`;
  if (isBlock.exitCode !== 0) return { block: false, mounted: [], inUse: [], contents: [] };
  /** @type {string[]} */
  const mounted = [];
  /** @type {string[]} */
  const inUse = [];
  /** @type {string[]} */
  const contents = [];
  const tree = await ctx.$({ nothrow: true })`lsblk -nr -o NAME,TYPE,MOUNTPOINT ${dev}`;
  for (const line of tree.stdout.split('\n').filter(Boolean).slice(1)) {
    const [name, type, mountpoint] = line.split(' ');
    if (type === 'part') contents.push(`partition ${name}`);
    else if (type) inUse.push(`${type} ${name} on top of it`);
    if (mountpoint) mounted.push(`${name} on ${mountpoint.replace(/\\x20/g, ' ')}`);
  }
  const own = tree.stdout.split('\n')[0]?.split(' ')[2];
  if (own) mounted.push(`${dev} on ${own.replace(/\\x20/g, ' ')}`);
  const swaps = await ctx.$({ nothrow: true })`cat /proc/swaps`;
  const real = (await ctx.$`readlink -f -- ${dev}`).stdout.trim();
  if (swaps.stdout.split('\n').some((l) => l.split(/\s+/)[0] === real)) inUse.push('active swap');
  const probe = await ctx.$({ nothrow: true })`blkid -p -o export ${dev}`;
  const found = parseKeyValues(probe.stdout);
  if (found.PTTYPE) contents.push(`a partition table (${found.PTTYPE})`);
  if (found.TYPE) {
    contents.push(
      found.TYPE === 'LVM2_member'
        ? 'an LVM physical volume'
        : found.TYPE === 'swap'
          ? 'swap space'
          : `a filesystem (${found.TYPE})`,
    );
  }
  return { block: true, mounted, inUse, contents };
}

/* ------------------------------------------------------------------ plans: read-only, refusals happen here */

/** Storage, pool or VM asked for? @param {Ctx} ctx */
const storageAsked = (ctx) => Boolean(opts(ctx)['sr-device'] || opts(ctx)['sr-type'] === 'nfs');

/** This host and its pool as xapi sees them (again after a pool join). @param {Ctx} ctx */
async function xapiFacts(ctx, refresh = false) {
  if (ctx.state.host && !refresh) return;
  const me = await thisHost(ctx);
  ctx.state.host = me.get('uuid');
  ctx.state.hostName = me.get('name-label');
  ctx.state.pool = await thePool(ctx);
}

/**
 * The storage: an SR already there (reused, whatever its name), or the one to create. Refuses a path
 * that is not a block device, a device that is mounted or in use, and one holding data unless --force.
 * @param {Ctx} ctx
 * @returns {Promise<{ existing?: string, existingName?: string, existingType?: string, type: string, note: string, contents: string[] }>}
 */
async function storagePlan(ctx) {
  const o = opts(ctx);
  if (o['sr-type'] === 'nfs') {
    const server = /** @type {string} */ (o['nfs-server']);
    const path = /** @type {string} */ (o['nfs-path']);
    if (ctx.state.xapi) {
      const selectors = { 'device-config:server': server, 'device-config:serverpath': path };
      const [sr] = await xeList(ctx.$, 'pbd', selectors, 'sr-uuid');
      if (sr)
        return {
          existing: sr,
          existingName: await xeGet(ctx.$, 'sr', sr, 'name-label'),
          existingType: 'nfs',
          type: 'nfs',
          note: '',
          contents: [],
        };
      if ((await xeList(ctx.$, 'sm', { type: 'nfs' })).length === 0)
        throw fail('this xapi has no nfs storage driver (xe sm-list)');
    }
    return { type: 'nfs', note: '', contents: [] };
  }
  const device = /** @type {string} */ (o['sr-device']);
  if (ctx.state.xapi) {
    // An SR of this host already on this device, by any path to it, is reused.
    const pbds = await xeRecords(ctx.$, 'pbd', { 'host-uuid': /** @type {string} */ (ctx.state.host) }, [
      'uuid',
      'sr-uuid',
      'device-config',
    ]);
    const withDevice = pbds.filter((p) => p.map('device-config').device);
    if (withDevice.length) {
      const paths = [device, ...withDevice.map((p) => p.map('device-config').device ?? '')];
      const real = (await ctx.$({ nothrow: true })`readlink -f -- ${paths}`).stdout.split('\n');
      const pbd = withDevice.find(
        (p, i) => p.map('device-config').device === device || (real[0] && real[i + 1] === real[0]),
      );
      if (pbd) {
        const sr = /** @type {string} */ (pbd.get('sr-uuid'));
        const [rec] = await xeRecords(ctx.$, 'sr', { uuid: sr }, ['uuid', 'name-label', 'type']);
        return {
          existing: sr,
          existingName: rec?.get('name-label') ?? sr,
          existingType: rec?.get('type'),
          type: rec?.get('type') ?? '',
          note: '',
          contents: [],
        };
      }
    }
  }
  const dev = await probeDevice(ctx, device);
  if (!dev.block)
    throw refuse(
      `${device} is not a block device on this host`,
      'list the disks with lsblk; prefer /dev/disk/by-id/… paths',
    );
  if (dev.mounted.length)
    throw refuse(
      `${device} is in use: mounted (${dev.mounted.join('; ')})`,
      'an SR takes the whole device: pick an unused one',
    );
  if (dev.inUse.length)
    throw refuse(`${device} is in use: ${dev.inUse.join('; ')}`, 'an SR takes the whole device: pick an unused one');
  if (dev.contents.length && !o.force) {
    throw refuse(
      `${device} holds ${dev.contents.join(', ')}: creating the SR destroys it`,
      `look with: blkid -p ${device}; lsblk ${device}. If it may go, run again with --force`,
    );
  }
  let type = o['sr-type'];
  let note = '';
  if (type === 'lvm' && ctx.state.xapi && (await xeList(ctx.$, 'sm', { type: 'lvm' })).length === 0) {
    if (ctx.given.has('sr-type')) {
      throw fail(
        'this xapi has no lvm storage driver (xe sr-create would answer SR_UNKNOWN_DRIVER, driver: lvm)',
        'XCP 1.5 on Ubuntu ships no LVM driver: run again with --sr-type ext',
      );
    }
    type = 'ext';
    note = ' (lvm: no such storage driver here, as on XCP 1.5 for Ubuntu; ext instead)';
  }
  return { type, note, contents: dev.contents };
}

/** The Tools SR, which xapi does not count as shared storage against a pool join. @param {import('xen-runbooks/xen/xe').XeRecord} sr */
function isToolsSr(sr) {
  if (sr.get('is-tools-sr') === 'true') return true;
  const other = sr.map('other-config');
  return 'xenserver_tools_sr' in other || 'xensource_internal' in other;
}

/**
 * Joining the pool: already a member, or what to do; refuses what xapi would refuse.
 * @param {Ctx} ctx
 * @returns {Promise<{ member: boolean, message: string }>}
 */
async function joinPlan(ctx) {
  const address = /** @type {string} */ (opts(ctx)['join-pool']);
  const me = /** @type {string} */ (ctx.state.host);
  const pool = /** @type {Awaited<ReturnType<typeof thePool>>} */ (ctx.state.pool);
  const hosts = await xeRecords(ctx.$, 'host', {}, ['uuid', 'name-label', 'address', 'hostname']);
  const master = hosts.find((h) => h.get('uuid') === pool.master);
  const masterNames = [master?.get('address'), master?.get('hostname'), master?.get('name-label')];
  if (pool.master !== me && masterNames.includes(address)) {
    return { member: true, message: `member of pool "${pool.name}" (master ${master?.get('address')})` };
  }
  if (masterNames.includes(address)) throw refuse(`${address} is this host: a host cannot join its own pool`);
  if (pool.master !== me) {
    throw refuse(
      `this host already belongs to the pool whose master is ${master?.get('address') ?? pool.master}`,
      'to move it, eject it first (xe pool-eject on the master; the host then reinstalls its database and reboots)',
    );
  }
  if (hosts.length > 1)
    throw refuse(`this host is the master of a pool of ${hosts.length} hosts: it cannot join another pool`);
  // xapi's pre_join_checks (xapi_pool.ml): assert_no_running_vms_on_me counts running VMs only.
  const vms = await xeRecords(ctx.$, 'vm', { 'is-control-domain': 'false' }, ['uuid', 'name-label', 'power-state']);
  const busy = vms.filter((v) => v.get('power-state') === 'running');
  if (busy.length) {
    throw refuse(
      `${busy.length} VM${busy.length > 1 ? 's are' : ' is'} running on this host (${busy.map((v) => v.get('name-label')).join(', ')}): a host joins a pool only with none running`,
      'shut them down (xe vm-shutdown uuid=…), then run again',
    );
  }
  // assert_no_shared_srs_on_me counts every shared SR but the Tools SR, which every XCP-ng host
  // has: the is-tools-sr field (xapi 1.249 and later), other-config:xenserver_tools_sr or
  // xensource_internal in 2012's xapi (Helpers.is_tools_sr).
  const shared = (await xeRecords(ctx.$, 'sr', { shared: 'true' })).filter((sr) => !isToolsSr(sr));
  if (shared.length) {
    throw refuse(
      `this host has shared storage (${shared.map((sr) => sr.get('name-label')).join(', ')}): a host joins a pool only without`,
      'detach it (xe pbd-unplug, then xe sr-forget), then run again',
    );
  }
  return { member: false, message: `to join the pool whose master is ${address}` };
}

/**
 * The VM: found by name, or what its installation needs (template, network, SR). Refuses two VMs
 * of that name; fails on a missing template, bridge or SR.
 * @param {Ctx} ctx
 * @param {{ joining?: boolean }} [how]
 * @returns {Promise<{ existing?: string, network: string, sr?: string }>}
 */
async function vmPlan(ctx, how = {}) {
  const o = opts(ctx);
  const name = /** @type {string} */ (o['vm-name']);
  const found = await xeList(ctx.$, 'vm', { 'name-label': name, 'is-control-domain': 'false' });
  if (found.length > 1) {
    throw refuse(
      `${found.length} VMs are named "${name}"`,
      'rename or remove all but one: xe vm-list name-label=… params=uuid,power-state',
    );
  }
  const bridge = o['network-bridge'];
  const nets = await xeList(ctx.$, 'network', { bridge });
  if (nets.length !== 1) {
    const bridges = await xeList(ctx.$, 'network', {}, 'bridge');
    throw fail(
      `no network on bridge ${bridge}`,
      `bridges here: ${bridges.join(', ')}; choose one with --network-bridge`,
    );
  }
  const network = /** @type {string} */ (nets[0]);
  if (found[0]) return { existing: found[0], network };
  const templates = await xeList(ctx.$, 'template', { 'name-label': o.template });
  if (templates.length !== 1) {
    const names = (await xeList(ctx.$, 'template', {}, 'name-label')).sort();
    throw fail(
      templates.length
        ? `${templates.length} templates are named "${o.template}"`
        : `no template named "${o.template}"`,
      `templates here: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''} (xe template-list params=name-label)`,
    );
  }
  const sr = /** @type {string | undefined} */ (ctx.state.sr) ?? (await thePool(ctx)).defaultSr;
  if (!sr && !storageAsked(ctx) && !how.joining) {
    throw fail(
      'there is no SR to install the VM on: no --sr-device was given and the pool has no default SR (xe vm-install would answer: Failed to find a valid default SR for the Pool)',
      'give --sr-device (or --sr-type nfs …), or set a default SR: xe pool-param-set uuid=POOL default-SR=SR',
    );
  }
  return { network, ...(sr ? { sr } : {}) };
}

/* ------------------------------------------------------------------ the playbook */

const playbook = definePlaybook({
  name: 'xcp-install',
  summary: 'Install and configure XCP / XCP-ng: packages and workarounds, pool, storage repository, first VM.',
  description: `On Ubuntu 12.04 (or Debian 7) it adds the XCP packages and applies the known workarounds (network
backend file, VIF offline events, xend disabled, qemu keymaps, Xen as the default boot entry); on an
XCP-ng or XenServer host these are skipped. Then, through xe: joins a pool (--join-pool), creates the
storage repository (--sr-device, or --sr-type nfs) and makes it the pool's default, installs and
starts a VM (--vm-name). Every step first looks, then changes only what differs: a second run changes
nothing. With --root, files are read and written under the directory but commands still run on
this machine: it is meant for tests and dry runs; to act on a host run it there or with --host.`,
  options: OPTIONS,
  transports: ['local', 'root', 'ssh'],
  examples: [
    '--dry-run',
    '--sr-device /dev/disk/by-id/ata-ST2000DM008-2FR102_ZFL0ABCD --vm-name centos-test \\\n      --install-repository http://vault.centos.org/5.11/os/x86_64',
    '--host root@xcp1 --sr-type ext --sr-device /dev/sdb --vm-name web01 --template "CentOS 7" --memory 2G --vcpus 2',
    '--host root@xcp2 --join-pool 192.0.2.10 --pool-password-file ~/.xcp-pool --sr-type nfs --nfs-server 192.0.2.20 --nfs-path /export/vms',
  ],
  async validate(ctx) {
    const o = opts(ctx);
    const nfs = o['sr-type'] === 'nfs';
    if (nfs) {
      if (!o['nfs-server'] || !o['nfs-path']) throw usage('--sr-type nfs needs --nfs-server and --nfs-path');
      if (o['sr-device']) throw usage('--sr-device and --sr-type nfs exclude each other');
      if (!o['nfs-path'].startsWith('/')) throw usage(`--nfs-path: '${o['nfs-path']}' is not an absolute path`);
    } else {
      if (o['nfs-server'] || o['nfs-path']) throw usage('--nfs-server and --nfs-path go with --sr-type nfs');
      if (ctx.given.has('sr-type') && !o['sr-device']) throw usage(`--sr-type ${o['sr-type']} needs --sr-device`);
    }
    if (o['sr-device'] && !o['sr-device'].startsWith('/dev/')) {
      throw usage(`--sr-device: '${o['sr-device']}' is not a device path under /dev`);
    }
    if (o.force && !o['sr-device']) throw usage('--force goes with --sr-device');
    for (const k of ['template', 'install-repository', 'memory', 'vcpus']) {
      if (ctx.given.has(k) && !o['vm-name']) throw usage(`--${k} goes with --vm-name`);
    }
    if (o['vm-name'] !== undefined && o['vm-name'].trim() === '') throw usage('--vm-name: the name is empty');
    if (o['sr-name'].trim() === '') throw usage('--sr-name: the name is empty');
    for (const k of /** @type {const} */ ([
      'vm-name',
      'sr-name',
      'template',
      'install-repository',
      'network-bridge',
      'nfs-server',
      'nfs-path',
      'join-pool',
      'pool-user',
      'sr-device',
    ])) {
      const v = o[k];
      if (typeof v === 'string') assertXeValue(`--${k}`, v);
    }
    if (o['pool-password-file'] && !o['join-pool']) throw usage('--pool-password-file goes with --join-pool');
    if (ctx.given.has('pool-user') && !o['join-pool']) throw usage('--pool-user goes with --join-pool');
    if (o['join-pool']) {
      const file = o['pool-password-file'];
      if (file) {
        if (file !== '-') {
          const st = await stat(file).catch(() => undefined);
          if (st && st.mode & 0o077) ctx.log.warn(`${file} can be read by other users: chmod 600 ${file}`);
        }
        ctx.state.poolPassword = await readPassword(file);
      } else if (!process.stdin.isTTY && !ctx.dryRun) {
        throw usage(
          "--join-pool needs the pool master's password: give --pool-password-file FILE (or -), or run on a terminal to be asked",
        );
      }
    }
  },
  steps: [
    step('detect-platform', {
      title: 'Detect the platform',
      async check(ctx) {
        const os = parseKeyValues(await ctx.host.readText('/etc/os-release'));
        const lsb = parseKeyValues(await ctx.host.readText('/etc/lsb-release'));
        const inventory = parseKeyValues(await ctx.host.readText('/etc/xensource-inventory'));
        const xapi = await probeXapi(ctx);
        ctx.state.xapi = xapi.up;
        /** @type {Record<string, string>} */
        let software = {};
        if (xapi.up) {
          const [host] = await xeRecords(ctx.$, 'host', {}, ['uuid', 'software-version']);
          software = host?.map('software-version') ?? {};
        }
        const brand = software.product_brand ?? inventory.PRODUCT_BRAND;
        const id = (os.ID ?? lsb.DISTRIB_ID ?? '').toLowerCase();
        const release = os.VERSION_ID ?? lsb.DISTRIB_RELEASE ?? '';
        const pretty = os.PRETTY_NAME ?? lsb.DISTRIB_DESCRIPTION ?? (id ? `${id} ${release}` : 'an unknown system');
        /** @type {Platform} */
        let p;
        if (/^(XCP-ng|XenServer|Citrix Hypervisor)$/.test(brand ?? '') || ['xcp-ng', 'xenenterprise'].includes(id)) {
          p = {
            kind: 'xcp-ng',
            name: brand ?? os.NAME ?? 'XCP-ng',
            version: software.product_version ?? inventory.PRODUCT_VERSION ?? release,
            brand: brand ?? '',
          };
          if (!xapi.up) {
            throw fail(
              `${p.name} ${p.version}: xapi does not answer (${xapi.error?.message ?? 'xe failed'})`,
              'restart the toolstack on the host: xe-toolstack-restart',
            );
          }
        } else if (id === 'ubuntu' && release === '12.04') {
          p = {
            kind: 'legacy',
            name: 'Ubuntu 12.04',
            version: release,
            distro: 'ubuntu',
            codename: lsb.DISTRIB_CODENAME ?? os.VERSION_CODENAME ?? 'precise',
          };
        } else if (id === 'debian' && /^7(\.|$)/.test(release)) {
          p = { kind: 'legacy', name: 'Debian 7', version: release, distro: 'debian', codename: 'wheezy' };
        } else if (id === 'ubuntu' || id === 'debian') {
          throw refuse(
            `${pretty}: the XCP packages (xcp-xapi) exist only for Ubuntu 12.04 (PPA ${PPA}) and Debian 7`,
            'install XCP-ng on this machine, then run this playbook against it',
          );
        } else {
          throw refuse(
            `${pretty}: neither an XCP-ng/XenServer host (no xapi answers) nor Ubuntu 12.04 / Debian 7`,
            'run this playbook on an XCP-ng host or on a fresh Ubuntu 12.04 host',
          );
        }
        ctx.state.platform = p;
        ctx.report.platform = { ...p, xapi: xapi.up };
        if (p.kind === 'xcp-ng') return ok(`${p.name} ${p.version}, xapi answers: the installation steps do not apply`);
        return ok(
          `${p.name} (${p.codename}): the XCP packages and workarounds apply; xapi ${xapi.up ? 'answers' : 'does not answer yet'}`,
        );
      },
    }),

    step('preflight', {
      title: 'Look before changing anything: storage device, pool, VM',
      when: (ctx) =>
        storageAsked(ctx) || opts(ctx)['join-pool'] || opts(ctx)['vm-name'] ? true : 'no pool, storage or VM asked for',
      async check(ctx) {
        /** @type {string[]} */
        const seen = [];
        if (ctx.state.xapi) await xapiFacts(ctx);
        let joining = false;
        if (opts(ctx)['join-pool'] && ctx.state.xapi) {
          const j = await joinPlan(ctx);
          joining = !j.member;
          seen.push(j.message);
        }
        if (storageAsked(ctx)) {
          const s = await storagePlan(ctx);
          ctx.state.storagePlan = s;
          seen.push(s.existing ? `SR "${s.existingName}" is there` : `${s.type} SR to create${s.note}`);
        }
        if (opts(ctx)['vm-name'] && ctx.state.xapi) {
          const v = await vmPlan(ctx, { joining });
          if (!joining) ctx.state.vmPlan = v;
          seen.push(
            v.existing ? `VM "${opts(ctx)['vm-name']}" is there` : `VM to install from "${opts(ctx).template}"`,
          );
        }
        if (!ctx.state.xapi && (opts(ctx)['join-pool'] || opts(ctx)['vm-name']))
          seen.push('pool and VM: looked at once xapi answers');
        return ok(seen.join('; '));
      },
    }),

    step('apt-repository', {
      title: `Add the XCP package archive (PPA ${PPA})`,
      when: (ctx) => {
        const l = legacyOnly(ctx);
        if (l !== true) return l;
        return platform(ctx)?.distro === 'ubuntu' ? true : 'Debian 7 carries xcp-xapi in its own archive';
      },
      async check(ctx) {
        const codename = platform(ctx)?.codename ?? 'precise';
        const dir = '/etc/apt/sources.list.d';
        const texts = [await ctx.host.readText('/etc/apt/sources.list')];
        for (const f of (await ctx.host.readdir(dir)) ?? [])
          if (f.endsWith('.list')) texts.push(await ctx.host.readText(`${dir}/${f}`));
        if (
          texts.some((t) => t?.split('\n').some((l) => /^\s*deb\s/.test(l) && l.includes(`ppa.launchpad.net/${PPA}/`)))
        ) {
          return ok(`ppa:${PPA} is in the apt sources`);
        }
        const haveTool = installedPackages(await ctx.host.readText('/var/lib/dpkg/status')).has(
          'python-software-properties',
        );
        return change(
          `${haveTool ? '' : 'install python-software-properties, then '}add ppa:${PPA} (${dir}/${PPA.replace('/', '-')}-${codename}.list)`,
          { data: { haveTool } },
        );
      },
      async apply(ctx, c) {
        if (ctx.host.kind === 'root')
          ctx.log.warn('--root: apt-get and add-apt-repository run on this machine, not inside the directory');
        if (!dataOf(c).haveTool)
          await ctx.$`env DEBIAN_FRONTEND=noninteractive apt-get install -y python-software-properties`;
        await ctx.$`add-apt-repository -y ${`ppa:${PPA}`}`;
        return `added ppa:${PPA}`;
      },
    }),

    step('network-backend', {
      title: 'Choose the bridge network backend before xcp-xapi is installed',
      when: legacyOnly,
      async check(ctx) {
        const current = await ctx.host.readText(NETWORK_CONF);
        const mode = current
          ?.split('\n')
          .map((l) => l.trim())
          .find((l) => l && !l.startsWith('#'));
        if (mode) return ok(`${NETWORK_CONF} says '${mode}'`);
        const edit = await ctx.planEdit(NETWORK_CONF, () => 'bridge\n');
        return change(`${current === undefined ? 'create' : 'fill in'} ${NETWORK_CONF}: bridge`, {
          diff: edit.diff,
          data: edit,
        });
      },
      async apply(ctx, c) {
        await ctx.host.mkdir('/etc/xcp');
        await ctx.applyEdit(dataOf(c), { mode: 0o644 });
        return `${NETWORK_CONF} written: bridge`;
      },
    }),

    step('install-packages', {
      title: 'Install xcp-xapi, xcp-xe and pciutils (brings the Xen hypervisor)',
      when: legacyOnly,
      long: true,
      async check(ctx) {
        const have = installedPackages(await ctx.host.readText('/var/lib/dpkg/status'));
        const missing = PACKAGES.filter((p) => !have.has(p));
        if (missing.length === 0) return ok(`${PACKAGES.join(', ')} are installed`);
        ctx.state.packagesPending = true;
        return change(`apt-get update; apt-get install ${missing.join(' ')}`, { data: { missing } });
      },
      async apply(ctx, c) {
        if (ctx.host.kind === 'root') ctx.log.warn('--root: apt-get runs on this machine, not inside the directory');
        await ctx.$`apt-get update`;
        await ctx.$`env DEBIAN_FRONTEND=noninteractive apt-get install -y ${dataOf(c).missing}`;
        const have = installedPackages(await ctx.host.readText('/var/lib/dpkg/status'));
        const still = PACKAGES.filter((p) => !have.has(p));
        if (still.length)
          throw fail(`apt-get finished but ${still.join(', ')} ${still.length > 1 ? 'are' : 'is'} not installed`);
        ctx.state.packagesPending = false;
        ctx.state.installedNow = true;
        return `installed ${dataOf(c).missing.join(', ')}`;
      },
    }),

    step('vif-offline', {
      title: 'Let the VIF script handle "offline" events (VMs reach halted)',
      when: legacyOnly,
      async check(ctx) {
        const text = await ctx.host.readText(VIF_SCRIPT);
        if (text === undefined) {
          return skip(
            packagesPending(ctx)
              ? `${VIF_SCRIPT} comes with xcp-xapi: looked at once it is installed`
              : `${VIF_SCRIPT} is not there: this xcp-xapi has no such script`,
          );
        }
        if (/^\s*remove\|offline\)/m.test(text) || /^\s*offline\|remove\)/m.test(text))
          return ok(`${VIF_SCRIPT} handles remove|offline`);
        if (!/^\s*remove\)/m.test(text))
          return skip(`${VIF_SCRIPT} has no 'remove)' case: not the script this fix is for`);
        const edit = await ctx.planEdit(VIF_SCRIPT, (cur) =>
          (cur ?? '').replace(/^(\s*)remove\)/m, '$1remove|offline)'),
        );
        return change(`edit ${VIF_SCRIPT}: remove) becomes remove|offline)`, { diff: edit.diff, data: edit });
      },
      async apply(ctx, c) {
        const backup = await ctx.applyEdit(dataOf(c));
        return `${VIF_SCRIPT} written${backup ? ` (backup: ${backup})` : ''}`;
      },
    }),

    fileStep('xend-init', {
      title: 'Keep xend from starting (it conflicts with xapi)',
      when: async (ctx) => {
        const l = legacyOnly(ctx);
        if (l !== true) return l;
        if (await ctx.host.exists(XEND_INIT)) return true;
        return packagesPending(ctx)
          ? `${XEND_INIT} comes with the Xen packages: looked at once they are installed`
          : `${XEND_INIT} is not there: no xend to stop`;
      },
      file: () => XEND_INIT,
      edit: (current) => (current ?? '').replace(/^(\s*)(xend_start|xend_stop)[ \t]*$/gm, '$1#$2'),
    }),

    step('xendomains', {
      title: 'Keep xendomains from starting at boot',
      when: async (ctx) => {
        const l = legacyOnly(ctx);
        if (l !== true) return l;
        if (await ctx.host.exists('/etc/init.d/xendomains')) return true;
        return packagesPending(ctx)
          ? 'xendomains comes with the Xen packages: looked at once they are installed'
          : 'no /etc/init.d/xendomains';
      },
      async check(ctx) {
        /** @type {string[]} */
        const links = [];
        for (const level of ['2', '3', '4', '5']) {
          for (const f of (await ctx.host.readdir(`/etc/rc${level}.d`)) ?? []) {
            if (/^S\d\dxendomains$/.test(f)) links.push(`/etc/rc${level}.d/${f}`);
          }
        }
        if (links.length === 0) return ok('xendomains does not start in runlevels 2–5');
        return change(`update-rc.d xendomains disable (now started by ${links.join(', ')})`, { data: { links } });
      },
      async apply(ctx) {
        if (ctx.host.kind === 'root')
          ctx.log.warn('--root: update-rc.d runs on this machine, not inside the directory');
        await ctx.$`update-rc.d xendomains disable`;
        return 'xendomains disabled';
      },
    }),

    step('qemu-keymaps', {
      title: 'Give qemu its keymaps (/usr/share/qemu/keymaps)',
      when: legacyOnly,
      async check(ctx) {
        const link = await ctx.host.readlink(KEYMAPS);
        if (link === KEYMAPS_TARGET) return ok(`${KEYMAPS} → ${KEYMAPS_TARGET}`);
        const st = await ctx.host.stat(KEYMAPS);
        if (st) return ok(`${KEYMAPS} exists (${st.type}${link ? ` → ${link}` : ''}): left as it is`);
        if (!(await ctx.host.exists(KEYMAPS_TARGET))) {
          return skip(
            packagesPending(ctx)
              ? `${KEYMAPS_TARGET} comes with the Xen packages: linked once installed`
              : `${KEYMAPS_TARGET} is not there: nothing to link to`,
          );
        }
        return change(`mkdir -p /usr/share/qemu; ln -s ${KEYMAPS_TARGET} ${KEYMAPS}`);
      },
      async apply(ctx) {
        await ctx.host.mkdir('/usr/share/qemu');
        await ctx.host.symlink(KEYMAPS_TARGET, KEYMAPS);
        return `${KEYMAPS} → ${KEYMAPS_TARGET}`;
      },
    }),

    step('grub-default', {
      title: 'Boot Xen by default',
      when: legacyOnly,
      async check(ctx) {
        const cfg = await ctx.host.readText(GRUB_CFG);
        if (cfg === undefined) return skip(`no ${GRUB_CFG}: set the default boot entry by hand`);
        const xen = topLevelMenu(cfg).filter((e) => /\bXen\b/.test(e.title) && !/recovery mode/.test(e.title));
        const chosen = xen[0];
        if (!chosen) {
          if (packagesPending(ctx))
            return skip(`the Xen entries appear in ${GRUB_CFG} once the hypervisor is installed`);
          throw fail(
            `${GRUB_CFG} has no Xen entry`,
            'is the Xen hypervisor package installed? run update-grub and look for "Xen" in the menu',
          );
        }
        const version = /Xen ([0-9]+\.[0-9]+)/.exec(chosen.title)?.[1];
        if (version) ctx.state.xenVersion = version;
        ctx.report.grubDefault = chosen.title;
        const edit = await ctx.planEdit(GRUB_DEFAULTS, (text = '') =>
          grubDefaultValue(text) === chosen.title ? text : setGrubDefault(text, chosen.title),
        );
        if (!edit.changed && cfgDefault(cfg) === chosen.title) return ok(`boots "${chosen.title}" by default`);
        return change(
          `${edit.changed ? `set GRUB_DEFAULT="${chosen.title}" (the ${chosen.kind} in ${GRUB_CFG}), then ` : ''}run update-grub`,
          { diff: edit.diff, data: { edit, title: chosen.title } },
        );
      },
      async apply(ctx, c) {
        if (dataOf(c).edit.changed) await ctx.applyEdit(dataOf(c).edit);
        if (ctx.host.kind === 'root')
          ctx.log.warn('--root: update-grub runs on this machine, not inside the directory');
        await ctx.$`update-grub`;
        const cfg = (await ctx.host.readText(GRUB_CFG)) ?? '';
        if (cfgDefault(cfg) !== dataOf(c).title) {
          throw fail(
            `update-grub ran but ${GRUB_CFG} does not default to "${dataOf(c).title}"`,
            `look at ${GRUB_DEFAULTS} and /etc/grub.d`,
          );
        }
        return `boots "${dataOf(c).title}" by default from the next boot`;
      },
    }),

    step('xapi-ready', {
      title: 'Check that xapi answers',
      async check(ctx) {
        if (!ctx.state.xapi) ctx.state.xapi = (await probeXapi(ctx)).up;
        if (!ctx.state.xapi) {
          ctx.report.rebootRequired = true;
          const into = ctx.report.grubDefault ? `"${ctx.report.grubDefault}"` : 'Xen';
          return skip(
            `xapi does not answer yet: reboot into ${into}, then run this playbook again for the pool, storage and VM steps`,
          );
        }
        await xapiFacts(ctx);
        return ok(`xapi answers on ${ctx.state.hostName} (${platform(ctx)?.name ?? ''})`);
      },
    }),

    step('join-pool', {
      title: 'Join the pool',
      when: (ctx) => (opts(ctx)['join-pool'] ? needsXapi(ctx) : 'no --join-pool given'),
      async check(ctx) {
        const plan = await joinPlan(ctx);
        if (plan.member) return ok(plan.message);
        return change(`join the pool whose master is ${opts(ctx)['join-pool']} (as ${opts(ctx)['pool-user']})`);
      },
      async apply(ctx) {
        const address = /** @type {string} */ (opts(ctx)['join-pool']);
        const user = opts(ctx)['pool-user'];
        let password = /** @type {string | undefined} */ (ctx.state.poolPassword);
        if (password === undefined) {
          if (!process.stdin.isTTY) throw usage('the pool password is needed: give --pool-password-file');
          password = await askPassword(`Password of ${user} on ${address}: `);
          if (!password) throw usage('no password given');
          assertXeValue('the pool password', password);
        }
        // The password goes to xe through standard input, never on the command line that ssh, ps or --verbose show.
        const r = await ctx.$({
          nothrow: true,
          input: `${password}\n`,
        })`sh -c ${POOL_JOIN_SCRIPT} xcp-install ${address} ${user}`;
        const failure = xeFailure(['pool-join'], r);
        if (failure) throw failure;
        // xapi restarts to join; wait until this host reports the new master.
        for (let i = 0; i < 60; i++) {
          if ((await probeXapi(ctx)).up) {
            const pool = await thePool(ctx);
            if (pool.master && pool.master !== ctx.state.host) {
              await xapiFacts(ctx, true);
              delete ctx.state.storagePlan;
              delete ctx.state.vmPlan;
              return `joined the pool "${pool.name}" (master ${address})`;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
        throw fail(
          `pool-join was accepted but this host does not report ${address} as its master after 2 minutes`,
          'look at /var/log/xensource.log on both hosts',
        );
      },
    }),

    step('storage-repository', {
      title: 'Create the storage repository',
      long: true,
      when: (ctx) => (storageAsked(ctx) ? needsXapi(ctx) : 'no --sr-device (or --sr-type nfs) given'),
      async check(ctx) {
        const name = opts(ctx)['sr-name'];
        // What the preflight found still holds unless a pool join came in between.
        const plan =
          /** @type {Awaited<ReturnType<typeof storagePlan>> | undefined} */ (ctx.state.storagePlan) ??
          (await storagePlan(ctx));
        if (plan.existing) {
          ctx.state.sr = plan.existing;
          if (plan.existingName !== name)
            ctx.log.warn(`the SR there is named "${plan.existingName}", not "${name}": it is used as it is`);
          const where =
            plan.type === 'nfs' ? `${opts(ctx)['nfs-server']}:${opts(ctx)['nfs-path']}` : opts(ctx)['sr-device'];
          return ok(`SR "${plan.existingName}" (${plan.existingType}) is already on ${where}`);
        }
        if (plan.contents.length)
          ctx.log.warn(
            `--force: ${opts(ctx)['sr-device']} holds ${plan.contents.join(', ')}, which the SR will overwrite`,
          );
        if (plan.type === 'nfs') {
          return change(`create the shared NFS SR "${name}" on ${opts(ctx)['nfs-server']}:${opts(ctx)['nfs-path']}`, {
            data: plan,
          });
        }
        return change(`create the ${plan.type} SR "${name}" on ${opts(ctx)['sr-device']}${plan.note}`, { data: plan });
      },
      async apply(ctx, c) {
        const o = opts(ctx);
        const me = /** @type {string} */ (ctx.state.host);
        const name = o['sr-name'];
        /** @param {string} type */
        const create = async (type) =>
          (
            await xe(
              ctx.$,
              type === 'nfs'
                ? xeArgs('sr-create', {
                    'host-uuid': me,
                    'name-label': name,
                    shared: true,
                    type: 'nfs',
                    'content-type': 'user',
                    'device-config': {
                      server: /** @type {string} */ (o['nfs-server']),
                      serverpath: /** @type {string} */ (o['nfs-path']),
                    },
                  })
                : xeArgs('sr-create', {
                    'host-uuid': me,
                    'name-label': name,
                    shared: false,
                    type,
                    'content-type': 'user',
                    'device-config': { device: /** @type {string} */ (o['sr-device']) },
                  }),
            )
          ).trim();
        let type = dataOf(c).type;
        let uuid;
        try {
          uuid = await create(type);
        } catch (e) {
          if (!(e instanceof XeError && e.code === 'SR_UNKNOWN_DRIVER' && type === 'lvm' && !ctx.given.has('sr-type')))
            throw e;
          ctx.log.warn('xapi does not know the lvm driver (SR_UNKNOWN_DRIVER): creating an ext SR instead');
          type = 'ext';
          uuid = await create(type);
        }
        ctx.state.sr = uuid;
        ctx.report.sr = { uuid, type, name };
        return `created the ${type} SR "${name}" (${uuid})`;
      },
    }),

    step('default-sr', {
      title: "Make it the pool's default SR",
      when: (ctx) => {
        if (!storageAsked(ctx)) return 'no SR asked for: the pool default SR is left as it is';
        return needsXapi(ctx);
      },
      async check(ctx) {
        const sr = /** @type {string | undefined} */ (ctx.state.sr);
        if (!sr) return change(`make "${opts(ctx)['sr-name']}" the pool's default SR once it exists`);
        const pool = await thePool(ctx);
        ctx.state.pool = pool;
        const label = async (/** @type {string | undefined} */ u) =>
          u ? `"${await xeGet(ctx.$, 'sr', u, 'name-label')}"` : 'none';
        if (pool.defaultSr === sr) return ok(`${await label(sr)} is the pool's default SR`);
        const shared = (await xeGet(ctx.$, 'sr', sr, 'shared')) === 'true';
        const hosts = await xeList(ctx.$, 'host');
        if (!shared && hosts.length > 1) {
          return skip(
            `the pool has ${hosts.length} hosts and this SR is local to one: the pool's default stays ${await label(pool.defaultSr)}`,
          );
        }
        return change(`xe pool-param-set default-SR=${sr} (was ${await label(pool.defaultSr)})`, {
          data: { pool: pool.uuid, sr },
        });
      },
      async apply(ctx, c) {
        await xe(ctx.$, xeArgs('pool-param-set', { uuid: dataOf(c).pool, 'default-SR': dataOf(c).sr }));
        return `default SR: ${dataOf(c).sr}`;
      },
    }),

    step('install-vm', {
      title: 'Install the VM from its template',
      when: (ctx) => (opts(ctx)['vm-name'] ? needsXapi(ctx) : 'no --vm-name given'),
      async check(ctx) {
        const name = /** @type {string} */ (opts(ctx)['vm-name']);
        const plan =
          /** @type {Awaited<ReturnType<typeof vmPlan>> | undefined} */ (ctx.state.vmPlan) ?? (await vmPlan(ctx));
        ctx.state.network = plan.network;
        if (plan.existing) {
          ctx.state.vm = plan.existing;
          return ok(`VM "${name}" exists (${plan.existing})`);
        }
        const srName = plan.sr ? await xeGet(ctx.$, 'sr', plan.sr, 'name-label') : opts(ctx)['sr-name'];
        return change(`install "${name}" from "${opts(ctx).template}" on the SR "${srName}"`, {
          data: { sr: plan.sr },
        });
      },
      async apply(ctx, c) {
        const sr = /** @type {string} */ (dataOf(c).sr ?? ctx.state.sr);
        const name = /** @type {string} */ (opts(ctx)['vm-name']);
        const args = xeArgs('vm-install', { template: opts(ctx).template, 'new-name-label': name, 'sr-uuid': sr });
        const uuid = (await xe(ctx.$, args)).trim();
        ctx.state.vm = uuid;
        return `installed "${name}" (${uuid})`;
      },
    }),

    step('vm-resources', {
      title: "Set the VM's memory and vCPUs",
      when: (ctx) => {
        if (!opts(ctx)['vm-name']) return 'no --vm-name given';
        if (opts(ctx).memory === undefined && opts(ctx).vcpus === undefined)
          return "no --memory or --vcpus given: the template's values stay";
        return needsXapi(ctx);
      },
      async check(ctx) {
        const vm = /** @type {string | undefined} */ (ctx.state.vm);
        const { memory, vcpus } = opts(ctx);
        const wanted = [
          memory !== undefined ? `memory ${memory / 1024 ** 2} MiB` : '',
          vcpus !== undefined ? `${vcpus} vCPUs` : '',
        ].filter(Boolean);
        if (!vm) return change(`set ${wanted.join(' and ')} once the VM is installed`);
        const [r] = await xeRecords(ctx.$, 'vm', { uuid: vm }, [
          'uuid',
          'power-state',
          'memory-static-min',
          'memory-static-max',
          'memory-dynamic-min',
          'memory-dynamic-max',
          'VCPUs-max',
          'VCPUs-at-startup',
        ]);
        if (!r) throw fail(`VM ${vm} is gone`);
        const num = (/** @type {string} */ f) => Number(r.get(f));
        const m = opts(ctx).memory;
        const memOk =
          m === undefined ||
          (num('memory-static-max') === m &&
            num('memory-dynamic-max') === m &&
            num('memory-dynamic-min') === m &&
            num('memory-static-min') <= m);
        const n = opts(ctx).vcpus;
        const cpuOk = n === undefined || (num('VCPUs-max') === n && num('VCPUs-at-startup') === n);
        if (memOk && cpuOk) return ok(`the VM has ${wanted.join(' and ')}`);
        const power = r.get('power-state');
        if (power !== 'halted') {
          ctx.log.warn(`the VM is ${power}: its memory and vCPUs change here only while it is halted`);
          return skip(
            `the VM is ${power}: ${wanted.join(' and ')} not applied (halt it and run again, or change them live: see the QoS runbook)`,
          );
        }
        return change(`set ${wanted.join(' and ')}`, {
          data: {
            staticMin: Math.min(num('memory-static-min'), m ?? Infinity),
            vcpusMax: num('VCPUs-max'),
            memOk,
            cpuOk,
          },
        });
      },
      async apply(ctx, c) {
        const vm = /** @type {string} */ (ctx.state.vm);
        const m = opts(ctx).memory;
        const n = opts(ctx).vcpus;
        if (dataOf(c).memOk === false && m !== undefined) {
          await xe(
            ctx.$,
            xeArgs('vm-memory-limits-set', {
              uuid: vm,
              'static-min': dataOf(c).staticMin,
              'static-max': m,
              'dynamic-min': m,
              'dynamic-max': m,
            }),
          );
        }
        if (n !== undefined && dataOf(c).cpuOk === false) {
          // 0 < VCPUs-at-startup ≤ VCPUs-max must hold after each call.
          const order = n > dataOf(c).vcpusMax ? ['VCPUs-max', 'VCPUs-at-startup'] : ['VCPUs-at-startup', 'VCPUs-max'];
          for (const field of order) await xe(ctx.$, xeArgs('vm-param-set', { uuid: vm, [field]: n }));
        }
        return 'memory and vCPUs set';
      },
    }),

    step('vm-network', {
      title: "Attach the VM to the bridge's network",
      when: (ctx) => (opts(ctx)['vm-name'] ? needsXapi(ctx) : 'no --vm-name given'),
      async check(ctx) {
        const vm = /** @type {string | undefined} */ (ctx.state.vm);
        const net = /** @type {string} */ (ctx.state.network);
        const bridge = opts(ctx)['network-bridge'];
        if (!vm) return change(`create a VIF on ${bridge} once the VM is installed`);
        const vifs = await xeRecords(ctx.$, 'vif', { 'vm-uuid': vm }, ['uuid', 'device', 'network-uuid']);
        const on = vifs.find((v) => v.get('network-uuid') === net);
        if (on) return ok(`VIF ${on.get('device')} is on ${bridge}`);
        const free = (await xeRecords(ctx.$, 'vm', { uuid: vm }, ['uuid', 'allowed-VIF-devices', 'power-state']))[0];
        const device = free?.set('allowed-VIF-devices')[0];
        if (device === undefined) throw fail('the VM has no free VIF device number');
        return change(`create VIF ${device} on ${bridge}`, {
          data: { device, running: free?.get('power-state') === 'running' },
        });
      },
      async apply(ctx, c) {
        const vm = /** @type {string} */ (ctx.state.vm);
        const vif = (
          await xe(
            ctx.$,
            xeArgs('vif-create', {
              'vm-uuid': vm,
              'network-uuid': /** @type {string} */ (ctx.state.network),
              device: dataOf(c).device,
            }),
          )
        ).trim();
        if (dataOf(c).running) await xe(ctx.$, xeArgs('vif-plug', { uuid: vif }));
        return `VIF ${dataOf(c).device} (${vif}) on ${opts(ctx)['network-bridge']}`;
      },
    }),

    step('vm-other-config', {
      title: "Set the VM's installer repository and console",
      when: (ctx) => {
        if (!opts(ctx)['vm-name']) return 'no --vm-name given';
        if (!opts(ctx)['install-repository'] && platform(ctx)?.kind !== 'legacy')
          return 'no --install-repository given';
        return needsXapi(ctx);
      },
      async check(ctx) {
        const vm = /** @type {string | undefined} */ (ctx.state.vm);
        /** @type {Record<string, string>} */
        const wanted = {};
        const repository = opts(ctx)['install-repository'];
        if (repository) wanted['install-repository'] = repository;
        // XCP 1.x: a PV guest's console on the text console (xenconsole) instead of VNC.
        if (platform(ctx)?.kind === 'legacy') wanted.disable_pv_vnc = '1';
        const keys = Object.entries(wanted).map(([k, v]) => `other-config:${k}=${v}`);
        if (!vm) return change(`set ${keys.join(' ')} once the VM is installed`);
        /** @type {Record<string, string>} */
        const todo = {};
        for (const [k, v] of Object.entries(wanted)) if ((await otherConfig(ctx, vm, k)) !== v) todo[k] = v;
        if (Object.keys(todo).length === 0) return ok(keys.join(' '));
        return change(
          `set ${Object.entries(todo)
            .map(([k, v]) => `other-config:${k}=${v}`)
            .join(' ')}`,
          { data: { todo } },
        );
      },
      async apply(ctx, c) {
        await xe(
          ctx.$,
          xeArgs('vm-param-set', { uuid: /** @type {string} */ (ctx.state.vm), 'other-config': dataOf(c).todo }),
        );
        return `set ${Object.keys(dataOf(c).todo).join(', ')}`;
      },
    }),

    step('start-vm', {
      title: 'Start the VM',
      when: (ctx) => (opts(ctx)['vm-name'] ? needsXapi(ctx) : 'no --vm-name given'),
      async check(ctx) {
        const vm = /** @type {string | undefined} */ (ctx.state.vm);
        if (!vm) return change('start the VM once it is installed');
        const power = (await xe(ctx.$, xeArgs('vm-list', { uuid: vm, params: 'power-state' }, ['minimal']))).trim();
        if (power === 'running') {
          ctx.state.domid = (await xe(ctx.$, xeArgs('vm-list', { uuid: vm, params: 'dom-id' }, ['minimal']))).trim();
          return ok(`running as domain ${ctx.state.domid}`);
        }
        if (power !== 'halted') return skip(`the VM is ${power}: not started here (xe vm-unpause / xe vm-resume)`);
        return change(`xe vm-start uuid=${vm}`);
      },
      async apply(ctx) {
        const vm = /** @type {string} */ (ctx.state.vm);
        await xe(ctx.$, xeArgs('vm-start', { uuid: vm }));
        ctx.state.domid = (await xe(ctx.$, xeArgs('vm-list', { uuid: vm, params: 'dom-id' }, ['minimal']))).trim();
        return `started as domain ${ctx.state.domid}`;
      },
    }),
  ],
  finish(ctx) {
    const on = ctx.host.kind === 'ssh' ? ` on ${ctx.host.label.replace(/^ssh /, '')}` : '';
    if (ctx.report.rebootRequired && !ctx.dryRun) {
      ctx.log.warn(`reboot${on} into Xen, then run this playbook again with the same options`);
    }
    const vm = /** @type {string | undefined} */ (ctx.state.vm);
    const domid = /** @type {string | undefined} */ (ctx.state.domid);
    if (vm && domid) {
      const p = platform(ctx);
      const console =
        p?.kind === 'legacy'
          ? `/usr/lib/xen-${ctx.state.xenVersion ?? '4.1'}/bin/xenconsole ${domid}`
          : `xe console uuid=${vm}`;
      ctx.report.vm = { uuid: vm, name: opts(ctx)['vm-name'], domid: Number(domid), console };
      ctx.log.info(
        `VM "${opts(ctx)['vm-name']}" runs as domain ${domid}. Its console${on}: ${console}   (Ctrl+] leaves it)`,
      );
    }
  },
});

await playbook.run();
