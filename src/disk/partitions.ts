/**
 * Partition tables as the kernel, sfdisk and pygrub read them: MBR (with the EBR chain of
 * logical partitions, numbered from 5) and GPT (protective MBR, header and entry-array CRCs,
 * backup header at the end of the disk), with 512- or 4096-byte sectors.
 *
 * A malformed table (truncated, looping EBR chain, partitions past the end of the image or
 * overlapping each other) is a PartitionTableError: the image is not something to repair
 * a boot loader on, and the reader says exactly why.
 */
import { crc32 } from './crc32.js';
import type { BlockSource } from './source.js';

export type TableLabel = 'dos' | 'gpt' | 'none';

export interface Partition {
  /** As Linux numbers it: 1–4 primary (by slot), 5… logical, GPT 1…N (by entry). */
  number: number;
  kind: 'primary' | 'extended' | 'logical' | 'gpt';
  /** First sector. */
  start: number;
  /** Length in sectors. */
  size: number;
  /** Byte offset of the first sector in the image. */
  offset: number;
  /** Length in bytes. */
  bytes: number;
  /** dos: the type byte in hex as sfdisk prints it (`83`, `5`, `8e`); gpt: the type GUID in upper case. */
  type: string;
  typeName: string;
  /** dos: the boot (active) flag. */
  bootable?: boolean;
  /** gpt: the partition's name and unique GUID. */
  name?: string;
  uuid?: string;
}

export interface PartitionTable {
  label: TableLabel;
  sectorSize: number;
  /** Image size in bytes. */
  diskSize: number;
  totalSectors: number;
  /** dos: the disk identifier (`0x8a716aee`); gpt: the disk GUID. */
  id?: string;
  partitions: Partition[];
  gpt?: {
    header: 'primary' | 'backup';
    primaryError?: string;
    backupError?: string;
    firstUsable: number;
    lastUsable: number;
  };
  warnings: string[];
}

export class PartitionTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionTableError';
  }
}

const DOS_TYPES: Record<number, string> = {
  0x01: 'FAT12',
  0x04: 'FAT16 <32M',
  0x05: 'Extended',
  0x06: 'FAT16',
  0x07: 'HPFS/NTFS/exFAT',
  0x0b: 'W95 FAT32',
  0x0c: 'W95 FAT32 (LBA)',
  0x0e: 'W95 FAT16 (LBA)',
  0x0f: "W95 Ext'd (LBA)",
  0x82: 'Linux swap / Solaris',
  0x83: 'Linux',
  0x85: 'Linux extended',
  0x8e: 'Linux LVM',
  0xa5: 'FreeBSD',
  0xbf: 'Solaris',
  0xee: 'GPT',
  0xef: 'EFI (FAT-12/16/32)',
  0xfd: 'Linux raid autodetect',
};

export const GPT_TYPES: Record<string, string> = {
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI System',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
};

export const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);
const MAX_LOGICAL = 256;
const MAX_GPT_ENTRY_BYTES = 4 * 1024 * 1024;

export interface ReadTableOptions {
  /** Force a sector size; by default: the device's, or 4096 when a GPT header is found there, else 512. */
  sectorSize?: 512 | 4096;
}

