#!/usr/bin/env node
// Page weight: HTML, CSS and JavaScript bytes each page loads, beside a plain Starlight page
// built with the same versions (the budget: no page ships more JavaScript than that).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureSite } from '../lib/site/weight.js';
import { printTable } from './_table.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASELINE = path.join(root, 'test/fixtures/starlight-baseline');

function astroBuild(args) {
  const r = spawnSync('npx', ['astro', 'build', ...args], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`astro build ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

export async function run() {
  astroBuild([]);
  astroBuild(['--root', BASELINE]);
  const budget = Math.max(...measureSite(path.join(BASELINE, 'dist')).map((p) => p.js));
  const pages = measureSite(path.join(root, 'dist'));
  const rows = pages.map((p) => ({
    page: p.page,
    'HTML bytes': p.html,
    'HTML gzip': p.htmlGzip,
    'CSS bytes': p.css,
    'JS bytes': p.js,
    'JS vs Starlight': `${((p.js / budget) * 100).toFixed(0)}%`,
  }));
  printTable(rows, ['page', 'HTML bytes', 'HTML gzip', 'CSS bytes', 'JS bytes', 'JS vs Starlight']);
  console.log(`\nStarlight's own page (${path.relative(root, BASELINE)}): ${budget} bytes of JavaScript.`);
  const over = pages.filter((p) => p.js > budget);
  if (over.length) throw new Error(`over the JavaScript budget: ${over.map((p) => p.page).join(', ')}`);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
