/**
 * xl-disk-configuration(5): a disk spec read as libxlutil's xlu_disk_parse() reads it, release by
 * release.
 *
 * The reader is the flex scanner of xen-project/xen tools/libs/util/libxlu_disk_l.l (tools/libxl/
 * before RELEASE-4.15.0) and the checks after it in libxlu_disk.c, xlu_disk_parse(). Flex takes,
 * at each position, the rule with the longest match, counting a rule's trailing context (`/.*`)
 * in its length, and the earlier rule on a tie; {@link scan} does the same with the rules in the
 * same order. The rules each release has, read from the tags:
 *
 * | from   | rules added                                                             |
 * | ------ | ----------------------------------------------------------------------- |
 * | 4.2.0  | libxlu_disk.c appears (4.1 xl parses disks itself): format, access,     |
 * |        | devtype, cdrom, backendtype (phy, tap, qdisk), vdev, script, target,    |
 * |        | the xend prefixes incl. the block-script ones drbd: iscsi: nbd: enbd:,  |
 * |        | positional target,format,vdev,access and `,hdc:cdrom,r`                 |
 * | 4.3.0  | backend=                                                                |
 * | 4.5.0  | direct-io-safe, discard, no-discard                                     |
 * | 4.8.0  | colo, no-colo, colo-host=, colo-port=, colo-export=, active-disk=,      |
 * |        | hidden-disk=                                                            |
 * | 4.9.0  | format=qed                                                              |
 * | 4.17.0 | specification= (xen, virtio), backendtype=standalone                    |
 * | 4.19.0 | trusted, untrusted, grant_usage=1, grant_usage=0                        |
 *
 * What xl runs is the scanner generated from the .l and committed beside it (libxlu_disk_l.c),
 * and twice it lagged the .l: the COLO rules are in the .l of RELEASE-4.7.0 but in the generated
 * scanner only from 4.8.0 (4.7's xl reads `colo` as a positional target and `colo-host=` as an
 * unknown parameter), and trusted/untrusted are in the .l of 4.17.0 but generated only from
 * 4.19.0. The table follows the generated scanners, as the data shows them.
 *
 * test/fixtures/oracle/libxlu/ holds what every release's own libxlutil made of a corpus of
 * specs; test/xen/libxlu-oracle.test.ts checks this reader against each of them.
 */

/** A Xen release; without `patch` the newest patch release of the series is meant. */
export interface XenRelease {
  major: number;
  minor: number;
  patch?: number;
}

/** The newest release this reader knows; the default when none is given. */
export const NEWEST_RELEASE: XenRelease = { major: 4, minor: 22, patch: 0 };

/** release ≥ major.minor.patch (an unknown patch counts as the newest of its series). */
export function releaseAtLeast(r: XenRelease, major: number, minor: number, patch = 0): boolean {
  if (r.major !== major) return r.major > major;
  if (r.minor !== minor) return r.minor > minor;
  return (r.patch ?? Number.MAX_SAFE_INTEGER) >= patch;
}

export type DiskFormat = 'unknown' | 'qcow' | 'qcow2' | 'vhd' | 'raw' | 'empty' | 'qed';
export type DiskBackend = 'unknown' | 'phy' | 'tap' | 'qdisk' | 'standalone';

/** What libxl_device_disk holds after xlu_disk_parse (the fields it sets). */
export interface LibxlDisk {
  pdevPath: string | undefined;
  vdev: string | undefined;
  format: DiskFormat;
  backend: DiskBackend;
  backendDomname: string | undefined;
  script: string | undefined;
  readwrite: boolean;
  isCdrom: boolean;
  removable: boolean;
  directIoSafe: boolean;
  /** libxl_defbool: undefined is "default". */
  discard: boolean | undefined;
  colo: boolean | undefined;
  coloHost: string | undefined;
  coloPort: number;
  coloExport: string | undefined;
  activeDisk: string | undefined;
  hiddenDisk: string | undefined;
  specification: 'unknown' | 'xen' | 'virtio';
  trusted: boolean | undefined;
  grantUsage: boolean | undefined;
}

/** xl-disk-configuration(5) parameters as written, as a map. Flags (e.g. `discard`) map to ''. */
export type DiskSpec = Record<string, string>;

