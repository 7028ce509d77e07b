/**
 * One guest under the target: its config read as the target's toolstack reads it (an xm file
 * converted to xl syntax first, with the diff), the rules of that release, then its boot path.
 */
import path from 'node:path';
import { unifiedDiff, type CommandFn } from '../../engine/index.js';
import { XlConfig, XlConfigError } from '../../xen/xlcfg.js';
import { bootKind, checkPygrubImage, fileOnTarget, firstDiskTarget, kernelReasons, type Hosts } from './boot.js';
import { configReasons, parseForTarget, type RulePart } from './release-rules.js';
import type { Target, TargetToolstack } from './target.js';
import { verdictOf, type GuestRecord, type Reason } from './verdict.js';
import { convertToXl, evaluateXm, XmConfigError } from './xm-python.js';
import type { XapiVm } from './guests.js';

const XLU = 'libxlutil libxlu_cfg_y.y (modelled by src/xen/xlcfg.ts XlConfig.parse)';
const XM_LOAD =
  'tools/python/xen/xm/opts.py Opts.load (execfile), RELEASE-4.4.0; read by src/playbooks/xen-upgrade-check/xm-python.ts';

interface Read {
  cfg?: XlConfig;
  reasons: Reason[];
  conversion?: { diff: string };
}

/** The config as the target reads it, and what reading it says. */
export function readConfigFor(file: string, text: string, target: Target): Read {
  const toolstack: TargetToolstack = target.toolstack === 'xm' ? 'xm' : 'xl';
  let xlError: XlConfigError | undefined;
  try {
    return { cfg: parseForTarget(text, target.version, file), reasons: [] };
  } catch (e) {
    if (!(e instanceof XlConfigError)) throw e;
    xlError = e;
  }
  let converted: string;
  try {
    converted = convertToXl(text, evaluateXm(text)).text;
  } catch (e) {
    if (!(e instanceof XmConfigError)) throw e;
    const xlLine = xlError.line;
    return {
      reasons: [
        toolstack === 'xl'
          ? {
              id: 'xl-syntax',
              severity: 'blocks',
              message: `xl stops reading at line ${xlLine}: ${xlError.message}; as Python, ${e.message}`,
              source: XLU,
              wayOut: `rewrite line ${e.line} as plain key = value lines (what xm computed there)`,
              line: xlLine,
            }
          : {
              id: 'xm-unreadable',
              severity: 'unknown',
              message: `${e.message}: xm would run it as Python; this check does not run code`,
              source: XM_LOAD,
              wayOut: `xm create --dryrun ${file} shows what xend makes of it`,
              line: e.line,
            },
      ],
    };
  }
  const cfg = XlConfig.parse(converted, { source: file });
  if (toolstack === 'xm') return { cfg, reasons: [] };
  const diff = unifiedDiff(file, text, converted);
  return {
    cfg,
    conversion: { diff },
    reasons: [
      {
        id: 'xl-syntax',
        severity: 'blocks',
        message: `xl stops reading at line ${xlError.line}: ${xlError.message.replace(/^[^:]*:\d+:\d+: /, '')} (Python that xm ran)`,
        source: `${XLU}; the conversion: ${XM_LOAD}`,
        wayOut: `write the converted file (the diff below) over ${file}`,
        line: xlError.line,
      },
    ],
  };
}

/** A guest being checked: its file, the config as the target reads it, the record so far. */
export interface GuestWork {
  file: string;
  cfg?: XlConfig;
  record: GuestRecord;
}

/** Read one config file for the target (step read-configs). */
export function readGuest(file: string, text: string, target: Target): GuestWork {
  const read = readConfigFor(file, text, target);
  const cfg = read.cfg;
  const named = cfg?.get('name');
  const name =
    typeof named === 'string' ? named : (/^\s*name\s*=\s*['"]([^'"]+)['"]/m.exec(text)?.[1] ?? path.basename(file));
  const record: GuestRecord = {
    name,
    config: file,
    boot: cfg ? bootKind(cfg) : 'unknown',
    verdict: 'cannot-tell',
    reasons: [...read.reasons],
    ...(read.conversion ? { conversion: read.conversion } : {}),
  };
  return { file, ...(cfg ? { cfg } : {}), record };
}

/** The release's rules of one part (config or resources) over a guest read before. */
export function addRuleReasons(g: GuestWork, target: Target, part: RulePart): void {
  if (!g.cfg) return;
  const toolstack: TargetToolstack = target.toolstack === 'xm' ? 'xm' : 'xl';
  g.record.reasons.push(...configReasons({ cfg: g.cfg, version: target.version, toolstack }, part));
}

/** The boot path of a guest read before (step check-boot). */
export async function addBootReasons($: CommandFn, hosts: Hosts, target: Target, g: GuestWork): Promise<void> {
  if (!g.cfg) return;
  g.record.reasons.push(...(await bootReasons($, hosts, target, g.file, g.cfg, g.record.boot)));
}

