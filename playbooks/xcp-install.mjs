#!/usr/bin/env node
// @ts-check
// Install and configure XCP / XCP-ng, step by step. Only the host's shell and xe are used (--host root@HOST
// works from a workstation); what reads the host, decides and formats is in src/playbooks/xcp-install/.
import { definePlaybook, ok, change, skip, fail } from 'xen-runbooks/engine';
import { xe, xeArgs, xeGet, xeList } from 'xen-runbooks/xen/xe';
import * as apt from 'xen-runbooks/playbooks/xcp-install/apt';
import * as bootMenu from 'xen-runbooks/playbooks/xcp-install/boot-menu';
import * as platform from 'xen-runbooks/playbooks/xcp-install/platform';
import * as pool from 'xen-runbooks/playbooks/xcp-install/pool';
import * as report from 'xen-runbooks/playbooks/xcp-install/report';
import * as storage from 'xen-runbooks/playbooks/xcp-install/storage';
import * as vm from 'xen-runbooks/playbooks/xcp-install/vm';
import * as workarounds from 'xen-runbooks/playbooks/xcp-install/workarounds';
import * as xapi from 'xen-runbooks/playbooks/xcp-install/xapi';
import { askPoolPassword, poolPasswordOption } from 'xen-runbooks/playbooks/xcp-install/password';
import {
  anythingAsked,
  otherConfigAsked,
  resourcesAsked,
  storageAsked,
} from 'xen-runbooks/playbooks/xcp-install/asked';
import { legacyOnly, legacyUbuntuOnly, legacyWithFile, needsXapi } from 'xen-runbooks/playbooks/xcp-install/conditions';
import { dataOf, need } from 'xen-runbooks/playbooks/xcp-install/step-data';
import { checkOptions } from 'xen-runbooks/playbooks/xcp-install/validate';
import { OPTIONS } from 'xen-runbooks/playbooks/xcp-install/option-specs';

