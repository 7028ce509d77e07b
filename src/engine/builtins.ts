/**
 * Node's own modules that only some runs need, loaded the first time one is: loading node:crypto
 * (some twenty modules of Node's) cost every start of every playbook, and a dry run of pygrub-fix
 * needs none of it (it names temporary files and hashes edits, for runs that write).
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => load('node:crypto') as typeof import('node:crypto');