/** The verdict from every reason found. */
export function settle(g: GuestWork): GuestRecord {
  g.record.verdict = verdictOf(g.record.reasons);
  return g.record;
}

/** Every check over one config file, in the playbook's order. */
export async function checkGuest(
  $: CommandFn,
  hosts: Hosts,
  target: Target,
  file: string,
  text: string,
): Promise<GuestRecord> {
  const g = readGuest(file, text, target);
  addRuleReasons(g, target, 'config');
  addRuleReasons(g, target, 'resources');
  await addBootReasons($, hosts, target, g);
  return settle(g);
}

const str = (cfg: XlConfig, key: string) => {
  const v = cfg.get(key);
  return typeof v === 'string' && v ? v : undefined;
};

async function bootReasons(
  $: CommandFn,
  hosts: Hosts,
  target: Target,
  file: string,
  cfg: XlConfig,
  boot: ReturnType<typeof bootKind>,
): Promise<Reason[]> {
  const out: Reason[] = [];
  const need = async (key: string, what: string) => {
    const p = str(cfg, key);
    if (!p || !p.startsWith('/')) return;
    const r = await fileOnTarget(hosts, target, p, what, key, cfg.line(key));
    if (r) out.push(r);
  };
  if (boot === 'pygrub' || boot === 'bootloader') {
    await need('bootloader', 'boot loader');
    if (boot === 'bootloader') return out;
    const image = firstDiskTarget(cfg);
    if (!image) {
      out.push({
        id: 'no-disk',
        severity: 'blocks',
        message: 'bootloader = pygrub, but no disk pygrub could read',
        source: 'libxl_bootloader.c: pygrub reads the first disk',
        wayOut: "disk = ['format=raw, vdev=xvda, access=rw, target=/path/to/image']",
      });
      return out;
    }
    if (hosts.here.kind === 'ssh') {
      out.push({
        id: 'image-remote',
        severity: 'unknown',
        message: `the image ${image} is on ${hosts.here.label}: images are read on the machine that runs the check`,
        source: 'src/disk/source.ts openSource (local files and devices)',
        wayOut: `run xen-upgrade-check on ${hosts.here.label} itself, or pygrub-fix ${image} --xen-version ${target.version.release} --dry-run there`,
      });
      return out;
    }
    out.push(...(await checkPygrubImage($, await hosts.here.resolve(image), image, target.version, file)));
    return out;
  }
  if (boot === 'kernel' || boot === 'pvh') {
    await need('kernel', 'kernel');
    await need('ramdisk', 'ramdisk');
    const k = str(cfg, 'kernel');
    if (k && !out.some((r) => r.id === 'kernel-missing')) out.push(...(await kernelReasons(hosts, target, k)));
    return out;
  }
  if (boot === 'hvm') {
    await need('firmware_override', 'firmware');
    await need('device_model_override', 'device model');
    if (target.toolstack === 'xm') {
      await need('device_model', 'device model');
      await need('kernel', 'firmware (hvmloader)');
    }
    return out;
  }
  out.push({
    id: 'no-boot',
    severity: 'blocks',
    message: 'a PV guest with neither kernel= nor bootloader=: nothing to boot',
    source: 'xl.cfg(5): a PV guest needs kernel= or bootloader=',
    wayOut: 'bootloader = "pygrub", or kernel= and ramdisk= from dom0',
  });
  return out;
}

/** A xapi VM: what can be said from its record. The disk is a VDI that xapi attaches itself. */
export function checkXapiVm(vm: XapiVm, target: Target): GuestRecord {
  const hvm = vm.hvmPolicy !== '';
  const reasons: Reason[] = [];
  if (hvm) {
    reasons.push({
      id: 'xapi-hvm',
      severity: 'note',
      message: `an HVM VM (HVM-boot-policy ${vm.hvmPolicy}): xapi builds it with the firmware of the new release`,
      source: 'xapi VM record HVM-boot-policy',
    });
  } else if (vm.bootloader === 'pygrub') {
    reasons.push({
      id: 'xapi-pygrub',
      severity: 'unknown',
      message: `a PV VM booted by pygrub: its disk is a VDI that xapi attaches; pygrub ${target.version.release} must read its boot config`,
      source: 'xapi VM record PV-bootloader',
      wayOut: `export it (xe vm-export) or attach its VDI in dom0, then: pygrub-fix DEVICE --xen-version ${target.version.release} --dry-run`,
    });
  } else if (vm.kernel) {
    reasons.push({
      id: 'xapi-kernel',
      severity: 'unknown',
      message: `a PV VM with PV-kernel ${vm.kernel}: the file must be in the new host's dom0`,
      source: 'xapi VM record PV-kernel',
      wayOut: `ls ${vm.kernel} on the new host`,
    });
  }
  return {
    name: vm.name,
    config: `xe:${vm.uuid}`,
    boot: 'xapi',
    verdict: verdictOf(reasons),
    reasons,
  };
}
