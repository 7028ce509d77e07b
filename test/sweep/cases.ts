/**
 * The bad-input sweep's cases, generated from a playbook's --describe: for every option and
 * argument, the values a person gives by mistake or a hostile file system hands over, chosen by
 * the declared type and rule. A new option, argument or playbook is swept without a new case.
 */
import type { PlaybookDescription } from '../../src/engine/runner.js';

export type Described = PlaybookDescription;
export type DescribedOption = Described['options'][number];
export type DescribedArg = Described['args'][number];

/** Bad files made once per world (see world.ts), by name. */
export type BadFile =
  | 'missing'
  | 'directory'
  | 'fifo'
  | 'dev-zero'
  | 'empty'
  | 'passwd'
  | 'too-big'
  | 'long-name'
  | 'under-a-file'
  | 'leaves-root';

export type Value = { text: string } | { bad: BadFile };

export interface Case {
  /** e.g. `--iso: a FIFO`. */
  label: string;
  /** What the refusal must name: `--iso`, `IMAGE`. */
  names: string;
  /** The option given (undefined: an argument or a whole-command case). */
  option?: string;
  /** Where the bad value goes: the option's value, the argument, or argv as it is. */
  value?: Value;
  /** For whole-command cases: argv added to the baseline. */
  extra?: readonly string[];
  /** An argument left out. */
  omit?: string;
  /** refused: exit 2. inert: a value any text may take (a name-label): only never executed nor changing. */
  expect: 'refused' | 'inert';
  /** Over ssh too (a file option or argument). */
  ssh?: boolean;
}

/** The marker a shell metacharacter would create if anything ran it (replaced by the world's path). */
export const MARKER = '@MARKER@';

export const METACHARACTERS = [
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `x;touch ${MARKER}`,
  `x|touch ${MARKER}`,
  `x&&touch ${MARKER}`,
];

/** Values that are not numbers, or numbers out of any sane bound, or in the wrong unit. */
const NOT_INTEGER = ['abc', '4G', '1.5', '0x10', '１２', '١٢', '99999999999999999999999', '1e400'];
const NOT_SIZE = ['abc', '4Q', '4 GHz', '１２G', '٤G', '99999999999999999999T', '-1G', '1e3G'];

function isFreeText(o: DescribedOption | DescribedArg): boolean {
  const type = 'type' in o ? o.type : 'string';
  return type === 'string' && !o.file && !o.pattern && !o.address;
}

function fileCases(label: string, kind: NonNullable<DescribedOption['file']>): [string, BadFile][] {
  const common: [string, BadFile][] = [
    ['a missing file', 'missing'],
    ['a FIFO with no writer', 'fifo'],
    ['/dev/zero', 'dev-zero'],
    ['a name of 300 characters', 'long-name'],
    ['a path under a regular file', 'under-a-file'],
  ];
  if (label !== '--root') common.push(['a path leaving the --root tree', 'leaves-root']);
  if (kind === 'dir') return [...common, ['a regular file', 'passwd']];
  const out: [string, BadFile][] = [...common];
  if (kind !== 'disk-target') out.push(['a directory', 'directory']);
  if (kind === 'disk-target') return out.filter(([, b]) => b !== 'missing');
  if (kind !== 'regular' && kind !== 'secret') out.push(['an empty file', 'empty']);
  if (kind === 'iso' || kind === 'xl-config' || kind === 'disk-image') out.push(['a copy of /etc/passwd', 'passwd']);
  if (kind === 'xl-config' || kind === 'secret' || kind === 'ssh-config')
    out.push(['a file above its size', 'too-big']);
  if (kind === 'disk-image') return out.filter(([, b]) => b !== 'passwd');
  return out;
}

