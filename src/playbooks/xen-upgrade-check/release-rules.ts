/**
 * How the target's toolstack reads a domain config, release by release: the one place of this
 * playbook where xl's behaviour depends on the release. `parseForTarget` reads a config as the
 * target's libxlutil does (`XlConfig.parse` with the release, checked cell by cell against every
 * release's own libxlutil: test/fixtures/oracle/libxlu/);
 * `RULES` are what xl's parse_config_data and libxl do with the values, each read from the tag
 * it names. The runbook's table of changes between releases is generated from `RULES`.
 */
import { XlConfig, parseDiskSpec, parseVifRate, parseVifSpec } from '../../xen/xlcfg.js';
import type { XenRelease } from '../../xen/diskspec.js';
import { versionBelow, type XenVersion } from '../../grub/index.js';
import type { Reason } from './verdict.js';
import type { TargetToolstack } from './target.js';

/** The config as the target's xl parses it (throws XlConfigError where that xl stops reading). */
export function parseForTarget(text: string, version: XenVersion, source: string): XlConfig {
  return XlConfig.parse(text, { source, xen: releaseOf(version) });
}

/** The release xlcfg's readers take, from the target's version (4.17 → 4.17, 4.1.6.1 → 4.1.6). */
export function releaseOf(version: XenVersion): XenRelease {
  const [major = 4, minor = 0, patch] = version.numbers;
  return { major, minor, ...(patch !== undefined ? { patch } : {}) };
}

export interface RuleInput {
  cfg: XlConfig;
  version: XenVersion;
  toolstack: TargetToolstack;
}

/** config: how the file is read and the domain built; resources: memory, vCPUs, scheduler. */
export type RulePart = 'config' | 'resources';

export interface Rule {
  id: string;
  part: RulePart;
  /** For the page: what breaks, in a few words. */
  title: string;
  /** For the page: the releases and toolstacks it concerns. */
  applies: string;
  source: string;
  check(input: RuleInput): Omit<Reason, 'id' | 'source'>[];
}

const from = (v: XenVersion, release: string) => !versionBelow(v, release);
const str = (cfg: XlConfig, key: string) => {
  const v = cfg.get(key);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
};
/** strncmp(buf, word, strlen(buf)) == 0: how xl matches builder= and type= (a prefix, even ""). */
const prefixOf = (buf: string, word: string) => word.startsWith(buf);
const xl = (i: RuleInput) => i.toolstack === 'xl';
const isHvm = (cfg: XlConfig) => str(cfg, 'builder') === 'hvm' || str(cfg, 'type') === 'hvm';

