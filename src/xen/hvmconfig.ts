/**
 * A Windows HVM guest on Xen: the configuration it needs, and what the host must offer.
 *
 * Used by `playbooks/windows-hvm.mjs`. Three parts:
 * - the guest's configuration for xl (and for xend's xm), written new with a comment on every
 *   line, or merged into an existing file without disturbing what the administrator added;
 * - the memory Xen asks for when it builds an HVM guest (to compare with `xl info` free_memory);
 * - the hypervisor's boot entry: GRUB legacy (grub.conf / menu.lst, `kernel /xen.gz` +
 *   `module` lines) and GRUB 2 (grub.cfg `multiboot`/`multiboot2` entries, GRUB_DEFAULT).
 */

import { atLeast, type XenVersion } from './xlversion.js';
import { XlConfig, formatDiskSpec, formatValue, formatVifSpec, parseVifSpec, type XlValue } from './xlcfg.js';
export { grubDefaultValue, setGrubDefault } from '../grub/defaults.js';

/* ------------------------------------------------------------------ the guest */

export type Toolstack = 'xl' | 'xm';

export interface HvmGuest {
  name: string;
  /** MiB. */
  memory: number;
  /** MiB; equal to memory unless the guest has PV drivers (a balloon driver). */
  maxmem: number;
  vcpus: number;
  /** Disk image or block device. */
  disk: string;
  diskIsBlockDevice: boolean;
  /** The installation ISO; undefined leaves the CD drive empty. */
  iso: string | undefined;
  bridge: string;
  mac: string;
  vncListen: string;
  /** undefined: the first free display (vncunused). */
  vncDisplay: number | undefined;
  vncPassword: string | undefined;
  /** Boot order: `dc` (CD first) while installing, `c` afterwards. */
  boot: 'dc' | 'c';
  /** xm only: where xend's device model and firmware live. */
  deviceModel?: string;
  hvmloader?: string;
}

export interface Setting {
  key: string;
  value: XlValue;
  /** Comment lines written above the setting in a new file. */
  comment?: string[];
}

/** Emulated NIC models Windows has drivers for out of the box (Windows 7 and later: e1000). */
export const WINDOWS_NIC_MODEL = 'e1000';
/** MiB of video memory for stdvga: enough for 1280x1024 and more at 32 bits. */
export const VIDEORAM_MB = 16;

export const DISK_VDEV = 'hda';
export const CDROM_VDEV = 'hdc';

/** The disk specs of the guest, in xl's key=value form (target= last). */
export function xlDisks(g: HvmGuest): string[] {
  return [
    formatDiskSpec({ format: 'raw', vdev: DISK_VDEV, access: 'rw', target: g.disk }),
    formatDiskSpec({ format: 'raw', vdev: CDROM_VDEV, access: 'ro', devtype: 'cdrom', target: g.iso ?? '' }),
  ];
}

/** The same disks in xend's syntax: `file:` for an image, `phy:` for a block device (no CD without an ISO). */
export function xmDisks(g: HvmGuest): string[] {
  const disk = `${g.diskIsBlockDevice ? 'phy' : 'file'}:${g.disk},${DISK_VDEV},w`;
  return g.iso ? [disk, `file:${g.iso},${CDROM_VDEV}:cdrom,r`] : [disk];
}

export function vifSpec(g: HvmGuest, toolstack: Toolstack): string {
  return toolstack === 'xm'
    ? formatVifSpec({ type: 'ioemu', bridge: g.bridge, model: WINDOWS_NIC_MODEL, mac: g.mac })
    : formatVifSpec({ bridge: g.bridge, model: WINDOWS_NIC_MODEL, mac: g.mac });
}

