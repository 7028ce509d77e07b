/**
 * Xen as the default boot entry of the host: GRUB 2 (grub.cfg's default, GRUB_DEFAULT in
 * /etc/default/grub, or saved_entry in grubenv) or GRUB legacy (grub.conf / menu.lst: a
 * `kernel /xen.gz` entry with `module` lines, added from a dom0-capable kernel's entry when missing).
 */
import path from 'node:path';
import { change, fail, ok, skip, type CheckResult, type FileEdit, type Transport } from '../../engine/index.js';
import {
  appendLegacyEntry,
  bootPath,
  grub2DefaultEntry,
  grub2Reference,
  grubDefaultValue,
  grubenvSavedEntry,
  isLegacyXenEntry,
  legacyDefaultIndex,
  legacyXenEntry,
  parseGrub2Menu,
  parseGrubLegacy,
  setGrubDefault,
  setLegacyDefault,
  type Grub2Entry,
  type LegacyEntry,
} from '../../xen/hvmconfig.js';
import { dom0Capable } from './host.js';

/** What the boot-entry step changes: a file edit (and the command that regenerates grub.cfg), or grubenv's saved_entry. */
export type BootChange =
  | { kind: 'edit'; edit: FileEdit; regenerate?: string[]; grubCfg?: string }
  | { kind: 'saved'; grubenv: string; ref: string };

/** What checking the boot entry needs from the run. */
export interface BootRun {
  readonly host: Transport;
  planEdit(file: string, transform: (current: string | undefined) => string | Promise<string>): Promise<FileEdit>;
}

/** The host's GRUB configuration: GRUB 2's grub.cfg first, else GRUB legacy's grub.conf or menu.lst. */
export async function grubConfigOf(host: Transport): Promise<{ kind: 'grub2' | 'legacy'; file: string } | undefined> {
  for (const file of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg']) {
    if ((await host.stat(file)) !== undefined) return { kind: 'grub2', file };
  }
  for (const file of ['/boot/grub/grub.conf', '/boot/grub/menu.lst']) {
    if ((await host.stat(file)) !== undefined) return { kind: 'legacy', file };
  }
  return undefined;
}

const label = (e: Grub2Entry) => [...e.path, e.title].join(' > ');

/** GRUB 2: the entry grub.cfg boots by default must load Xen (multiboot). */
export async function grub2Check(run: BootRun, grubCfg: string): Promise<CheckResult<BootChange>> {
  const cfg = (await run.host.readText(grubCfg)) ?? '';
  const entries = parseGrub2Menu(cfg);
  const xenEntries = entries.filter((e) => e.xen);
  const regenerate = grubCfg.startsWith('/boot/grub2/') ? ['grub2-mkconfig', '-o', grubCfg] : ['update-grub'];
  const target = xenEntries[0];
  if (!target) {
    throw fail(
      `${grubCfg} has no entry that loads Xen (multiboot ... xen.gz)`,
      `install the hypervisor package (Debian: xen-hypervisor-*; /etc/grub.d/20_linux_xen makes entries for the /boot/xen-*.gz it installs), then ${regenerate.join(' ')}`,
    );
  }
  // What grub.cfg boots now: its `set default=` (from GRUB_DEFAULT when it was generated).
  const sets = [...cfg.matchAll(/^\s*set default="?([^"\n]*)"?\s*$/gm)]
    .map((m) => m[1] ?? '')
    .filter((v) => !v.includes('next_entry'));
  const cfgDefault = sets[0] === '${saved_entry}' ? 'saved' : sets[0];
  const grubenv = path.posix.join(path.posix.dirname(grubCfg), 'grubenv');
  const env = (await run.host.readText(grubenv)) ?? '';
  const defaults = await run.host.readText('/etc/default/grub');
  const value = defaults === undefined ? cfgDefault : (grubDefaultValue(defaults) ?? cfgDefault);
  const saved = grubenvSavedEntry(env);
  const now = grub2DefaultEntry(entries, cfgDefault ?? value, saved);
  if (now?.xen) return ok(`${grubCfg}: the default entry "${label(now)}" loads ${now.hypervisor}`);
  const ref = grub2Reference(target);
  const was = now ? `"${label(now)}"` : 'no entry';
  if ((cfgDefault ?? value) === 'saved') {
    return change(`set saved_entry=${ref} in ${grubenv} (grub-editenv): boot "${label(target)}" (now ${was})`, {
      data: { kind: 'saved', grubenv, ref },
    });
  }
  if (defaults === undefined) {
    throw fail(
      `${grubCfg} boots ${was} by default, and there is no /etc/default/grub to change that`,
      `set the default in your boot loader: "${label(target)}"`,
    );
  }
  const edit = await run.planEdit('/etc/default/grub', (cur) => setGrubDefault(cur ?? '', ref));
  return change(`GRUB_DEFAULT=${ref}: boot "${label(target)}" by default (now ${was}), then ${regenerate.join(' ')}`, {
    diff: edit.diff,
    data: { kind: 'edit', edit, regenerate, grubCfg },
  });
}

