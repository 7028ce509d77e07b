/**
 * xe, the XenAPI command line: building its arguments, reading its output, explaining its errors.
 *
 * Facts behind this module (xapi's `ocaml/xe-cli/newcli.ml`, `ocaml/xapi-cli-server/cli_printer.ml`,
 * `cli_operations.ml`, `cli_util.ml`, `xapi_cli.ml` and `idl/datamodel_errors.ml`):
 *
 * - The xe client sends its arguments to xapi joined by newlines, and xapi splits them again at
 *   newlines (a trailing carriage return is dropped). A value holding a newline therefore becomes
 *   two arguments on the server: there is no way to pass one through xe. {@link xeArgs} refuses them.
 * - Every parameter is `key=value`, split at the first `=`; `--flag` means `flag=true`.
 * - `--minimal` prints the first field of each record (or each listed value) joined by commas, a comma
 *   inside a value written `\,` and a backslash `\\`; nothing found prints an empty line.
 * - Records print as `key (TAG): value`, TAG one of ` RO`, ` RW`, `MRO`, `MRW`, `SRO`, `SRW`; the first
 *   key of a block is padded on the right, the others on the left, so the colons line up; every block
 *   is followed by two empty lines. Maps print as `k1: v1; k2: v2`, sets as `a; b`. A reference to
 *   nothing prints as `<not in database>`.
 * - Errors go to stderr with exit status 1: xapi errors as their documentation sentence followed by
 *   one `name: value` line per parameter; CLI failures as `Error: ...`; errors without documentation
 *   (storage backend errors, and in 2012 MEMORY_CONSTRAINT_VIOLATION) as `Error code: CODE` and
 *   `Error parameters: a, b` (xapi_cli.ml exception_handler, cli_util.ml server_error, newcli.ml;
 *   master/1.3.2, v1.249.0, v26.1.4). The sentences changed between eras ("host" → "server",
 *   "master" → "coordinator"): errors are recognised by every era's sentence, and by their code
 *   where xe prints one.
 */
import { StepError, UsageError } from '../engine/errors.js';
import type { CommandFn } from '../engine/runner.js';
import type { CommandResult } from '../engine/transport.js';

/* ------------------------------------------------------------------ arguments */

/** A parameter value: maps expand to `name:key=value`, one argument per key. */
export type XeValue = string | number | boolean | bigint | Readonly<Record<string, string | number | boolean>>;
export type XeParams = Readonly<Record<string, XeValue | undefined>>;

const KEY_RE = /^[A-Za-z][A-Za-z0-9_-]*(?::[A-Za-z0-9_.-]+)*$/;

/** Throws when xe cannot carry `value` intact (a newline or carriage return; NUL cannot be in argv). */
export function assertXeValue(name: string, value: string): void {
  if (/[\n\r]/.test(value)) {
    throw new UsageError(
      `${name}: a value with a line break cannot be passed to xe (xapi splits its arguments at line breaks)`,
      'choose a value on one line',
    );
  }
  if (value.includes('\0')) throw new UsageError(`${name}: a value cannot contain a NUL byte`);
}

/**
 * The argument vector of one xe command: `xeArgs('vm-param-set', { uuid, 'other-config': { k: 'v' } })`
 * → `['vm-param-set', 'uuid=…', 'other-config:k=v']`. Undefined values are left out; `flags` become
 * `--flag`. Each element is one argument for `ctx.$`.
 */
export function xeArgs(command: string, params: XeParams = {}, flags: readonly string[] = []): string[] {
  if (!/^[a-z][a-z0-9-]*$/.test(command)) throw new TypeError(`not an xe command: ${command}`);
  const argv = [command];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!KEY_RE.test(key)) throw new TypeError(`not an xe parameter name: ${key}`);
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (!/^[A-Za-z0-9_.-]+$/.test(k)) throw new TypeError(`not a map key xe accepts: ${key}:${k}`);
        const text = String(v);
        assertXeValue(`${key}:${k}`, text);
        argv.push(`${key}:${k}=${text}`);
      }
    } else {
      const text = String(value);
      assertXeValue(key, text);
      argv.push(`${key}=${text}`);
    }
  }
  for (const f of flags) {
    if (!/^[a-z][a-z-]*$/.test(f)) throw new TypeError(`not an xe flag: ${f}`);
    argv.push(`--${f}`);
  }
  return argv;
}

/* ------------------------------------------------------------------ --minimal */

