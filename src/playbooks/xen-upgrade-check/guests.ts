/**
 * The guests of a host: xl and xm domain config files under /etc/xen (and --config-dir), and the
 * VMs xapi knows (`xe vm-list`) on XCP-ng and XenServer.
 */
import path from 'node:path';
import type { Transport } from '../../engine/index.js';
import { parseRecords } from '../../xen/xe.js';

/**
 * Files in /etc/xen that are not domain configs: xl's and xend's own, scripts, backups, and the
 * examples Xen installs there (tools/examples/xlexample.*, xmexample*).
 */
const NOT_GUESTS =
  /^(xlexample\..*|xmexample.*|xl\.conf|xend-config.*|xm-config.*|xend-pci-.*|cpupool|README.*|.*\.(orig|bak|sxp|xml|sh|dpkg-\w+|rpmnew|rpmsave|sample|example|disabled)|.*~)$/;
/** A domain config sets at least one of these at the start of a line. */
const DOMAIN_KEY = /^[ \t]*(name|kernel|bootloader|builder|type|disk|memory)[ \t]*\+?=/m;

export function looksLikeDomainConfig(file: string, text: string): boolean {
  return !NOT_GUESTS.test(path.basename(file)) && DOMAIN_KEY.test(text) && !text.includes('\0');
}

export interface ConfigFile {
  path: string;
  text: string;
}

/** Domain config files directly in each folder (not in scripts/ or auto/: auto/ holds links to them). */
export async function listConfigFiles(host: Transport, dirs: readonly string[]): Promise<ConfigFile[]> {
  const out: ConfigFile[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const names = (await host.readdir(dir)) ?? [];
    for (const name of names.sort()) {
      const p = path.posix.join(dir, name);
      if (seen.has(p)) continue;
      seen.add(p);
      const st = await host.stat(p);
      if (!st || st.type !== 'file' || st.size > 1024 * 1024) continue;
      const text = await host.readText(p);
      if (text !== undefined && looksLikeDomainConfig(p, text)) out.push({ path: p, text });
    }
  }
  return out;
}

/** A VM as xapi describes it. */
export interface XapiVm {
  uuid: string;
  name: string;
  bootloader: string;
  hvmPolicy: string;
  kernel: string;
}

export const XE_VM_PARAMS = 'uuid,name-label,PV-bootloader,HVM-boot-policy,PV-kernel';

/** `xe vm-list is-control-domain=false is-a-snapshot=false is-a-template=false params=...` read into VMs. */
export function parseXeVms(output: string): XapiVm[] {
  return parseRecords(output).map((r) => ({
    uuid: r.get('uuid') ?? '',
    name: r.get('name-label') ?? '',
    bootloader: r.get('PV-bootloader') ?? '',
    hvmPolicy: r.get('HVM-boot-policy') ?? '',
    kernel: r.get('PV-kernel') ?? '',
  }));
}
