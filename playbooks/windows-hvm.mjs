#!/usr/bin/env node
// @ts-check
/**
 * windows-hvm: a Windows guest on Xen, fully virtualized (HVM).
 *
 * Checks the host (VT-x/AMD-V, Xen booted as dom0, HVM support, free memory, the hypervisor's
 * boot entry), prepares the disk, writes the guest's configuration for xl (or xend's xm) and
 * starts it. Every value that matters to Windows is set on purpose: memory equal to maxmem
 * without PV drivers, viridian, stdvga with enough video memory, a USB tablet for the VNC
 * mouse, an e1000 NIC with a fixed MAC address, the boot order of an installation.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  definePlaybook,
  step,
  ok,
  change,
  skip,
  usage,
  refuse,
  fail,
  formatSize,
  readSecretFile,
} from 'xen-runbooks/engine';
import { XlConfig, parseDiskSpec } from 'xen-runbooks/xen/xlcfg';
import { MIN_DOM0_MIB, judgeAutoballoon, judgeXendBallooning, memoryAvailableMiB } from 'xen-runbooks/xen/autoballoon';
import { xenVersionOf } from 'xen-runbooks/xen/xlversion';
import {
  appendLegacyEntry,
  bootPath,
  cpuVirt,
  diskSignature,
  existingMac,
  grub2DefaultEntry,
  grub2Reference,
  grubDefaultValue,
  grubenvSavedEntry,
  hvmMemoryNeedMiB,
  isLegacyXenEntry,
  legacyDefaultIndex,
  legacyXenEntry,
  maskPasswords,
  mergeConfig,
  parseGrub2Menu,
  parseGrubLegacy,
  parseXlInfo,
  renderConfig,
  setGrubDefault,
  setLegacyDefault,
  xenHasHvm,
  xenMac,
} from 'xen-runbooks/xen/hvmconfig';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** The options, declared once: parsing, --help and the runbook page's table read them. */
const OPTIONS = /** @type {const} */ ({
  name: {
    type: 'string',
    required: true,
    placeholder: 'NAME',
    pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    patternHint: 'letters, digits, dot, dash and underscore, up to 64 (it becomes a file name and the domain name)',
    description: 'Name of the guest: the domain name, and the configuration file NAME.cfg.',
  },
  iso: {
    type: 'string',
    placeholder: 'FILE',
    description: 'The Windows installation ISO, put in the CD drive (not needed with --installed).',
  },
  disk: {
    type: 'string',
    required: true,
    placeholder: 'FILE|DEVICE',
    description:
      'The guest disk: an image file (created as a sparse raw image when missing, see --disk-size) or an existing logical volume or block device.',
  },
  'disk-size': {
    type: 'size',
    defaultUnit: 'G',
    min: GiB,
    description:
      'Size of the image to create when --disk does not exist yet (Windows 7 needs 16G at least; 40G leaves room).',
  },
  memory: {
    type: 'size',
    defaultUnit: 'M',
    min: 512 * MiB,
    default: '4G',
    description: 'Memory of the guest; also its maximum (maxmem) unless --pv-drivers and --max-memory say otherwise.',
  },
  'max-memory': {
    type: 'size',
    defaultUnit: 'M',
    description: 'With --pv-drivers: the maximum the balloon driver may give the guest (maxmem), above --memory.',
  },
  vcpus: { type: 'integer', min: 1, max: 128, default: 2, description: 'Virtual CPUs.' },
  bridge: {
    type: 'string',
    default: 'xenbr0',
    pattern: /^[A-Za-z0-9_.-]{1,15}$/,
    patternHint: 'a network interface name',
    description: 'The dom0 bridge the guest NIC is plugged into.',
  },
  mac: {
    type: 'mac',
    description:
      'MAC address of the NIC, unicast (default: the one in an existing file, else a new 00:16:3e:xx:xx:xx).',
  },
  'vnc-listen': {
    type: 'string',
    default: '127.0.0.1',
    placeholder: 'ADDRESS',
    description: 'Address the VNC console listens on. The default keeps it on dom0: reach it through an ssh tunnel.',
  },
  'vnc-display': {
    type: 'integer',
    min: 0,
    max: 99,
    description: 'VNC display number (port 5900 + N); default: the first free one when the guest starts.',
  },
  'vnc-password-file': {
    type: 'string',
    placeholder: 'FILE',
    description:
      'File holding the VNC password (first line; VNC uses 8 characters). Required when VNC listens beyond localhost.',
  },
  toolstack: {
    type: 'enum',
    choices: ['xl', 'xm'],
    default: 'xl',
    description: 'xl (Xen 4.1 and later) or xm for xend (Xen 3.x, 4.0 to 4.4): the legacy configuration form.',
  },
  'config-dir': {
    type: 'string',
    default: '/etc/xen',
    placeholder: 'DIR',
    description: 'Where NAME.cfg is written.',
  },
  start: { type: 'boolean', description: 'Create the domain when everything is in place (xl create / xm create).' },
  'pv-drivers': {
    type: 'boolean',
    description: 'The guest has Xen PV drivers with a balloon driver: allows --max-memory above --memory.',
  },
  installed: {
    type: 'boolean',
    description:
      'Windows is installed: boot from the disk (boot = "c"); the CD drive keeps --iso if given, else is left empty.',
  },
  force: { type: 'boolean', description: 'Use a --disk that already holds a partition table or data.' },
});

