/** What pygrub-fix's steps find, passed from one to the next. */
import { fail, type FileEdit } from '../../engine/index.js';
import type { BlockSource, GuestFs, PartitionTable, PygrubOffsets } from '../../disk/index.js';
import type { BootLocation, Diagnosis, PartitionFs, RewriteResult, XenVersion } from '../../grub/index.js';

export interface PygrubFixState {
  /** The image as given, then resolved on the host by check-image. */
  image: string;
  /** The Xen release whose pygrub reads the image (--xen-version). */
  version: XenVersion;
  source?: BlockSource;
  table?: PartitionTable;
  /** What every partition (or the whole disk) holds, in the order pygrub tries them. */
  filesystems: PartitionFs[];
  /** The filesystem holding the boot config, opened with the chosen backend. */
  fs?: GuestFs;
  boot?: BootLocation;
  offsets?: PygrubOffsets;
  diagnosis?: Diagnosis;
  rewritten?: RewriteResult;
  /** Something was written into the image's filesystem. */
  wrote?: boolean;
  /** The MBR's active flag was written. */
  activated?: boolean;
}

/** The boot config and its filesystem: the steps after find-boot-partition run only when it found them. */
export function bootOf(state: PygrubFixState): { boot: BootLocation; fs: GuestFs } {
  if (!state.boot || !state.fs) throw fail('no boot config was found in the image');
  return { boot: state.boot, fs: state.fs };
}

/** The partition table read by read-partition-table. */
export function tableOf(state: PygrubFixState): { table: PartitionTable; source: BlockSource } {
  if (!state.table || !state.source) throw fail('the partition table was not read');
  return { table: state.table, source: state.source };
}

/** What restore-backups puts back: the domain config from its .orig, or the boot config's text from grub.cfg.orig. */
export type RestorePlan = { edit: FileEdit } | { text: string };