/** Read the partition table of an image or device. Throws PartitionTableError when malformed. */
export async function readPartitionTable(src: BlockSource, opts: ReadTableOptions = {}): Promise<PartitionTable> {
  if (src.size === 0) throw new PartitionTableError(`${src.path} is empty (0 bytes)`);
  if (src.size < 512) {
    throw new PartitionTableError(
      `${src.path} is ${src.size} bytes: too small to hold a partition table or a filesystem (truncated?)`,
    );
  }
  const mbr = await src.read(0, 512);
  const sectorSize = opts.sectorSize ?? (await guessSectorSize(src));
  const totalSectors = Math.floor(src.size / sectorSize);
  const base = { sectorSize, diskSize: src.size, totalSectors, warnings: [] as string[] };

  if (mbr.readUInt16LE(510) !== 0xaa55) return { label: 'none', partitions: [], ...base };

  const entries = [0, 1, 2, 3].map((i) => {
    const e = mbr.subarray(446 + 16 * i, 446 + 16 * (i + 1));
    return {
      slot: i + 1,
      status: e[0] as number,
      type: e[4] as number,
      start: e.readUInt32LE(8),
      size: e.readUInt32LE(12),
    };
  });
  // A boot sector of a filesystem also ends in 55 AA; its "entries" have status bytes other than 0/0x80.
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80)) {
    return {
      label: 'none',
      partitions: [],
      ...base,
      warnings: ['sector 0 ends in 55 AA but holds no valid partition entries'],
    };
  }
  const used = entries.filter((e) => e.type !== 0 && e.size !== 0);
  if (used.some((e) => e.type === 0xee)) return readGpt(src, base, mbr);
  const id = `0x${mbr.readUInt32LE(440).toString(16).padStart(8, '0')}`;
  if (used.length === 0)
    return { label: 'dos', id, partitions: [], ...base, warnings: ['the partition table has no partitions'] };

  const partitions: Partition[] = [];
  const mk = (
    number: number,
    kind: Partition['kind'],
    type: number,
    start: number,
    size: number,
    bootable?: boolean,
  ): Partition => ({
    number,
    kind,
    start,
    size,
    offset: start * sectorSize,
    bytes: size * sectorSize,
    type: type.toString(16),
    typeName: DOS_TYPES[type] ?? 'unknown',
    ...(bootable !== undefined ? { bootable } : {}),
  });
  for (const e of used) {
    const kind = EXTENDED_TYPES.has(e.type) ? 'extended' : 'primary';
    checkInside(e.slot, e.start, e.size, totalSectors, src.path);
    partitions.push(mk(e.slot, kind, e.type, e.start, e.size, e.status === 0x80));
  }
  checkOverlaps(partitions);

  const extended = partitions.filter((p) => p.kind === 'extended');
  if (extended.length > 1)
    base.warnings.push(`more than one extended partition: only partition ${extended[0]?.number} is followed`);
  const ext = extended[0];
  if (ext) {
    const logical = await readEbrChain(src, ext, sectorSize, (n, t, s, z) => mk(n, 'logical', t, s, z));
    for (const l of logical.partitions) checkInside(l.number, l.start, l.size, totalSectors, src.path);
    checkOverlaps(logical.partitions);
    partitions.push(...logical.partitions);
    base.warnings.push(...logical.warnings);
  }
  return { label: 'dos', id, partitions, ...base };
}

async function guessSectorSize(src: BlockSource): Promise<512 | 4096> {
  if (src.deviceSectorSize === 4096) return 4096;
  if (src.deviceSectorSize === 512) return 512;
  const at512 = await src.read(512, 8);
  if (at512.toString('latin1') === 'EFI PART') return 512;
  const at4096 = await src.read(4096, 8);
  if (at4096.toString('latin1') === 'EFI PART') return 4096;
  return 512;
}

function checkInside(number: number, start: number, size: number, totalSectors: number, path: string): void {
  if (start === 0)
    throw new PartitionTableError(`partition ${number} starts at sector 0, over the partition table itself`);
  if (start + size > totalSectors) {
    throw new PartitionTableError(
      `partition ${number} (sectors ${start}–${start + size - 1}) goes past the end of ${path} (${totalSectors} sectors): ` +
        'the image is truncated or the table is damaged',
    );
  }
}

function checkOverlaps(parts: readonly Partition[]): void {
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as Partition;
    const b = sorted[i] as Partition;
    if (b.start < a.start + a.size) {
      throw new PartitionTableError(
        `partitions ${a.number} (sectors ${a.start}–${a.start + a.size - 1}) and ${b.number} (sectors ${b.start}–${b.start + b.size - 1}) overlap`,
      );
    }
  }
}