export class DiskSpecError extends Error {
  /** The message alone, e.g. `unknown value for format: near \`vmdk'`. */
  readonly reason: string;
  constructor(message: string, spec: string) {
    super(`config parsing error in disk specification: ${message} in \`${spec}'`);
    this.name = 'DiskSpecError';
    this.reason = message;
  }
}

/* ------------------------------------------------------------------ the scanner */

interface State {
  spec: string;
  release: XenRelease;
  disk: LibxlDisk;
  params: DiskSpec;
  /** The first error, as xl prints it (it goes on scanning, but the spec is refused). */
  error: string | undefined;
  hadDeprPrefix: boolean;
  accessSet: boolean;
}

/** A match: its total length (trailing context included) and the length of its text (yytext). */
interface Match {
  len: number;
  text: number;
}

/** An action; returning false stops the scanner (flex's `return 0`). */
type Action = (st: State, text: string) => boolean | void;

interface Rule {
  since?: [number, number];
  match: (s: string, i: number) => Match | undefined;
  action: Action;
}

/** flex's `.` matches anything but a newline. */
function restOfLine(s: string, i: number): number {
  const nl = s.indexOf('\n', i);
  return (nl < 0 ? s.length : nl) - i;
}

/** `WORD,?`: the literal, then an optional comma. */
function literal(word: string): Rule['match'] {
  return (s, i) => {
    if (!s.startsWith(word, i)) return undefined;
    const len = word.length + (s[i + word.length] === ',' ? 1 : 0);
    return { len, text: len };
  };
}

/** `KEY=[^,]*,?` */
function keyValue(key: string): Rule['match'] {
  return (s, i) => {
    if (!s.startsWith(`${key}=`, i)) return undefined;
    const comma = s.indexOf(',', i + key.length + 1);
    const len = comma < 0 ? s.length - i : comma + 1 - i;
    return { len, text: len };
  };
}

/** `PATTERN:/.*`: a prefix whose trailing context makes it outrank the rules after it. */
function prefix(words: string[]): Rule['match'] {
  return (s, i) => {
    for (const w of words) {
      if (s.startsWith(`${w}:`, i)) return { len: w.length + 1 + restOfLine(s, i + w.length + 1), text: w.length + 1 };
    }
    return undefined;
  };
}

function regex(re: RegExp): Rule['match'] {
  const sticky = new RegExp(re.source, 'y');
  return (s, i) => {
    sticky.lastIndex = i;
    const m = sticky.exec(s);
    return m && m[0].length > 0 ? { len: m[0].length, text: m[0].length } : undefined;
  };
}

/** The value after `=`, without a trailing comma (STRIP(',') then FROMEQUALS). */
function valueOf(text: string): string {
  const t = text.endsWith(',') ? text.slice(0, -1) : text;
  return t.slice(t.indexOf('=') + 1);
}
function stripComma(text: string): string {
  return text.endsWith(',') ? text.slice(0, -1) : text;
}

function fail(st: State, erroneous: string | undefined, message: string): void {
  st.error ??= erroneous === undefined ? message : `${message}: near \`${erroneous}'`;
}

/** savestring(): a string already set to something non-empty may not be set again. */
function saveString(
  st: State,
  what: string,
  field: 'pdevPath' | 'vdev' | 'script' | 'backendDomname' | 'coloHost' | 'coloExport' | 'activeDisk' | 'hiddenDisk',
  value: string,
): void {
  const cur = st.disk[field];
  if (cur !== undefined && cur !== '') {
    fail(st, value, `${what} respecified`);
    return;
  }
  st.disk[field] = value;
}

const FORMATS: Record<string, DiskFormat> = {
  '': 'raw',
  raw: 'raw',
  qcow: 'qcow',
  qcow2: 'qcow2',
  vhd: 'vhd',
  empty: 'empty',
};

/** setformat() with DSET(): the same value again is fine, another is "format respecified". */
function setFormat(st: State, str: string): void {
  const f = FORMATS[str] ?? (str === 'qed' && releaseAtLeast(st.release, 4, 9) ? 'qed' : undefined);
  if (!f) return fail(st, str, 'unknown value for format');
  if (st.disk.format !== 'unknown' && st.disk.format !== f) return fail(st, str, 'format respecified');
  st.disk.format = f;
}

