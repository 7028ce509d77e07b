/**
 * Diagnosis: every known cause found in the image, not only the first. The parse is the
 * model of the chosen release's pygrub; the entries whose files are checked come from the
 * current parser (so a config old pygrub chokes on is still checked for missing kernels).
 */
import type { GuestFs } from '../disk/guestfs.js';
import type { FsInfo } from '../disk/fstype.js';
import type { Partition, PartitionTable } from '../disk/partitions.js';
import { CATALOGUE, entry, type Strategy } from './catalogue.js';
import type { FoundConfig } from './config.js';
import { detectKernel, KERNEL_HEAD_BYTES, type Compression } from './kernel.js';
import { modelPygrub, type ModelImage, type ModelResult } from './pygrub-model.js';
import { isGrub2PartitionName } from './rewrite.js';
import { CHANGES, parseXenVersion, versionBelow, versionLabel, type XenVersion } from './version.js';

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
}

/** What the current pygrub (Xen 4.17) makes of the config: the entries, whatever old pygrub thinks. */
export const CURRENT = parseXenVersion('4.17');

const NEW_EXT_FEATURES = [
  'metadata_csum_seed',
  'orphan_file',
  'orphan_present',
  'large_dir',
  'casefold',
  'encrypt',
  'inline_data',
  'verity',
];
const KERNEL_READ_LIMIT = 256 * 1024 * 1024;

const COMPRESSION_SINCE: Partial<Record<Compression, string>> = {
  bzip2: CHANGES.bzip2,
  lzma: CHANGES.lzma,
  xz: CHANGES.xz,
  lzo: CHANGES.lzo,
  lz4: CHANGES.lz4,
  zstd: CHANGES.zstd,
};

function find(
  id: string,
  severity: Finding['severity'] | undefined,
  message: string,
  extra: Partial<Finding> = {},
): Finding {
  const e = entry(id);
  return { id, severity: severity ?? e.severity, message, strategies: e.strategies, ...extra };
}

export async function diagnose(input: DiagnoseInput): Promise<Diagnosis> {
  const { version: v, table, boot } = input;
  const findings: Finding[] = [];
  const who = `pygrub of ${versionLabel(v)}`;

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
          'none of the partitions pygrub tries holds a boot loader config ("couldn\'t find bootloader config file in the image provided")',
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
  if (boot.partition?.kind === 'logical') {
    findings.push(
      find(
        'boot-on-logical',
        undefined,
        `the config is on logical partition ${boot.partition.number}; pygrub tries only the primary partitions`,
      ),
    );
  }
  const newFeatures = boot.fs.features.filter((f) => NEW_EXT_FEATURES.includes(f));
  if (newFeatures.length) {
    findings.push(
      find(
        'ext-features',
        undefined,
        `the ${boot.fs.kind} filesystem of ${partName(boot)} has ${newFeatures.join(', ')}: an older dom0 libext2fs cannot open it`,
      ),
    );
  }
  if (boot.config.kind === 'grub2' && boot.config.hidden.some((h) => h.kind === 'grub-legacy')) {
    const h = boot.config.hidden.filter((x) => x.kind === 'grub-legacy').map((x) => x.path);
    findings.push(
      find(
        'hidden-config',
        undefined,
        `pygrub reads ${boot.config.path}; ${h.join(' and ')} ${h.length === 1 ? 'is' : 'are'} never read`,
      ),
    );
  }
  if (boot.config.kind === 'grub2' && versionBelow(v, '4.0.0')) {
    findings.push(
      find(
        'grub-cfg-only-legacy-xen',
        undefined,
        `${where} is a GRUB 2 config; the ${who} reads only menu.lst and grub.conf`,
      ),
    );
  }
  if (boot.config.kind === 'extlinux') {
    return { findings, entries: [], defaultEntry: 0 };
  }

  const lines = boot.text.split('\n');
  const model = modelPygrub(boot.text, boot.config.kind, v);
  for (const err of model.allErrors) {
    const text = (lines[err.line - 1] ?? '').trim();
    const at = { line: err.line, text };
    if (err.cause === 'partition' && isGrub2PartitionName(err.value)) {
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
      findings.push(
        find('grub2-default-variable', undefined, `line ${err.line}: ${text}: the ${who} raises ${err.exception}`, at),
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
          const head = (await input.fs.readFile(p, KERNEL_READ_LIMIT)).subarray(0, KERNEL_HEAD_BYTES);
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
  return { findings, model, entries, defaultEntry };
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
