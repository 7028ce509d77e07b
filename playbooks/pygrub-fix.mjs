#!/usr/bin/env node
// @ts-check
/**
 * Fix "Boot loader didn't return any data!": find why pygrub cannot read a PV guest's disk
 * image and repair it: rewrite the GRUB 2 names old pygrub chokes on (grub.cfg.orig kept),
 * or switch the domain to pv-grub. Works on the image file or block device on this machine or on
 * a host over ssh (--host), read in user space by debugfs unless --backend mount is asked for.
 */
import { definePlaybook, ok, change, skip, usage, refuse, fail, unifiedDiff } from 'xen-runbooks/engine';
import { openHostSource, diskHost, DebugfsFs, pygrubPartitionOffsets } from 'xen-runbooks/disk';
import {
  parseXenVersion,
  versionLabel,
  diagnose,
  sortFindings,
  partName,
  rewriteForPygrub,
  switchToPvgrub,
  pvgrubExtra,
  codeOf,
  firstReleaseWithOption,
  setPygrubOffset,
  bootloaderOf,
  LAST_RELEASE,
  FIRST_RELEASE,
} from 'xen-runbooks/grub';
import { bootOf, tableOf } from 'xen-runbooks/playbooks/pygrub-fix/state';
import { imageKind, imageUsers, lockOrRefuse, checkDomainConfig } from 'xen-runbooks/playbooks/pygrub-fix/image';
import { readTable, partitionLines, tableSummary, tableReport } from 'xen-runbooks/playbooks/pygrub-fix/table';
import {
  offsetsLine,
  inSearchOrder,
  filesystemsOf,
  readableBy,
  bootReport,
  offsetReport,
  configKindName,
} from 'xen-runbooks/playbooks/pygrub-fix/boot-search';
import * as guestFs from 'xen-runbooks/playbooks/pygrub-fix/guest-fs';
import * as findings from 'xen-runbooks/playbooks/pygrub-fix/findings';
import * as mbr from 'xen-runbooks/playbooks/pygrub-fix/mbr';
import { findPvgrub } from 'xen-runbooks/playbooks/pygrub-fix/pvgrub-host';
import { checkActiveFirst, checkClean, pygrubVerdict, hostPygrub } from 'xen-runbooks/playbooks/pygrub-fix/verify';
import { checkSshRun } from 'xen-runbooks/playbooks/pygrub-fix/remote-tools';

/** What the steps find, passed from one to the next. @typedef {import('xen-runbooks/playbooks/pygrub-fix/state').PygrubFixState} State */

