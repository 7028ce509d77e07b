/**
 * xl.cfg(5) and xm domain configuration files: read them, change them in place, write them back.
 *
 * The grammar is libxlutil's (the parser `xl create` uses), which is also a subset of the
 * Python that xm executed: `key = value` statements ended by a newline or `;`, `#` comments,
 * values that are strings ('single' or "double" quoted, backslash escapes), numbers, or
 * lists `[ ... ]` (nested, spanning lines, trailing comma allowed), and `key += value` to
 * append to a list or a string. Keys are lower case (`[a-z][._0-9a-z]*`). What each Xen release
 * accepts differs (see Syntax below); every reader here takes the release (`{ major, minor,
 * patch? }`, default the newest) and is checked against that release's own libxlutil, cell by
 * cell, by test/xen/libxlu-oracle.test.ts (data: test/fixtures/oracle/libxlu/).
 *
 * API (stable: playbooks persist their changes through it):
 *
 *   const cfg = XlConfig.parse(text)       throws XlConfigError (line, column) where xl would fail
 *                                          ({ xen: release } for an older xl's grammar);
 *                                          XlConfig.parse(text, { lenient: true }) keeps going and
 *                                          lists what it skipped (Python code, CR) in cfg.issues
 *   cfg.get('memory')                      4096 | 'hvm' | ['a', ['b']] | undefined: the value xl uses
 *                                          (the last `=`, then every `+=` after it); numbers other
 *                                          than plain decimals stay as written ('0x10'), as in xl
 *   cfg.getNumber('memory')                as xlu_cfg_get_long reads it: strtol(…, 0) of the whole
 *                                          text, written as a number or a string ("4096")
 *   cfg.has(key); cfg.keys()               keys in file order, each once
 *   cfg.line(key)                          1-based line of the statement that sets the value
 *   cfg.statementText(key)                 the statement(s) for the key as written (for messages)
 *   cfg.set('memory', 4096)                replaces the value where it is written (quote style, list
 *                                          layout and everything else in the file kept byte for byte);
 *                                          a new key is appended at the end. Returns false when the
 *                                          file already says so (then nothing is touched).
 *   cfg.delete('builder')                  removes the statement(s); their line too when alone on it
 *   cfg.comment('bootloader')              turns the statement(s) into comments (`#bootloader = ...`)
 *   cfg.toString()                         the file's text
 *   cfg.deprecations('xl')                 xend-era keys and syntax xl ignores or mis-reads, each with
 *                                          the modern form (builder=, stdvga=, kernel=hvmloader,
 *                                          device_model=, file:/phy:/tap:aio: disk prefixes, ...)
 *
 *   formatValue(value, opts?)              the text of a value, so that parsing it gives the value back
 *   sameValue(a, b)                        equal as xl reads them (4096 and "4096" are the same)
 *   parseDiskSpec(spec, release?) / formatDiskSpec(params)   'format=raw, vdev=xvda, access=rw,
 *                                          target=/path' <-> { format, vdev, access, target }; target=
 *                                          is written last; 'drbd:res0,xvda,w' -> { script: 'block-drbd',
 *                                          target: 'res0', vdev: 'xvda', access: 'w' }
 *   readDiskSpec(spec, release?)           also the libxl_device_disk xl fills in (src/xen/diskspec.ts)
 *   modernizeDiskSpec(spec), legacyDiskSyntax(spec)  'file:/x.img,hda,w' -> 'format=raw, vdev=hda,
 *                                          access=rw, target=/x.img'
 *   parseVifSpec(spec) / formatVifSpec(params)     'bridge=xenbr0,mac=00:16:3e:..,model=e1000,rate=10Mb/s'
 *   parseVifRate('10Mb/s@20ms', release?)  { bytesPerSecond, intervalUsecs, bytesPerInterval } as xl computes
 *   parseMemSize('2048m')                  KiB, as `xl mem-set` reads a size (bare number: MiB)
 */

import { NEWEST_RELEASE, readDiskSpec, releaseAtLeast, type DiskSpec, type XenRelease } from './diskspec.js';

/** A value in a domain configuration file. Numbers are what xl reads as numbers (non-negative integers). */
export type XlValue = string | number | XlValue[];

/** A syntax error, where xl would stop reading the file. */
export class XlConfigError extends Error {
  readonly line: number;
  readonly column: number;
  /** xl would add "Config file looks like it contains Python code" (it met one of `+-.():`). */
  likelyPython = false;
  constructor(message: string, line: number, column: number, source = 'config') {
    super(`${source}:${line}:${column}: ${message}`);
    this.name = 'XlConfigError';
    this.line = line;
    this.column = column;
  }
}

/** Something a lenient parse skipped. */
export interface XlConfigIssue {
  line: number;
  message: string;
  /** The text of the line. */
  text: string;
}

/** A xend-era key or syntax found in a file meant for xl, with its modern form. */
export interface Deprecation {
  key: string;
  line: number;
  /** As written in the file, e.g. `builder = "hvm"` or, for a disk, the disk spec. */
  found: string;
  /** The modern form, e.g. `type = "hvm"`; empty when the line should simply go. */
  modern: string;
  message: string;
}