/** @typedef {import('xen-runbooks/engine').Context} Ctx */
/** @typedef {import('xen-runbooks/engine').OptionValues<typeof OPTIONS>} Opts */

/** The parsed options, typed. @param {Ctx} ctx */
const opts = (ctx) => /** @type {Opts} */ (/** @type {unknown} */ (ctx.opts));
/** @typedef {import('xen-runbooks/xen/hvmconfig').HvmGuest} HvmGuest */

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** The guest's configuration file. @param {Ctx} ctx */
const configFile = (ctx) => path.posix.join(opts(ctx)['config-dir'], `${opts(ctx).name}.cfg`);

/** `xl` or `xm`. @param {Ctx} ctx @returns {"xl" | "xm"} */
const toolstack = (ctx) => opts(ctx).toolstack;

/** dom0's memory now, in MiB (`xl list 0` / `xm list 0`, column Mem). @param {Ctx} ctx @param {'xl' | 'xm'} ts */
async function dom0MemoryMiB(ctx, ts) {
  const r = await ctx.$({ nothrow: true })`${ts} list 0`;
  const row = r.ok ? r.stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) : undefined;
  const mem = row ? Number(row.at(-4)) : NaN;
  return Number.isFinite(mem) ? mem : undefined;
}

/**
 * `xl info` (or `xm info`) as a map, asked once; undefined when the toolstack cannot talk to Xen.
 * @param {Ctx} ctx
 * @returns {Promise<Record<string, string> | undefined>}
 */
