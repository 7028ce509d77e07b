/** Proof after a write: the release's pygrub reads what was written, and reaches the partition that was made active. */
import { fail, type CommandFn } from '../../engine/index.js';
import { DebugfsFs, openSource, pygrubPartitionOffsets, type BlockSource, type GuestFs } from '../../disk/index.js';
import {
  codeOf,
  modelPygrub,
  partName,
  selectEntry,
  versionLabel,
  type BootLocation,
  type ConfigKind,
  type XenVersion,
} from '../../grub/index.js';

/** Read the table again as the release's pygrub does: /boot must be the first offset it tries. */
export async function checkActiveFirst(image: string, version: XenVersion, boot: BootLocation): Promise<void> {
  const source: BlockSource = await openSource(image);
  const tried = await pygrubPartitionOffsets(source, codeOf(version).partitions).finally(() => source.close());
  if (tried.status !== 'ok' || tried.offsets[0] !== boot.offset)
    throw fail(
      `after the active flag, the pygrub of ${versionLabel(version)} still does not read ${partName(boot)} first (${tried.status === 'ok' ? `offsets ${tried.offsets.join(', ')}` : tried.msg}); ${image}.mbr.orig holds the old MBR`,
    );
}

/** The release's pygrub parses the config and picks an entry to boot; what it lists and boots, in words. */
export function pygrubVerdict(text: string, kind: ConfigKind, version: XenVersion): string {
  const model = modelPygrub(text, kind, version);
  if (model.error) throw fail(`line ${model.error.line} still makes pygrub raise ${model.error.exception}`);
  const sel = selectEntry(model, version);
  if (sel.status !== 'ok')
    throw fail(`the pygrub of ${versionLabel(version)} reads the config but run_grub raises ${sel.error?.exception}`);
  return `the pygrub of ${versionLabel(version)} lists ${model.images.length} entries and boots entry ${sel.index} (${sel.kernel})`;
}

/** After a write through debugfs, e2fsck -fn must find the filesystem clean (a mounted one the kernel wrote itself). */
export async function checkClean($: CommandFn, fs: GuestFs, boot: BootLocation): Promise<void> {
  if (!(fs instanceof DebugfsFs)) return;
  const fsck = await $({ nothrow: true })`e2fsck -fn ${fs.device}`;
  if (fsck.exitCode !== 0)
    throw fail(
      `e2fsck -fn finds ${partName(boot)} damaged after the write (exit ${fsck.exitCode}); ${boot.config.path}.orig holds the old config`,
    );
}
