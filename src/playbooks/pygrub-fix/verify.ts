/** Proof after a write: the release's pygrub reads what was written, and reaches the partition that was made active. */
import { fail, type CommandFn } from '../../engine/index.js';
import {
  DebugfsFs,
  openHostSource,
  pygrubPartitionOffsets,
  diskHost,
  type BlockSource,
  type DiskHost,
  type GuestFs,
} from '../../disk/index.js';
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
export async function checkActiveFirst(
  image: string,
  version: XenVersion,
  boot: BootLocation,
  host?: DiskHost,
): Promise<void> {
  const source: BlockSource = await openHostSource(diskHost(host), image);
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

/** Where Xen installs pygrub (Debian's xen-utils, CentOS / XCP-ng's xen-tools), besides PATH. */
const PYGRUB_PLACES =
  'command -v pygrub; ls -1d /usr/lib/xen-*/bin/pygrub /usr/lib/xen/bin/pygrub /usr/lib64/xen/bin/pygrub 2>/dev/null';

/** What the host's own pygrub lists for the image, or why it could not be asked. */
export interface HostPygrub {
  pygrub: string | null;
  /** The titles it lists (pygrub -l -n). */
  titles: string[];
  ok: boolean;
  detail: string;
}

/**
 * The host's own pygrub, the one that will boot the guest: `pygrub -l -n [--offset=N] IMAGE`
 * lists the entries and boots nothing (-n: no kernel is copied out). A host without pygrub is
 * said so; one whose pygrub lists nothing is reported with its error.
 */
export async function hostPygrub(
  $: CommandFn,
  image: string,
  strategy: string,
  boot: BootLocation,
): Promise<HostPygrub> {
  // --strategy offset: the domain config passes --offset=N to pygrub; so does this check.
  const offset = strategy === 'offset' ? boot.offset : undefined;
  // One round trip: the first pygrub found says its path, then lists (exit 127: none found).
  const script = `p=$({ ${PYGRUB_PLACES}; } | grep -m1 '^/') || exit 127; echo "pygrub: $p"; exec "$p" "$@"`;
  const args = ['-l', '-n', ...(offset !== undefined ? [`--offset=${offset}`] : []), image];
  const r = await $({ nothrow: true, timeoutMs: 60_000 })`sh -c ${script} sh ${args}`;
  const pygrub = /^pygrub: (\/.*)$/m.exec(r.stdout)?.[1] ?? null;
  if (!pygrub)
    return { pygrub, titles: [], ok: false, detail: "the host has no pygrub (Xen's tools are not installed)" };
  const titles = [...r.stdout.matchAll(/^title: (.*)$/gm)].map((m) => m[1] as string);
  const ok = r.exitCode === 0 && titles.length > 0;
  const err = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.exitCode}`;
  return {
    pygrub,
    titles,
    ok,
    detail: ok
      ? `${pygrub} -l lists ${titles.length} entr${titles.length === 1 ? 'y' : 'ies'}, first: ${titles[0]}`
      : `${pygrub} -l cannot read the image: ${err} (what was checked is the pygrub of the --xen-version given)`,
  };
}
