import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { Transport } from './transport.js';

/** A unified diff between two texts, labelled with the file's path. */
export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  const patch = createTwoFilesPatch(`a${file}`, `b${file}`, before, after, undefined, undefined, { context: 3 });
  // Drop the "Index:"/"====" preamble some versions print; keep ---/+++ and hunks.
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('Index:') && !/^=+$/.test(l))
    .join('\n')
    .trimEnd();
}

/** A planned change to one text file: what it holds now and what it will hold. */
export interface FileEdit {
  path: string;
  /** undefined when the file does not exist yet. */
  before: string | undefined;
  after: string;
  changed: boolean;
  diff: string;
}

/** Read a file and compute the edit `transform` would make; nothing is written. */
export async function planEdit(
  host: Transport,
  file: string,
  transform: (current: string | undefined) => string | Promise<string>,
): Promise<FileEdit> {
  const before = await host.readText(file);
  const after = await transform(before);
  return { path: file, before, after, changed: before !== after, diff: unifiedDiff(file, before ?? '', after) };
}

/**
 * Write a planned edit: the file is backed up once (FILE.orig), then replaced atomically.
 * Refuses to write when the file changed since the plan was made.
 */
export async function applyEdit(
  host: Transport,
  edit: FileEdit,
  opts: { mode?: number; backup?: boolean } = {},
): Promise<string | undefined> {
  if (!edit.changed) return undefined;
  const now = await host.readText(edit.path);
  if (now !== edit.before) {
    throw new Error(`${edit.path} changed while the playbook ran; nothing written, run it again`);
  }
  let backup: string | undefined;
  if (edit.before !== undefined && opts.backup !== false) backup = await host.backup(edit.path);
  // A new file may need its directory (the plan said "create FILE").
  if (edit.before === undefined) await host.mkdir(path.posix.dirname(edit.path));
  await host.writeFileAtomic(edit.path, edit.after, opts.mode !== undefined ? { mode: opts.mode } : {});
  return backup;
}
