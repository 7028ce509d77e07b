/**
 * Which pygrub reads the image. Behaviour that changed between Xen releases is keyed by the
 * release it changed in. Where the exact release is not pinned down, the catalogue says so.
 */
export interface XenVersion {
  major: number;
  minor: number;
  /** The text the administrator gave (`old`, `4.0`, `4.17.3`). */
  text: string;
}

/** What `--xen-version old` (the default) stands for: the pygrub of Xen 4.0, as on CentOS 6 / RHEL 6 era hosts. */
export const OLD_XEN = '4.0';

export function parseXenVersion(text: string): XenVersion {
  const t = text.trim().toLowerCase();
  const v = t === 'old' ? OLD_XEN : t;
  const m = /^(\d+)\.(\d+)(?:\.\d+)?(?:[-.+~][\w.+~-]*)?$/.exec(v);
  if (!m) throw new Error(`not a Xen version: '${text}' (give e.g. 4.0, 4.1.2, 4.17, or 'old')`);
  return { major: Number(m[1]), minor: Number(m[2]), text: t };
}

/** a < b, comparing major.minor. */
export function versionBelow(v: XenVersion, below: string): boolean {
  const b = parseXenVersion(below);
  return v.major < b.major || (v.major === b.major && v.minor < b.minor);
}

export function versionLabel(v: XenVersion): string {
  return v.text === 'old' ? `an old Xen (assumed ${OLD_XEN})` : `Xen ${v.text}`;
}

/** Releases where pygrub's or the domain builder's behaviour changed (see the catalogue). */
export const CHANGES = {
  /** pygrub reads grub.cfg (GRUB 2) at all. */
  readsGrubCfg: '4.0',
  /** GrubConf.py strips `msdos`/`gpt` before int(); `set default` no longer needs a plain number. Approximate. */
  grub2PartitionNames: '4.2',
  grub2DefaultVariables: '4.2',
  /** Kernel decompressors in the domain builder (libxc / libxenguest). Approximate. */
  bzip2: '3.4',
  lzma: '3.4',
  xz: '4.2',
  lzo: '4.2',
  lz4: '4.12',
  zstd: '4.16',
} as const;
