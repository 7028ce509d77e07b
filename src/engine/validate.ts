/**
 * Every option and argument that names a file or a directory is checked before the first step,
 * where the run acts (this machine, the --root tree, the host over ssh): the kind the declaration
 * asks for (`file:`), readable, within its size, and for a domain configuration, one that parses.
 * A refusal is a UsageError (exit 2) naming the option, the value and the rule.
 */
import path from 'node:path';
import { PlaybookError, UsageError } from './errors.js';
import type { ArgSpec, FileKind, OptionSpec } from './options.js';
import { SECRET_MAX_BYTES } from './secret.js';
import type { Transport } from './transport.js';
import { XlConfig } from '../xen/xlcfg.js';
import {
  FileRuleError,
  ISO_HEAD_BYTES,
  KIND_WORDS,
  isIsoImage,
  probe,
  probeAll,
  readBounded,
  readHead,
  type Probe,
} from './validate-files.js';

/** A domain configuration larger than this is not one (Xen's own examples are a few KiB). */
export const CONFIG_MAX_BYTES = 1024 * 1024;
/** An ssh client configuration, read by ssh on this machine. */
export const SSH_CONFIG_MAX_BYTES = 1024 * 1024;
/** Linux's NAME_MAX and PATH_MAX (limits.h): longer names fail in the kernel with ENAMETOOLONG. */
export const NAME_MAX = 255;
export const PATH_MAX = 4095;

/** What each kind of file must be, as --help, --describe and the refusals say it. */
export const FILE_RULES: Record<FileKind, string> = {
  regular: 'an existing regular file that can be read',
  secret: `an existing regular file of at most ${SECRET_MAX_BYTES} bytes`,
  'ssh-config': `an ssh client configuration on this machine: a regular file of at most ${SSH_CONFIG_MAX_BYTES} bytes`,
  'xl-config': `a domain configuration: a regular file of at most ${CONFIG_MAX_BYTES} bytes in xl/xm syntax that sets name =`,
  iso: 'an ISO 9660 or UDF image (a regular file), or a CD/DVD block device',
  'disk-image': 'a disk image: a regular file that is not empty, or a block device',
  'disk-target': 'a disk: a block device, a regular file, or a file to create in an existing directory',
  dir: 'an existing directory',
};

/** The size bound of a kind of file when the declaration gives none (undefined: no bound). */
export function defaultMaxBytes(kind: FileKind): number | undefined {
  if (kind === 'secret') return SECRET_MAX_BYTES;
  if (kind === 'ssh-config') return SSH_CONFIG_MAX_BYTES;
  if (kind === 'xl-config') return CONFIG_MAX_BYTES;
  return undefined;
}

/** A declaration's file rule, as shown to the administrator. */
export function fileRule(kind: FileKind, maxBytes?: number): string {
  if (maxBytes !== undefined && (kind === 'regular' || kind === 'xl-config')) {
    return FILE_RULES[kind].replace(/of at most \d+ bytes|that can be read/, `of at most ${maxBytes} bytes`);
  }
  return FILE_RULES[kind];
}

/** What an input is called in messages: `--iso /x.iso`, `IMAGE vm01.img`. */
export interface Named {
  /** `--iso` or `IMAGE`. */
  label: string;
  value: string;
  file: FileKind;
  maxBytes?: number;
  /** On this machine even with --host (read by a local program). */
  local?: boolean;
}

/** What is at a path, as a refusal says it. */
function found(kind: Probe['kind'], want = 'a regular file'): string {
  if (kind === 'missing') return 'no such file';
  const not = want.includes(' or ') ? `neither ${want.replace(' or ', ' nor ')}` : `not ${want}`;
  return `it is ${KIND_WORDS[kind]}, ${not}: refused`;
}

function refusal(input: Named, why: string): UsageError {
  return new UsageError(`${input.label} ${input.value}: ${why}; expected ${fileRule(input.file, input.maxBytes)}`);
}

/** Names too long for the kernel are refused before any system call sees them. */
function checkLength(input: Named): void {
  if (Buffer.byteLength(input.value) > PATH_MAX) throw refusal(input, `the path is longer than ${PATH_MAX} bytes`);
  const long = input.value.split('/').find((c) => Buffer.byteLength(c) > NAME_MAX);
  if (long !== undefined) {
    throw refusal(
      input,
      `the name '${long.slice(0, 24)}…' has ${Buffer.byteLength(long)} bytes, more than ${NAME_MAX}`,
    );
  }
}

async function look(host: Transport, input: Named, probed?: Probe | FileRuleError): Promise<Probe> {
  try {
    if (probed instanceof FileRuleError) throw probed;
    return probed ?? (await probe(host, input.value));
  } catch (e) {
    if (e instanceof FileRuleError) throw refusal(input, e.message);
    // --root: a path that leaves the tree.
    if (e instanceof PlaybookError) throw refusal(input, e.message);
    throw e;
  }
}

async function read(input: Named, fn: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FileRuleError) throw refusal(input, e.message);
    throw e;
  }
}

