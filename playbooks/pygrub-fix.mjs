#!/usr/bin/env node
// @ts-check
/**
 * Fix "Boot loader didn't return any data!": find why pygrub cannot read a PV guest's disk
 * image and repair it: rewrite the GRUB 2 names old pygrub chokes on (grub.cfg.orig kept),
 * or switch the domain to pv-grub. Works on the image file or block device on this machine,
 * read in user space by debugfs unless --backend mount is asked for.
 */
import { stat as fsStat } from 'node:fs/promises';
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
  pygrubOffsets,
  detectFilesystem,
  isExt,
  DebugfsFs,
  MountFs,
  GuestFsError,
  PartitionTableError,
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
what can be fixed: --strategy rewrite (the default) rewrites only the lines old pygrub chokes on,
keeping grub.cfg.orig; --strategy pvgrub switches the domain's config to pv-grub instead. The image
is read in user space with debugfs at the partition's offset; nothing is mounted unless you ask for
--backend mount. Shut the guest down first: an image in use is refused.`,
  args: [
    {
      name: 'IMAGE',
      description: "The guest's disk image file or block device (e.g. /srv/xen/vm01.img, /dev/vg0/vm01-disk).",
    },
  ],
  options: {
    strategy: {
      type: 'enum',
      choices: ['rewrite', 'pvgrub'],
      default: 'rewrite',
      description:
        'rewrite: fix grub.cfg in the image (grub.cfg.orig kept). pvgrub: leave the image, boot the domain through pv-grub.',
    },
    'domain-config': {
      type: 'string',
      placeholder: 'FILE',
      description: "The domain's xm/xl config (e.g. /etc/xen/vm01.cfg): needed by --strategy pvgrub.",
    },
    'xen-version': {
      type: 'string',
      placeholder: 'VERSION',
      default: 'old',
      pattern: /^(old|\d+\.\d+(\.\d+)?)$/,
      patternHint: "a release such as 4.0, 4.1.2, 4.17, or 'old'",
      description:
        "The Xen whose pygrub will read the image (xl info | grep xen_version). 'old' assumes Xen 4.0, the strictest.",
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
      description: 'Put the backups back: grub.cfg.orig over grub.cfg (or the domain config .orig).',
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
    '/srv/xen/vm01.img --restore --yes',
  ],
  validate(ctx) {
    if (ctx.opts.strategy === 'pvgrub' && !ctx.opts['domain-config']) {
      throw usage("--strategy pvgrub needs --domain-config FILE (the domain's xm/xl config)");
    }
    if (ctx.opts.strategy !== 'pvgrub' && ctx.given.has('domain-config'))
      throw usage('--domain-config goes with --strategy pvgrub');
    ctx.state.version = parseXenVersion(ctx.opts['xen-version']);
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
        for (const loop of await loopDevicesOf(ctx.$, image)) users.push(`it is attached to ${loop} (losetup -j)`);
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
        // pygrub's order first (primary slots, active first), then the rest (logical partitions).
        const parts = table.label === 'none' ? [null] : table.partitions.filter((p) => p.kind !== 'extended');
        const order = pygrubOffsets(table);
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
          const config = await findConfig(fs).catch((e) => {
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
        f.diagnosis = await diagnose({ version, table, filesystems: f.filesystems, boot: f.boot, fs: f.fs });
        const findings = sortFindings(f.diagnosis.findings);
        ctx.report.findings = findings;
        for (const x of findings) ctx.log.info(`    ${x.severity === 'error' ? '✗' : '!'} [${x.id}] ${x.message}`);
        const strategy = /** @type {'rewrite' | 'pvgrub'} */ (ctx.opts.strategy);
        const blocking = findings.filter((x) => x.severity === 'error' && !x.strategies.includes(strategy));
        if (blocking.length && !ctx.opts.restore) {
          const ways = [...new Set(blocking.map((x) => x.id))].map((id) => `  [${id}] ${entry(id).fix}`).join('\n');
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
        ctx.opts.strategy !== 'rewrite'
          ? 'strategy is pvgrub'
          : ctx.opts.restore
            ? '--restore'
            : found(ctx).boot
              ? true
              : 'no boot config',
      async check(ctx) {
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        if (boot.config.kind !== 'grub2') return ok(`${boot.config.path} is not a GRUB 2 config: nothing to rewrite`);
        const r = rewriteForPygrub(boot.text, f.version);
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
        if (ctx.opts.strategy === 'pvgrub') {
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
        if (ctx.opts.strategy === 'pvgrub') {
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
      title: 'Verify: pygrub can parse the config, the filesystem is clean',
      when: (ctx) => (found(ctx).wrote ? true : 'nothing was written to the image'),
      async check(ctx) {
        const f = found(ctx);
        const boot = /** @type {import('xen-runbooks/grub').BootLocation} */ (f.boot);
        const fs = /** @type {import('xen-runbooks/disk').GuestFs} */ (f.fs);
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
        const model = modelPygrub(text, 'grub2', f.version);
        if (model.error) throw fail(`line ${model.error.line} still makes pygrub raise ${model.error.exception}`);
        return ok(`pygrub of ${versionLabel(f.version)} lists ${model.images.length} entries; the filesystem is clean`);
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
          '(--strategy pvgrub), upgrade the host to a Xen whose pygrub reads GRUB 2 names, or make the guest write legacy names (a custom script in /etc/grub.d).',
      );
    }
    ctx.log.info(
      `next: start the domain (xl create ${ctx.opts['domain-config'] ?? 'vm01.cfg'}, or xm create with xend) and watch its console.`,
    );
  },
});

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
