/**
 * A line-for-line model of pygrub's config parsers (Xen's tools/pygrub/src/GrubConf.py and
 * ExtLinuxConf.py) and of its entry selection (pygrub's Grub.image_index and run_grub), per
 * group of Xen releases whose code is identical. What each group does differently is in
 * PYGRUB_CODE below, each switch named after the code it follows (RELEASE-x.y.z tags of
 * xen-project/xen). The model is checked against every cell of the oracle in
 * test/fixtures/oracle/pygrub (each release's own, unmodified pygrub run on a corpus of configs)
 * and against the real pygrub of this machine (Xen 4.17).
 */
import type { PygrubPartitionCode } from '../disk/partitions.js';
import type { XenVersion } from './version.js';

export type ConfigKind = 'grub2' | 'grub-legacy' | 'extlinux';

/** What changed in GrubConf.py / ExtLinuxConf.py / the selection code, per oracle group. */
export interface PygrubCode {
  /** Grub2ConfigFile.parse's menuentry regex: `"` only (4.0.0) or `["']`, greedy `(.*)` or lazy `(.*?)`. */
  menuentry: 'double-greedy' | 'both-greedy' | 'both-lazy';
  /** GrubDiskPart.set_part strips `msdos` (from 4.0.2) and `gpt` (4.1.3 / 4.2.0) before int(). */
  msdos: boolean;
  gpt: boolean;
  /** GrubDiskPart.set_disk reads /dev/xvdX (4.4.0+). */
  xvd: boolean;
  /** Grub2ConfigFile.parse counts `submenu` levels (4.1.3 / 4.2.0+); before, their `}` raises. */
  submenu: boolean;
  /** Grub2Image.commands has linux16/initrd16 ("RHEL 7 has new commands": 4.2.5, 4.3.3, 4.4.1, 4.5.0+). */
  linux16: boolean;
  /**
   * `set default=${saved_entry}` / `${next_entry}`: none (int() raises), saved (→ "0", 4.1.3),
   * both (→ "0", 4.1.6 / 4.2.3 / 4.3.0), kept (a warning, but arg_strip keeps the text: 4.3.4,
   * 4.4.2–4.12), warn (→ "0" with a warning, 4.13+).
   */
  savedNext: 'none' | 'saved' | 'both' | 'kept' | 'warn';
  /** _GrubConfigFile._set_default: int(val) raises (int), keeps the text (str: 4.3.4, 4.4.2–4.12), int() or 0 (4.13+). */
  default: 'int' | 'str' | 'int-or-0';
  /** Grub.image_index exists (4.3.4, 4.4.2+): text defaults are looked up as titles. */
  imageIndex: boolean;
  /** run_grub's args: `img.args + " " + arg` (old: 4.0.0–4.1.3, 4.2.0) or `"" + img.args` (new). */
  args: 'old' | 'new';
  /** ExtLinuxImage: no args setter (4.0.x–4.1.2: AttributeError), `arg.find("initrd=")` (4.1.3–4.1.6), `"initrd=" in arg`. */
  extlinux: 'no-args-setter' | 'find-initrd' | 'in-initrd';
  python: 'py2' | 'py3';
  /** How it finds partition offsets (pygrub's get_fs_offset / get_partition_offsets). */
  partitions: PygrubPartitionCode;
}

// RELEASE-4.0.0 – 4.0.4: get_fs_offset.
const P_FS_OFFSET: PygrubPartitionCode = {
  fn: 'get_fs_offset',
  gpt: 'first-entry',
  hybridIso: false,
  emptyIsWholeDisk: false,
  activeFirst: true,
};
// RELEASE-4.1.0: get_partition_offsets; 4.1.3: every GPT entry; 4.2.0: identify_disk_image (HybridISO);
// 4.5.3 and 4.6.3: an MBR without valid entries is the whole disk; 4.13.0: Python 3.
const P_LIST: PygrubPartitionCode = { ...P_FS_OFFSET, fn: 'get_partition_offsets' };
const P_GPT_ALL: PygrubPartitionCode = { ...P_LIST, gpt: 'all-entries' };
const P_HYBRID: PygrubPartitionCode = { ...P_GPT_ALL, hybridIso: true };
const P_HYBRID_EMPTY0: PygrubPartitionCode = { ...P_HYBRID, emptyIsWholeDisk: true };
const P_PY3: PygrubPartitionCode = { ...P_GPT_ALL, emptyIsWholeDisk: true, activeFirst: false };

