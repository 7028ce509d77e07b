/**
 * The built lab (hypervisor, kernel, dom0 initramfs) is kept under a cache directory, keyed by
 * the versions of the packages it was made from and by the recipe: a rebuild happens only when
 * one of them changes.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

/** Bumped whenever the initramfs recipe changes in a way the package versions cannot show. */
export const RECIPE = 10;

/** `~/.cache/xen-runbooks/lab` (XDG_CACHE_HOME respected, XEN_RUNBOOKS_LAB_CACHE overrides). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XEN_RUNBOOKS_LAB_CACHE) return path.resolve(env.XEN_RUNBOOKS_LAB_CACHE);
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'xen-runbooks', 'lab');
}

/** A short key for a set of package versions: the same set gives the same key, in any order. */
export function cacheKey(versions: Record<string, string>, recipe: number = RECIPE): string {
  const lines = Object.entries(versions)
    .map(([p, v]) => `${p}=${v}`)
    .sort();
  const h = createHash('sha256')
    .update(`recipe=${recipe}\n${lines.join('\n')}\n`)
    .digest('hex');
  return h.slice(0, 16);
}

/** Where the build for KEY lives, and the files in it. */
export function buildPaths(root: string, key: string) {
  const dir = path.join(root, key);
  return {
    dir,
    xen: path.join(dir, 'xen'),
    vmlinuz: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'dom0-initrd.cpio'),
    manifest: path.join(dir, 'manifest.json'),
    /** The kernel's module tree as unpacked (for guests: the same vmlinuz). */
    kernelRelease: path.join(dir, 'kernel-release'),
  };
}
