import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runPlaybook, runScript } from '../helpers/playbook.js';
import { incidentImage, tempDir } from '../fixtures/images.js';

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

  it.each(bins)('maps %s to its playbook bundled in one executable file with a node shebang', (name, file) => {
    expect(file).toBe(`lib/bin/${name}.mjs`);
    for (const f of [file, `playbooks/${name}.mjs`]) {
      const full = path.join(ROOT, f);
      expect(statSync(full).mode & 0o111, f).not.toBe(0);
      expect(readFileSync(full, 'utf8').split('\n')[0], f).toBe('#!/usr/bin/env node');
    }
    // One file: the engine and diff's patch code are in it; no package is imported (node: modules
    // aside), and zx only on demand, for a terminal's spinner.
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)]
      .map((m) => m[1] as string)
      .filter((m) => !m.startsWith('node:'));
    expect(imports).toEqual([]);
    const onDemand = [...text.matchAll(/\bimport\("([^"]+)"\)/g)].map((m) => m[1] as string);
    expect(onDemand.filter((m) => !m.startsWith('node:'))).toEqual(['zx']);
  });

  it("pygrub-fix's bundle dry-runs the incident's image as the playbook does: the same report", async () => {
    const dir = tempDir('xr-bundle-');
    try {
      const img = path.join(dir, 'vm01.img');
      await incidentImage(img);
      const args = [img, '--dry-run', '--json'];
      // One after the other: a run reading the image is a process holding it, which the other refuses.
      const bundled = await runScript(path.join(ROOT, 'lib/bin/pygrub-fix.mjs'), args);
      const source = await runScript(path.join(ROOT, 'playbooks/pygrub-fix.mjs'), args);
      expect(bundled.code, bundled.stderr).toBe(0);
      const report = (r: typeof bundled) => ({ ...JSON.parse(r.stdout), durationMs: 0 });
      expect(report(bundled).steps.map((x: { status: string }) => x.status)).toContain('would-change');
      expect(report(bundled)).toEqual(report(source));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(bins)('%s: the bundle is the playbook (the same --describe, --help, exit codes)', async (name, file) => {
    for (const args of [['--describe'], ['--help'], ['--no-such-option']]) {
      const [bundled, source] = await Promise.all([
        runScript(path.join(ROOT, file), args),
        runScript(path.join(ROOT, 'playbooks', `${name}.mjs`), args),
      ]);
      expect({ ...bundled }, args.join(' ')).toEqual({ ...source });
    }
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
