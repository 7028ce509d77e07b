// The partition table as pygrub-fix reads and shows it, from images sfdisk wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from 'xen-runbooks/engine';
import { memorySource, openSource } from 'xen-runbooks/disk';
import { partitionLines, readTable, tableReport, tableSummary } from 'xen-runbooks/playbooks/pygrub-fix/table';
import { buildImage, MiB, tempDir } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';

let dir: string;
beforeAll(() => {
  tool('sfdisk');
  dir = tempDir('xr-table-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the partition table', () => {
  it('reads what sfdisk wrote, one line per partition, and a summary', async () => {
    const file = path.join(dir, 'two.img');
    await buildImage(file, {
      bytes: 64 * MiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 16384, type: '83' },
        { start: 18432, type: '82' },
      ],
    });
    const source = await openSource(file);
    try {
      const t = await readTable(source, file, 'auto');
      expect(tableSummary(t)).toBe('dos, 512-byte sectors, 2 partitions');
      const lines = partitionLines(t);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^ {6}1 {2}primary {2}start {7}2048 {2}offset {8}1048576 {2}Linux$/);
      expect(lines[1]).toMatch(/^ {6}2 {2}primary {2}start {6}18432 {2}offset {8}9437184 {2}Linux swap/);
      expect(tableReport(t)).toEqual({
        label: 'dos',
        sectorSize: 512,
        diskSize: 64 * MiB,
        id: t.id,
        partitions: t.partitions,
      });
      expect(Object.keys(tableReport(t))).not.toContain('warnings');
    } finally {
      await source.close();
    }
  });

  it('a disk without a table is said to be one filesystem', async () => {
    const t = await readTable(memorySource(Buffer.alloc(1 << 20)), 'mem', 'auto');
    expect(t.label).toBe('none');
    expect(tableSummary(t)).toBe('no partition table: one filesystem on the whole disk');
    expect(partitionLines(t)).toEqual([]);
  });

  it('a table that cannot be read is bad input, naming the image', async () => {
    const file = path.join(dir, 'empty.img');
    writeFileSync(file, '');
    const source = await openSource(file);
    try {
      const e = await readTable(source, '/srv/given.img', 'auto').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect(String((e as Error).message)).toMatch(/^\/srv\/given\.img: .*empty \(0 bytes\)/);
    } finally {
      await source.close();
    }
  });
});