export interface FormatOptions {
  /** Quote for strings (default `"` for a single value, `'` for strings inside a list). */
  quote?: "'" | '"';
  /** Write a list one element per line (default: when it does not fit in about 80 columns). */
  multiline?: boolean;
  /** Indentation of the elements of a multi-line list (default four spaces). */
  indent?: string;
}

export const KEY_PATTERN = /^[a-z][._0-9a-z]*$/;

/* ------------------------------------------------------------------ lexer */

type TokType = 'ident' | 'number' | 'string' | '=' | '+=' | '[' | ']' | ',' | ';' | 'newline' | 'eof';

interface Token {
  type: TokType;
  start: number;
  end: number;
  line: number;
  col: number;
  /** ident/number: the text; string: the unescaped value. */
  value: string;
  quote?: "'" | '"';
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * What the release's scanner (libxlu_cfg_l.l) and parser (libxlu_cfg_y.y) accept, where releases
 * differ (each read from the tag and checked against its libxlutil, test/fixtures/oracle/libxlu/):
 * dotted keys from RELEASE-4.3.0 (`[a-z][._0-9a-z]*`; `[a-z][_0-9a-z]*` before), nested lists
 * from 4.6.0, `+=` from 4.13.0, a last statement without a newline from 4.2.1 (4.2.0 refuses it;
 * 4.0 and 4.1 free memory twice on it and abort), and an unknown `\c` escape in a string refused
 * from 4.7.0 (before, xl silently drops it).
 */
interface Syntax {
  dottedKeys: boolean;
  nestedLists: boolean;
  plusEquals: boolean;
  unterminatedLastLine: boolean;
  refuseUnknownEscape: boolean;
}

/**
 * Whether xl's scanner meets one of `+-.():` where a token starts (the rule that sets
 * likely_python in libxlu_cfg_l.l; a file that fails to parse then gets "warning: Config file
 * looks like it contains Python code"). xl scans the whole file however early the error, so this
 * does too; after any other unexpected character the scanner skips to the next blank.
 */
export function looksLikePython(
  text: string,
  syntax: Pick<Syntax, 'plusEquals' | 'dottedKeys'> = syntaxOf(NEWEST_RELEASE),
): boolean {
  const ident = syntax.dottedKeys ? /[._0-9a-z]/ : /[_0-9a-z]/;
  for (let i = 0; i < text.length;) {
    const c = text[i] as string;
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      i = j + 1;
    } else if (/[a-z]/.test(c)) {
      while (i < text.length && ident.test(text[i] as string)) i++;
    } else if (/[0-9]/.test(c)) {
      while (i < text.length && /[0-9a-fx]/.test(text[i] as string)) i++;
    } else if (c === '+' && text[i + 1] === '=' && syntax.plusEquals) i += 2;
    else if (/[-+.():]/.test(c)) return true;
    else if (/[ \t\n,[\]=;]/.test(c)) i++;
    else while (i < text.length && !/[ \t\n]/.test(text[i] as string)) i++;
  }
  return false;
}

function syntaxOf(r: XenRelease): Syntax {
  return {
    dottedKeys: releaseAtLeast(r, 4, 3),
    nestedLists: releaseAtLeast(r, 4, 6),
    plusEquals: releaseAtLeast(r, 4, 13),
    unterminatedLastLine: releaseAtLeast(r, 4, 2, 1),
    refuseUnknownEscape: releaseAtLeast(r, 4, 7),
  };
}

class Lexer {
  pos = 0;
  line = 1;
  lineStart = 0;
  constructor(
    readonly text: string,
    readonly lenient: boolean,
    readonly syntax: Syntax,
  ) {}

  error(message: string, at = this.pos): never {
    const before = this.text.lastIndexOf('\n', at - 1);
    throw new XlConfigError(message, this.line, at - (before + 1) + 1);
  }

  next(): Token {
    const t = this.text;
    for (;;) {
      const c = t[this.pos];
      if (c === ' ' || c === '\t') {
        this.pos++;
        continue;
      }
      if (c === '\r') {
        if (!this.lenient) this.error('carriage return (DOS line ending): xl rejects the file');
        this.pos++;
        continue;
      }
      if (c === '#') {
        // `\#.*\n`: a comment is read with its newline; one that ends the file unterminated is a
        // lexical error in every release.
        const nl = t.indexOf('\n', this.pos);
        if (nl < 0)
          this.error('a comment at the end of the file without a newline: xl refuses the file (lexical error)');
        this.pos = nl;
        continue;
      }
      break;
    }
    const start = this.pos;
    const col = start - this.lineStart + 1;
    const tok = (type: TokType, end: number, value = ''): Token => {
      this.pos = end;
      return { type, start, end, line: this.line, col, value };
    };
    if (start >= t.length) {
      // xl reports an error at the end of the file on the last line it read.
      const r = tok('eof', start);
      if (start > 0 && t[start - 1] === '\n') r.line = this.line - 1;
      return r;
    }
    const c = t[start] as string;
    if (c === '\n') {
      const r = tok('newline', start + 1);
      this.line++;
      this.lineStart = start + 1;
      return r;
    }
    if (c === '=' || c === '[' || c === ']' || c === ',' || c === ';') return tok(c, start + 1);
    if (c === '+' && t[start + 1] === '=' && this.syntax.plusEquals) return tok('+=', start + 2);
    if (/[a-z]/.test(c)) {
      const re = this.syntax.dottedKeys ? /[a-z][._0-9a-z]*/y : /[a-z][_0-9a-z]*/y;
      re.lastIndex = start;
      const m = re.exec(t) as RegExpExecArray;
      return tok('ident', start + m[0].length, m[0]);
    }
    if (/[0-9]/.test(c)) {
      const re = /[0-9][0-9a-fx]*/y;
      re.lastIndex = start;
      const m = re.exec(t) as RegExpExecArray;
      return tok('number', start + m[0].length, m[0]);
    }
    if (c === '"' || c === "'") {
      let i = start + 1;
      let out = '';
      for (;;) {
        const d = t[i];
        if (d === undefined || d === '\n') {
          this.pos = i;
          this.error('unterminated string', start);
        }
        if (d === c) break;
        if (d === '\0') {
          this.pos = i;
          // xlu__cfgl_dequote() measures the token with strlen(): its assert fails and xl aborts.
          this.error('a NUL byte inside a string: xl aborts on it', i);
        }
        if (d === '\\') {
          const e = t[i + 1];
          if (e === undefined || e === '\n') {
            this.pos = i;
            this.error('unterminated string', start);
          }
          const read = this.escape(t, i, start, c);
          out += read.value;
          i = read.end;
          continue;
        }
        out += d;
        i++;
      }
      const r = tok('string', i + 1, out);
      r.quote = c;
      return r;
    }
    this.error(`unexpected character '${c}'`);
  }

