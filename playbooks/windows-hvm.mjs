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
import { definePlaybook, ok, change, skip, usage, refuse, fail, formatSize } from 'xen-runbooks/engine';
import {
  cpuVirt,
  existingMac,
  hvmMemoryNeedMiB,
  mergeConfig,
  renderConfig,
  xenHasHvm,
  xenMac,
} from 'xen-runbooks/xen/hvmconfig';
import { XlConfig } from 'xen-runbooks/xen/xlcfg';
import { checkOptions, isLocalListen, readVncPassword } from 'xen-runbooks/playbooks/windows-hvm/options';
import { OPTIONS } from 'xen-runbooks/playbooks/windows-hvm/option-specs';
import {
  xenInfo,
  xenVersionText,
  runsOnXen,
  dom0Capable,
  domidOf,
  statFollow,
  xendDeviceModel,
} from 'xen-runbooks/playbooks/windows-hvm/host';
import { configFile, guestOf, vncDisplay, withoutPassword } from 'xen-runbooks/playbooks/windows-hvm/guest';
import { memoryOnHand, notEnoughMemory, pagingHost, takenFromDom0 } from 'xen-runbooks/playbooks/windows-hvm/memory';
import { readExistingConfig, diskTargets } from 'xen-runbooks/playbooks/windows-hvm/existing-config';
import { hostUseOf, otherGuestWith, contentOf } from 'xen-runbooks/playbooks/windows-hvm/disk';
import { grubConfigOf, grub2Check, legacyCheck } from 'xen-runbooks/playbooks/windows-hvm/boot-entry';
import { consoleLines } from 'xen-runbooks/playbooks/windows-hvm/console';

