/**
 * The guest's boot filesystem, read and written with the backend the administrator chose:
 * debugfs in user space (the default) or losetup + mount. Damage and interrupted writes are
 * found before anything is read; a write that cannot happen says whether it was refused or failed.
 */
import { fail, refuse, usage, type CommandFn, type Logger, type Transport } from '../../engine/index.js';
import { DebugfsFs, diskHost, GuestFsError, isExt, MountFs, type GuestFs } from '../../disk/index.js';
import {
  ConfigError,
  findConfig,
  partName,
  readConfig,
  type BootLocation,
  type FoundConfig,
  type PartitionFs,
  type XenVersion,
  searchOrderOf,
} from '../../grub/index.js';

/** What opening a guest filesystem needs from the run. */
export interface FsRun {
  readonly $: CommandFn;
  readonly dryRun: boolean;
  readonly log: Logger;
  /** The run's host: this machine, --root's tree, or a host over ssh where debugfs then runs. */
  readonly host?: Transport;
  cleanup(fn: () => Promise<void> | void): void;
}

export interface OpenFsOptions {
  image: string;
  backend: 'debugfs' | 'mount';
  /** The disk's size in bytes: the mount's size limit for a disk without a partition table. */
  diskSize: number;
  /** The release whose pygrub will look for a config here: debugfs looks up its places as it opens. */
  version?: XenVersion;
}

const DAMAGED =
  'a garbage or half-written filesystem: repair a copy of the image first (e2fsck -f), or look at it in the guest';

/** The backend the administrator chose, over one partition; an interrupted earlier write is rolled back first. */
export async function open(run: FsRun, c: PartitionFs, o: OpenFsOptions): Promise<GuestFs> {
  const host = diskHost(run.host);
  if (isExt(c.fs.kind)) await rollBackInterrupted(run, new DebugfsFs(run.$, o.image, c.offset, undefined, host), c);
  if (o.backend === 'debugfs') {
    const fs = new DebugfsFs(run.$, o.image, c.offset, undefined, host);
    try {
      await fs.probe(o.version ? searchOrderOf(o.version).map((c) => c.path) : []);
    } catch (e) {
      if (e instanceof GuestFsError) throw usage(`${partName(c)}: ${e.message}`, DAMAGED);
      throw e;
    }
    // e2fsck -n never writes; a filesystem it does not find clean is not one to write. It reads the
    // whole filesystem (minutes for a large root filesystem holding /boot): a dry run, which writes
    // nothing, leaves it to the run that writes, and says so.
    if (run.dryRun) {
      run.log.info(`    ${partName(c)}: its health (e2fsck -fn) is checked by the run that writes, before it writes`);
      return fs;
    }
    const fsck = await run.$({ nothrow: true })`e2fsck -fn ${fs.device}`;
    if (fsck.exitCode !== 0) {
      const why = `${fsck.stdout}\n${fsck.stderr}`
        .split('\n')
        .filter((l) => /error|corrupt|invalid|bad|\?|wrong/i.test(l))
        .slice(0, 2)
        .join('; ');
      throw usage(
        `${partName(c)}: e2fsck -fn finds the ${c.fs.kind} filesystem damaged (exit ${fsck.exitCode})${why ? `: ${why}` : ''}`,
        DAMAGED,
      );
    }
    return fs;
  }
  const bytes = c.partition ? c.partition.bytes : o.diskSize;
  const type = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat'].includes(c.fs.kind) ? c.fs.kind : undefined;
  const fs = new MountFs(run.$, o.image, c.offset, bytes, type, (fn) => run.cleanup(fn));
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
 * is as it was before that run. Under --dry-run nothing is replayed: the run is refused.
 */
export async function rollBackInterrupted(run: FsRun, fs: DebugfsFs, c: PartitionFs): Promise<void> {
  try {
    const r = await fs.recover({ dryRun: run.dryRun });
    if (r.action === 'none') return;
    if (run.dryRun)
      throw refuse(
        `${partName(c)}: an earlier run was interrupted while writing (${r.detail})`,
        'run without --dry-run: it rolls the interrupted write back first, then plans as usual',
      );
    run.log.warn(`${partName(c)}: ${r.detail}`);
  } catch (e) {
    if (e instanceof GuestFsError) throw refuse(`${partName(c)}: ${e.message}`);
    throw e;
  }
}

/** The boot config the release's pygrub would read in this filesystem, if any. */
export async function findConfigIn(fs: GuestFs, c: PartitionFs, version: XenVersion): Promise<FoundConfig | undefined> {
  return findConfig(fs, searchOrderOf(version)).catch((e: unknown) => {
    if (e instanceof GuestFsError) throw usage(`${partName(c)}: ${e.message}`);
    throw e;
  });
}

/** The boot config's text; a config that cannot be read (a link out, too big, binary) is bad input. */
export async function readText(fs: GuestFs, boot: BootLocation): Promise<string> {
  try {
    return await readConfig(fs, boot.config);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof GuestFsError) throw usage(`${partName(boot)}: ${e.message}`);
    throw e;
  }
}

/** The errors of a write that did not reach the disk: the filesystem is as it was. */
const REFUSED = ['no-space', 'unsafe', 'read-only', 'undo', 'bad-path', 'not-file'];

/**
 * A write into the image that did not happen: refused before writing (exit 3) or failed and
 * rolled back (exit 1). Either way the filesystem is as it was.
 */
export function writeError(e: unknown): never {
  if (e instanceof GuestFsError) {
    if (REFUSED.includes(e.code)) throw refuse(e.message);
    throw fail(e.message);
  }
  throw e;
}

/** The text of a backup (grub.cfg.orig) that is a regular file, undefined when there is none. */
export async function readBackup(fs: GuestFs, origPath: string): Promise<string | undefined> {
  const st = await fs.stat(origPath);
  if (!st) return undefined;
  if (st.type !== 'file')
    throw refuse(`${origPath} is a ${st.type === 'dir' ? 'directory' : st.type}, not a backup: nothing restored`);
  return (await fs.readFile(origPath, 1024 * 1024)).toString('utf8');
}