/** Escape one value as `--minimal` prints it. */
export function escapeMinimal(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

/**
 * The values of a `--minimal` line: split at unescaped commas, `\,` and `\\` unescaped.
 * An empty output (no match) is an empty list. Only the trailing line break is removed.
 */
export function parseMinimal(output: string): string[] {
  const text = output.replace(/\r?\n$/, '');
  if (text === '') return [];
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      const next = text[i + 1] as string;
      if (next === ',' || next === '\\') {
        current += next;
        i++;
        continue;
      }
    }
    if (c === ',') {
      values.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  values.push(current);
  return values;
}

/* ------------------------------------------------------------------ records */

export type XeTag = 'RO' | 'RW' | 'MRO' | 'MRW' | 'SRO' | 'SRW';

export interface XeField {
  name: string;
  tag: XeTag;
  /** The value as printed (maps and sets still joined with `; `). */
  value: string;
  deprecated: boolean;
}

/** One record of a listing: its fields by name, in printed order. */
export interface XeRecord {
  fields: Map<string, XeField>;
  /** The value of a field, undefined when the record does not show it. */
  get(name: string): string | undefined;
  /** A map field as an object (`k1: v1; k2: v2`). */
  map(name: string): Record<string, string>;
  /** A set field as a list (`a; b`). */
  set(name: string): string[];
}

const FIELD_RE = /^( *)([^\s:][^\s]*) \(( RO| RW|MRO|MRW|SRO|SRW)\)( \[DEPRECATED\])? *: ?(.*)$/;

/** A reference to nothing, as xe prints it. */
export const NOT_IN_DATABASE = '<not in database>';

/** The value, or undefined for xe's empty and null-reference values. */
export function refOrUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return v === '' || v === NOT_IN_DATABASE || v === 'OpaqueRef:NULL' ? undefined : v;
}

/** `k1: v1; k2: v2` → object. A value that itself holds `; ` cannot be told apart: xe does not escape it. */
export function parseXeMap(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const t = text.trim();
  if (t === '') return out;
  for (const part of t.split('; ')) {
    const i = part.indexOf(': ');
    if (i < 0) {
      if (part.endsWith(':')) out[part.slice(0, -1)] = '';
      else out[part] = '';
    } else {
      out[part.slice(0, i)] = part.slice(i + 2);
    }
  }
  return out;
}

/** `a; b; c` → list; empty → []. */
export function parseXeSet(text: string): string[] {
  const t = text.trim();
  return t === '' ? [] : t.split('; ');
}

function makeRecord(fields: Map<string, XeField>): XeRecord {
  return {
    fields,
    get: (name) => fields.get(name)?.value,
    map: (name) => parseXeMap(fields.get(name)?.value ?? ''),
    set: (name) => parseXeSet(fields.get(name)?.value ?? ''),
  };
}

/**
 * The records of a listing (`xe vm-list`, `xe sr-param-list uuid=…`). A record starts at a field line
 * with no indentation; indented field lines belong to it; any other line continues the previous
 * value (a value printed with line breaks). Blank lines between records are separators.
 */
export function parseRecords(output: string): XeRecord[] {
  const records: XeRecord[] = [];
  let fields: Map<string, XeField> | undefined;
  let last: XeField | undefined;
  let blanks = 0;
  for (const line of output.split('\n')) {
    if (line.trim() === '') {
      blanks++;
      continue;
    }
    const m = FIELD_RE.exec(line);
    if (m && (m[1] === '' || fields)) {
      if (m[1] === '') {
        fields = new Map();
        records.push(makeRecord(fields));
      }
      const field: XeField = {
        name: m[2] as string,
        tag: (m[3] as string).trim() as XeTag,
        value: m[5] ?? '',
        deprecated: Boolean(m[4]),
      };
      (fields as Map<string, XeField>).set(field.name, field);
      last = field;
      blanks = 0;
      continue;
    }
    if (!last) throw new Error(`not xe record output: ${JSON.stringify(line)}`);
    last.value += '\n'.repeat(blanks + 1) + line;
    blanks = 0;
  }
  return records;
}

/* ------------------------------------------------------------------ errors */

export interface XeErrorInfo {
  /** The xapi error code when known (`SR_UNKNOWN_DRIVER`), or a name for CLI failures (`NO_MATCH`). */
  code: string;
  /** The first line of what xe printed. */
  summary: string;
  /** The `name: value` parameter lines, in order (duplicates keep the last). */
  params: Record<string, string>;
  /** What to do about it. */
  hint?: string;
}

interface KnownError {
  code: string;
  /**
   * What xe prints as the first line: the documentation sentence of each xapi era (an exact
   * line), or a pattern. Matched only when xe printed no `Error code:` line.
   */
  match: readonly string[] | RegExp;
  hint?: (params: Record<string, string>, summary: string) => string | undefined;
}

