import { describe, expect, it } from 'vitest';
import { optionDetails, parseOptions, parseSize, UsageError, type OptionSpecs } from '../../src/engine/index.js';
import { runSample } from '../helpers/sample.js';

const specs = {
  name: { type: 'string', description: 'a name', required: true },
  count: { type: 'integer', description: 'n', min: 1, max: 10, default: 3 },
  ratio: { type: 'number', description: 'r' },
  mem: { type: 'size', description: 'm', defaultUnit: 'M', max: 4 * 1024 ** 3 },
  kind: { type: 'enum', description: 'k', choices: ['ext', 'lvm'] },
  force: { type: 'boolean', description: 'f' },
} as const satisfies OptionSpecs;

const parse = (argv: string[]) => parseOptions(argv, specs, [{ name: 'IMAGE', description: 'image' }]);
const usageMessage = (argv: string[]) => {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('option parsing', () => {
  it('parses every type and fills defaults', () => {
    const p = parse(['img', '--name', 'vm1', '--ratio', '0.5', '--mem', '2G', '--kind=lvm', '--force']);
    expect(p.opts).toEqual({ name: 'vm1', count: 3, ratio: 0.5, mem: 2 * 1024 ** 3, kind: 'lvm', force: true });
    expect(p.args).toEqual({ IMAGE: 'img' });
    expect(p.given.has('count')).toBe(false);
    expect(p.given.has('kind')).toBe(true);
    expect(p.common['dry-run']).toBe(false);
  });

  it('reads a default written as a size, and shows it as written', () => {
    const specs2 = {
      memory: { type: 'size', description: 'm', defaultUnit: 'M', default: '4G' },
      disk: { type: 'size', description: 'd', default: 20 * 1024 ** 3 },
    } as const satisfies OptionSpecs;
    expect(parseOptions([], specs2).opts).toEqual({ memory: 4 * 1024 ** 3, disk: 20 * 1024 ** 3 });
    expect(optionDetails(specs2.memory)).toContain('default: 4G');
    expect(optionDetails(specs2.disk)).toContain('default: 20GiB');
  });

  it('reads a bare size in the declared unit', () => {
    expect(parse(['i', '--name', 'a', '--mem', '512']).opts.mem).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('100 g')).toBe(100 * 1024 ** 3);
    expect(parseSize('12 apples')).toBeUndefined();
  });

  it.each([
    [['i', '--name', 'a', '--bogus'], 'unknown option --bogus'],
    [['i', '--name'], '--name: missing value'],
    [['i', '--name', 'a', '--count', 'three'], "--count: 'three' is not a whole number"],
    [['i', '--name', 'a', '--count', '2.5'], "--count: '2.5' is not a whole number"],
    [['i', '--name', 'a', '--count', '11'], '--count: 11 is above the maximum of 10'],
    [['i', '--name', 'a', '--count', '0'], '--count: 0 is below the minimum of 1'],
    [['i', '--name', 'a', '--ratio', 'x'], "--ratio: 'x' is not a number"],
    [['i', '--name', 'a', '--mem', 'lots'], "--mem: 'lots' is not a size"],
    [['i', '--name', 'a', '--mem', '8G'], '--mem: 8G is above the maximum of 4GiB'],
    [['i', '--name', 'a', '--kind', 'zfs'], "--kind: 'zfs' is not one of ext, lvm"],
    [['i', '--name', 'a', '--force=yes'], '--force takes no value'],
    [['i'], '--name is required'],
    [['--name', 'a'], 'missing argument IMAGE'],
    [['i', 'j', '--name', 'a'], 'unexpected argument: j'],
    [['i', '--name', '--force'], '--name: missing value'],
  ])('refuses %j with one clear message', (argv, message) => {
    expect(usageMessage(argv as string[])).toContain(message);
  });

  it.each([
    [['i', '--name', 'a', '--name', 'b'], "--name is given 2 times ('a', 'b'): give it once"],
    [['i', '--name', 'a', '--count', '2', '--count=3'], "--count is given 2 times ('2', '3'): give it once"],
    [['i', '--name', 'a', '--force', '--force'], '--force is given 2 times: give it once'],
    [['i', '--name', 'a', '--mem', '1G', '--mem', '1G', '--mem', '2G'], '--mem is given 3 times'],
    [['i', '--name', 'a', '--yes', '-y'], '--yes is given 2 times'],
  ])('refuses a duplicated option %j, naming it, rather than keep the last value', (argv, message) => {
    expect(usageMessage(argv as string[])).toContain(message);
  });

  it('takes an option declared repeatable as many times as given, in order', () => {
    const rep = { vif: { type: 'string', description: 'v', repeatable: true } } as const satisfies OptionSpecs;
    expect(parseOptions(['--vif', 'a', '--vif', 'b'], rep).opts.vif).toEqual(['a', 'b']);
    expect(parseOptions([], rep).opts.vif).toBeUndefined();
  });

  it('takes a value that starts with a dash only in the --opt=value form', () => {
    expect(usageMessage(['i', '--name', '-rf'])).toMatch(/--name: missing value.*--name=-VALUE/);
    expect(parse(['i', '--name=-rf']).opts.name).toBe('-rf');
  });
});

describe('the runner on bad input', () => {
  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['--count'], '--count: missing value'],
    [['--count', 'many'], "--count: 'many' is not a whole number"],
    [['--count', '9'], '--count: 9 is above the maximum of 5'],
    [['--memory', '1M'], '--memory: 1M is below the minimum of 64MiB'],
    [['--mode', 'reckless'], "--mode: 'reckless' is not one of fast, safe"],
    [['--label', 'Bad Label'], "--label: 'Bad Label' is not valid: expected lower-case letters"],
    [['a', 'b'], 'unexpected argument: b'],
    [['--host', 'h', '--root', '/tmp'], '--host and --root cannot be used together'],
    [['--host', '-oProxyCommand=x'], '--host: missing value'],
    [['--host=-oProxyCommand=x'], "--host: '-oProxyCommand=x' is not valid"],
    [['--count', '2', '--count', '3'], "--count is given 2 times ('2', '3'): give it once"],
  ])('%j exits 2 naming the problem on stderr', async (argv, message) => {
    const r = await runSample(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('--help documents every option, the common options and the exit codes', async () => {
    const r = await runSample(['--help']);
    expect(r.code).toBe(0);
    for (const o of [
      '--file FILE',
      '--value VALUE',
      '--count N',
      '--memory SIZE',
      '--mode fast|safe',
      '--dry-run',
      '--yes',
      '--json',
      '--verbose',
      '--host USER@HOST',
      '--root DIR',
    ]) {
      expect(r.stdout).toContain(o);
    }
    expect(r.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 .*\n\s+3 /);
  });

  it('--version prints the package version', async () => {
    const r = await runSample(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sample \(xen-runbooks\) \d+\.\d+\.\d+$/);
  });

  it('--describe prints the declarations and steps as JSON', async () => {
    const r = await runSample(['--describe']);
    const d = JSON.parse(r.stdout);
    expect(d.steps.map((s: { id: string }) => s.id)).toEqual(['echo-value', 'write-settings']);
    expect(d.options.find((o: { name: string }) => o.name === 'count')).toMatchObject({ type: 'integer', default: 2 });
  });
});
