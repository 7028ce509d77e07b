/** The guest disk's partition table, read and shown as pygrub-fix reports it. */
import { usage } from '../../engine/index.js';
import { PartitionTableError, readPartitionTable, type BlockSource, type PartitionTable } from '../../disk/index.js';

/** --sector-size: auto reads the device's, or finds the GPT header. */
export type SectorSizeChoice = 'auto' | '512' | '4096';

/** The table, or bad input (exit 2) when the image holds none that can be read. */
export async function readTable(source: BlockSource, image: string, size: SectorSizeChoice): Promise<PartitionTable> {
  try {
    return await readPartitionTable(source, size === 'auto' ? {} : { sectorSize: size === '4096' ? 4096 : 512 });
  } catch (e) {
    if (e instanceof PartitionTableError) throw usage(`${image}: ${e.message}`);
    throw e;
  }
}

/** One line per partition: number, kind, first sector, byte offset, type. */
export function partitionLines(table: PartitionTable): string[] {
  return table.partitions.map(
    (p) =>
      `    ${String(p.number).padStart(3)}  ${p.kind.padEnd(8)} start ${String(p.start).padStart(10)}  offset ${String(p.offset).padStart(14)}  ${p.typeName}`,
  );
}

export function tableSummary(t: PartitionTable): string {
  return t.label === 'none'
    ? 'no partition table: one filesystem on the whole disk'
    : `${t.label}, ${t.sectorSize}-byte sectors, ${t.partitions.length} partitions`;
}

/** The table as the --json report gives it. */
export function tableReport(t: PartitionTable) {
  return { label: t.label, sectorSize: t.sectorSize, diskSize: t.diskSize, id: t.id, partitions: t.partitions };
}
