/** Errors of the guest filesystem backends, and the guest path check they share. */
export class GuestFsError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'open'
      | 'not-found'
      | 'not-file'
      | 'too-large'
      | 'bad-path'
      | 'io'
      | 'write'
      /** Refused before writing: a layout the write cannot make safe (symlinked directory, odd .orig). */
      | 'unsafe'
      /** Refused before writing: not enough free blocks or inodes. */
      | 'no-space'
      /** Refused before writing: the image or the filesystem cannot be written. */
      | 'read-only'
      /** An interrupted earlier write that cannot be rolled back without a person looking at it. */
      | 'undo',
  ) {
    super(message);
    this.name = 'GuestFsError';
  }
}

/** A guest path debugfs can be asked about safely: absolute, printable, no double quote. */
export function checkGuestPath(p: string): string {
  if (!p.startsWith('/') || p.length > 1024 || /["\\\u0000-\u001f\u007f]/.test(p) || p.split('/').includes('..')) {
    throw new GuestFsError(`refusing to look up a path with unusual characters: ${JSON.stringify(p)}`, 'bad-path');
  }
  return p;
}
