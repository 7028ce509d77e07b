/**
 * Replacing one file inside a guest's ext2/3/4 filesystem with debugfs, so that whatever happens
 * (a full filesystem, a hostile layout, debugfs or the whole run killed at any write) the file
 * ends either as it was or replaced, with the original kept in FILE.orig.
 *
 * 1. Checks before anything is written: the file is a regular file in a real directory (no
 *    symlink on the way), FILE.orig is absent or a regular file, the filesystem has the blocks
 *    and the inode the new file needs, the image can be opened for writing.
 * 2. The new contents go to a temporary name in the same directory (one debugfs session, every
 *    command checked before the next, under an undo record), then are read back by a fresh
 *    debugfs and compared byte for byte.
 * 3. A second session makes FILE.orig a hard link to the original (the first time only) and
 *    gives the new inode the file's name. A failure in a session rolls it back with e2undo
 *    before the error is reported; a run killed in one leaves its record for the next run.
 */
import path from 'node:path';
import type { CommandFn } from '../engine/index.js';
import { DebugfsSession, dq } from './debugfs-session.js';
import { GuestFsError, checkGuestPath } from './guestfs-error.js';
import { assertWritable, diskHost, scratchWith, statFollow, takeFile, type DiskHost } from './host-io.js';
import {
  clearUndo,
  readSuperblock,
  recoverUndo,
  superIdentity,
  parseSuperIdentity,
  type SuperIdentity,
  undoPlace,
  writeIntent,
  type Intent,
  type UndoPlace,
} from './undo.js';

export interface WriteTarget {
  readonly $: CommandFn;
  readonly image: string;
  readonly offset: number;
  /** `IMAGE?offset=N` */
  readonly device: string;
  /** Where block devices keep their undo records (default /var/lib/xen-runbooks/undo). */
  readonly stateDir?: string;
  /** The host the image is on: this machine when not given, or a host over ssh. */
  readonly host?: DiskHost;
  stat(p: string): Promise<GuestStatLike | undefined>;
  /** Several lstat()s in one go, when the backend can. */
  statMany?(paths: readonly string[]): Promise<(GuestStatLike | undefined)[]>;
  readFile(p: string, limit: number): Promise<Buffer>;
}