async function readEbrChain(
  src: BlockSource,
  ext: Partition,
  sectorSize: number,
  mk: (number: number, type: number, start: number, size: number) => Partition,
): Promise<{ partitions: Partition[]; warnings: string[] }> {
  const partitions: Partition[] = [];
  const warnings: string[] = [];
  const seen = new Set<number>();
  let rel = 0; // the next EBR, relative to the start of the extended partition
  let number = 5;
  for (;;) {
    const lba = ext.start + rel;
    if (seen.has(lba))
      throw new PartitionTableError(`the chain of logical partitions loops back to the EBR at sector ${lba}`);
    seen.add(lba);
    if (seen.size > MAX_LOGICAL)
      throw new PartitionTableError(`more than ${MAX_LOGICAL} logical partitions: the EBR chain is damaged`);
    if (lba >= ext.start + ext.size) {
      throw new PartitionTableError(`an EBR at sector ${lba} lies outside the extended partition ${ext.number}`);
    }
    const ebr = await src.read(lba * sectorSize, 512);
    if (ebr.length < 512) throw new PartitionTableError(`the EBR at sector ${lba} is cut off: the image is truncated`);
    if (ebr.readUInt16LE(510) !== 0xaa55) {
      if (seen.size > 1)
        warnings.push(`the EBR at sector ${lba} has no 55 AA signature: the chain of logical partitions ends there`);
      break;
    }
    const e0 = { type: ebr[446 + 4] as number, start: ebr.readUInt32LE(446 + 8), size: ebr.readUInt32LE(446 + 12) };
    const e1 = { type: ebr[462 + 4] as number, start: ebr.readUInt32LE(462 + 8), size: ebr.readUInt32LE(462 + 12) };
    if (e0.type !== 0 && e0.size !== 0) {
      const start = lba + e0.start;
      if (start < ext.start || start + e0.size > ext.start + ext.size) {
        throw new PartitionTableError(
          `logical partition ${number} (sectors ${start}–${start + e0.size - 1}) lies outside the extended partition ${ext.number} ` +
            `(sectors ${ext.start}–${ext.start + ext.size - 1})`,
        );
      }
      partitions.push(mk(number++, e0.type, start, e0.size));
    }
    if (e1.size === 0 || !EXTENDED_TYPES.has(e1.type)) break;
    rel = e1.start;
  }
  return { partitions, warnings };
}

/** A GUID as it is written on disk (mixed endian) → `0FC63DAF-8483-4772-8E79-3D69D8477DE4`. */
export function guidToString(b: Uint8Array): string {
  const buf = Buffer.from(b);
  const hex = (x: Buffer) => x.toString('hex');
  const a = buf.readUInt32LE(0).toString(16).padStart(8, '0');
  const c = buf.readUInt16LE(4).toString(16).padStart(4, '0');
  const d = buf.readUInt16LE(6).toString(16).padStart(4, '0');
  return `${a}-${c}-${d}-${hex(buf.subarray(8, 10))}-${hex(buf.subarray(10, 16))}`.toUpperCase();
}