/** The settings of the guest, in the order of a new file, with the comment of each. */
export function hvmSettings(g: HvmGuest, toolstack: Toolstack): Setting[] {
  const s: Setting[] = [];
  const add = (key: string, value: XlValue, comment?: string[]) =>
    s.push({ key, value, ...(comment ? { comment } : {}) });
  if (toolstack === 'xl') {
    add('type', 'hvm', ['A fully virtualized guest: Windows runs unmodified on VT-x or AMD-V.']);
  } else {
    add('builder', 'hvm', ['xend\'s name for a fully virtualized guest (xl calls it type = "hvm").']);
    add('kernel', g.hvmloader ?? '/usr/lib/xen/boot/hvmloader', [
      'The HVM firmware xend loads (xl finds it by itself).',
    ]);
    add('device_model', g.deviceModel ?? '/usr/lib/xen/bin/qemu-dm', ['The emulator of the PC hardware (qemu-dm).']);
  }
  add('name', g.name, ['The domain name, as xl list shows it.']);
  const pod = g.memory !== g.maxmem;
  add('memory', g.memory, [
    'Memory in MiB. Without PV drivers memory must equal maxmem: a guest started with less than',
    'its maximum is populated on demand, and Windows touches every page while it boots, so it',
    'crashes and starts again, over and over.',
    ...(pod ? ['This guest has PV drivers (a balloon driver): it may start below maxmem.'] : []),
  ]);
  add('maxmem', g.maxmem);
  add('vcpus', g.vcpus);
  // libxl_x86.c hvm_set_viridian_features (RELEASE-4.17.0): "defaults" is base, freq,
  // time_ref_count, apic_assist, crash_ctl, no_vp_limit and cpu_hotplug; the TLB flush hypercall
  // (hcall_remote_tlb_flush) and the reference TSC page are not in it.
  add(
    'viridian',
    toolstack === 'xl' ? ['defaults'] : 1,
    toolstack === 'xl'
      ? [
          'Hyper-V interfaces for Windows. "defaults": base, freq, time_ref_count, apic_assist,',
          'crash_ctl, no_vp_limit, cpu_hotplug (not the TLB flush hypercall).',
        ]
      : ['Hyper-V interfaces for Windows (xend turns on the base viridian set).'],
  );
  if (toolstack === 'xl') {
    add('vga', 'stdvga', ['A standard VGA card with enough video memory for resolutions above 800x600.']);
  } else {
    add('stdvga', 1, ['A standard VGA card instead of the Cirrus Logic one (xl: vga = "stdvga").']);
  }
  add('videoram', VIDEORAM_MB);
  const display =
    g.vncDisplay === undefined
      ? ['The console over VNC: the first free display, port 5900 + display.']
      : [`The console over VNC: display ${g.vncDisplay}, port ${5900 + g.vncDisplay}.`];
  add('vnc', 1, [
    ...display,
    'The password is the first 8 characters of the file given with --vnc-password-file;',
    'this file is readable by root only.',
  ]);
  add('vnclisten', g.vncListen);
  if (g.vncDisplay === undefined) add('vncunused', 1);
  else {
    add('vncdisplay', g.vncDisplay);
    add('vncunused', 0);
  }
  if (g.vncPassword !== undefined) add('vncpasswd', g.vncPassword);
  add('usb', 1, ['An absolute pointing device (USB tablet): the mouse follows the VNC cursor.']);
  add('usbdevice', toolstack === 'xl' ? ['tablet'] : 'tablet');
  add('boot', g.boot, [
    g.boot === 'dc'
      ? 'Boot from the CD (d) to install, then from the disk (c).'
      : 'Windows is installed: boot from the disk.',
  ]);
  add(
    'disk',
    toolstack === 'xl' ? xlDisks(g) : xmDisks(g),
    toolstack === 'xl'
      ? ['The system disk and the CD drive with the installation ISO (target= always last).']
      : ['The system disk (file: an image, phy: a device) and the CD drive with the installation ISO.'],
  );
  add(
    'vif',
    [vifSpec(g, toolstack)],
    [
      'An Intel e1000 NIC, which Windows drives without extra drivers, with a fixed MAC address',
      '(a new one at every start would make Windows find a new network card each time).',
    ],
  );
  if (toolstack === 'xl') {
    add('device_model_version', 'qemu-xen', ['The device model: upstream QEMU.']);
  }
  add('on_poweroff', 'destroy', ['When the guest powers off, reboots (the installer does, several times) or crashes.']);
  add('on_reboot', 'restart');
  add('on_crash', 'restart');
  return s;
}

/** Keys a previous version of the file may hold that the chosen toolstack reads differently. */
export function conflictingKeys(toolstack: Toolstack): string[] {
  return toolstack === 'xl'
    ? ['builder', 'kernel', 'device_model', 'stdvga', 'vncviewer']
    : ['type', 'vga', 'device_model_version'];
}