function setAccess(st: State, str: string): void {
  if (str === 'r' || str === 'ro') st.disk.readwrite = false;
  else if (str === 'rw' || str === 'w' || str === '') st.disk.readwrite = true;
  else fail(st, str, 'unknown value for access');
}

function setBackendType(st: State, str: string): void {
  const ok = ['phy', 'tap', 'qdisk', ...(releaseAtLeast(st.release, 4, 17) ? ['standalone'] : [])];
  if (!ok.includes(str)) return fail(st, str, 'unknown value for backendtype');
  const b = str as DiskBackend;
  if (st.disk.backend !== 'unknown' && st.disk.backend !== b) return fail(st, str, 'backend respecified');
  st.disk.backend = b;
}

function setSpecification(st: State, str: string): void {
  if (str !== 'xen' && str !== 'virtio') return fail(st, str, 'unknown value for specification');
  if (st.disk.specification !== 'unknown' && st.disk.specification !== str)
    return fail(st, str, 'specification respecified');
  st.disk.specification = str;
}

/** atoi(): leading white space, a sign, digits; 0 when none. */
function atoi(str: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(str);
  if (!m) return 0;
  return Number(BigInt.asIntN(32, BigInt(m[1] as string)));
}

/** vdev_and_devtype(): `VDEV:TYPE` in the vdev slot, split at the last colon. */
function vdevAndDevtype(st: State, str: string): boolean {
  const colon = str.lastIndexOf(':');
  if (colon < 0) return false;
  const vdev = str.slice(0, colon);
  const type = str.slice(colon + 1);
  saveString(st, 'vdev', 'vdev', vdev);
  st.params.vdev = vdev;
  if (type === 'cdrom') {
    st.disk.isCdrom = true;
    st.params.devtype = 'cdrom';
  } else if (type === 'disk') {
    st.disk.isCdrom = false;
    delete st.params.devtype;
  } else fail(st, type, 'unknown deprecated type');
  return true;
}

function positional(st: State, raw: string): boolean {
  const text = stripComma(raw);
  const d = st.disk;
  if (st.error !== undefined) return true; // previous errors may just lead to subsequent ones
  if (d.pdevPath === undefined) {
    saveString(st, 'target', 'pdevPath', text);
    st.params.target = text;
  } else if (!st.hadDeprPrefix && d.format === 'unknown') {
    if (d.pdevPath === '' && vdevAndDevtype(st, text)) {
      d.format = 'empty';
      st.params.format = 'empty';
    } else {
      setFormat(st, text);
      // An empty slot is the default (raw); the map keeps only what is written.
      if (text !== '') st.params.format = text;
    }
  } else if (d.vdev === undefined) {
    if (!vdevAndDevtype(st, text)) {
      saveString(st, 'vdev', 'vdev', text);
      st.params.vdev = text;
    }
  } else if (!st.accessSet) {
    st.accessSet = true;
    setAccess(st, text);
    if (text !== '') st.params.access = text;
  } else {
    fail(st, text, 'too many positional parameters');
    return false;
  }
  return true;
}

function defbool(
  field: 'discard' | 'colo' | 'trusted' | 'grantUsage',
  value: boolean,
  param: string,
  written = '',
): Action {
  return (st) => {
    st.disk[field] = value;
    st.params[param] = written;
  };
}

