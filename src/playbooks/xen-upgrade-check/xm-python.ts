/**
 * xend's domain configuration files are Python: `xm create` executes them
 * (tools/python/xen/xm/opts.py, Opts.load, RELEASE-4.0.1 to RELEASE-4.4.0: `execfile(defconfig,
 * globs, locs)` after `import sys`, `import os`, `import os.path`, `from xen.util.ip import *`)
 * and keeps every local variable whose type is str, list, int or float (the `vtypes` list there):
 * a bool, None, a tuple or a dict is dropped without a word.
 *
 * This module reads the subset such files use without running anything: assignments (`=`, `+=`)
 * of numbers, strings, lists and tuples, names assigned before, `+ - * / // %` (Python 2
 * arithmetic, `%` string formatting) and those four imports. Anything else (a call, an
 * attribute, a condition, a loop, another import) is refused with its line: the check does not
 * guess what code would compute.
 */
import { KEY_PATTERN, XlConfig, formatValue, sameValue, type XlValue } from '../../xen/xlcfg.js';

export type PyValue =
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'str'; v: string }
  | { t: 'list'; v: PyValue[] }
  | { t: 'tuple'; v: PyValue[] }
  | { t: 'bool'; v: boolean }
  | { t: 'none' };

export class XmConfigError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'XmConfigError';
  }
}

/** The imports xm runs before the file (Opts.imports): a file may repeat them. */
export const XM_IMPORTS = ['import sys', 'import os', 'import os.path', 'from xen.util.ip import *'];
/** The types xend keeps (Opts.load's vtypes). */
const KEPT = new Set(['str', 'list', 'int', 'float']);

type Tok = { k: 'name' | 'num' | 'str' | 'op' | 'nl' | 'eof'; s: string; line: number; v?: PyValue };