export const RULES: readonly Rule[] = [
  {
    id: 'builder-invalid',
    part: 'config',
    title: 'builder= other than "hvm" or "generic" (xend\'s "linux")',
    applies: 'xl from 4.10.0',
    source: 'tools/xl/xl_parse.c parse_config_data, RELEASE-4.10.0 (and 4.17.0): "Invalid domain type %s." and exit(1)',
    check: (i) => {
      const b = str(i.cfg, 'builder');
      if (!xl(i) || b === undefined || !from(i.version, '4.10.0')) return [];
      if (prefixOf(b, 'hvm') || prefixOf(b, 'generic')) return [];
      return [
        {
          severity: 'blocks',
          message: `builder = "${b}": xl ${i.version.release} refuses it (Invalid domain type ${b}.)`,
          wayOut: `replace the builder line with type = "pv"`,
          line: i.cfg.line('builder'),
        },
      ];
    },
  },
  {
    id: 'builder-type-contradict',
    part: 'config',
    title: 'builder= and type= naming different domain types',
    applies: 'xl from 4.10.0',
    source:
      'tools/xl/xl_parse.c parse_config_data, RELEASE-4.10.0: "Contradicting \\"builder\\" and \\"type\\" options specified."',
    check: (i) => {
      const b = str(i.cfg, 'builder');
      const t = str(i.cfg, 'type');
      if (!xl(i) || b === undefined || t === undefined || !from(i.version, '4.10.0')) return [];
      const bt = prefixOf(b, 'hvm') ? 'hvm' : prefixOf(b, 'generic') ? 'pv' : undefined;
      const tt = prefixOf(t, 'hvm') ? 'hvm' : prefixOf(t, 'pv') ? 'pv' : prefixOf(t, 'pvh') ? 'pvh' : undefined;
      if (!bt || !tt || bt === tt) return [];
      return [
        {
          severity: 'blocks',
          message: `builder = "${b}" and type = "${t}" contradict: xl refuses the file`,
          wayOut: 'remove the builder line (type= is what xl reads)',
          line: i.cfg.line('builder'),
        },
      ];
    },
  },
  {
    id: 'type-invalid',
    part: 'config',
    title: 'type= other than "pv", "pvh" or "hvm"',
    applies: 'xl from 4.10.0',
    source: 'tools/xl/xl_parse.c parse_config_data, RELEASE-4.10.0: "Invalid domain type %s."',
    check: (i) => {
      const t = str(i.cfg, 'type');
      if (!xl(i) || t === undefined || !from(i.version, '4.10.0')) return [];
      if (prefixOf(t, 'hvm') || prefixOf(t, 'pv') || prefixOf(t, 'pvh')) return [];
      return [
        {
          severity: 'blocks',
          message: `type = "${t}": xl refuses it (Invalid domain type ${t}.)`,
          wayOut: 'type = "pv", "pvh" or "hvm"',
          line: i.cfg.line('type'),
        },
      ];
    },
  },
  {
    id: 'type-unread',
    part: 'config',
    title: 'type = "hvm" or "pvh" without builder=: the guest is built as PV',
    applies: 'xl before 4.10.0; xm (xend reads builder=, default "linux")',
    source:
      "tools/libxl/xl_cmdimpl.c parse_config_data (RELEASE-4.0.1 to 4.8.0) and tools/xl/xl_parse.c (RELEASE-4.9.0) read builder= only; tools/python/xen/xm/create.py gopts.var('builder', default='linux') and configure_image, RELEASE-4.4.0",
    check: (i) => {
      const t = str(i.cfg, 'type');
      if (t === undefined || t === 'pv' || str(i.cfg, 'builder') !== undefined) return [];
      if (xl(i) && from(i.version, '4.10.0')) return [];
      if (i.toolstack === 'xapi') return [];
      const who = i.toolstack === 'xm' ? 'xend' : `xl ${i.version.release}`;
      return [
        {
          severity: 'blocks',
          message: `type = "${t}": ${who} does not read type= and builds the domain as PV, which needs a kernel or a bootloader`,
          wayOut:
            t === 'hvm' ? 'add builder = "hvm"' : 'a PVH guest needs Xen 4.10 or later: keep it on a newer release',
          line: i.cfg.line('type'),
        },
      ];
    },
  },
  {
    id: 'bootloader-xl-4.0',
    part: 'config',
    title: 'bootloader= (pygrub) under xl',
    applies: 'xl 4.0.x',
    source:
      'tools/libxl/xl_cmdimpl.c parse_config_data, RELEASE-4.0.1: reads no bootloader= (libxl_bootloader.c appears in RELEASE-4.1.0)',
    check: (i) => {
      if (!xl(i) || !i.cfg.has('bootloader') || from(i.version, '4.1.0')) return [];
      return [
        {
          severity: 'blocks',
          message: `bootloader=: the xl of ${i.version.release} has no bootloader support; the domain is built without a kernel`,
          wayOut: 'start it with xm (--to-toolstack xm), or boot a kernel= from dom0',
          line: i.cfg.line('bootloader'),
        },
      ];
    },
  },
  {
    id: 'bootloader-relative',
    part: 'config',
    title: 'bootloader= as a bare name',
    applies: 'xm (only "pygrub" is looked up); xl 4.1.x (looked up on PATH)',
    source:
      'tools/python/xen/xm/create.py (vals.bootloader == "pygrub": auxbin.pathTo) and xend/XendBootloader.py bootloader() ("Bootloader isn\'t executable"), RELEASE-4.0.1; tools/libxl/libxl_bootloader.c fork_exec_bootloader (execvp), RELEASE-4.1.0; libxl__abs_path(…, libxl__libexec_path()) from RELEASE-4.2.0',
    check: (i) => {
      const b = str(i.cfg, 'bootloader');
      if (!b || b.startsWith('/') || i.toolstack === 'xapi') return [];
      const line = i.cfg.line('bootloader');
      if (i.toolstack === 'xm' && b !== 'pygrub')
        return [
          {
            severity: 'blocks',
            message: `bootloader = "${b}": xend looks up only "pygrub" by name; another name must be a path (Bootloader isn't executable)`,
            wayOut: `bootloader = "/full/path/to/${b}"`,
            line,
          },
        ];
      if (xl(i) && from(i.version, '4.1.0') && versionBelow(i.version, '4.2.0'))
        return [
          {
            severity: 'unknown',
            message: `bootloader = "${b}": the xl of ${i.version.release} runs it from PATH (execvp): it starts only if ${b} is on the PATH xl runs with`,
            wayOut: `bootloader = "/full/path/to/${b}" (command -v ${b} shows it)`,
            line,
          },
        ];
      return [];
    },
  },
  {
    id: 'qemu-traditional-removed',
    part: 'config',
    title: 'device_model_version = "qemu-xen-traditional"',
    applies: 'xl from 4.21.0',
    source:
      'tools/xl/xl_parse.c parse_config_data, RELEASE-4.21.0: only "qemu-xen"; "Unknown device_model_version" and exit(1)',
    check: (i) => {
      if (!xl(i) || str(i.cfg, 'device_model_version') !== 'qemu-xen-traditional' || !from(i.version, '4.21.0'))
        return [];
      return [
        {
          severity: 'blocks',
          message: `device_model_version = "qemu-xen-traditional": xl ${i.version.release} knows only qemu-xen`,
          wayOut: 'device_model_version = "qemu-xen" (and remove bios = "rombios")',
          line: i.cfg.line('device_model_version'),
        },
      ];
    },
  },
  {
    id: 'rombios-qemu-xen',
    part: 'config',
    title: 'bios = "rombios" with the qemu-xen device model',
    applies: 'xl from 4.7.0',
    source:
      'tools/libxl/libxl_create.c libxl__domain_build_info_setdefault, RELEASE-4.7.0 (tools/libs/light/ at 4.17.0): "qemu-xen does not support bios=rombios."; qemu-xen the default from RELEASE-4.3.0',
    check: (i) => {
      if (!xl(i) || str(i.cfg, 'bios') !== 'rombios' || !from(i.version, '4.7.0')) return [];
      if (str(i.cfg, 'device_model_version') === 'qemu-xen-traditional' && versionBelow(i.version, '4.21.0')) return [];
      return [
        {
          severity: 'blocks',
          message: 'bios = "rombios": libxl refuses it with qemu-xen (qemu-xen does not support bios=rombios.)',
          wayOut: 'remove the bios line (SeaBIOS is the default)',
          line: i.cfg.line('bios'),
        },
      ];
    },
  },
  {
    id: 'hvm-vcpus',
    part: 'resources',
    title: 'more than 128 vCPUs for an HVM guest',
    applies: 'every release',
    source: 'xen/include/public/hvm/hvm_info_table.h HVM_MAX_VCPUS 128, RELEASE-4.0.1 to RELEASE-4.17.0',
    check: (i) => {
      const n = Math.max(i.cfg.getNumber('vcpus') ?? 0, i.cfg.getNumber('maxvcpus') ?? 0);
      if (!isHvm(i.cfg) || n <= 128) return [];
      return [
        {
          severity: 'blocks',
          message: `${n} vCPUs: an HVM guest has at most 128`,
          wayOut: 'vcpus = 128',
          line: i.cfg.line('vcpus'),
        },
      ];
    },
  },
  {
    id: 'xl-4.0-unread',
    part: 'resources',
    title: 'maxmem=, maxvcpus= not read',
    applies: 'xl 4.0.x',
    source: 'tools/libxl/xl_cmdimpl.c parse_config_data, RELEASE-4.0.1 (read from RELEASE-4.1.0)',
    check: (i) => {
      if (!xl(i) || from(i.version, '4.1.0')) return [];
      return ['maxmem', 'maxvcpus']
        .filter((k) => i.cfg.has(k))
        .map((k) => ({
          severity: 'note' as const,
          message: `${k}= is not read by xl ${i.version.release}: the guest gets ${k === 'maxmem' ? 'memory=' : 'vcpus='} as its maximum`,
          line: i.cfg.line(k),
        }));
    },
  },
  {
    id: 'sched-unread',
    part: 'resources',
    title: 'cpu_weight=, cap= not read',
    applies: 'xl before 4.2.0',
    source: 'tools/libxl/xl_cmdimpl.c parse_config_data: read from RELEASE-4.2.0, absent at RELEASE-4.1.0',
    check: (i) => {
      if (!xl(i) || from(i.version, '4.2.0')) return [];
      return ['cpu_weight', 'cap']
        .filter((k) => i.cfg.has(k))
        .map((k) => ({
          severity: 'note' as const,
          message: `${k}= is not read by xl ${i.version.release}: the guest starts with weight 256 and no cap`,
          wayOut: `after the start: xl sched-credit -d ${str(i.cfg, 'name') ?? 'NAME'} ${k === 'cap' ? '-c' : '-w'} ${String(i.cfg.get(k))}`,
          line: i.cfg.line(k),
        }));
    },
  },
  {
    id: 'disk-spec',
    part: 'config',
    title: 'a disk spec xl cannot parse',
    applies: 'xl',
    source: "src/xen/xlcfg.ts parseDiskSpec (libxlutil's libxlu_disk_l.l of the target release, checked against it)",
    check: (i) => {
      if (!xl(i)) return [];
      const disks = i.cfg.get('disk');
      const list = Array.isArray(disks) ? disks : disks === undefined ? [] : [disks];
      const out: Omit<Reason, 'id' | 'source'>[] = [];
      for (const d of list) {
        if (typeof d !== 'string') continue;
        try {
          parseDiskSpec(d, releaseOf(i.version));
        } catch (e) {
          out.push({
            severity: 'blocks',
            message: `disk '${d}': ${(e as Error).message}`,
            wayOut: "write it as 'format=raw, vdev=xvda, access=rw, target=/path' (xl-disk-configuration(5))",
            line: i.cfg.line('disk'),
          });
        }
      }
      return out;
    },
  },
  {
    id: 'vif-rate',
    part: 'config',
    title: 'a vif rate= xl cannot parse',
    applies: 'xl',
    source: 'src/xen/xlcfg.ts parseVifRate (xl_parse.c parse_vif_rate of the target release, checked against it)',
    check: (i) => {
      if (!xl(i)) return [];
      const vifs = i.cfg.get('vif');
      const out: Omit<Reason, 'id' | 'source'>[] = [];
      for (const v of Array.isArray(vifs) ? vifs : []) {
        if (typeof v !== 'string') continue;
        const rate = parseVifSpec(v).rate;
        if (rate === undefined) continue;
        try {
          parseVifRate(rate, releaseOf(i.version));
        } catch (e) {
          out.push({
            severity: 'blocks',
            message: `vif '${v}': rate=${rate}: ${(e as Error).message}`,
            wayOut: 'rate=NUMBER(GB|MB|KB|B|Gb|Mb|Kb|b)/s[@NUMBER(s|ms|us)], e.g. rate=10Mb/s',
            line: i.cfg.line('vif'),
          });
        }
      }
      return out;
    },
  },
];

/** Every reason the rules find in a config for the target. */
export function configReasons(input: RuleInput, part: RulePart): Reason[] {
  const out: Reason[] = [];
  for (const r of RULES) {
    if (r.part !== part) continue;
    for (const x of r.check(input)) out.push({ id: r.id, source: r.source, ...x });
  }
  if (part !== 'config') return out;
  // xend-era keys xl ignores or reads differently: the guest starts, the line is worth a look.
  if (input.toolstack === 'xl') {
    for (const d of input.cfg.deprecations('xl')) {
      if (d.key === 'builder' && out.some((r) => r.id.startsWith('builder'))) continue;
      out.push({
        id: `deprecated-${d.key}`,
        severity: 'note',
        message: d.message,
        source: 'src/xen/xlcfg.ts XlConfig.deprecations (xl_parse.c, RELEASE-4.17.0)',
        ...(d.modern ? { wayOut: d.modern } : {}),
        line: d.line,
      });
    }
  }
  return out;
}
