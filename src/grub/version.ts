/**
 * Which pygrub reads the image. A release given by the administrator (`4.1.3`, `4.17`, `old`)
 * is mapped to the group of releases whose pygrub code is identical (PYGRUB_GROUPS, generated
 * from the oracle's tag list): the newest known release at or below the one given. So an
 * unknown later point release of a known minor (4.17.9) reads as that minor's newest known
 * release (4.17.7), a bare minor (4.1) as its first release (4.1.0), and a minor newer than any
 * known (4.23) as the newest known release.
 */
import { PYGRUB_GROUPS, type PygrubGroup } from './pygrub-releases.js';

export interface XenVersion {
  major: number;
  minor: number;
  /** The numbers given: [4, 1, 3], [4, 17], [4, 1, 6, 1]. */
  numbers: number[];
  /** The text the administrator gave (`old`, `4.0`, `4.17.3`). */
  text: string;
  /** The known release whose pygrub stands for it (`4.1.3`). */
  release: string;
  /** Whether `release` is exactly the release given. */
  exact: boolean;
  group: PygrubGroup;
}

/** What `--xen-version old` (the default) stands for: Xen 4.0.1, the Xen of Debian 6 (squeeze) and of the classic incident. */
export const OLD_XEN = '4.0.1';

const nums = (s: string) => s.split('.').map(Number);
function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** Every known release, oldest first, with its group. */
export const KNOWN_RELEASES: readonly { release: string; group: PygrubGroup }[] = PYGRUB_GROUPS.flatMap((g) =>
  g.releases.map((release) => ({ release, group: g })),
).sort((a, b) => cmp(nums(a.release), nums(b.release)));

export const FIRST_RELEASE = (KNOWN_RELEASES[0] as { release: string }).release;
export const LAST_RELEASE = (KNOWN_RELEASES.at(-1) as { release: string }).release;

export function parseXenVersion(text: string): XenVersion {
  const t = text.trim().toLowerCase();
  const v = t === 'old' ? OLD_XEN : t;
  const m = /^(\d+)\.(\d+)((?:\.\d+){0,2})(?:[-~+][\w.+~-]*)?$/.exec(v);
  if (!m) throw new Error(`not a Xen version: '${text}' (give e.g. 4.0.1, 4.1.3, 4.17, or 'old')`);
  const given = [Number(m[1]), Number(m[2]), ...(m[3] ? nums((m[3] as string).slice(1)) : [])];
  // A bare minor (4.1) means its first release (4.1.0).
  const wanted = given.length === 2 ? [...given, 0] : given;
  let found: { release: string; group: PygrubGroup } | undefined;
  for (const k of KNOWN_RELEASES) if (cmp(nums(k.release), wanted) <= 0) found = k;
  if (!found)
    throw new Error(
      `Xen ${text} is older than any release this playbook knows (${FIRST_RELEASE} to ${LAST_RELEASE}); its pygrub reads only GRUB legacy menu.lst`,
    );
  return {
    major: given[0] as number,
    minor: given[1] as number,
    numbers: given,
    text: t,
    release: found.release,
    exact: cmp(nums(found.release), wanted) === 0,
    group: found.group,
  };
}

/** a < b, comparing release numbers (4.1 < 4.1.3 < 4.2). */
export function versionBelow(v: XenVersion, below: string): boolean {
  return cmp(nums(v.release), nums(below)) < 0;
}

export function versionLabel(v: XenVersion): string {
  if (v.text === 'old') return `an old Xen (assumed ${OLD_XEN})`;
  return v.exact ? `Xen ${v.release}` : `Xen ${v.text} (read as ${v.release})`;
}

/** The releases of the group, as people write them: `4.1.0 – 4.1.2`. */
export function groupRange(g: PygrubGroup): string {
  const r = g.releases;
  return r.length === 1 ? (r[0] as string) : `${r[0]} – ${r.at(-1)}`;
}

/** Whether the release's pygrub accepts a long option (`offset`). */
export function pygrubHasOption(v: XenVersion, option: string): boolean {
  return v.group.options.includes(option);
}

/** The first release whose pygrub accepts the option. */
export function firstReleaseWithOption(option: string): string | undefined {
  return KNOWN_RELEASES.find((k) => k.group.options.includes(option))?.release;
}

/**
 * Kernel decompressors in the domain builder (libxc / libxenguest), by the release that added
 * them (each only when the tools were built with the library): the xc_try_*_decode functions of
 * tools/libxc/xc_dom_bzimageloader.c (RELEASE-4.0.0: bzip2, lzma; 4.1.0: lzo1x; 4.1.5 and 4.2.0: xz; 4.4.0: lz4)
 * and tools/libs/guest/xg_dom_bzimageloader.c (RELEASE-4.15.0: zstd).
 */
export const CHANGES = {
  bzip2: '4.0.0',
  lzma: '4.0.0',
  xz: '4.1.5',
  lzo: '4.1.0',
  lz4: '4.4.0',
  zstd: '4.15.0',
} as const;

/** The configs the release's Grub.read_config probes, in its order. */
export function searchOrderOf(v: XenVersion): { path: string; kind: 'grub2' | 'grub-legacy' | 'extlinux' }[] {
  return v.group.searchOrder.map(([path, kind]) => ({ path, kind }));
}

/**
 * Whether the release's pygrub looks for GRUB legacy's menu.lst before GRUB 2's grub.cfg: the
 * `cfg_list` of tools/pygrub/src/pygrub (Grub.read_config) lists menu.lst and grub.conf first up
 * to RELEASE-4.1.6.1 and last from RELEASE-4.2.0 (the oracle's config_search_order per group).
 * On such a release a hand-written menu.lst beside grub.cfg is what pygrub reads.
 */
export function readsMenuLstFirst(v: XenVersion): boolean {
  const order = searchOrderOf(v);
  const legacy = order.findIndex((c) => c.kind === 'grub-legacy');
  const grub2 = order.findIndex((c) => c.kind === 'grub2');
  return legacy !== -1 && (grub2 === -1 || legacy < grub2);
}

/** The release's search order for people: `/boot/grub/menu.lst, …, /boot/extlinux.conf`. */
export function searchOrderText(v: XenVersion): string {
  return searchOrderOf(v)
    .map((c) => c.path)
    .join(', ');
}