/*
 * The sentences are datamodel.ml's at master/1.3.2 (XCP 1.5) and datamodel_errors.ml's at v1.249.0
 * (XCP-ng 8.2) and v26.1.4 (XCP-ng 8.3): xe prints a documented error as its sentence and one
 * `name: value` line per parameter, and prints the code only for an error without documentation
 * (Cli_util.server_error, newcli.ml `Error code:`). An error documented in one era and not in
 * another is therefore recognised both ways: by its sentence and by its code.
 */
const KNOWN: readonly KnownError[] = [
  {
    code: 'SR_UNKNOWN_DRIVER',
    match: ['The SR could not be connected because the driver was not recognised.'],
    hint: (p) =>
      `this xapi has no '${p.driver ?? p['0'] ?? '?'}' storage driver (see: xe sm-list params=type); use a type it lists, e.g. ext`,
  },
  {
    code: 'UUID_INVALID',
    match: ['The uuid you supplied was invalid.'],
    hint: (p) => {
      const type = p.type ?? p['0'];
      return `no ${type ?? 'object'} has the uuid '${p.uuid ?? p['1'] ?? ''}': list them with xe ${(type ?? 'vm').toLowerCase()}-list`;
    },
  },
  {
    // cli_operations.ml: vm_install_real (every era) and vm_import's texts.
    code: 'DEFAULT_SR_NOT_FOUND',
    match: /^Error: (No SR specified and Pool default SR is null|Failed to find a valid default SR for the Pool\.)/,
    hint: () =>
      'the pool has no default SR: create one and set it (xe pool-param-set uuid=POOL default-SR=SR), or name the SR (sr-uuid=)',
  },
  {
    code: 'XAPI_UNREACHABLE',
    match:
      /^Error: Connection refused \(calling connect ?\)|^Failed to contact a running management agent|^Unable to contact server|^Lost connection to the server/,
    hint: () =>
      'xapi is not running: on XCP-ng/XenServer run xe-toolstack-restart; on a fresh Ubuntu/Debian install reboot into Xen first, then check: service xcp-xapi status',
  },
  {
    code: 'VM_BAD_POWER_STATE',
    match: /^You attempted an operation on a VM that was not in an appropriate power state/,
    hint: (p) => `the VM is ${p.actual ?? p['2'] ?? '?'}, the operation needs it ${p.expected ?? p['1'] ?? '?'}`,
  },
  {
    // Undocumented at master/1.3.2 (printed by code there, with the constraint as parameter).
    code: 'MEMORY_CONSTRAINT_VIOLATION',
    match: ['The dynamic memory range does not satisfy the following constraint.'],
    hint: () => 'keep static-min ≤ dynamic-min ≤ dynamic-max ≤ static-max (static limits change only while halted)',
  },
  {
    // v1.230 and later: the order check, without parameters.
    code: 'MEMORY_CONSTRAINT_VIOLATION_ORDER',
    match: ['The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.'],
    hint: () => 'keep static-min ≤ dynamic-min ≤ dynamic-max ≤ static-max (static limits change only while halted)',
  },
  {
    code: 'MEMORY_CONSTRAINT_VIOLATION_MAXPIN',
    match: ['The dynamic memory range violates constraint static_min = dynamic_min = dynamic_max = static_max.'],
    hint: () => 'without dynamic memory control every limit but static-min must be equal',
  },
  {
    code: 'INVALID_VALUE',
    match: ['The value given is invalid'],
    hint: (p) => (p.field ? `${p.field} (got ${p.value ?? '?'})` : undefined),
  },
  {
    code: 'OPERATION_NOT_ALLOWED',
    match: ['You attempted an operation that was not allowed.'],
    hint: (p) => p.reason,
  },
  { code: 'INVALID_DEVICE', match: ['The device name is invalid'], hint: () => 'a device is a number: 0, 1, 2…' },
  { code: 'MAC_INVALID', match: ['The MAC address specified is not valid.'], hint: () => 'write it aa:bb:cc:dd:ee:ff' },
  { code: 'DEVICE_ALREADY_ATTACHED', match: ['The device is already attached to a VM'] },
  { code: 'DEVICE_ALREADY_DETACHED', match: ['The device is not currently attached'] },
  {
    code: 'DEVICE_ALREADY_EXISTS',
    match: ['A device with the name given already exists on the selected VM'],
    hint: () => 'pick a free device number: xe vm-param-get uuid=VM param-name=allowed-VIF-devices',
  },
  {
    code: 'SESSION_AUTHENTICATION_FAILED',
    match: /^Authentication failed$|^The credentials given by the user are incorrect/,
    hint: () => 'the user name or password was refused',
  },
  {
    code: 'POOL_JOINING_HOST_CONNECTION_FAILED',
    match:
      /^Host cannot contact destination host: connection refused\.|^There was an error connecting to the host while joining it in the pool\./,
    hint: () => 'check that the master address is right and that xapi answers on it (port 443) from this host',
  },
  {
    code: 'JOINING_HOST_CANNOT_HAVE_RUNNING_VMS',
    match: [
      'The host joining the pool cannot have any running VMs.',
      'The server joining the pool cannot have any running VMs.',
    ],
    hint: () => 'shut down the VMs on this host first (xe vm-shutdown uuid=…)',
  },
  {
    code: 'JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS',
    match: [
      'The host joining the pool cannot contain any shared storage.',
      'The server joining the pool cannot contain any shared storage.',
    ],
    hint: () => 'forget or detach this host’s shared SRs (other than its Tools SR) before it joins',
  },
  {
    code: 'JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS',
    match: [
      'The host joining the pool cannot already be a master of another pool.',
      'The server joining the pool cannot already be a master of another pool.',
      'The server joining the pool cannot already be a coordinator of another pool.',
    ],
    hint: () => 'eject the other hosts of this pool first (xe pool-eject)',
  },
  {
    code: 'HOST_IS_SLAVE',
    match: [
      'You cannot make regular API calls directly on a slave. Please pass API calls via the master host.',
      'You cannot make regular API calls directly on a supporter. Please pass API calls via the coordinator host.',
    ],
    hint: (p) => `run xe on the pool master${p['Master IP address'] ? ` (${p['Master IP address']})` : ''}`,
  },
  {
    code: 'NO_MATCH',
    match: /^Error: No matching \w+ found|^Error: No templates matched|^Error: No SR with that name-label found/,
  },
  {
    code: 'MULTIPLE_MATCHES',
    match:
      /^Error: Multiple match|^Error: More than one matching template found|^Error: Multiple SRs with that name-label found/,
    hint: () => 'select one object by uuid=',
  },
  { code: 'UNKNOWN_COMMAND', match: /^Unknown command: / },
  { code: 'MISSING_PARAMETER', match: /^Required parameter not found: / },
  { code: 'SYNTAX_ERROR', match: /^Syntax error: / },
];

