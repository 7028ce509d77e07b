/**
 * The rewrite fix, per release: only the lines the chosen release's pygrub cannot follow
 * change, and in those lines only what it chokes on. GRUB 2 counts partitions from 1, GRUB
 * legacy and pygrub from 0: msdos1 → 0, msdos5 → 4, gpt2 → 1. For releases that need it, a
 * single-quoted menuentry title becomes double-quoted (4.0.0), a submenu's opening line and
 * closing brace are commented out (before 4.1.3 / 4.2.0), linux16/initrd16 become linux/initrd
 * (before the RHEL 7 change), a variable default becomes 0 and a title default the number of
 * the entry it names, and a bare `root` line in menu.lst is commented out. Every other byte
 * stays as it was (line endings included).
 */
import { codeOf, modelPygrub, selectEntry, type ConfigKind, type ModelError, type ModelImage } from './pygrub-model.js';
import type { XenVersion } from './version.js';

export interface LineChange {
  /** 1-based line number. */
  line: number;
  before: string;
  after: string;
  /** The catalogue id this change answers. */
  id:
    | 'grub2-partition-name'
    | 'grub2-default-variable'
    | 'grub2-default-title'
    | 'grub2-menuentry-quotes'
    | 'grub2-submenu'
    | 'grub2-linux16'
    | 'legacy-empty-root';
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

/**
 * Grub.image_index's lookup of a text default (RELEASE-4.3.4+): the last part after `>`
 * ("submenu>entry"), matched against the titles. -1 when no entry has that title.
 */
export function leafTitleIndex(images: readonly ModelImage[], title: string): number {
  let t = title;
  for (;;) {
    const m = /(\S)>(\S.+$)/.exec(t);
    if (!m) break;
    t = m[2] as string;
  }
  return images.findIndex((i) => i.title === t);
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

/** The line (0-based) of the `}` that closes the block opened on line `open`. */
function closerOf(lines: readonly string[], open: number): number | undefined {
  let depth = 0;
  for (let i = open + 1; i < lines.length; i++) {
    const l = (lines[i] ?? '').trim();
    if (l.startsWith('#')) continue;
    if (l.startsWith('}')) {
      if (depth === 0) return i;
      depth--;
    } else if (l.endsWith('{')) depth++;
  }
  return undefined;
}

/** A line with `#` put before its first non-blank character. */
const commentOut = (raw: string) => raw.replace(/^(\s*)/, '$1#');

/** Rewrite what the pygrub of `v` cannot follow in a GRUB 2 (or GRUB legacy) config. */
export function rewriteForPygrub(text: string, v: XenVersion, kind: ConfigKind = 'grub2'): RewriteResult {
  const code = codeOf(v);
  const lines = text.split('\n');
  const changes: LineChange[] = [];
  const change = (idx: number, after: string, id: LineChange['id']) => {
    const before = lines[idx] as string;
    if (after === before || changes.some((c) => c.line === idx + 1)) return;
    changes.push({ line: idx + 1, before, after, id });
    lines[idx] = after;
  };

  if (kind === 'grub2') {
    lines.forEach((raw, i) => {
      // GrubConf.py of 4.0.0: re.match('^menuentry "(.*)" (.*){', l).
      if (code.menuentry === 'double-greedy') {
        const m = /^(\s*menuentry\s+)'([^'"$\\`]*)'(\s.*\{\s*)$/.exec(raw);
        if (m) change(i, `${m[1]}"${m[2]}"${m[3]}`, 'grub2-menuentry-quotes');
      }
      // GrubConf.py before 4.1.3 / 4.2.0 has no menu_level: comment the submenu out.
      if (!code.submenu && /^\s*submenu\b/.test(raw) && raw.trim().endsWith('{')) {
        const close = closerOf(lines, i);
        if (close !== undefined) {
          change(i, commentOut(raw), 'grub2-submenu');
          change(close, commentOut(lines[close] as string), 'grub2-submenu');
        }
      }
    });
  }

  const model = modelPygrub(lines.join('\n'), kind, code);
  const removedEntries: number[] = [];
  const setDefaultRe =
    kind === 'grub2' ? /^(\s*set\s+default=)(["']?)(.*?)\2(\s*)$/ : /^(\s*default[\s=]+)()(.*?)()(\s*)$/;
  for (const err of model.allErrors) {
    const idx = err.line - 1;
    const raw = lines[idx];
    if (raw === undefined) continue;
    if (err.cause === 'partition' && isGrub2PartitionName(err.value)) {
      const region = deviceRegion(raw);
      if (region) {
        const part = raw.slice(region.start, region.end);
        const replaced = part.replace(
          /\b(hd\d+|\/dev\/xvd[a-z]),(msdos|gpt)(\d+)/,
          (_m, disk: string, _l: string, n: string) => `${disk},${Number(n) - 1}`,
        );
        if (replaced !== part)
          change(idx, raw.slice(0, region.start) + replaced + raw.slice(region.end), 'grub2-partition-name');
      }
    } else if (err.cause === 'default') {
      const m = setDefaultRe.exec(raw);
      if (m) {
        const value = (m[3] as string).trim();
        const variable = /^\$\{?\w+\}?$/.test(value);
        const n = variable ? 0 : Math.max(0, leafTitleIndex(model.images, value));
        const tail = kind === 'grub2' ? `${m[2]}${m[4]}` : `${m[5] ?? ''}`;
        change(idx, `${m[1]}${m[2]}${n}${tail}`, variable ? 'grub2-default-variable' : 'grub2-default-title');
      }
    } else if (kind === 'grub-legacy' && err.cause === 'disk' && err.value === '' && /^\s*root\s*$/.test(raw)) {
      change(idx, commentOut(raw), 'legacy-empty-root');
      // A title holding nothing but the bare root (Debian's "Other operating systems:" separator)
      // would be an entry without a kernel: comment its title out too, and keep a numeric default
      // pointing at the same entry.
      const img = model.images.findIndex((im) => im.firstLine <= err.line && err.line <= im.lastLine);
      const im = model.images[img];
      const body = im
        ? lines.slice(im.firstLine, im.lastLine).filter((l) => l.trim() && !l.trim().startsWith('#'))
        : [];
      if (im && body.length === 0) {
        change(im.firstLine - 1, commentOut(lines[im.firstLine - 1] as string), 'legacy-empty-root');
        removedEntries.push(img);
      }
    }
  }
  if (removedEntries.length && model.defaultLines.length) {
    const idx = (model.defaultLines.at(-1) as number) - 1;
    const m = setDefaultRe.exec(lines[idx] ?? '');
    const value = (m?.[3] ?? '').trim();
    if (m && /^\d+$/.test(value)) {
      const d = Number(value);
      const n = d - removedEntries.filter((r) => r < d).length;
      const tail = kind === 'grub2' ? `${m[2]}${m[4]}` : `${m[5] ?? ''}`;
      if (n !== d) change(idx, `${m[1]}${m[2]}${n}${tail}`, 'legacy-empty-root');
    }
  }
  // From 4.13 a title default is not an error, but pygrub boots entry 0 instead of the entry named.
  if (code.default === 'int-or-0' && !model.error && model.defaultLines.length) {
    const idx = (model.defaultLines.at(-1) as number) - 1;
    const m = setDefaultRe.exec(lines[idx] ?? '');
    const value = (m?.[3] ?? '').trim();
    if (m && value && !/^\d+$/.test(value) && !/^\$/.test(value) && value !== 'saved') {
      const n = leafTitleIndex(model.images, value);
      const tail = kind === 'grub2' ? `${m[2]}${m[4]}` : `${m[5] ?? ''}`;
      if (n > 0) change(idx, `${m[1]}${m[2]}${n}${tail}`, 'grub2-default-title');
    }
  }

  if (kind === 'grub2') {
    // Grub2Image.commands without linux16/initrd16: the entry run_grub picks has no kernel (TypeError).
    if (!code.linux16) {
      const m0 = modelPygrub(lines.join('\n'), kind, code);
      const sel = selectEntry(m0, code);
      const img =
        sel.error?.type === 'TypeError'
          ? m0.images[sel.sel !== null && sel.sel < m0.images.length ? sel.sel : 0]
          : undefined;
      for (let i = (img?.firstLine ?? 1) - 1; img && i < img.lastLine; i++) {
        const m = /^(\s*)(linux16|initrd16)(\s[\s\S]*)$/.exec(lines[i] ?? '');
        if (m) change(i, `${m[1]}${m[2] === 'linux16' ? 'linux' : 'initrd'}${m[3]}`, 'grub2-linux16');
      }
    }
  }

  const out = lines.join('\n');
  // The rewrite must leave nothing it meant to fix, and touch no other line.
  const check = modelPygrub(out, kind, code);
  const left = check.allErrors.filter((e) => changes.some((c) => c.line === e.line));
  if (left.length) throw new Error(`the rewrite left line ${left[0]?.line} unparseable: ${left[0]?.exception}`);
  const a = text.split('\n');
  const b = out.split('\n');
  if (a.length !== b.length) throw new Error('the rewrite changed the number of lines');
  a.forEach((l, i) => {
    if (l !== b[i] && !changes.some((c) => c.line === i + 1))
      throw new Error(`the rewrite touched line ${i + 1}, which needed no change`);
  });
  return { text: out, changes: changes.sort((x, y) => x.line - y.line), unresolved: check.allErrors };
}