/** Hide VNC passwords in a diff or any text shown to people. */
export function maskPasswords(text: string): string {
  return text.replace(/^([-+ ]?\s*vncpasswd\s*=\s*)(["'])((?:\\.|(?!\2).)*)\2/gm, '$1$2********$2');
}

/** A new configuration file: a header and every setting with its comment. */
export function renderConfig(g: HvmGuest, toolstack: Toolstack): string {
  const lines = [
    `# Windows HVM guest "${g.name}" for ${toolstack === 'xl' ? 'xl' : "xend's xm"}, written by windows-hvm (xen-runbooks).`,
    '# Running windows-hvm again updates these values in place; lines you add are kept.',
    `# Start it with: ${toolstack} create <this file>`,
  ];
  for (const st of hvmSettings(g, toolstack)) {
    if (st.comment) lines.push('', ...st.comment.map((c) => `# ${c}`));
    lines.push(`${st.key} = ${formatValue(st.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface MergeResult {
  text: string;
  /** Keys whose value changed, were added or were removed. */
  changed: string[];
}

/**
 * Bring an existing file to the guest's settings: each key replaced where it stands, missing
 * keys appended, keys the toolstack would misread removed. Other lines stay as they are.
 */
export function mergeConfig(existing: XlConfig, g: HvmGuest, toolstack: Toolstack): MergeResult {
  const changed: string[] = [];
  for (const key of conflictingKeys(toolstack)) {
    if (existing.delete(key)) changed.push(key);
  }
  const settings = hvmSettings(g, toolstack);
  const wanted = new Set(settings.map((s) => s.key));
  // vncunused = 1 and a fixed vncdisplay exclude each other. A password not given is left as the
  // file has it (the playbook never removes one).
  if (!wanted.has('vncdisplay') && existing.delete('vncdisplay')) changed.push('vncdisplay');
  for (const st of settings) {
    if (existing.set(st.key, st.value)) changed.push(st.key);
  }
  return { text: existing.toString(), changed };
}

/** The MAC address of the guest's first vif in an existing file, to keep it. */
export function existingMac(cfg: XlConfig): string | undefined {
  const vif = cfg.get('vif');
  const first = Array.isArray(vif) ? vif[0] : undefined;
  if (typeof first !== 'string') return undefined;
  try {
    const mac = parseVifSpec(first).mac;
    return mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) ? mac.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** A locally administered address in Xen's OUI (00:16:3e), from three random bytes. */
export function xenMac(random: Uint8Array): string {
  const b = [...random.slice(0, 3)];
  b[0] = (b[0] ?? 0) & 0x7f;
  return `00:16:3e:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** The guest of the runbook page's example (the password shown masked, as the playbook shows it). */
export function exampleGuest(installed = false): HvmGuest {
  return {
    name: 'win7',
    memory: 4096,
    maxmem: 4096,
    vcpus: 2,
    disk: '/srv/xen/win7.img',
    diskIsBlockDevice: false,
    iso: installed ? undefined : '/srv/iso/win7.iso',
    bridge: 'xenbr0',
    mac: '00:16:3e:5a:01:02',
    vncListen: '127.0.0.1',
    vncDisplay: 1,
    vncPassword: '********',
    boot: installed ? 'c' : 'dc',
  };
}

/* ------------------------------------------------------------------ memory */

/** What libxl's count of a guest's memory depends on, besides the guest: the release and whether HAP is used. */
export interface PagingHost {
  xen?: XenVersion | undefined;
  /** The guest runs with hardware-assisted paging: `xl info` virt_caps has hap and the config does not say hap=0. */
  hap?: boolean;
}

/**
 * MiB Xen needs free to build an HVM guest, as libxl counts it (libxl_domain_need_memory; from
 * 4.14 libxl__domain_need_memory_calculate, libxl_mem.c): the memory, the paging (shadow/HAP)
 * pool, LIBXL_HVM_EXTRA_MEMORY (2 MiB, libxl_internal.h), rounded up to 2 MiB. The pool, per release:
 * - up to 4.16 (RELEASE-4.1.0 … RELEASE-4.16.7, libxl_utils.c libxl_get_required_shadow_memory,
 *   on x86 libxl_x86.c libxl__arch_get_required_paging_memory in the 4.13–4.16 point releases):
 *   4 KiB × (256 per vCPU + 2 per MiB of maxmem), HAP or not;
 * - from RELEASE-4.17.0 (libxl_create.c libxl__get_required_paging_memory, commit 2c99281085
 *   "x86+libxl: correct p2m (shadow) memory pool size calculation"): 4 KiB × (256 per vCPU +
 *   (1 + !hap) per MiB of maxmem): one page per MiB for the P2M, a second only for shadow paging.
 * An unknown release counts as the older one, which asks for more.
 */
export function hvmMemoryNeedMiB(memory: number, maxmem: number, vcpus: number, host: PagingHost = {}): number {
  const perMiB = atLeast(host.xen, 4, 17) && host.hap ? 1 : 2;
  let kb = memory * 1024 + 4 * (256 * vcpus + perMiB * maxmem) + 2048;
  if (kb % 2048) kb += 2048 - (kb % 2048);
  return Math.ceil(kb / 1024);
}

/** `xl info` / `xm info` output as a map. */
export function parseXlInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\s*:\s?(.*)$/.exec(line);
    if (m) out[m[1] as string] = (m[2] ?? '').trim();
  }
  return out;
}

/** Does the hypervisor offer HVM? virt_caps (xl) or xen_caps (xm, older xl) say so. */
export function xenHasHvm(info: Record<string, string>): boolean {
  // virt_caps (xl 4.1+) is the hypervisor's own answer; older tools only list the guest ABIs.
  if (info.virt_caps !== undefined) return /\bhvm\b/.test(info.virt_caps);
  return /\bhvm-\d/.test(info.xen_caps ?? '');
}

/* ------------------------------------------------------------------ CPU */

export interface CpuVirt {
  /** `vmx` (Intel VT-x) or `svm` (AMD-V) when a CPU shows it. */
  flag: 'vmx' | 'svm' | undefined;
  cpus: number;
  model: string | undefined;
  /** The `hypervisor` flag: this kernel runs under a hypervisor (Xen dom0 or a guest). */
  underHypervisor: boolean;
}

export function cpuVirt(cpuinfo: string): CpuVirt {
  const flags = [...cpuinfo.matchAll(/^flags\s*:\s*(.*)$/gm)].map((m) => new Set((m[1] ?? '').split(/\s+/)));
  const all = (f: string) => flags.length > 0 && flags.some((s) => s.has(f));
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim();
  return {
    flag: all('vmx') ? 'vmx' : all('svm') ? 'svm' : undefined,
    cpus: (cpuinfo.match(/^processor\s*:/gm) ?? []).length,
    model,
    underHypervisor: all('hypervisor'),
  };
}

/* ------------------------------------------------------------------ GRUB legacy */

export interface LegacyEntry {
  title: string;
  /** Offsets of the entry's text: from its title line to the line before the next title. */
  start: number;
  end: number;
  root: string | undefined;
  kernel: string | undefined;
  modules: string[];
  initrd: string | undefined;
}

export interface LegacyMenu {
  /** `default=` as written (a number or `saved`); undefined when absent (GRUB uses 0). */
  default: string | undefined;
  entries: LegacyEntry[];
}

export function parseGrubLegacy(text: string): LegacyMenu {
  const entries: LegacyEntry[] = [];
  let def: string | undefined;
  let cur: LegacyEntry | undefined;
  let offset = 0;
  for (const line of text.split('\n')) {
    const start = offset;
    offset += line.length + 1;
    const t = line.trim();
    if (t.startsWith('#') || t === '') continue;
    const m = /^(\S+)\s*[= \t]\s*(.*)$/.exec(t) ?? /^(\S+)$/.exec(t);
    const word = m?.[1] ?? '';
    const arg = (m?.[2] ?? '').trim();
    if (word === 'title') {
      if (cur) entries.push(cur);
      cur = { title: arg, start, end: start, root: undefined, kernel: undefined, modules: [], initrd: undefined };
      continue;
    }
    if (!cur) {
      if (word === 'default') def = arg;
      continue;
    }
    cur.end = Math.min(offset, text.length);
    if (word === 'root') cur.root = arg;
    else if (word === 'kernel') cur.kernel = arg;
    else if (word === 'module') cur.modules.push(arg);
    else if (word === 'initrd') cur.initrd = arg;
  }
  if (cur) entries.push(cur);
  for (const e of entries) if (e.end < e.start) e.end = e.start;
  return { default: def, entries };
}

/** The path of a kernel/module line (its first word). */
export const bootPath = (line: string | undefined) => (line ?? '').trim().split(/\s+/)[0] ?? '';

/** A multiboot entry that loads the hypervisor: `kernel /xen.gz` (or xen-4.0.1.gz) with module lines. */
export function isLegacyXenEntry(e: LegacyEntry): boolean {
  return /(^|\/)xen[-.\w]*\.gz$/.test(bootPath(e.kernel)) && e.modules.length > 0;
}

/** The index GRUB legacy boots: `default=N` (0 when absent); undefined for `default saved`. */
export function legacyDefaultIndex(menu: LegacyMenu): number | undefined {
  if (menu.default === undefined) return 0;
  return /^\d+$/.test(menu.default) ? Number(menu.default) : undefined;
}

/** Set `default=N`, keeping the file's own spelling (`default=0` or `default 0`). */
export function setLegacyDefault(text: string, index: number): string {
  const re = /^([ \t]*default)([ \t]*=[ \t]*|[ \t]+)\S*[ \t]*$/m;
  if (re.test(text)) return text.replace(re, (_m, kw: string, sep: string) => `${kw}${sep}${index}`);
  return `default=${index}\n${text}`;
}

/** The text of a new Xen entry, in the indentation of the file's entries. */
export function legacyXenEntry(opts: {
  title: string;
  root: string | undefined;
  xen: string;
  xenArgs?: string;
  kernel: string;
  initrd: string | undefined;
  indent?: string;
}): string {
  const ind = opts.indent ?? '\t';
  const lines = [`title ${opts.title}`];
  if (opts.root) lines.push(`${ind}root ${opts.root}`);
  lines.push(`${ind}kernel ${opts.xen}${opts.xenArgs ? ` ${opts.xenArgs}` : ''}`);
  lines.push(`${ind}module ${opts.kernel}`);
  if (opts.initrd) lines.push(`${ind}module ${opts.initrd}`);
  return `${lines.join('\n')}\n`;
}

/** Append an entry after the last one. */
export function appendLegacyEntry(text: string, entry: string): string {
  const body = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  return `${body}${entry}`;
}

/* ------------------------------------------------------------------ GRUB 2 */

export interface Grub2Entry {
  title: string;
  id: string | undefined;
  /** Titles of the submenus it sits in, outermost first. */
  path: string[];
  /** Index among its siblings (what GRUB_DEFAULT=N or "1>2" counts). */
  index: number;
  indexPath: number[];
  xen: boolean;
  /** The hypervisor and Linux kernel it loads. */
  hypervisor: string | undefined;
  kernel: string | undefined;
}

function grubWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3] ?? '');
  return words;
}

/** The menu of a generated grub.cfg: menuentry and submenu blocks, nested. */
export function parseGrub2Menu(cfg: string): Grub2Entry[] {
  const out: Grub2Entry[] = [];
  const stack: {
    title: string;
    kind: 'submenu' | 'entry' | 'block';
    count: number;
    entry?: Grub2Entry;
    indexPath: number[];
  }[] = [];
  const top = { count: 0 };
  const siblings = () => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const f = stack[i];
      if (f && f.kind === 'submenu') return f;
    }
    return top;
  };
  const parentPath = () => stack.filter((f) => f.kind === 'submenu').map((f) => f.title);
  const parentIndexPath = () => {
    const subs = stack.filter((f) => f.kind === 'submenu');
    return subs.length ? (subs[subs.length - 1] as { indexPath: number[] }).indexPath : [];
  };
  for (const raw of cfg.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const words = grubWords(line);
    const head = words[0];
    if ((head === 'menuentry' || head === 'submenu') && line.endsWith('{')) {
      const title = words[1] ?? '';
      const idAt = words.findIndex((w) => w === '--id' || w === '$menuentry_id_option');
      const id = idAt >= 0 ? words[idAt + 1] : undefined;
      const sib = siblings();
      const index = sib.count++;
      const indexPath = [...parentIndexPath(), index];
      if (head === 'submenu') {
        stack.push({ title, kind: 'submenu', count: 0, indexPath });
      } else {
        const entry: Grub2Entry = {
          title,
          id,
          path: parentPath(),
          index,
          indexPath,
          xen: false,
          hypervisor: undefined,
          kernel: undefined,
        };
        out.push(entry);
        stack.push({ title, kind: 'entry', count: 0, entry, indexPath });
      }
      continue;
    }
    if (line.endsWith('{')) {
      stack.push({ title: '', kind: 'block', count: 0, indexPath: [] });
      continue;
    }
    if (line === '}' || line.startsWith('}')) {
      stack.pop();
      continue;
    }
    const entry = [...stack].reverse().find((f) => f.kind === 'entry')?.entry;
    if (!entry) continue;
    if ((head === 'multiboot' || head === 'multiboot2' || head === 'xen_hypervisor') && /xen/.test(words[1] ?? '')) {
      entry.xen = true;
      entry.hypervisor = words[1];
    }
    if ((head === 'module' || head === 'module2' || head === 'xen_module' || head === 'linux') && !entry.kernel) {
      const k = words.slice(1).find((w) => /vmlinu[xz]/.test(w));
      if (k) entry.kernel = k;
    }
  }
  return out;
}

