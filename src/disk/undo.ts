/**
 * The undo record of a write into a guest filesystem, with e2fsprogs' own mechanism:
 * `debugfs -z FILE` saves the old contents of every block before overwriting it, and `e2undo`
 * puts them back. The record lives at a known place (next to an image file; under
 * /var/lib/xen-runbooks/undo for a block device) so that the next run finds it.
 *
 * What the record guarantees, read in e2fsprogs 1.47.0 lib/ext2fs/undo_io.c: undo_write_tdb()
 * writes the saved block, its key and the header (write_undo_indexes) before the filesystem block
 * is written, so a process killed at any point leaves a record covering every block it changed.
 * A kill before the first header write leaves a file e2undo calls "Not an undo file": then no
 * filesystem block had been written. A kill after the last filesystem write but before the
 * record is closed leaves a superblock that no longer matches the record's copy: e2undo refuses
 * it without -f (misc/e2undo.c, check_filesystem). The record is not a guard against power loss:
 * undo_io.c does not sync it before each filesystem write (e2undo(8): "cannot be used to recover
 * from a power or system crash").
 *
 * Beside the record, an intent file says whose it is and what the superblock said before the
 * write (mount count, last mount, last check). The next run rolls back only when those still
 * match: a filesystem mounted or checked since is not one to replay old blocks over.
 */
import path from 'node:path';
import type { CommandFn } from '../engine/index.js';
import { GuestFsError } from './guestfs-error.js';
import { diskHost, existing, isRemote, readBytesAt, syncDirectory, writeBytesAt, type DiskHost } from './host-io.js';

export interface UndoPlace {
  /** Whose records they are (JSON). */
  intent: string;
  /** The e2undo record of the k-th debugfs session of the write (1, 2, …). */
  record(k: number): string;
}

