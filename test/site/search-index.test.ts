import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { searchIndexProblem } from '../../scripts/check-search-index.mjs';

const dist = mkdtempSync(path.join(os.tmpdir(), 'xr-search-index-'));
const entry = path.join(dist, 'pagefind', 'pagefind-entry.json');
mkdirSync(path.dirname(entry));
afterAll(() => rmSync(dist, { recursive: true, force: true }));

describe('the search index check after a build', () => {
  it('takes an entry file that indexes pages', () => {
    writeFileSync(entry, JSON.stringify({ version: '1.5.2', languages: { en: { hash: 'en_1', page_count: 19 } } }));
    expect(searchIndexProblem(dist)).toBeUndefined();
  });
  it('refuses the empty entry file Pagefind once left, and one that indexes nothing', () => {
    writeFileSync(entry, '');
    expect(searchIndexProblem(dist)).toMatch(/is not Pagefind's entry file/);
    writeFileSync(entry, JSON.stringify({ version: '1.5.2', languages: {} }));
    expect(searchIndexProblem(dist)).toMatch(/indexes no page/);
  });
});