  /**
   * The escape at t[i] (a backslash) as xlu__cfgl_dequote() reads it: one of \" \' \\ \a \b \f \n
   * \r \t \v; `\x` is always refused (its NUMERIC_CHAR(2,2,16) can never succeed); `\0`–`\7`
   * reads up to three more characters with strtoul(…, 10) after the first digit, needs two of them,
   * and writes nothing (the escaped character is dropped); anything else is refused from 4.7 and
   * dropped before.
   */
  private escape(t: string, i: number, start: number, quote: string): { value: string; end: number } {
    const e = t[i + 1] as string;
    const mapped = ESCAPES[e];
    if (mapped !== undefined) return { value: mapped, end: i + 2 };
    const close = this.closingQuote(t, start, quote);
    if (e === 'x') {
      this.pos = i;
      this.error('\\x escapes are refused by xl (invalid digit after backslash hex numerical character escape)', i);
    }
    if (/[0-7]/.test(e)) {
      const numbuf = t.slice(i + 2, Math.min(i + 5, close + 1));
      const m = /^[ \t\n\v\f\r]*[+-]?[0-9]+/.exec(numbuf);
      if (!m || m[0].length <= 1) {
        this.pos = i;
        this.error(
          'invalid digit after backslash octal numerical character escape (xl drops such escapes: write the character itself)',
          i,
        );
      }
      return { value: '', end: i + 2 + m[0].length };
    }
    if (this.syntax.refuseUnknownEscape) {
      this.pos = i;
      this.error('invalid character after backslash in quoted string', i);
    }
    // Before 4.7 an unknown escape is dropped, backslash and character both.
    return { value: '', end: i + 2 };
  }

  /** Where the string starting at `start` ends (the scanner's token), for escapes that look ahead. */
  private closingQuote(t: string, start: number, quote: string): number {
    for (let j = start + 1; j < t.length; j++) {
      if (t[j] === '\\') j++;
      else if (t[j] === quote || t[j] === '\n') return j;
    }
    return t.length;
  }
}

/* ------------------------------------------------------------------ parser */

interface Statement {
  key: string;
  op: '=' | '+=';
  /** Offset of the key. */
  start: number;
  /** Offset just after the value. */
  end: number;
  valueStart: number;
  value: XlValue;
  /** Quote of the string value, or of the first string in the list. */
  quote: "'" | '"' | undefined;
  line: number;
  endLine: number;
}

/**
 * A number token. libxlutil keeps every atom as the text written (xlu_cfg_get_string gives
 * `0x10` back) and converts only when asked for a number (xlu_cfg_get_long, strtol(…, 0)): a
 * plain decimal is a number here, anything else (0x10, 017, 12abc) stays its text; getNumber()
 * reads both as xl does.
 */
