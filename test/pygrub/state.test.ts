// What the steps after find-boot-partition need is there, or the step fails with words (never a TypeError).
import { describe, expect, it } from 'vitest';
import { StepError } from 'xen-runbooks/engine';
import { memorySource, type PartitionTable } from 'xen-runbooks/disk';
import { parseXenVersion } from 'xen-runbooks/grub';
import { bootOf, tableOf, type PygrubFixState } from 'xen-runbooks/playbooks/pygrub-fix/state';

const state = (): PygrubFixState => ({ image: '/x.img', version: parseXenVersion('old'), filesystems: [] });

describe('pygrub-fix state', () => {
  it('bootOf and tableOf fail as a step when nothing was found', () => {
    expect(() => bootOf(state())).toThrow(StepError);
    expect(() => bootOf(state())).toThrow(/no boot config was found/);
    expect(() => tableOf(state())).toThrow(/partition table was not read/);
  });

  it('tableOf gives the table and its source once both were read', () => {
    const s = state();
    const table: PartitionTable = {
      label: 'none',
      sectorSize: 512,
      diskSize: 0,
      totalSectors: 0,
      partitions: [],
      warnings: [],
    };
    s.table = table;
    expect(() => tableOf(s)).toThrow(StepError);
    s.source = memorySource(Buffer.alloc(512));
    expect(tableOf(s)).toEqual({ table, source: s.source });
  });
});
