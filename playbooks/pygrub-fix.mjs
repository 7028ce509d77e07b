#!/usr/bin/env node
// @ts-check
/**
 * Fix "Boot loader didn't return any data!": find why pygrub cannot read a PV guest's disk
 * image and repair it: rewrite the GRUB 2 names old pygrub chokes on (grub.cfg.orig kept),
 * or switch the domain to pv-grub. Works on the image file or block device on this machine,
 * read in user space by debugfs unless --backend mount is asked for.
 */
import { stat as fsStat, readFile, writeFile, open as openFile } from 'node:fs/promises';
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
  unifiedDiff,
} from 'xen-runbooks/engine';
import {
  openSource,
  readPartitionTable,
  detectFilesystem,
  isExt,
  DebugfsFs,
  MountFs,
  GuestFsError,
  PartitionTableError,
  pygrubPartitionOffsets,
  domainsUsing,
  loopDevicesOf,
  processesHolding,
  blockDeviceBusy,
  lockImage,
  withoutLockers,
  ImageBusyError,
} from 'xen-runbooks/disk';
import {
  parseXenVersion,
  versionLabel,
  findConfig,
  readConfig,
  ConfigError,
  diagnose,
  sortFindings,
  partName,
  rewriteForPygrub,
  modelPygrub,
  switchToPvgrub,
  pvgrubExtra,
  domainDisks,
  entry,
  PVGRUB_CANDIDATES,
  codeOf,
  selectEntry,
  searchOrderOf,
  groupRange,
  strategyNeeds,
  firstReleaseWithOption,
  setPygrubOffset,
  bootloaderOf,
  LAST_RELEASE,
  FIRST_RELEASE,
} from 'xen-runbooks/grub';

/**
 * What the steps find, passed from one to the next.
 * @typedef {{
 *   image: string,
 *   source?: import('xen-runbooks/disk').BlockSource,
 *   table?: import('xen-runbooks/disk').PartitionTable,
 *   filesystems: import('xen-runbooks/grub').PartitionFs[],
 *   fs?: import('xen-runbooks/disk').GuestFs,
 *   boot?: import('xen-runbooks/grub').BootLocation,
 *   diagnosis?: import('xen-runbooks/grub').Diagnosis,
 *   rewritten?: import('xen-runbooks/grub').RewriteResult,
 *   wrote?: boolean,
 *   version: import('xen-runbooks/grub').XenVersion,
 *   offsets?: import('xen-runbooks/disk').PygrubOffsets,
 *   activated?: boolean,
 * }} Found
 */
