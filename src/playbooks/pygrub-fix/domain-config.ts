/**
 * --domain-config must be the configuration of the domain whose image is repaired: a domain
 * configuration (checked by the engine: a regular file of bounded size that parses and sets name =)
 * whose disks include IMAGE. Any other file (another domain's, /etc/passwd) is refused before a
 * step runs, so the pv-grub or offset edit never lands in it.
 */
import path from 'node:path';
import { CONFIG_MAX_BYTES, readBounded, usage, type Logger, type Transport } from '../../engine/index.js';
import { XlConfig, parseDiskSpec } from '../../xen/xlcfg.js';

/** The targets of the configuration's disk specs (legacy `file:/x,xvda,w` and xl's `target=/x` forms). */
export function configDiskTargets(cfg: XlConfig): string[] {
  const disks = cfg.get('disk');
  const out: string[] = [];
  for (const spec of Array.isArray(disks) ? disks : disks === undefined ? [] : [disks]) {
    try {
      const target = parseDiskSpec(String(spec)).target;
      if (target) out.push(target);
    } catch {
      /* a spec xl cannot read names nothing */
    }
  }
  return out;
}

export interface DomainConfigMatch {
  /** The disk that is the image, as the file names it. */
  disk: string;
  /** Set when only the file name matches (the image reached through another mount, e.g. an NFS share). */
  note?: string;
}

/**
 * Refuse (exit 2) a --domain-config whose disks do not include the image; the file is read bounded.
 * `image` is IMAGE as given, compared as the host resolves both paths. A match by file name alone is
 * warned about.
 */
export async function checkDomainConfig(
  host: Transport,
  file: string,
  image: string,
  log?: Pick<Logger, 'warn'>,
): Promise<DomainConfigMatch> {
  const match = await matchDomainConfig(host, file, image);
  if (match.note) log?.warn(match.note);
  return match;
}

async function matchDomainConfig(host: Transport, file: string, image: string): Promise<DomainConfigMatch> {
  const cfg = XlConfig.parse((await readBounded(host, file, CONFIG_MAX_BYTES)).toString('utf8'), { lenient: true });
  const name = String(cfg.get('name') ?? '?');
  const disks = configDiskTargets(cfg);
  if (!disks.length) {
    throw usage(
      `--domain-config ${file}: domain ${name} has no disk = line: it is not the configuration of the domain booting ${image}`,
    );
  }
  const want = await host.resolve(image);
  for (const d of disks) if ((await host.resolve(d)) === want) return { disk: d };
  const same = disks.find((d) => path.posix.basename(d) === path.posix.basename(image));
  if (same) {
    return {
      disk: same,
      note: `--domain-config ${file} names the disk ${same}, the same file name as ${image} in another directory: taken as the same image (another mount of it)`,
    };
  }
  throw usage(
    `--domain-config ${file}: the disks of domain ${name} (${disks.join(', ')}) do not include ${image}: give the configuration of the domain that boots it`,
  );
}
