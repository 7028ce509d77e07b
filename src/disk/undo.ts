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
import { promises as fsp, constants as fsc } from 'node:fs';
import path from 'node:path';
import type { CommandFn } from '../engine/index.js';
import { GuestFsError } from './guestfs-error.js';

export interface UndoPlace {
  /** The e2undo record. */
  undo: string;
  /** Whose record it is (JSON). */
  intent: string;
}

/** Where the undo record of a write into IMAGE at OFFSET lives. */
export function undoPlace(image: string, offset: number, isBlockDevice: boolean, stateDir?: string): UndoPlace {
  const abs = path.resolve(image);
  const dir = isBlockDevice ? (stateDir ?? '/var/lib/xen-runbooks/undo') : path.dirname(abs);
  const base = isBlockDevice ? abs.replace(/^\//, '').replace(/\//g, '_') : path.basename(abs);
  const undo = path.join(dir, `${base}.${offset}.e2undo`);
  return { undo, intent: `${undo}.json` };
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

const exists = (p: string) =>
  fsp.lstat(p).then(
    () => true,
    () => false,
  );

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write the intent file (synced, with its directory) before debugfs -z starts. */
export async function writeIntent(place: UndoPlace, intent: Intent): Promise<void> {
  await fsp.mkdir(path.dirname(place.intent), { recursive: true });
  const tmp = `${place.intent}.new`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(intent, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, place.intent);
  await syncDir(path.dirname(place.intent));
}

/** Drop a record once the write it covers is complete (or rolled back): the record first. */
export async function clearUndo(place: UndoPlace): Promise<void> {
  await fsp.rm(place.undo, { force: true });
  await fsp.rm(`${place.intent}.new`, { force: true });
  await fsp.rm(place.intent, { force: true });
  await syncDir(path.dirname(place.intent)).catch(() => undefined);
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
 * Find the record an interrupted run left and undo what it wrote, so that the filesystem is as
 * it was before that run. `dryRun` only says what would be done.
 */
export async function recoverUndo(
  $: CommandFn,
  target: { image: string; offset: number; device: string },
  place: UndoPlace,
  opts: { dryRun?: boolean } = {},
): Promise<Recovery> {
  const hasUndo = await exists(place.undo);
  const hasIntent = await exists(place.intent);
  if (!hasUndo && !hasIntent) return { action: 'none', detail: 'no undo record' };
  if (!hasIntent) {
    throw new GuestFsError(
      `${place.undo} exists but nothing says which run made it: look at it (e2undo -n -v -o ${target.offset} ${place.undo} ${target.image}) and remove it`,
      'undo',
    );
  }
  const intent = JSON.parse(await fsp.readFile(place.intent, 'utf8')) as Intent;
  if (intent.offset !== target.offset || path.resolve(intent.image) !== path.resolve(target.image))
    throw new GuestFsError(
      `${place.intent} is about ${intent.image} at offset ${intent.offset}, not this image`,
      'undo',
    );
  if (!hasUndo) {
    if (!opts.dryRun) await clearUndo(place);
    return { action: 'discarded', detail: `an interrupted run (${intent.what}) had not written anything yet` };
  }
  const now = await superIdentity($, target.device);
  if (!sameFs(now, intent.before)) {
    throw new GuestFsError(
      `an interrupted run (${intent.what}) left ${place.undo}, but the filesystem was mounted or checked since (mount count ${intent.before.mountCount} → ${now.mountCount}, last check ${intent.before.lastCheck} → ${now.lastCheck}): replaying old blocks over it could damage it. Check it (e2fsck -f on a copy), then remove ${place.undo} and ${place.intent}`,
      'undo',
    );
  }
  if (opts.dryRun)
    return { action: 'rolled-back', detail: `would roll back the interrupted run (${intent.what}) with e2undo` };
  const off = String(target.offset);
  let r = await $({ nothrow: true })`e2undo -o ${off} ${place.undo} ${target.image}`;
  let detail: string;
  if (r.exitCode === 0) {
    detail = 'rolled back with e2undo';
  } else if (/Not an undo file|Header checksum doesn't match|Corrupt undo file header/.test(r.stderr)) {
    // The header is written before the first filesystem block (undo_io.c, undo_write_tdb).
    await clearUndo(place);
    return { action: 'discarded', detail: `an interrupted run (${intent.what}) had not written anything yet` };
  } else if (/superblock doesn't match|superblock checksum doesn't match/i.test(`${r.stdout}${r.stderr}`)) {
    // The run was killed after its last superblock write, or before the record held a copy of
    // the superblock: nobody else touched the filesystem since (checked above), so the record
    // is this run's and applies (-f skips only the superblock comparison).
    r = await $({ nothrow: true })`e2undo -f -o ${off} ${place.undo} ${target.image}`;
    if (r.exitCode !== 0) throw undoFailed(place, r.stderr);
    detail = 'rolled back with e2undo -f (the run had finished writing, its record was not closed)';
  } else {
    throw undoFailed(place, r.stderr || r.stdout);
  }
  // e2undo marks a filesystem "not clean" after replaying an unfinished record (e2undo.c, end of
  // main); it was clean before the run, and e2fsck -fn must agree before that is said again.
  const after = await superIdentity($, target.device);
  if (after.state !== intent.before.state) {
    const fsck = await $({ nothrow: true })`e2fsck -fn ${target.device}`;
    if (fsck.exitCode !== 0) throw undoFailed(place, `e2fsck -fn after e2undo: exit ${fsck.exitCode}`);
    const state = intent.before.state === 'clean' ? '1' : undefined;
    if (state) {
      const s = await $({ nothrow: true })`debugfs -w -R ${`ssv state ${state}`} ${target.device}`;
      const err = s.stderr.replace(/^debugfs [\d.]+ \([^)]*\)\n?/m, '').trim();
      if (err) throw undoFailed(place, `debugfs ssv state: ${err}`);
    }
  }
  const fsck = await $({ nothrow: true })`e2fsck -fn ${target.device}`;
  if (fsck.exitCode !== 0) throw undoFailed(place, `e2fsck -fn after e2undo: exit ${fsck.exitCode}`);
  await clearUndo(place);
  return { action: 'rolled-back', detail: `${detail}: the interrupted run (${intent.what}) left nothing behind` };
}

function undoFailed(place: UndoPlace, why: string): GuestFsError {
  return new GuestFsError(
    `rolling back an interrupted write with ${place.undo} failed: ${why.trim().split('\n')[0]}. The record is kept; do not mount the filesystem before it is looked at`,
    'undo',
  );
}

/** Replay a record this run made itself (a write that failed half-way). */
export async function rollBackOwn(
  $: CommandFn,
  target: { image: string; offset: number; device: string },
  place: UndoPlace,
) {
  return recoverUndo($, target, place);
}
