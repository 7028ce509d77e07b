/** The guest's disk on the host: in use by the host itself, named by another guest, or already holding data. */
import path from 'node:path';
import type { Transport } from '../../engine/index.js';
import { diskSignature } from '../../xen/hvmconfig.js';
import { namesDisk } from './existing-config.js';
import type { HostRun } from './host.js';

const MiB = 1024 ** 2;

/** How the host itself uses a block device (mounted on a directory, or swap), from /proc/mounts and /proc/swaps. */
export async function hostUseOf(host: Transport, disk: string, real: string): Promise<string | undefined> {
  const mounts = (await host.readText('/proc/mounts')) ?? '';
  const swaps = (await host.readText('/proc/swaps')) ?? '';
  const used = [...mounts.split('\n'), ...swaps.split('\n')]
    .map((l) => l.split(/\s+/))
    .find((f) => f[0] === disk || f[0] === real);
  if (!used) return undefined;
  return used[1] && used[1] !== 'partition' ? `mounted on ${used[1]}` : 'swap';
}

/** The configuration file of another guest in `dir` that names `disk`, if any (NAME.cfg itself is not another guest). */
export async function otherGuestWith(
  host: Transport,
  dir: string,
  name: string,
  disk: string,
): Promise<string | undefined> {
  for (const f of (await host.readdir(dir)) ?? []) {
    if (!f.endsWith('.cfg') || f === `${name}.cfg`) continue;
    const text = await host.readText(path.posix.join(dir, f));
    if (text !== undefined && namesDisk(text, disk)) return path.posix.join(dir, f);
  }
  return undefined;
}

/** What the disk's first MiB holds (a partition table, a filesystem), undefined when blank. */
export async function contentOf(run: HostRun, real: string): Promise<string | undefined> {
  const head = (await run.$`head -c ${MiB} ${await run.host.resolve(real)}`).bytes;
  return diskSignature(head);
}
