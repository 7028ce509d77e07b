/**
 * Where pygrub looks for a boot loader config, in its order (Xen 4.17's Grub.read_config):
 * the first file that exists wins, even when a later one would have worked.
 */
import type { GuestFs, GuestStat } from '../disk/guestfs.js';
import type { ConfigKind } from './pygrub-model.js';

export const PYGRUB_SEARCH_ORDER: readonly { path: string; kind: ConfigKind }[] = [
  { path: '/boot/grub/grub.cfg', kind: 'grub2' },
  { path: '/grub/grub.cfg', kind: 'grub2' },
  { path: '/boot/grub2/grub.cfg', kind: 'grub2' },
  { path: '/grub2/grub.cfg', kind: 'grub2' },
  { path: '/boot/isolinux/isolinux.cfg', kind: 'extlinux' },
  { path: '/boot/extlinux/extlinux.conf', kind: 'extlinux' },
  { path: '/boot/extlinux.conf', kind: 'extlinux' },
  { path: '/extlinux/extlinux.conf', kind: 'extlinux' },
  { path: '/extlinux.conf', kind: 'extlinux' },
  { path: '/boot/grub/menu.lst', kind: 'grub-legacy' },
  { path: '/boot/grub/grub.conf', kind: 'grub-legacy' },
  { path: '/grub/menu.lst', kind: 'grub-legacy' },
  { path: '/grub/grub.conf', kind: 'grub-legacy' },
];

/** pygrub reads at most this much of the config (FS_READ_MAX); a larger one is not a config. */
export const CONFIG_READ_LIMIT = 1024 * 1024;

export interface FoundConfig {
  path: string;
  kind: ConfigKind;
  stat: GuestStat;
  /** Other configs present further down the search order (hidden by this one). */
  hidden: { path: string; kind: ConfigKind }[];
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly code: 'symlink' | 'not-file' | 'too-large' | 'binary' | 'empty',
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * The config pygrub would read from this filesystem, or undefined. `order` is the release's
 * search order (PygrubGroup.searchOrder: 4.0.x and 4.1.x look for menu.lst first).
 */
export async function findConfig(
  fs: GuestFs,
  order: readonly { path: string; kind: ConfigKind }[] = PYGRUB_SEARCH_ORDER,
): Promise<FoundConfig | undefined> {
  let found: FoundConfig | undefined;
  const paths = order.map((c) => c.path);
  const stats = fs.statMany ? await fs.statMany(paths) : await Promise.all(paths.map((p) => fs.stat(p)));
  for (const [i, c] of order.entries()) {
    const st = stats[i];
    if (!st) continue;
    if (!found) found = { ...c, stat: st, hidden: [] };
    else found.hidden.push(c);
  }
  return found;
}

/** Read the config's text, refusing what no boot loader would have written. */
export async function readConfig(fs: GuestFs, found: FoundConfig): Promise<string> {
  const { path, stat } = found;
  if (stat.type === 'symlink') {
    throw new ConfigError(
      `${path} is a symbolic link: this playbook edits only a regular file (look at where it points, and fix that file by hand)`,
      'symlink',
    );
  }
  if (stat.type !== 'file') throw new ConfigError(`${path} is a ${stat.type}, not a regular file`, 'not-file');
  if (stat.size > CONFIG_READ_LIMIT) {
    throw new ConfigError(
      `${path} is ${stat.size} bytes: no boot loader writes a config that large, and pygrub reads only its first ${CONFIG_READ_LIMIT}`,
      'too-large',
    );
  }
  const bytes = await fs.readFile(path, CONFIG_READ_LIMIT);
  if (bytes.length === 0) throw new ConfigError(`${path} is empty`, 'empty');
  if (bytes.includes(0)) throw new ConfigError(`${path} holds NUL bytes: it is binary, not a GRUB config`, 'binary');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(`${path} is not valid UTF-8 text: it is binary or damaged, not a GRUB config`, 'binary');
  }
}