/** The rules of libxlu_disk_l.l, in its order. */
const RULES: Rule[] = [
  // [ \t\n]+/([^ \t\n].*)?   white space before parameters
  {
    match: (s, i) => {
      let j = i;
      while (j < s.length && (s[j] === ' ' || s[j] === '\t' || s[j] === '\n')) j++;
      if (j === i) return undefined;
      const ctx = j < s.length ? 1 + restOfLine(s, j + 1) : 0;
      return { len: j - i + ctx, text: j - i };
    },
    action: () => {},
  },
  {
    match: keyValue('format'),
    action: (st, t) => {
      setFormat(st, valueOf(t));
      st.params.format = valueOf(t);
    },
  },
  {
    match: literal('cdrom'),
    action: (st) => {
      st.disk.isCdrom = true;
      st.params.devtype = 'cdrom';
    },
  },
  {
    match: literal('devtype=cdrom'),
    action: (st) => {
      st.disk.isCdrom = true;
      st.params.devtype = 'cdrom';
    },
  },
  {
    match: literal('devtype=disk'),
    action: (st) => {
      st.disk.isCdrom = false;
      st.params.devtype = 'disk';
    },
  },
  { match: keyValue('devtype'), action: (st, t) => fail(st, t, 'unknown value for type') },
  {
    match: keyValue('access'),
    action: (st, t) => {
      setAccess(st, valueOf(t));
      st.params.access = valueOf(t);
    },
  },
  {
    since: [4, 3],
    match: keyValue('backend'),
    action: (st, t) => {
      saveString(st, 'backend', 'backendDomname', valueOf(t));
      st.params.backend = valueOf(t);
    },
  },
  {
    match: keyValue('backendtype'),
    action: (st, t) => {
      setBackendType(st, valueOf(t));
      st.params.backendtype = valueOf(t);
    },
  },
  {
    since: [4, 17],
    match: keyValue('specification'),
    action: (st, t) => {
      setSpecification(st, valueOf(t));
      st.params.specification = valueOf(t);
    },
  },
  {
    match: keyValue('vdev'),
    action: (st, t) => {
      saveString(st, 'vdev', 'vdev', valueOf(t));
      st.params.vdev = valueOf(t);
    },
  },
  {
    match: keyValue('script'),
    action: (st, t) => {
      saveString(st, 'script', 'script', valueOf(t));
      st.params.script = valueOf(t);
    },
  },
  {
    since: [4, 5],
    match: literal('direct-io-safe'),
    action: (st) => {
      st.disk.directIoSafe = true;
      st.params['direct-io-safe'] = '';
    },
  },
  { since: [4, 5], match: literal('discard'), action: defbool('discard', true, 'discard') },
  { since: [4, 5], match: literal('no-discard'), action: defbool('discard', false, 'no-discard') },
  { since: [4, 8], match: literal('colo'), action: defbool('colo', true, 'colo') },
  { since: [4, 8], match: literal('no-colo'), action: defbool('colo', false, 'no-colo') },
  ...(
    [
      ['colo-host', 'coloHost'],
      ['colo-export', 'coloExport'],
      ['active-disk', 'activeDisk'],
      ['hidden-disk', 'hiddenDisk'],
    ] as const
  ).map(([key, field]): Rule => ({
    since: [4, 8],
    match: keyValue(key),
    action: (st, t) => {
      saveString(st, key, field, valueOf(t));
      st.params[key] = valueOf(t);
    },
  })),
  {
    since: [4, 8],
    match: keyValue('colo-port'),
    action: (st, t) => {
      const port = atoi(valueOf(t));
      if (port) st.disk.coloPort = port;
      else fail(st, valueOf(t), 'unknown value for colo_port');
      st.params['colo-port'] = valueOf(t);
    },
  },
  { since: [4, 19], match: literal('trusted'), action: defbool('trusted', true, 'trusted') },
  { since: [4, 19], match: literal('untrusted'), action: defbool('trusted', false, 'untrusted') },
  { since: [4, 19], match: literal('grant_usage=1'), action: defbool('grantUsage', true, 'grant_usage', '1') },
  { since: [4, 19], match: literal('grant_usage=0'), action: defbool('grantUsage', false, 'grant_usage', '0') },
  // target=.*   the magic parameter: the rest of the line
  {
    match: (s, i) => (s.startsWith('target=', i) ? { len: restOfLine(s, i), text: restOfLine(s, i) } : undefined),
    action: (st, t) => {
      saveString(st, 'target', 'pdevPath', valueOf(t));
      st.params.target = valueOf(t);
    },
  },
  // [a-z][-a-z0-9]*=[^,],?   an unknown parameter
  { match: regex(/[a-z][-a-z0-9]*=[^,],?/), action: (st, t) => fail(st, t, 'unknown parameter') },
  // (raw|qcow2?|vhd):/.*
  {
    match: prefix(['raw', 'qcow2', 'qcow', 'vhd']),
    action: (st, t) => {
      st.hadDeprPrefix = true;
      const f = t.slice(0, -1);
      setFormat(st, f);
      st.params.format = f;
    },
  },
  // (iscsi|e?nbd|drbd):/.*   a block script: script=block-NAME
  {
    match: prefix(['iscsi', 'enbd', 'nbd', 'drbd']),
    action: (st, t) => {
      st.hadDeprPrefix = true;
      const script = `block-${t.slice(0, -1)}`;
      saveString(st, 'script', 'script', script);
      st.params.script = script;
    },
  },
  {
    match: prefix(['tapdisk', 'tap2', 'tap', 'aio', 'ioemu', 'file', 'phy']),
    action: (st) => void (st.hadDeprPrefix = true),
  },
  // [a-z][a-z0-9]*:/([^a-z0-9].*)?   any other prefix
  {
    match: (s, i) => {
      const m = /^[a-z][a-z0-9]*:/.exec(s.slice(i, i + 256));
      if (!m) return undefined;
      const j = i + m[0].length;
      const next = s[j];
      const ctx = next !== undefined && !/[a-z0-9]/.test(next) ? 1 + restOfLine(s, j + 1) : 0;
      return { len: m[0].length + ctx, text: m[0].length };
    },
    action: (st, t) => {
      fail(st, t, 'unknown deprecated disk prefix');
      return false;
    },
  },
  // [^=,]*,|[^=,]+,?   positional parameters
  { match: regex(/[^=,]*,|[^=,]+,?/), action: positional },
];

