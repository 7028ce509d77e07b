/**
 * The rewrite fix: only the lines the chosen pygrub cannot parse change, and in those lines
 * only the value it chokes on. GRUB 2 counts partitions from 1, GRUB legacy and pygrub from 0:
 * msdos1 → 0, msdos5 → 4, gpt2 → 1. Every other byte stays as it was (line endings included).
 */
import { modelPygrub, type ModelError } from './pygrub-model.js';
import type { XenVersion } from './version.js';

export interface LineChange {
  /** 1-based line number. */
  line: number;
  before: string;
  after: string;
  /** The catalogue id this change answers. */
  id: 'grub2-partition-name' | 'grub2-default-variable';
}

export interface RewriteResult {
  text: string;
  changes: LineChange[];
  /** Errors the rewrite does not touch (they need another way out). */
  unresolved: ModelError[];
}

const PARTITION_NAME = /^\(?(hd\d+|\/dev\/xvd[a-z]),(msdos|gpt)(\d+)\)?$/;

/** Is this GrubDiskPart text a GRUB 2 partition name the rewrite can turn into a number? */
export function isGrub2PartitionName(value: string): boolean {
  const m = PARTITION_NAME.exec(value.trim());
  return Boolean(m && Number(m[3]) >= 1);
}

/** The region of a raw line that pygrub parses as a device, or undefined. */
function deviceRegion(raw: string): { start: number; end: number } | undefined {
  const m = /^(\s*)(\S+)(\s+)/.exec(raw);
  if (!m) return undefined;
  const com = m[2] as string;
  const afterCom = (m[0] as string).length;
  if (com === 'set') {
    const eq = raw.indexOf('=', afterCom);
    if (eq === -1 || !/^root\s*$/.test(raw.slice(afterCom, eq))) return undefined;
    return { start: eq + 1, end: raw.length };
  }
  if (['linux', 'linux16', 'initrd', 'initrd16', 'root', 'rootnoverify', 'kernel'].includes(com)) {
    const rest = raw.slice(afterCom);
    const tok = /^\S+/.exec(rest);
    return tok ? { start: afterCom, end: afterCom + tok[0].length } : undefined;
  }
  return undefined;
}

/** Rewrite the partition names and variable defaults the pygrub of `v` cannot parse. */
export function rewriteForPygrub(text: string, v: XenVersion): RewriteResult {
  const lines = text.split('\n');
  const model = modelPygrub(text, 'grub2', v);
  const changes: LineChange[] = [];
  const unresolved: ModelError[] = [];
  for (const err of model.allErrors) {
    const idx = err.line - 1;
    const raw = lines[idx];
    if (raw === undefined) {
      unresolved.push(err);
      continue;
    }
    let after: string | undefined;
    let id: LineChange['id'] | undefined;
    if (err.cause === 'partition' && isGrub2PartitionName(err.value)) {
      const region = deviceRegion(raw);
      if (region) {
        const part = raw.slice(region.start, region.end);
        const replaced = part.replace(
          /\b(hd\d+|\/dev\/xvd[a-z]),(msdos|gpt)(\d+)/,
          (_m, disk: string, _l: string, n: string) => `${disk},${Number(n) - 1}`,
        );
        if (replaced !== part) {
          after = raw.slice(0, region.start) + replaced + raw.slice(region.end);
          id = 'grub2-partition-name';
        }
      }
    } else if (err.cause === 'default') {
      const m = /^(\s*set\s+default=)(["']?)(.*?)\2(\s*)$/.exec(raw);
      if (m) {
        after = `${m[1]}${m[2]}0${m[2]}${m[4]}`;
        id = 'grub2-default-variable';
      }
    }
    if (after === undefined || id === undefined) {
      unresolved.push(err);
      continue;
    }
    const prev = changes.find((c) => c.line === err.line);
    if (prev) continue;
    changes.push({ line: err.line, before: raw, after, id });
    lines[idx] = after;
  }
  const out = lines.join('\n');
  // The rewrite must leave nothing it meant to fix, and touch no other line.
  const check = modelPygrub(out, 'grub2', v);
  const left = check.allErrors.filter((e) => changes.some((c) => c.line === e.line));
  if (left.length) throw new Error(`the rewrite left line ${left[0]?.line} unparseable: ${left[0]?.exception}`);
  const a = text.split('\n');
  const b = out.split('\n');
  if (a.length !== b.length) throw new Error('the rewrite changed the number of lines');
  a.forEach((l, i) => {
    if (l !== b[i] && !changes.some((c) => c.line === i + 1))
      throw new Error(`the rewrite touched line ${i + 1}, which needed no change`);
  });
  return { text: out, changes: changes.sort((x, y) => x.line - y.line), unresolved };
}
