// Types of the xe simulator (test/sim/xe.mjs) for the TypeScript tests.

export const STATE_FILE: string;
export const CALLS_FILE: string;
export const GiB: number;
export const MiB: number;
export const NOT_IN_DATABASE: string;

export type Tag = 'RO' | 'RW' | 'MRO' | 'MRW' | 'SRO' | 'SRW';
export type Obj = Record<string, any>;
export type ClassName = 'pool' | 'host' | 'vm' | 'vif' | 'vbd' | 'vdi' | 'sr' | 'pbd' | 'network' | 'pif' | 'sm';

export type Era = 'xcp-1.5' | '8.2' | '8.3';
export const ERA_TAGS: Record<Era, string>;
export function eraOf(state: { flavour: string; release?: string }): Era;

export interface State {
  version: number;
  flavour: 'xcp-ng' | 'legacy';
  /** XCP-ng release (xapi v26.1.4 when '8.3'); absent: 8.2 (xapi v1.249.0). */
  release?: '8.2' | '8.3';
  /** false: xe answers `Error: Connection refused (calling connect )`. */
  xapi: boolean;
  seed: string;
  next: number;
  clock: number;
  /** SR types the storage manager knows. */
  drivers: string[];
  /** `server:/path` exports an NFS SR may use; null: any. */
  nfsExports: string[] | null;
  /** Pools this host may join, by master address. */
  masters: Record<string, { username: string; password: string; objects: Record<string, Record<string, Obj>> }>;
  /** Objects by class, then by uuid; field names as xe prints them. */
  objects: Partial<Record<ClassName, Record<string, Obj>>> & Record<string, Record<string, Obj>>;
}

export interface Field {
  name: string;
  tag: Tag;
  ref?: string;
}
export const CLASSES: Record<string, { api: string; fields: Field[]; list: string[] }>;

export interface CreateOptions {
  flavour?: 'xcp-ng' | 'legacy';
  release?: '8.2' | '8.3';
  /** XCP-ng: the installer's "Local storage" SR, the pool's default (default true). */
  localStorage?: boolean;
  seed?: string;
  xapi?: boolean;
  hostName?: string;
  address?: string;
  drivers?: string[];
  nfsExports?: string[] | null;
}
export interface SrSpec {
  name: string;
  type?: string;
  device?: string;
  server?: string;
  serverPath?: string;
  shared?: boolean;
  contentType?: string;
  size?: number;
  makeDefault?: boolean;
}
export interface VmSpec {
  name: string;
  powerState?: 'halted' | 'running' | 'paused' | 'suspended';
  vcpusMax?: number;
  vcpusAtStartup?: number;
  memory?: { staticMin?: number; dynamicMin?: number; dynamicMax?: number; staticMax?: number } | number;
  otherConfig?: Record<string, string>;
  vcpusParams?: Record<string, string>;
}
export interface VifSpec {
  network?: string;
  device?: string;
  mac?: string;
}
export interface VbdSpec {
  vdi?: string;
  sr?: string;
  size?: number;
  userdevice?: string;
  bootable?: boolean;
  mode?: 'RW' | 'RO';
  type?: 'Disk' | 'CD';
}
export interface MasterSpec {
  username?: string;
  password: string;
  poolName?: string;
  hostName?: string;
  nfs?: { name: string; server: string; serverPath: string; makeDefault?: boolean };
}
export interface SeedSpec extends CreateOptions {
  sr?: SrSpec;
  vms?: (VmSpec & { vifs?: VifSpec[]; vbds?: VbdSpec[] })[];
  masters?: Record<string, MasterSpec>;
}
export interface Seeded {
  state: State;
  pool: string;
  host: string;
  /** The SR the seed created, else the pool's default SR (XCP-ng: the installer's Local storage). */
  sr: string | undefined;
  vms: Record<string, { uuid: string; vifs: string[]; vbds: string[] }>;
}

export function createState(opts?: CreateOptions): State;
export function addTemplate(
  state: State,
  t: { name: string; disks?: { device: string; size: number; bootable?: boolean }[]; memory?: number },
): string;
export function addSr(state: State, o: SrSpec): string;
export function addVdi(state: State, sr: string, o?: { name?: string; size?: number }): string;
export function addVm(state: State, o: VmSpec): string;
export function addVif(state: State, vm: string, o?: VifSpec): string;
export function addVbd(state: State, vm: string, o?: VbdSpec): string;
export function addMaster(state: State, address: string, o: MasterSpec): { pool: string; host: string };
export function networkByBridge(state: State, bridge: string): string;
export function newUuid(state: State): string;
export function provisionXml(disks: { device: string; size: number; bootable?: boolean }[]): string;

export function statePath(dir: string): string;
export function readXe(dir: string): State;
export function writeXe(dir: string, state: State): void;
export function seedXe(dir: string, spec?: SeedSpec | State): Seeded;
export function readCalls(dir: string): { cmd: string; argv: string[] }[];

export function wireParams(argv: string[]): { cmd: string; params: [string, string][] };
export function runXe(argv: string[], opts: { dir: string }): { code: number; stdout: string; stderr: string };
export function main(): void;
