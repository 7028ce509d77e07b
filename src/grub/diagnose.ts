/**
 * Diagnosis: every known cause found in the image, not only the first. The parse is the
 * model of the chosen release's pygrub; the entries whose files are checked come from the
 * current parser (so a config old pygrub chokes on is still checked for missing kernels).
 */
import type { GuestFs } from '../disk/guestfs.js';
import type { FsInfo } from '../disk/fstype.js';
import type { Partition, PartitionTable, PygrubOffsets } from '../disk/partitions.js';
import { CATALOGUE, entry, strategyFits, type Strategy } from './catalogue.js';
import type { FoundConfig } from './config.js';
import { detectKernel, KERNEL_HEAD_BYTES, type Compression } from './kernel.js';
import { codeOf, modelPygrub, selectEntry, type ModelImage, type ModelResult, type Selection } from './pygrub-model.js';
import { isGrub2PartitionName, leafTitleIndex } from './rewrite.js';
import { CHANGES, parseXenVersion, searchOrderText, versionBelow, versionLabel, type XenVersion } from './version.js';

export interface Finding {
  id: string;
  severity: 'error' | 'warning';
  message: string;
  /** 1-based line of the config, when it concerns one. */
  line?: number;
  /** The config line as written. */
  text?: string;
  /** A guest path it concerns (a kernel, an initrd). */
  path?: string;
  /** Strategies of the playbook that resolve it. */
  strategies: readonly Strategy[];
}

export interface PartitionFs {
  partition: Partition | null;
  offset: number;
  fs: FsInfo;
}

export interface BootLocation extends PartitionFs {
  config: FoundConfig;
  text: string;
}

export interface DiagnoseInput {
  version: XenVersion;
  table: PartitionTable;
  /** What every partition holds (or the whole disk, for an image without a table). */
  filesystems: readonly PartitionFs[];
  /** The partition and config pygrub would read, when there is one. */
  boot?: BootLocation | undefined;
  /** The offsets the release's pygrub tries, in its order (or what it raises). */
  offsets?: PygrubOffsets | undefined;
  /** The boot filesystem, to check kernels and initrds. */
  fs?: GuestFs | undefined;
}

export interface Diagnosis {
  findings: Finding[];
  /** The parse as the chosen pygrub does it. */
  model?: ModelResult;
  /** The entries the current pygrub lists (what the kernels were checked against). */
  entries: ModelImage[];
  /** Index of the entry pygrub boots by default. */
  defaultEntry: number;
  /** What the release's run_grub does with the config (when there is one). */
  selection?: Selection;
}

/** What the current pygrub (Xen 4.17) makes of the config: the entries, whatever old pygrub thinks. */
export const CURRENT = parseXenVersion('4.17');

/**
 * Incompatible ext4 features (a libext2fs that does not know one refuses to open the
 * filesystem, even read-only) and the e2fsprogs release that introduced it: doc/RelNotes of
 * e2fsprogs (v1.42: 64bit, mmp; v1.43.0: "checksum seed, inline data, encryption"; v1.44.0:
 * large_dir, ea_inode; v1.45.0: casefold). Compatible and read-only-compatible features
 * (orphan_file, metadata_csum, ...) do not stop a read-only open (v1.47.0: orphan_file "is a
 * compat feature"), and pygrub opens read-only (libfsimage's ext2fs-lib: ext2fs_open2).
 */
export const EXT_INCOMPAT_SINCE: Readonly<Record<string, string>> = {
  '64bit': '1.42',
  mmp: '1.42',
  metadata_csum_seed: '1.43',
  inline_data: '1.43',
  encrypt: '1.43',
  ea_inode: '1.44',
  large_dir: '1.44',
  casefold: '1.45',
};
const KERNEL_READ_LIMIT = 256 * 1024 * 1024;

const COMPRESSION_SINCE: Partial<Record<Compression, string>> = {
  bzip2: CHANGES.bzip2,
  lzma: CHANGES.lzma,
  xz: CHANGES.xz,
  lzo: CHANGES.lzo,
  lz4: CHANGES.lz4,
  zstd: CHANGES.zstd,
};

