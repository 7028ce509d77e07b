/**
 * The oracle: what each Xen release's own, unmodified pygrub did with a corpus of configs and
 * partition tables (test/fixtures/oracle/pygrub/README.md says how it was produced). Loaded
 * here once for the tests that compare the model with it, cell by cell.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigKind, ModelResult, Selection } from 'xen-runbooks/grub';
import { pyRepr } from 'xen-runbooks/grub';

export const ORACLE_DIR = path.join(import.meta.dirname, '../fixtures/oracle/pygrub');
export const RESULTS_PATH = path.join(ORACLE_DIR, 'results.json');

export interface OracleException {
  type: string;
  msg: string;
}
export interface OracleImage {
  title: string;
  root: string;
  kernel: string;
  initrd: string;
  args: string;
}
export interface OracleParse {
  status: 'ok' | 'exception';
  exception?: OracleException;
  n_images: number;
  images: OracleImage[];
  default: string;
  default_type: string;
}
export interface OracleRunGrub {
  status: 'ok' | 'exception' | 'sys.exit';
  exception?: OracleException;
  grubcfg?: { kernel: string | null; ramdisk: string | null; args: string | null };
  sel: string;
  image_index?: number;
}
export interface OracleConfigResult {
  parse: OracleParse;
  run_grub: OracleRunGrub;
  python: 'py2' | 'py3';
}
export interface OracleTableResult {
  function: 'get_fs_offset' | 'get_partition_offsets';
  status: 'ok' | 'exception';
  result?: number | number[];
  exception?: OracleException;
  python: 'py2' | 'py3';
}
export interface Oracle {
  tags: string[];
  tag_to_group: Record<string, string>;
  groups: { id: string; tags: string[]; primary_python: 'py2' | 'py3' }[];
  configs: Record<
    string,
    {
      file: string;
      kind: 'grub2' | 'grub' | 'extlinux';
      note: string;
      results: Record<string, OracleConfigResult>;
      results_other_python?: Record<string, { same_as_primary?: boolean } & Partial<OracleConfigResult>>;
    }
  >;
  tables: Record<string, { file: string; rebuild: string; note: string; results: Record<string, OracleTableResult> }>;
}

export const ORACLE: Oracle = JSON.parse(readFileSync(RESULTS_PATH, 'utf8'));

export const kindOf = (k: 'grub2' | 'grub' | 'extlinux'): ConfigKind => (k === 'grub' ? 'grub-legacy' : k);

export function configText(name: string): string {
  return readFileSync(path.join(ORACLE_DIR, (ORACLE.configs[name] as { file: string }).file), 'utf8');
}

/** The model's parse in the oracle's terms (Python reprs of what GrubConf.py stores). */
export function asOracleParse(m: ModelResult, py: 'py2' | 'py3'): Omit<OracleParse, never> {
  const r = (s: string | null) => (s === null ? 'None' : pyRepr(s, py));
  const images = m.images.slice(0, m.imagesBeforeError).map((i) => ({
    title: i.title,
    root: i.root === null ? 'None' : m.kind === 'extlinux' ? pyRepr(i.root, py) : i.root,
    kernel: i.kernel === null ? 'None' : `(${i.kernelDevice ?? 'None'}, ${pyRepr(i.kernel, py)})`,
    initrd: i.initrd === null ? 'None' : `(${i.initrdDevice ?? 'None'}, ${pyRepr(i.initrd, py)})`,
    args: r(i.args),
  }));
  const d = m.defaultBeforeError;
  return {
    status: m.error ? 'exception' : 'ok',
    ...(m.error ? { exception: { type: m.error.type, msg: m.error.msg } } : {}),
    n_images: images.length,
    images,
    default: typeof d === 'number' ? String(d) : pyRepr(d, py),
    default_type: typeof d === 'number' ? 'int' : 'str',
  };
}

export function asOracleRunGrub(s: Selection): OracleRunGrub {
  const out: OracleRunGrub = {
    status: s.status,
    sel: s.sel === null ? 'None' : String(s.sel),
    ...(s.imageIndex !== undefined ? { image_index: s.imageIndex } : {}),
  };
  if (s.error) out.exception = { type: s.error.type, msg: s.error.msg };
  else out.grubcfg = { kernel: s.kernel, ramdisk: s.ramdisk, args: s.args };
  return out;
}

/** The oracle's parse, reduced to what the model answers. */
export function oracleParse(p: OracleParse): OracleParse {
  return {
    status: p.status,
    ...(p.exception ? { exception: p.exception } : {}),
    n_images: p.n_images,
    images: p.images,
    default: p.default,
    default_type: p.default_type,
  };
}
export function oracleRunGrub(r: OracleRunGrub): OracleRunGrub {
  return {
    status: r.status,
    sel: r.sel,
    ...(r.image_index !== undefined ? { image_index: r.image_index } : {}),
    ...(r.exception ? { exception: r.exception } : {}),
    ...(r.grubcfg ? { grubcfg: r.grubcfg } : {}),
  };
}
