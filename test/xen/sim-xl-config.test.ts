/**
 * The xl simulator's `xl create` reads a config file as the release it claims: it refuses the
 * files that release's libxlutil refuses ("Failed to parse config"), with the Python warning
 * exactly when libxlutil gives it, and reads the others. Judged by the data of
 * test/fixtures/oracle/libxlu/ (see libxlu-oracle.test.ts), for each release series the
 * simulator can claim (`xl info` gives major.minor: the newest patch release of each series).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runXl, seedXl } from '../sim/xl.mjs';

const ORACLE = fileURLToPath(new URL('../fixtures/oracle/libxlu/', import.meta.url));

interface Outcome {
  groups: string[];
  result: { rc?: number; report?: string; crashed?: string | number };
}
interface Data {
  groups: { id: string; tags: string[] }[];
  configs: Record<string, { file: string; outcomes: Outcome[] }>;
}
const DATA = JSON.parse(readFileSync(path.join(ORACLE, 'results.json'), 'utf8')) as Data;

/** The group of the newest patch release of each major.minor from 4.1 (4.0's xl is not simulated). */
function series(): { version: string; major: number; minor: number; gid: string }[] {
  const newest = new Map<string, { patch: number; gid: string }>();
  for (const g of DATA.groups) {
    for (const tag of g.tags) {
      const [major = 0, minor = 0, patch = 0] = tag.replace('RELEASE-', '').split('.').map(Number);
      const key = `${major}.${minor}`;
      if (major === 4 && minor === 0) continue;
      if ((newest.get(key)?.patch ?? -1) <= patch) newest.set(key, { patch, gid: g.id });
    }
  }
  return [...newest].map(([version, { gid }]) => {
    const [major = 0, minor = 0] = version.split('.').map(Number);
    return { version, major, minor, gid };
  });
}

let sim: string;
beforeAll(() => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-sim-xl-config-'));
});
afterAll(() => rmSync(sim, { recursive: true, force: true }));

describe('the xl simulator reads config files as each release does', () => {
  for (const s of series()) {
    it(`Xen ${s.version} (${s.gid})`, () => {
      seedXl(sim, { info: { xen_major: s.major, xen_minor: s.minor } });
      const bad: string[] = [];
      for (const [name, c] of Object.entries(DATA.configs)) {
        const real = c.outcomes.find((o) => o.groups.includes(s.gid))?.result;
        if (!real) continue;
        const refused = real.crashed !== undefined || real.rc !== 0;
        const r = runXl('xl', ['create', '-n', path.join(ORACLE, c.file)], sim);
        const simRefused = r.stderr.includes('Failed to parse config');
        if (refused !== simRefused) {
          bad.push(`${name}: simulator ${simRefused ? 'refuses' : 'reads'} it, xl ${refused ? 'refuses' : 'reads'} it`);
          continue;
        }
        // Where xl aborts (4.1's double free) it prints nothing more to compare.
        if (real.crashed !== undefined) continue;
        const python = (real.report ?? '').includes('looks like it contains Python code');
        if (refused && python !== r.stderr.includes('looks like it contains Python code')) {
          bad.push(`${name}: Python warning ${!python}, xl ${python}`);
        }
      }
      expect(bad.join('\n')).toBe('');
    });
  }
});