/** Check one input against its kind where `host` acts (a `local` input: on `here`). */
export async function checkFileInput(
  host: Transport,
  input: Named,
  here: Transport = host,
  probed?: Probe | FileRuleError,
): Promise<void> {
  if (input.file === 'secret' && input.value === '-') return;
  checkLength(input);
  const where = input.local ? here : host;
  const p = await look(where, input, probed);
  if (p.kind === 'missing' && input.file === 'disk-image') throw refusal(input, 'no such file or device');
  const is = (...kinds: Probe['kind'][]) => kinds.includes(p.kind);
  const notThere = p.kind === 'missing' || p.kind === 'dangling';

  if (input.file === 'dir') {
    if (!is('dir')) throw refusal(input, found(p.kind, 'a directory'));
    return;
  }
  if (input.file === 'disk-target') {
    if (notThere) {
      const parent = await look(where, { ...input, value: path.posix.dirname(input.value) });
      if (parent.kind !== 'dir') {
        throw refusal(
          input,
          `it does not exist, and ${path.posix.dirname(input.value)}: ${found(parent.kind, 'a directory')}`,
        );
      }
      return;
    }
    if (!is('file', 'block')) throw refusal(input, found(p.kind));
    return;
  }
  const devices = input.file === 'iso' || input.file === 'disk-image';
  if (!(is('file') || (devices && is('block')))) {
    throw refusal(input, found(p.kind, devices ? 'a regular file or a block device' : 'a regular file'));
  }
  if (!p.readable) throw refusal(input, 'it cannot be read by this user (permission denied)');
  const max = input.maxBytes ?? defaultMaxBytes(input.file);
  if (max !== undefined && p.size > max) throw refusal(input, `it is larger than ${max} bytes (${p.size} bytes)`);
  if (input.file === 'disk-image' && is('file') && p.size === 0) throw refusal(input, 'it is empty (0 bytes)');
  if (input.file === 'iso' && is('file')) {
    const head = await read(input, () => readHead(where, input.value, ISO_HEAD_BYTES));
    if (!isIsoImage(head)) {
      throw refusal(
        input,
        head.length === 0 ? 'it is empty (0 bytes)' : 'it holds no ISO 9660 or UDF volume descriptor',
      );
    }
  }
  if (input.file === 'xl-config') {
    const bytes = await read(input, () => readBounded(where, input.value, max ?? CONFIG_MAX_BYTES));
    const problem = configProblem(bytes);
    if (problem) throw refusal(input, problem);
  }
}

/** Why these bytes are not a domain configuration, or undefined when they are one. */
export function configProblem(bytes: Buffer): string | undefined {
  if (bytes.length === 0) return 'it is empty (0 bytes)';
  if (bytes.includes(0)) return 'it holds NUL bytes: a binary file, not a configuration';
  let cfg: XlConfig;
  try {
    // xend's files were Python: what xl's grammar cannot read is skipped, as the playbooks read xm files.
    cfg = XlConfig.parse(bytes.toString('utf8'), { lenient: true });
  } catch (e) {
    return `it does not parse as a domain configuration (${(e as Error).message})`;
  }
  if (!cfg.has('name')) return 'it sets no name =: not a domain configuration';
  return undefined;
}

/** The option or argument values that name files, with their rules, as given on the command line. */
export function fileInputs(
  options: Readonly<Record<string, OptionSpec>>,
  values: Readonly<Record<string, unknown>>,
  argSpecs: readonly ArgSpec[],
  args: Readonly<Record<string, string>>,
): Named[] {
  const out: Named[] = [];
  for (const [name, spec] of Object.entries(options)) {
    const v = values[name];
    if (!spec.file || v === undefined) continue;
    for (const value of Array.isArray(v) ? v : [v]) {
      out.push({
        label: `--${name}`,
        value: String(value),
        file: spec.file,
        ...(spec.maxBytes !== undefined ? { maxBytes: spec.maxBytes } : {}),
        ...(spec.local ? { local: true } : {}),
      });
    }
  }
  for (const a of argSpecs) {
    const v = args[a.name];
    if (!a.file || v === undefined) continue;
    out.push({ label: a.name, value: v, file: a.file, ...(a.maxBytes !== undefined ? { maxBytes: a.maxBytes } : {}) });
  }
  return out;
}

/** Check every file input, in the order given. `here` is this machine (for `local` inputs). */
export async function checkFileInputs(host: Transport, inputs: readonly Named[], here: Transport): Promise<void> {
  for (const input of inputs) {
    if (!(input.file === 'secret' && input.value === '-')) checkLength(input);
    // Over ssh a relative path would be the login's home directory's: say where it is instead.
    if (host.kind === 'ssh' && !input.local && !input.value.startsWith('/') && input.value !== '-') {
      throw refusal(input, `with --host, give the path on ${host.label.replace(/^ssh /, '')} as an absolute path`);
    }
  }
  // One look at all the host's paths (one round trip over ssh), then each checked in turn.
  const remote = inputs.filter((i) => !i.local && !(i.file === 'secret' && i.value === '-'));
  const probes = await probeAll(
    host,
    remote.map((i) => i.value),
  );
  for (const input of inputs) {
    const at = remote.indexOf(input);
    await checkFileInput(host, input, here, at >= 0 ? probes[at] : undefined);
  }
}