export async function diagnose(input: DiagnoseInput): Promise<Diagnosis> {
  const { version: v, table, boot } = input;
  const findings: Finding[] = [];
  const who = `pygrub of ${versionLabel(v)}`;
  const code = codeOf(v);
  /** A finding, with the ways out that exist on this release. */
  const find = (
    id: string,
    severity: Finding['severity'] | undefined,
    message: string,
    extra: Partial<Finding> = {},
  ): Finding => {
    const e = entry(id);
    const strategies = (extra.strategies ?? e.strategies).filter((s) => strategyFits(s, v));
    return { id, severity: severity ?? e.severity, message, ...extra, strategies };
  };

  if (table.label !== 'none' && table.sectorSize !== 512) {
    findings.push(
      find(
        '4k-sectors',
        undefined,
        `the disk's ${table.label === 'gpt' ? 'GPT' : 'MBR'} counts ${table.sectorSize}-byte sectors; pygrub reads it as if they were 512 bytes and finds no filesystem`,
      ),
    );
  }

  if (!boot) {
    const unreadable = input.filesystems.filter(
      (f) => f.fs.kind === 'btrfs' || f.fs.kind === 'luks' || (f.fs.kind === 'xfs' && (f.fs.version ?? 5) >= 5),
    );
    for (const u of unreadable) {
      const what = u.fs.kind === 'xfs' ? `XFS version ${u.fs.version}` : u.fs.kind;
      findings.push(
        find(
          'boot-fs-unreadable',
          undefined,
          `${partName(u)} holds ${what}, which pygrub cannot read; no config was found on a filesystem it can read`,
        ),
      );
    }
    const lvm = input.filesystems.filter(
      (f) =>
        f.fs.kind === 'lvm2' ||
        f.fs.kind === 'md-raid' ||
        f.partition?.type === '8e' ||
        f.partition?.type === 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
    );
    if (lvm.length) {
      findings.push(
        find(
          'root-in-lvm',
          undefined,
          `${lvm.map(partName).join(', ')} ${lvm.length === 1 ? 'is' : 'are'} LVM/RAID and no partition pygrub can read holds a boot config: there is no separate /boot`,
        ),
      );
    }
    if (!unreadable.length && !lvm.length) {
      findings.push(
        find(
          'no-config',
          undefined,
          `none of the partitions pygrub tries holds a boot loader config ("couldn't find bootloader config file in the image provided"); the ${who} looks for ${searchOrderText(v)}, in that order`,
        ),
      );
    }
    return { findings, entries: [], defaultEntry: 0 };
  }

  const where = `${boot.config.path} on ${partName(boot)}`;
  if (boot.fs.kind === 'btrfs' || boot.fs.kind === 'luks' || (boot.fs.kind === 'xfs' && (boot.fs.version ?? 5) >= 5)) {
    const what = boot.fs.kind === 'xfs' ? `XFS version ${boot.fs.version}` : boot.fs.kind;
    findings.push(
      find('boot-fs-unreadable', undefined, `${where}: the filesystem is ${what}, which pygrub cannot read`),
    );
  }
  findings.push(...partitionFindings(input, boot, find));
  const incompat = boot.fs.features.filter((f) => EXT_INCOMPAT_SINCE[f]);
  if (incompat.length) {
    const byVersion = incompat.map((f) => `${f} (e2fsprogs ${EXT_INCOMPAT_SINCE[f]})`).join(', ');
    const newest = incompat.map((f) => EXT_INCOMPAT_SINCE[f] as string).sort()[incompat.length - 1];
    findings.push(
      find(
        'ext-features',
        undefined,
        `the ${boot.fs.kind} filesystem of ${partName(boot)} has the incompatible features ${byVersion}: a dom0 whose e2fsprogs is older than ${newest} cannot open it`,
      ),
    );
  }
  const hiddenOther = boot.config.hidden.filter((x) => x.kind !== boot.config.kind);
  if (hiddenOther.length) {
    const h = hiddenOther.map((x) => x.path);
    findings.push(
      find(
        'hidden-config',
        undefined,
        `the ${who} reads ${boot.config.path} first; ${h.join(' and ')} ${h.length === 1 ? 'is' : 'are'} never read`,
      ),
    );
  }
  const lines = boot.text.split('\n');
  const model = modelPygrub(boot.text, boot.config.kind, v);
  if (boot.config.kind === 'extlinux') {
    const sel = selectEntry(model, v);
    if (model.error)
      findings.push(
        find('pygrub-syntax', undefined, `line ${model.error.line}: the ${who} raises ${model.error.exception}`, {
          line: model.error.line,
          text: (lines[model.error.line - 1] ?? '').trim(),
        }),
      );
    else if (sel.status !== 'ok')
      findings.push(find('no-kernel-entry', undefined, `${where} has no entry with a kernel`));
    return { findings, model, entries: model.images, defaultEntry: sel.index ?? 0, selection: sel };
  }
  for (const err of model.allErrors) {
    const text = (lines[err.line - 1] ?? '').trim();
    const at = { line: err.line, text };
    if (err.cause === 'syntax' && /closing brace without menuentry/.test(err.msg)) {
      const opener = openerOf(lines, err.line);
      const id =
        opener !== undefined && /^\s*submenu\b/.test(lines[opener] ?? '')
          ? 'grub2-submenu'
          : opener !== undefined && code.menuentry === 'double-greedy' && /^\s*menuentry\s+'/.test(lines[opener] ?? '')
            ? 'grub2-menuentry-quotes'
            : 'pygrub-syntax';
      const what =
        id === 'grub2-submenu'
          ? `closes the submenu of line ${(opener as number) + 1}`
          : id === 'grub2-menuentry-quotes'
            ? `closes the menuentry of line ${(opener as number) + 1}, whose title is in single quotes`
            : 'closes no block pygrub knows';
      findings.push(find(id, undefined, `line ${err.line}: ${text} ${what}: the ${who} raises ${err.exception}`, at));
    } else if (boot.config.kind === 'grub-legacy' && err.cause === 'disk' && err.value === '') {
      findings.push(
        find(
          'legacy-empty-root',
          undefined,
          `line ${err.line}: a root line without a device: the ${who} raises ${err.exception}`,
          at,
        ),
      );
    } else if (err.cause === 'partition' && isGrub2PartitionName(err.value)) {
      if (entry('grub2-partition-name').affects(v)) {
        findings.push(
          find('grub2-partition-name', undefined, `line ${err.line}: ${text}: the ${who} raises ${err.exception}`, at),
        );
      }
    } else if (err.cause === 'partition' || err.cause === 'disk' || err.cause === 'path') {
      findings.push(
        find(
          'grub2-device-unparseable',
          undefined,
          `line ${err.line}: ${text}: every pygrub raises ${err.exception}`,
          at,
        ),
      );
    } else if (err.cause === 'default') {
      const variable = /^\$\{?\w+\}?$/.test(err.value.trim());
      findings.push(
        find(
          variable ? 'grub2-default-variable' : 'grub2-default-title',
          undefined,
          `line ${err.line}: ${text}: the ${who} raises ${err.exception}`,
          at,
        ),
      );
    } else {
      findings.push(
        find(
          'pygrub-syntax',
          undefined,
          `line ${err.line}: ${text || '(end of file)'}: the ${who} raises ${err.exception}`,
          at,
        ),
      );
    }
  }

  // The entries as the current parser lists them: what gets checked on the filesystem.
  const current = model.error ? modelPygrub(boot.text, boot.config.kind, CURRENT) : model;
  const entries = current.images;
  const def = typeof current.default === 'number' ? current.default : 0;
  const defaultEntry = def < entries.length ? def : 0;

  const selection = model.error ? undefined : selectEntry(model, v);
  if (boot.config.kind === 'grub2' && !code.linux16) {
    for (const [i, img] of model.images.entries()) {
      const body = lines.slice(img.firstLine - 1, img.lastLine);
      const k = body.findIndex((l) => /^\s*(linux16|initrd16)\b/.test(l));
      if (k === -1) continue;
      const isDefault = selection?.index === i;
      findings.push(
        find(
          'grub2-linux16',
          isDefault ? 'error' : 'warning',
          `entry ${i} '${img.title}'${isDefault ? ' (the default)' : ''}: the ${who} ignores linux16/initrd16, the entry has no kernel${isDefault ? ` and run_grub raises ${selection?.error?.exception ?? 'TypeError'}` : ''}`,
          { line: img.firstLine + k, text: (body[k] ?? '').trim() },
        ),
      );
    }
  }
  if (selection?.status === 'ok' && code.default === 'int-or-0' && model.defaultLines.length) {
    // From 4.13 a text default is int() or 0: a title silently boots entry 0.
    const line = model.defaultLines.at(-1) as number;
    const raw = /=\s*(["']?)(.*?)\1\s*$/.exec(lines[line - 1] ?? '')?.[2] ?? '';
    const meant = /^\d+$/.test(raw) || /^\$/.test(raw) || raw === 'saved' ? -1 : leafTitleIndex(model.images, raw);
    if (meant > 0)
      findings.push(
        find(
          'grub2-default-title',
          'warning',
          `line ${line}: the default '${raw}' is entry ${meant}; the ${who} boots entry 0 '${model.images[0]?.title ?? ''}' instead`,
          { line, text: (lines[line - 1] ?? '').trim() },
        ),
      );
  }

  if (boot.config.kind === 'grub2' && /^\s*blscfg\b/m.test(boot.text) && !entries.length) {
    let count = 0;
    if (input.fs) {
      for (const dir of ['/boot/loader/entries', '/loader/entries']) {
        const names = await input.fs.readdir(dir);
        if (names) count += names.filter((n) => n.endsWith('.conf')).length;
      }
    }
    findings.push(
      find(
        'bls-config',
        undefined,
        `${where} loads its entries with blscfg and has no menuentry${count ? ` (${count} entr${count === 1 ? 'y' : 'ies'} in loader/entries)` : ''}: pygrub finds nothing to boot`,
      ),
    );
  } else if (!entries.some((e) => e.kernel) && !current.error) {
    findings.push(find('no-kernel-entry', undefined, `${where} has no entry with a kernel`));
  }

  const varLines = new Set<number>();
  const checked = new Map<string, boolean>();
  const kernels = await prefetchKernels(input.fs, entries);
  for (const [i, img] of entries.entries()) {
    const isDefault = i === defaultEntry;
    const sev = isDefault ? 'error' : 'warning';
    const label = `entry ${i} '${img.title}'${isDefault ? ' (the default)' : ''}`;
    const body = lines.slice(img.firstLine - 1, img.lastLine);
    const lineOf = (re: RegExp) => {
      const k = body.findIndex((l) => re.test(l));
      return k === -1 ? undefined : img.firstLine + k;
    };
    for (const [what, p] of [
      ['kernel', img.kernel],
      ['initrd', img.initrd],
    ] as const) {
      if (!p) continue;
      const line = lineOf(what === 'kernel' ? /^\s*(linux|linux16|kernel)\b/ : /^\s*(initrd|initrd16)\b/);
      const at = { path: p, ...(line ? { line, text: (lines[line - 1] ?? '').trim() } : {}) };
      if (/\$/.test(p)) {
        findings.push(
          find(
            'grub2-variable-path',
            sev,
            `${label}: the ${what} path ${p} holds a GRUB variable, which pygrub looks up literally`,
            at,
          ),
        );
        continue;
      }
      if (!input.fs) continue;
      let exists = checked.get(p);
      if (exists === undefined) {
        const st = await input.fs.stat(p).catch(() => undefined);
        exists = st?.type === 'file';
        checked.set(p, exists);
        if (exists && what === 'kernel' && st && st.size <= KERNEL_READ_LIMIT) {
          const head =
            kernels.get(p) ??
            (input.fs.readHead
              ? await input.fs.readHead(p, KERNEL_HEAD_BYTES)
              : (await input.fs.readFile(p, KERNEL_READ_LIMIT)).subarray(0, KERNEL_HEAD_BYTES));
          const k = detectKernel(head);
          const since = COMPRESSION_SINCE[k.compression];
          if (since && versionBelow(v, since)) {
            findings.push(
              find(
                'kernel-compression',
                sev,
                `${label}: ${p} is a ${k.format} compressed with ${k.compression}; the domain builder of ${versionLabel(v)} cannot decompress it (${k.compression} support came with about Xen ${since})`,
                at,
              ),
            );
          }
        }
      }
      if (!exists) {
        findings.push(
          find(
            what === 'kernel' ? 'kernel-missing' : 'initrd-missing',
            sev,
            `${label}: the ${what} ${p} is not in ${partName(boot)}`,
            at,
          ),
        );
      }
    }
    if (img.args && /\$\{?[A-Za-z_]/.test(img.args)) {
      const line = lineOf(/^\s*(linux|linux16|kernel)\b/);
      if (line && !varLines.has(line)) varLines.add(line);
    }
  }
  if (varLines.size) {
    const first = [...varLines][0] as number;
    findings.push(
      find(
        'grub2-variable-args',
        'warning',
        `line${varLines.size > 1 ? 's' : ''} ${[...varLines].join(', ')}: kernel arguments hold GRUB variables, passed on literally`,
        {
          line: first,
          text: (lines[first - 1] ?? '').trim(),
        },
      ),
    );
  }
  return { findings, model, entries, defaultEntry, ...(selection ? { selection } : {}) };
}

/** The 0-based line whose `{` the `}` on 1-based line `closing` closes, counting braces backwards. */
function openerOf(lines: readonly string[], closing: number): number | undefined {
  let depth = 0;
  for (let i = closing - 2; i >= 0; i--) {
    const l = (lines[i] ?? '').trim();
    if (l.startsWith('#')) continue;
    if (l.startsWith('}')) depth++;
    else if (l.endsWith('{')) {
      if (depth === 0) return i;
      depth--;
    }
  }
  return undefined;
}

/** What the release's partition code makes of the table, against where the config is. */
function partitionFindings(
  input: DiagnoseInput,
  boot: BootLocation,
  find: (id: string, severity: Finding['severity'] | undefined, message: string, extra?: Partial<Finding>) => Finding,
): Finding[] {
  const v = input.version;
  const who = `pygrub of ${versionLabel(v)}`;
  const out: Finding[] = [];
  const o = input.offsets;
  const p = boot.partition;
  const offsetWay = `bootloader_args = ['--offset=${boot.offset}']`;
  if (p?.kind === 'logical') {
    out.push(
      find(
        'boot-on-logical',
        undefined,
        `the config is on logical partition ${p.number} (offset ${boot.offset}); pygrub tries only the primary slots${v.group.options.includes('offset') ? `: ${offsetWay} makes the ${who} read it` : ''}`,
      ),
    );
    return out;
  }
  if (!o) return out;
  if (o.status === 'exception') {
    const active = input.table.partitions.find((x) => x.bootable && x.kind === 'primary');
    const picked = active ?? input.table.partitions.find((x) => x.number === 1);
    out.push(
      find(
        'partition-raises',
        undefined,
        `the ${who} reads only ${picked ? `partition ${picked.number} (type ${picked.type}${picked.type === '82' ? ', Linux swap' : ''})` : 'the first slot'}, takes it for an old Solaris partition and raises ${o.type}: ${o.msg}`,
        { strategies: p?.kind === 'primary' ? ['activate', 'pvgrub'] : ['pvgrub'] },
      ),
    );
    return out;
  }
  if (input.table.sectorSize !== 512) return out; // the 4k-sectors finding says it
  if (!o.offsets.includes(boot.offset)) {
    const tried = o.offsets.length
      ? `offsets ${[...new Set(o.offsets)].slice(0, 6).join(', ')}`
      : 'no partition at all';
    const why =
      codeOf(v).partitions.fn === 'get_fs_offset'
        ? `it reads one partition, the active one else the first slot: ${tried}`
        : `it tries ${tried}`;
    const strategies: Strategy[] = ['offset', 'pvgrub'];
    if (p?.kind === 'primary' && input.table.label === 'dos') strategies.unshift('activate');
    out.push(
      find('boot-not-tried', undefined, `the config is on ${partName(boot)}, which the ${who} never opens: ${why}`, {
        strategies,
      }),
    );
  }
  return out;
}

export function partName(p: { partition: Partition | null; offset: number }): string {
  return p.partition ? `partition ${p.partition.number} (offset ${p.offset})` : 'the whole disk (no partition table)';
}

/** Ids in the order the catalogue lists them: for stable reports. */
export function sortFindings(findings: Finding[]): Finding[] {
  const order = new Map(CATALOGUE.map((c, i) => [c.id, i]));
  return [...findings].sort(
    (a, b) => (order.get(a.id) ?? 99) - (order.get(b.id) ?? 99) || (a.line ?? 0) - (b.line ?? 0),
  );
}

/**
 * The kernels' headers and every kernel's and initrd's inode, read in two commands instead of two
 * or three per file (each one an ssh round trip over --host): the checks below find them at hand. A filesystem that cannot be
 * read that way is left to those checks, which read one file at a time and say what failed.
 */
async function prefetchKernels(
  fs: GuestFs | undefined,
  entries: readonly { kernel?: string | null | undefined; initrd?: string | null | undefined }[],
): Promise<Map<string, Buffer>> {
  const plain = (p: string | null | undefined): p is string => Boolean(p) && !/\$/.test(p as string);
  const kernels = entries.map((e) => e.kernel).filter(plain);
  const initrds = entries.map((e) => e.initrd).filter(plain);
  if (!fs?.statMany || !fs.readHeads || !kernels.length) return new Map();
  try {
    await fs.statMany([...kernels, ...initrds]);
    return await fs.readHeads(kernels, KERNEL_HEAD_BYTES);
  } catch {
    return new Map();
  }
}