/** `.` then `<LEXERR>.*`: the rest of the line is "bad disk syntax". */
function badSyntax(st: State, s: string, i: number): void {
  const len = s[i] === '\n' ? 1 : 1 + restOfLine(s, i + 1);
  fail(st, s.slice(i, i + len), 'bad disk syntax');
}

function scan(st: State): void {
  // The spec is a C string: it ends at a NUL.
  const nul = st.spec.indexOf('\0');
  const s = nul < 0 ? st.spec : st.spec.slice(0, nul);
  const rules = RULES.filter((r) => !r.since || releaseAtLeast(st.release, r.since[0], r.since[1]));
  let i = 0;
  while (i < s.length) {
    let best: { rule: Rule; m: Match } | undefined;
    for (const rule of rules) {
      const m = rule.match(s, i);
      if (m && (!best || m.len > best.m.len)) best = { rule, m };
    }
    if (!best) return badSyntax(st, s, i);
    const text = s.slice(i, i + best.m.text);
    i += best.m.text;
    if (best.rule.action(st, text) === false) return;
  }
}

/**
 * A disk spec as the release's xlu_disk_parse() reads it: the libxl_device_disk it fills in and
 * the parameters as written; throws {@link DiskSpecError} with xl's message where xl refuses it.
 */
export function readDiskSpec(
  spec: string,
  release: XenRelease = NEWEST_RELEASE,
): { disk: LibxlDisk; params: DiskSpec } {
  if (!releaseAtLeast(release, 4, 2, 0)) {
    // 4.0 and 4.1: xl_cmdimpl.c parses disks itself; read them as the first libxlutil did.
    release = { major: 4, minor: 2, patch: 0 };
  }
  const st: State = {
    spec,
    release,
    params: {},
    error: undefined,
    hadDeprPrefix: false,
    accessSet: false,
    disk: {
      pdevPath: undefined,
      vdev: undefined,
      format: 'unknown',
      backend: 'unknown',
      backendDomname: undefined,
      script: undefined,
      readwrite: true,
      isCdrom: false,
      removable: false,
      directIoSafe: false,
      discard: undefined,
      colo: undefined,
      coloHost: undefined,
      coloPort: 0,
      coloExport: undefined,
      activeDisk: undefined,
      hiddenDisk: undefined,
      specification: 'unknown',
      trusted: undefined,
      grantUsage: undefined,
    },
  };
  scan(st);
  if (st.error !== undefined) throw new DiskSpecError(st.error, spec);
  const d = st.disk;
  if (d.format === 'unknown') d.format = 'raw';
  if (d.isCdrom) {
    d.removable = true;
    d.readwrite = false;
    if (!d.pdevPath) d.format = 'empty';
  }
  if (d.vdev === undefined) throw new DiskSpecError('no vdev specified', spec);
  if (d.pdevPath === undefined && !d.removable)
    throw new DiskSpecError('no target specified (and device not removable)', spec);
  return { disk: d, params: st.params };
}