/** GRUB legacy: a `kernel /xen.gz` entry with `module` lines, made the default. */
export async function legacyCheck(run: BootRun, file: string): Promise<CheckResult<BootChange>> {
  const text = (await run.host.readText(file)) ?? '';
  const menu = parseGrubLegacy(text);
  const def = legacyDefaultIndex(menu);
  if (def === undefined) {
    return skip(
      `${file} boots the entry saved by savedefault (default saved): choose the Xen entry with grub-set-default N`,
    );
  }
  const xenAt = menu.entries.findIndex(isLegacyXenEntry);
  const current = menu.entries[def];
  const x = menu.entries[xenAt];
  if (x) {
    if (xenAt === def)
      return ok(
        `${file}: the default entry ${def}, "${x.title}", boots ${bootPath(x.kernel)} with ${bootPath(x.modules[0])}`,
      );
    const edit = await run.planEdit(file, (cur) => setLegacyDefault(cur ?? '', xenAt));
    return change(`${file}: make entry ${xenAt} "${x.title}" the default (now ${def}: "${current?.title ?? '?'}")`, {
      diff: edit.diff,
      data: { kind: 'edit', edit },
    });
  }
  // No Xen entry yet: the hypervisor image and a kernel built to run as dom0.
  const boot = (await run.host.readdir('/boot')) ?? [];
  const xen = boot.includes('xen.gz')
    ? 'xen.gz'
    : boot
        .filter((f) => /^xen-[\d.]+.*\.gz$/.test(f))
        .sort()
        .pop();
  if (!xen) {
    throw fail(
      `${file} has no entry that boots Xen, and /boot holds no hypervisor (xen.gz)`,
      'install Xen first (CentOS 5/6: the xen package of a Xen repository; Debian: xen-hypervisor-*), then run again',
    );
  }
  const canBeDom0 = async (e: LegacyEntry) => {
    const version = /vmlinuz-(.+)$/.exec(bootPath(e.kernel))?.[1];
    return version ? (await dom0Capable(run.host, version)) === true : false;
  };
  const order = current ? [current, ...menu.entries.filter((e) => e !== current)] : menu.entries;
  let source: LegacyEntry | undefined;
  for (const e of order) if (!source && (await canBeDom0(e))) source = e;
  if (!source?.kernel) {
    throw fail(
      `${file} has no Xen entry, and none of its kernels can run as dom0 (no CONFIG_XEN_DOM0=y in /boot/config-*)`,
      'install or build a dom0 kernel (e.g. rebuild the kernel source RPM with rpmbuild -bb kernel.spec and CONFIG_XEN_DOM0=y), then run again',
    );
  }
  const kernelPath = bootPath(source.kernel);
  const prefix = kernelPath.startsWith('/boot/') ? '/boot/' : '/';
  const indent = /^([ \t]+)\S/m.exec(text.slice(source.start, source.end))?.[1] ?? '\t';
  const entry = legacyXenEntry({
    title: `Xen hypervisor, ${source.title}`,
    root: source.root,
    xen: `${prefix}${xen}`,
    kernel: source.kernel,
    initrd: source.initrd,
    indent,
  });
  const index = menu.entries.length;
  const edit = await run.planEdit(file, (cur) => setLegacyDefault(appendLegacyEntry(cur ?? '', entry), index));
  return change(`${file}: add a Xen entry (${prefix}${xen} + ${kernelPath}) and make it the default`, {
    diff: edit.diff,
    data: { kind: 'edit', edit },
  });
}
