/**
 * What runs on the host: an XCP-ng/XenServer host (xapi there already), or an Ubuntu 12.04 / Debian 7
 * host that gets the XCP packages; read from os-release, lsb-release, xensource-inventory and xapi.
 */
import type { CommandFn } from '../../engine/runner.js';
import type { Transport } from '../../engine/transport.js';
import { fail, refuse } from '../../engine/errors.js';
import { xeRecords } from '../../xen/xe.js';
import { PPA } from './apt.js';
import { probe, type XapiProbe } from './xapi.js';

/** What runs on the host; the legacy ones get the XCP packages. */
export interface Platform {
  kind: 'xcp-ng' | 'legacy';
  name: string;
  version: string;
  distro?: 'ubuntu' | 'debian';
  codename?: string;
  brand?: string;
}

/** Neither: what the host calls itself, and whether it is an Ubuntu or Debian of another release. */
export interface Unsupported {
  kind: 'unsupported';
  pretty: string;
  debianFamily: boolean;
}

/** KEY=value lines (os-release, lsb-release, xensource-inventory); quotes around a value removed. */
export function parseKeyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const raw = (m[2] ?? '').trim();
    out[m[1] as string] = raw.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** The host's release files, parsed. */
export interface ReleaseFiles {
  os: Record<string, string>;
  lsb: Record<string, string>;
  inventory: Record<string, string>;
}

export async function readReleaseFiles(host: Transport): Promise<ReleaseFiles> {
  return {
    os: parseKeyValues(await host.readText('/etc/os-release')),
    lsb: parseKeyValues(await host.readText('/etc/lsb-release')),
    inventory: parseKeyValues(await host.readText('/etc/xensource-inventory')),
  };
}

/** xapi's software-version map of the (first) host: product_brand, product_version. */
export async function softwareVersion($: CommandFn): Promise<Record<string, string>> {
  const [host] = await xeRecords($, 'host', {}, ['uuid', 'software-version']);
  return host?.map('software-version') ?? {};
}

/**
 * The platform from the release files and xapi's software-version: XCP-ng, XenServer or Citrix
 * Hypervisor by brand (or os-release ID); Ubuntu 12.04 and Debian 7 are the legacy hosts.
 */
export function identifyPlatform(files: ReleaseFiles, software: Record<string, string>): Platform | Unsupported {
  const { os, lsb, inventory } = files;
  const brand = software.product_brand ?? inventory.PRODUCT_BRAND;
  const id = (os.ID ?? lsb.DISTRIB_ID ?? '').toLowerCase();
  const release = os.VERSION_ID ?? lsb.DISTRIB_RELEASE ?? '';
  if (/^(XCP-ng|XenServer|Citrix Hypervisor)$/.test(brand ?? '') || ['xcp-ng', 'xenenterprise'].includes(id)) {
    return {
      kind: 'xcp-ng',
      name: brand ?? os.NAME ?? 'XCP-ng',
      version: software.product_version ?? inventory.PRODUCT_VERSION ?? release,
      brand: brand ?? '',
    };
  }
  if (id === 'ubuntu' && release === '12.04') {
    return {
      kind: 'legacy',
      name: 'Ubuntu 12.04',
      version: release,
      distro: 'ubuntu',
      codename: lsb.DISTRIB_CODENAME ?? os.VERSION_CODENAME ?? 'precise',
    };
  }
  if (id === 'debian' && /^7(\.|$)/.test(release)) {
    return { kind: 'legacy', name: 'Debian 7', version: release, distro: 'debian', codename: 'wheezy' };
  }
  const pretty = os.PRETTY_NAME ?? lsb.DISTRIB_DESCRIPTION ?? (id ? `${id} ${release}` : 'an unknown system');
  return { kind: 'unsupported', pretty, debianFamily: id === 'ubuntu' || id === 'debian' };
}

/**
 * What runs on the host, and whether xapi answers. Refuses what is neither an XCP-ng/XenServer host
 * nor Ubuntu 12.04 / Debian 7; fails on an XCP-ng host whose xapi does not answer.
 */
export async function detect(host: Transport, $: CommandFn): Promise<{ platform: Platform; xapi: XapiProbe }> {
  const files = await readReleaseFiles(host);
  const xapi = await probe($);
  const p = identifyPlatform(files, xapi.up ? await softwareVersion($) : {});
  if (p.kind === 'unsupported' && p.debianFamily) {
    throw refuse(
      `${p.pretty}: the XCP packages (xcp-xapi) exist only for Ubuntu 12.04 (PPA ${PPA}) and Debian 7`,
      'install XCP-ng on this machine, then run this playbook against it',
    );
  }
  if (p.kind === 'unsupported') {
    throw refuse(
      `${p.pretty}: neither an XCP-ng/XenServer host (no xapi answers) nor Ubuntu 12.04 / Debian 7`,
      'run this playbook on an XCP-ng host or on a fresh Ubuntu 12.04 host',
    );
  }
  if (p.kind === 'xcp-ng' && !xapi.up) {
    throw fail(
      `${p.name} ${p.version}: xapi does not answer (${xapi.error?.message ?? 'xe failed'})`,
      'restart the toolstack on the host: xe-toolstack-restart',
    );
  }
  return { platform: p, xapi };
}