const C = (base: PygrubCode, over: Partial<PygrubCode>): PygrubCode => ({ ...base, ...over });
const G00: PygrubCode = {
  menuentry: 'double-greedy',
  msdos: false,
  gpt: false,
  xvd: false,
  submenu: false,
  linux16: false,
  savedNext: 'none',
  default: 'int',
  imageIndex: false,
  args: 'old',
  extlinux: 'no-args-setter',
  python: 'py2',
  partitions: P_FS_OFFSET,
};
// RELEASE-4.0.1: ["\'] in the menuentry regex.
const G01 = C(G00, { menuentry: 'both-greedy' });
// RELEASE-4.0.2: set_part strips "msdos".
const G02 = C(G01, { msdos: true });
// RELEASE-4.1.3: "gpt", submenu levels, ${saved_entry}; ExtLinuxConf's initrd= (arg.find) and args setter.
const G03 = C(G02, { partitions: P_LIST });
const G04 = C(G02, { gpt: true, submenu: true, savedNext: 'saved', extlinux: 'find-initrd', partitions: P_GPT_ALL });
// RELEASE-4.1.4: run_grub(file, entry, fs, cfg_args) builds args from "".
const G05 = C(G04, { args: 'new' });
// RELEASE-4.1.6: ${next_entry}.
const G06 = C(G05, { savedNext: 'both' });
// RELEASE-4.2.0: GrubConf.py as 4.1.3; ExtLinuxConf's `"initrd=" in arg`; run_grub's old args.
const G07 = C(G04, { extlinux: 'in-initrd', partitions: P_HYBRID });
const G08 = C(G07, { args: 'new' });
const G09 = C(G08, { savedNext: 'both' });
// RELEASE-4.2.5: linux16/initrd16, lazy title regex.
const G10 = C(G09, { linux16: true, menuentry: 'both-lazy' });
// RELEASE-4.3.0: GrubConf.py without the RHEL 7 change.
const G11 = C(G09, {});
// RELEASE-4.3.3: the RHEL 7 change.
const G13 = C(G10, {});
// RELEASE-4.3.4: _set_default keeps the text; image_index maps titles; saved/next warn but stay.
const G14 = C(G13, { default: 'str', savedNext: 'kept', imageIndex: true });
// RELEASE-4.4.0: /dev/xvdX disks; int(val) again; no linux16; greedy titles.
const G15 = C(G11, { xvd: true });
// RELEASE-4.4.1: linux16 and lazy titles.
const G16 = C(G15, { linux16: true, menuentry: 'both-lazy' });
// RELEASE-4.4.2 (and 4.5.0 – 4.12.x): as 4.3.4, with /dev/xvdX.
const G17 = C(G14, { xvd: true });
// RELEASE-4.13.0+: Python 3; int() or 0; saved/next → "0" with a warning.
const G19 = C(G17, { partitions: P_HYBRID_EMPTY0 });
const G22 = C(G17, { default: 'int-or-0', savedNext: 'warn', python: 'py3', partitions: P_PY3 });

/** The code of each oracle group (groups of releases whose pygrub is identical). */
export const PYGRUB_CODE: Readonly<Record<string, PygrubCode>> = {
  g00: G00,
  g01: G01,
  g02: G02,
  g03: G03,
  g04: G04,
  g05: G05,
  g06: G06,
  g07: G07,
  g08: G08,
  g09: G09,
  g10: G10,
  g11: G11,
  g12: G11,
  g13: G13,
  g14: G14,
  g15: G15,
  g16: G16,
  g17: G17,
  g18: G17,
  g19: G19,
  g20: G17,
  g21: G19,
  g22: G22,
  g23: G22,
  g24: G22,
  g25: G22,
  g26: G22,
};

export function codeOf(v: XenVersion): PygrubCode {
  const c = PYGRUB_CODE[v.group.id];
  if (!c) throw new Error(`no pygrub code known for group ${v.group.id}`);
  return c;
}

