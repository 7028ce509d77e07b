import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKOUT_SETUP,
  INSTALL_LINKED,
  installPacked,
  packageVersion,
  runFromCheckout,
  tarballName,
} from '../../src/site/install.js';
import { childEnv, ROOT } from '../helpers/playbook.js';

/**
 * The install lines the README and the site give, run as a newcomer would: in a copy of the
 * checkout (its node_modules as `npm ci` left them), into prefixes made for the test, so that
 * nothing here touches the working tree's lib/ or the machine's global packages.
 */
const version = packageVersion(ROOT);
const [pack, installPack] = installPacked(version);
/** The package is not on the registry: no page may tell anyone to install it from there. */
const REGISTRY_INSTALL = /npm\s+(?:install|i)\s+(?:--global|-g)\s+xen-runbooks\b/;

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && ext.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('the install lines in the README and on the site', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const landing = readFileSync(path.join(ROOT, 'content/docs/index.mdx'), 'utf8');

  it.each([
    ['README.md', readme],
    ['the landing page', landing],
  ])('%s gives every way: checkout, linked, packed', (_where, text) => {
    for (const line of [
      CHECKOUT_SETUP,
      ...runFromCheckout('pygrub-fix', 'vm01.img --dry-run'),
      INSTALL_LINKED,
      pack,
      installPack,
    ]) {
      expect(text).toContain(line);
    }
  });

  it('no page, component or README installs the package from the npm registry', () => {
    const files = [
      path.join(ROOT, 'README.md'),
      ...filesUnder(path.join(ROOT, 'content'), /\.mdx?$/),
      ...filesUnder(path.join(ROOT, 'src/components'), /\.astro$/),
    ];
    const offending = files.filter((f) => REGISTRY_INSTALL.test(readFileSync(f, 'utf8')));
    expect(offending.map((f) => path.relative(ROOT, f))).toEqual([]);
    expect(files.length).toBeGreaterThan(10);
  });
});

describe('the install lines, run', () => {
  let tmp: string;
  let checkout: string;
  const env = childEnv();
  const npm = (args: string[], cwd: string): string =>
    execFileSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd,
      env,
      encoding: 'utf8',
      stdio: 'pipe',
    });

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'xr-install-'));
    checkout = path.join(tmp, 'checkout');
    // What a checkout holds for the package.
    for (const f of [
      'package.json',
      'package-lock.json',
      'README.md',
      'tsconfig.json',
      'tsconfig.build.json',
      'scripts/bundle-playbooks.mjs',
    ]) {
      cpSync(path.join(ROOT, f), path.join(checkout, f));
    }
    for (const d of ['src', 'playbooks']) cpSync(path.join(ROOT, d), path.join(checkout, d), { recursive: true });
    // As `npm ci` leaves it: the dependencies (the working tree's, linked) and the engine compiled
    // by its `prepare` script (the working tree's lib/, which `npm test` compiled; `npm pack`
    // below compiles it again, as it does in a checkout).
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
    cpSync(path.join(ROOT, 'lib'), path.join(checkout, 'lib'), { recursive: true });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(`"${pack}" compiles the engine into the package, and "${installPack}" puts working playbooks on the PATH`, () => {
    expect(pack).toBe('npm pack');
    // The package's engine comes from its `prepare` script, which `npm pack` runs: not from a lib/
    // left over in the checkout.
    rmSync(path.join(checkout, 'lib'), { recursive: true });
    npm(['pack'], checkout);
    const tarball = path.join(checkout, tarballName(version));
    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listed).toContain('package/lib/engine/index.js');
    expect(listed).toContain('package/playbooks/pygrub-fix.mjs');
    // The installed executable: the playbook and its engine in one file.
    expect(listed).toContain('package/lib/bin/pygrub-fix.mjs');
    const prefix = path.join(tmp, 'packed');
    npm(['install', '--global', '--prefix', prefix, `./${tarballName(version)}`], checkout);
    const help = execFileSync(path.join(prefix, 'bin/pygrub-fix'), ['--help'], { cwd: tmp, env, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: pygrub-fix IMAGE/);
  });

  it(`"${INSTALL_LINKED}" links the checkout, whose playbooks then run from the PATH`, () => {
    const prefix = path.join(tmp, 'linked');
    npm([...INSTALL_LINKED.split(' ').slice(1), '--prefix', prefix], checkout);
    const help = execFileSync(path.join(prefix, 'bin/pygrub-fix'), ['--help'], { cwd: tmp, env, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: pygrub-fix IMAGE/);
    expect(
      execFileSync(path.join(prefix, 'bin/xen-qos'), ['--version'], { cwd: tmp, env, encoding: 'utf8' }).trim(),
    ).toBe(`xen-qos (xen-runbooks) ${version}`);
  });
});