/** Where the undo records of a write into IMAGE at OFFSET live. */
export function undoPlace(image: string, offset: number, isBlockDevice: boolean, stateDir?: string): UndoPlace {
  const abs = path.resolve(image);
  const dir = isBlockDevice ? (stateDir ?? '/var/lib/xen-runbooks/undo') : path.dirname(abs);
  const base = isBlockDevice ? abs.replace(/^\//, '').replace(/\//g, '_') : path.basename(abs);
  const prefix = path.join(dir, `${base}.${offset}`);
  return { intent: `${prefix}.e2undo.json`, record: (k) => `${prefix}.${k}.e2undo` };
}

/** The superblock fields that change when anything else mounts or checks the filesystem. */
export interface SuperIdentity {
  uuid: string;
  mountCount: string;
  lastMount: string;
  lastCheck: string;
  state: string;
}

export interface Intent {
  image: string;
  offset: number;
  what: string;
  before: SuperIdentity;
  /**
   * The primary superblock as it was before the write (base64 of the 1024 bytes at offset+1024).
   * debugfs writes superblock fields with write_byte, and the undo manager saves the wrong block
   * for those when the filesystem is at an offset: undo_io.c, undo_write_byte adds data->offset
   * to the location and undo_write_tdb adds it again (e2fsprogs 1.47.0, unchanged on master).
   * So the record misses the primary superblock of a partition, and the rollback puts it back.
   */
  superblock: string;
  /** How many debugfs sessions have started (each with its own record: debugfs -z cannot
   * reopen a record of a filesystem at an offset, see recoverUndo). */
  sessions: number;
}

export function parseSuperIdentity(stats: string): SuperIdentity {
  const f = (label: string) => new RegExp(`^${label}:\\s*(.*)$`, 'm').exec(stats)?.[1]?.trim() ?? '';
  return {
    uuid: f('Filesystem UUID'),
    mountCount: f('Mount count'),
    lastMount: f('Last mount time'),
    lastCheck: f('Last checked'),
    state: f('Filesystem state'),
  };
}

/** Write the intent file (synced, with its directory) before debugfs -z starts. */
export async function writeIntent(place: UndoPlace, intent: Intent, host?: DiskHost): Promise<void> {
  const h = diskHost(host);
  if (isRemote(h)) {
    // One round trip: the directory, the file written aside and synced, renamed, synced again.
    const script =
      'umask 077; mkdir -p -- "$(dirname -- "$1")" && cat > "$1.new" && sync && mv -f -- "$1.new" "$1" && sync';
    await h.exec(['sh', '-c', script, 'sh', place.intent], { input: `${JSON.stringify(intent, null, 2)}\n` });
    return;
  }
  await h.mkdir(path.posix.dirname(place.intent));
  await h.writeFileAtomic(place.intent, `${JSON.stringify(intent, null, 2)}\n`, { mode: 0o600 });
  await syncDirectory(h, path.posix.dirname(place.intent));
}

/** The primary superblock's bytes (1024 at offset + 1024), read from the image. */
export async function readSuperblock(image: string, offset: number, host?: DiskHost): Promise<Buffer> {
  const b = await readBytesAt(diskHost(host), image, offset + 1024, 1024);
  if (b.length !== 1024) throw new GuestFsError(`cannot read the superblock of ${image} at offset ${offset}`, 'io');
  return b;
}

async function writeSuperblock(image: string, offset: number, bytes: Buffer, host: DiskHost): Promise<void> {
  await writeBytesAt(host, image, offset + 1024, bytes);
}

/** Records that exist, newest first. */
async function records(
  place: UndoPlace,
  upTo: number,
  h: DiskHost,
): Promise<{ k: number; file: string }[] & { intent?: boolean }> {
  const all = [...Array(upTo).keys()].map((i) => ({ k: upTo - i, file: place.record(upTo - i) }));
  // One look for the records and the intent beside them (one round trip over ssh).
  const there = await existing(h, [...all.map((r) => r.file), place.intent]);
  return Object.assign(
    all.filter((r) => there.has(r.file)),
    { intent: there.has(place.intent) },
  );
}

/** Drop the records once the write they cover is complete (or rolled back): records first. */
export async function clearUndo(place: UndoPlace, sessions = 8, host?: DiskHost): Promise<void> {
  const h = diskHost(host);
  if (isRemote(h)) {
    const files = [...Array(sessions).keys()].map((i) => place.record(sessions - i));
    await h.exec(['sh', '-c', 'rm -f -- "$@" && sync', 'sh', ...files, `${place.intent}.new`, place.intent]);
    return;
  }
  for (const r of await records(place, sessions, h)) await h.remove(r.file);
  await h.remove(`${place.intent}.new`);
  await h.remove(place.intent);
  await syncDirectory(h, path.posix.dirname(place.intent)).catch(() => undefined);
}

export interface Recovery {
  action: 'none' | 'discarded' | 'rolled-back';
  detail: string;
}

/** What the filesystem's superblock says now (`debugfs -c -R 'stats -h'`). */
export async function superIdentity($: CommandFn, device: string): Promise<SuperIdentity> {
  const r = await $({ nothrow: true })`debugfs -c -R ${'stats -h'} ${device}`;
  const id = parseSuperIdentity(r.stdout);
  if (!id.uuid) throw new GuestFsError(`debugfs cannot read the superblock of ${device}`, 'open');
  return id;
}

const sameFs = (a: SuperIdentity, b: SuperIdentity) =>
  a.uuid === b.uuid && a.mountCount === b.mountCount && a.lastMount === b.lastMount && a.lastCheck === b.lastCheck;

/**
 * Find the records an interrupted run left and undo what it wrote, newest session first, so that
 * the filesystem is as it was before that run. `dryRun` only says what would be done.
 */
export async function recoverUndo(
  $: CommandFn,
  target: { image: string; offset: number; device: string; host?: DiskHost },
  place: UndoPlace,
  opts: { dryRun?: boolean } = {},
): Promise<Recovery> {
  const h = diskHost(target.host);
  const found = await records(place, 8, h);
  const hasIntent = found.intent === true;
  if (!found.length && !hasIntent) return { action: 'none', detail: 'no undo record' };
  if (!hasIntent) {
    throw new GuestFsError(
      `${(found[0] as { file: string }).file} exists but nothing says which run made it: look at it (e2undo -n -v -o ${target.offset} RECORD ${target.image}) and remove it`,
      'undo',
    );
  }
  const intent = JSON.parse((await h.readFile(place.intent)).toString('utf8')) as Intent;
  if (intent.offset !== target.offset || path.posix.resolve(intent.image) !== path.posix.resolve(target.image))
    throw new GuestFsError(
      `${place.intent} is about ${intent.image} at offset ${intent.offset}, not this image`,
      'undo',
    );
  const mine = found.filter((r) => r.k <= intent.sessions);
  if (!mine.length) {
    if (!opts.dryRun) await clearUndo(place, 8, h);
    return { action: 'discarded', detail: `an interrupted run (${intent.what}) had not written anything yet` };
  }
  const now = await superIdentity($, target.device);
  if (!sameFs(now, intent.before)) {
    throw new GuestFsError(
      `an interrupted run (${intent.what}) left ${(mine[0] as { file: string }).file}, but the filesystem was mounted or checked since (mount count ${intent.before.mountCount} → ${now.mountCount}, last check ${intent.before.lastCheck} → ${now.lastCheck}): replaying old blocks over it could damage it. Check it (e2fsck -f on a copy), then remove ${place.intent} and the records beside it`,
      'undo',
    );
  }
  if (opts.dryRun)
    return { action: 'rolled-back', detail: `would roll back the interrupted run (${intent.what}) with e2undo` };
  const off = String(target.offset);
  const done: string[] = [];
  for (const { k, file } of mine) {
    let r = await $({ nothrow: true })`e2undo -o ${off} ${file} ${target.image}`;
    const said = `${r.stdout}${r.stderr}`;
    if (r.exitCode === 0) {
      done.push(`session ${k}: e2undo`);
    } else if (
      /Not an undo file|Header checksum doesn't match|Corrupt undo file header|short read while reading undo file/.test(
        said,
      )
    ) {
      // No valid header (or not even a header's worth of bytes: the run was killed while
      // undo_setup_tdb laid out the file): the header is written before the first filesystem
      // block (undo_io.c, undo_write_tdb), so nothing was written to the filesystem.
      done.push(`session ${k}: nothing written yet`);
    } else if (/superblock doesn't match|superblock checksum doesn't match/i.test(said)) {
      // Killed after the session's last superblock write, or before the record held a copy of
      // the superblock. Nobody else touched the filesystem since (checked above): the record is
      // this run's and applies; -f skips only that comparison (e2undo.c, check_filesystem).
      r = await $({ nothrow: true })`e2undo -f -o ${off} ${file} ${target.image}`;
      if (r.exitCode !== 0) throw undoFailed(file, r.stderr);
      done.push(`session ${k}: e2undo -f`);
    } else {
      throw undoFailed(file, said);
    }
  }
  // Every other block is as before the write now; the primary superblock goes back from the
  // intent's copy (see Intent.superblock). That also undoes e2undo's "not clean" mark after an
  // unfinished record (e2undo.c, end of main, when it can reopen the filesystem).
  const sb = Buffer.from(intent.superblock, 'base64');
  if (sb.length !== 1024) throw undoFailed(place.intent, 'the saved superblock is not 1024 bytes');
  const nowSb = await readSuperblock(target.image, target.offset, h);
  if (!nowSb.equals(sb)) {
    await writeSuperblock(target.image, target.offset, sb, h);
    done.push('primary superblock put back');
  }
  const fsck = await $({ nothrow: true })`e2fsck -fn ${target.device}`;
  if (fsck.exitCode !== 0) throw undoFailed(place.intent, `e2fsck -fn after e2undo: exit ${fsck.exitCode}`);
  await clearUndo(place, 8, h);
  return {
    action: 'rolled-back',
    detail: `the interrupted run (${intent.what}) was rolled back (${done.join(', ')}): the filesystem is as before it`,
  };
}

function undoFailed(file: string, why: string): GuestFsError {
  return new GuestFsError(
    `rolling back an interrupted write with ${file} failed: ${why.trim().split('\n')[0]}. The record is kept; do not mount the filesystem before it is looked at`,
    'undo',
  );
}