async function xenInfo(ctx) {
  if (!('xenInfo' in ctx.state)) {
    const r = await ctx.$({ nothrow: true })`${toolstack(ctx)} info`;
    ctx.state.xenInfo = r.ok ? parseXlInfo(r.stdout) : undefined;
    ctx.state.xenInfoError = r.ok
      ? undefined
      : (r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`).split('\n').pop();
  }
  return /** @type {Record<string, string> | undefined} */ (ctx.state.xenInfo);
}

/** Follow symbolic links (LVs are links to /dev/dm-N). @param {Ctx} ctx @param {string} p */
async function statFollow(ctx, p) {
  let cur = p;
  for (let i = 0; i < 20; i++) {
    const st = await ctx.host.stat(cur);
    if (st?.type !== 'symlink') return { path: cur, stat: st };
    const target = await ctx.host.readlink(cur);
    if (target === undefined) return { path: cur, stat: st };
    cur = path.posix.resolve(path.posix.dirname(cur), target);
  }
  throw fail(`too many symbolic links from ${p}`);
}

/** The VNC display: --vnc-display, else the one the existing file fixes, else none (first free). @param {Ctx} ctx */
const vncDisplay = (ctx) =>
  opts(ctx)['vnc-display'] ?? /** @type {number | undefined} */ (ctx.state.existingVncDisplay);

/** Memory in bytes (4 GiB unless given). @param {Ctx} ctx */
const memoryBytes = (ctx) => opts(ctx).memory;

/** The guest as the options, the existing file and the host describe it. @param {Ctx} ctx @returns {HvmGuest} */
function guest(ctx) {
  const o = opts(ctx);
  const memory = Math.floor(memoryBytes(ctx) / MiB);
  return {
    name: o.name,
    memory,
    maxmem: o['max-memory'] !== undefined ? Math.floor(o['max-memory'] / MiB) : memory,
    vcpus: o.vcpus,
    disk: o.disk,
    diskIsBlockDevice: Boolean(ctx.state.diskIsBlockDevice),
    iso: o.iso,
    bridge: o.bridge,
    mac: /** @type {string} */ (ctx.state.mac),
    vncListen: o['vnc-listen'],
    vncDisplay: vncDisplay(ctx),
    vncPassword: /** @type {string | undefined} */ (ctx.state.vncPassword),
    boot: o.installed ? 'c' : 'dc',
    ...(ctx.state.deviceModel ? { deviceModel: /** @type {string} */ (ctx.state.deviceModel) } : {}),
  };
}

const playbook = definePlaybook({
  name: 'windows-hvm',
  summary: 'Create a Windows HVM guest on Xen: check the host, prepare the disk, write the configuration, start it.',
  description: `Checks that the CPU has VT-x or AMD-V, that Xen runs as dom0 and offers HVM with enough free memory, and that the hypervisor is the default boot entry (GRUB legacy or GRUB 2; the entry is added or selected when missing). Then creates the disk (a sparse raw image, or an existing LV or block device that must be blank unless --force), writes NAME.cfg for xl (or the legacy form for xm) or updates an existing one in place, and with --start creates the domain. Memory equals maxmem unless the guest has PV drivers: Windows without a balloon driver reboots in a loop when started below its maximum (populate-on-demand). The VNC password is read from a file, never from the command line.`,
  options: OPTIONS,
  transports: ['local', 'root', 'ssh'],
  examples: [
    '--name win7 --iso /srv/iso/win7.iso --disk /srv/xen/win7.img --disk-size 40G --memory 4G --dry-run',
    '--name win7 --iso /srv/iso/win7.iso --disk /dev/vg0/win7 --vnc-password-file /root/win7.vnc --start --yes',
    '--name win7 --disk /dev/vg0/win7 --installed --yes',
    '--name win7 --iso /srv/iso/win7.iso --disk /srv/xen/win7.img --toolstack xm --start',
  ],

  async validate(ctx) {
    const o = opts(ctx);
    for (const opt of /** @type {const} */ (['disk', 'iso', 'config-dir', 'vnc-password-file'])) {
      const v = o[opt];
      if (v !== undefined && !v.startsWith('/')) throw usage(`--${opt} ${v}: give an absolute path`);
    }
    if (o.iso === undefined && !o.installed) {
      throw usage('--iso is required to install Windows (or give --installed once it is installed)');
    }
    if (o.iso !== undefined) {
      const iso = await statFollow(ctx, o.iso);
      if (!iso.stat) throw usage(`--iso ${o.iso}: no such file`);
      if (iso.stat.type !== 'file' && iso.stat.type !== 'other') throw usage(`--iso ${o.iso} is not a file`);
    }
    const memory = memoryBytes(ctx);
    if (memory % MiB !== 0) throw usage(`--memory ${formatSize(memory)}: give a whole number of MiB`);
    if (o['max-memory'] !== undefined) {
      if (!o['pv-drivers']) {
        throw usage(
          '--max-memory needs --pv-drivers: without a balloon driver in the guest, memory must equal maxmem',
          'a guest started below its maximum is populated on demand; Windows touches all its memory at boot and reboots in a loop',
        );
      }
      if (o['max-memory'] % MiB !== 0) throw usage('--max-memory: give a whole number of MiB');
      if (o['max-memory'] < memory)
        throw usage(`--max-memory ${formatSize(o['max-memory'])} is below --memory ${formatSize(memory)}`);
    }
    if (o['disk-size'] !== undefined && o.disk.startsWith('/dev/')) {
      throw usage(`--disk-size goes with an image file; ${o.disk} is a device (create the LV with lvcreate)`);
    }
    const listen = o['vnc-listen'];
    if (!IPV4.test(listen) && !/^[0-9a-fA-F:]+$/.test(listen)) {
      throw usage(`--vnc-listen ${listen}: give an IP address (127.0.0.1, 0.0.0.0, or an address of dom0)`);
    }
    const local = listen.startsWith('127.') || listen === '::1';
    const pwFile = o['vnc-password-file'];
    if (pwFile !== undefined) {
      // Read on the host, never passed as an argument: it would show in ps and in shell history.
      const text = await readSecretFile(pwFile, '--vnc-password-file', (f, max) => ctx.host.readSecret(f, max));
      const password = text.split('\n')[0]?.replace(/\r$/, '') ?? '';
      if (password === '') throw usage(`--vnc-password-file ${pwFile}: the first line is empty`);
      if (/[\x00-\x1f\x7f]/.test(password))
        throw usage(`--vnc-password-file ${pwFile}: control characters in the password`);
      if (password.length > 8)
        ctx.log.warn(`the VNC password has ${password.length} characters; VNC uses only the first 8`);
      ctx.state.vncPassword = password;
    } else if (!local) {
      throw usage(
        `--vnc-listen ${listen} without --vnc-password-file: anyone who reaches that address would get the console`,
        'give --vnc-password-file FILE, or keep the default 127.0.0.1 and use an ssh tunnel',
      );
    }
  },

  steps: [
    step('check-cpu', {
      title: 'The CPU has hardware virtualization (VT-x or AMD-V)',
      async check(ctx) {
        const text = await ctx.host.readText('/proc/cpuinfo');
        if (text === undefined) return skip('no /proc/cpuinfo: cannot tell whether the CPU has VT-x or AMD-V');
        const cpu = cpuVirt(text);
        ctx.report.cpu = cpu;
        if (cpu.flag) {
          const name = cpu.flag === 'vmx' ? 'Intel VT-x' : 'AMD-V';
          return ok(
            `${name} (${cpu.flag}) on ${cpu.cpus} CPU${cpu.cpus === 1 ? '' : 's'}${cpu.model ? `: ${cpu.model}` : ''}`,
          );
        }
        // Xen hides vmx/svm from dom0's /proc/cpuinfo: the hypervisor uses them. Ask Xen itself.
        const info = await xenInfo(ctx);
        if (info && xenHasHvm(info)) {
          return ok(
            `vmx/svm are hidden from dom0's /proc/cpuinfo, and Xen reports HVM support (virt_caps: ${info.virt_caps ?? info.xen_caps})`,
          );
        }
        const onXen =
          (await ctx.host.readText('/proc/xen/capabilities'))?.includes('control_d') ||
          (await ctx.host.readText('/sys/hypervisor/type'))?.trim() === 'xen';
        if (!info && onXen) {
          return skip(
            `vmx/svm are hidden from this kernel's /proc/cpuinfo (it runs on Xen) and ${toolstack(ctx)} info failed: ${ctx.state.xenInfoError}`,
          );
        }
        if (info) {
          throw fail(
            `Xen runs but reports no HVM support (virt_caps: ${info.virt_caps ?? '?'}, xen_caps: ${info.xen_caps ?? '?'})`,
            'enable Intel VT-x / AMD-V in the firmware setup (BIOS/UEFI), then power the machine off and on',
          );
        }
        throw fail(
          `no CPU shows vmx (Intel VT-x) or svm (AMD-V) in /proc/cpuinfo${cpu.underHypervisor ? ', and this system already runs under a hypervisor' : ''}`,
          'enable the virtualization extensions in the firmware setup (BIOS/UEFI); without them Xen runs PV guests only, and Windows needs HVM',
        );
      },
    }),

    step('check-dom0', {
      title: 'This system runs as Xen dom0',
      async check(ctx) {
        const caps = await ctx.host.readText('/proc/xen/capabilities');
        const hvType = (await ctx.host.readText('/sys/hypervisor/type'))?.trim();
        const release = (await ctx.host.readText('/proc/sys/kernel/osrelease'))?.trim() ?? 'unknown';
        ctx.report.kernel = release;
        if (caps?.includes('control_d')) {
          ctx.state.dom0 = true;
          return ok(`the running kernel ${release} is Xen's dom0 (/proc/xen/capabilities: control_d)`);
        }
        if (caps !== undefined) {
          throw fail(
            'this system is a Xen guest (domU), not the host: /proc/xen/capabilities has no control_d',
            'run windows-hvm in dom0, the system that runs xl',
          );
        }
        if (hvType === 'xen') {
          // xenfs is not mounted: the tools will ask Xen directly.
          ctx.state.dom0 = Boolean(await xenInfo(ctx));
          if (ctx.state.dom0) {
            ctx.log.warn('/proc/xen is not mounted: mount -t xenfs xenfs /proc/xen (xencommons does it at boot)');
            return ok(`the running kernel ${release} runs on Xen and ${toolstack(ctx)} reaches the hypervisor`);
          }
        }
        ctx.state.dom0 = false;
        const dom0Config = await ctx.host.readText(`/boot/config-${release}`);
        const capable = dom0Config === undefined ? undefined : /^CONFIG_XEN_DOM0=y/m.test(dom0Config);
        const why =
          capable === false
            ? ` (and /boot/config-${release} has no CONFIG_XEN_DOM0=y: this kernel cannot be dom0)`
            : '';
        const message = `the running kernel ${release} is not a Xen dom0: no /proc/xen/capabilities${why}. The boot entry step below makes Xen the default; reboot into it, then run windows-hvm again to check Xen and start the guest`;
        ctx.log.warn(message);
        return skip(message);
      },
    }),

    step('check-xen', {
      title: 'Xen offers HVM and has memory for the guest',
      when: (ctx) => (ctx.state.dom0 ? true : 'not running on Xen yet'),
      async check(ctx) {
        const ts = toolstack(ctx);
        const info = await xenInfo(ctx);
        if (!info) {
          throw fail(
            `${ts} info failed: ${ctx.state.xenInfoError}`,
            ts === 'xm'
              ? 'start xend (service xend start); xm does not exist any more since Xen 4.5: use --toolstack xl there'
              : 'start the Xen daemons (systemctl start xencommons, or service xencommons start)',
          );
        }
        const version = info.xen_version ?? `${info.xen_major}.${info.xen_minor}${info.xen_extra ?? ''}`;
        ctx.report.xen = { version, scheduler: info.xen_scheduler, freeMemory: Number(info.free_memory) };
        if (!xenHasHvm(info)) {
          throw fail(
            `Xen ${version} offers no HVM (virt_caps: ${info.virt_caps ?? '?'})`,
            'enable VT-x / AMD-V in the firmware setup (BIOS/UEFI) and power-cycle the machine',
          );
        }
        const g = guest(ctx);
        const need = hvmMemoryNeedMiB(g.memory, g.maxmem, g.vcpus);
        const free = Number(info.free_memory);
        const listed = await ctx.$({ nothrow: true })`${ts} list ${opts(ctx).name}`;
        if (listed.ok) return ok(`Xen ${version}: ${opts(ctx).name} is already running, ${free} MiB free`);
        // xl create balloons dom0 down when autoballoon is on (xl.c auto_autoballoon, xl_vmcontrol.c freemem).
        // xend (xm) has its own: enable-dom0-ballooning and dom0-min-mem in xend-config.sxp.
        const xend = ts === 'xm' ? judgeXendBallooning(await ctx.host.readText('/etc/xen/xend-config.sxp')) : undefined;
        const balloon =
          ts === 'xl'
            ? judgeAutoballoon(await ctx.host.readText('/etc/xen/xl.conf'), info.xen_commandline, xenVersionOf(info))
            : xend;
        const floor = xend ? xend.minMiB : MIN_DOM0_MIB;
        const dom0 = balloon?.on ? await dom0MemoryMiB(ctx, ts) : undefined;
        const available = memoryAvailableMiB(free, dom0, balloon?.on ?? false, floor);
        ctx.report.xen = {
          .../** @type {object} */ (ctx.report.xen),
          autoballoon: balloon?.on ?? false,
          availableMemory: available,
        };
        if (balloon) ctx.log.info(`  ${balloon.why}`);
        if (!Number.isFinite(available) || available < need) {
          const from =
            balloon?.on && dom0 !== undefined
              ? `Xen has ${info.free_memory} MiB free and dom0 can give ${available - free} MiB more (down to ${floor} MiB)`
              : `Xen has ${info.free_memory} MiB free${balloon ? ` (${balloon.why})` : ''}`;
          throw usage(
            `--memory ${g.memory}M: the guest needs ${need} MiB (memory, maxmem overhead and video) and ${from}`,
            'give less --memory, stop another guest, or shrink dom0 (xl mem-set 0 SIZE; dom0_mem= on the Xen command line)',
          );
        }
        const via =
          available > free && free < need
            ? `; ${ts} create will take ${need - free} MiB from dom0 (${dom0} MiB now)`
            : '';
        return ok(
          `Xen ${version} with HVM, ${info.xen_scheduler ?? '?'} scheduler, ${free} MiB free; the guest needs ${need} MiB${via}`,
        );
      },
    }),

    step('check-config', {
      title: 'Read the existing guest configuration, if any',
      async check(ctx) {
        const file = configFile(ctx);
        const text = await ctx.host.readText(file);
        ctx.state.mac = opts(ctx).mac?.toLowerCase();
        if (text === undefined) {
          ctx.state.mac ??= xenMac(randomBytes(3));
          return ok(`${file} does not exist yet: it will be written`);
        }
        const cfg = XlConfig.parse(text, { lenient: true, source: file });
        if (cfg.issues.length && toolstack(ctx) === 'xl') {
          throw refuse(
            `${file} has lines xl cannot read: ${cfg.issues.map((i) => `line ${i.line} (${i.text.trim()}): ${i.message}`).join('; ')}`,
            'xend configuration files could hold Python; xl reads only key = value lines. Rewrite or remove those lines, then run again',
          );
        }
        for (const i of cfg.issues)
          ctx.log.warn(`${file}:${i.line}: left as it is (Python for xend): ${i.text.trim()}`);
        const named = cfg.get('name');
        if (named !== undefined && named !== opts(ctx).name) {
          ctx.log.warn(`${file} names the guest "${String(named)}": it becomes "${opts(ctx).name}"`);
        }
        const deprecated = cfg.deprecations(toolstack(ctx));
        for (const d of deprecated) {
          ctx.log.warn(`${file}:${d.line}: ${d.found} -> ${d.modern || '(removed)'}: ${d.message}`);
        }
        /** @type {string[]} */
        const targets = [];
        const disks = cfg.get('disk');
        for (const spec of Array.isArray(disks) ? disks : []) {
          try {
            const p = parseDiskSpec(String(spec));
            if (p.devtype !== 'cdrom' && p.target) targets.push(p.target);
          } catch {
            /* an unreadable spec is replaced anyway */
          }
        }
        ctx.state.existingDisks = targets;
        ctx.state.existingVncDisplay = cfg.getNumber('vncdisplay');
        ctx.state.mac ??= existingMac(cfg) ?? xenMac(randomBytes(3));
        const fixes = deprecated.length
          ? `, ${deprecated.length} xend-era setting${deprecated.length === 1 ? '' : 's'} to modernize`
          : '';
        return ok(`${file} exists: its values will be updated in place${fixes}`);
      },
    }),

    step('check-disk', {
      title: 'The disk is new, blank, or already this guest’s',
      async check(ctx) {
        const disk = opts(ctx).disk;
        const { path: real, stat } = await statFollow(ctx, disk);
        if (!stat) {
          if (disk.startsWith('/dev/')) {
            throw usage(
              `--disk ${disk}: no such device`,
              `create the logical volume first, e.g. lvcreate -L 40G -n ${opts(ctx).name} VG`,
            );
          }
          const size = opts(ctx)['disk-size'];
          if (size === undefined)
            throw usage(`--disk ${disk} does not exist: give --disk-size to create it (a sparse raw image)`);
          ctx.state.createDisk = size;
          return ok(`${disk} does not exist: it will be created, a sparse raw image of ${formatSize(size)}`);
        }
        if (stat.type === 'dir') throw usage(`--disk ${disk} is a directory`);
        const isBlock = stat.type === 'other';
        ctx.state.diskIsBlockDevice = isBlock;
        if (isBlock) {
          const mounts = (await ctx.host.readText('/proc/mounts')) ?? '';
          const swaps = (await ctx.host.readText('/proc/swaps')) ?? '';
          const used = [...mounts.split('\n'), ...swaps.split('\n')]
            .map((l) => l.split(/\s+/))
            .find((f) => f[0] === disk || f[0] === real);
          if (used)
            throw refuse(
              `${disk} is in use on this host (${used[1] && used[1] !== 'partition' ? `mounted on ${used[1]}` : 'swap'})`,
            );
        }
        // Other guests' files must not name the same disk.
        const dir = opts(ctx)['config-dir'];
        for (const f of (await ctx.host.readdir(dir)) ?? []) {
          if (!f.endsWith('.cfg') || f === `${opts(ctx).name}.cfg`) continue;
          const text = await ctx.host.readText(path.posix.join(dir, f));
          if (text === undefined) continue;
          let cfg;
          try {
            cfg = XlConfig.parse(text, { lenient: true });
          } catch {
            continue;
          }
          const disks = cfg.get('disk');
          const names = (Array.isArray(disks) ? disks : []).some((spec) => {
            try {
              return parseDiskSpec(String(spec)).target === disk;
            } catch {
              return false;
            }
          });
          if (names && !opts(ctx).force) {
            throw refuse(
              `${disk} is the disk of another guest: ${path.posix.join(dir, f)}`,
              'give this guest its own disk (or --force if that guest is gone)',
            );
          }
        }
        const head = (await ctx.$`head -c ${MiB} ${await ctx.host.resolve(real)}`).bytes;
        const found = diskSignature(head);
        const kind = isBlock ? 'block device' : 'image';
        const ours = /** @type {string[]} */ (ctx.state.existingDisks ?? []).includes(disk);
        if (!found) return ok(`${disk}: a blank ${kind}`);
        if (ours) return ok(`${disk} holds ${found}: it is this guest's disk (named in ${configFile(ctx)})`);
        if (!opts(ctx).force) {
          throw refuse(
            `${disk} already holds ${found}: refusing to give it to a new guest, whose installer would overwrite it`,
            `look at it first (sfdisk -l ${disk}, blkid ${disk}); give --force to use it as it is`,
          );
        }
        ctx.log.warn(`--force: ${disk} holds ${found} and is given to ${opts(ctx).name} as it is`);
        return ok(`--force: using ${disk} although it holds ${found}`);
      },
    }),

    step('boot-entry', {
      title: 'Xen is the default boot entry',
      async check(ctx) {
        const exists = async (/** @type {string} */ p) => (await ctx.host.stat(p)) !== undefined;
        const grub2 = (await exists('/boot/grub/grub.cfg'))
          ? '/boot/grub/grub.cfg'
          : (await exists('/boot/grub2/grub.cfg'))
            ? '/boot/grub2/grub.cfg'
            : undefined;
        const legacy = (await exists('/boot/grub/grub.conf'))
          ? '/boot/grub/grub.conf'
          : (await exists('/boot/grub/menu.lst'))
            ? '/boot/grub/menu.lst'
            : undefined;
        if (grub2) return grub2Check(ctx, grub2);
        if (legacy) return legacyCheck(ctx, legacy);
        return skip(
          'no GRUB configuration (/boot/grub/grub.cfg, /boot/grub2/grub.cfg, /boot/grub/grub.conf, /boot/grub/menu.lst): make sure your boot loader starts Xen by default',
        );
      },
      async apply(ctx, c) {
        const data = /** @type {BootChange} */ (c.data);
        if (data.kind === 'saved') {
          await ctx.$`grub-editenv ${await ctx.host.resolve(data.grubenv)} set saved_entry=${data.ref}`;
          return `saved_entry=${data.ref} in ${data.grubenv}`;
        }
        const backup = await ctx.applyEdit(data.edit);
        const done = `${data.edit.path} written${backup ? ` (backup: ${backup})` : ''}`;
        if (!data.regenerate) return done;
        const cmd = data.regenerate;
        if (ctx.host.kind === 'root') {
          ctx.log.warn(
            `regenerate ${data.grubCfg} inside that system: chroot ${await ctx.host.resolve('/')} ${cmd.join(' ')}`,
          );
          return `${done}; ${data.grubCfg} not regenerated under --root`;
        }
        await ctx.$`${cmd}`;
        return `${done}; ${cmd.join(' ')} regenerated ${data.grubCfg}`;
      },
    }),

    step('create-disk', {
      title: 'Create the disk image',
      when: (ctx) => (ctx.state.createDisk !== undefined ? true : 'the disk exists'),
      async check(ctx) {
        const size = /** @type {number} */ (ctx.state.createDisk);
        return change(`create ${opts(ctx).disk}: a sparse raw image of ${formatSize(size)}`);
      },
      async apply(ctx) {
        const size = /** @type {number} */ (ctx.state.createDisk);
        const disk = opts(ctx).disk;
        const dir = path.posix.dirname(disk);
        await ctx.host.mkdir(dir);
        const where = await ctx.host.resolve(disk);
        // Sparse: blocks are allocated as Windows writes them. Readable by root only: it will hold the guest's data.
        await ctx.$`truncate -s ${size} ${where}`;
        await ctx.$`chmod 600 ${where}`;
        const df = await ctx.$({ nothrow: true })`df -B1 --output=avail ${await ctx.host.resolve(dir)}`;
        const avail = Number(df.stdout.trim().split('\n').pop());
        if (df.ok && Number.isFinite(avail) && avail < size) {
          ctx.log.warn(
            `${dir} has ${formatSize(avail)} free for a ${formatSize(size)} disk: it fills as Windows writes`,
          );
        }
        return `${disk} created (${formatSize(size)}, sparse)`;
      },
    }),

    step('write-config', {
      title: 'Write the guest configuration',
      async check(ctx) {
        const file = configFile(ctx);
        const ts = toolstack(ctx);
        if (ts === 'xm') ctx.state.deviceModel = await xendDeviceModel(ctx);
        const g = guest(ctx);
        /** @type {string[]} */
        let changed = [];
        const edit = await ctx.planEdit(file, (current) => {
          if (current === undefined) return renderConfig(g, ts);
          const merged = mergeConfig(XlConfig.parse(current, { lenient: true, source: file }), g, ts);
          changed = merged.changed;
          return merged.text;
        });
        if (!edit.changed) return ok(`${file} already says so`);
        const password = g.vncPassword;
        const masked = maskPasswords(edit.diff);
        const diff = password ? masked.split(password).join('********') : masked;
        return change(edit.before === undefined ? `write ${file}` : `update ${file}: ${changed.join(', ')}`, {
          diff,
          data: edit,
        });
      },
      async apply(ctx, c) {
        const edit = /** @type {import('xen-runbooks/engine').FileEdit} */ (c.data);
        await ctx.host.mkdir(opts(ctx)['config-dir']);
        // Root only: the file may hold the VNC password.
        const backup = await ctx.applyEdit(edit, { mode: 0o600 });
        return `${edit.path} written${backup ? ` (backup: ${backup})` : ''}`;
      },
    }),

    step('start', {
      title: 'Start the guest',
      when: (ctx) =>
        !opts(ctx).start
          ? 'no --start'
          : ctx.state.dom0
            ? true
            : 'not running on Xen yet: reboot into the Xen entry, then run again with --start',
      async check(ctx) {
        const ts = toolstack(ctx);
        const listed = await ctx.$({ nothrow: true })`${ts} list ${opts(ctx).name}`;
        if (listed.ok) {
          const id = listed.stdout.split('\n')[1]?.trim().split(/\s+/)[1];
          ctx.state.domid = id;
          return ok(`${opts(ctx).name} is already running (domain ${id})`);
        }
        return change(`${ts} create ${configFile(ctx)}`);
      },
      async apply(ctx) {
        const ts = toolstack(ctx);
        await ctx.$`${ts} create ${await ctx.host.resolve(configFile(ctx))}`;
        const listed = await ctx.$`${ts} list ${opts(ctx).name}`;
        const id = listed.stdout.split('\n')[1]?.trim().split(/\s+/)[1];
        ctx.state.domid = id;
        return `${opts(ctx).name} started (domain ${id})`;
      },
    }),
  ],

  finish(ctx, outcomes) {
    const failed = outcomes.some((o) => o.status === 'failed' || o.status === 'declined');
    if (failed) return;
    const o = opts(ctx);
    const display = vncDisplay(ctx);
    const local = o['vnc-listen'].startsWith('127.') || o['vnc-listen'] === '::1';
    ctx.report.config = configFile(ctx);
    ctx.report.vnc = {
      listen: o['vnc-listen'],
      display: display ?? null,
      port: display === undefined ? null : 5900 + display,
    };
    if (ctx.dryRun) return;
    ctx.log.info('');
    if (display !== undefined) {
      const port = 5900 + display;
      ctx.log.info(`VNC console: display :${display}, TCP port ${port} on ${o['vnc-listen']}.`);
      if (local)
        ctx.log.info(
          `  From your workstation: ssh -L ${port}:127.0.0.1:${port} root@THIS-HOST, then vncviewer 127.0.0.1:${display}`,
        );
      else ctx.log.info(`  vncviewer ${o['vnc-listen'] === '0.0.0.0' ? 'THIS-HOST' : o['vnc-listen']}:${display}`);
    } else {
      const dom = ctx.state.domid ?? 'DOMID';
      ctx.log.info(
        `VNC console: the first free display when the guest starts; its port: xenstore-read /local/domain/${dom}/console/vnc-port`,
      );
      if (local)
        ctx.log.info(
          '  From your workstation: ssh -L PORT:127.0.0.1:PORT root@THIS-HOST, then vncviewer 127.0.0.1::PORT',
        );
    }
    ctx.log.info(
      'Once Windows is installed: enable Remote Desktop in Windows, install the PV drivers, and use RDP (mstsc, xfreerdp /v:GUEST)',
    );
    ctx.log.info('  for daily work; keep VNC as the console for when the network is down.');
    if (!o.installed) ctx.log.info(`Then run windows-hvm again with --installed: boot from the disk (boot = "c").`);
  },
});

