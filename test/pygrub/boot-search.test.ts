// Where pygrub looks for /boot: the partitions in the release's order, what each holds, and how it is reported.
import { describe, expect, it } from 'vitest';
import { memorySource, type Partition, type PartitionTable } from 'xen-runbooks/disk';
import { parseXenVersion, type FoundConfig, type PartitionFs } from 'xen-runbooks/grub';
import {
  bootReport,
  configKindName,
  filesystemsOf,
  inSearchOrder,
  offsetReport,
  offsetsLine,
  readableBy,
} from 'xen-runbooks/playbooks/pygrub-fix/boot-search';

const part = (number: number, kind: Partition['kind'], offset: number): Partition => ({
  number,
  kind,
  start: offset / 512,
  size: 2048,
  offset,
  bytes: 2048 * 512,
  type: kind === 'extended' ? '5' : '83',
  typeName: 'Linux',
});

const table = (partitions: Partition[], label: PartitionTable['label'] = 'dos'): PartitionTable => ({
  label,
  sectorSize: 512,
  diskSize: 1 << 30,
  totalSectors: (1 << 30) / 512,
  partitions,
  warnings: [],
});

describe('the search order', () => {
  const t = table([
    part(1, 'primary', 1048576),
    part(2, 'extended', 2097152),
    part(5, 'logical', 3145728),
    part(3, 'primary', 4194304),
  ]);

  it("the release's offsets first, in its order; the others after; extended partitions never", () => {
    expect(inSearchOrder(t, [4194304, 1048576]).map((p) => p?.number)).toEqual([3, 1, 5]);
    expect(inSearchOrder(t, [1048576]).map((p) => p?.number)).toEqual([1, 5, 3]);
    expect(inSearchOrder(t, []).map((p) => p?.number)).toEqual([1, 5, 3]);
  });

  it('a disk without a table is one filesystem at offset 0', () => {
    expect(inSearchOrder(table([], 'none'), [0])).toEqual([null]);
  });

  it('what each partition holds is read from its first bytes', async () => {
    const fss = await filesystemsOf(memorySource(Buffer.alloc(1 << 20)), [null]);
    expect(fss).toHaveLength(1);
    expect(fss[0]).toMatchObject({ partition: null, offset: 0, fs: { kind: 'unknown' } });
  });
});

describe('what a backend reads', () => {
  it('debugfs reads ext2/3/4 only; mount whatever is a filesystem', () => {
    expect((['ext2', 'ext3', 'ext4', 'xfs', 'vfat'] as const).map((k) => readableBy('debugfs', k))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(readableBy('mount', 'xfs')).toBe(true);
    expect(readableBy('mount', 'btrfs')).toBe(true);
    for (const k of ['lvm2', 'swap', 'unknown'] as const) expect(readableBy('mount', k)).toBe(false);
  });
});

describe('the words and the report', () => {
  const v = parseXenVersion('4.0.1');

  it('the offsets pygrub tries, each once and at most eight, or what it raises', () => {
    expect(offsetsLine({ status: 'ok', offsets: [1048576] }, v)).toBe(
      '    the pygrub of Xen 4.0.1 tries offset 1048576',
    );
    expect(offsetsLine({ status: 'ok', offsets: [0, 512, 512] }, v)).toBe(
      '    the pygrub of Xen 4.0.1 tries offsets 0, 512',
    );
    expect(offsetsLine({ status: 'ok', offsets: [] }, v)).toMatch(/tries offsets \(none\)$/);
    expect(offsetsLine({ status: 'ok', offsets: [...Array(12).keys()] }, v)).toMatch(
      /tries offsets 0, 1, 2, 3, 4, 5, 6, 7$/,
    );
    expect(offsetsLine({ status: 'exception', type: 'RuntimeError', msg: 'bad', offsets: [] }, v)).toBe(
      '    the pygrub of Xen 4.0.1 raises RuntimeError: bad before it opens any partition',
    );
  });

  it('the boot config found and the offset for --strategy offset, as the --json report gives them', () => {
    const p = part(5, 'logical', 3145728);
    const config: FoundConfig = {
      path: '/grub/grub.cfg',
      kind: 'grub2',
      stat: { type: 'file', size: 10, mode: 0o644, uid: 0, gid: 0 },
      hidden: [],
    };
    const c: PartitionFs = { partition: p, offset: p.offset, fs: { kind: 'ext2', features: [] } };
    expect(bootReport(c, config)).toEqual({
      partition: 5,
      offset: 3145728,
      filesystem: 'ext2',
      config: '/grub/grub.cfg',
      kind: 'grub2',
    });
    expect(offsetReport({ ...c, config, text: '' })).toEqual({
      offset: 3145728,
      partition: 5,
      xl: "bootloader_args = ['--offset=3145728']",
      xe: 'xe vm-param-set uuid=VM PV-bootloader-args="--offset=3145728"',
    });
    expect(configKindName('grub2')).toBe('GRUB 2');
    expect(configKindName('grub-legacy')).toBe('GRUB legacy');
    expect(configKindName('extlinux')).toBe('extlinux');
  });
});
