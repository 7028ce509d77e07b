/**
 * The target the guests must start on: a Xen release and the toolstack that will start them,
 * given (--to-xen, --to-toolstack) or read from the new host (--to-host) with its own tools.
 */
import type { Transport } from '../../engine/index.js';
import { parseXenVersion, versionBelow, type XenVersion } from '../../grub/index.js';

export type TargetToolstack = 'xl' | 'xm' | 'xapi';

export interface Target {
  version: XenVersion;
  toolstack: TargetToolstack;
  /** Where the target was learned: 'given', or the host and the command read there. */
  from: string;
  /** The new host, when its files (bootloader, kernels, firmware) can be looked at. */
  host?: Transport;
}

/** xend and xm are gone from RELEASE-4.5.0 on (tools/python/xen/xm/ is not in the tree at that tag). */
export const XEND_REMOVED = '4.5.0';
/** Xen 4.2 made xl the default toolstack (and deprecated xend): the default when none is given. */
export const XL_DEFAULT_FROM = '4.2.0';

export class TargetError extends Error {}

/** The toolstack a release starts guests with when none is named. */
export function defaultToolstack(v: XenVersion): TargetToolstack {
  return versionBelow(v, XL_DEFAULT_FROM) ? 'xm' : 'xl';
}

/** The target from the options; the messages name the option, the value and the rule. */
export function targetFrom(toXen: string, toolstack: TargetToolstack | undefined, from = 'given'): Target {
  let version: XenVersion;
  try {
    version = parseXenVersion(toXen);
  } catch (e) {
    throw new TargetError(`--to-xen ${toXen}: ${(e as Error).message}`);
  }
  const ts = toolstack ?? defaultToolstack(version);
  if (ts === 'xm' && !versionBelow(version, XEND_REMOVED))
    throw new TargetError(
      `--to-toolstack xm with --to-xen ${toXen}: xend and xm were removed in Xen ${XEND_REMOVED}; use --to-toolstack xl`,
    );
  return { version, toolstack: ts, from };
}

/** xen_major.xen_minor + xen_extra of `xl info` / `xm info` (e.g. 4.17.5-pre → 4.17.5). */
export function releaseFromInfo(text: string): string | undefined {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)\s*:\s*(.*)$/.exec(line.trim());
    if (m) kv.set(m[1] as string, (m[2] as string).trim());
  }
  const major = kv.get('xen_major');
  const minor = kv.get('xen_minor');
  if (!major || !minor) return undefined;
  const extra = /^\.(\d+)/.exec(kv.get('xen_extra') ?? '');
  return `${major}.${minor}${extra ? `.${extra[1]}` : ''}`;
}

/** The Xen of a XCP-ng / XenServer host: `xen: 4.17.5-...` in `xe host-list params=software-version`. */
export function releaseFromSoftwareVersion(text: string): string | undefined {
  const m = /(?:^|[;:\s])xen:\s*(\d+\.\d+(?:\.\d+)?)/.exec(text);
  return m?.[1];
}

/** What the new host runs: its Xen release and the toolstack that answered. */
export async function readTargetHost(host: Transport): Promise<{ release: string; toolstack: TargetToolstack }> {
  const tried: string[] = [];
  for (const [tool, argv] of [
    ['xapi', ['xe', 'host-list', 'params=software-version', '--minimal']],
    ['xl', ['xl', 'info']],
    ['xm', ['xm', 'info']],
  ] as const) {
    const r = await host.exec(argv, { nothrow: true }).catch((e: unknown) => ({
      exitCode: 127,
      stdout: '',
      stderr: (e as Error).message,
    }));
    const release =
      r.exitCode === 0
        ? tool === 'xapi'
          ? releaseFromSoftwareVersion(r.stdout)
          : releaseFromInfo(r.stdout)
        : undefined;
    if (release) return { release, toolstack: tool };
    tried.push(`${argv.join(' ')} (exit ${r.exitCode})`);
  }
  throw new TargetError(`--to-host ${host.label}: no toolstack answered with a Xen release: ${tried.join(', ')}`);
}
