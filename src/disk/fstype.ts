/**
 * What a partition holds, from its on-disk signatures (the way blkid tells them apart):
 * ext2/3/4 with their feature flags, XFS with its version, btrfs, LVM2 physical volume,
 * Linux MD RAID, swap, LUKS, FAT. Only a few sectors are read.
 */
import type { BlockSource } from './source.js';

export type FsKind =
  'ext2' | 'ext3' | 'ext4' | 'xfs' | 'btrfs' | 'lvm2' | 'md-raid' | 'swap' | 'luks' | 'vfat' | 'iso9660' | 'unknown';

export interface FsInfo {
  kind: FsKind;
  /** ext: the feature flags by name; xfs: `v4`/`v5`. */
  features: string[];
  /** ext: the filesystem's state says it was not cleanly unmounted, or its journal needs recovery. */
  dirty?: boolean;
  /** ext: block size and block count (the filesystem's own idea of its size). */
  blockSize?: number;
  blocks?: number;
  label?: string;
  uuid?: string;
  /** xfs: 4 or 5. */
  version?: number;
}

const EXT_COMPAT: Record<number, string> = {
  0x1: 'dir_prealloc',
  0x2: 'imagic_inodes',
  0x4: 'has_journal',
  0x8: 'ext_attr',
  0x10: 'resize_inode',
  0x20: 'dir_index',
  0x200: 'sparse_super2',
  0x400: 'fast_commit',
  0x1000: 'orphan_file',
};
const EXT_INCOMPAT: Record<number, string> = {
  0x1: 'compression',
  0x2: 'filetype',
  0x4: 'needs_recovery',
  0x8: 'journal_dev',
  0x10: 'meta_bg',
  0x40: 'extent',
  0x80: '64bit',
  0x100: 'mmp',
  0x200: 'flex_bg',
  0x400: 'ea_inode',
  0x1000: 'dirdata',
  0x2000: 'metadata_csum_seed',
  0x4000: 'large_dir',
  0x8000: 'inline_data',
  0x10000: 'encrypt',
  0x20000: 'casefold',
};
const EXT_RO_COMPAT: Record<number, string> = {
  0x1: 'sparse_super',
  0x2: 'large_file',
  0x8: 'huge_file',
  0x10: 'uninit_bg',
  0x20: 'dir_nlink',
  0x40: 'extra_isize',
  0x100: 'quota',
  0x200: 'bigalloc',
  0x400: 'metadata_csum',
  0x1000: 'read-only',
  0x2000: 'project',
  0x8000: 'verity',
  0x10000: 'orphan_present',
};

function flags(value: number, names: Record<number, string>): string[] {
  const out: string[] = [];
  for (const [bit, name] of Object.entries(names)) if (value & Number(bit)) out.push(name);
  const known = Object.keys(names).reduce((a, b) => a | Number(b), 0);
  const unknown = value & ~known;
  if (unknown) out.push(`unknown:0x${(unknown >>> 0).toString(16)}`);
  return out;
}

function uuidString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Identify what starts at `offset` (bytes) in the source. */
export async function detectFilesystem(src: BlockSource, offset: number): Promise<FsInfo> {
  const head = await src.read(offset, 4096 + 64);
  const at = (o: number, len: number) => head.subarray(o, o + len);
  // ext2/3/4: superblock at 1024, magic 0xEF53 at 56.
  if (head.length >= 2048 && head.readUInt16LE(1024 + 56) === 0xef53) {
    const sb = head.subarray(1024, 2048);
    const compat = sb.readUInt32LE(92);
    const incompat = sb.readUInt32LE(96);
    const roCompat = sb.readUInt32LE(100);
    const features = [
      ...flags(compat, EXT_COMPAT),
      ...flags(incompat, EXT_INCOMPAT),
      ...flags(roCompat, EXT_RO_COMPAT),
    ];
    const kind: FsKind =
      incompat & (0x40 | 0x80 | 0x200) || roCompat & (0x8 | 0x20 | 0x40 | 0x400)
        ? 'ext4'
        : compat & 0x4
          ? 'ext3'
          : 'ext2';
    const logBlock = sb.readUInt32LE(24);
    const blockSize = logBlock <= 6 ? 1024 << logBlock : undefined;
    const state = sb.readUInt16LE(58);
    const label = sb.subarray(120, 136).toString('latin1').replace(/\0.*$/s, '');
    return {
      kind,
      features,
      dirty: (state & 1) === 0 || (incompat & 0x4) !== 0,
      ...(blockSize ? { blockSize } : {}),
      blocks: sb.readUInt32LE(4) + (incompat & 0x80 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0),
      ...(label ? { label } : {}),
      uuid: uuidString(sb.subarray(104, 120)),
    };
  }
  if (at(0, 4).toString('latin1') === 'XFSB') {
    const version = head.readUInt16BE(100) & 0xf;
    return { kind: 'xfs', version, features: [`v${version}`], uuid: uuidString(at(32, 16)) };
  }
  if (at(0, 6).toString('latin1') === 'LUKS\xba\xbe') return { kind: 'luks', features: [] };
  if (at(512, 8).toString('latin1') === 'LABELONE' && at(512 + 24, 8).toString('latin1') === 'LVM2 001') {
    return { kind: 'lvm2', features: [] };
  }
  if (head.length >= 4096 + 4 && head.readUInt32LE(4096) === 0xa92b4efc) return { kind: 'md-raid', features: ['1.2'] };
  if (head.length >= 4096 && at(4086, 10).toString('latin1').startsWith('SWAPSPACE2'))
    return { kind: 'swap', features: [] };
  if (
    at(0x36, 5).toString('latin1') === 'FAT12' ||
    at(0x36, 5).toString('latin1') === 'FAT16' ||
    at(0x52, 5).toString('latin1') === 'FAT32'
  ) {
    return { kind: 'vfat', features: [] };
  }
  // btrfs keeps its superblock at 64 KiB.
  const btrfs = await src.read(offset + 0x10040, 8);
  if (btrfs.toString('latin1') === '_BHRfS_M') return { kind: 'btrfs', features: [] };
  const iso = await src.read(offset + 0x8001, 5);
  if (iso.toString('latin1') === 'CD001') return { kind: 'iso9660', features: [] };
  // MD RAID 0.90 and 1.0 keep their superblock near the end: not probed here (pygrub cannot read either).
  return { kind: 'unknown', features: [] };
}

export const isExt = (k: FsKind) => k === 'ext2' || k === 'ext3' || k === 'ext4';