/**
 * @typedef {{ kind: 'edit', edit: import('xen-runbooks/engine').FileEdit, regenerate?: string[], grubCfg?: string }
 *   | { kind: 'saved', grubenv: string, ref: string }} BootChange
 */

/** GRUB legacy: a `kernel /xen.gz` entry with `module` lines, made the default. @param {Ctx} ctx @param {string} file */
async function legacyCheck(ctx, file) {
  const text = /** @type {string} */ (await ctx.host.readText(file));
  const menu = parseGrubLegacy(text);
  const def = legacyDefaultIndex(menu);
  if (def === undefined) {
    return skip(
      `${file} boots the entry saved by savedefault (default saved): choose the Xen entry with grub-set-default N`,
    );
  }
  const xenAt = menu.entries.findIndex(isLegacyXenEntry);
  const current = menu.entries[def];
  if (xenAt >= 0) {
    const x = /** @type {import('xen-runbooks/xen/hvmconfig').LegacyEntry} */ (menu.entries[xenAt]);
    if (xenAt === def)
      return ok(
        `${file}: the default entry ${def}, "${x.title}", boots ${bootPath(x.kernel)} with ${bootPath(x.modules[0])}`,
      );
    const edit = await ctx.planEdit(file, (cur) => setLegacyDefault(cur ?? '', xenAt));
    return change(`${file}: make entry ${xenAt} "${x.title}" the default (now ${def}: "${current?.title ?? '?'}")`, {
      diff: edit.diff,
      data: /** @type {BootChange} */ ({ kind: 'edit', edit }),
    });
  }
  // No Xen entry yet: the hypervisor image and a kernel built to run as dom0.
  const boot = (await ctx.host.readdir('/boot')) ?? [];
  const xen = boot.includes('xen.gz')
    ? 'xen.gz'
    : boot
        .filter((f) => /^xen-[\d.]+.*\.gz$/.test(f))
        .sort()
        .pop();
  if (!xen) {
    throw fail(
      `${file} has no entry that boots Xen, and /boot holds no hypervisor (xen.gz)`,
      'install Xen first (CentOS 5/6: the xen package of a Xen repository; Debian: xen-hypervisor-*), then run again',
    );
  }
  /** @param {import('xen-runbooks/xen/hvmconfig').LegacyEntry} e */
  const dom0Capable = async (e) => {
    const version = /vmlinuz-(.+)$/.exec(bootPath(e.kernel))?.[1];
    if (!version) return false;
    const config = await ctx.host.readText(`/boot/config-${version}`);
    return config !== undefined && /^CONFIG_XEN_DOM0=y/m.test(config);
  };
  const order = current ? [current, ...menu.entries.filter((e) => e !== current)] : menu.entries;
  let source;
  for (const e of order) if (!source && (await dom0Capable(e))) source = e;
  if (!source) {
    throw fail(
      `${file} has no Xen entry, and none of its kernels can run as dom0 (no CONFIG_XEN_DOM0=y in /boot/config-*)`,
      'install or build a dom0 kernel (e.g. rebuild the kernel source RPM with rpmbuild -bb kernel.spec and CONFIG_XEN_DOM0=y), then run again',
    );
  }
  const kernelPath = bootPath(source.kernel);
  const prefix = kernelPath.startsWith('/boot/') ? '/boot/' : '/';
  const indent = /^([ \t]+)\S/m.exec(text.slice(source.start, source.end))?.[1] ?? '\t';
  const entry = legacyXenEntry({
    title: `Xen hypervisor, ${source.title}`,
    root: source.root,
    xen: `${prefix}${xen}`,
    kernel: /** @type {string} */ (source.kernel),
    initrd: source.initrd,
    indent,
  });
  const index = menu.entries.length;
  const edit = await ctx.planEdit(file, (cur) => setLegacyDefault(appendLegacyEntry(cur ?? '', entry), index));
  return change(`${file}: add a Xen entry (${prefix}${xen} + ${kernelPath}) and make it the default`, {
    diff: edit.diff,
    data: /** @type {BootChange} */ ({ kind: 'edit', edit }),
  });
}