function numberValue(text: string): XlValue {
  if (/^(?:0|[1-9][0-9]*)$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  return text;
}

const LONG_MAX = 0x7fffffffffffffffn;

/** strtol(text, &end, 0) as xlu_cfg_get_long uses it: the whole text a number, within a long. */
export function strtolWhole(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(text);
  if (!m) return undefined;
  const digits = m[2] as string;
  const magnitude = /^0x/i.test(digits)
    ? BigInt(digits)
    : digits.length > 1 && digits.startsWith('0')
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  const value = m[1] === '-' ? -magnitude : magnitude;
  if (value > LONG_MAX || value < -LONG_MAX - 1n) return undefined; // ERANGE
  return Number(value);
}

function parseText(
  text: string,
  lenient: boolean,
  source: string,
  syntax: Syntax,
): { statements: Statement[]; issues: XlConfigIssue[] } {
  const issues: XlConfigIssue[] = [];
  const lineText = (n: number) => text.split('\n')[n - 1] ?? '';
  const lineOffsets = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineOffsets.push(i + 1);
  const lx = new Lexer(text, lenient, syntax);
  const statements: Statement[] = [];
  let tok = lx.next();
  const type = (): TokType => tok.type;
  const advance = () => {
    tok = lx.next();
  };
  const fail = (message: string, t: Token = tok): never => {
    throw new XlConfigError(message, t.line, t.col, source);
  };
  const describe = (t: Token) =>
    t.type === 'eof' ? 'end of file' : t.type === 'newline' ? 'end of line' : `'${text.slice(t.start, t.end)}'`;

  const skipNewlines = () => {
    while (type() === 'newline') advance();
  };
  const parseValue = (): { value: XlValue; quote: "'" | '"' | undefined; end: number } => {
    if (type() === 'string') {
      const r = { value: tok.value, quote: tok.quote, end: tok.end };
      advance();
      return r;
    }
    if (type() === 'number') {
      const r = { value: numberValue(tok.value), quote: undefined, end: tok.end };
      advance();
      return r;
    }
    if (type() === '[') {
      advance();
      skipNewlines();
      const items: XlValue[] = [];
      let quote: "'" | '"' | undefined;
      while (type() !== ']') {
        if (type() === '[' && !syntax.nestedLists)
          fail('a list inside a list: xl of this release refuses it (from Xen 4.6)');
        const v = parseValue();
        items.push(v.value);
        quote ??= v.quote;
        skipNewlines();
        if (type() === ',') {
          advance();
          skipNewlines();
          continue;
        }
        if (type() !== ']') fail(`expected ',' or ']' in a list, found ${describe(tok)}`);
      }
      const end = tok.end;
      advance();
      return { value: items, quote, end };
    }
    return fail(`expected a value (a string, a number or a list), found ${describe(tok)}`);
  };

  while (type() !== 'eof') {
    try {
      if (type() === 'newline' || type() === ';') {
        advance();
        continue;
      }
      if (type() !== 'ident') fail(`expected a key, found ${describe(tok)}`);
      const keyTok = tok;
      advance();
      if (type() !== '=' && type() !== '+=') fail(`expected '=' after ${keyTok.value}, found ${describe(tok)}`);
      const op = type() as '=' | '+=';
      advance();
      const valueStart = tok.start;
      const v = parseValue();
      const endLine = text.slice(0, v.end).split('\n').length;
      if (type() !== 'newline' && type() !== ';' && type() !== 'eof') {
        fail(`expected the end of the line after the value of ${keyTok.value}, found ${describe(tok)}`);
      }
      if (type() === 'eof' && !syntax.unterminatedLastLine) {
        fail(
          'the last statement has no newline after it: xl of this release refuses the file (from Xen 4.2.1 it reads it)',
        );
      }
      statements.push({
        key: keyTok.value,
        op,
        start: keyTok.start,
        end: v.end,
        valueStart,
        value: v.value,
        quote: v.quote,
        line: keyTok.line,
        endLine,
      });
    } catch (e) {
      if (!lenient || !(e instanceof XlConfigError)) throw e;
      issues.push({ line: e.line, message: e.message.replace(/^[^:]*:\d+:\d+: /, ''), text: lineText(e.line) });
      // Resynchronise at the start of the next line.
      const next = lineOffsets[e.line];
      lx.pos = next ?? text.length;
      lx.line = e.line + 1;
      lx.lineStart = lx.pos;
      advance();
    }
  }
  // `+=` must add a list to a list or a string to a string, as libxlutil checks while reading.
  const kinds = new Map<string, boolean>();
  for (const st of [...statements]) {
    const isList = Array.isArray(st.value);
    const before = kinds.get(st.key);
    if (st.op === '+=' && before !== undefined && before !== isList) {
      const message = `can't add ${isList ? 'a list to a string' : 'a string to a list'} (${st.key} +=)`;
      if (!lenient) throw new XlConfigError(message, st.line, 1, source);
      issues.push({ line: st.line, message, text: lineText(st.line) });
      statements.splice(statements.indexOf(st), 1);
      continue;
    }
    if (st.op === '=' || before === undefined) kinds.set(st.key, isList);
  }
  if (lenient && text.includes('\r')) {
    const n = text.slice(0, text.indexOf('\r')).split('\n').length;
    issues.push({ line: n, message: 'carriage return (DOS line ending): xl rejects the file', text: lineText(n) });
  }
  issues.sort((a, b) => a.line - b.line);
  return { statements, issues };
}

/* ------------------------------------------------------------------ values */

function canonical(v: XlValue): unknown {
  // xl keeps every atom as a string: 4096 and "4096" are the same value to it.
  if (Array.isArray(v)) return v.map(canonical);
  return String(v);
}

/** The same value as far as xl is concerned (a number equals its decimal string). */
export function sameValue(a: XlValue | undefined, b: XlValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function quoteString(s: string, quote: "'" | '"'): string {
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (ch === '\0') throw new TypeError('a NUL character cannot be written in an xl configuration file');
    else out += ch;
  }
  return out + quote;
}

/** The text of a value; parsing it gives the same value back (and Python reads it the same way). */
export function formatValue(value: XlValue, opts: FormatOptions = {}, depth = 0): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`xl reads only non-negative whole numbers; write ${value} as a string`);
    }
    return String(value);
  }
  if (typeof value === 'string') return quoteString(value, opts.quote ?? (depth === 0 ? '"' : "'"));
  if (!Array.isArray(value)) throw new TypeError(`not a configuration value: ${String(value)}`);
  if (value.length === 0) return '[]';
  const items = value.map((v) => formatValue(v, { ...opts, multiline: false }, depth + 1));
  const oneLine = `[ ${items.join(', ')} ]`;
  const multiline = opts.multiline ?? (oneLine.length > 80 && items.length > 1);
  if (!multiline || depth > 0) return oneLine;
  const indent = opts.indent ?? '    ';
  return `[\n${items.map((i) => `${indent}${i},\n`).join('')}]`;
}

