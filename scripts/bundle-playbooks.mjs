#!/usr/bin/env node
// @ts-check
/**
 * The installed executables (package.json `bin`): each playbook with the engine it imports, in one
 * file, lib/bin/NAME.mjs. The code is the same as `node playbooks/NAME.mjs` runs, read from lib/
 * (compiled first by tsc); as one file it starts about 30 ms sooner (Node 20's ES module loader
 * resolves, reads and links each of some 75 modules in turn). diff's patch code is in the file
 * too (the dry run shows the fix as a diff; as a package it was four more modules to load); zx stays
 * a package of its own, loaded only for a terminal's spinner. Run by `npm run build:lib` and at install (`prepare`).
 *
 * lib/bin/ is as deep as lib/engine/, so the engine's `new URL('../../package.json',
 * import.meta.url)` finds the package's own package.json from either.
 */
import { build } from 'esbuild';
import { chmodSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN_DIR = 'lib/bin';

/** The playbooks: one executable each (as src/site/playbooks.ts listPlaybooks lists them). */
function playbookNames() {
  return readdirSync(path.join(root, 'playbooks'))
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => f.replace(/\.mjs$/, ''))
    .sort();
}

export async function bundlePlaybooks() {
  const names = playbookNames();
  await build({
    entryPoints: names.map((n) => path.join(root, 'playbooks', `${n}.mjs`)),
    outdir: path.join(root, BIN_DIR),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['zx'],
    banner: {
      js: '// Built by scripts/bundle-playbooks.mjs from playbooks/ and src/ (read and change those): one file starts sooner.',
    },
    logLevel: 'warning',
  });
  for (const n of names) chmodSync(path.join(root, BIN_DIR, `${n}.mjs`), 0o755);
  return names;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await bundlePlaybooks();
