import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';
import { isIP } from 'node:net';
import { macProblem } from './mac.js';
import { defaultMaxBytes, fileRule } from './validate.js';

export type OptionType = 'string' | 'integer' | 'number' | 'boolean' | 'size' | 'enum' | 'mac';

/**
 * What a path must be (checked where the run acts before the first step, see validate.ts):
 * regular (a readable regular file), secret (a small one; `-` is standard input), ssh-config (read
 * on this machine), xl-config (a domain configuration that parses), iso (an ISO 9660/UDF image),
 * disk-image (a non-empty image or a block device), disk-target (a disk, or an image to create in an
 * existing directory), dir (an existing directory).
 */
export type FileKind = 'regular' | 'secret' | 'ssh-config' | 'xl-config' | 'iso' | 'disk-image' | 'disk-target' | 'dir';

/** ip: an IPv4 or IPv6 address. host: an address or a DNS host name (RFC 1123). */
export type AddressKind = 'ip' | 'host';

/** Rules a string value (an option's or an argument's) must follow. */
export interface TextRule {
  /** The value names a file or directory of this kind. */
  file?: FileKind;
  /** file: its largest size in bytes. */
  maxBytes?: number;
  /** file: on this machine even with --host (a file a local program reads). */
  local?: boolean;
  /** The value is an address. */
  address?: AddressKind;
  /** Free text that may hold tabs and newlines (refused by default: a name never does). */
  controlCharacters?: boolean;
  /** At most this many characters (default: DEFAULT_MAX_LENGTH). */
  maxLength?: number;
  /** The value must match, else `patternHint` explains what is expected. */
  pattern?: RegExp;
  patternHint?: string;
}

/** A name or a value longer than this is refused unless the declaration says otherwise. */
export const DEFAULT_MAX_LENGTH = 255;
/** A path may be as long as Linux's PATH_MAX. */
export const PATH_MAX_LENGTH = 4095;

/** One option, declared once: parsing, --help, validation and the runbook's options table all read it. */
export interface OptionSpec extends TextRule {
  type: OptionType;
  description: string;
  /** Shown in --help instead of the type name, e.g. `FILE`, `USER@HOST`. */
  placeholder?: string;
  default?: string | number | boolean;
  required?: boolean;
  /** enum: the accepted values. */
  choices?: readonly string[];
  /** integer, number, size: inclusive bounds (size in bytes). */
  min?: number;
  max?: number;
  /** size: the unit of a bare number (default `B`). */
  defaultUnit?: SizeUnit;
  short?: string;
  /** The option may be given more than once: its value is then the list of values, in order. */
  repeatable?: boolean;
}

export interface ArgSpec extends TextRule {
  name: string;
  description: string;
  required?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends { repeatable: true } ? SingleValueOf<S>[] : SingleValueOf<S>;

type SingleValueOf<S extends OptionSpec> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'integer' | 'number' | 'size' }
    ? number
    : S extends { choices: readonly (infer C)[] }
      ? C
      : string;

/** The parsed values: an option with a default, `required`, or boolean is always present. */
export type OptionValues<O extends OptionSpecs> = {
  -readonly [K in keyof O]: O[K] extends { default: unknown } | { required: true } | { type: 'boolean' }
    ? ValueOf<O[K]>
    : ValueOf<O[K]> | undefined;
};

/** Options every playbook has. */
export const COMMON_OPTIONS = {
  'dry-run': { type: 'boolean', description: 'Show the plan and the diffs; change nothing.' },
  yes: {
    type: 'boolean',
    short: 'y',
    description: 'Apply without asking. Without a terminal, changes are refused unless this is given.',
  },
  json: { type: 'boolean', description: 'Print one JSON report on stdout; human output goes to stderr.' },
  verbose: { type: 'boolean', short: 'v', description: 'Echo every command before it runs.' },
  host: {
    type: 'string',
    placeholder: 'USER@HOST',
    description: 'Run on this host over ssh (OpenSSH, BatchMode, host key checked). The host needs only a POSIX shell.',
    pattern: /^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.:_[\]-]+$/,
    patternHint: 'USER@HOST or HOST, e.g. root@xcp1.example.org',
  },
  'ssh-config': {
    type: 'string',
    placeholder: 'FILE',
    file: 'ssh-config',
    local: true,
    description: 'With --host: the ssh client configuration file to use (ssh -F).',
  },
  root: {
    type: 'string',
    placeholder: 'DIR',
    file: 'dir',
    local: true,
    description: "Treat DIR as the host's / (offline repair of a mounted system, and tests).",
  },
  help: { type: 'boolean', short: 'h', description: 'Show this help and exit.' },
  version: { type: 'boolean', description: 'Show the version and exit.' },
  describe: { type: 'boolean', description: 'Print the options and steps as JSON and exit (for tooling).' },
} as const satisfies OptionSpecs;

