/**
 * A line-for-line model of pygrub's config parsers (Xen's tools/pygrub/src/GrubConf.py), with
 * the behaviour that changed between releases switched by version. It answers, for a config
 * text: which entries pygrub lists (title, root, kernel, args, initrd), which line makes it
 * raise and with which Python error, and which warnings it prints. The model is checked
 * against the real pygrub of this machine (Xen 4.17) on every fixture.
 */
import { CHANGES, versionBelow, type XenVersion } from './version.js';

export type ConfigKind = 'grub2' | 'grub-legacy' | 'extlinux';

export interface ModelImage {
  title: string;
  /** Line numbers (1-based) of the menuentry's lines. */
  firstLine: number;
  lastLine: number;
  root: string | null;
  kernel: string | null;
  args: string | null;
  initrd: string | null;
}

export interface ModelError {
  /** 1-based line number of the line that raised. */
  line: number;
  /** The Python exception as pygrub --debug would print it. */
  exception: string;
  /** What made it raise, in GRUB terms: `partition`, `disk`, `default`, `syntax`, `set`. */
  cause: 'partition' | 'disk' | 'default' | 'syntax' | 'set' | 'path';
  /** The text that could not be parsed. */
  value: string;
}

export interface ModelResult {
  kind: ConfigKind;
  images: ModelImage[];
  /** The first error pygrub raises (it stops there), or null. */
  error: ModelError | null;
  /** Every line that would raise, had the ones before it not (for a complete report). */
  allErrors: ModelError[];
  /** Warnings pygrub prints (`Unknown directive load_video`). */
  warnings: { line: number; text: string }[];
  /** The default entry as pygrub ends up with it (string as written, or a number). */
  default: string | number;
  /** 1-based line numbers of top-level `set default=` lines. */
  defaultLines: number[];
  timeout: string | number;
}

class PyError extends Error {
  constructor(
    readonly exception: string,
    readonly why: ModelError['cause'],
    readonly value: string,
  ) {
    super(exception);
  }
}

const PY_WS = /[ \t\n\r\x0b\x0c]+/;