/* ------------------------------------------------------------------ the file */

export interface ParseOptions {
  /** Keep going past statements xl cannot read (Python code, CR line endings); see `issues`. */
  lenient?: boolean;
  /** Name used in error messages. */
  source?: string;
  /** The Xen release whose xl reads the file (default: the newest); see Syntax. */
  xen?: XenRelease;
}

export class XlConfig {
  private text: string;
  private statements: Statement[];
  /** What a lenient parse skipped (empty after a strict parse). */
  issues: XlConfigIssue[];
  private readonly lenient: boolean;
  private readonly source: string;
  private readonly syntax: Syntax;

  private constructor(text: string, opts: ParseOptions) {
    this.lenient = opts.lenient ?? false;
    this.source = opts.source ?? 'config';
    this.syntax = syntaxOf(opts.xen ?? NEWEST_RELEASE);
    this.text = text;
    try {
      const r = parseText(text, this.lenient, this.source, this.syntax);
      this.statements = r.statements;
      this.issues = r.issues;
    } catch (e) {
      if (e instanceof XlConfigError) e.likelyPython = looksLikePython(text, this.syntax);
      throw e;
    }
  }

  static parse(text: string, opts: ParseOptions = {}): XlConfig {
    return new XlConfig(text, opts);
  }

  private reparse(text: string): void {
    const r = parseText(text, this.lenient, this.source, this.syntax);
    this.text = text;
    this.statements = r.statements;
    this.issues = r.issues;
  }

  private of(key: string): Statement[] {
    return this.statements.filter((s) => s.key === key);
  }

  toString(): string {
    return this.text;
  }

  keys(): string[] {
    return [...new Set(this.statements.map((s) => s.key))];
  }

  has(key: string): boolean {
    return this.statements.some((s) => s.key === key);
  }

  /** The value xl uses: the last `key = ...`, with every later `key += ...` appended. */
  get(key: string): XlValue | undefined {
    let value: XlValue | undefined;
    for (const s of this.of(key)) {
      if (s.op === '=' || value === undefined) {
        value = s.value;
        continue;
      }
      if (Array.isArray(value) && Array.isArray(s.value)) value = [...value, ...s.value];
      else if (!Array.isArray(value) && !Array.isArray(s.value)) {
        value = `${value}${s.value}`;
      } else {
        throw new XlConfigError(
          `can't add a list to a string or the other way round (key ${key})`,
          s.line,
          1,
          this.source,
        );
      }
    }
    return value;
  }

  /**
   * The value as xlu_cfg_get_long reads it: strtol(…, 0) on the whole text (leading white space
   * and a sign allowed, 0x hex, a leading 0 octal), written as a number or a string alike;
   * undefined when absent, a list, not a number, out of range, or set with `+=` (xl refuses
   * `+=` with numbers).
   */
  getNumber(key: string): number | undefined {
    const st = this.of(key);
    if (st.at(-1)?.op === '+=') return undefined;
    const v = this.get(key);
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return strtolWhole(v);
    return undefined;
  }

  /** Line (1-based) of the statement that sets the value. */
  line(key: string): number | undefined {
    const st = this.of(key);
    const last = [...st].reverse().find((s) => s.op === '=') ?? st[0];
    return last?.line;
  }

  /** The text of the statement(s) for a key, as written. */
  statementText(key: string): string[] {
    return this.of(key).map((s) => this.text.slice(s.start, s.end));
  }

  /**
   * Set a value. An existing statement keeps its place, spacing, quote style, list layout and
   * trailing comment; later `+=` for the key are removed. A new key goes at the end of the file.
   * Returns false (and changes nothing) when xl already reads this value.
   */
  set(key: string, value: XlValue, opts: FormatOptions = {}): boolean {
    if (!KEY_PATTERN.test(key)) throw new TypeError(`'${key}' is not a key xl can read (lower case, [a-z][._0-9a-z]*)`);
    const current = this.of(key);
    if (current.length > 0 && sameValue(this.get(key), value)) return false;
    if (current.length === 0) {
      const text = this.text;
      const sep = text === '' || text.endsWith('\n') ? '' : '\n';
      this.reparse(`${text}${sep}${key} = ${formatValue(value, opts)}\n`);
      return true;
    }
    const target = [...current].reverse().find((s) => s.op === '=') ?? (current[0] as Statement);
    const old = this.text.slice(target.valueStart, target.end);
    const wasMultiline = old.includes('\n');
    const indentMatch = /\n([ \t]+)\S/.exec(old);
    const formatted = formatValue(value, {
      ...(target.quote ? { quote: target.quote } : {}),
      ...(Array.isArray(value) && Array.isArray(target.value) ? { multiline: wasMultiline } : {}),
      ...(indentMatch?.[1] ? { indent: indentMatch[1] } : {}),
      ...opts,
    });
    let text = this.text;
    // Remove later statements first (offsets of earlier ones stay valid).
    const later = current.filter((s) => s.start > target.start).reverse();
    for (const s of later) text = removeStatement(text, s);
    const opFix = target.op === '+=' ? this.opRewrite(target) : undefined;
    text = text.slice(0, target.valueStart) + formatted + text.slice(target.end);
    if (opFix) text = text.slice(0, opFix.start) + '=' + text.slice(opFix.end);
    this.reparse(text);
    return true;
  }

