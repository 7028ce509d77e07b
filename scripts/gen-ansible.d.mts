/** Types of gen-ansible.mjs, for the tests. */
import type { PlaybookDescription } from '../src/engine/runner.js';

export function describeAll(root?: string): PlaybookDescription[];
export function generated(root?: string): Record<string, string>;
export function stale(root?: string): { files: Record<string, string>; wrong: string[]; extra: string[] };