const playbook = definePlaybook({
  name: 'pygrub-fix',
  summary: 'Fix "Boot loader didn\'t return any data!": make a PV guest\'s disk image bootable by pygrub again.',
  description: `Reads the guest's partition table and boot config the way pygrub does, names every known cause
it finds (GRUB 2 partition names such as (hd0,msdos1) that old pygrub cannot parse, variables,
BootLoaderSpec entries, missing or unloadable kernels, /boot where pygrub cannot read it), and fixes
what can be fixed, as the pygrub of the Xen release given with --xen-version reads it (its parser,
default entry, partition search and options): --strategy rewrite (the default) rewrites only the
lines that release chokes on, keeping grub.cfg.orig; --strategy activate also sets the MBR active
flag on the /boot partition (Xen 4.0.x reads only the active partition; IMAGE.mbr.orig kept);
--strategy offset writes bootloader_args = ['--offset=N'] into the domain config (Xen 4.4.0 and
later; /boot on a logical partition or a 4096-byte-sector disk); --strategy pvgrub switches the
domain to pv-grub. The image is read in user space with debugfs at the partition's offset; nothing
is mounted unless you ask for --backend mount. Shut the guest down first: an image in use (under
any name: hard link, bind mount) is refused. With --host root@dom0 it runs from a workstation: the
dom0 needs no Node, only e2fsprogs, util-linux and GNU coreutils (debugfs and dd run there).`,
  args: [
    {
      name: 'IMAGE',
      file: 'disk-image',
      description: "The guest's disk image file or block device (e.g. /srv/xen/vm01.img, /dev/vg0/vm01-disk).",
    },
  ],
  options: {
    strategy: {
      type: 'enum',
      choices: ['rewrite', 'activate', 'offset', 'pvgrub'],
      default: 'rewrite',
      description:
        "rewrite: fix the config in the image (grub.cfg.orig kept). activate: the same, and mark the /boot partition active (Xen 4.0.x; IMAGE.mbr.orig kept). offset: the same, and bootloader_args = ['--offset=N'] in --domain-config (Xen 4.4.0+). pvgrub: leave the image, boot the domain through pv-grub.",
    },
    'domain-config': {
      type: 'string',
      placeholder: 'FILE',
      file: 'xl-config',
      description: "The domain's xm/xl config (e.g. /etc/xen/vm01.cfg): needed by --strategy pvgrub and offset.",
    },
    'xen-version': {
      type: 'string',
      placeholder: 'VERSION',
      default: 'old',
      pattern: /^(old|\d+\.\d+(\.\d+){0,2})$/,
      patternHint: "a release such as 4.0.1, 4.1.3, 4.17.7, or 'old'",
      description: `The Xen whose pygrub will read the image (xl info | grep xen_version): any release ${FIRST_RELEASE} to ${LAST_RELEASE}, read as the newest known release at or below it (4.17.9 as 4.17.7, a bare 4.1 as 4.1.0, a later minor as ${LAST_RELEASE}). 'old' is 4.0.1 (Debian 6).`,
    },
    backend: {
      type: 'enum',
      choices: ['debugfs', 'mount'],
      default: 'debugfs',
      description:
        'debugfs: read and write ext2/3/4 in user space. mount: losetup -o + mount (root; for filesystems debugfs cannot read).',
    },
    partition: {
      type: 'integer',
      min: 1,
      max: 256,
      description: "The partition holding the boot config, when you know better than pygrub's search order.",
    },
    'sector-size': {
      type: 'enum',
      choices: ['auto', '512', '4096'],
      default: 'auto',
      description: "The disk's logical sector size: auto reads the device's, or finds the GPT header.",
    },
    pvgrub: {
      type: 'enum',
      choices: ['auto', 'pvgrub2', 'legacy'],
      default: 'auto',
      description:
        'With --strategy pvgrub: PVGRUB2 (grub-xen-host) or legacy PV-GRUB; auto takes PVGRUB2 when the host has it.',
    },
    arch: {
      type: 'enum',
      choices: ['x86_64', 'x86_32'],
      default: 'x86_64',
      description: "The guest's architecture, for the pv-grub image.",
    },
    restore: {
      type: 'boolean',
      description:
        'Put the backups back: grub.cfg.orig over grub.cfg (with --strategy activate, IMAGE.mbr.orig over the MBR too; with pvgrub or offset, the domain config .orig).',
    },
    force: {
      type: 'boolean',
      description: 'Go on even when a running domain or another process uses the image. Dangerous.',
    },
  },
  transports: ['local', 'root', 'ssh'],
  examples: [
    '/srv/xen/vm01.img --dry-run',
    '/srv/xen/vm01.img --yes',
    '/dev/vg0/vm01-disk --xen-version 4.1 --dry-run --json',
    '/srv/xen/vm01.img --strategy pvgrub --domain-config /etc/xen/vm01.cfg --yes',
    '/srv/xen/vm01.img --xen-version 4.17.3 --strategy offset --domain-config /etc/xen/vm01.cfg --yes',
    '/srv/xen/vm01.img --xen-version 4.0.1 --strategy activate --yes',
    '/srv/xen/vm01.img --restore --yes',
    '/srv/xen/vm01.img --host root@dom0 --dry-run',
  ],
  state: () => /** @type {State} */ ({ image: '', version: parseXenVersion('old'), filesystems: [] }),
  async validate(ctx) {
    const strategy = ctx.opts.strategy;
    const needsConfig = strategy === 'pvgrub' || strategy === 'offset';
    if (needsConfig && !ctx.opts['domain-config']) {
      throw usage(`--strategy ${strategy} needs --domain-config FILE (the domain's xm/xl config)`);
    }
    if (!needsConfig && ctx.given.has('domain-config'))
      throw usage('--domain-config goes with --strategy pvgrub or --strategy offset');
    try {
      ctx.state.version = parseXenVersion(ctx.opts['xen-version']);
    } catch (e) {
      throw usage(e instanceof Error ? e.message : String(e));
    }
    const v = ctx.state.version;
    if (strategy === 'offset' && !v.group.options.includes('offset'))
      throw usage(
        `--strategy offset needs Xen ${firstReleaseWithOption('offset')} or later: the pygrub of ${versionLabel(v)} has no --offset`,
        'use --strategy pvgrub, or --strategy activate on Xen 4.0.x',
      );
    if (strategy === 'activate' && codeOf(v).partitions.fn !== 'get_fs_offset')
      throw usage(
        `--strategy activate is for Xen 4.0.x, whose pygrub reads only the active partition; the pygrub of ${versionLabel(v)} tries every primary partition`,
      );
    ctx.state.image = String(ctx.args.IMAGE);
    // The edit goes into --domain-config: it must be the configuration of the domain booting IMAGE.
    const config = ctx.opts['domain-config'];
    if (config) await checkDomainConfig(ctx.host, config, ctx.state.image, ctx.log);
  },
  steps: ({ step, fileStep }) => [
    step('check-image', {
      title: 'Check that nothing uses the image',
      async check(ctx) {
        const host = diskHost(ctx.host);
        await checkSshRun(ctx.host, { ...ctx.opts, image: ctx.state.image, write: !ctx.dryRun });
        const image = await ctx.host.resolve(ctx.state.image);
        const kind = await imageKind(image, ctx.state.image, host);
        ctx.state.image = image;
        // Held until the run ends: a second run on this image waits a little, then refuses.
        const lock = await lockOrRefuse(image, !ctx.dryRun, host);
        ctx.cleanup(() => lock.release());
        const { users, notes } = await imageUsers(ctx.$, image, kind, lock, host);
        for (const n of notes) ctx.log.detail(n);
        if (users.length && !ctx.opts.force) {
          throw refuse(
            `${image} is in use: ${users.join('; ')}`,
            'shut the domain down (xl shutdown -w NAME) and run again; --force only if you are sure nothing writes to it',
          );
        }
        for (const u of users) ctx.log.warn(`--force: going on although ${u}`);
        ctx.report.image = image;
        return ok(`${image}: ${kind}, not in use by a running domain or another process`);
      },
    }),

    step('read-partition-table', {
      title: 'Read the partition table',
      async check(ctx) {
        const source = await openHostSource(diskHost(ctx.host), ctx.state.image);
        ctx.cleanup(() => source.close());
        const table = await readTable(source, ctx.state.image, ctx.opts['sector-size']);
        ctx.state.table = table;
        ctx.state.source = source;
        for (const w of table.warnings) ctx.log.warn(w);
        for (const line of partitionLines(table)) ctx.log.info(line);
        ctx.report.table = tableReport(table);
        return ok(tableSummary(table));
      },
    }),

    step('find-boot-partition', {
      title: 'Find the boot config where pygrub looks for it',
      long: true,
      async check(ctx) {
        const { table, source } = tableOf(ctx.state);
        const version = ctx.state.version;
        const tried = await pygrubPartitionOffsets(source, codeOf(version).partitions);
        ctx.state.offsets = tried;
        ctx.report.pygrubOffsets = tried;
        ctx.log.info(offsetsLine(tried, version));
        // The partitions pygrub tries, in its order; then those it never tries.
        const parts = inSearchOrder(table, tried.offsets);
        ctx.state.filesystems.push(...(await filesystemsOf(source, parts)));
        const wanted = ctx.opts.partition;
        const candidates = ctx.state.filesystems.filter((c) => (wanted ? c.partition?.number === wanted : true));
        if (wanted && !candidates.length) throw usage(`there is no partition ${wanted} (see the table above)`);
        for (const c of candidates) {
          if (!readableBy(ctx.opts.backend, c.fs.kind)) continue;
          const fs = await guestFs.open(ctx, c, {
            image: ctx.state.image,
            backend: ctx.opts.backend,
            diskSize: table.diskSize,
            version,
          });
          const config = await guestFs.findConfigIn(fs, c, version);
          if (!config) {
            await fs.close();
            continue;
          }
          ctx.state.fs = fs;
          ctx.state.boot = { ...c, config, text: '' };
          ctx.report.boot = bootReport(c, config);
          return ok(`${partName(c)}, ${c.fs.kind}: ${config.path} (${configKindName(config.kind)})`);
        }
        ctx.report.boot = null;
        return ok('no partition pygrub can read holds a boot config (the diagnosis says why)');
      },
    }),

    step('read-boot-config', {
      title: 'Read the boot config',
      when: (ctx) => (ctx.state.boot ? true : 'no boot config found'),
      async check(ctx) {
        const { boot, fs } = bootOf(ctx.state);
        boot.text = await guestFs.readText(fs, boot);
        const lines = boot.text.split('\n').length - (boot.text.endsWith('\n') ? 1 : 0);
        return ok(`${boot.config.path}: ${lines} lines, ${boot.config.stat.size} bytes of text`);
      },
    }),

    step('diagnose', {
      title: 'Diagnose: every known cause, with its way out',
      async check(ctx) {
        const { version, filesystems, boot, fs, offsets } = ctx.state;
        const { table } = tableOf(ctx.state);
        const diagnosis = await diagnose({ version, table, filesystems, boot, fs, offsets });
        ctx.state.diagnosis = diagnosis;
        ctx.report.xen = findings.xenReport(version);
        const found = sortFindings(diagnosis.findings);
        ctx.report.findings = found;
        for (const x of found) ctx.log.info(findings.line(x));
        // An error the chosen strategy cannot fix stops the run before anything is changed.
        const strategy = ctx.opts.strategy;
        const blocking = findings.blocking(found, strategy);
        ctx.report.waysOut = findings.waysOut(found);
        if (blocking.length && !ctx.opts.restore) throw fail(findings.cannotFix(blocking, strategy));
        return ok(findings.summary(found, diagnosis.entries.length, version));
      },
    }),

    step('rewrite-config', {
      title: 'Rewrite what old pygrub cannot parse (grub.cfg.orig kept)',
      when: (ctx) =>
        ctx.opts.strategy === 'pvgrub'
          ? 'strategy is pvgrub'
          : ctx.opts.restore
            ? '--restore'
            : ctx.state.boot
              ? true
              : 'no boot config',
      async check(ctx) {
        const { boot } = bootOf(ctx.state);
        if (boot.config.kind === 'extlinux') return ok(`${boot.config.path} is an extlinux config: nothing to rewrite`);
        const r = rewriteForPygrub(boot.text, ctx.state.version, boot.config.kind);
        ctx.state.rewritten = r;
        ctx.report.changes = r.changes;
        if (!r.changes.length) return ok(`${boot.config.path} needs no rewrite`);
        const n = r.changes.length;
        return change(`rewrite ${n} line${n === 1 ? '' : 's'} of ${boot.config.path} in ${partName(boot)}`, {
          diff: unifiedDiff(boot.config.path, boot.text, r.text),
          data: r.text,
        });
      },
      async apply(ctx, c) {
        const { boot, fs } = bootOf(ctx.state);
        if (boot.fs.dirty && fs instanceof DebugfsFs) {
          throw refuse(
            `${partName(boot)} was not cleanly unmounted (or its journal needs recovery): debugfs would write around the journal`,
            'use --backend mount, which replays the journal, or let the guest check it',
          );
        }
        const now = await fs.readFile(boot.config.path, 1024 * 1024);
        if (now.toString('utf8') !== boot.text)
          throw fail(`${boot.config.path} changed while the playbook ran; nothing written, run it again`);
        const backup = await fs
          .replaceFile(boot.config.path, Buffer.from(c.data), { backup: true })
          .catch(guestFs.writeError);
        ctx.state.wrote = true;
        ctx.report.backup = backup ?? `${boot.config.path}.orig (kept from an earlier run)`;
        return `${boot.config.path} rewritten (backup: ${backup ?? `${boot.config.path}.orig, a regular file from an earlier run, kept`})`;
      },
    }),

    step('set-active-partition', {
      title: 'Mark the /boot partition active (Xen 4.0.x reads only that one; IMAGE.mbr.orig kept)',
      when: (ctx) =>
        ctx.opts.strategy !== 'activate'
          ? `strategy is ${ctx.opts.strategy}`
          : ctx.opts.restore || ctx.state.boot
            ? true
            : 'no boot config',
      /** @returns {Promise<import('xen-runbooks/engine').CheckResult<import('xen-runbooks/playbooks/pygrub-fix/mbr').ActivatePlan>>} */
      async check(ctx) {
        const image = ctx.state.image;
        const host = diskHost(ctx.host);
        const orig = `${image}.mbr.orig`;
        if (ctx.opts.restore) return mbr.planRestore(image, orig, host);
        const { boot } = bootOf(ctx.state);
        const { table, source } = tableOf(ctx.state);
        const p = boot.partition;
        if (!findings.activationNeeded(ctx.state.diagnosis?.findings ?? []))
          return ok(`the pygrub of ${versionLabel(ctx.state.version)} already reads ${partName(boot)}`);
        if (table.label !== 'dos' || p?.kind !== 'primary' || p.number > 4)
          throw fail(`${partName(boot)} is not a primary partition of an MBR disk: it cannot be marked active`);
        if (source.isBlockDevice)
          throw refuse(
            `${image} is a block device: the playbook marks partitions active only in image files`,
            `by hand: dd if=${image} of=/root/mbr.orig bs=512 count=1; sfdisk --activate ${image} ${p.number}`,
          );
        const now = await mbr.readSector(image, host);
        const want = mbr.withActiveFlag(now, p.number);
        ctx.report.activate = { partition: p.number, backup: orig, command: `sfdisk --activate ${image} ${p.number}` };
        return change(
          `mark partition ${p.number} active: sfdisk --activate ${image} ${p.number} (MBR kept as ${orig})`,
          {
            diff: unifiedDiff('MBR', mbr.listing(now), mbr.listing(want)),
            data: { number: p.number, want },
          },
        );
      },
      async apply(ctx, c) {
        const image = ctx.state.image;
        const host = diskHost(ctx.host);
        const orig = `${image}.mbr.orig`;
        if (ctx.opts.restore) {
          await mbr.restore(ctx.$, image, orig, host);
          return `MBR restored from ${orig}, ${orig} removed`;
        }
        const { number, want } = c.data;
        const before = await mbr.readSector(image, host);
        await mbr.saveOnce(ctx.$, orig, before, host);
        // sfdisk does the flag; a sector that is not exactly the one planned goes back as it was.
        await mbr.activate(ctx.$, image, number, before, want, host);
        ctx.state.activated = true;
        return `partition ${number} marked active (MBR backup: ${orig})`;
      },
    }),

    fileStep('set-pygrub-offset', {
      title: "Tell pygrub where /boot is: bootloader_args = ['--offset=N'] (Xen 4.4.0+)",
      when: (ctx) =>
        ctx.opts.strategy !== 'offset'
          ? `strategy is ${ctx.opts.strategy}`
          : ctx.opts.restore
            ? '--restore'
            : ctx.state.boot
              ? true
              : 'no boot config',
      file: (ctx) => String(ctx.opts['domain-config']),
      async edit(current, ctx) {
        if (current === undefined) throw usage(`${ctx.opts['domain-config']}: no such domain config`);
        const { boot } = bootOf(ctx.state);
        const loader = bootloaderOf(current);
        if (!loader || !/pygrub/.test(loader))
          ctx.log.warn(
            `${ctx.opts['domain-config']} ${loader ? `boots with ${loader}` : 'has no bootloader line'}: bootloader_args reach pygrub only with bootloader = "pygrub"`,
          );
        ctx.report.offset = offsetReport(boot);
        return setPygrubOffset(current, boot.offset);
      },
    }),

    fileStep('switch-to-pvgrub', {
      title: 'Boot the domain through pv-grub instead of pygrub',
      when: (ctx) => (ctx.opts.strategy !== 'pvgrub' ? 'strategy is rewrite' : ctx.opts.restore ? '--restore' : true),
      file: (ctx) => String(ctx.opts['domain-config']),
      async edit(current, ctx) {
        // That this is the config of the domain booting IMAGE was checked before any step (validate).
        if (current === undefined) throw usage(`${ctx.opts['domain-config']}: no such domain config`);
        const { flavour, kernel } = await findPvgrub((p) => ctx.host.exists(p), ctx.opts.arch, ctx.opts.pvgrub);
        const boot = ctx.state.boot;
        if (flavour === 'pv-grub-legacy' && !boot)
          throw fail('legacy PV-GRUB needs to be told where the config is, and none was found');
        const extra = boot ? pvgrubExtra(flavour, boot.partition?.number ?? null, boot.config.path) : undefined;
        ctx.report.pvgrub = { flavour, kernel, extra: extra ?? null };
        return switchToPvgrub(current, { kernel, extra });
      },
    }),

    step('restore-backups', {
      title: 'Put the backups back',
      when: (ctx) => (ctx.opts.restore ? true : 'no --restore'),
      /** @returns {Promise<import('xen-runbooks/engine').CheckResult<import('xen-runbooks/playbooks/pygrub-fix/state').RestorePlan>>} */
      async check(ctx) {
        const file = ctx.opts['domain-config'];
        if (ctx.opts.strategy === 'pvgrub' || ctx.opts.strategy === 'offset') {
          const orig = await ctx.host.readText(`${file}.orig`);
          if (orig === undefined) return skip(`${file}.orig does not exist: nothing to restore`);
          const edit = await ctx.planEdit(String(file), () => orig);
          return edit.changed
            ? change(`restore ${file} from ${file}.orig`, { diff: edit.diff, data: { edit } })
            : ok(`${file} already equals ${file}.orig`);
        }
        const { boot, fs } = ctx.state;
        if (!boot || !fs) return skip('no boot config found');
        const origPath = `${boot.config.path}.orig`;
        const orig = await guestFs.readBackup(fs, origPath);
        if (orig === undefined) return skip(`${origPath} does not exist: nothing to restore`);
        return change(`put ${origPath} back as ${boot.config.path}`, {
          diff: unifiedDiff(boot.config.path, boot.text, orig),
          data: { text: orig },
        });
      },
      async apply(ctx, c) {
        const plan = c.data;
        if ('edit' in plan) {
          await ctx.applyEdit(plan.edit, { backup: false });
          return `${ctx.opts['domain-config']} restored`;
        }
        const { boot, fs } = bootOf(ctx.state);
        // Each write is whole or rolled back; killed between the two, a second --restore finishes.
        await fs.replaceFile(boot.config.path, Buffer.from(plan.text), { backup: false }).catch(guestFs.writeError);
        await fs.removeFile(`${boot.config.path}.orig`).catch(guestFs.writeError);
        ctx.state.wrote = true;
        return `${boot.config.path} restored, ${boot.config.path}.orig removed`;
      },
    }),

    step('verify', {
      title: "Verify: the release's pygrub finds /boot and boots an entry, the filesystem is clean",
      when: (ctx) => (ctx.state.wrote || ctx.state.activated ? true : 'nothing was written to the image'),
      async check(ctx) {
        const { image, version, wrote, activated } = ctx.state;
        const { boot, fs } = bootOf(ctx.state);
        if (activated && !ctx.opts.restore) {
          await checkActiveFirst(image, version, boot, diskHost(ctx.host));
          if (!wrote) return ok(`the pygrub of ${versionLabel(version)} now reads ${partName(boot)}`);
        }
        if (ctx.opts.restore && !wrote) return ok('the MBR is back as it was');
        const text = (await fs.readFile(boot.config.path, 1024 * 1024)).toString('utf8');
        await checkClean(ctx.$, fs, boot);
        if (ctx.opts.restore) return ok(`${boot.config.path} is back as it was`);
        if (text !== ctx.state.rewritten?.text) throw fail(`${boot.config.path} does not read back as written`);
        const own = (ctx.report.hostPygrub = await hostPygrub(ctx.$, image, ctx.opts.strategy, boot));
        ctx.log[own.ok ? 'detail' : 'warn'](own.detail); // the host's own pygrub, which boots the guest there
        return ok(`${pygrubVerdict(text, boot.config.kind, version)}; the filesystem is clean`);
      },
    }),
  ],
  finish(ctx, outcomes) {
    const changed = outcomes.some(
      (o) =>
        (o.id === 'rewrite-config' || o.id === 'switch-to-pvgrub') &&
        (o.status === 'changed' || o.status === 'would-change'),
    );
    if (!changed) return;
    if (ctx.opts.strategy === 'rewrite') ctx.log.warn(findings.durableWaysOut(ctx.state.version));
    ctx.log.info(
      `next: start the domain (xl create ${ctx.opts['domain-config'] ?? 'vm01.cfg'}, or xm create with xend) and watch its console.`,
    );
  },
});

export default playbook;
await playbook.run();