export type CommonValues = OptionValues<typeof COMMON_OPTIONS>;

export type SizeUnit = 'B' | 'K' | 'M' | 'G' | 'T';
const UNIT_NAMES: Record<SizeUnit, string> = { B: 'bytes', K: 'KiB', M: 'MiB', G: 'GiB', T: 'TiB' };
const SIZE_FACTORS: Record<SizeUnit, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `4G`, `512M`, `2048m`, `1.5GiB`, `100` (in `defaultUnit`) → bytes, binary units. */
export function parseSize(text: string, defaultUnit: SizeUnit = 'B'): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgtb])(?:i?b)?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2]?.toUpperCase() as SizeUnit | undefined) ?? defaultUnit;
  const bytes = Number(m[1]) * SIZE_FACTORS[unit];
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

export function formatSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K'] as const) {
    const f = SIZE_FACTORS[u];
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}iB`;
  }
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)}MiB`;
  return `${bytes}B`;
}

function typeLabel(spec: OptionSpec): string {
  if (spec.placeholder) return spec.placeholder;
  if (spec.type === 'enum' && spec.choices) return spec.choices.join('|');
  if (spec.type === 'size') return 'SIZE';
  if (spec.type === 'mac') return 'MAC';
  if (spec.type === 'integer' || spec.type === 'number') return 'N';
  return 'VALUE';
}

function convert(name: string, spec: OptionSpec, raw: string | boolean): string | number | boolean {
  const flag = `--${name}`;
  if (spec.type === 'boolean') return raw === true;
  const text = String(raw);
  if (text === '') throw new UsageError(`${flag}: missing value`);
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const re = spec.type === 'integer' ? /^[+-]?\d+$/ : /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
      if (!re.test(text.trim())) {
        throw new UsageError(`${flag}: '${text}' is not ${spec.type === 'integer' ? 'a whole number' : 'a number'}`);
      }
      const n = Number(text);
      if (!Number.isSafeInteger(Math.trunc(n)) || !Number.isFinite(n)) {
        throw new UsageError(`${flag}: '${text}' is too large to be exact (at most ${Number.MAX_SAFE_INTEGER})`);
      }
      checkRange(flag, spec, n, String(n));
      return n;
    }
    case 'size': {
      const n = parseSize(text, spec.defaultUnit ?? 'B');
      if (n === undefined) {
        throw new UsageError(`${flag}: '${text}' is not a size (examples: 512M, 4G, 100G)`);
      }
      if (!Number.isSafeInteger(n)) {
        throw new UsageError(`${flag}: '${text}' is too large (at most ${formatSize(Number.MAX_SAFE_INTEGER)})`);
      }
      checkRange(flag, spec, n, text);
      return n;
    }
    case 'enum': {
      const choices = spec.choices ?? [];
      if (!choices.includes(text)) {
        throw new UsageError(`${flag}: '${text}' is not one of ${choices.join(', ')}`);
      }
      return text;
    }
    case 'mac': {
      const problem = macProblem(text.trim());
      if (problem) throw new UsageError(`${flag}: '${text}' is not a NIC's MAC address: ${problem}`);
      return text.trim().toLowerCase();
    }
    case 'string': {
      checkText(flag, spec, text);
      return text;
    }
  }
}

/** The string rules of an option or an argument: length, control characters, pattern, address. */
export function checkText(label: string, rule: TextRule, text: string): void {
  const max = rule.maxLength ?? (rule.file ? PATH_MAX_LENGTH : DEFAULT_MAX_LENGTH);
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  if (text.length > max) {
    throw new UsageError(`${label}: '${shown}' has ${text.length} characters, more than ${max}`);
  }
  if (!rule.controlCharacters && /[\x00-\x1f\x7f]/.test(text)) {
    throw new UsageError(
      `${label}: '${JSON.stringify(text).slice(1, -1)}' holds a line break or another control character: refused`,
    );
  }
  if (rule.pattern && !rule.pattern.test(text)) {
    throw new UsageError(
      `${label}: '${shown}' is not valid${rule.patternHint ? `: expected ${rule.patternHint}` : ''}`,
    );
  }
  if (rule.address === 'ip' && !isIP(text)) {
    throw new UsageError(`${label}: '${shown}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1)`);
  }
  if (rule.address === 'host' && !isIP(text) && !isHostName(text)) {
    throw new UsageError(
      `${label}: '${shown}' is not an IP address or a host name (e.g. 192.0.2.10, xcp1.example.org)`,
    );
  }
}

