#!/usr/bin/env node
// @ts-check
/**
 * Before you upgrade Xen or move guests: which guests will not start on the new release or
 * toolstack, why, and the smallest way out. Read-only: every step looks, none writes.
 *
 * The release-dependent rules live in one module (src/playbooks/xen-upgrade-check/release-rules.ts),
 * which also draws the runbook's table of changes; the boot path is pygrub-fix's own model of
 * each release's pygrub (src/grub/), over images read without mounting (src/disk/).
 */
import { definePlaybook, ok, skip, fail, usage, SshTransport, forEachLimited } from 'xen-runbooks/engine';
import { LAST_RELEASE, FIRST_RELEASE } from 'xen-runbooks/grub';
import { UpgradeState } from 'xen-runbooks/playbooks/xen-upgrade-check/state';
import { TargetError, readTargetHost, targetFrom } from 'xen-runbooks/playbooks/xen-upgrade-check/target';
import { XE_VM_PARAMS, listConfigFiles, parseXeVms } from 'xen-runbooks/playbooks/xen-upgrade-check/guests';
import {
  addBootReasons,
  addRuleReasons,
  checkXapiVm,
  readGuest,
  settle,
} from 'xen-runbooks/playbooks/xen-upgrade-check/check-guest';
import { guestLines, tally } from 'xen-runbooks/playbooks/xen-upgrade-check/verdict';

const OPTIONS = /** @type {const} */ ({
  'to-xen': {
    type: 'string',
    placeholder: 'VERSION',
    pattern: /^\d+\.\d+(\.\d+){0,2}$/,
    patternHint: 'a release such as 4.0.1, 4.4 or 4.17.3',
    description: `The Xen release the guests must start on: ${FIRST_RELEASE} to ${LAST_RELEASE} (a later point release reads as the newest known one of its minor). Needed unless --to-host is given.`,
  },
  'to-toolstack': {
    type: 'enum',
    choices: ['xl', 'xm', 'xapi'],
    description:
      'The toolstack that will start them: xl, xm (xend, up to Xen 4.4) or xapi (XCP-ng, XenServer). Default: what --to-host runs, else xm below Xen 4.2 and xl from 4.2.',
  },
  'to-host': {
    type: 'string',
    placeholder: 'USER@HOST',
    pattern: /^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.:_[\]-]+$/,
    patternHint: 'USER@HOST or HOST, e.g. root@newhost.example.org',
    description:
      'The new host, over ssh: its release and toolstack are read there (xe host-list, xl info, xm info), and the files the guests name (bootloader, kernels, firmware) are looked for there.',
  },
  jobs: {
    type: 'integer',
    min: 1,
    max: 16,
    default: 4,
    placeholder: 'N',
    description:
      'How many guests are checked at once (in this one process; each image read mostly waits for the disk). 1 reads them in the order they are listed.',
  },
  'config-dir': {
    type: 'string',
    placeholder: 'DIR',
    file: 'dir',
    repeatable: true,
    description: 'Another folder of domain config files, besides /etc/xen (e.g. /etc/xen/auto, /srv/xen/configs).',
  },
});

