import { describe, expect, it } from 'vitest';
import { execLocal, formatCommand, shellQuote, templateToArgv } from '../../src/engine/index.js';

const t = (pieces: TemplateStringsArray, ...values: unknown[]) => templateToArgv(pieces, values);
const HOSTILE = ['a; rm -rf /', '$(reboot)', '`id`', "it's", '"dq"', 'two\nlines', '-rf', '*', '', ' ', '\\', '$HOME'];

describe('commands from templates', () => {
  it('splits literal text on whitespace and keeps each value one argument', () => {
    expect(t`xe vm-list   name-label=${'a b'}  --minimal`).toEqual(['xe', 'vm-list', 'name-label=a b', '--minimal']);
    expect(t`xe vm-param-set uuid=${'u1'} other-config:key=${'x y'}`).toEqual([
      'xe',
      'vm-param-set',
      'uuid=u1',
      'other-config:key=x y',
    ]);
    expect(t`ls ${['-l', 'a b']} end`).toEqual(['ls', '-l', 'a b', 'end']);
    expect(t`echo ${''}`).toEqual(['echo', '']);
    expect(t`echo ${3} ${true}`).toEqual(['echo', '3', 'true']);
  });

  it('refuses undefined values and arrays glued to text', () => {
    expect(() => t`echo ${undefined}`).toThrow(/undefined/);
    expect(() => t`echo x${['a']}`).toThrow(/own word/);
  });

  it.each(HOSTILE)('runs %j as exactly one argument', async (value) => {
    const r = await execLocal(t`printf ${'%s\\0'} ${value} end`);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual([value, 'end']);
  });

  it.each(HOSTILE)('quotes %j so that sh reads it back unchanged', async (value) => {
    const line = formatCommand(['printf', '%s\\0', value, 'end']);
    const r = await execLocal(['sh', '-c', line]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual([value, 'end']);
  });

  it('leaves plain words unquoted', () => {
    expect(shellQuote('uuid=1234-ab/c:d,e')).toBe('uuid=1234-ab/c:d,e');
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  it('throws with the command and its stderr when a command fails, unless nothrow', async () => {
    await expect(execLocal(['sh', '-c', 'echo boom >&2; exit 4'])).rejects.toThrow(/exit 4.*\n.*boom/s);
    const r = await execLocal(['sh', '-c', 'exit 4'], { nothrow: true });
    expect(r.exitCode).toBe(4);
    expect(r.ok).toBe(false);
  });
});