/** Python's str.split(None, maxsplit). */
export function pySplitWs(s: string, maxsplit = -1): string[] {
  const out: string[] = [];
  let rest = s.replace(/^[ \t\n\r\x0b\x0c]+/, '');
  while (rest.length) {
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(rest);
      break;
    }
    const m = PY_WS.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    out.push(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

/** Python's str.split(sep, maxsplit). */
export function pySplitSep(s: string, sep: string, maxsplit = -1): string[] {
  const out: string[] = [];
  let rest = s;
  for (;;) {
    if (maxsplit >= 0 && out.length === maxsplit) break;
    const i = rest.indexOf(sep);
    if (i === -1) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

/** GrubConf.grub_split. */
export function grubSplit(s: string, maxsplit = -1): string[] {
  const eq = s.indexOf('=');
  if (eq === -1) return pySplitWs(s, maxsplit);
  let sp = s.indexOf(' ');
  const tab = s.indexOf('\t');
  if ((tab !== -1 && tab < sp) || (tab !== -1 && sp === -1)) sp = tab;
  if ((eq !== -1 && eq < sp) || (eq !== -1 && sp === -1)) return pySplitSep(s, '=', maxsplit);
  return pySplitWs(s, maxsplit);
}

/** GrubConf.grub_exact_split. */
export function grubExactSplit(s: string, num: number): string[] {
  const ret = grubSplit(s, num - 1);
  while (ret.length < num) ret.push('');
  return ret;
}

/** Python's str.strip() (whitespace). */
const pyStrip = (s: string) => s.replace(/^[ \t\n\r\x0b\x0c]+|[ \t\n\r\x0b\x0c]+$/g, '');

/** Python's int(s) for base 10. */
function pyInt(s: string, cause: ModelError['cause']): number {
  if (/^[ \t\n\r\x0b\x0c]*[+-]?\d+(?:_\d+)*[ \t\n\r\x0b\x0c]*$/.test(s)) return Number(s.replace(/_/g, ''));
  throw new PyError(`ValueError: invalid literal for int() with base 10: ${pyRepr(s)}`, cause, s);
}

/** Python's repr() of a str (enough for error messages). */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/\r/g, '\\r')
    .replace(new RegExp(quote, 'g'), `\\${quote}`);
  return `${quote}${body}${quote}`;
}

function unpack2(parts: string[], cause: ModelError['cause'], value: string): [string, string] {
  if (parts.length < 2)
    throw new PyError(`ValueError: not enough values to unpack (expected 2, got ${parts.length})`, cause, value);
  if (parts.length > 2) throw new PyError('ValueError: too many values to unpack (expected 2)', cause, value);
  return [parts[0] as string, parts[1] as string];
}

/** GrubDiskPart(str): the disk and partition pygrub makes of `(hd0,msdos1` or `hd0,msdos1`. */
export function diskPart(str: string, v: XenVersion): { disk: number; part: number | null } {
  let disk: string;
  let part: string | null;
  if (str.includes(',')) [disk, part] = unpack2(pySplitSep(str, ',', 2), 'partition', str);
  else {
    disk = str;
    part = null;
  }
  let d = disk.replace(/[()]/g, '');
  let diskNo: number;
  if (d.startsWith('/dev/xvd') && !versionBelow(v, CHANGES.grub2PartitionNames)) {
    const c = d[8];
    if (c === undefined) throw new PyError('IndexError: string index out of range', 'disk', disk);
    diskNo = c.charCodeAt(0) - 97;
  } else {
    d = d.slice(2);
    diskNo = withValue(() => pyInt(d, 'disk'), str);
  }
  let partNo: number | null = null;
  if (part !== null) {
    let p = part.replace(/[()]/g, '');
    if (!versionBelow(v, CHANGES.grub2PartitionNames)) {
      if (p.startsWith('msdos')) p = p.slice(5);
      if (p.startsWith('gpt')) p = p.slice(3);
    }
    partNo = withValue(() => pyInt(p, 'partition'), str);
  }
  return { disk: diskNo, part: partNo };
}

/** Errors name the whole device text (`(hd0,msdos1`), not only the piece int() saw. */
function withValue<T>(fn: () => T, value: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PyError) throw new PyError(e.exception, e.why, value);
    throw e;
  }
}

/** get_path(s): a path with an optional `(disk,part)` prefix. */
function getPath(s: string, v: XenVersion): string {
  if (!s.startsWith('(')) return s;
  const idx = s.indexOf(')');
  if (idx === -1) throw new PyError("ValueError: Unable to find matching ')'", 'path', s);
  diskPart(s.slice(0, idx), v);
  return s.slice(idx + 1);
}

function fmtRoot(r: { disk: number; part: number | null }): string {
  return r.part !== null ? `d${r.disk}p${r.part}` : `d${r.disk}`;
}

interface ImageState {
  root: string | null;
  kernel: string | null;
  args: string | null;
  initrd: string | null;
}

function setImageField(img: ImageState, field: string, arg: string, v: XenVersion): void {
  if (field === 'root') img.root = fmtRoot(diskPart(arg, v));
  else if (field === 'kernel') {
    if (!arg.includes(' ')) {
      img.kernel = getPath(arg, v);
      img.args = null;
    } else {
      const [k, a] = pySplitWs(arg, 1) as [string, string];
      img.kernel = getPath(k, v);
      img.args = a;
    }
  } else if (field === 'initrd') img.initrd = getPath(arg, v);
}