/**
 * Storage manager failures (SR_BACKEND_FAILURE_<value>) by value, from sm's XE_SR_ERRORCODES.xml
 * (xapi-project/sm v2.30.8-12-xcpng and v3.2.12: the same values).
 */
const SR_BACKEND_HINTS: Readonly<Record<string, string>> = {
  '73': 'the NFS export could not be mounted (NFSMount): check server:path and that this host may mount it (showmount -e SERVER)',
  '90': 'the SR needs device-config:device (ConfigDeviceMissing)',
  '101': 'the NFS SR needs device-config:serverpath (ConfigServerPathMissing)',
  '102': 'the NFS SR needs device-config:server (ConfigServerMissing)',
  '108': 'no NFS service answers on that server (NFSTarget): check the address and that nfsd runs',
};

/** Read what a failed xe printed: the code, the parameters, a hint. */
export function parseXeError(stderr: string, stdout = ''): XeErrorInfo {
  const text = (stderr.trim() ? stderr : stdout).replace(/\r/g, '');
  const lines = text.split('\n').filter((l) => l.trim() !== '' && l !== "For usage run: 'xe help'");
  const summary = lines[0]?.trim() ?? '(xe printed nothing)';
  const params: Record<string, string> = {};
  // Errors without documentation: "Error code: CODE" / "Error parameters: a, b, c". The code is
  // what identifies the error: classify by it.
  const codeLine = /^Error code: (\S+)/.exec(summary);
  if (codeLine) {
    const p = /^Error parameters: ?(.*)$/.exec(lines[1] ?? '');
    const list = p ? (p[1] ?? '').split(', ') : [];
    list.forEach((v, i) => (params[String(i)] = v));
    const code = codeLine[1] as string;
    const detail = list.filter((v) => v.trim() !== '').join(' ');
    const backend = /^SR_BACKEND_FAILURE(?:_(\d+))?$/.exec(code);
    const hint = backend
      ? (SR_BACKEND_HINTS[backend[1] ?? ''] ?? 'the storage backend refused') + ': read /var/log/SMlog on the host'
      : KNOWN.find((k) => k.code === code)?.hint?.(params, summary);
    return { code, summary: detail ? `${code}: ${detail}` : code, params, ...(hint ? { hint } : {}) };
  }
  for (const line of lines.slice(1)) {
    const m = /^([A-Za-z_][\w -]*?): (.*)$/.exec(line);
    if (m) params[m[1] as string] = m[2] as string;
  }
  for (const k of KNOWN) {
    const hit = k.match instanceof RegExp ? k.match.test(summary) : k.match.includes(summary);
    if (hit) {
      const hint = k.hint?.(params, summary);
      return { code: k.code, summary, params, ...(hint ? { hint } : {}) };
    }
  }
  return { code: summary.startsWith('Error: ') ? 'CLI_FAILURE' : 'UNKNOWN', summary, params };
}