  /** Where the `+=` of a statement is, to turn it into `=`. */
  private opRewrite(s: Statement): { start: number; end: number } {
    const between = this.text.slice(s.start, s.valueStart);
    const i = between.indexOf('+=');
    return { start: s.start + i, end: s.start + i + 2 };
  }

  /** Remove every statement for the key (and its line when nothing else is on it). */
  delete(key: string): boolean {
    const st = this.of(key);
    if (st.length === 0) return false;
    let text = this.text;
    for (const s of [...st].reverse()) text = removeStatement(text, s);
    this.reparse(text);
    return true;
  }

  /** Turn every statement for the key into a comment (`#key = value`). */
  comment(key: string): boolean {
    const st = this.of(key);
    if (st.length === 0) return false;
    let text = this.text;
    for (const s of [...st].reverse()) {
      const { lineStart, alone } = placement(text, s);
      const stmt = text.slice(s.start, s.end);
      if (alone) {
        const lastLineEnd = lineEndOf(text, s.end);
        const block = text.slice(lineStart, lastLineEnd);
        text = text.slice(0, lineStart) + block.replace(/^/gm, '#') + text.slice(lastLineEnd);
      } else {
        text = removeStatement(text, s);
        text = `${text.slice(0, lineStart)}${stmt.replace(/^/gm, '#')}\n${text.slice(lineStart)}`;
      }
    }
    this.reparse(text);
    return true;
  }

  /** Keys and syntax from the xend era that xl ignores or reads differently. Empty for an xm file. */
  deprecations(toolstack: 'xl' | 'xm' = 'xl'): Deprecation[] {
    if (toolstack === 'xm') return [];
    const out: Deprecation[] = [];
    const at = (key: string) => this.line(key) ?? 0;
    const found = (key: string) => this.statementText(key).join('; ');
    const flag = (key: string, modern: string, message: string) =>
      out.push({ key, line: at(key), found: found(key), modern, message });
    const builder = this.get('builder');
    if (builder !== undefined) {
      const type = builder === 'hvm' ? 'hvm' : 'pv';
      const declared = this.get('type');
      flag(
        'builder',
        `type = "${type}"`,
        declared !== undefined && declared !== type
          ? `builder= is xend's name for the domain type, and it contradicts type = "${String(declared)}": xl refuses the file (Contradicting "builder" and "type" options specified.)`
          : 'builder= is how xend named the domain type; xl reads type=',
      );
    }
    const stdvga = this.get('stdvga');
    if (stdvga !== undefined) {
      const on = String(stdvga) !== '0';
      flag(
        'stdvga',
        `vga = "${on ? 'stdvga' : 'cirrus'}"`,
        'stdvga= is the old switch for the emulated graphics card; xl reads vga=',
      );
    }
    const kernel = this.get('kernel');
    if (typeof kernel === 'string' && /(^|\/)hvmloader$/.test(kernel)) {
      flag(
        'kernel',
        '',
        'xl loads hvmloader by itself; under xl, kernel= means direct kernel boot and xl warns: you seem to be using "kernel" directive to override HVM guest firmware (use firmware_override only for a non-default firmware)',
      );
    }
    if (this.has('device_model')) {
      flag(
        'device_model',
        'device_model_version = "qemu-xen"',
        'xl ignores device_model= (WARNING: ignoring device_model directive.); it picks the device model with device_model_version= (device_model_override= only for a non-default binary)',
      );
    }
    if (this.has('vncviewer')) {
      flag('vncviewer', '', 'xl ignores vncviewer=; run `xl create -V` to start a viewer');
    }
    if (this.has('altp2mhvm')) {
      const v = this.get('altp2mhvm');
      flag(
        'altp2mhvm',
        `altp2m = "${String(v) === '0' ? 'disabled' : 'external'}"`,
        'altp2mhvm= is deprecated; xl reads altp2m=',
      );
    }
    const disks = this.get('disk');
    if (Array.isArray(disks)) {
      for (const d of disks) {
        if (typeof d !== 'string') continue;
        const legacy = legacyDiskSyntax(d);
        if (!legacy) continue;
        let modern = '';
        try {
          modern = modernizeDiskSpec(d);
        } catch {
          modern = '';
        }
        out.push({
          key: 'disk',
          line: at('disk'),
          found: d,
          modern,
          message: `${legacy}: the xend disk syntax; xl still reads it but the documented form is key=value with target= last`,
        });
      }
    }
    return out.sort((a, b) => a.line - b.line);
  }
}

