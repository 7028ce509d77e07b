/**
 * What is on a block device that creating an SR on it would destroy, or that makes it unusable:
 * mounts, holders (LVM, RAID, dm), active swap, partitions, filesystems, LVM labels.
 * Read with lsblk, /proc/swaps and blkid -p (the superblocks themselves, not the cache).
 */
import type { CommandFn } from '../../engine/runner.js';
import { parseKeyValues } from './platform.js';

export interface DeviceUse {
  /** Is it a block device at all? */
  block: boolean;
  /** `NAME on MOUNTPOINT` for the device and everything on it. */
  mounted: string[];
  /** What sits on top of it (an LVM volume, a RAID, active swap). */
  inUse: string[];
  /** What creating the SR would overwrite (partitions, a partition table, a filesystem...). */
  contents: string[];
}

/** lsblk -nr -o NAME,TYPE,MOUNTPOINT DEV: the first line is the device, the others what is on it. */
export function readLsblk(dev: string, output: string): Omit<DeviceUse, 'block'> {
  const mounted: string[] = [];
  const inUse: string[] = [];
  const contents: string[] = [];
  const unescape = (s: string) => s.replace(/\\x20/g, ' ');
  for (const line of output.split('\n').filter(Boolean).slice(1)) {
    const [name, type, mountpoint] = line.split(' ');
    if (type === 'part') contents.push(`partition ${name}`);
    else if (type) inUse.push(`${type} ${name} on top of it`);
    if (mountpoint) mounted.push(`${name} on ${unescape(mountpoint)}`);
  }
  const own = output.split('\n')[0]?.split(' ')[2];
  if (own) mounted.push(`${dev} on ${unescape(own)}`);
  return { mounted, inUse, contents };
}

/** What blkid -p -o export found: a partition table, an LVM label, swap or a filesystem. */
export function readBlkid(output: string): string[] {
  const found = parseKeyValues(output);
  const contents: string[] = [];
  if (found.PTTYPE) contents.push(`a partition table (${found.PTTYPE})`);
  if (found.TYPE) {
    contents.push(
      found.TYPE === 'LVM2_member'
        ? 'an LVM physical volume'
        : found.TYPE === 'swap'
          ? 'swap space'
          : `a filesystem (${found.TYPE})`,
    );
  }
  return contents;
}

/** Is the device (by its resolved path) an active swap area in /proc/swaps? */
export function isActiveSwap(swaps: string, realPath: string): boolean {
  return swaps.split('\n').some((l) => l.split(/\s+/)[0] === realPath);
}

/** Look at the device on the host. */
export async function probeDevice($: CommandFn, dev: string): Promise<DeviceUse> {
  const isBlock = await $({ nothrow: true })`test -b ${dev}`;
  if (isBlock.exitCode !== 0) return { block: false, mounted: [], inUse: [], contents: [] };
  const tree = await $({ nothrow: true })`lsblk -nr -o NAME,TYPE,MOUNTPOINT ${dev}`;
  const use = readLsblk(dev, tree.stdout);
  const swaps = await $({ nothrow: true })`cat /proc/swaps`;
  const real = (await $`readlink -f -- ${dev}`).stdout.trim();
  if (isActiveSwap(swaps.stdout, real)) use.inUse.push('active swap');
  const probe = await $({ nothrow: true })`blkid -p -o export ${dev}`;
  use.contents.push(...readBlkid(probe.stdout));
  return { block: true, ...use };
}