/** @typedef {import('xen-runbooks/playbooks/xcp-install/state').State} State */
const { PPA, PACKAGES } = apt;
const { NETWORK_CONF, VIF_SCRIPT, XEND_INIT, KEYMAPS, KEYMAPS_TARGET } = workarounds;
const { GRUB_DEFAULTS, GRUB_CFG } = bootMenu;

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
  state: () => /** @type {State} */ ({ xapi: false, packagesPending: false }),
  async validate(ctx) {
    checkOptions(ctx.opts, ctx.given);
    // The password is read now (from --pool-password-file), before anything changes; else asked when joining.
    if (ctx.opts['join-pool']) ctx.state.poolPassword = await poolPasswordOption(ctx.opts['pool-password-file'], ctx);
  },
  steps: ({ step, fileStep }) => [
    step('detect-platform', {
      title: 'Detect the platform',
      async check(ctx) {
        // An XCP-ng/XenServer host (xapi answers), or Ubuntu 12.04 / Debian 7 to install on; anything else is refused.
        const { platform: p, xapi: probe } = await platform.detect(ctx.host, ctx.$);
        ctx.state.xapi = probe.up;
        ctx.state.platform = p;
        ctx.report.platform = { ...p, xapi: probe.up };
        if (p.kind === 'xcp-ng') return ok(`${p.name} ${p.version}, xapi answers: the installation steps do not apply`);
        const answers = probe.up ? 'answers' : 'does not answer yet';
        return ok(`${p.name} (${p.codename}): the XCP packages and workarounds apply; xapi ${answers}`);
      },
    }),
    step('preflight', {
      title: 'Look before changing anything: storage device, pool, VM',
      when: (ctx) => (anythingAsked(ctx.opts) ? true : 'no pool, storage or VM asked for'),
      async check(ctx) {
        // Every refusal (pool, device, VM) happens here, before any step changes anything.
        const seen = [];
        if (ctx.state.xapi) await xapi.facts(ctx);
        const join = ctx.opts['join-pool'] && ctx.state.xapi ? await pool.joinPlan(ctx) : undefined;
        const joining = join?.member === false;
        if (join) seen.push(join.message);
        if (storageAsked(ctx.opts)) seen.push(storage.summary((ctx.state.storagePlan = await storage.plan(ctx))));
        if (ctx.opts['vm-name'] && ctx.state.xapi) {
          const v = await vm.plan(ctx, { joining });
          // A pool join changes the SRs and networks there: the VM is looked at again after it.
          if (!joining) ctx.state.vmPlan = v;
          seen.push(vm.summary(v, ctx.opts));
        }
        if (!ctx.state.xapi && (ctx.opts['join-pool'] || ctx.opts['vm-name']))
          seen.push('pool and VM: looked at once xapi answers');
        return ok(seen.join('; '));
      },
    }),
    step('apt-repository', {
      title: `Add the XCP package archive (PPA ${PPA})`,
      when: (ctx) => legacyUbuntuOnly(ctx.state),
      async check(ctx) {
        if (apt.sourcesHavePpa(await apt.readAptSources(ctx.host))) return ok(`ppa:${PPA} is in the apt sources`);
        const haveTool = (await apt.readInstalled(ctx.host)).has('python-software-properties');
        return change(apt.ppaChange(haveTool, ctx.state.platform?.codename ?? 'precise'), { data: { haveTool } });
      },
      async apply(ctx, c) {
        await apt.addPpa(ctx, c.data.haveTool);
        return `added ppa:${PPA}`;
      },
    }),
    step('network-backend', {
      title: 'Choose the bridge network backend before xcp-xapi is installed',
      when: (ctx) => legacyOnly(ctx.state),
      async check(ctx) {
        const current = await ctx.host.readText(NETWORK_CONF);
        const mode = workarounds.networkMode(current);
        if (mode) return ok(`${NETWORK_CONF} says '${mode}'`);
        const edit = await ctx.planEdit(NETWORK_CONF, () => 'bridge\n');
        const what = current === undefined ? 'create' : 'fill in';
        return change(`${what} ${NETWORK_CONF}: bridge`, { diff: edit.diff, data: edit });
      },
      async apply(ctx, c) {
        await ctx.host.mkdir('/etc/xcp');
        await ctx.applyEdit(c.data, { mode: 0o644 });
        return `${NETWORK_CONF} written: bridge`;
      },
    }),
    step('install-packages', {
      title: 'Install xcp-xapi, xcp-xe and pciutils (brings the Xen hypervisor)',
      when: (ctx) => legacyOnly(ctx.state),
      long: true,
      async check(ctx) {
        const missing = await apt.missingPackages(ctx.host);
        if (missing.length === 0) return ok(`${PACKAGES.join(', ')} are installed`);
        ctx.state.packagesPending = true;
        return change(`apt-get update; apt-get install ${missing.join(' ')}`, { data: { missing } });
      },
      async apply(ctx, c) {
        await apt.installPackages(ctx, c.data.missing);
        ctx.state.packagesPending = false;
        return `installed ${c.data.missing.join(', ')}`;
      },
    }),
    step('vif-offline', {
      title: 'Let the VIF script handle "offline" events (VMs reach halted)',
      when: (ctx) =>
        legacyWithFile(ctx, VIF_SCRIPT, {
          pending: `${VIF_SCRIPT} comes with xcp-xapi: looked at once it is installed`,
          absent: `${VIF_SCRIPT} is not there: this xcp-xapi has no such script`,
        }),
      async check(ctx) {
        const text = (await ctx.host.readText(VIF_SCRIPT)) ?? '';
        if (workarounds.vifHandlesOffline(text)) return ok(`${VIF_SCRIPT} handles remove|offline`);
        if (!workarounds.vifHasRemoveCase(text))
          return skip(`${VIF_SCRIPT} has no 'remove)' case: not the script this fix is for`);
        const edit = await ctx.planEdit(VIF_SCRIPT, (cur) => workarounds.addOfflineCase(cur ?? ''));
        return change(`edit ${VIF_SCRIPT}: remove) becomes remove|offline)`, { diff: edit.diff, data: edit });
      },
      async apply(ctx, c) {
        const backup = await ctx.applyEdit(c.data);
        return `${VIF_SCRIPT} written${backup ? ` (backup: ${backup})` : ''}`;
      },
    }),
    fileStep('xend-init', {
      title: 'Keep xend from starting (it conflicts with xapi)',
      when: (ctx) =>
        legacyWithFile(ctx, XEND_INIT, {
          pending: `${XEND_INIT} comes with the Xen packages: looked at once they are installed`,
          absent: `${XEND_INIT} is not there: no xend to stop`,
        }),
      file: () => XEND_INIT,
      edit: (current) => workarounds.disableXend(current ?? ''),
    }),
    step('xendomains', {
      title: 'Keep xendomains from starting at boot',
      when: (ctx) =>
        legacyWithFile(ctx, '/etc/init.d/xendomains', {
          pending: 'xendomains comes with the Xen packages: looked at once they are installed',
          absent: 'no /etc/init.d/xendomains',
        }),
      async check(ctx) {
        const links = await workarounds.xendomainsStartLinks(ctx.host);
        if (links.length === 0) return ok('xendomains does not start in runlevels 2–5');
        return change(`update-rc.d xendomains disable (now started by ${links.join(', ')})`, { data: { links } });
      },
      async apply(ctx) {
        workarounds.warnRunsHere(ctx, 'update-rc.d runs');
        await ctx.$`update-rc.d xendomains disable`;
        return 'xendomains disabled';
      },
    }),
    step('qemu-keymaps', {
      title: 'Give qemu its keymaps (/usr/share/qemu/keymaps)',
      when: (ctx) => legacyOnly(ctx.state),
      async check(ctx) {
        const link = await ctx.host.readlink(KEYMAPS);
        if (link === KEYMAPS_TARGET) return ok(`${KEYMAPS} → ${KEYMAPS_TARGET}`);
        const st = await ctx.host.stat(KEYMAPS);
        if (st) return ok(`${KEYMAPS} exists (${st.type}${link ? ` → ${link}` : ''}): left as it is`);
        if (!(await ctx.host.exists(KEYMAPS_TARGET)))
          return skip(
            ctx.state.packagesPending
              ? `${KEYMAPS_TARGET} comes with the Xen packages: linked once installed`
              : `${KEYMAPS_TARGET} is not there: nothing to link to`,
          );
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
      when: (ctx) => legacyOnly(ctx.state),
      async check(ctx) {
        const cfg = await ctx.host.readText(GRUB_CFG);
        if (cfg === undefined) return skip(`no ${GRUB_CFG}: set the default boot entry by hand`);
        // The first top-level entry (or submenu) that boots Xen, recovery mode left aside.
        const xen = bootMenu.xenEntry(cfg);
        if (!xen && ctx.state.packagesPending)
          return skip(`the Xen entries appear in ${GRUB_CFG} once the hypervisor is installed`);
        if (!xen) throw fail(`${GRUB_CFG} has no Xen entry`, bootMenu.NO_XEN_ENTRY_HINT);
        if (xen.xenVersion) ctx.state.xenVersion = xen.xenVersion;
        ctx.report.grubDefault = xen.title;
        const edit = await ctx.planEdit(GRUB_DEFAULTS, (text = '') => bootMenu.withGrubDefault(text, xen.title));
        if (!edit.changed && bootMenu.cfgDefault(cfg) === xen.title) return ok(`boots "${xen.title}" by default`);
        const first = edit.changed ? `set GRUB_DEFAULT="${xen.title}" (the ${xen.kind} in ${GRUB_CFG}), then ` : '';
        return change(`${first}run update-grub`, { diff: edit.diff, data: { edit, title: xen.title } });
      },
      async apply(ctx, c) {
        const { edit, title } = c.data;
        await bootMenu.setDefaultAndUpdateGrub(ctx, edit, title);
        return `boots "${title}" by default from the next boot`;
      },
    }),
    step('xapi-ready', {
      title: 'Check that xapi answers',
      async check(ctx) {
        if (!ctx.state.xapi) ctx.state.xapi = (await xapi.probe(ctx.$)).up;
        if (!ctx.state.xapi) {
          ctx.report.rebootRequired = true;
          const into = ctx.report.grubDefault ? `"${ctx.report.grubDefault}"` : 'Xen';
          return skip(
            `xapi does not answer yet: reboot into ${into}, then run this playbook again for the pool, storage and VM steps`,
          );
        }
        await xapi.facts(ctx);
        return ok(`xapi answers on ${ctx.state.hostName} (${ctx.state.platform?.name ?? ''})`);
      },
    }),
    step('join-pool', {
      title: 'Join the pool',
      when: (ctx) => (ctx.opts['join-pool'] ? needsXapi(ctx.state) : 'no --join-pool given'),
      async check(ctx) {
        const plan = await pool.joinPlan(ctx);
        if (plan.member) return ok(plan.message);
        return change(`join the pool whose master is ${ctx.opts['join-pool']} (as ${ctx.opts['pool-user']})`);
      },
      async apply(ctx) {
        const address = need(ctx.opts['join-pool'], 'join-pool');
        const user = ctx.opts['pool-user'];
        const password = ctx.state.poolPassword ?? (await askPoolPassword(user, address));
        // The password goes to xe on its standard input; then wait for xapi to restart with the new master.
        const joined = await pool.join(ctx, address, user, password);
        await xapi.facts(ctx, true);
        delete ctx.state.storagePlan;
        delete ctx.state.vmPlan;
        return `joined the pool "${joined.name}" (master ${address})`;
      },
    }),
    step('storage-repository', {
      title: 'Create the storage repository',
      long: true,
      when: (ctx) => (storageAsked(ctx.opts) ? needsXapi(ctx.state) : 'no --sr-device (or --sr-type nfs) given'),
      async check(ctx) {
        const name = ctx.opts['sr-name'];
        const where = storage.location(ctx.opts);
        // What the preflight found still holds unless a pool join came in between.
        const plan = ctx.state.storagePlan ?? (await storage.plan(ctx));
        if (plan.existing) {
          ctx.state.sr = plan.existing;
          if (plan.existingName !== name)
            ctx.log.warn(`the SR there is named "${plan.existingName}", not "${name}": it is used as it is`);
          return ok(`SR "${plan.existingName}" (${plan.existingType}) is already on ${where}`);
        }
        if (plan.contents.length)
          ctx.log.warn(`--force: ${where} holds ${plan.contents.join(', ')}, which the SR will overwrite`);
        if (plan.type === 'nfs') return change(`create the shared NFS SR "${name}" on ${where}`, { data: plan });
        return change(`create the ${plan.type} SR "${name}" on ${where}${plan.note}`, { data: plan });
      },
      async apply(ctx, c) {
        const name = ctx.opts['sr-name'];
        // Should xapi answer SR_UNKNOWN_DRIVER for lvm that --sr-type did not ask for: ext instead.
        const { uuid, type } = await storage.create(ctx, c.data.type);
        ctx.state.sr = uuid;
        ctx.report.sr = { uuid, type, name };
        return `created the ${type} SR "${name}" (${uuid})`;
      },
    }),
    step('default-sr', {
      title: "Make it the pool's default SR",
      when: (ctx) =>
        storageAsked(ctx.opts) ? needsXapi(ctx.state) : 'no SR asked for: the pool default SR is left as it is',
      async check(ctx) {
        const sr = ctx.state.sr;
        if (!sr) return change(`make "${ctx.opts['sr-name']}" the pool's default SR once it exists`);
        const p = (ctx.state.pool = await xapi.thePool(ctx.$));
        if (p.defaultSr === sr) return ok(`${await xapi.srLabel(ctx.$, sr)} is the pool's default SR`);
        const shared = (await xeGet(ctx.$, 'sr', sr, 'shared')) === 'true';
        const hosts = await xeList(ctx.$, 'host');
        const was = await xapi.srLabel(ctx.$, p.defaultSr);
        if (!shared && hosts.length > 1)
          return skip(
            `the pool has ${hosts.length} hosts and this SR is local to one: the pool's default stays ${was}`,
          );
        return change(`xe pool-param-set default-SR=${sr} (was ${was})`, { data: { pool: p.uuid, sr } });
      },
      async apply(ctx, c) {
        const { pool: uuid, sr } = dataOf(c);
        await xe(ctx.$, xeArgs('pool-param-set', { uuid, 'default-SR': sr }));
        return `default SR: ${sr}`;
      },
    }),
    step('install-vm', {
      title: 'Install the VM from its template',
      when: (ctx) => (ctx.opts['vm-name'] ? needsXapi(ctx.state) : 'no --vm-name given'),
      async check(ctx) {
        const name = ctx.opts['vm-name'];
        const plan = ctx.state.vmPlan ?? (await vm.plan(ctx));
        ctx.state.network = plan.network;
        if (plan.existing) {
          ctx.state.vm = plan.existing;
          return ok(`VM "${name}" exists (${plan.existing})`);
        }
        const srName = plan.sr ? await xeGet(ctx.$, 'sr', plan.sr, 'name-label') : ctx.opts['sr-name'];
        const what = `install "${name}" from "${ctx.opts.template}" on the SR "${srName}"`;
        return change(what, { data: { sr: plan.sr } });
      },
      async apply(ctx, c) {
        const name = need(ctx.opts['vm-name'], 'vm-name');
        // On the SR found or made here; without one, xe vm-install takes the pool's default.
        ctx.state.vm = await vm.install(ctx.$, ctx.opts.template, name, c.data.sr ?? ctx.state.sr);
        return `installed "${name}" (${ctx.state.vm})`;
      },
    }),
    step('vm-resources', {
      title: "Set the VM's memory and vCPUs",
      when: (ctx) => resourcesAsked(ctx),
      async check(ctx) {
        const { memory, vcpus } = ctx.opts;
        const wanted = vm.describeResources(memory, vcpus);
        const uuid = ctx.state.vm;
        if (!uuid) return change(`set ${wanted} once the VM is installed`);
        const now = await vm.readResources(ctx.$, uuid);
        // Memory is fixed (static max = dynamic min = dynamic max): no ballooning.
        const todo = vm.resourcesChange(now, memory, vcpus);
        if (todo.memOk && todo.cpuOk) return ok(`the VM has ${wanted}`);
        if (now.power !== 'halted') {
          ctx.log.warn(`the VM is ${now.power}: its memory and vCPUs change here only while it is halted`);
          const live = 'halt it and run again, or change them live: see the QoS runbook';
          return skip(`the VM is ${now.power}: ${wanted} not applied (${live})`);
        }
        return change(`set ${wanted}`, { data: todo });
      },
      async apply(ctx, c) {
        await vm.setResources(ctx.$, need(ctx.state.vm, 'vm-name'), dataOf(c), ctx.opts.memory, ctx.opts.vcpus);
        return 'memory and vCPUs set';
      },
    }),
    step('vm-network', {
      title: "Attach the VM to the bridge's network",
      when: (ctx) => (ctx.opts['vm-name'] ? needsXapi(ctx.state) : 'no --vm-name given'),
      async check(ctx) {
        const uuid = ctx.state.vm;
        const bridge = ctx.opts['network-bridge'];
        if (!uuid) return change(`create a VIF on ${bridge} once the VM is installed`);
        const on = await vm.vifOnNetwork(ctx.$, uuid, ctx.state.network);
        if (on !== undefined) return ok(`VIF ${on} is on ${bridge}`);
        const free = await vm.freeVifDevice(ctx.$, uuid);
        return change(`create VIF ${free.device} on ${bridge}`, { data: free });
      },
      async apply(ctx, c) {
        const free = dataOf(c);
        const vif = await vm.createVif(ctx, free);
        return `VIF ${free.device} (${vif}) on ${ctx.opts['network-bridge']}`;
      },
    }),
    step('vm-other-config', {
      title: "Set the VM's installer repository and console",
      when: (ctx) => otherConfigAsked(ctx),
      async check(ctx) {
        const uuid = ctx.state.vm;
        // XCP 1.x: a PV guest's console on the text console (xenconsole) instead of VNC.
        const wanted = vm.wantedOtherConfig(ctx.opts['install-repository'], ctx.state.platform?.kind === 'legacy');
        if (!uuid) return change(`set ${vm.otherConfigText(wanted)} once the VM is installed`);
        const todo = await vm.otherConfigTodo(ctx.$, uuid, wanted);
        if (Object.keys(todo).length === 0) return ok(vm.otherConfigText(wanted));
        return change(`set ${vm.otherConfigText(todo)}`, { data: { todo } });
      },
      async apply(ctx, c) {
        const { todo } = dataOf(c);
        await xe(ctx.$, xeArgs('vm-param-set', { uuid: need(ctx.state.vm, 'vm-name'), 'other-config': todo }));
        return `set ${Object.keys(todo).join(', ')}`;
      },
    }),
    step('start-vm', {
      title: 'Start the VM',
      when: (ctx) => (ctx.opts['vm-name'] ? needsXapi(ctx.state) : 'no --vm-name given'),
      async check(ctx) {
        const uuid = ctx.state.vm;
        if (!uuid) return change('start the VM once it is installed');
        const power = await vm.powerState(ctx.$, uuid);
        if (power === 'running') {
          ctx.state.domid = await vm.domainId(ctx.$, uuid);
          return ok(`running as domain ${ctx.state.domid}`);
        }
        if (power !== 'halted') return skip(`the VM is ${power}: not started here (xe vm-unpause / xe vm-resume)`);
        return change(`xe vm-start uuid=${uuid}`);
      },
      async apply(ctx) {
        const uuid = need(ctx.state.vm, 'vm-name');
        await xe(ctx.$, xeArgs('vm-start', { uuid }));
        ctx.state.domid = await vm.domainId(ctx.$, uuid);
        return `started as domain ${ctx.state.domid}`;
      },
    }),
  ],
  finish: (ctx) => report.finish(ctx),
});

export default playbook;
await playbook.run();