/** Start of the statement's first line, and whether the statement has its lines to itself. */
function placement(text: string, s: Statement): { lineStart: number; alone: boolean } {
  const lineStart = text.lastIndexOf('\n', s.start - 1) + 1;
  const before = text.slice(lineStart, s.start);
  const lastLineEnd = lineEndOf(text, s.end);
  const after = text.slice(s.end, lastLineEnd);
  const alone = /^[ \t;]*$/.test(before) && /^[ \t;]*(#.*)?\r?$/.test(after);
  return { lineStart, alone };
}

function lineEndOf(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl;
}

function removeStatement(text: string, s: Statement): string {
  const { lineStart, alone } = placement(text, s);
  if (alone) {
    const end = lineEndOf(text, s.end);
    return text.slice(0, lineStart) + text.slice(end < text.length ? end + 1 : end);
  }
  const after = text.slice(s.end);
  const m = /^[ \t]*;[ \t]*/.exec(after);
  if (m) return text.slice(0, s.start) + after.slice(m[0].length);
  // Last statement on a line shared with others: take the separator before it too.
  const before = text.slice(lineStart, s.start);
  const bm = /[ \t]*;?[ \t]*$/.exec(before) as RegExpExecArray;
  return text.slice(0, s.start - bm[0].length) + after;
}

/* ------------------------------------------------------------------ disk specs */

export { DiskSpecError, readDiskSpec, type DiskSpec, type LibxlDisk, type XenRelease } from './diskspec.js';

const DISK_FLAGS = new Set(['direct-io-safe', 'discard', 'no-discard', 'colo', 'no-colo', 'trusted', 'untrusted']);
/** xend's target prefixes that xl still accepts (the format ones set format=, the script ones script=). */
const LEGACY_PREFIX = /^(?:(raw|qcow2?|vhd):|tapdisk:|tap2?:|aio:|ioemu:|file:|phy:|(?:iscsi|e?nbd|drbd):)/;

/** The deprecated syntax a disk spec uses (e.g. "file: prefix"), or undefined for the modern form. */
export function legacyDiskSyntax(spec: string): string | undefined {
  for (const raw of splitDiskItems(spec)) {
    const item = raw.replace(/^\s+/, '');
    if (item.includes('=')) continue;
    const m = /^([a-z][a-z0-9]*):/.exec(item);
    if (m && LEGACY_PREFIX.test(item)) {
      // tap:aio: and tap:qcow2: are one prefix to the reader.
      const full = /^(tap2?:(?:aio|qcow2?|vhd|tapdisk):|[a-z0-9]+:)/.exec(item) as RegExpExecArray;
      return `${full[1]} prefix`;
    }
    return undefined;
  }
  return undefined;
}

/** The items of a spec up to `target=`, which takes the rest. */
function splitDiskItems(spec: string): string[] {
  const items: string[] = [];
  let rest = spec;
  for (;;) {
    if (rest.replace(/^\s+/, '').startsWith('target=')) return items;
    const comma = rest.indexOf(',');
    if (comma < 0) {
      items.push(rest);
      return items;
    }
    items.push(rest.slice(0, comma));
    rest = rest.slice(comma + 1);
  }
}

/**
 * Parse a disk spec as xl of the given release does (default: the newest), into the parameters
 * as written: `key=value` pairs, flags, positional target/format/vdev/access, the xend prefixes
 * (`file:`, `phy:`, `tap:aio:`, … and the block-script ones `drbd:`, `iscsi:`, `nbd:`, `enbd:`,
 * which set script=block-NAME) and `target=` taking the rest. Throws DiskSpecError where xl refuses
 * the spec. The reader is readDiskSpec() (src/xen/diskspec.ts), checked against every release.
 */
export function parseDiskSpec(spec: string, release?: XenRelease): DiskSpec {
  return readDiskSpec(spec, release).params;
}

const DISK_ORDER = ['format', 'vdev', 'access', 'devtype', 'backendtype', 'backend', 'script', 'specification'];

/** Write a disk spec: `format=raw, vdev=xvda, access=rw, target=/path` (target= always last). */
export function formatDiskSpec(params: DiskSpec): string {
  const keys = Object.keys(params);
  const ordered = [
    ...DISK_ORDER.filter((k) => keys.includes(k)),
    ...keys.filter((k) => !DISK_ORDER.includes(k) && k !== 'target'),
  ];
  const parts = ordered.map((k) => {
    const v = params[k] as string;
    if (v.includes(',')) throw new TypeError(`disk parameter ${k}=${v}: only target= may contain a comma`);
    return v === '' && DISK_FLAGS.has(k) ? k : `${k}=${v}`;
  });
  if (params.target !== undefined) parts.push(`target=${params.target}`);
  return parts.join(', ');
}

/** The documented form of a disk spec: format set, access spelt rw/ro, target= last. */
export function modernizeDiskSpec(spec: string, release?: XenRelease): string {
  const p = parseDiskSpec(spec, release);
  const out: DiskSpec = { ...p };
  if (out.access === 'w') out.access = 'rw';
  if (out.access === 'r') out.access = 'ro';
  if (out.devtype === 'cdrom' && out.access === undefined) out.access = 'ro';
  if (out.format === undefined && out.target) out.format = 'raw';
  // An empty CD drive is written with an empty target= (xl-disk-configuration(5)).
  if (out.devtype === 'cdrom' && out.target === undefined) out.target = '';
  return formatDiskSpec(out);
}

/* ------------------------------------------------------------------ vif specs */

/** xl-network-configuration(5) parameters, as a map in the order written. */
export type VifSpec = Record<string, string>;

export function parseVifSpec(spec: string): VifSpec {
  const out: VifSpec = {};
  if (spec.trim() === '') return out;
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new TypeError(`vif parameter '${item}' is not key=value (in '${spec}')`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function formatVifSpec(params: VifSpec): string {
  return Object.entries(params)
    .map(([k, v]) => {
      if (v.includes(',')) throw new TypeError(`vif parameter ${k}=${v} cannot contain a comma`);
      return `${k}=${v}`;
    })
    .join(',');
}

export interface VifRate {
  bytesPerSecond: number;
  intervalUsecs: number;
  /** What the backend enforces: bytes per replenishment interval. */
  bytesPerInterval: number;
}

const UINT32_MAX = 0xffffffffn;
const UINT64_MAX = 0xffffffffffffffffn;

/** strtoull(text, &end, 0) on text the regex already admitted: [0-9]+ then the rest. */
function strtoull0(text: string): { value: bigint; rest: string; range: boolean } {
  const m = /^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)/i.exec(text) as RegExpExecArray;
  const digits = m[0];
  const value = /^0x/i.test(digits)
    ? BigInt(digits)
    : digits.length > 1 && digits.startsWith('0')
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  return { value: value > UINT64_MAX ? UINT64_MAX : value, rest: text.slice(digits.length), range: value > UINT64_MAX };
}

/**
 * `rate=` of a vif as the release's xlu_vif_parse_rate() computes it (libxlu_vif.c, from
 * RELEASE-4.2.0): decimal units, B bytes and b bits (divided by 8 after the multiplier), the
 * number read by strtoull(…, 0) (a leading 0 is octal), the interval `@N[m|u][s]` (a bare number
 * is seconds) defaulting to 50ms. 4.2.0–4.2.3 and 4.3.0 split the text with strtok(…, "@"):
 * a trailing `@` or a second `@…` is ignored there, and a lone `@` crashes xl (refused here);
 * from 4.2.4 and 4.3.1 everything after the first `@` is the interval.
 */
export function parseVifRate(rate: string, release: XenRelease = NEWEST_RELEASE): VifRate {
  const err = (msg: string, what: string) => new TypeError(`config parsing error in vif: ${msg} in \`${what}'`);
  const strtok =
    !releaseAtLeast(release, 4, 2, 4) ||
    (release.major === 4 && release.minor === 3 && !releaseAtLeast(release, 4, 3, 1));
  let amount: string;
  let interval: string | undefined;
  if (rate === '') throw err('no rate specified', rate);
  if (strtok) {
    const tokens = rate.split('@').filter((t) => t !== '');
    if (tokens.length === 0) throw err('no rate specified (xl of this release crashes on it)', rate);
    amount = tokens[0] as string;
    interval = tokens[1];
  } else {
    const at = rate.indexOf('@');
    amount = at < 0 ? rate : rate.slice(0, at);
    interval = at < 0 ? undefined : rate.slice(at + 1);
    if (amount === '') throw err('no rate specified', rate);
  }
  if (!/^[0-9]+[GMK]?[Bb]\/s$/.test(amount)) throw err('invalid rate', amount);
  const b = strtoull0(amount);
  if (b.value === 0n || b.value > UINT32_MAX || b.range) throw err('rate overflow', amount);
  let bytes = b.value;
  const unit = b.rest[0];
  if (unit === 'G') bytes *= 1_000_000_000n;
  else if (unit === 'M') bytes *= 1_000_000n;
  else if (unit === 'K') bytes *= 1000n;
  if (unit === 'b' || b.rest[1] === 'b') bytes /= 8n;
  let usecs = 50_000n;
  if (interval !== undefined) {
    if (!/^[0-9]+[mu]?s?$/.test(interval)) throw err('invalid replenishment interval', interval);
    const t = strtoull0(interval);
    if (t.value === 0n || t.value > UINT32_MAX || t.range) throw err('replenishment interval overflow', interval);
    let v = t.value;
    if (t.rest[0] === 's' || t.rest === '') v *= 1_000_000n;
    else if (t.rest[0] === 'm') v *= 1000n;
    if (v > UINT32_MAX) throw err('replenishment interval overflow', interval);
    usecs = v;
  }
  if (bytes > UINT64_MAX / usecs) throw err('rate overflow', rate);
  const perInterval = (bytes * usecs) / 1_000_000n;
  return { bytesPerSecond: Number(bytes), intervalUsecs: Number(usecs), bytesPerInterval: Number(perInterval) };
}

/** A size as `xl mem-set`/`mem-max` read it, in KiB: a bare number is MiB; suffixes b k m g t. */
export function parseMemSize(text: string): number | undefined {
  const m = /^(\d+)([bkmgtBKMGT]?)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch ((m[2] ?? '').toLowerCase()) {
    case 'b':
      return Math.floor(n / 1024);
    case 'k':
      return n;
    case '':
    case 'm':
      return n * 1024;
    case 'g':
      return n * 1024 ** 2;
    case 't':
      return n * 1024 ** 3;
    default:
      return undefined;
  }
}
