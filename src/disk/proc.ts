/**
 * Reading this machine's /proc. Synchronously: its files are made by the kernel on read and never
 * wait for a disk, and a thread-pool round trip per file cost more than the reads (the first
 * one, 25 ms).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A /proc file's text, or '' when it is gone (a process that ended). */
export function procText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The names in /proc (processes among them), or none where there is no /proc. */
export function procEntries(): string[] {
  try {
    return readdirSync('/proc');
  } catch {
    return [];
  }
}