export interface DevicePart {
  disk: number;
  part: number | null;
}

export interface ModelImage {
  title: string;
  /** Line numbers (1-based) of the menuentry's lines. */
  firstLine: number;
  lastLine: number;
  /** GrubDiskPart's repr (`d0p1`), '' for extlinux (its root is the empty string), or null. */
  root: string | null;
  kernel: string | null;
  /** The device of a `(hd0,0)/vmlinuz` path, as GrubDiskPart's repr. */
  kernelDevice: string | null;
  args: string | null;
  initrd: string | null;
  initrdDevice: string | null;
}

export interface ModelError {
  /** 1-based line number of the line that raised. */
  line: number;
  /** The Python exception as pygrub --debug would print it. */
  exception: string;
  type: string;
  msg: string;
  /** What made it raise, in GRUB terms. */
  cause: 'partition' | 'disk' | 'default' | 'syntax' | 'set' | 'path' | 'extlinux';
  /** The text that could not be parsed. */
  value: string;
}

export interface ModelResult {
  kind: ConfigKind;
  /** Every entry, including those after a line that raises (for a complete report). */
  images: ModelImage[];
  /** The first error pygrub raises (it stops there), or null. */
  error: ModelError | null;
  /** Every line that would raise, had the ones before it not (for a complete report). */
  allErrors: ModelError[];
  /** How many entries pygrub had built when it raised (all of them when it did not). */
  imagesBeforeError: number;
  /** Warnings pygrub prints (`Unknown directive load_video`). */
  warnings: { line: number; text: string }[];
  /** The default entry as pygrub ends up with it (a number, or the text: a title). */
  default: string | number;
  /** The default when pygrub raised (what the parse had set before the error). */
  defaultBeforeError: string | number;
  /** 1-based line numbers of top-level `set default=` lines. */
  defaultLines: number[];
  timeout: string | number;
}

class PyError extends Error {
  constructor(
    readonly type: string,
    readonly msg: string,
    readonly why: ModelError['cause'],
    readonly value: string,
  ) {
    super(`${type}: ${msg}`);
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

/** Python's int(s) for base 10 (Python 3 also takes underscores between digits). */
function pyInt(s: string, cause: ModelError['cause'], py: 'py2' | 'py3'): number {
  const re =
    py === 'py3'
      ? /^[ \t\n\r\x0b\x0c]*[+-]?\d+(?:_\d+)*[ \t\n\r\x0b\x0c]*$/
      : /^[ \t\n\r\x0b\x0c]*[+-]?\d+[ \t\n\r\x0b\x0c]*$/;
  if (re.test(s)) return Number(s.replace(/_/g, ''));
  throw new PyError('ValueError', `invalid literal for int() with base 10: ${pyRepr(s, py)}`, cause, s);
}

/** Python's repr() of a str: Python 2 shows non-ASCII as \xNN bytes of its UTF-8. */
export function pyRepr(s: string, py: 'py2' | 'py3' = 'py3'): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let body = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\') body += '\\\\';
    else if (ch === quote) body += `\\${quote}`;
    else if (ch === '\n') body += '\\n';
    else if (ch === '\t') body += '\\t';
    else if (ch === '\r') body += '\\r';
    else if (c < 0x20 || c === 0x7f) body += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c > 0x7f && py === 'py2')
      body += [...Buffer.from(ch, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
    else body += ch;
  }
  return `${quote}${body}${quote}`;
}

/** Python's repr() of the list of lines a menuentry holds so far. */
const pyList = (img: { text: string }[], py: 'py2' | 'py3') => `[${img.map((x) => pyRepr(x.text, py)).join(', ')}]`;

/** Unpacking a list into two names, with the message of the release's Python. */
function unpack2(parts: string[], cause: ModelError['cause'], value: string, py: 'py2' | 'py3'): [string, string] {
  if (parts.length < 2) {
    const n = parts.length;
    throw new PyError(
      'ValueError',
      py === 'py2'
        ? `need more than ${n} value${n === 1 ? '' : 's'} to unpack`
        : `not enough values to unpack (expected 2, got ${n})`,
      cause,
      value,
    );
  }
  if (parts.length > 2)
    throw new PyError(
      'ValueError',
      py === 'py2' ? 'too many values to unpack' : 'too many values to unpack (expected 2)',
      cause,
      value,
    );
  return [parts[0] as string, parts[1] as string];
}

/** GrubDiskPart(str): the disk and partition pygrub makes of `(hd0,msdos1` or `hd0,msdos1`. */
export function diskPart(str: string, code: PygrubCode): DevicePart {
  const py = code.python;
  let disk: string;
  let part: string | null;
  if (str.includes(',')) [disk, part] = unpack2(pySplitSep(str, ',', 2), 'partition', str, py);
  else {
    disk = str;
    part = null;
  }
  let d = disk.replace(/[()]/g, '');
  let diskNo: number;
  if (code.xvd && d.startsWith('/dev/xvd')) {
    const c = d[8];
    if (c === undefined) throw new PyError('IndexError', 'string index out of range', 'disk', disk);
    diskNo = c.charCodeAt(0) - 97;
  } else {
    d = d.slice(2);
    diskNo = withValue(() => pyInt(d, 'disk', py), str);
  }
  let partNo: number | null = null;
  if (part !== null) {
    let p = part.replace(/[()]/g, '');
    if (code.msdos && p.startsWith('msdos')) p = p.slice(5);
    if (code.gpt && p.startsWith('gpt')) p = p.slice(3);
    partNo = withValue(() => pyInt(p, 'partition', py), str);
  }
  return { disk: diskNo, part: partNo };
}

/** Errors name the whole device text (`(hd0,msdos1`), not only the piece int() saw. */
function withValue<T>(fn: () => T, value: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PyError) throw new PyError(e.type, e.msg, e.why, value);
    throw e;
  }
}

