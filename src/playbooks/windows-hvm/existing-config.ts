/** An existing NAME.cfg (or another guest's), read as xl reads it: what it names, and what xl cannot read. */
import { refuse } from '../../engine/index.js';
import { XlConfig, parseDiskSpec } from '../../xen/xlcfg.js';
import type { Toolstack } from '../../xen/hvmconfig.js';

/**
 * The file parsed leniently. Lines xl cannot read (xend's files could hold Python) refuse the
 * run with xl; with xm they are left as they are.
 */
export function readExistingConfig(text: string, file: string, ts: Toolstack): XlConfig {
  const cfg = XlConfig.parse(text, { lenient: true, source: file });
  if (cfg.issues.length && ts === 'xl') {
    throw refuse(
      `${file} has lines xl cannot read: ${cfg.issues.map((i) => `line ${i.line} (${i.text.trim()}): ${i.message}`).join('; ')}`,
      'xend configuration files could hold Python; xl reads only key = value lines. Rewrite or remove those lines, then run again',
    );
  }
  return cfg;
}

/** The disks a configuration names (targets of its disk specs), without its CD drives. Unreadable specs are skipped. */
export function diskTargets(cfg: XlConfig, withCdrom = false): string[] {
  const disks = cfg.get('disk');
  const out: string[] = [];
  for (const spec of Array.isArray(disks) ? disks : []) {
    try {
      const p = parseDiskSpec(String(spec));
      if ((withCdrom || p.devtype !== 'cdrom') && p.target) out.push(p.target);
    } catch {
      /* an unreadable spec is replaced anyway */
    }
  }
  return out;
}

/** Whether a configuration text names `disk` as one of its disks (any device type); unreadable files name nothing. */
export function namesDisk(text: string, disk: string): boolean {
  let cfg: XlConfig;
  try {
    cfg = XlConfig.parse(text, { lenient: true });
  } catch {
    return false;
  }
  return diskTargets(cfg, true).includes(disk);
}