interface GptHeader {
  myLba: number;
  alternateLba: number;
  firstUsable: number;
  lastUsable: number;
  diskGuid: string;
  entriesLba: number;
  numEntries: number;
  entrySize: number;
  entries: Buffer;
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} is out of range (${v})`);
  return Number(v);
}

async function readGptHeader(
  src: BlockSource,
  lba: number,
  sectorSize: number,
  totalSectors: number,
): Promise<GptHeader> {
  if (lba < 1 || lba >= totalSectors) throw new Error(`sector ${lba} is outside the image`);
  const h = await src.read(lba * sectorSize, sectorSize);
  if (h.length < 92) throw new Error(`the header at sector ${lba} is cut off (image truncated)`);
  if (h.toString('latin1', 0, 8) !== 'EFI PART') throw new Error(`no "EFI PART" signature at sector ${lba}`);
  const headerSize = h.readUInt32LE(12);
  if (headerSize < 92 || headerSize > sectorSize) throw new Error(`header size ${headerSize} is invalid`);
  const stored = h.readUInt32LE(16);
  const copy = Buffer.from(h.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  const actual = crc32(copy);
  if (actual !== stored) {
    throw new Error(`header CRC mismatch at sector ${lba} (stored ${hex32(stored)}, computed ${hex32(actual)})`);
  }
  const myLba = u64(h, 24, 'MyLBA');
  if (myLba !== lba) throw new Error(`the header at sector ${lba} says it lives at sector ${myLba}`);
  const numEntries = h.readUInt32LE(80);
  const entrySize = h.readUInt32LE(84);
  if (entrySize < 128 || (entrySize & (entrySize - 1)) !== 0) throw new Error(`entry size ${entrySize} is invalid`);
  if (numEntries * entrySize > MAX_GPT_ENTRY_BYTES)
    throw new Error(`${numEntries} entries of ${entrySize} bytes is implausible`);
  const entriesLba = u64(h, 72, 'PartitionEntryLBA');
  const entryBytes = numEntries * entrySize;
  const entries = await src.read(entriesLba * sectorSize, entryBytes);
  if (entries.length < entryBytes)
    throw new Error(`the partition entries at sector ${entriesLba} are cut off (image truncated)`);
  const storedEntries = h.readUInt32LE(88);
  const actualEntries = crc32(entries);
  if (storedEntries !== actualEntries) {
    throw new Error(
      `partition entry array CRC mismatch (stored ${hex32(storedEntries)}, computed ${hex32(actualEntries)})`,
    );
  }
  return {
    myLba,
    alternateLba: u64(h, 32, 'AlternateLBA'),
    firstUsable: u64(h, 40, 'FirstUsableLBA'),
    lastUsable: u64(h, 48, 'LastUsableLBA'),
    diskGuid: guidToString(h.subarray(56, 72)),
    entriesLba,
    numEntries,
    entrySize,
    entries,
  };
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

async function readGpt(
  src: BlockSource,
  base: { sectorSize: number; diskSize: number; totalSectors: number; warnings: string[] },
  _mbr: Buffer,
): Promise<PartitionTable> {
  const { sectorSize, totalSectors } = base;
  let header: GptHeader | undefined;
  let which: 'primary' | 'backup' = 'primary';
  let primaryError: string | undefined;
  let backupError: string | undefined;
  try {
    header = await readGptHeader(src, 1, sectorSize, totalSectors);
  } catch (e) {
    primaryError = (e as Error).message;
  }
  let backup: GptHeader | undefined;
  try {
    backup = await readGptHeader(src, totalSectors - 1, sectorSize, totalSectors);
  } catch (e) {
    backupError = (e as Error).message;
  }
  if (!header) {
    if (!backup) {
      throw new PartitionTableError(`the GPT is damaged: primary: ${primaryError}; backup: ${backupError}`);
    }
    header = backup;
    which = 'backup';
    base.warnings.push(
      `the primary GPT header is damaged (${primaryError}): the backup header at the end of the disk was used`,
    );
  } else if (backupError) {
    base.warnings.push(`the backup GPT header is damaged or missing (${backupError})`);
  }
  const partitions: Partition[] = [];
  for (let i = 0; i < header.numEntries; i++) {
    const e = header.entries.subarray(i * header.entrySize, (i + 1) * header.entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const type = guidToString(e.subarray(0, 16));
    const start = u64(e, 32, 'StartingLBA');
    const end = u64(e, 40, 'EndingLBA');
    const number = i + 1;
    if (end < start)
      throw new PartitionTableError(`GPT partition ${number} ends (sector ${end}) before it starts (sector ${start})`);
    const size = end - start + 1;
    checkInside(number, start, size, totalSectors, src.path);
    if (start < header.firstUsable || end > header.lastUsable) {
      base.warnings.push(
        `GPT partition ${number} lies outside the usable area ${header.firstUsable}–${header.lastUsable}`,
      );
    }
    const nameRaw = e.subarray(56, 128).toString('utf16le');
    const nul = nameRaw.indexOf('\0');
    partitions.push({
      number,
      kind: 'gpt',
      start,
      size,
      offset: start * sectorSize,
      bytes: size * sectorSize,
      type,
      typeName: GPT_TYPES[type] ?? 'unknown',
      name: nul === -1 ? nameRaw : nameRaw.slice(0, nul),
      uuid: guidToString(e.subarray(16, 32)),
    });
  }
  checkOverlaps(partitions);
  return {
    label: 'gpt',
    id: header.diskGuid,
    partitions,
    ...base,
    gpt: {
      header: which,
      ...(primaryError ? { primaryError } : {}),
      ...(backupError ? { backupError } : {}),
      firstUsable: header.firstUsable,
      lastUsable: header.lastUsable,
    },
  };
}

/**
 * The byte offsets pygrub tries, in its order, as Xen 4.5.3 – 4.12.x read them (Python 2
 * get_partition_offsets) from a parsed table: no 55 AA signature → the whole disk at 0; MBR →
 * the four primary slots, the active one first (logical partitions are never tried; types 82
 * and bf are skipped, as pygrub skips them when no Solaris disk label is there, which this
 * table-level view does not read); protective MBR → every GPT entry. Sectors are taken
 * as 512 bytes whatever the disk's sector size. For a given release, from the image's bytes:
 * pygrubPartitionOffsets.
 */
export function pygrubOffsets(table: PartitionTable): number[] {
  if (table.label === 'none') return [0];
  if (table.label === 'gpt') {
    if (table.sectorSize !== 512) return [];
    return table.partitions.map((p) => p.start * 512);
  }
  const out: number[] = [];
  for (const p of table.partitions) {
    if (p.kind === 'logical' || p.type === '82' || p.type === 'bf') continue;
    if (p.bootable) out.unshift(p.start * 512);
    else out.push(p.start * 512);
  }
  return out.length ? out : [0];
}

/**
 * How a release's pygrub finds partition offsets: the functions `is_disk_image` /
 * `identify_disk_image`, `get_active_partition`, `get_solaris_slice`, `get_fs_offset_gpt` and
 * `get_fs_offset` / `get_partition_offsets` of tools/pygrub/src/pygrub, per release group.
 */
export interface PygrubPartitionCode {
  /** get_fs_offset (4.0.x): one offset, the active partition else slot 1; get_partition_offsets (4.1.0+): a list. */
  fn: 'get_fs_offset' | 'get_partition_offsets';
  /** get_fs_offset_gpt: the first entry's start read at LBA 2 (up to 4.1.2), or every entry (4.1.3+). */
  gpt: 'first-entry' | 'all-entries';
  /** identify_disk_image finds a HybridISO ('CD001' at 0x8001) and tries offset 0 first (4.2.0+, Python 2 only). */
  hybridIso: boolean;
  /** "We thought we had a DOS partition table, but didn't find any actual valid partition entries": [0] (4.5.3+, 4.6.3+). */
  emptyIsWholeDisk: boolean;
  /** The active partition goes first. Under Python 3 (4.13+) `struct.unpack("<c", …) == ('\x80',)` compares bytes with str: never. */
  activeFirst: boolean;
}

export type PygrubOffsets =
  { status: 'ok'; offsets: number[] } | { status: 'exception'; type: string; msg: string; offsets: [] };

const SOLARIS = 0xbf;
const SOLARIS_OLD = 0x82; // pygrub's FDISK_PART_SOLARIS_OLD: also Linux swap
const GPT_PROTECTIVE = 0xee;

class PyRuntimeError extends Error {}

/**
 * The offsets a release's pygrub tries, in its order, read from the image's bytes as that
 * release's code reads them (sectors are always 512 bytes to it). 4.0.x returns one offset or
 * raises (a type 0x82 swap partition in the slot it picks has no Solaris disk label).
 */
export async function pygrubPartitionOffsets(src: BlockSource, code: PygrubPartitionCode): Promise<PygrubOffsets> {
  const read = (offset: number, length: number) => src.read(offset, length);
  const u16 = (b: Buffer, at: number) => (at + 2 <= b.length ? b.readUInt16LE(at) : 0);
  const u32 = (b: Buffer, at: number) => (at + 4 <= b.length ? b.readUInt32LE(at) : 0);
  const u64 = (b: Buffer, at: number) => (at + 8 <= b.length ? Number(b.readBigUInt64LE(at)) : 0);
  const head = await read(0, 0x8006);
  const isDisk = head.length >= 512 && u16(head, 0x1fe) === 0xaa55;
  const mbr = head.subarray(0, 512);

  // get_solaris_slice: the VTOC one sector into the partition, its V_ROOT slice.
  const solarisSlice = async (offset: number): Promise<number> => {
    const buf = await read(offset + 512, 512);
    if (u16(buf, 508) !== 0xdabe) throw new PyRuntimeError('Invalid disklabel magic');
    const n = u16(buf, 30);
    for (let i = 0; i < n; i++) {
      const at = 72 + 12 * i;
      if (u16(buf, at) === 2) return u32(buf, at + 4) * 512;
    }
    throw new PyRuntimeError('No root slice found');
  };
  const gptEntries = async (): Promise<number[]> => {
    if (code.gpt === 'first-entry') return [u64(await read(1024, 512), 32) * 512];
    const hdr = await read(512, 512);
    const count = u32(hdr, 80);
    const size = u32(hdr, 84);
    const out: number[] = [];
    let at = 1024;
    for (let i = 0; i < count && i < 65536; i++) {
      out.push(u64(await read(at, size), 32) * 512);
      at += size;
    }
    return out;
  };
  try {
    if (code.fn === 'get_fs_offset') {
      if (!isDisk) return { status: 'ok', offsets: [0] };
      // get_active_partition: the first slot marked 0x80, else slot 1 (empty or not).
      const slot = [446, 462, 478, 494].find((p) => mbr[p] === 0x80) ?? 446;
      const entry = mbr.subarray(slot, slot + 16);
      let offset = u32(entry, 8) * 512;
      const type = entry[4];
      if (type === SOLARIS || type === SOLARIS_OLD) offset += await solarisSlice(offset);
      if (type === GPT_PROTECTIVE) offset = u64(await read(1024, 512), 32) * 512;
      return { status: 'ok', offsets: [offset] };
    }
    if (!isDisk) return { status: 'ok', offsets: [0] };
    const hybrid = code.hybridIso && head.length >= 0x8006 && head.toString('latin1', 0x8001, 0x8006) === 'CD001';
    const offs: number[] = hybrid ? [0] : [];
    for (const p of [446, 462, 478, 494]) {
      let offset = u32(mbr, p + 8) * 512;
      const type = mbr[p + 4];
      if (offset === 0) continue;
      if (type === SOLARIS || type === SOLARIS_OLD) {
        try {
          offset += await solarisSlice(offset);
        } catch (e) {
          if (e instanceof PyRuntimeError) continue;
          throw e;
        }
      }
      if (type === GPT_PROTECTIVE) {
        if (code.gpt === 'all-entries') {
          offs.push(...(await gptEntries()));
          break;
        }
        offset = (await gptEntries())[0] as number;
      }
      if (code.activeFirst && mbr[p] === 0x80) offs.unshift(offset);
      else offs.push(offset);
    }
    if (code.emptyIsWholeDisk && !offs.length) return { status: 'ok', offsets: [0] };
    return { status: 'ok', offsets: offs };
  } catch (e) {
    if (e instanceof PyRuntimeError) return { status: 'exception', type: 'RuntimeError', msg: e.message, offsets: [] };
    throw e;
  }
}
