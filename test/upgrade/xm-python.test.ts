// xend's Python configs read without running code: the subset xm create accepts, refused with the line beyond it.
import { describe, expect, it } from 'vitest';
import { XlConfig } from 'xen-runbooks/xen/xlcfg';
import { XmConfigError, convertToXl, evaluateXm, toXlValue } from 'xen-runbooks/playbooks/xen-upgrade-check/xm-python';

const value = (text: string, key: string) => {
  const v = evaluateXm(text).locals.get(key);
  return v && toXlValue(v);
};

describe('evaluating what xm would compute', () => {
  it('Python 2 arithmetic: / between ints floors, % is Python modulo, precedence', () => {
    expect(value('a = 7 / 2', 'a')).toBe(3);
    expect(value('a = 7.0 / 2', 'a')).toBe('3.5');
    expect(value('a = -7 // 2', 'a')).toBe('-4');
    expect(value('a = -7 % 3', 'a')).toBe(2);
    expect(value('a = 2 + 3 * 4', 'a')).toBe(14);
    expect(value('a = (2 + 3) * 4', 'a')).toBe(20);
    expect(value('a = 0x10 + 010', 'a')).toBe(24);
    expect(value('a = 1024L', 'a')).toBe(1024);
  });

  it('strings: adjacent literals join, + concatenates, % formats (%s %d %02x %%), escapes and raw strings', () => {
    expect(value(`n = 'vm' "01"`, 'n')).toBe('vm01');
    expect(value(`i = 7\nn = "web%02d-%s" % (i, 'a')`, 'n')).toBe('web07-a');
    expect(value(`n = "%x%%" % 255`, 'n')).toBe('ff%');
    expect(value(`n = 'a\\tb'`, 'n')).toBe('a\tb');
    expect(value(`n = r'a\\tb'`, 'n')).toBe('a\\tb');
    expect(value(`n = """two\nlines"""`, 'n')).toBe('two\nlines');
  });

  it('lists: + and *, tuples inside, a trailing comma, names assigned above, +=', () => {
    expect(value(`d = ['a'] + ['b',]\nd += ['c']`, 'd')).toEqual(['a', 'b', 'c']);
    expect(value(`d = ['x'] * 2`, 'd')).toEqual(['x', 'x']);
    expect(value(`n = 'v'\nd = [ 'file:/%s.img,xvda,w' % n,\n  'phy:/dev/sdb,xvdb,w' ]`, 'd')).toEqual([
      'file:/v.img,xvda,w',
      'phy:/dev/sdb,xvdb,w',
    ]);
  });

  it("keeps only what xend keeps: a bool, None and a tuple are dropped (Opts.load's vtypes)", () => {
    const ev = evaluateXm('a = True\nb = None\nc = (1, 2)\nd = 1.5');
    expect(toXlValue(ev.locals.get('a')!)).toBeUndefined();
    expect(toXlValue(ev.locals.get('b')!)).toBeUndefined();
    expect(ev.locals.get('c')?.t).toBe('tuple');
    expect(toXlValue(ev.locals.get('d')!)).toBe('1.5');
  });

  it("xm's own imports are allowed, each on its line, with semicolons and comments", () => {
    const ev = evaluateXm('import os; import os.path\nfrom xen.util.ip import *\nmemory = 512 # MiB\n');
    expect(ev.statements.map((s) => s.kind)).toEqual(['import', 'import', 'import', 'assign']);
  });

  it.each([
    ['import socket', 1, /an import xm does not do itself/],
    ['name = "a"\nextra = os.environ["X"]', 2, /an attribute/],
    ['memory = int("512")', 1, /a function call/],
    ['if True:\n  memory = 512', 1, /'if': a Python statement/],
    ['vcpus = cpus', 1, /'cpus' is not assigned above/],
    ['memory = 512 if 1 else 256', 1, /'if': an expression/],
    ['disk = [d for d in x]', 1, /not assigned above|list comprehension/],
    ['name = "unterminated', 1, /never closed/],
    ['name = "two\nlines"', 1, /a line break inside a string/],
    ['a = 1 / 0', 1, /ZeroDivisionError/],
    ["a = 'x' + 1", 1, /TypeError/],
    ['a = "%s %s" % 1', 1, /not enough arguments/],
    ['a = 1\nb = a = 2', 2, /chained assignment/],
    ['x += 1', 1, /before 'x' is assigned/],
    ['memory = {"a": 1}', 1, /a dict/],
  ])('refuses %j at line %i', (text, line, why) => {
    let err: unknown;
    try {
      evaluateXm(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XmConfigError);
    expect((err as XmConfigError).line).toBe(line);
    expect((err as Error).message).toMatch(why);
  });
});

describe('converting to xl syntax', () => {
  it('keeps what xl already reads the same, replaces the rest, comments imports and dropped values', () => {
    const text = [
      '# a comment stays',
      'import os',
      'vmid = 3',
      'name = "vm%d" % vmid',
      'memory = 512',
      "disk = ['phy:/dev/vg0/vm3,xvda,w']",
      'memory = memory * 2',
      'acpi = True',
      'VNC_PORT = 5900 + vmid',
      '',
    ].join('\n');
    const c = convertToXl(text);
    expect(c.text).toBe(
      [
        '# a comment stays',
        "# import os    (xm's own import; xl reads no Python)",
        'vmid = 3',
        'name = "vm3"',
        "disk = ['phy:/dev/vg0/vm3,xvda,w']",
        'memory = 1024',
        '# acpi = True    (xend ignored it: a bool)',
        '# VNC_PORT = 5903    (a Python variable; xl keys are lower case)',
        '',
      ].join('\n'),
    );
    expect(c.dropped.map((d) => d.key)).toEqual(['acpi', 'VNC_PORT']);
    // What comes out is a file xl reads, with the values xm computed.
    const cfg = XlConfig.parse(c.text);
    expect(cfg.get('memory')).toBe(1024);
    expect(cfg.get('name')).toBe('vm3');
  });

  it('a file already in xl syntax converts to itself', () => {
    const text = 'name = "a"\nmemory = 512\nvif = [ "bridge=xenbr0" ]\n';
    expect(convertToXl(text).text).toBe(text);
  });
});
