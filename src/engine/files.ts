import path from 'node:path';
// The one module of diff this needs: the package's index loads its seventeen (5 ms of every start).
import { createTwoFilesPatch } from 'diff/lib/patch/create.js';
import { decodeBytes, encodeText, showEscapes } from './bytes.js';
import { StepError } from './errors.js';
import type { FileSnapshot, Transport } from './transport.js';
import { crypto } from './builtins.js';

/** A unified diff between two texts, labelled with the file's path. Bytes that are not UTF-8 show as `\xNN`. */
export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  const patch = createTwoFilesPatch(
    `a${file}`,
    `b${file}`,
    showEscapes(before),
    showEscapes(after),
    undefined,
    undefined,
    { context: 3 },
  );
  // Drop the "Index:"/"====" preamble some versions print; keep ---/+++ and hunks.
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('Index:') && !/^=+$/.test(l))
    .join('\n')
    .trimEnd();
}

/** What the file was when the plan was made: compared again, under a lock, before it is replaced. */
export interface FileOrigin {
  /** dev:ino:mtime:size, as the transport reported them. */
  identity: string;
  /** sha256 of the bytes. */
  sha256: string;
}

/**
 * A planned change to one text file: what it holds now and what it will hold. The texts keep
 * every byte of the file (bytes that are not UTF-8 are carried as escapes, see bytes.ts): an edit
 * changes the lines it means to and no byte elsewhere.
 */
export interface FileEdit {
  path: string;
  /** undefined when the file does not exist yet. */
  before: string | undefined;
  after: string;
  changed: boolean;
  diff: string;
  /** The file as it was read for the plan; undefined when it did not exist. */
  origin?: FileOrigin;
}

const sha256 = (b: Buffer) => crypto().createHash('sha256').update(b).digest('hex');

function originOf(s: FileSnapshot): FileOrigin {
  return { identity: s.identity, sha256: sha256(s.bytes) };
}

/** Read a file and compute the edit `transform` would make; nothing is written. */
export async function planEdit(
  host: Transport,
  file: string,
  transform: (current: string | undefined) => string | Promise<string>,
): Promise<FileEdit> {
  const snap = await host.snapshot(file);
  const before = snap ? decodeBytes(snap.bytes) : undefined;
  const after = await transform(before);
  const changed = snap ? !encodeText(after).equals(snap.bytes) : true;
  return {
    path: file,
    before,
    after,
    changed,
    diff: unifiedDiff(file, before ?? '', after),
    ...(snap ? { origin: originOf(snap) } : {}),
  };
}

/** The message when a file is not what the plan read. */
export function changedWhileRunning(file: string): StepError {
  return new StepError(
    `${file} changed while the playbook ran; nothing written`,
    'another program or run edited it after it was read: look at it, then run the playbook again',
  );
}

/**
 * Write a planned edit: the file is backed up once (FILE.orig), then replaced atomically.
 * Under an exclusive lock on the file's directory (flock, shared by every run of these
 * playbooks), the file is compared with what the plan read — its identity (device, inode, mtime,
 * size) and its bytes — immediately before the rename: a change made meanwhile fails the step
 * ("changed while the playbook ran") and the file is left as the other writer left it.
 */
export async function applyEdit(
  host: Transport,
  edit: FileEdit,
  opts: { mode?: number; backup?: boolean; warn?: (text: string) => void } = {},
): Promise<string | undefined> {
  if (!edit.changed) return undefined;
  const dir = path.posix.dirname(edit.path);
  // A new file may need its directory (the plan said "create FILE"); the lock is taken on it.
  if (edit.before === undefined) await host.mkdir(dir);
  const lock = await host.lockDir(dir);
  if (!lock) {
    opts.warn?.(
      `flock is not installed (${host.label}): ${edit.path} is compared with the plan again just before it is replaced, but not under a lock`,
    );
  }
  try {
    const now = await host.snapshot(edit.path);
    const same =
      now === undefined
        ? edit.origin === undefined
        : edit.origin !== undefined &&
          now.identity === edit.origin.identity &&
          sha256(now.bytes) === edit.origin.sha256;
    if (!same) throw changedWhileRunning(edit.path);
    let backup: string | undefined;
    if (edit.before !== undefined && opts.backup !== false) backup = await host.backup(edit.path);
    await host.writeFileAtomic(edit.path, encodeText(edit.after), opts.mode !== undefined ? { mode: opts.mode } : {});
    return backup;
  } finally {
    await lock?.release();
  }
}
