import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runPlaybook } from '../helpers/playbook.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
const bins = Object.entries(pkg.bin);

describe('the package', () => {
  it('lets a module import the engine by the package name', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { definePlaybook, EXIT } from 'xen-runbooks/engine'; console.log(typeof definePlaybook, EXIT.refused)",
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function 3');
  });

  it.each(bins)('maps %s to an executable playbook file with a node shebang', (name, file) => {
    expect(file).toBe(`playbooks/${name}.mjs`);
    const full = path.join(ROOT, file);
    expect(statSync(full).mode & 0o111).not.toBe(0);
    expect(readFileSync(full, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it.each(bins.map(([n]) => n))('runs %s through zx and through node', async (name) => {
    for (const zx of [true, false]) {
      const r = await runPlaybook(name, ['--version'], { zx });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`${name} (xen-runbooks) ${pkg.version}`);
    }
  });
});

describe('the installed package', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'xr-pkg-'));
    const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1) as string;
    execFileSync(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        path.join(dir, 'prefix'),
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        path.join(dir, tarball),
      ],
      { cwd: dir, stdio: 'pipe' },
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(bins.map(([n]) => n))('puts %s on the PATH, answering --help and --version', (name) => {
    const exe = path.join(dir, 'prefix/bin', name);
    const env = { ...process.env, PATH: `${path.join(dir, 'prefix/bin')}:${process.env.PATH}` };
    expect(execFileSync(exe, ['--version'], { encoding: 'utf8', env, cwd: dir }).trim()).toBe(
      `${name} (xen-runbooks) ${pkg.version}`,
    );
    const help = execFileSync(name, ['--help'], { encoding: 'utf8', env, cwd: dir });
    expect(help).toMatch(new RegExp(`^Usage: ${name} `));
    expect(help).toContain('Exit codes:');
  });
});
