/**
 * The playbook's verdict against the oracle, cell by cell: for every config and every release
 * group, the diagnosis reports an error exactly when that release's own pygrub raised (in its
 * parser or in run_grub), and none when it booted an entry. Only the config is diagnosed here
 * (no filesystem: kernel files are checked by the image tests).
 */
import { describe, expect, it } from 'vitest';
import { diagnose, parseXenVersion, type BootLocation } from 'xen-runbooks/grub';
import type { PartitionTable } from 'xen-runbooks/disk';
import { ORACLE, configText, kindOf } from './oracle-data.js';

const table: PartitionTable = {
  label: 'none',
  sectorSize: 512,
  diskSize: 1 << 30,
  totalSectors: (1 << 30) / 512,
  partitions: [],
  warnings: [],
};

describe("the diagnosis's verdict in every (config, release group) cell", () => {
  let cells = 0;
  for (const [name, c] of Object.entries(ORACLE.configs)) {
    it(name, async () => {
      const text = configText(name);
      const kind = kindOf(c.kind);
      const wrong: string[] = [];
      for (const g of ORACLE.groups) {
        const v = parseXenVersion((g.tags[0] as string).replace(/^RELEASE-/, ''));
        const path = v.group.searchOrder.find(([, k]) => k === kind)?.[0] as string;
        const boot: BootLocation = {
          partition: null,
          offset: 0,
          fs: { kind: 'ext2', features: [] },
          config: { path, kind, stat: { type: 'file', size: text.length, mode: 0o644, uid: 0, gid: 0 }, hidden: [] },
          text,
        };
        const d = await diagnose({ version: v, table, filesystems: [], boot, offsets: { status: 'ok', offsets: [0] } });
        const errors = d.findings.filter((f) => f.severity === 'error').map((f) => f.id);
        const raised = c.results[g.id]?.run_grub.status !== 'ok';
        // A variable in the default entry's kernel path: run_grub returns it, the file is then not found.
        const afterPygrub = errors.filter((id) => id !== 'grub2-variable-path');
        if (raised !== afterPygrub.length > 0)
          wrong.push(`${g.id}: oracle ${raised ? 'raised' : 'booted'}, diagnosis errors [${errors.join(', ')}]`);
        cells++;
      }
      expect(wrong).toEqual([]);
    });
  }
  it('covers every cell', () => {
    expect(cells).toBe(Object.keys(ORACLE.configs).length * ORACLE.groups.length);
  });
});
