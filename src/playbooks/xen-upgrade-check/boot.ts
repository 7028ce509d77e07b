/**
 * The boot path of a guest under the target: for pygrub guests, the disk image read as that
 * release's pygrub reads it (the same partition search, config search, parser and checks as
 * pygrub-fix: src/grub/diagnose.ts over src/disk/), without mounting; for kernel= guests, the
 * kernel and ramdisk on the host that will start them (and whether its domain builder can
 * decompress the kernel); for HVM guests, the firmware and device model the config names.
 */
import path from 'node:path';
import type { CommandFn, Transport } from '../../engine/index.js';
import {
  DebugfsFs,
  isExt,
  openSource,
  pygrubPartitionOffsets,
  readPartitionTable,
  type BlockSource,
  type GuestFs,
} from '../../disk/index.js';
import {
  CATALOGUE,
  CHANGES,
  codeOf,
  detectKernel,
  diagnose,
  findConfig,
  KERNEL_HEAD_BYTES,
  partName,
  readConfig,
  searchOrderOf,
  strategyFits,
  versionBelow,
  type BootLocation,
  type Finding,
  type PartitionFs,
  type Strategy,
  type XenVersion,
} from '../../grub/index.js';
import { filesystemsOf, inSearchOrder } from '../pygrub-fix/boot-search.js';
import { parseDiskSpec, type XlConfig } from '../../xen/xlcfg.js';
import type { BootKind, Reason } from './verdict.js';
import type { Target } from './target.js';

/** How the domain boots, from its config. */
export function bootKind(cfg: XlConfig): BootKind {
  const type = cfg.get('type');
  if (cfg.get('builder') === 'hvm' || type === 'hvm') return 'hvm';
  if (type === 'pvh') return 'pvh';
  const bl = cfg.get('bootloader');
  if (typeof bl === 'string' && bl) return path.basename(bl) === 'pygrub' ? 'pygrub' : 'bootloader';
  if (cfg.has('kernel')) return 'kernel';
  return 'unknown';
}

/** The first disk's target (what pygrub reads), as a host path. */
export function firstDiskTarget(cfg: XlConfig): string | undefined {
  const disks = cfg.get('disk');
  const first = Array.isArray(disks) ? disks[0] : disks;
  if (typeof first !== 'string') return undefined;
  try {
    return parseDiskSpec(first).target;
  } catch {
    return undefined;
  }
}

export interface Hosts {
  /** The host the guests are on now (their configs and images). */
  here: Transport;
  /** The host that will start them: the new host, or this one after an upgrade in place. */
  there: Transport;
  /** Whether `there` is another host (--to-host). */
  moved: boolean;
}

const PYGRUB_FIX =
  'src/grub/diagnose.ts diagnose (pygrub-fix’s model of the release’s pygrub: src/grub/pygrub-model.ts, src/grub/pygrub-releases.ts)';

/** The strategy of pygrub-fix that resolves every blocking finding on the target, if one does. */
export function strategyFor(findings: readonly Finding[], v: XenVersion): Strategy | undefined {
  const errors = findings.filter((f) => f.severity === 'error');
  const order: Strategy[] = ['rewrite', 'activate', 'offset', 'pvgrub'];
  return order.find((s) => strategyFits(s, v) && errors.every((f) => f.strategies.includes(s)));
}

/** pygrub-fix's command line for the way out. */
export function pygrubFixCommand(image: string, v: XenVersion, strategy: Strategy, config: string): string {
  const domain = strategy === 'offset' || strategy === 'pvgrub' ? ` --domain-config ${config}` : '';
  return `pygrub-fix ${image} --xen-version ${v.release} --strategy ${strategy}${domain} --dry-run`;
}