const fmtDev = (r: DevicePart): string => (r.part !== null ? `d${r.disk}p${r.part}` : `d${r.disk}`);

/** get_path(s): a path with an optional `(disk,part)` prefix. */
function getPath(s: string, code: PygrubCode): { dev: string | null; path: string } {
  if (!s.startsWith('(')) return { dev: null, path: s };
  const idx = s.indexOf(')');
  if (idx === -1) throw new PyError('ValueError', "Unable to find matching ')'", 'path', s);
  return { dev: fmtDev(diskPart(s.slice(0, idx), code)), path: s.slice(idx + 1) };
}

interface ImageState {
  root: string | null;
  kernel: string | null;
  kernelDevice: string | null;
  args: string | null;
  initrd: string | null;
  initrdDevice: string | null;
}

const emptyImage = (): ImageState => ({
  root: null,
  kernel: null,
  kernelDevice: null,
  args: null,
  initrd: null,
  initrdDevice: null,
});

/** _GrubImage.set_kernel / set_initrd / set_root. */
function setImageField(img: ImageState, field: string, arg: string, code: PygrubCode): void {
  if (field === 'root') img.root = fmtDev(diskPart(arg, code));
  else if (field === 'kernel') {
    if (!arg.includes(' ')) {
      const p = getPath(arg, code);
      img.kernel = p.path;
      img.kernelDevice = p.dev;
      img.args = null;
    } else {
      const [k, a] = pySplitWs(arg, 1) as [string, string];
      const p = getPath(k, code);
      img.kernel = p.path;
      img.kernelDevice = p.dev;
      img.args = a;
    }
  } else if (field === 'initrd') {
    const p = getPath(arg, code);
    img.initrd = p.path;
    img.initrdDevice = p.dev;
  }
}