/** A DNS host name (RFC 1123 2.1): labels of letters, digits and inner hyphens, at most 253 characters. */
export function isHostName(text: string): boolean {
  if (text.length > 253 || /^[\d.]+$/.test(text)) return false;
  return text
    .replace(/\.$/, '')
    .split('.')
    .every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

function checkRange(flag: string, spec: OptionSpec, n: number, shown: string): void {
  const fmt = (v: number) => (spec.type === 'size' ? formatSize(v) : String(v));
  if (spec.min !== undefined && n < spec.min) {
    throw new UsageError(`${flag}: ${shown} is below the minimum of ${fmt(spec.min)}`);
  }
  if (spec.max !== undefined && n > spec.max) {
    throw new UsageError(`${flag}: ${shown} is above the maximum of ${fmt(spec.max)}`);
  }
}

export interface Parsed<O extends OptionSpecs> {
  opts: OptionValues<O>;
  common: CommonValues;
  args: Record<string, string>;
  /** The options the user actually gave (not defaults). */
  given: Set<string>;
}

/** Parse argv against the declarations; every problem is one UsageError naming the option. */
export function parseOptions<O extends OptionSpecs>(
  argv: readonly string[],
  options: O,
  args: readonly ArgSpec[] = [],
): Parsed<O> {
  const all: Record<string, OptionSpec> = { ...COMMON_OPTIONS, ...options };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: true }> = {};
  for (const [name, spec] of Object.entries(all)) {
    // Every option is collected as a list, so that one given twice is seen (and refused) rather
    // than silently keeping the last value.
    config[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string', multiple: true };
    if (spec.short) config[name].short = spec.short;
  }
  let lists: Record<string, (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values: lists, positionals } = parseArgs({
      args: [...argv],
      options: config,
      strict: true,
      allowPositionals: true,
    }) as { values: Record<string, (string | boolean)[] | undefined>; positionals: string[] });
  } catch (err) {
    throw new UsageError(rephraseParseError(err as Error & { code?: string }));
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, list] of Object.entries(lists)) {
    if (!list?.length) continue;
    const spec = all[name] as OptionSpec;
    if (list.length > 1 && !spec.repeatable) {
      const shown = spec.type === 'boolean' ? '' : ` (${list.map((v) => `'${String(v)}'`).join(', ')})`;
      throw new UsageError(
        `--${name} is given ${list.length} times${shown}: give it once`,
        spec.short ? `-${spec.short} and --${name} are the same option` : undefined,
      );
    }
    values[name] = list[list.length - 1];
  }
  const given = new Set(Object.keys(values));
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(all)) {
    const raw = values[name];
    if (raw === undefined) {
      if (spec.type === 'boolean') out[name] = spec.default ?? false;
      else if (spec.default !== undefined) {
        // A default may be written as the user would type it (`4G`): it is read the same way.
        const value = typeof spec.default === 'string' ? convert(name, spec, spec.default) : spec.default;
        out[name] = spec.repeatable ? [value] : value;
      } else if (spec.required && !values.help && !values.version && !values.describe) {
        throw new UsageError(`--${name} is required: ${spec.description}`);
      }
      continue;
    }
    out[name] = spec.repeatable ? (lists[name] ?? []).map((v) => convert(name, spec, v)) : convert(name, spec, raw);
  }
  const named: Record<string, string> = {};
  const informational = values.help || values.version || values.describe;
  if (!informational) {
    if (positionals.length > args.length) {
      const extra = positionals.slice(args.length).join(' ');
      throw new UsageError(
        args.length ? `unexpected argument: ${extra}` : `this playbook takes no arguments (got: ${extra})`,
      );
    }
    args.forEach((a, i) => {
      const v = positionals[i];
      if (v === undefined || v === '') {
        if (a.required !== false) throw new UsageError(`missing argument ${a.name}: ${a.description}`);
      } else {
        checkText(a.name, a, v);
        named[a.name] = v;
      }
    });
  }
  const common = {} as Record<string, unknown>;
  const opts = {} as Record<string, unknown>;
  for (const name of Object.keys(out)) {
    if (name in options) opts[name] = out[name];
    else common[name] = out[name];
  }
  return { opts: opts as OptionValues<O>, common: common as CommonValues, args: named, given };
}

