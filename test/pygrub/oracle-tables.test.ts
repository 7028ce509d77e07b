/**
 * pygrub's partition offsets against the oracle, cell by cell: every partition table of the
 * corpus, rebuilt by its own script (sfdisk on a 2 GiB sparse image), read by the model as
 * each release group's code reads it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSource, pygrubPartitionOffsets } from 'xen-runbooks/disk';
import { PYGRUB_CODE } from 'xen-runbooks/grub';
import { tool } from '../helpers/tools.js';
import { ORACLE, ORACLE_DIR } from './oracle-data.js';

let dir: string;
beforeAll(() => {
  tool('sfdisk');
  dir = mkdtempSync(path.join(tmpdir(), 'xr-oracle-tables-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tableNames = Object.keys(ORACLE.tables);
const groupIds = ORACLE.groups.map((g) => g.id);

describe('every (partition table, release group) cell of the oracle', () => {
  let cells = 0;
  for (const name of tableNames) {
    it(name, async () => {
      const t = ORACLE.tables[name];
      if (!t) throw new Error(name);
      const script = path.join(dir, `${name}.sh`);
      cpSync(path.join(ORACLE_DIR, t.rebuild), script);
      execFileSync('sh', [script], { cwd: dir });
      const src = await openSource(path.join(dir, `${name}.img`));
      const wrong: string[] = [];
      try {
        for (const g of groupIds) {
          const want = t.results[g];
          const code = PYGRUB_CODE[g];
          if (!want || !code) throw new Error(`${name}: no result or code for ${g}`);
          const got = await pygrubPartitionOffsets(src, code.partitions);
          const expected =
            want.status === 'ok'
              ? { status: 'ok', offsets: Array.isArray(want.result) ? want.result : [want.result] }
              : { status: 'exception', type: want.exception?.type, msg: want.exception?.msg, offsets: [] };
          expect(code.partitions.fn).toBe(want.function);
          if (JSON.stringify(got) !== JSON.stringify(expected))
            wrong.push(
              `${g}: model ${JSON.stringify(got).slice(0, 200)} ≠ oracle ${JSON.stringify(expected).slice(0, 200)}`,
            );
          cells++;
        }
      } finally {
        await src.close();
        rmSync(path.join(dir, `${name}.img`), { force: true });
      }
      expect(wrong).toEqual([]);
    });
  }
  it(`covers ${tableNames.length} tables × ${groupIds.length} groups`, () => {
    expect(cells).toBe(tableNames.length * groupIds.length);
  });
});
