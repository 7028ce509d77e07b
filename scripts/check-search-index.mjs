#!/usr/bin/env node
// @ts-check
/**
 * After `astro build`: the search index Pagefind wrote is whole. Under load, Pagefind 1.5.2 (run by
 * Starlight's integration, integrations/pagefind.ts: writeFiles, then close) once left
 * dist/pagefind/pagefind-entry.json empty while every other file was written and `astro build`
 * exited 0: the site's search then finds nothing. A build that shows it fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * What is wrong with the search index of the site built in DIST, or undefined.
 * @param {string} dist
 * @returns {string | undefined}
 */
export function searchIndexProblem(dist) {
  const file = path.join(dist, 'pagefind', 'pagefind-entry.json');
  /** @type {{ languages?: Record<string, { page_count?: number }> }} */
  let entry;
  try {
    entry = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `${file} is not Pagefind's entry file (${e instanceof Error ? e.message : String(e)})`;
  }
  const pages = Object.values(entry.languages ?? {}).reduce((n, l) => n + (Number(l.page_count) || 0), 0);
  return pages > 0 ? undefined : `${file} indexes no page`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const problem = searchIndexProblem(dist);
  if (problem) {
    console.error(`the search index is broken: ${problem}; run npm run build again`);
    process.exit(1);
  }
}