/** Cases for one value (an option's or an argument's). */
function valueCases(label: string, o: DescribedOption | DescribedArg, type: string): Omit<Case, 'names'>[] {
  const out: Omit<Case, 'names'>[] = [];
  const refused = (what: string, text: string) =>
    out.push({ label: `${label}: ${what}`, value: { text }, expect: 'refused' });
  refused('300 characters', 'a'.repeat(300));
  refused('a newline', 'two\nlines');
  for (const m of METACHARACTERS) {
    out.push({ label: `${label}: ${m}`, value: { text: m }, expect: isFreeText(o) ? 'inert' : 'refused' });
  }
  if (type === 'integer' || type === 'number') {
    for (const v of NOT_INTEGER) if (!(type === 'number' && v === '1.5')) refused(`'${v}'`, v);
    if (o.min === undefined || o.min >= 0) refused('a negative number', '-5');
  }
  if (type === 'size') for (const v of NOT_SIZE) refused(`'${v}'`, v);
  if (type === 'enum' && 'choices' in o && o.choices) {
    refused("'bogus'", 'bogus');
    const upper = o.choices[0]?.toUpperCase();
    if (upper && !o.choices.includes(upper)) refused(`'${upper}' (case)`, upper);
  }
  if (type === 'mac') {
    refused('not hex', 'zz:zz:zz:zz:zz:zz');
    refused('broadcast', 'ff:ff:ff:ff:ff:ff');
  }
  if (o.address === 'ip') refused("'cafe' (a host name)", 'cafe');
  if (o.address === 'host') refused("'bad_host!'", 'bad_host!');
  if (o.address) refused("'999.1.1.1'", '999.1.1.1');
  if (o.file) {
    for (const [what, bad] of fileCases(label, o.file)) {
      // Over ssh, the kinds whose look or read goes through the remote shell (a name too long or a
      // path leaving --root is refused before any look).
      const remote = !o.local && !['long-name', 'under-a-file', 'leaves-root'].includes(bad);
      out.push({ label: `${label}: ${what}`, value: { bad }, expect: 'refused', ssh: remote });
    }
  }
  return out;
}

/** Every case for one playbook. */
export function sweepCases(d: Described): Case[] {
  const cases: Case[] = [];
  for (const o of d.options) {
    const flag = `--${o.name}`;
    const add = (c: Omit<Case, 'names' | 'option'>) => cases.push({ ...c, names: flag, option: o.name });
    if (o.type === 'boolean') {
      add({ label: `${flag}=yes`, extra: [`${flag}=yes`], expect: 'refused' });
      add({ label: `${flag} twice`, extra: [flag, flag], expect: 'refused' });
      continue;
    }
    add({ label: `${flag} without a value`, extra: [flag], expect: 'refused' });
    add({ label: `${flag} empty`, value: { text: '' }, expect: 'refused' });
    // A repeatable option takes a list: twice is two values, each swept below as one.
    if (!o.repeatable) add({ label: `${flag} twice`, extra: [`${flag}=x1`, `${flag}=x2`], expect: 'refused' });
    for (const c of valueCases(flag, o, o.type)) add(c);
  }
  for (const a of d.args) {
    const add = (c: Omit<Case, 'names'>) => cases.push({ ...c, names: a.name });
    if (a.required !== false) add({ label: `${a.name} missing`, omit: a.name, expect: 'refused' });
    add({ label: `${a.name} empty`, value: { text: '' }, expect: 'refused' });
    for (const c of valueCases(a.name, a, 'string')) add(c);
  }
  cases.push({ label: 'an unknown option', names: '--no-such-option', extra: ['--no-such-option'], expect: 'refused' });
  cases.push({ label: '--dry-run twice', names: '--dry-run', extra: ['--dry-run'], expect: 'refused' });
  if (d.transports.includes('root')) {
    const root = d.commonOptions.find((o) => o.name === 'root');
    for (const c of valueCases('--root', root as DescribedOption, 'string').filter((c) => 'bad' in (c.value ?? {}))) {
      cases.push({ ...c, names: '--root', option: 'root', ssh: false });
    }
  }
  if (d.transports.includes('ssh')) {
    cases.push({
      label: '--host with --root',
      names: '--root',
      extra: ['--host', 'root@192.0.2.1'],
      expect: 'refused',
    });
    cases.push({
      label: '--ssh-config without --host',
      names: '--ssh-config',
      extra: ['--ssh-config', '/etc/hostname'],
      expect: 'refused',
    });
    cases.push({
      label: '--host with a space',
      names: '--host',
      option: 'host',
      value: { text: 'root@a b' },
      expect: 'refused',
    });
  } else {
    cases.push({
      label: '--host where it does not run',
      names: '--host',
      extra: ['--host', 'root@192.0.2.1'],
      expect: 'refused',
    });
  }
  return cases;
}

/** A command line from --describe's examples, split as a POSIX shell would (quotes, `\` newlines). */
export function splitExample(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: '"' | "'" | undefined;
  const text = line.replace(/\\\n/g, ' ');
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else cur = (cur ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur ??= '';
    } else if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== undefined) out.push(cur);
  return out;
}
