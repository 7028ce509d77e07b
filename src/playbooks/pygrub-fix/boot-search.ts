/** Where pygrub looks for /boot: the partitions in the order the release's pygrub tries them, and what each holds. */
import {
  detectFilesystem,
  isExt,
  type BlockSource,
  type FsKind,
  type Partition,
  type PartitionTable,
  type PygrubOffsets,
} from '../../disk/index.js';
import {
  versionLabel,
  type BootLocation,
  type FoundConfig,
  type PartitionFs,
  type XenVersion,
} from '../../grub/index.js';

/** What the release's pygrub does with the table: the offsets it tries, or what it raises first. */
export function offsetsLine(tried: PygrubOffsets, version: XenVersion): string {
  const order = tried.offsets;
  return tried.status === 'exception'
    ? `    the pygrub of ${versionLabel(version)} raises ${tried.type}: ${tried.msg} before it opens any partition`
    : `    the pygrub of ${versionLabel(version)} tries offset${order.length === 1 ? '' : 's'} ${[...new Set(order)].slice(0, 8).join(', ') || '(none)'}`;
}

/**
 * The partitions that can hold a filesystem (null: the whole disk, without a table): the
 * release's own order first (its get_fs_offset / get_partition_offsets), then the partitions it
 * never tries (logical ones, and on 4.0.x all but the active one).
 */
export function inSearchOrder(table: PartitionTable, order: readonly number[]): (Partition | null)[] {
  const rank = (offset: number) => {
    const i = order.indexOf(offset);
    return i === -1 ? order.length : i;
  };
  const parts = table.label === 'none' ? [null] : table.partitions.filter((p) => p.kind !== 'extended');
  return parts.sort((a, b) => rank(a?.offset ?? 0) - rank(b?.offset ?? 0));
}

/** What each partition holds, by its first bytes. */
export async function filesystemsOf(source: BlockSource, parts: readonly (Partition | null)[]): Promise<PartitionFs[]> {
  const out: PartitionFs[] = [];
  for (const partition of parts) {
    const offset = partition?.offset ?? 0;
    out.push({ partition, offset, fs: await detectFilesystem(source, offset) });
  }
  return out;
}

/** Can the chosen backend read this filesystem? debugfs reads ext2/3/4; mount whatever the kernel mounts. */
export function readableBy(backend: 'debugfs' | 'mount', kind: FsKind): boolean {
  return backend === 'mount' ? kind !== 'lvm2' && kind !== 'swap' && kind !== 'unknown' : isExt(kind);
}

const KIND_NAME: Record<FoundConfig['kind'], string> = {
  grub2: 'GRUB 2',
  'grub-legacy': 'GRUB legacy',
  extlinux: 'extlinux',
};

/** The boot config found, as the --json report gives it. */
export function bootReport(c: PartitionFs, config: FoundConfig) {
  return {
    partition: c.partition?.number ?? null,
    offset: c.offset,
    filesystem: c.fs.kind,
    config: config.path,
    kind: config.kind,
  };
}

export function configKindName(kind: FoundConfig['kind']): string {
  return KIND_NAME[kind];
}

/** Where /boot is, as --strategy offset tells pygrub: the --json report gives the xl and the xe forms. */
export function offsetReport(boot: BootLocation) {
  return {
    offset: boot.offset,
    partition: boot.partition?.number ?? null,
    xl: `bootloader_args = ['--offset=${boot.offset}']`,
    xe: `xe vm-param-set uuid=VM PV-bootloader-args="--offset=${boot.offset}"`,
  };
}
