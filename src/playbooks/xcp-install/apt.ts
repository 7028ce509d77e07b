/** The XCP packages on Ubuntu 12.04 / Debian 7: the PPA, what dpkg has installed, what apt reads. */
import { fail } from '../../engine/errors.js';
import type { CommandFn, Logger } from '../../engine/runner.js';
import type { Transport } from '../../engine/transport.js';
import { warnRunsHere } from './workarounds.js';

type AptContext = { $: CommandFn; host: Transport; log: Logger };

/** The Launchpad PPA that carried xcp-xapi for Ubuntu 12.04. */
export const PPA = 'ubuntu-xen-org/xcp-unstable';
/** What is installed: xapi, its command line, and lspci (xapi's PCI inventory). */
export const PACKAGES = ['pciutils', 'xcp-xapi', 'xcp-xe'] as const;

/** Packages dpkg's status file records as installed. */
export function installedPackages(status: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const para of (status ?? '').split(/\n\s*\n/)) {
    const name = /^Package: (.+)$/m.exec(para)?.[1];
    if (name && /^Status: install ok installed$/m.test(para)) out.add(name.trim());
  }
  return out;
}

/** The installed packages of the host (/var/lib/dpkg/status). */
export async function readInstalled(host: Transport): Promise<Set<string>> {
  return installedPackages(await host.readText('/var/lib/dpkg/status'));
}

/** Those of `wanted` that are not installed. */
export async function missingPackages(host: Transport, wanted: readonly string[] = PACKAGES): Promise<string[]> {
  const have = await readInstalled(host);
  return wanted.filter((p) => !have.has(p));
}

/** An active `deb` line of these sources points at the PPA. */
export function sourcesHavePpa(texts: readonly (string | undefined)[], ppa = PPA): boolean {
  return texts.some((t) => t?.split('\n').some((l) => /^\s*deb\s/.test(l) && l.includes(`ppa.launchpad.net/${ppa}/`)));
}

/** The text of /etc/apt/sources.list and of every sources.list.d/*.list. */
export async function readAptSources(host: Transport): Promise<(string | undefined)[]> {
  const dir = '/etc/apt/sources.list.d';
  const texts = [await host.readText('/etc/apt/sources.list')];
  for (const f of (await host.readdir(dir)) ?? [])
    if (f.endsWith('.list')) texts.push(await host.readText(`${dir}/${f}`));
  return texts;
}

/** What adding the PPA takes: python-software-properties first when missing, and the list file it writes. */
export const ppaChange = (haveTool: boolean, codename: string, ppa = PPA): string =>
  `${haveTool ? '' : 'install python-software-properties, then '}add ppa:${ppa} (${ppaListFile(codename, ppa)})`;

/** The file add-apt-repository writes for the PPA. */
export const ppaListFile = (codename: string, ppa = PPA): string =>
  `/etc/apt/sources.list.d/${ppa.replace('/', '-')}-${codename}.list`;

/** add-apt-repository the PPA, after installing python-software-properties (which brings it) when missing. */
export async function addPpa(ctx: AptContext, haveTool: boolean, ppa = PPA): Promise<void> {
  warnRunsHere(ctx, 'apt-get and add-apt-repository run');
  if (!haveTool) await ctx.$`env DEBIAN_FRONTEND=noninteractive apt-get install -y python-software-properties`;
  await ctx.$`add-apt-repository -y ${`ppa:${ppa}`}`;
}

/** apt-get update, apt-get install -y the packages; fails unless dpkg then lists every one of them installed. */
export async function installPackages(
  ctx: AptContext,
  missing: readonly string[],
  wanted: readonly string[] = PACKAGES,
): Promise<void> {
  warnRunsHere(ctx, 'apt-get runs');
  await ctx.$`apt-get update`;
  await ctx.$`env DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing}`;
  const still = await missingPackages(ctx.host, wanted);
  if (still.length)
    throw fail(`apt-get finished but ${still.join(', ')} ${still.length > 1 ? 'are' : 'is'} not installed`);
}