interface GuestStatLike {
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

/** A name inside a directory, for debugfs commands run in that directory. */
function checkName(n: string): string {
  if (n === '' || n === '.' || n === '..' || n.includes('/') || /["\\\u0000-\u001f\u007f]/.test(n))
    throw new GuestFsError(`bad file name ${JSON.stringify(n)}`, 'bad-path');
  return n;
}

/** The temporary name the new contents are written under (fixed: an interrupted run's is found). */
export const tempName = (name: string) => `.${name}.xr-new`;

/** Whether an image is a block device, asked once per host and path (one round trip over ssh). */
const blockDevice = new Map<string, boolean>();

export async function undoPlaceOf(t: WriteTarget): Promise<UndoPlace> {
  const key = `${diskHost(t.host).label}\0${t.image}`;
  let isBlock = blockDevice.get(key);
  if (isBlock === undefined) {
    const st = await statFollow(diskHost(t.host), t.image);
    if (!st) throw new GuestFsError(`${t.image} does not exist`, 'open');
    blockDevice.set(key, (isBlock = st.type === 'block'));
  }
  return undoPlace(t.image, t.offset, isBlock, t.stateDir);
}

/**
 * Read files back with a fresh, read-only debugfs (one process): each `dump`ed to a host file and
 * compared byte for byte; each of `absent` must not exist.
 */
async function readBack(
  t: WriteTarget,
  host: string,
  expect: { guest: string; data: Buffer }[],
  absent: string[] = [],
): Promise<void> {
  const h = diskHost(t.host);
  const s = await DebugfsSession.open({ device: t.device, write: false, host: h });
  try {
    for (const [i, e] of expect.entries()) {
      const out = path.posix.join(host, `back-${i}`);
      await s.run(`dump ${dq(checkGuestPath(e.guest))} ${dq(out)}`);
      const got = await takeFile(h, out);
      if (!got.equals(e.data))
        throw new GuestFsError(
          `${e.guest} does not read back as written (${got.length} of ${e.data.length} bytes)`,
          'write',
        );
    }
    for (const a of absent) {
      const r = await s.run(`stat ${dq(checkGuestPath(a))}`).then(
        () => 'there',
        (err: Error) => err.message,
      );
      if (!/File not found by ext2_lookup/.test(r)) throw new GuestFsError(`${a} is still there`, 'write');
    }
  } finally {
    await s.close().catch(() => s.kill());
  }
}

/** Roll back what an interrupted earlier run left (see undo.ts). */
export async function recoverInterrupted(t: WriteTarget, opts: { dryRun?: boolean } = {}) {
  return recoverUndo(t.$, t, await undoPlaceOf(t), opts);
}

/** Free blocks, free inodes and block size, from the superblock (`stats -h`). */
export async function freeSpace(
  t: WriteTarget,
): Promise<{ blockSize: number; freeBlocks: number; freeInodes: number; identity: SuperIdentity }> {
  const r = await t.$({ nothrow: true })`debugfs -c -R ${'stats -h'} ${t.device}`;
  const num = (label: string) => Number(new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
  const out = {
    blockSize: num('Block size'),
    freeBlocks: num('Free blocks'),
    freeInodes: num('Free inodes'),
    identity: parseSuperIdentity(r.stdout),
  };
  if (![out.blockSize, out.freeBlocks, out.freeInodes].every(Number.isFinite))
    throw new GuestFsError(`debugfs could not read the free space of ${t.device}`, 'io');
  return out;
}

/**
 * Blocks a new file of `bytes` may take: its data, its block map (ext2/3 indirect blocks, or
 * an extent block), and one more block for each of the two directory entries it may add.
 */
export function blocksNeeded(bytes: number, blockSize: number): number {
  const data = Math.ceil(bytes / blockSize);
  const perBlock = blockSize / 4;
  const indirect = data > 12 ? 1 + Math.ceil((data - 12) / perBlock) + (data - 12 > perBlock ? 1 : 0) : 0;
  return data + Math.max(indirect, 1) + 2;
}

/** lstat of several guest paths, in one debugfs run when the backend can. */
async function statAll(t: WriteTarget, paths: string[]): Promise<(GuestStatLike | undefined)[]> {
  if (t.statMany) return t.statMany(paths);
  const out: (GuestStatLike | undefined)[] = [];
  for (const p of paths) out.push(await t.stat(p));
  return out;
}

/** Every component of a guest directory must be a real directory: no symlink is followed to write. */
function assertRealDirectory(dir: string, stats: (GuestStatLike | undefined)[]): void {
  const parts = dir.split('/').filter(Boolean);
  let at = '';
  parts.forEach((part, i) => {
    at += `/${part}`;
    const st = stats[i];
    if (st?.type === 'symlink')
      throw new GuestFsError(
        `${at} is a symbolic link inside the guest: writing through it is refused (nothing was written); point the tool at the real directory`,
        'unsafe',
      );
    if (st?.type !== 'dir') throw new GuestFsError(`${at} is not a directory in the guest filesystem`, 'unsafe');
  });
}

/** The directories on the way to `dir`: /a, /a/b, … */
const ancestors = (dir: string) =>
  dir
    .split('/')
    .filter(Boolean)
    .map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`);

interface Plan {
  dir: string;
  name: string;
  tmp: string;
  mode: number;
  uid: number;
  gid: number;
  makeBackup: boolean;
  before: Buffer | undefined;
  leftover: boolean;
  /** The superblock's identity fields, read with the free space. */
  identity: SuperIdentity;
}

/** The checks of step 1; returns what the write will do. */
async function plan(t: WriteTarget, p: string, data: Buffer, backup: boolean): Promise<Plan> {
  checkGuestPath(p);
  const dir = path.posix.dirname(p);
  const name = checkName(path.posix.basename(p));
  const tmp = tempName(name);
  const dirs = ancestors(dir);
  const sts = await statAll(t, [...dirs, p, `${p}.orig`, path.posix.join(dir, tmp)]);
  assertRealDirectory(dir, sts);
  const [st, orig, left] = sts.slice(dirs.length);
  if (!st) throw new GuestFsError(`${p} does not exist in the guest filesystem`, 'not-found');
  if (st.type !== 'file') throw new GuestFsError(`${p} is a ${st.type}, not a regular file: refused`, 'unsafe');
  if (orig && orig.type !== 'file')
    throw new GuestFsError(
      `${p}.orig exists and is a ${orig.type === 'dir' ? 'directory' : orig.type}, not a backup: move it away, then run again (nothing was written)`,
      'unsafe',
    );
  if (left && left.type !== 'file')
    throw new GuestFsError(`${path.posix.join(dir, tmp)} exists and is not a regular file: move it away`, 'unsafe');
  const makeBackup = backup && !orig;
  const before = makeBackup ? await t.readFile(p, Math.max(st.size, 1)) : undefined;
  const free = await freeSpace(t);
  const need = blocksNeeded(data.length, free.blockSize);
  if (free.freeBlocks < need || free.freeInodes < 1) {
    throw new GuestFsError(
      `the guest filesystem is too full to write ${p} safely: it needs ${need} free blocks and 1 free inode, it has ${free.freeBlocks} and ${free.freeInodes} (nothing was written; free some space in the guest, or use --strategy pvgrub)`,
      'no-space',
    );
  }
  await assertWritable(diskHost(t.host), t.image);
  return {
    dir,
    name,
    tmp,
    mode: 0o100000 | (st.mode & 0o7777),
    uid: st.uid,
    gid: st.gid,
    makeBackup,
    before,
    leftover: !!left,
    identity: free.identity,
  };
}

/** Runs a list of debugfs commands in one read-write session under the write's undo records. */
type SessionRunner = (commands: string[]) => Promise<void>;

/**
 * A write made of debugfs sessions, each under its own undo record (debugfs -z cannot append to
 * a record of a filesystem at an offset: undo_io.c opens the record, try_reopen_undo_file, before
 * the offset option is applied, and says "Wrong undo file for this filesystem"). The commands of
 * a session run one by one, each checked. Any failure (a command, debugfs's close, a check of
 * `body`) stops debugfs and replays every record of this write, newest first: the filesystem is
 * as before the write. The records are dropped only when `body` has returned.
 */
async function underUndo<T>(
  t: WriteTarget,
  what: string,
  body: (session: SessionRunner) => Promise<T>,
  known?: SuperIdentity,
): Promise<T> {
  const h = diskHost(t.host);
  const place = await undoPlaceOf(t);
  // Records of an interrupted run go first (the playbook rolls them back before reading anything).
  await recoverUndo(t.$, t, place);
  const before = known ?? (await superIdentity(t.$, t.device));
  const intent: Intent = {
    image: path.posix.resolve(t.image),
    offset: t.offset,
    what,
    before,
    superblock: (await readSuperblock(t.image, t.offset, h)).toString('base64'),
    sessions: 0,
  };
  let current: DebugfsSession | undefined;
  const session: SessionRunner = async (commands) => {
    intent.sessions += 1;
    await writeIntent(place, intent, h);
    current = await DebugfsSession.open({
      device: t.device,
      write: true,
      undoFile: place.record(intent.sessions),
      host: h,
    });
    for (const c of commands) await current.run(c);
    await current.close();
    current = undefined;
  };
  let result: T;
  try {
    await writeIntent(place, intent, h);
    result = await body(session);
  } catch (e) {
    if (current) {
      current.kill();
      await current.ended();
    }
    try {
      await recoverUndo(t.$, t, place);
    } catch (undoErr) {
      throw new GuestFsError(`${(e as Error).message}; then ${(undoErr as Error).message}`, 'undo');
    }
    if (e instanceof GuestFsError)
      throw new GuestFsError(`${e.message} (rolled back: the filesystem is as it was)`, e.code);
    throw e;
  }
  await clearUndo(place, 8, h);
  return result;
}

/**
 * Replace the regular file `p` with `data`, keeping its mode and owner; with `backup`, FILE.orig
 * is made (a hard link to the original) unless it exists. Returns the backup's path when made.
 */
export async function replaceGuestFile(
  t: WriteTarget,
  p: string,
  data: Buffer,
  opts: { backup: boolean },
): Promise<string | undefined> {
  const pl = await plan(t, p, data, opts.backup);
  const tmpPath = path.posix.join(pl.dir, pl.tmp);
  // A private directory on the host with the new contents in it, as `new`.
  const scratch = await scratchWith(diskHost(t.host), 'xr-debugfs-', 'new', data);
  const host = scratch.dir;
  try {
    const newFile = path.posix.join(host, 'new');
    await underUndo(
      t,
      `replace ${p}`,
      async (session) => {
        // Session 1: the new contents under the temporary name, read back before anything else.
        await session([
          `cd ${dq(pl.dir)}`,
          ...(pl.leftover ? [`rm ${dq(pl.tmp)}`] : []),
          `write ${dq(newFile)} ${dq(pl.tmp)}`,
          `set_inode_field ${dq(pl.tmp)} mode 0${pl.mode.toString(8)}`,
          `set_inode_field ${dq(pl.tmp)} uid ${pl.uid}`,
          `set_inode_field ${dq(pl.tmp)} gid ${pl.gid}`,
        ]);
        await readBack(t, host, [{ guest: tmpPath, data }]);
        // Session 2: FILE.orig (a second name for the original inode), then the new inode takes the name.
        const swap = pl.makeBackup
          ? [`ln ${dq(pl.name)} ${dq(`${pl.name}.orig`)}`, `unlink ${dq(pl.name)}`]
          : [`rm ${dq(pl.name)}`];
        await session([`cd ${dq(pl.dir)}`, ...swap, `ln ${dq(pl.tmp)} ${dq(pl.name)}`, `unlink ${dq(pl.tmp)}`]);
        await readBack(
          t,
          host,
          [{ guest: p, data }, ...(pl.before ? [{ guest: `${p}.orig`, data: pl.before }] : [])],
          [tmpPath],
        );
      },
      pl.identity,
    );
  } finally {
    await scratch.remove();
  }
  return pl.makeBackup ? `${p}.orig` : undefined;
}

/** Remove a regular file (under an undo record, like every write). */
export async function removeGuestFile(t: WriteTarget, p: string): Promise<void> {
  checkGuestPath(p);
  const dir = path.posix.dirname(p);
  const name = checkName(path.posix.basename(p));
  const dirs = ancestors(dir);
  const sts = await statAll(t, [...dirs, p]);
  assertRealDirectory(dir, sts);
  const st = sts[dirs.length];
  if (!st) return;
  if (st.type !== 'file') throw new GuestFsError(`${p} is a ${st.type}, not a regular file: refused`, 'unsafe');
  await assertWritable(diskHost(t.host), t.image);
  await underUndo(t, `remove ${p}`, async (session) => {
    await session([`cd ${dq(dir)}`, `rm ${dq(name)}`]);
    if (await t.stat(p)) throw new GuestFsError(`${p} is still there after rm`, 'write');
  });
}