/** GRUB 2: the entry grub.cfg boots by default must load Xen (multiboot). @param {Ctx} ctx @param {string} grubCfg */
async function grub2Check(ctx, grubCfg) {
  const cfg = /** @type {string} */ (await ctx.host.readText(grubCfg));
  const entries = parseGrub2Menu(cfg);
  const xenEntries = entries.filter((e) => e.xen);
  const regenerate = grubCfg.startsWith('/boot/grub2/') ? ['grub2-mkconfig', '-o', grubCfg] : ['update-grub'];
  if (!xenEntries.length) {
    throw fail(
      `${grubCfg} has no entry that loads Xen (multiboot ... xen.gz)`,
      `install the hypervisor package (Debian: xen-hypervisor-*; /etc/grub.d/20_linux_xen makes entries for the /boot/xen-*.gz it installs), then ${regenerate.join(' ')}`,
    );
  }
  // What grub.cfg boots now: its `set default=` (from GRUB_DEFAULT when it was generated).
  const sets = [...cfg.matchAll(/^\s*set default="?([^"\n]*)"?\s*$/gm)]
    .map((m) => m[1] ?? '')
    .filter((v) => !v.includes('next_entry'));
  const cfgDefault = sets[0] === '${saved_entry}' ? 'saved' : sets[0];
  const grubenv = path.posix.join(path.posix.dirname(grubCfg), 'grubenv');
  const env = (await ctx.host.readText(grubenv)) ?? '';
  const defaults = await ctx.host.readText('/etc/default/grub');
  const value = defaults === undefined ? cfgDefault : (grubDefaultValue(defaults) ?? cfgDefault);
  const saved = grubenvSavedEntry(env);
  const now = grub2DefaultEntry(entries, cfgDefault ?? value, saved);
  const label = (/** @type {import('xen-runbooks/xen/hvmconfig').Grub2Entry} */ e) => [...e.path, e.title].join(' > ');
  if (now?.xen) {
    return ok(`${grubCfg}: the default entry "${label(now)}" loads ${now.hypervisor}`);
  }
  const target = /** @type {import('xen-runbooks/xen/hvmconfig').Grub2Entry} */ (xenEntries[0]);
  const ref = grub2Reference(target);
  const was = now ? `"${label(now)}"` : 'no entry';
  if ((cfgDefault ?? value) === 'saved') {
    return change(`set saved_entry=${ref} in ${grubenv} (grub-editenv): boot "${label(target)}" (now ${was})`, {
      data: /** @type {BootChange} */ ({ kind: 'saved', grubenv, ref }),
    });
  }
  if (defaults === undefined) {
    throw fail(
      `${grubCfg} boots ${was} by default, and there is no /etc/default/grub to change that`,
      `set the default in your boot loader: "${label(target)}"`,
    );
  }
  const edit = await ctx.planEdit('/etc/default/grub', (cur) => setGrubDefault(cur ?? '', ref));
  return change(`GRUB_DEFAULT=${ref}: boot "${label(target)}" by default (now ${was}), then ${regenerate.join(' ')}`, {
    diff: edit.diff,
    data: /** @type {BootChange} */ ({ kind: 'edit', edit, regenerate, grubCfg }),
  });
}

/** xend's qemu-dm: /usr/lib64 on 64-bit Red Hat systems, /usr/lib elsewhere. @param {Ctx} ctx */
async function xendDeviceModel(ctx) {
  for (const p of ['/usr/lib64/xen/bin/qemu-dm', '/usr/lib/xen/bin/qemu-dm']) {
    if (await ctx.host.exists(p)) return p;
  }
  return '/usr/lib/xen/bin/qemu-dm';
}

await playbook.run();