/** The entry GRUB 2 boots for a GRUB_DEFAULT value (`saved` reads saved_entry). */
export function grub2DefaultEntry(
  entries: Grub2Entry[],
  value: string | undefined,
  savedEntry?: string,
): Grub2Entry | undefined {
  let v = value ?? '0';
  if (v === 'saved') v = savedEntry ?? '0';
  const parts = v.split('>');
  return entries.find((e) => {
    if (e.path.length !== parts.length - 1) return false;
    const names = [...e.path, e.title];
    return parts.every((p, i) => {
      const idx = e.indexPath[i];
      if (/^\d+$/.test(p)) return idx === Number(p);
      if (i === parts.length - 1 && e.id === p) return true;
      return names[i] === p;
    });
  });
}

/** How GRUB_DEFAULT names an entry: its id when it has one, else its titles joined with `>`. */
export function grub2Reference(e: Grub2Entry): string {
  if (e.id && e.path.length === 0) return e.id;
  return [...e.path, e.title].join('>');
}

/** saved_entry from a grubenv block. */
export function grubenvSavedEntry(env: string): string | undefined {
  return /^saved_entry=(.*)$/m.exec(env)?.[1];
}

/* ------------------------------------------------------------------ disks */

/** Bytes that tell a used disk from a blank one, checked in the first sectors. */
export function diskSignature(head: Buffer): string | undefined {
  if (head.length >= 512 && head.readUInt16LE(510) === 0xaa55) {
    if (head.subarray(3, 11).toString('latin1') === 'NTFS    ') return 'an NTFS filesystem';
    if (
      /^FAT(12|16|32)?/.test(head.subarray(0x36, 0x3e).toString('latin1')) ||
      head.subarray(0x52, 0x5a).toString('latin1') === 'FAT32   '
    ) {
      return 'a FAT filesystem';
    }
    const entries = [0, 1, 2, 3].map((i) => ({ status: head[446 + 16 * i] ?? 0, type: head[446 + 16 * i + 4] ?? 0 }));
    if (entries.some((e) => e.type === 0xee)) return 'a GPT partition table';
    if (entries.every((e) => e.status === 0 || e.status === 0x80)) return 'an MBR partition table';
    return 'a boot sector';
  }
  if (head.length >= 520 && head.subarray(512, 520).toString('latin1') === 'EFI PART') return 'a GPT partition table';
  if (head.length >= 1082 && head.readUInt16LE(1080) === 0xef53) return 'an ext2/3/4 filesystem';
  if (head.length >= 4 && head.subarray(0, 4).toString('latin1') === 'XFSB') return 'an XFS filesystem';
  if (head.length >= 544 && head.subarray(536, 544).toString('latin1') === 'LVM2 001') return 'an LVM physical volume';
  if (head.length >= 6 && head.subarray(0, 6).toString('latin1') === 'LUKS\xba\xbe') return 'a LUKS volume';
  if (head.length >= 11 && head.subarray(3, 11).toString('latin1') === 'NTFS    ') return 'an NTFS filesystem';
  if (head.some((b) => b !== 0)) return 'data (the first MiB is not blank)';
  return undefined;
}