const playbook = definePlaybook({
  name: 'xen-upgrade-check',
  summary:
    'Before you upgrade Xen or move guests: which guests will not start on the new release, why, and the way out.',
  description: `Lists every guest of the host (xl and xm config files under /etc/xen and --config-dir, the VMs
xapi knows on XCP-ng) and says for each whether it starts, will not start, or cannot be told on the
target (--to-xen, --to-toolstack, or --to-host to read the new host), with every reason, its source and
the way out: the config read as the target's xl reads it (xm's Python converted to xl syntax, with the
diff), keys and values the target refuses, memory, vCPUs and scheduler values it bounds differently, and
the boot path (a pygrub guest's image read as that release's pygrub reads it, a kernel= guest's files,
an HVM guest's firmware). It writes nothing. Exit 0 when no guest will fail to start (guests it cannot
tell are named in a warning), 1 when one or more will not start, 2 for bad input.`,
  options: OPTIONS,
  transports: ['local', 'root', 'ssh'],
  examples: [
    '--to-xen 4.17 --config-dir /srv/xen/configs',
    '--to-xen 4.4 --to-toolstack xl --json',
    '--root /mnt/oldhost --to-xen 4.17',
    '--host root@oldhost --to-host root@newhost',
  ],
  state: () => new UpgradeState(),

  validate(ctx) {
    if (!ctx.opts['to-xen'] && !ctx.opts['to-host'])
      throw usage('give the target: --to-xen VERSION (e.g. --to-xen 4.17) or --to-host USER@HOST');
    if (ctx.opts['to-xen'] && ctx.opts['to-host'])
      throw usage('--to-xen and --to-host both name the target: give one (--to-host reads the release there)');
    if (ctx.opts['to-xen']) {
      try {
        ctx.state.target = targetFrom(ctx.opts['to-xen'], ctx.opts['to-toolstack']);
      } catch (e) {
        if (e instanceof TargetError) throw usage(e.message);
        throw e;
      }
    }
  },

  steps: ({ step }) => [
    step('read-target', {
      title: 'Read the target release and toolstack',
      async check(ctx) {
        const toHost = ctx.opts['to-host'];
        if (toHost) {
          const ssh = ctx.common['ssh-config'];
          const there = new SshTransport({ destination: toHost, ...(ssh ? { configFile: ssh } : {}) });
          ctx.cleanup(() => there.close());
          try {
            const read = await readTargetHost(there);
            const t = targetFrom(
              read.release,
              ctx.opts['to-toolstack'] ?? read.toolstack,
              `${toHost}: ${read.toolstack}`,
            );
            ctx.state.target = { ...t, host: there };
          } catch (e) {
            if (e instanceof TargetError) throw usage(e.message);
            throw e;
          }
          ctx.state.hosts = { here: ctx.host, there, moved: true };
        } else {
          ctx.state.hosts = { here: ctx.host, there: ctx.host, moved: false };
        }
        const t = ctx.state.target;
        ctx.report.target = { release: t.version.release, given: t.version.text, toolstack: t.toolstack, from: t.from };
        return ok(`Xen ${t.version.release} with ${t.toolstack}${t.from === 'given' ? '' : ` (read from ${t.from})`}`);
      },
    }),

    step('list-guests', {
      title: 'List the guests: config files and xapi VMs',
      async check(ctx) {
        const dirs = ['/etc/xen', ...(ctx.opts['config-dir'] ?? [])];
        ctx.state.files = await listConfigFiles(ctx.host, dirs);
        if (await ctx.host.exists('/etc/xensource-inventory')) {
          const out = await ctx.$`xe vm-list is-control-domain=false is-a-snapshot=false params=${XE_VM_PARAMS}`;
          ctx.state.vms = parseXeVms(out.stdout);
        }
        const { files, vms } = ctx.state;
        if (!files.length && !vms.length)
          throw usage(`no guest found: no domain config in ${dirs.join(', ')} and no xapi (give --config-dir DIR)`);
        return ok(
          `${files.length} config file${files.length === 1 ? '' : 's'}${vms.length ? `, ${vms.length} xapi VMs` : ''}`,
        );
      },
    }),

    step('read-configs', {
      title: 'Read each config as the target reads it (xm’s Python converted to xl)',
      when: (ctx) => ctx.state.files.length > 0 || 'no config files',
      check(ctx) {
        const { target } = ctx.state;
        ctx.state.guests = ctx.state.files.map((f) => readGuest(f.path, f.text, target));
        const unread = ctx.state.guests.filter((g) => !g.cfg).length;
        const converted = ctx.state.guests.filter((g) => g.record.conversion).length;
        return ok(
          `${ctx.state.guests.length - unread} read${converted ? `, ${converted} converted from xm’s Python` : ''}${unread ? `, ${unread} cannot be read` : ''}`,
        );
      },
    }),

    step('check-config-rules', {
      title: 'Check the keys and values the target refuses or reads differently',
      when: (ctx) => ctx.state.guests.length > 0 || 'no config files',
      check(ctx) {
        for (const g of ctx.state.guests) addRuleReasons(g, ctx.state.target, 'config');
        const n = ctx.state.guests.filter((g) => g.record.reasons.some((r) => r.severity === 'blocks')).length;
        return ok(
          n ? `${n} guest${n === 1 ? '' : 's'} with a config the target refuses` : 'no config the target refuses',
        );
      },
    }),

    step('check-resources', {
      title: 'Check memory, vCPUs and scheduler values against the target’s bounds',
      when: (ctx) => ctx.state.guests.length > 0 || 'no config files',
      check(ctx) {
        const before = ctx.state.guests.map((g) => g.record.reasons.length);
        for (const g of ctx.state.guests) addRuleReasons(g, ctx.state.target, 'resources');
        const found = ctx.state.guests.reduce((n, g, i) => n + g.record.reasons.length - (before[i] ?? 0), 0);
        return ok(found ? `${found} finding${found === 1 ? '' : 's'}` : 'within the target’s bounds');
      },
    }),

    step('check-boot', {
      title: 'Check the boot path: pygrub on the image, kernel files, HVM firmware',
      long: true,
      when: (ctx) => ctx.state.guests.length > 0 || 'no config files',
      async check(ctx) {
        const { target, hosts } = ctx.state;
        // A few guests at a time: each image read mostly waits for debugfs and the disk.
        await forEachLimited(ctx.state.guests, ctx.opts.jobs, async (g) => {
          ctx.log.detail(`  ${g.record.name}: ${g.record.boot}`);
          await addBootReasons(ctx.$, hosts, target, g);
        });
        const n = ctx.state.guests.filter((g) => g.record.boot === 'pygrub').length;
        return ok(
          `${ctx.state.guests.length} guests, ${n} image${n === 1 ? '' : 's'} read as pygrub ${target.version.release} reads them`,
        );
      },
    }),

    step('check-xapi-vms', {
      title: 'Check the VMs xapi knows',
      when: (ctx) => ctx.state.vms.length > 0 || 'no xapi on this host',
      check(ctx) {
        ctx.state.xapi = ctx.state.vms.map((vm) => checkXapiVm(vm, ctx.state.target));
        return ok(`${ctx.state.xapi.length} VMs`);
      },
    }),

    step('verdicts', {
      title: 'Say which guests start, which will not, and the ways out',
      check(ctx) {
        for (const g of ctx.state.guests) settle(g);
        const records = ctx.state.records();
        ctx.report.guests = records;
        for (const r of records) for (const line of guestLines(r)) ctx.log.info(line);
        const summary = tally(records);
        const unsure = records.filter((r) => r.verdict === 'cannot-tell');
        if (unsure.length)
          ctx.log.warn(`cannot tell for ${unsure.map((r) => r.name).join(', ')}: see their reasons above`);
        const blocked = records.filter((r) => r.verdict === 'will-not-start');
        if (blocked.length) {
          const release = ctx.state.target.version.release;
          throw fail(`${summary}; on Xen ${release} these will not start: ${blocked.map((r) => r.name).join(', ')}`);
        }
        return records.length ? ok(summary) : skip('no guests');
      },
    }),
  ],
});

export default playbook;
await playbook.run();