/** grub2_handle_set(arg). */
function grub2HandleSet(arg: string, py: 'py2' | 'py3'): [string, string] {
  const [com, value] = unpack2(grubSplit(arg, 2), 'set', arg, py);
  const m = /^(["'])(.*)\1/.exec(value);
  return [`set:${com}`, m ? (m[2] as string) : value];
}

const GRUB2_IMAGE_COMMANDS: Record<string, string | null> = {
  'set:root': 'root',
  linux: 'kernel',
  initrd: 'initrd',
  echo: null,
  insmod: null,
  search: null,
};
const GRUB2_IMAGE_COMMANDS_16: Record<string, string | null> = {
  ...GRUB2_IMAGE_COMMANDS,
  linux16: 'kernel',
  initrd16: 'initrd',
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
const EXTLINUX_COMMANDS: Record<string, string | null> = {
  default: 'default',
  timeout: 'timeout',
  serial: null,
  prompt: null,
  display: null,
  f1: null,
  f2: null,
};
const EXTLINUX_IMAGE_COMMANDS: Record<string, string> = { label: 'title', kernel: 'kernel', append: 'args' };
const has = (table: Record<string, unknown>, key: string) => Object.prototype.hasOwnProperty.call(table, key);

/** _GrubConfigFile._set_default. */
function setDefault(val: string, code: PygrubCode, warn: (t: string) => void): string | number {
  if (val === 'saved') return 0;
  let d: string | number;
  if (code.default === 'int') d = pyInt(val, 'default', code.python);
  else if (code.default === 'str')
    return val; // `self._default < 0` is False for a str in Python 2
  else {
    try {
      d = pyInt(val, 'default', code.python);
    } catch {
      warn(`Invalid value ${val}, setting default to 0`);
      d = 0;
    }
  }
  if (d < 0)
    throw new PyError(
      'ValueError',
      code.python === 'py2' ? 'default must be positive number' : 'default must be non-negative number',
      'default',
      val,
    );
  return d;
}

/**
 * Parse a config as the pygrub of Xen `v` would. Errors do not stop the model: each failing
 * line is recorded (`allErrors`), `error` is the one pygrub would stop at.
 */
export function modelPygrub(text: string, kind: ConfigKind, v: XenVersion | PygrubCode): ModelResult {
  const code = 'menuentry' in v ? v : codeOf(v);
  const py = code.python;
  const res: ModelResult = {
    kind,
    images: [],
    error: null,
    allErrors: [],
    imagesBeforeError: 0,
    warnings: [],
    default: 0,
    defaultBeforeError: 0,
    defaultLines: [],
    timeout: -1,
  };
  const lines = text.split('\n');
  const fail = (line: number, e: unknown) => {
    if (!(e instanceof PyError)) throw e;
    const err: ModelError = {
      line,
      exception: `${e.type}: ${e.msg}`,
      type: e.type,
      msg: e.msg,
      cause: e.why,
      value: e.value,
    };
    res.allErrors.push(err);
    if (!res.error) {
      res.error = err;
      res.imagesBeforeError = res.images.length;
      res.defaultBeforeError = res.default;
    }
  };
  const done = () => {
    if (!res.error) {
      res.imagesBeforeError = res.images.length;
      res.defaultBeforeError = res.default;
    }
    return res;
  };
  if (kind === 'extlinux') {
    parseExtlinux(lines, code, res, fail);
    return done();
  }

  const addImage = (title: string, body: { line: number; text: string }[], first: number, last: number) => {
    const img = emptyImage();
    const table =
      kind === 'grub2' ? (code.linux16 ? GRUB2_IMAGE_COMMANDS_16 : GRUB2_IMAGE_COMMANDS) : LEGACY_IMAGE_COMMANDS;
    // _GrubImage._parse: map(self.set_from_line, lines). The first line that raises stops pygrub;
    // the model goes on to report every line that would.
    for (const { line, text: l } of body) {
      try {
        let [com, arg] = grubExactSplit(l, 2) as [string, string];
        if (kind === 'grub2' && com === 'set') [com, arg] = grub2HandleSet(arg, py);
        if (has(table, com)) {
          const field = table[com];
          if (field) setImageField(img, field, pyStrip(arg), code);
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
      if (kind === 'grub2' && com === 'set') [com, arg] = grub2HandleSet(arg, py);
      const table = kind === 'grub2' ? GRUB2_COMMANDS : LEGACY_COMMANDS;
      if (has(table, com)) {
        const field = table[com];
        if (!field) return;
        let val = pyStrip(arg);
        if (kind === 'grub2') {
          const saved = val === '${saved_entry}';
          const next = val === '${next_entry}';
          const s = code.savedNext;
          if ((saved || next) && (s === 'kept' || s === 'warn'))
            res.warnings.push({ line, text: "grub2's saved_entry/next_entry not supported" });
          if ((saved && s !== 'none' && s !== 'kept') || (next && (s === 'both' || s === 'warn'))) val = '0';
        }
        if (field === 'default') {
          res.defaultLines.push(line);
          res.default = setDefault(val, code, (text) => res.warnings.push({ line, text }));
        } else if (field === 'timeout') res.timeout = val;
        else if (field === 'splash') getPath(val, code);
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
    return done();
  }

  const titleRe =
    code.menuentry === 'double-greedy'
      ? /^menuentry "(.*)" (.*)\{/
      : code.menuentry === 'both-greedy'
        ? /^menuentry ["'](.*)["'] (.*)\{/
        : /^menuentry ["'](.*?)["'] (.*)\{/;
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
    const tm = titleRe.exec(l);
    if (tm) {
      if (img !== null) {
        fail(
          n,
          new PyError(
            'RuntimeError',
            `syntax error: cannot nest menuentry (${img.length} ${pyList(img, py)})`,
            'syntax',
            l,
          ),
        );
        break;
      }
      img = [];
      title = tm[1] as string;
      first = n;
      continue;
    }
    if (code.submenu && l.startsWith('submenu')) {
      menuLevel++;
      continue;
    }
    if (l.startsWith('}')) {
      if (img === null) {
        if (menuLevel > 0) {
          menuLevel--;
          continue;
        }
        // pygrub stops here; the model goes on (as if the brace were not there) to report the rest.
        fail(n, new PyError('RuntimeError', 'syntax error: closing brace without menuentry', 'syntax', l));
        continue;
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
    fail(
      lines.length,
      new PyError(
        'RuntimeError',
        `syntax error: end of file with open menuentry(${img.length} ${pyList(img, py)})`,
        'syntax',
        '',
      ),
    );
  return done();
}

/** ExtLinuxConf.ExtLinuxConfigFile.parse and ExtLinuxImage.set_from_line. */
function parseExtlinux(
  lines: string[],
  code: PygrubCode,
  res: ModelResult,
  fail: (line: number, e: unknown) => void,
): ModelResult {
  let defaultTitle: string | number = 0;
  const add = (body: { line: number; text: string }[]) => {
    const img = { ...emptyImage(), root: '', args: '' as string | null, title: '' };
    for (const { line, text } of body) {
      try {
        let [com, arg] = grubExactSplit(text, 2) as [string | null, string];
        com = (com as string).toLowerCase();
        if (com === 'append' && img.kernel !== null) {
          if (img.kernel.endsWith('mboot.c32')) {
            const modules = pySplitSep(arg, '---');
            let kernel: string | undefined;
            let initrd: string | undefined;
            if (modules.length === 3) [, kernel, initrd] = modules;
            else if (modules.length === 2) [kernel, initrd] = modules;
            if (kernel) extKernel(img, pyStrip(kernel));
            if (initrd) img.initrd = pyStrip(initrd);
            com = null;
          } else if (code.extlinux === 'find-initrd' ? arg.indexOf('initrd=') !== 0 : arg.includes('initrd=')) {
            for (const a of pyStrip(arg).split(' ')) {
              if (a.toLowerCase().startsWith('initrd=')) {
                img.initrd = a.split('initrd=').join('');
                arg = arg.split(a).join('');
              }
            }
          }
        }
        if (com !== null && has(EXTLINUX_IMAGE_COMMANDS, com)) {
          const field = EXTLINUX_IMAGE_COMMANDS[com];
          const val = pyStrip(arg).replace(/^"(.+)"$/, '$1');
          if (field === 'args' && code.extlinux === 'no-args-setter')
            throw new PyError('AttributeError', "can't set attribute", 'extlinux', text);
          if (field === 'title') img.title = val;
          else if (field === 'kernel') extKernel(img, val);
          else img.args = val;
        } else if (com !== null) res.warnings.push({ line, text: `Unknown image directive ${com}` });
      } catch (e) {
        fail(line, e);
        return;
      }
    }
    const first = body[0]?.line ?? 0;
    const last = body.at(-1)?.line ?? 0;
    res.images.push({ ...img, firstLine: first, lastLine: last });
  };
  let img: { line: number; text: string }[] = [];
  lines.forEach((raw, i) => {
    const n = i + 1;
    const l = pyStrip(raw);
    if (!l || l.startsWith('#')) return;
    if (l.toLowerCase().startsWith('label')) {
      if (img.length) add(img);
      img = [{ line: n, text: l }];
      return;
    }
    if (img.length) {
      img.push({ line: n, text: l });
      return;
    }
    const [c, arg] = grubExactSplit(l, 2) as [string, string];
    const com = c.toLowerCase();
    if (has(EXTLINUX_COMMANDS, com)) {
      if (com === 'default') {
        defaultTitle = pyStrip(arg);
        res.defaultLines.push(n);
      } else if (com === 'timeout') res.timeout = pyStrip(arg);
    } else res.warnings.push({ line: n, text: `Unknown directive ${com}` });
  });
  if (img.length) add(img);
  // ExtLinuxConfigFile._get_default: the index of the image whose title is the default, else 0.
  const idx = res.images.findIndex((im) => im.title === defaultTitle);
  res.default = idx === -1 ? 0 : idx;
  return res;
}

/** ExtLinuxImage.set_kernel: (None, path), the rest of the line as args. */
function extKernel(img: ImageState, val: string): void {
  if (!val.includes(' ')) {
    img.kernel = val;
    img.args = null;
    return;
  }
  const [k, a] = pySplitWs(val, 1) as [string, string];
  img.kernel = k;
  img.args = a;
}

export interface Selection {
  status: 'ok' | 'exception';
  /** The index pygrub selects (before the IndexError fallback to entry 0). */
  sel: number | null;
  /** The entry it boots, after the fallback. */
  index: number | null;
  kernel: string | null;
  ramdisk: string | null;
  args: string | null;
  /** Grub.image_index's result, where the release has that method. */
  imageIndex?: number;
  error?: { type: string; msg: string; exception: string };
  warnings: string[];
}

/**
 * run_grub(file, None, fs, "") with -q: which entry pygrub boots and what it passes on, or
 * what it raises. pygrub's main loop swallows the exception and tries the next partition.
 */
export function selectEntry(model: ModelResult, v: XenVersion | PygrubCode): Selection {
  const code = 'menuentry' in v ? v : codeOf(v);
  const warnings: string[] = [];
  const raise = (type: string, msg: string, sel: number | null): Selection => ({
    status: 'exception',
    sel,
    index: null,
    kernel: null,
    ramdisk: null,
    args: null,
    error: { type, msg, exception: `${type}: ${msg}` },
    warnings,
  });
  if (model.error) return raise(model.error.type, model.error.msg, null);
  const images = model.images;
  let sel: number;
  let imageIndex: number | undefined;
  if (code.imageIndex) {
    // Grub.image_index (RELEASE-4.3.4+).
    const d = model.default;
    if (typeof d === 'number') sel = d;
    else if (/^\d+$/.test(d)) sel = Number(d);
    else {
      let title = d;
      for (;;) {
        const m = /(\S)>(\S.+$)/.exec(title);
        if (!m) break;
        title = m[2] as string;
      }
      sel = 0;
      const i = images.findIndex((im) => im.title === title);
      if (i !== -1) sel = i;
    }
    if (sel > images.length) {
      warnings.push('Default image not found');
      sel = 0;
    }
    imageIndex = sel;
  } else {
    sel = typeof model.default === 'number' ? model.default : Number(model.default);
  }
  // img = g.cf.images[sel], except IndexError: g.cf.images[0]
  const index = sel < images.length ? sel : 0;
  const img = images[index];
  const withIndex = imageIndex === undefined ? {} : { imageIndex };
  if (!img) return { ...raise('IndexError', 'list index out of range', sel), ...withIndex };
  if (img.kernel === null)
    return {
      ...raise(
        'TypeError',
        code.python === 'py2'
          ? "'NoneType' object has no attribute '__getitem__'"
          : "'NoneType' object is not subscriptable",
        sel,
      ),
      ...withIndex,
    };
  let args: string | null;
  if (code.args === 'old') args = img.args ? `${img.args} ` : null;
  else args = img.args ? img.args : '';
  return {
    status: 'ok',
    sel,
    index,
    kernel: img.kernel,
    ramdisk: img.initrd ? img.initrd : null,
    args,
    ...withIndex,
    warnings,
  };
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