/** What pygrub of the target release makes of the guest's first disk. */
export async function checkPygrubImage(
  $: CommandFn,
  image: string,
  shown: string,
  v: XenVersion,
  config: string,
): Promise<Reason[]> {
  let source: BlockSource;
  try {
    source = await openSource(image);
  } catch (e) {
    return [
      {
        id: 'image-unreadable',
        severity: 'unknown',
        message: `the first disk ${shown} cannot be read here: ${(e as Error).message}`,
        source: 'src/disk/source.ts openSource',
        wayOut: `run the check where ${shown} is, as root`,
      },
    ];
  }
  const opened: GuestFs[] = [];
  try {
    const table = await readPartitionTable(source);
    const offsets = await pygrubPartitionOffsets(source, codeOf(v).partitions);
    const filesystems: PartitionFs[] = await filesystemsOf(source, inSearchOrder(table, offsets.offsets));
    let boot: BootLocation | undefined;
    let fs: GuestFs | undefined;
    for (const c of filesystems) {
      if (!isExt(c.fs.kind)) continue;
      const candidate = new DebugfsFs($, image, c.offset);
      opened.push(candidate);
      const found = await findConfig(candidate, searchOrderOf(v)).catch(() => undefined);
      if (!found) continue;
      boot = { ...c, config: found, text: await readConfig(candidate, found) };
      fs = candidate;
      break;
    }
    const d = await diagnose({ version: v, table, filesystems, boot, fs, offsets });
    const errors = d.findings.filter((f) => f.severity === 'error');
    const strategy = strategyFor(d.findings, v);
    const way = strategy ? pygrubFixCommand(shown, v, strategy, config) : undefined;
    const where = boot ? `${partName(boot)}: ${boot.config.path}` : shown;
    const reasons: Reason[] = d.findings.map((f) => ({
      id: f.id,
      severity: f.severity === 'error' ? 'blocks' : 'note',
      message: `${where}: ${f.message}`,
      source: `src/grub/catalogue.ts ${f.id}; ${PYGRUB_FIX}`,
      ...(f.severity === 'error'
        ? { wayOut: way ?? CATALOGUE.find((c) => c.id === f.id)?.fix ?? 'see pygrub-fix --help' }
        : {}),
    }));
    if (!errors.length && boot) {
      const entry = d.entries[d.defaultEntry];
      reasons.unshift({
        id: 'pygrub-boots',
        severity: 'note',
        message: `${where}: the pygrub of ${v.release} boots ${entry ? `'${entry.title}' (${entry.kernel})` : 'the default entry'}`,
        source: PYGRUB_FIX,
      });
    }
    return reasons;
  } catch (e) {
    return [
      {
        id: 'image-unreadable',
        severity: 'unknown',
        message: `${shown}: ${(e as Error).message}`,
        source: 'src/disk/partitions.ts readPartitionTable',
        wayOut: `pygrub-fix ${shown} --xen-version ${v.release} --dry-run`,
      },
    ];
  } finally {
    for (const f of opened) await f.close().catch(() => undefined);
    await source.close();
  }
}

/** Debian and Ubuntu install each release's tools under /usr/lib/xen-X.Y/: the release a path names. */
export function releaseDirOf(p: string): string | undefined {
  return /\/usr\/lib(?:exec)?\/xen-(\d+\.\d+)\//.exec(p)?.[1];
}

/** A file the target will open (a bootloader, a kernel, firmware): is it on the host that starts the guest? */
export async function fileOnTarget(
  hosts: Hosts,
  target: Target,
  p: string,
  what: string,
  key: string,
  line: number | undefined,
): Promise<Reason | undefined> {
  const at = line ? { line } : {};
  const mm = `${target.version.major}.${target.version.minor}`;
  const dir = releaseDirOf(p);
  const present = await hosts.there.exists(p).catch(() => false);
  if (present) {
    if (dir && dir !== mm && !hosts.moved)
      return {
        id: 'path-other-release',
        severity: 'unknown',
        message: `${key} = "${p}": the ${what} of the Xen ${dir} packages; it is here now, but an upgrade to ${mm} replaces /usr/lib/xen-${dir}`,
        source: 'Debian packaging: xen-utils-X.Y installs under /usr/lib/xen-X.Y/',
        wayOut: `${key} = "${p.replace(`/xen-${dir}/`, `/xen-${mm}/`)}"`,
        ...at,
      };
    return undefined;
  }
  return {
    id: `${key}-missing`,
    severity: 'blocks',
    message: `${key} = "${p}": the ${what} is not on ${hosts.moved ? 'the new host' : 'this host'}`,
    source: 'libxl opens it when the domain is built (libxl_bootloader.c, libxl_dom.c, libxl_dm.c)',
    wayOut:
      dir && dir !== mm
        ? `${key} = "${p.replace(`/xen-${dir}/`, `/xen-${mm}/`)}"`
        : `install it there, or point ${key}= at it`,
    ...at,
  };
}

/** Can the target's domain builder decompress this kernel? (src/grub/version.ts CHANGES) */
export async function kernelReasons(hosts: Hosts, target: Target, p: string): Promise<Reason[]> {
  const data = await hosts.there.readFile(p).catch(() => undefined);
  if (!data) return [];
  const k = detectKernel(data.subarray(0, KERNEL_HEAD_BYTES));
  const since = (CHANGES as Record<string, string | undefined>)[k.compression];
  if (!since || !versionBelow(target.version, since)) return [];
  return [
    {
      id: 'kernel-compression',
      severity: 'blocks',
      message: `kernel ${p} is compressed with ${k.compression}: the domain builder of ${target.version.release} cannot decompress it (from ${since})`,
      source: 'src/grub/version.ts CHANGES (xc_dom_bzimageloader.c, per release)',
      wayOut: 'a kernel compressed with gzip, or keep the guest on a newer release',
    },
  ];
}