function rephraseParseError(err: Error & { code?: string }): string {
  const msg = err.message;
  let m = /Unknown option '([^']+)'/.exec(msg);
  if (m) return `unknown option ${m[1]} (see --help)`;
  m = /Option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(msg);
  if (m) return `${m[2]}: missing value`;
  m = /Option '(-\w, )?(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
  if (m) return `${m[2]}: missing value (a value starting with '-' is written ${m[2]}=-VALUE)`;
  m = /Option '(-\w, )?(--[\w-]+)[^']*' does not take an argument/.exec(msg);
  if (m) return `${m[2]} takes no value`;
  return msg.split('\n')[0] ?? msg;
}

function wrap(text: string, width: number, indent: number): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width - indent) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

export function optionUsage(name: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '';
  return spec.type === 'boolean' ? `${short}--${name}` : `${short}--${name} ${typeLabel(spec)}`;
}

export function optionDetails(spec: OptionSpec): string {
  const extra: string[] = [];
  if (spec.required) extra.push('required');
  if (spec.default !== undefined && spec.type !== 'boolean') {
    const shown =
      spec.type === 'size' && typeof spec.default === 'number' ? formatSize(spec.default) : String(spec.default);
    extra.push(`default: ${shown}`);
  }
  const fmt = (v: number) => (spec.type === 'size' ? formatSize(v) : String(v));
  if (spec.min !== undefined && spec.max !== undefined) extra.push(`${fmt(spec.min)} to ${fmt(spec.max)}`);
  else if (spec.min !== undefined) extra.push(`at least ${fmt(spec.min)}`);
  else if (spec.max !== undefined) extra.push(`at most ${fmt(spec.max)}`);
  if (spec.type === 'size') extra.push(`a bare number is in ${UNIT_NAMES[spec.defaultUnit ?? 'B']}`);
  if (spec.type === 'mac') extra.push('six hex bytes; not multicast, broadcast or all zeros');
  const rule = ruleText(spec);
  if (rule) extra.push(rule);
  return extra.length ? `${spec.description} (${extra.join('; ')})` : spec.description;
}

/** The file or address rule of an option or argument, in words (undefined: none). */
export function ruleText(rule: TextRule): string | undefined {
  if (rule.file) return `${fileRule(rule.file, rule.maxBytes)}${rule.local ? ', on this machine' : ''}`;
  if (rule.address === 'ip') return 'an IP address';
  if (rule.address === 'host') return 'an IP address or a host name';
  return undefined;
}

/** The machine-readable rules of a value, as --describe shows them (only the ones that apply). */
export interface DescribedRule {
  file?: FileKind;
  maxBytes?: number;
  local?: boolean;
  address?: AddressKind;
  maxLength?: number;
  pattern?: string;
  patternHint?: string;
  min?: number;
  max?: number;
  /** The file or address rule in words. */
  rule?: string;
}

export function describeRule(rule: TextRule & { type?: OptionType; min?: number; max?: number }): DescribedRule {
  const text = ruleText(rule);
  const isText = rule.type === undefined || rule.type === 'string';
  const maxBytes = rule.maxBytes ?? (rule.file ? defaultMaxBytes(rule.file) : undefined);
  return {
    ...(rule.file ? { file: rule.file } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    ...(rule.local ? { local: true } : {}),
    ...(rule.address ? { address: rule.address } : {}),
    ...(isText ? { maxLength: rule.maxLength ?? (rule.file ? PATH_MAX_LENGTH : DEFAULT_MAX_LENGTH) } : {}),
    ...(rule.pattern ? { pattern: rule.pattern.source } : {}),
    ...(rule.patternHint ? { patternHint: rule.patternHint } : {}),
    ...(rule.min !== undefined ? { min: rule.min } : {}),
    ...(rule.max !== undefined ? { max: rule.max } : {}),
    ...(text ? { rule: text } : {}),
  };
}

export function formatOptionTable(options: OptionSpecs, width = 80): string {
  const rows = Object.entries(options).map(([n, s]) => [optionUsage(n, s), optionDetails(s)] as const);
  const col = Math.min(34, Math.max(...rows.map(([u]) => u.length)) + 4);
  return rows
    .map(([u, d]) => {
      const head = `  ${u}`;
      const pad = head.length + 2 > col ? `\n${' '.repeat(col)}` : ' '.repeat(col - head.length);
      return `${head}${pad}${wrap(d, width, col)}`;
    })
    .join('\n');
}
