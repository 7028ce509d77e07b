/** Types of gen-ansible-contract.mjs, for the TypeScript tests and the site. */
import type { PlaybookDescription } from '../src/engine/runner.js';

export const NAMESPACE: string;
export const COLLECTION: string;
export const FQCN_PREFIX: string;
export const COLLECTION_DIR: string;
export function moduleName(playbook: string): string;
export function optionName(name: string): string;
export function argName(name: string): string;
export function ansibleType(type: string): string;
export function argumentSpec(
  d: Pick<PlaybookDescription, 'args' | 'options'>,
): Record<string, { type: string; required?: boolean; choices?: string[] }>;
export function shellWords(line: string): string[];
export function taskFromCommandLine(
  d: Pick<PlaybookDescription, 'args' | 'options'>,
  line: string | readonly string[],
): { args: Record<string, string | number | boolean>; check: boolean; host: string | undefined };
export function yamlScalar(v: unknown): string;
export function toYaml(value: unknown, indent?: number): string;
export function taskYaml(d: PlaybookDescription, line: string | readonly string[], name?: string): string;