/** What the steps find, passed from one to the next. @typedef {import('xen-runbooks/playbooks/windows-hvm/state').WindowsHvmState} State */

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

  state: () => /** @type {State} */ ({ dom0: false, existingDisks: [], diskIsBlockDevice: false }),

  async validate(ctx) {
    await checkOptions(ctx.opts, ctx.host);
    const pwFile = ctx.opts['vnc-password-file'];
    const listen = ctx.opts['vnc-listen'];
    if (pwFile !== undefined) {
      // Read on the host, never passed as an argument: it would show in ps and in shell history.
      ctx.state.vncPassword = await readVncPassword(pwFile, ctx.host, ctx.log);
    } else if (!isLocalListen(listen)) {
      throw usage(
        `--vnc-listen ${listen} without --vnc-password-file: anyone who reaches that address would get the console`,
        'give --vnc-password-file FILE, or keep the default 127.0.0.1 and use an ssh tunnel',
      );
    }
  },

  steps: ({ step }) => [
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
        const ts = ctx.opts.toolstack;
        const info = await xenInfo(ctx, ts, ctx.state);
        if (info && xenHasHvm(info)) {
          return ok(
            `vmx/svm are hidden from dom0's /proc/cpuinfo, and Xen reports HVM support (virt_caps: ${info.virt_caps ?? info.xen_caps})`,
          );
        }
        if (!info && (await runsOnXen(ctx.host))) {
          return skip(
            `vmx/svm are hidden from this kernel's /proc/cpuinfo (it runs on Xen) and ${ts} info failed: ${ctx.state.xenInfo?.error}`,
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
          ctx.state.dom0 = Boolean(await xenInfo(ctx, ctx.opts.toolstack, ctx.state));
          if (ctx.state.dom0) {
            ctx.log.warn('/proc/xen is not mounted: mount -t xenfs xenfs /proc/xen (xencommons does it at boot)');
            return ok(`the running kernel ${release} runs on Xen and ${ctx.opts.toolstack} reaches the hypervisor`);
          }
        }
        ctx.state.dom0 = false;
        const why =
          (await dom0Capable(ctx.host, release)) === false
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
        const ts = ctx.opts.toolstack;
        const info = await xenInfo(ctx, ts, ctx.state);
        if (!info) {
          throw fail(
            `${ts} info failed: ${ctx.state.xenInfo?.error}`,
            ts === 'xm'
              ? 'start xend (service xend start); xm does not exist any more since Xen 4.5: use --toolstack xl there'
              : 'start the Xen daemons (systemctl start xencommons, or service xencommons start)',
          );
        }
        const version = xenVersionText(info);
        const xen = { version, scheduler: info.xen_scheduler, freeMemory: Number(info.free_memory) };
        ctx.report.xen = xen;
        if (!xenHasHvm(info)) {
          throw fail(
            `Xen ${version} offers no HVM (virt_caps: ${info.virt_caps ?? '?'})`,
            'enable VT-x / AMD-V in the firmware setup (BIOS/UEFI) and power-cycle the machine',
          );
        }
        const g = guestOf(ctx.opts, ctx.state);
        const need = hvmMemoryNeedMiB(g.memory, g.maxmem, g.vcpus, pagingHost(info, undefined));
        const listed = await ctx.$({ nothrow: true })`${ts} list ${ctx.opts.name}`;
        if (listed.ok) return ok(`Xen ${version}: ${ctx.opts.name} is already running, ${xen.freeMemory} MiB free`);
        // Xen's free memory, and what the toolstack takes from dom0 when it balloons.
        const memory = await memoryOnHand(ctx, ts, info);
        ctx.report.xen = { ...xen, autoballoon: memory.balloon?.on ?? false, availableMemory: memory.available };
        if (memory.balloon) ctx.log.info(`  ${memory.balloon.why}`);
        if (!Number.isFinite(memory.available) || memory.available < need) {
          throw usage(
            notEnoughMemory(g.memory, need, info, memory),
            'give less --memory, stop another guest, or shrink dom0 (xl mem-set 0 SIZE; dom0_mem= on the Xen command line)',
          );
        }
        return ok(
          `Xen ${version} with HVM, ${info.xen_scheduler ?? '?'} scheduler, ${memory.free} MiB free; the guest needs ${need} MiB${takenFromDom0(ts, need, memory)}`,
        );
      },
    }),

    step('check-config', {
      title: 'Read the existing guest configuration, if any',
      async check(ctx) {
        const file = configFile(ctx.opts);
        const ts = ctx.opts.toolstack;
        const text = await ctx.host.readText(file);
        ctx.state.mac = ctx.opts.mac?.toLowerCase();
        if (text === undefined) {
          ctx.state.mac ??= xenMac(randomBytes(3));
          return ok(`${file} does not exist yet: it will be written`);
        }
        const cfg = readExistingConfig(text, file, ts);
        for (const i of cfg.issues)
          ctx.log.warn(`${file}:${i.line}: left as it is (Python for xend): ${i.text.trim()}`);
        const named = cfg.get('name');
        if (named !== undefined && named !== ctx.opts.name) {
          ctx.log.warn(`${file} names the guest "${String(named)}": it becomes "${ctx.opts.name}"`);
        }
        const deprecated = cfg.deprecations(ts);
        for (const d of deprecated) {
          ctx.log.warn(`${file}:${d.line}: ${d.found} -> ${d.modern || '(removed)'}: ${d.message}`);
        }
        ctx.state.existingDisks = diskTargets(cfg);
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
        const { disk, name, force } = ctx.opts;
        const { path: real, stat } = await statFollow(ctx.host, disk);
        if (!stat) {
          if (disk.startsWith('/dev/')) {
            throw usage(
              `--disk ${disk}: no such device`,
              `create the logical volume first, e.g. lvcreate -L 40G -n ${name} VG`,
            );
          }
          const size = ctx.opts['disk-size'];
          if (size === undefined)
            throw usage(`--disk ${disk} does not exist: give --disk-size to create it (a sparse raw image)`);
          ctx.state.createDisk = size;
          return ok(`${disk} does not exist: it will be created, a sparse raw image of ${formatSize(size)}`);
        }
        if (stat.type === 'dir') throw usage(`--disk ${disk} is a directory`);
        const isBlock = stat.type === 'other';
        ctx.state.diskIsBlockDevice = isBlock;
        const used = isBlock ? await hostUseOf(ctx.host, disk, real) : undefined;
        if (used) throw refuse(`${disk} is in use on this host (${used})`);
        // Other guests' files must not name the same disk.
        const other = await otherGuestWith(ctx.host, ctx.opts['config-dir'], name, disk);
        if (other && !force) {
          throw refuse(
            `${disk} is the disk of another guest: ${other}`,
            'give this guest its own disk (or --force if that guest is gone)',
          );
        }
        const found = await contentOf(ctx, real);
        const kind = isBlock ? 'block device' : 'image';
        if (!found) return ok(`${disk}: a blank ${kind}`);
        if (ctx.state.existingDisks.includes(disk))
          return ok(`${disk} holds ${found}: it is this guest's disk (named in ${configFile(ctx.opts)})`);
        if (!force) {
          throw refuse(
            `${disk} already holds ${found}: refusing to give it to a new guest, whose installer would overwrite it`,
            `look at it first (sfdisk -l ${disk}, blkid ${disk}); give --force to use it as it is`,
          );
        }
        ctx.log.warn(`--force: ${disk} holds ${found} and is given to ${name} as it is`);
        return ok(`--force: using ${disk} although it holds ${found}`);
      },
    }),

    step('boot-entry', {
      title: 'Xen is the default boot entry',
      async check(ctx) {
        const grub = await grubConfigOf(ctx.host);
        if (grub?.kind === 'grub2') return grub2Check(ctx, grub.file);
        if (grub?.kind === 'legacy') return legacyCheck(ctx, grub.file);
        return skip(
          'no GRUB configuration (/boot/grub/grub.cfg, /boot/grub2/grub.cfg, /boot/grub/grub.conf, /boot/grub/menu.lst): make sure your boot loader starts Xen by default',
        );
      },
      async apply(ctx, c) {
        const plan = c.data;
        if (plan.kind === 'saved') {
          await ctx.$`grub-editenv ${await ctx.host.resolve(plan.grubenv)} set saved_entry=${plan.ref}`;
          return `saved_entry=${plan.ref} in ${plan.grubenv}`;
        }
        const backup = await ctx.applyEdit(plan.edit);
        const done = `${plan.edit.path} written${backup ? ` (backup: ${backup})` : ''}`;
        const cmd = plan.regenerate;
        if (!cmd) return done;
        if (ctx.host.kind === 'root') {
          ctx.log.warn(
            `regenerate ${plan.grubCfg} inside that system: chroot ${await ctx.host.resolve('/')} ${cmd.join(' ')}`,
          );
          return `${done}; ${plan.grubCfg} not regenerated under --root`;
        }
        await ctx.$`${cmd}`;
        return `${done}; ${cmd.join(' ')} regenerated ${plan.grubCfg}`;
      },
    }),

    step('create-disk', {
      title: 'Create the disk image',
      when: (ctx) => (ctx.state.createDisk !== undefined ? true : 'the disk exists'),
      async check(ctx) {
        const size = ctx.state.createDisk ?? 0;
        return change(`create ${ctx.opts.disk}: a sparse raw image of ${formatSize(size)}`, { data: size });
      },
      async apply(ctx, c) {
        const size = c.data;
        const disk = ctx.opts.disk;
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
        const file = configFile(ctx.opts);
        const ts = ctx.opts.toolstack;
        if (ts === 'xm') ctx.state.deviceModel = await xendDeviceModel(ctx.host);
        const g = guestOf(ctx.opts, ctx.state);
        /** @type {string[]} */
        let changed = [];
        const edit = await ctx.planEdit(file, (current) => {
          if (current === undefined) return renderConfig(g, ts);
          const merged = mergeConfig(XlConfig.parse(current, { lenient: true, source: file }), g, ts);
          changed = merged.changed;
          return merged.text;
        });
        if (!edit.changed) return ok(`${file} already says so`);
        return change(edit.before === undefined ? `write ${file}` : `update ${file}: ${changed.join(', ')}`, {
          diff: withoutPassword(edit.diff, g.vncPassword),
          data: edit,
        });
      },
      async apply(ctx, c) {
        const edit = c.data;
        await ctx.host.mkdir(ctx.opts['config-dir']);
        // Root only: the file may hold the VNC password.
        const backup = await ctx.applyEdit(edit, { mode: 0o600 });
        return `${edit.path} written${backup ? ` (backup: ${backup})` : ''}`;
      },
    }),

    step('start', {
      title: 'Start the guest',
      when: (ctx) =>
        !ctx.opts.start
          ? 'no --start'
          : ctx.state.dom0
            ? true
            : 'not running on Xen yet: reboot into the Xen entry, then run again with --start',
      async check(ctx) {
        const ts = ctx.opts.toolstack;
        const listed = await ctx.$({ nothrow: true })`${ts} list ${ctx.opts.name}`;
        if (listed.ok) {
          const id = domidOf(listed.stdout);
          ctx.state.domid = id;
          return ok(`${ctx.opts.name} is already running (domain ${id})`);
        }
        return change(`${ts} create ${configFile(ctx.opts)}`);
      },
      async apply(ctx) {
        const ts = ctx.opts.toolstack;
        await ctx.$`${ts} create ${await ctx.host.resolve(configFile(ctx.opts))}`;
        const listed = await ctx.$`${ts} list ${ctx.opts.name}`;
        const id = domidOf(listed.stdout);
        ctx.state.domid = id;
        return `${ctx.opts.name} started (domain ${id})`;
      },
    }),
  ],

  finish(ctx, outcomes) {
    const failed = outcomes.some((o) => o.status === 'failed' || o.status === 'declined');
    if (failed) return;
    const listen = ctx.opts['vnc-listen'];
    const display = vncDisplay(ctx.opts, ctx.state);
    ctx.report.config = configFile(ctx.opts);
    ctx.report.vnc = { listen, display: display ?? null, port: display === undefined ? null : 5900 + display };
    if (ctx.dryRun) return;
    for (const line of consoleLines(listen, display, ctx.state.domid, ctx.opts.installed)) ctx.log.info(line);
  },
});

export default playbook;
await playbook.run();