const OPS = ['//', '+=', '-=', '*=', '**', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '=', '(', ')', '[', ']'];
const OPS2 = [',', ';', '.', ':', '{', '}', '<', '>', '&', '|', '^', '~', '@', '`'];

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  let depth = 0;
  const err = (m: string): never => {
    throw new XmConfigError(line, m);
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      if (depth === 0 && out.length && out.at(-1)?.k !== 'nl') out.push({ k: 'nl', s: '\n', line });
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    const str = /^([rRuUbB]{0,2})('''|"""|'|")/.exec(text.slice(i, i + 5));
    if (str && (str[1] === '' || /^[a-zA-Z]/.test(c))) {
      const raw = /r/i.test(str[1] as string);
      const q = str[2] as string;
      const start = line;
      i += (str[1] as string).length + q.length;
      let v = '';
      for (;;) {
        if (i >= text.length) err('a string that is never closed');
        if (text.startsWith(q, i)) {
          i += q.length;
          break;
        }
        const ch = text[i] as string;
        if (ch === '\n') {
          if (q.length === 1) err('a line break inside a string');
          line++;
        }
        if (ch === '\\' && i + 1 < text.length) {
          const e = text[i + 1] as string;
          if (raw) {
            v += ch + e;
            i += 2;
            if (e === '\n') line++;
            continue;
          }
          const simple: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '\\': '\\',
            "'": "'",
            '"': '"',
            a: '\x07',
            b: '\b',
            f: '\f',
            v: '\v',
            '\n': '',
          };
          if (e in simple) {
            v += simple[e];
            if (e === '\n') line++;
            i += 2;
            continue;
          }
          const hex = /^x([0-9a-fA-F]{2})/.exec(text.slice(i + 1, i + 4));
          if (hex) {
            v += String.fromCharCode(parseInt(hex[1] as string, 16));
            i += 4;
            continue;
          }
          const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
          if (oct) {
            v += String.fromCharCode(parseInt(oct[0], 8));
            i += 1 + oct[0].length;
            continue;
          }
          v += ch;
          i++;
          continue;
        }
        v += ch;
        i++;
      }
      out.push({ k: 'str', s: v, line: start, v: { t: 'str', v } });
      continue;
    }
    const num =
      /^(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+)[lL]?/.exec(
        text.slice(i),
      );
    if (num && /[0-9.]/.test(c) && !(c === '.' && !/\d/.test(text[i + 1] ?? ''))) {
      const s = num[0].replace(/[lL]$/, '');
      let v: PyValue;
      if (/^0[xX]/.test(s)) v = { t: 'int', v: parseInt(s.slice(2), 16) };
      else if (/^0[oO]?[0-7]+$/.test(s) && s !== '0') v = { t: 'int', v: parseInt(s.replace(/^0[oO]?/, ''), 8) };
      else if (/[.eE]/.test(s)) v = { t: 'float', v: Number(s) };
      else v = { t: 'int', v: Number(s) };
      out.push({ k: 'num', s, line, v });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_]\w*/.exec(text.slice(i));
    if (name) {
      out.push({ k: 'name', s: name[0], line });
      i += name[0].length;
      continue;
    }
    const op = [...OPS, ...OPS2].find((o) => text.startsWith(o, i));
    if (!op) err(`a character Python does not read here: ${JSON.stringify(c)}`);
    if (op === '(' || op === '[' || op === '{') depth++;
    if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1);
    out.push({ k: 'op', s: op as string, line });
    i += (op as string).length;
  }
  if (out.length && out.at(-1)?.k !== 'nl') out.push({ k: 'nl', s: '\n', line });
  out.push({ k: 'eof', s: '', line });
  return out;
}

/** One statement of the file: an assignment, or one of xm's own imports. */
export interface XmStatement {
  kind: 'assign' | 'import';
  key?: string;
  op?: '=' | '+=';
  firstLine: number;
  lastLine: number;
}

export interface XmEvaluation {
  /** The locals after the file ran, in the order they were first assigned. */
  locals: Map<string, PyValue>;
  statements: XmStatement[];
}

class Parser {
  p = 0;
  constructor(
    readonly toks: Tok[],
    readonly locals: Map<string, PyValue>,
  ) {}
  get t(): Tok {
    return this.toks[this.p] as Tok;
  }
  err(m: string, line = this.t.line): never {
    throw new XmConfigError(line, m);
  }
  eat(s: string): boolean {
    if (this.t.k === 'op' && this.t.s === s) {
      this.p++;
      return true;
    }
    return false;
  }
  expect(s: string): void {
    if (!this.eat(s)) this.err(`expected '${s}', found ${this.t.k === 'nl' ? 'the end of the line' : `'${this.t.s}'`}`);
  }

  expr(): PyValue {
    const first = this.arith();
    if (this.t.k === 'op' && this.t.s === ',' && this.inParens === 0) this.err('a bare tuple: write it in brackets');
    return first;
  }
  inParens = 0;
  arith(): PyValue {
    let a = this.term();
    while (this.t.k === 'op' && (this.t.s === '+' || this.t.s === '-')) {
      const op = this.t.s;
      const line = this.t.line;
      this.p++;
      a = binary(op, a, this.term(), line);
    }
    return a;
  }
  term(): PyValue {
    let a = this.unary();
    while (this.t.k === 'op' && ['*', '/', '//', '%'].includes(this.t.s)) {
      const op = this.t.s;
      const line = this.t.line;
      this.p++;
      a = binary(op, a, this.unary(), line);
    }
    return a;
  }
  unary(): PyValue {
    if (this.eat('-')) {
      const v = this.unary();
      if (v.t === 'int' || v.t === 'float') return { t: v.t, v: -v.v };
      this.err(`'-' before a ${v.t}`);
    }
    if (this.eat('+')) return this.unary();
    const v = this.atom();
    if (this.t.k === 'op' && ['(', '[', '.'].includes(this.t.s))
      this.err(
        this.t.s === '('
          ? 'a function call: xm would run it, this check does not run code'
          : this.t.s === '.'
            ? 'an attribute (module or method): xm would run it, this check does not run code'
            : 'an index or slice: this check does not run code',
      );
    if (this.t.k === 'op' && ['**', '==', '!=', '<', '>', '<=', '>=', '&', '|', '^'].includes(this.t.s))
      this.err(`the operator '${this.t.s}': this check reads + - * / // % only`);
    if (this.t.k === 'name' && ['if', 'and', 'or', 'not', 'in', 'is', 'for', 'lambda'].includes(this.t.s))
      this.err(`'${this.t.s}': an expression this check does not evaluate`);
    return v;
  }
  atom(): PyValue {
    const t = this.t;
    if (t.k === 'num') {
      this.p++;
      return t.v as PyValue;
    }
    if (t.k === 'str') {
      let s = '';
      while (this.t.k === 'str') {
        s += this.t.s;
        this.p++;
      }
      return { t: 'str', v: s };
    }
    if (t.k === 'name') {
      this.p++;
      // A call or an attribute is refused for what it is, whatever the name (a builtin, a module).
      if (this.t.k === 'op' && (this.t.s === '(' || this.t.s === '.')) return { t: 'none' };
      if (t.s === 'True' || t.s === 'False') return { t: 'bool', v: t.s === 'True' };
      if (t.s === 'None') return { t: 'none' };
      const v = this.locals.get(t.s);
      if (!v) this.err(`'${t.s}' is not assigned above (xm would raise NameError)`, t.line);
      return v;
    }
    if (this.eat('[')) {
      this.inParens++;
      const items: PyValue[] = [];
      while (!this.eat(']')) {
        if (this.t.k === 'eof') this.err("a list that is never closed with ']'", t.line);
        items.push(this.arith());
        if (this.t.k === 'name' && this.t.s === 'for') this.err('a list comprehension: this check does not run code');
        if (!this.eat(',')) {
          this.expect(']');
          break;
        }
      }
      this.inParens--;
      return { t: 'list', v: items };
    }
    if (this.eat('(')) {
      this.inParens++;
      const items: PyValue[] = [];
      let comma = false;
      while (!this.eat(')')) {
        if (this.t.k === 'eof') this.err("a parenthesis that is never closed with ')'", t.line);
        items.push(this.arith());
        if (!this.eat(',')) {
          this.expect(')');
          break;
        }
        comma = true;
      }
      this.inParens--;
      if (items.length === 1 && !comma) return items[0] as PyValue;
      return { t: 'tuple', v: items };
    }
    if (t.k === 'op' && t.s === '{') this.err('a dict: xend drops it (not a str, list, int or float)');
    this.err(t.k === 'nl' || t.k === 'eof' ? 'an expression is missing' : `'${t.s}' where a value should be`);
  }
}

function num(v: PyValue): v is { t: 'int' | 'float'; v: number } {
  return v.t === 'int' || v.t === 'float' || v.t === 'bool';
}

function binary(op: string, a: PyValue, b: PyValue, line: number): PyValue {
  const bad = (): never => {
    throw new XmConfigError(line, `'${op}' between a ${a.t} and a ${b.t} (Python raises TypeError)`);
  };
  if (num(a) && num(b)) {
    const x = Number(a.v);
    const y = Number(b.v);
    const isFloat = a.t === 'float' || b.t === 'float';
    const mk = (v: number): PyValue => (isFloat ? { t: 'float', v } : { t: 'int', v });
    if ((op === '/' || op === '//' || op === '%') && y === 0)
      throw new XmConfigError(line, 'division by zero (Python raises ZeroDivisionError)');
    if (op === '+') return mk(x + y);
    if (op === '-') return mk(x - y);
    if (op === '*') return mk(x * y);
    // Python 2: / between two ints is floor division.
    if (op === '/') return isFloat ? mk(x / y) : mk(Math.floor(x / y));
    if (op === '//') return mk(Math.floor(x / y));
    if (op === '%') return mk(x - y * Math.floor(x / y));
  }
  if (op === '+' && a.t === b.t && (a.t === 'str' || a.t === 'list' || a.t === 'tuple'))
    return a.t === 'str'
      ? { t: 'str', v: a.v + (b as { v: string }).v }
      : { t: a.t, v: [...a.v, ...(b as { v: PyValue[] }).v] };
  if (op === '*') {
    const [seq, n] = a.t === 'int' ? [b, a] : [a, b];
    if (n.t === 'int' && (seq.t === 'str' || seq.t === 'list' || seq.t === 'tuple')) {
      const k = Math.max(0, n.v);
      if (seq.t === 'str') return { t: 'str', v: seq.v.repeat(k) };
      return { t: seq.t, v: Array.from({ length: k }, () => seq.v).flat() };
    }
  }
  if (op === '%' && a.t === 'str') return { t: 'str', v: pyFormat(a.v, b.t === 'tuple' ? b.v : [b], line) };
  return bad();
}

/** Python's str() of a value. */
export function pyStr(v: PyValue): string {
  if (v.t === 'str') return v.v;
  return pyRepr(v);
}

function pyRepr(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return `'${v.v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
    case 'int':
      return String(v.v);
    case 'float':
      return Number.isInteger(v.v) ? `${v.v}.0` : String(v.v);
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'list':
      return `[${v.v.map(pyRepr).join(', ')}]`;
    case 'tuple':
      return v.v.length === 1 ? `(${pyRepr(v.v[0] as PyValue)},)` : `(${v.v.map(pyRepr).join(', ')})`;
  }
}

/** `'%s-%d' % (a, b)`: the conversions config files use (%s %r %d %i %u %x %X %o %f %%). */
function pyFormat(fmt: string, args: PyValue[], line: number): string {
  let i = 0;
  const out = fmt.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([srdiuxXof%])/g,
    (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
      if (conv === '%') return '%';
      const a = args[i++];
      if (!a) throw new XmConfigError(line, 'not enough arguments for format string (Python raises TypeError)');
      let s: string;
      if (conv === 's') s = pyStr(a);
      else if (conv === 'r') s = pyRepr(a);
      else {
        if (!num(a)) throw new XmConfigError(line, `%${conv} format: a number is required, not ${a.t}`);
        const n = Number(a.v);
        if (conv === 'f') s = n.toFixed(prec === undefined ? 6 : Number(prec));
        else {
          const int = Math.trunc(n);
          s =
            conv === 'x'
              ? int.toString(16)
              : conv === 'X'
                ? int.toString(16).toUpperCase()
                : conv === 'o'
                  ? int.toString(8)
                  : String(int);
        }
      }
      const w = Number(width || 0);
      if (s.length < w)
        s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
      return s;
    },
  );
  if (i < args.length)
    throw new XmConfigError(line, 'not all arguments converted during string formatting (Python raises TypeError)');
  return out;
}

const endOfStatement = (t: Tok) => t.k === 'nl' || t.k === 'eof' || (t.k === 'op' && t.s === ';');

/** Run the file's statements as xm would, without running code: the locals it leaves. */
export function evaluateXm(text: string): XmEvaluation {
  const toks = tokenize(text);
  const locals = new Map<string, PyValue>();
  const statements: XmStatement[] = [];
  const ps = new Parser(toks, locals);
  while (ps.t.k !== 'eof') {
    if (ps.t.k === 'nl' || (ps.t.k === 'op' && ps.t.s === ';')) {
      ps.p++;
      continue;
    }
    const first = ps.t;
    if (first.k === 'name' && (first.s === 'import' || first.s === 'from')) {
      const words: string[] = [];
      while (!endOfStatement(ps.t)) {
        words.push(ps.t.s);
        ps.p++;
      }
      const stmt = words.join(' ').replace(/ \. /g, '.');
      if (!XM_IMPORTS.includes(stmt))
        throw new XmConfigError(first.line, `'${stmt}': an import xm does not do itself; this check does not run code`);
      statements.push({ kind: 'import', firstLine: first.line, lastLine: first.line });
      continue;
    }
    if (
      first.k !== 'name' ||
      !(ps.toks[ps.p + 1]?.k === 'op' && ['=', '+='].includes(ps.toks[ps.p + 1]?.s as string))
    ) {
      const what =
        first.k === 'name' &&
        ['if', 'for', 'while', 'def', 'try', 'with', 'class', 'print', 'exec', 'del'].includes(first.s)
          ? `'${first.s}': a Python statement this check does not run`
          : 'not an assignment (NAME = VALUE): this check does not run code';
      throw new XmConfigError(first.line, what);
    }
    const key = first.s;
    const op = (ps.toks[ps.p + 1] as Tok).s as '=' | '+=';
    ps.p += 2;
    let value = ps.expr();
    if (ps.t.k === 'op' && ps.t.s === '=') ps.err('chained assignment: write one NAME = VALUE per line');
    if (!endOfStatement(ps.t)) ps.err(`'${ps.t.s}' after the value`);
    if (op === '+=') {
      const before = locals.get(key);
      if (!before)
        throw new XmConfigError(first.line, `'${key} +=' before '${key}' is assigned (Python raises NameError)`);
      value = binary('+', before, value, first.line);
    }
    // Reassigning keeps the first position (dict order of the file's locals is not what xm uses).
    locals.set(key, value);
    const lastLine = (ps.toks[ps.p - 1] as Tok).line;
    statements.push({ kind: 'assign', key, op, firstLine: first.line, lastLine: Math.max(first.line, lastLine) });
  }
  return { locals, statements };
}

/** The value xl reads for what xend kept, or undefined when xend drops it (bool, None, tuple, dict). */
export function toXlValue(v: PyValue): XlValue | undefined {
  switch (v.t) {
    case 'str':
      return v.v;
    case 'int':
      return v.v >= 0 ? v.v : String(v.v);
    case 'float':
      return Number.isInteger(v.v) && v.v >= 0 ? v.v : String(v.v);
    case 'list':
    case 'tuple': {
      // Inside a list xend passes elements on as they are; xl reads strings, numbers and lists.
      const items = v.v.map((x) => (x.t === 'bool' ? (x.v ? 1 : 0) : x.t === 'none' ? undefined : toXlValue(x)));
      return items.filter((x): x is XlValue => x !== undefined);
    }
    default:
      return undefined;
  }
}

export interface XmConversion {
  /** The file in xl syntax. */
  text: string;
  /** What the conversion left out, and why (a line each). */
  dropped: { line: number; key: string; why: string }[];
}

/**
 * The same configuration in xl syntax: statements xl already reads the same way stay as written;
 * the others are replaced by `key = value` with the value xm computed; imports, values xend
 * drops and names xl cannot read as keys are commented out with the reason.
 */
export function convertToXl(text: string, ev: XmEvaluation = evaluateXm(text)): XmConversion {
  const lines = text.split('\n');
  const lastOf = new Map<string, XmStatement>();
  for (const s of ev.statements) if (s.key) lastOf.set(s.key, s);
  const dropped: XmConversion['dropped'] = [];
  const replace = new Map<number, { last: number; text: string[] }>();
  const put = (s: XmStatement, out: string) => {
    const r = replace.get(s.firstLine) ?? { last: s.lastLine, text: [] };
    r.last = Math.max(r.last, s.lastLine);
    if (out) r.text.push(out);
    replace.set(s.firstLine, r);
  };
  const asWritten = (s: XmStatement) => lines.slice(s.firstLine - 1, s.lastLine).join('\n');
  for (const s of ev.statements) {
    if (s.kind === 'import') {
      put(s, `# ${asWritten(s).trim()}    (xm's own import; xl reads no Python)`);
      continue;
    }
    const key = s.key as string;
    if (lastOf.get(key) !== s) {
      put(s, '');
      continue;
    }
    const py = ev.locals.get(key) as PyValue;
    const value = KEPT.has(py.t) ? toXlValue(py) : undefined;
    if (value === undefined) {
      dropped.push({ line: s.firstLine, key, why: `a ${py.t}: xend keeps only str, list, int and float` });
      put(s, `# ${key} = ${pyRepr(py)}    (xend ignored it: a ${py.t})`);
      continue;
    }
    if (!KEY_PATTERN.test(key)) {
      dropped.push({ line: s.firstLine, key, why: 'not a name xl reads as a key ([a-z][._0-9a-z]*)' });
      put(s, `# ${key} = ${formatValue(value)}    (a Python variable; xl keys are lower case)`);
      continue;
    }
    const written = asWritten(s);
    let same = false;
    if (s.op === '=' && ev.statements.filter((x) => x.key === key).length === 1) {
      try {
        same = sameValue(XlConfig.parse(written).get(key), value);
      } catch {
        same = false;
      }
    }
    put(s, same ? written : `${key} = ${formatValue(value)}`);
  }
  const out: string[] = [];
  for (let n = 1; n <= lines.length; n++) {
    const r = replace.get(n);
    if (!r) {
      out.push(lines[n - 1] as string);
      continue;
    }
    out.push(...r.text);
    n = r.last;
  }
  return { text: out.join('\n'), dropped };
}
