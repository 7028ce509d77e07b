#!/usr/bin/env node
// npm run bench: runs every bench/*.mjs that exports `run()`, or only those named:
//   npm run bench -- site pygrub
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.mjs$/, '')))
  .sort();
if (files.length === 0) {
  console.error(
    `no benchmark named ${wanted.join(', ')}; have: ${readdirSync(here)
      .filter((f) => f !== 'run.mjs')
      .join(', ')}`,
  );
  process.exit(2);
}
let failed = false;
for (const f of files) {
  const mod = await import(pathToFileURL(path.join(here, f)).href);
  if (typeof mod.run !== 'function') continue;
  console.log(`\n## ${f.replace(/\.mjs$/, '')}\n`);
  try {
    await mod.run();
  } catch (e) {
    failed = true;
    console.error(`${f}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
process.exitCode = failed ? 1 : 0;