/** @typedef {{ edit?: import('xen-runbooks/engine').FileEdit, text?: string }} RestoreData */
/** @param {{ state: Record<string, unknown> }} ctx @returns {Found} */
const found = (ctx) => /** @type {Found} */ (ctx.state);

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
any name: hard link, bind mount) is refused.`,
  args: [
    {
      name: 'IMAGE',
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
  transports: ['local', 'root'],
  examples: [
    '/srv/xen/vm01.img --dry-run',
    '/srv/xen/vm01.img --yes',
    '/dev/vg0/vm01-disk --xen-version 4.1 --dry-run --json',
    '/srv/xen/vm01.img --strategy pvgrub --domain-config /etc/xen/vm01.cfg --yes',
    '/srv/xen/vm01.img --xen-version 4.17.3 --strategy offset --domain-config /etc/xen/vm01.cfg --yes',
    '/srv/xen/vm01.img --xen-version 4.0.1 --strategy activate --yes',
    '/srv/xen/vm01.img --restore --yes',
  ],
  validate(ctx) {
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
      throw usage(/** @type {Error} */ (e).message);
    }
    const v = /** @type {import('xen-runbooks/grub').XenVersion} */ (ctx.state.version);
    if (strategy === 'offset' && !v.group.options.includes('offset'))
      throw usage(
        `--strategy offset needs Xen ${firstReleaseWithOption('offset')} or later: the pygrub of ${versionLabel(v)} has no --offset`,
        'use --strategy pvgrub, or --strategy activate on Xen 4.0.x',
      );
    if (strategy === 'activate' && codeOf(v).partitions.fn !== 'get_fs_offset')
      throw usage(
        `--strategy activate is for Xen 4.0.x, whose pygrub reads only the active partition; the pygrub of ${versionLabel(v)} tries every primary partition`,
      );
    ctx.state.image = ctx.args.IMAGE;
    ctx.state.filesystems = [];
  },
  steps: [
    step('check-image', {
      title: 'Check that nothing uses the image',
      async check(ctx) {
        const image = await ctx.host.resolve(found(ctx).image);
        const st = await fsStat(image).catch(() => undefined);
        if (!st) throw usage(`${found(ctx).image}: no such file or device`);
        if (!st.isFile() && !st.isBlockDevice())
          throw usage(`${found(ctx).image} is neither a regular file nor a block device`);
        found(ctx).image = image;
        // Held until the run ends: a second run on this image waits a little, then refuses.
        try {
          const lock = await lockImage(image, { exclusive: !ctx.dryRun, waitSeconds: 5 });
          ctx.cleanup(() => lock.release());
        } catch (e) {
          if (e instanceof ImageBusyError)
            throw refuse(e.message, 'another pygrub-fix run is working on this image: let it finish, then run again');
          throw e;
        }
        const users = [];
        const { uses, notes } = await domainsUsing(ctx.$, image);
        for (const n of notes) ctx.log.detail(n);
        for (const u of uses) users.push(`domain ${u.domain} has it as a disk (${u.tool} list -l: ${u.target})`);
        for (const loop of await loopDevicesOf(ctx.$, image))
          users.push(`it is attached to ${loop} (its backing file, by device and inode)`);
        // Runs holding or waiting for the lock coordinate through it; they are not users.
        for (const p of await withoutLockers(image, await processesHolding(image)))
          users.push(`process ${p.pid} (${p.command}) has it open`);
        if (st.isBlockDevice() && (await blockDeviceBusy(image)))
          users.push('the kernel holds the device (an exclusive open fails: mounted or in use)');
        if (users.length && !ctx.opts.force) {
          throw refuse(
            `${image} is in use: ${users.join('; ')}`,
            'shut the domain down (xl shutdown -w NAME) and run again; --force only if you are sure nothing writes to it',
          );
        }
        for (const u of users) ctx.log.warn(`--force: going on although ${u}`);
        ctx.report.image = image;
        return ok(
          `${image}: ${st.isBlockDevice() ? 'block device' : 'image file'}, not in use by a running domain or another process`,
        );
      },
    }),

    step('read-partition-table', {
      title: 'Read the partition table',
      async check(ctx) {
        const f = found(ctx);
        const source = await openSource(f.image);
        ctx.cleanup(() => source.close());
        const size = ctx.opts['sector-size'];
        try {
          f.table = await readPartitionTable(
            source,
            size === 'auto' ? {} : { sectorSize: size === '4096' ? 4096 : 512 },
          );
        } catch (e) {
          if (e instanceof PartitionTableError) throw usage(`${f.image}: ${e.message}`);
          throw e;
        }
        f.source = source;
        const t = f.table;
        for (const w of t.warnings) ctx.log.warn(w);
        for (const p of t.partitions) {
          ctx.log.info(
            `    ${String(p.number).padStart(3)}  ${p.kind.padEnd(8)} start ${String(p.start).padStart(10)}  offset ${String(p.offset).padStart(14)}  ${p.typeName}`,
          );
        }
        ctx.report.table = {
          label: t.label,
          sectorSize: t.sectorSize,
          diskSize: t.diskSize,
          id: t.id,
          partitions: t.partitions,
        };
        return ok(
          t.label === 'none'
            ? 'no partition table: one filesystem on the whole disk'
            : `${t.label}, ${t.sectorSize}-byte sectors, ${t.partitions.length} partitions`,
        );
      },
    }),

    step('find-boot-partition', {
      title: 'Find the boot config where pygrub looks for it',
      long: true,
      async check(ctx) {
        const f = found(ctx);
        const table = /** @type {import('xen-runbooks/disk').PartitionTable} */ (f.table);
        const source = /** @type {import('xen-runbooks/disk').BlockSource} */ (f.source);
        // The release's own order first (its get_fs_offset / get_partition_offsets), then the
        // partitions it never tries (logical ones, and on 4.0.x all but the active one).
        const parts = table.label === 'none' ? [null] : table.partitions.filter((p) => p.kind !== 'extended');
        const tried = await pygrubPartitionOffsets(source, codeOf(f.version).partitions);
        f.offsets = tried;
        const order = tried.offsets;
        ctx.report.pygrubOffsets = tried;
        ctx.log.info(
          tried.status === 'exception'
            ? `    the pygrub of ${versionLabel(f.version)} raises ${tried.type}: ${tried.msg} before it opens any partition`
            : `    the pygrub of ${versionLabel(f.version)} tries offset${order.length === 1 ? '' : 's'} ${[...new Set(order)].slice(0, 8).join(', ') || '(none)'}`,
        );
        parts.sort((a, b) => rank(order, a?.offset ?? 0) - rank(order, b?.offset ?? 0));
        for (const partition of parts) {
          const offset = partition?.offset ?? 0;
          f.filesystems.push({ partition, offset, fs: await detectFilesystem(source, offset) });
        }
        const wanted = /** @type {number | undefined} */ (ctx.opts.partition);
        const candidates = f.filesystems.filter((c) => (wanted ? c.partition?.number === wanted : true));
        if (wanted && !candidates.length) throw usage(`there is no partition ${wanted} (see the table above)`);
        for (const c of candidates) {
          const readable =
            ctx.opts.backend === 'mount'
              ? c.fs.kind !== 'lvm2' && c.fs.kind !== 'swap' && c.fs.kind !== 'unknown'
              : isExt(c.fs.kind);
          if (!readable) continue;
          const fs = await openGuestFs(ctx, c);
          const config = await findConfig(fs, searchOrderOf(f.version)).catch((e) => {
            if (e instanceof GuestFsError) throw usage(`${partName(c)}: ${e.message}`);
            throw e;
          });
          if (!config) {
            await fs.close();
            continue;
          }
          f.fs = fs;
          f.boot = { ...c, config, text: '' };
          const p = c.partition;
          ctx.report.boot = {
            partition: p?.number ?? null,
            offset: c.offset,
            filesystem: c.fs.kind,
            config: config.path,
            kind: config.kind,
          };
          return ok(
            `${partName(c)}, ${c.fs.kind}: ${config.path} (${config.kind === 'grub2' ? 'GRUB 2' : config.kind === 'grub-legacy' ? 'GRUB legacy' : 'extlinux'})`,
          );
        }
        ctx.report.boot = null;
        return ok('no partition pygrub can read holds a boot config (the diagnosis says why)');
      },
    }),

    step('read-boot-config', {
      title: 'Read the boot config',
      when: (ctx) => (found(ctx).boot ? true : 'no boot config found'),
      async check(ctx) {
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const fs = /** @type {import('xen-runbooks/disk').GuestFs} */ (f.fs);
        try {
          boot.text = await readConfig(fs, boot.config);
        } catch (e) {
          if (e instanceof ConfigError || e instanceof GuestFsError) throw usage(`${partName(boot)}: ${e.message}`);
          throw e;
        }
        const lines = boot.text.split('\n').length - (boot.text.endsWith('\n') ? 1 : 0);
        return ok(`${boot.config.path}: ${lines} lines, ${boot.config.stat.size} bytes of text`);
      },
    }),

    step('diagnose', {
      title: 'Diagnose: every known cause, with its way out',
      async check(ctx) {
        const f = found(ctx);
        const version = f.version;
        const table = /** @type {import('xen-runbooks/disk').PartitionTable} */ (f.table);
        f.diagnosis = await diagnose({
          version,
          table,
          filesystems: f.filesystems,
          boot: f.boot,
          fs: f.fs,
          offsets: f.offsets,
        });
        ctx.report.xen = {
          given: version.text,
          release: version.release,
          group: version.group.id,
          releases: groupRange(version.group),
          offsetOption: version.group.options.includes('offset'),
        };
        const findings = sortFindings(f.diagnosis.findings);
        ctx.report.findings = findings;
        for (const x of findings) ctx.log.info(`    ${x.severity === 'error' ? '✗' : '!'} [${x.id}] ${x.message}`);
        const strategy = /** @type {import('xen-runbooks/grub').Strategy} */ (ctx.opts.strategy);
        // activate and offset run the rewrite too, for what the config needs besides.
        const resolves = (/** @type {import('xen-runbooks/grub').Finding} */ x) =>
          x.strategies.includes(strategy) || (strategy !== 'pvgrub' && x.strategies.includes('rewrite'));
        const blocking = findings.filter((x) => x.severity === 'error' && !resolves(x));
        ctx.report.waysOut = [...new Set(findings.flatMap((x) => x.strategies))].map((w) => ({
          strategy: w,
          needs: strategyNeeds(w),
        }));
        if (blocking.length && !ctx.opts.restore) {
          const ways = [...new Set(blocking.map((x) => x.id))]
            .map((id) => {
              const here = blocking.find((x) => x.id === id)?.strategies ?? [];
              const use = here.length
                ? ` (here: ${here.map((w) => `--strategy ${w}, ${strategyNeeds(w)}`).join('; ')})`
                : '';
              return `  [${id}] ${entry(id).fix}${use}`;
            })
            .join('\n');
          throw fail(
            `${blocking.length} problem${blocking.length === 1 ? '' : 's'} that --strategy ${strategy} cannot fix; nothing was changed. Ways out:\n${ways}`,
          );
        }
        const errors = findings.filter((x) => x.severity === 'error').length;
        if (!findings.length)
          return ok(`the pygrub of ${versionLabel(version)} reads this image: ${f.diagnosis.entries.length} entries`);
        return ok(
          `${errors} problem${errors === 1 ? '' : 's'} for pygrub of ${versionLabel(version)}, ${findings.length - errors} warning${findings.length - errors === 1 ? '' : 's'}`,
        );
      },
    }),

    step('rewrite-config', {
      title: 'Rewrite what old pygrub cannot parse (grub.cfg.orig kept)',
      when: (ctx) =>
        ctx.opts.strategy === 'pvgrub'
          ? 'strategy is pvgrub'
          : ctx.opts.restore
            ? '--restore'
            : found(ctx).boot
              ? true
              : 'no boot config',
      async check(ctx) {
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        if (boot.config.kind === 'extlinux') return ok(`${boot.config.path} is an extlinux config: nothing to rewrite`);
        const r = rewriteForPygrub(boot.text, f.version, boot.config.kind);
        f.rewritten = r;
        ctx.report.changes = r.changes;
        if (!r.changes.length) return ok(`${boot.config.path} needs no rewrite`);
        const n = r.changes.length;
        return change(`rewrite ${n} line${n === 1 ? '' : 's'} of ${boot.config.path} in ${partName(boot)}`, {
          diff: unifiedDiff(boot.config.path, boot.text, r.text),
        });
      },
      async apply(ctx) {
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const fs = /** @type {import('xen-runbooks/disk').GuestFs} */ (f.fs);
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
          .replaceFile(
            boot.config.path,
            Buffer.from(/** @type {import('xen-runbooks/grub').RewriteResult} */ (f.rewritten).text),
            { backup: true },
          )
          .catch(writeError);
        f.wrote = true;
        ctx.report.backup = backup ?? `${boot.config.path}.orig (kept from an earlier run)`;
        return `${boot.config.path} rewritten (backup: ${backup ?? `${boot.config.path}.orig, a regular file from an earlier run, kept`})`;
      },
    }),

    step('set-active-partition', {
      title: 'Mark the /boot partition active (Xen 4.0.x reads only that one; IMAGE.mbr.orig kept)',
      when: (ctx) =>
        ctx.opts.strategy !== 'activate'
          ? `strategy is ${ctx.opts.strategy}`
          : ctx.opts.restore || found(ctx).boot
            ? true
            : 'no boot config',
      async check(ctx) {
        const f = found(ctx);
        const image = f.image;
        const orig = `${image}.mbr.orig`;
        if (ctx.opts.restore) {
          const saved = await readFile(orig).catch(() => undefined);
          if (!saved) return skip(`${orig} does not exist: nothing to restore`);
          if (saved.length !== 512) throw fail(`${orig} is ${saved.length} bytes, not one 512-byte sector`);
          const now = await readSector(image);
          if (now.equals(saved)) return ok(`the MBR already equals ${orig}`);
          return change(`put the MBR sector of ${orig} back into ${image}`, {
            diff: unifiedDiff('MBR', mbrListing(now), mbrListing(saved)),
          });
        }
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const table = /** @type {import('xen-runbooks/disk').PartitionTable} */ (f.table);
        const needed = (f.diagnosis?.findings ?? []).some(
          (x) => (x.id === 'boot-not-tried' || x.id === 'partition-raises') && x.strategies.includes('activate'),
        );
        const p = boot.partition;
        if (!needed) return ok(`the pygrub of ${versionLabel(f.version)} already reads ${partName(boot)}`);
        if (table.label !== 'dos' || p?.kind !== 'primary' || p.number > 4)
          throw fail(`${partName(boot)} is not a primary partition of an MBR disk: it cannot be marked active`);
        if (f.source?.isBlockDevice)
          throw refuse(
            `${image} is a block device: the playbook marks partitions active only in image files`,
            `by hand: dd if=${image} of=/root/mbr.orig bs=512 count=1; sfdisk --activate ${image} ${p.number}`,
          );
        const now = await readSector(image);
        const want = Buffer.from(now);
        for (let i = 0; i < 4; i++) want[446 + 16 * i] = i === p.number - 1 ? 0x80 : 0;
        ctx.report.activate = { partition: p.number, backup: orig, command: `sfdisk --activate ${image} ${p.number}` };
        return change(
          `mark partition ${p.number} active: sfdisk --activate ${image} ${p.number} (MBR kept as ${orig})`,
          {
            diff: unifiedDiff('MBR', mbrListing(now), mbrListing(want)),
            data: { number: p.number, want },
          },
        );
      },
      async apply(ctx, c) {
        const f = found(ctx);
        const image = f.image;
        const orig = `${image}.mbr.orig`;
        if (ctx.opts.restore) {
          const saved = await readFile(orig);
          await writeSector(image, saved);
          if (!(await readSector(image)).equals(saved)) throw fail(`the MBR of ${image} does not read back as ${orig}`);
          await ctx.$`rm -f -- ${orig}`;
          return `MBR restored from ${orig}, ${orig} removed`;
        }
        const { number, want } = /** @type {{ number: number, want: Buffer }} */ (c.data);
        const before = await readSector(image);
        if (!(await fsStat(orig).catch(() => undefined))) {
          await writeFile(`${orig}.tmp`, before, { flag: 'wx' });
          await ctx.$`mv -- ${`${orig}.tmp`} ${orig}`;
        }
        const r = await ctx.$({ nothrow: true })`sfdisk --activate ${image} ${number}`;
        const after = await readSector(image);
        if (r.exitCode !== 0 || !after.equals(want)) {
          // sfdisk changed something else, or failed half-way: the sector goes back as it was.
          await writeSector(image, before);
          throw fail(
            `sfdisk --activate ${image} ${number} ${r.exitCode !== 0 ? `failed (exit ${r.exitCode}): ${r.stderr.trim()}` : 'changed more than the boot flags'}; the MBR was put back`,
          );
        }
        f.activated = true;
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
            : found(ctx).boot
              ? true
              : 'no boot config',
      file: (ctx) => /** @type {string} */ (ctx.opts['domain-config']),
      async edit(current, ctx) {
        if (current === undefined) throw usage(`${ctx.opts['domain-config']}: no such domain config`);
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const loader = bootloaderOf(current);
        if (!loader || !/pygrub/.test(loader))
          ctx.log.warn(
            `${ctx.opts['domain-config']} ${loader ? `boots with ${loader}` : 'has no bootloader line'}: bootloader_args reach pygrub only with bootloader = "pygrub"`,
          );
        ctx.report.offset = {
          offset: boot.offset,
          partition: boot.partition?.number ?? null,
          xl: `bootloader_args = ['--offset=${boot.offset}']`,
          xe: `xe vm-param-set uuid=VM PV-bootloader-args="--offset=${boot.offset}"`,
        };
        return setPygrubOffset(current, boot.offset);
      },
    }),

    fileStep('switch-to-pvgrub', {
      title: 'Boot the domain through pv-grub instead of pygrub',
      when: (ctx) => (ctx.opts.strategy !== 'pvgrub' ? 'strategy is rewrite' : ctx.opts.restore ? '--restore' : true),
      file: (ctx) => /** @type {string} */ (ctx.opts['domain-config']),
      async edit(current, ctx) {
        if (current === undefined) throw usage(`${ctx.opts['domain-config']}: no such domain config`);
        const f = found(ctx);
        const disks = domainDisks(current);
        const given = String(ctx.args.IMAGE);
        if (disks.length && !disks.some((d) => d.includes(given) || d.includes(f.image))) {
          ctx.log.warn(
            `${ctx.opts['domain-config']} names disks ${disks.join(', ')}, not ${given}: is it the right domain?`,
          );
        }
        const { flavour, kernel } = await findPvgrub(ctx);
        const boot = f.boot;
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
      async check(ctx) {
        const f = found(ctx);
        if (ctx.opts.strategy === 'pvgrub' || ctx.opts.strategy === 'offset') {
          const file = /** @type {string} */ (ctx.opts['domain-config']);
          const orig = await ctx.host.readText(`${file}.orig`);
          if (orig === undefined) return skip(`${file}.orig does not exist: nothing to restore`);
          const edit = await ctx.planEdit(file, () => orig);
          return edit.changed
            ? change(`restore ${file} from ${file}.orig`, {
                diff: edit.diff,
                data: /** @type {RestoreData} */ ({ edit }),
              })
            : ok(`${file} already equals ${file}.orig`);
        }
        const boot = f.boot;
        if (!boot || !f.fs) return skip('no boot config found');
        const origPath = `${boot.config.path}.orig`;
        const st = await f.fs.stat(origPath);
        if (!st) return skip(`${origPath} does not exist: nothing to restore`);
        if (st.type !== 'file')
          throw refuse(`${origPath} is a ${st.type === 'dir' ? 'directory' : st.type}, not a backup: nothing restored`);
        const orig = (await f.fs.readFile(origPath, 1024 * 1024)).toString('utf8');
        return change(`put ${origPath} back as ${boot.config.path}`, {
          diff: unifiedDiff(boot.config.path, boot.text, orig),
          data: /** @type {RestoreData} */ ({ text: orig }),
        });
      },
      async apply(ctx, c) {
        const f = found(ctx);
        if (ctx.opts.strategy === 'pvgrub' || ctx.opts.strategy === 'offset') {
          await ctx.applyEdit(/** @type {import('xen-runbooks/engine').FileEdit} */ (c.data?.edit), { backup: false });
          return `${ctx.opts['domain-config']} restored`;
        }
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const fs = /** @type {import('xen-runbooks/disk').GuestFs} */ (f.fs);
        // Each write is whole or rolled back; killed between the two, a second --restore finishes.
        await fs
          .replaceFile(boot.config.path, Buffer.from(/** @type {string} */ (c.data?.text)), { backup: false })
          .catch(writeError);
        await fs.removeFile(`${boot.config.path}.orig`).catch(writeError);
        f.wrote = true;
        return `${boot.config.path} restored, ${boot.config.path}.orig removed`;
      },
    }),

    step('verify', {
      title: "Verify: the release's pygrub finds /boot and boots an entry, the filesystem is clean",
      when: (ctx) => (found(ctx).wrote || found(ctx).activated ? true : 'nothing was written to the image'),
      async check(ctx) {
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const fs = /** @type {import('xen-runbooks/disk').GuestFs} */ (f.fs);
        if (f.activated && !ctx.opts.restore) {
          const source = await openSource(f.image);
          const tried = await pygrubPartitionOffsets(source, codeOf(f.version).partitions).finally(() =>
            source.close(),
          );
          if (tried.status !== 'ok' || tried.offsets[0] !== boot.offset)
            throw fail(
              `after the active flag, the pygrub of ${versionLabel(f.version)} still does not read ${partName(boot)} first (${tried.status === 'ok' ? `offsets ${tried.offsets.join(', ')}` : tried.msg}); ${f.image}.mbr.orig holds the old MBR`,
            );
          if (!f.wrote) return ok(`the pygrub of ${versionLabel(f.version)} now reads ${partName(boot)}`);
        }
        if (ctx.opts.restore && !f.wrote) return ok('the MBR is back as it was');
        const text = (await fs.readFile(boot.config.path, 1024 * 1024)).toString('utf8');
        if (fs instanceof DebugfsFs) {
          const fsck = await ctx.$({ nothrow: true })`e2fsck -fn ${fs.device}`;
          if (fsck.exitCode !== 0)
            throw fail(
              `e2fsck -fn finds ${partName(boot)} damaged after the write (exit ${fsck.exitCode}); ${boot.config.path}.orig holds the old config`,
            );
        }
        if (ctx.opts.restore) return ok(`${boot.config.path} is back as it was`);
        const expected = /** @type {import('xen-runbooks/grub').RewriteResult} */ (f.rewritten).text;
        if (text !== expected) throw fail(`${boot.config.path} does not read back as written`);
        const model = modelPygrub(text, boot.config.kind, f.version);
        if (model.error) throw fail(`line ${model.error.line} still makes pygrub raise ${model.error.exception}`);
        const sel = selectEntry(model, f.version);
        if (sel.status !== 'ok')
          throw fail(
            `the pygrub of ${versionLabel(f.version)} reads the config but run_grub raises ${sel.error?.exception}`,
          );
        return ok(
          `the pygrub of ${versionLabel(f.version)} lists ${model.images.length} entries and boots entry ${sel.index} (${sel.kernel}); the filesystem is clean`,
        );
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
    if (ctx.opts.strategy === 'rewrite') {
      ctx.log.warn(
        "the guest's next update-grub (every kernel update runs it) writes (hd0,msdos1) again. Durable ways out: boot through pv-grub " +
          `(--strategy pvgrub), upgrade the host (msdos names: ${entry('grub2-partition-name').xen}; submenus: ${entry('grub2-submenu').xen}; ` +
          `\${saved_entry}/\${next_entry}: ${entry('grub2-default-variable').xen} fail), or change the guest: GRUB_DEFAULT=0 in /etc/default/grub, ` +
          'a custom script in /etc/grub.d that writes legacy names.',
      );
    }
    ctx.log.info(
      `next: start the domain (xl create ${ctx.opts['domain-config'] ?? 'vm01.cfg'}, or xm create with xend) and watch its console.`,
    );
  },
});

/** The first 512 bytes of the image. @param {string} image */
async function readSector(image) {
  const fh = await openFile(image, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead !== 512) throw fail(`${image} is shorter than one sector`);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Write one 512-byte sector at the start of the image, synced. @param {string} image @param {Buffer} sector */
async function writeSector(image, sector) {
  const fh = await openFile(image, 'r+');
  try {
    await fh.write(sector, 0, 512, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The MBR's four slots as text, for the diff of the active flag. @param {Buffer} mbr */
function mbrListing(mbr) {
  const out = [];
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(446 + 16 * i, 462 + 16 * i);
    if (e.readUInt32LE(8) === 0 && e[4] === 0) continue;
    out.push(
      `slot ${i + 1}: type ${(e[4] ?? 0).toString(16)} start ${e.readUInt32LE(8)}${e[0] === 0x80 ? ' active' : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** @param {number[]} order @param {number} offset */
function rank(order, offset) {
  const i = order.indexOf(offset);
  return i === -1 ? order.length : i;
}

/**
 * The backend the administrator chose, over one partition.
 * @param {import('xen-runbooks/engine').Context<any>} ctx
 * @param {import('xen-runbooks/grub').PartitionFs} c
 * @returns {Promise<import('xen-runbooks/disk').GuestFs>}
 */
async function openGuestFs(ctx, c) {
  const image = found(ctx).image;
  if (isExt(c.fs.kind)) await rollBackInterrupted(ctx, new DebugfsFs(ctx.$, image, c.offset), c);
  if (ctx.opts.backend === 'debugfs') {
    const fs = new DebugfsFs(ctx.$, image, c.offset);
    const damaged =
      'a garbage or half-written filesystem: repair a copy of the image first (e2fsck -f), or look at it in the guest';
    try {
      await fs.probe();
    } catch (e) {
      if (e instanceof GuestFsError) throw usage(`${partName(c)}: ${e.message}`, damaged);
      throw e;
    }
    // e2fsck -n never writes; a filesystem it does not find clean is not one to read or write.
    const fsck = await ctx.$({ nothrow: true })`e2fsck -fn ${fs.device}`;
    if (fsck.exitCode !== 0) {
      const why = `${fsck.stdout}\n${fsck.stderr}`
        .split('\n')
        .filter((l) => /error|corrupt|invalid|bad|\?|wrong/i.test(l))
        .slice(0, 2)
        .join('; ');
      throw usage(
        `${partName(c)}: e2fsck -fn finds the ${c.fs.kind} filesystem damaged (exit ${fsck.exitCode})${why ? `: ${why}` : ''}`,
        damaged,
      );
    }
    return fs;
  }
  const table = /** @type {import('xen-runbooks/disk').PartitionTable} */ (found(ctx).table);
  const bytes = c.partition ? c.partition.bytes : table.diskSize;
  const type = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat'].includes(c.fs.kind) ? c.fs.kind : undefined;
  const fs = new MountFs(ctx.$, image, c.offset, bytes, type, (fn) => ctx.cleanup(fn));
  try {
    await fs.open();
  } catch (e) {
    if (e instanceof GuestFsError) throw usage(`${partName(c)}: ${e.message}`);
    throw e;
  }
  return fs;
}

/**
 * An earlier run killed while writing into this filesystem left undo records next to the image
 * (or under /var/lib/xen-runbooks/undo): replay them before anything is read, so the filesystem
 * is as it was before that run.
 * @param {import('xen-runbooks/engine').Context<any>} ctx
 * @param {import('xen-runbooks/disk').DebugfsFs} fs
 * @param {import('xen-runbooks/grub').PartitionFs} c
 */
async function rollBackInterrupted(ctx, fs, c) {
  try {
    const r = await fs.recover({ dryRun: ctx.dryRun });
    if (r.action === 'none') return;
    if (ctx.dryRun)
      throw refuse(
        `${partName(c)}: an earlier run was interrupted while writing (${r.detail})`,
        'run without --dry-run: it rolls the interrupted write back first, then plans as usual',
      );
    ctx.log.warn(`${partName(c)}: ${r.detail}`);
  } catch (e) {
    if (e instanceof GuestFsError) throw refuse(`${partName(c)}: ${e.message}`);
    throw e;
  }
}

/**
 * A write into the image that did not happen: refused before writing (exit 3) or failed and
 * rolled back (exit 1). Either way the filesystem is as it was.
 * @param {unknown} e
 * @returns {never}
 */
function writeError(e) {
  if (e instanceof GuestFsError) {
    if (['no-space', 'unsafe', 'read-only', 'undo', 'bad-path', 'not-file'].includes(e.code)) throw refuse(e.message);
    throw fail(e.message);
  }
  throw e;
}

/**
 * Which pv-grub this host has.
 * @param {import('xen-runbooks/engine').Context<any>} ctx
 * @returns {Promise<{ flavour: import('xen-runbooks/grub').PvgrubFlavour, kernel: string }>}
 */
async function findPvgrub(ctx) {
  const arch = /** @type {import('xen-runbooks/grub').GuestArch} */ (ctx.opts.arch);
  /** @type {import('xen-runbooks/grub').PvgrubFlavour[]} */
  const flavours =
    ctx.opts.pvgrub === 'legacy'
      ? ['pv-grub-legacy']
      : ctx.opts.pvgrub === 'pvgrub2'
        ? ['pvgrub2']
        : ['pvgrub2', 'pv-grub-legacy'];
  for (const flavour of flavours) {
    for (const kernel of PVGRUB_CANDIDATES[arch][flavour]) {
      if (await ctx.host.exists(kernel)) return { flavour, kernel };
    }
  }
  throw fail(
    `no ${flavours.join(' or ')} image for ${arch} on this host`,
    'install one: apt-get install grub-xen-host (PVGRUB2), or the pv-grub package of your Xen build',
  );
}

await playbook.run();