/** grub2_handle_set(arg). */
function grub2HandleSet(arg: string): [string, string] {
  const [com, value] = unpack2(grubSplit(arg, 2), 'set', arg);
  const m = /^(["'])(.*)\1/s.exec(value);
  return [`set:${com}`, m ? (m[2] as string) : value];
}

const GRUB2_IMAGE_COMMANDS: Record<string, string | null> = {
  'set:root': 'root',
  linux: 'kernel',
  linux16: 'kernel',
  initrd: 'initrd',
  initrd16: 'initrd',
  echo: null,
  insmod: null,
  search: null,
};
const GRUB2_COMMANDS: Record<string, string | null> = {
  'set:default': 'default',
  'set:root': 'root',
  'set:timeout': 'timeout',
  terminal: null,
  insmod: null,
  load_env: null,
  save_env: null,
  search: null,
  if: null,
  fi: null,
};
const LEGACY_IMAGE_COMMANDS: Record<string, string | null> = {
  root: 'root',
  rootnoverify: 'root',
  kernel: 'kernel',
  initrd: 'initrd',
  chainloader: null,
  module: null,
};
const LEGACY_COMMANDS: Record<string, string | null> = {
  default: 'default',
  timeout: 'timeout',
  fallback: 'fallback',
  hiddenmenu: 'hiddenmenu',
  splashimage: 'splash',
  password: 'password',
  ...Object.fromEntries(
    [
      'bootp',
      'color',
      'device',
      'dhcp',
      'hide',
      'ifconfig',
      'pager',
      'partnew',
      'parttype',
      'rarp',
      'serial',
      'setkey',
      'terminal',
      'terminfo',
      'tftpserver',
      'unhide',
    ].map((c) => [c, null]),
  ),
};

function setDefault(val: string, v: XenVersion): string | number {
  if (val === 'saved') return 0;
  if (versionBelow(v, CHANGES.grub2DefaultVariables)) {
    // Old GrubConf.py: self._default = int(val)
    return pyInt(val, 'default');
  }
  const n = /^[ \t]*[+-]?\d+[ \t]*$/.test(val) ? Number(val) : 0;
  if (n < 0) throw new PyError('ValueError: default must be non-negative number', 'default', val);
  return n;
}

/**
 * Parse a config as the pygrub of Xen `v` would. Errors do not stop the model: each failing
 * line is recorded (`allErrors`), `error` is the one pygrub would stop at.
 */
export function modelPygrub(text: string, kind: ConfigKind, v: XenVersion): ModelResult {
  const res: ModelResult = {
    kind,
    images: [],
    error: null,
    allErrors: [],
    warnings: [],
    default: 0,
    defaultLines: [],
    timeout: -1,
  };
  if (kind === 'extlinux') return res;
  const lines = text.split('\n');
  const fail = (line: number, e: unknown) => {
    if (!(e instanceof PyError)) throw e;
    const err: ModelError = { line, exception: e.exception, cause: e.why, value: e.value };
    res.allErrors.push(err);
    if (!res.error) res.error = err;
  };
  const addImage = (title: string, body: { line: number; text: string }[], first: number, last: number) => {
    const img: ImageState = { root: null, kernel: null, args: null, initrd: null };
    const table = kind === 'grub2' ? GRUB2_IMAGE_COMMANDS : LEGACY_IMAGE_COMMANDS;
    for (const { line, text: l } of body) {
      try {
        let [com, arg] = grubExactSplit(l, 2) as [string, string];
        if (kind === 'grub2' && com === 'set') [com, arg] = grub2HandleSet(arg);
        if (com in table) {
          const field = table[com];
          if (field) setImageField(img, field, pyStrip(arg), v);
        } else if (!(kind === 'grub2' && com.startsWith('set:'))) {
          res.warnings.push({ line, text: `Unknown image directive ${com}` });
        }
      } catch (e) {
        fail(line, e);
      }
    }
    res.images.push({ title: pyStrip(title), firstLine: first, lastLine: last, ...img });
  };
  const topLevel = (line: number, l: string) => {
    try {
      let [com, arg] = grubExactSplit(l, 2) as [string, string];
      if (kind === 'grub2' && com === 'set') [com, arg] = grub2HandleSet(arg);
      const table = kind === 'grub2' ? GRUB2_COMMANDS : LEGACY_COMMANDS;
      if (com in table) {
        const field = table[com];
        if (!field) return;
        let val = pyStrip(arg);
        if (
          kind === 'grub2' &&
          (val === '${saved_entry}' || val === '${next_entry}') &&
          !versionBelow(v, CHANGES.grub2DefaultVariables)
        ) {
          res.warnings.push({ line, text: "grub2's saved_entry/next_entry not supported" });
          val = '0';
        }
        if (field === 'default') {
          res.defaultLines.push(line);
          res.default = setDefault(val, v);
        } else if (field === 'timeout') res.timeout = val;
      } else if (!(kind === 'grub2' && com.startsWith('set:'))) {
        res.warnings.push({ line, text: `Unknown directive ${com}` });
      }
    } catch (e) {
      fail(line, e);
    }
  };

  if (kind === 'grub-legacy') {
    let img: { line: number; text: string }[] | null = null;
    let title = '';
    let first = 0;
    let last = 0;
    lines.forEach((raw, i) => {
      const n = i + 1;
      const l = pyStrip(raw);
      if (!l || l.startsWith('#')) return;
      if (l.startsWith('title')) {
        if (img !== null) addImage(title, img, first, last);
        img = [];
        title = l.slice(6);
        first = last = n;
        return;
      }
      if (img !== null) {
        img.push({ line: n, text: l });
        last = n;
        return;
      }
      topLevel(n, l);
    });
    if (img !== null && (img as unknown[]).length) addImage(title, img, first, last);
    return res;
  }

  let inFunction = false;
  let img: { line: number; text: string }[] | null = null;
  let title = '';
  let first = 0;
  let menuLevel = 0;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const l = pyStrip(lines[i] as string);
    if (!l || l.startsWith('#')) continue;
    if (l.startsWith('function')) {
      inFunction = true;
      continue;
    }
    if (inFunction) {
      if (l.startsWith('}')) inFunction = false;
      continue;
    }
    const tm = /^menuentry ["'](.*?)["'] (.*)\{/.exec(l);
    if (tm) {
      if (img !== null) {
        fail(n, new PyError(`RuntimeError: syntax error: cannot nest menuentry (${img.length} ...)`, 'syntax', l));
        break;
      }
      img = [];
      title = tm[1] as string;
      first = n;
      continue;
    }
    if (l.startsWith('submenu')) {
      menuLevel++;
      continue;
    }
    if (l.startsWith('}')) {
      if (img === null) {
        if (menuLevel > 0) {
          menuLevel--;
          continue;
        }
        fail(n, new PyError('RuntimeError: syntax error: closing brace without menuentry', 'syntax', l));
        break;
      }
      addImage(title, img, first, n);
      img = null;
      continue;
    }
    if (img !== null) {
      img.push({ line: n, text: l });
      continue;
    }
    topLevel(n, l);
  }
  if (img !== null)
    fail(lines.length, new PyError('RuntimeError: syntax error: end of file with open menuentry', 'syntax', ''));
  return res;
}

/**
 * What `pygrub -l` prints for the model's entries, as Xen 4.17 prints them: it stops (an
 * exception it swallows) at the first entry without a kernel or without an initrd, after
 * printing the lines it got to.
 */
export function formatListing(images: readonly ModelImage[]): string {
  let out = '';
  for (const i of images) {
    out += `title: ${i.title}\n  root: ${i.root ?? 'None'}\n`;
    if (i.kernel === null) break;
    out += `  kernel: ${i.kernel}\n  args: ${i.args ?? 'None'}\n`;
    if (i.initrd === null) break;
    out += `  initrd: ${i.initrd}\n`;
  }
  return out;
}

/** Parse `pygrub -l` output into entries (title, root, kernel, args, initrd). */
export function parseListing(
  out: string,
): { title: string; root: string; kernel: string; args: string; initrd: string }[] {
  const entries: { title: string; root: string; kernel: string; args: string; initrd: string }[] = [];
  let cur: Record<string, string> | undefined;
  for (const line of out.split('\n')) {
    const t = /^title: (.*)$/.exec(line);
    if (t) {
      cur = { title: t[1] as string };
      entries.push(cur as never);
      continue;
    }
    const f = /^ {2}(root|kernel|args|initrd): (.*)$/.exec(line);
    if (f && cur) cur[f[1] as string] = f[2] as string;
  }
  return entries;
}