/** xe failed: the message says what xe said; `hint` what to do. */
export class XeError extends StepError {
  readonly code: string;
  readonly params: Record<string, string>;
  readonly argv: readonly string[];
  readonly output: string;
  constructor(argv: readonly string[], info: XeErrorInfo, output: string) {
    const shown = Object.entries(info.params)
      .filter(([k]) => !/^\d+$/.test(k))
      .map(([k, v]) => `${k}: ${v}`);
    super(`xe ${argv[0] ?? ''} failed: ${info.summary}${shown.length ? ` (${shown.join('; ')})` : ''}`, info.hint);
    this.code = info.code;
    this.params = info.params;
    this.argv = argv;
    this.output = output;
  }
}

/**
 * Some xe commands report failure on stdout with exit status 0 (pool-join when the master cannot
 * be reached). These first lines mean failure whatever the status.
 */
const FAILURE_ON_STDOUT = [/^Host cannot contact destination host: connection refused\./];

/**
 * Run `xe ARGS` through the playbook's `ctx.$` (one argument per element) and return its stdout;
 * a failure throws {@link XeError} with xe's own words and a hint.
 */
export async function xe($: CommandFn, argv: readonly string[], opts: { input?: string } = {}): Promise<string> {
  const r = await runXe($, argv, opts);
  return r.stdout;
}

/** Like {@link xe}, but returns the whole result; throws only through {@link XeError}. */
export async function runXe(
  $: CommandFn,
  argv: readonly string[],
  opts: { input?: string } = {},
): Promise<CommandResult> {
  const r = await $({ nothrow: true, ...(opts.input !== undefined ? { input: opts.input } : {}) })`xe ${[...argv]}`;
  const failure = xeFailure(argv, r);
  if (failure) throw failure;
  return r;
}

/**
 * The error an xe run ended with, or undefined when it succeeded. Also for commands that run xe
 * indirectly (a `sh -c` feeding a secret on standard input); `argv` names the xe command.
 */
export function xeFailure(
  argv: readonly string[],
  r: Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>,
): StepError | undefined {
  const firstOut = r.stdout.split('\n')[0] ?? '';
  if (r.exitCode === 0 && !FAILURE_ON_STDOUT.some((re) => re.test(firstOut))) return undefined;
  if (r.exitCode === 127 || (/(^|: )xe: (command )?not found/m.test(r.stderr) && !r.stdout)) {
    return new StepError('xe is not installed on this host', 'on Ubuntu/Debian it comes with the xcp-xe package');
  }
  const info = parseXeError(r.exitCode !== 0 ? r.stderr : '', r.stdout);
  return new XeError(argv, info, `${r.stdout}${r.stderr}`);
}

/** `xe CLASS-list SELECTORS params=PARAM --minimal` → the values. */
export async function xeList($: CommandFn, cls: string, selectors: XeParams = {}, param = 'uuid'): Promise<string[]> {
  return parseMinimal(await xe($, xeArgs(`${cls}-list`, { ...selectors, params: param }, ['minimal'])));
}

/** `xe CLASS-param-get uuid=… param-name=… [param-key=…]`; null references come back undefined. */
export async function xeGet(
  $: CommandFn,
  cls: string,
  uuid: string,
  param: string,
  key?: string,
): Promise<string | undefined> {
  const out = await xe($, xeArgs(`${cls}-param-get`, { uuid, 'param-name': param, 'param-key': key }));
  return refOrUndefined(out.replace(/\n$/, ''));
}

/** `xe CLASS-list SELECTORS params=a,b,…` → the records. */
export async function xeRecords(
  $: CommandFn,
  cls: string,
  selectors: XeParams = {},
  params: readonly string[] | 'all' = 'all',
): Promise<XeRecord[]> {
  const p = params === 'all' ? 'all' : params.join(',');
  return parseRecords(await xe($, xeArgs(`${cls}-list`, { ...selectors, params: p })));
}
