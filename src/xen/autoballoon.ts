/**
 * Whether `xl create` takes memory from dom0 when Xen has too little free (autoballoon), and how
 * much it can take: the free-memory check of a playbook must judge as xl does.
 *
 * - RELEASE-4.1.0, 4.2.0 (tools/libxl/xl.c parse_global_config): `int autoballoon = 1`; xl.conf
 *   `autoballoon` is read as a number (xlu_cfg_get_long).
 * - From RELEASE-4.3.0 (xl.c parse_global_config, auto_autoballoon): the default is "auto";
 *   xl.conf may say "on"/"1", "off"/"0" or "auto"; "auto" is on unless Xen's command line (the
 *   `xen_commandline` of `xl info`) has a dom0_mem= option. 4.16 widened the pattern to sizes
 *   with a percentage (commit 2faeb4213d "tools/xl: fix autoballoon regex").
 * - When it is on, xl_vmcontrol.c freemem() lowers dom0's target by what is missing
 *   (libxl_set_memory_target, relative), which libxl refuses below LIBXL_MIN_DOM0_MEM, 128 MiB
 *   (libxl_internal.h; libxl_mem.c libxl_set_memory_target).
 */

import { XlConfig } from './xlcfg.js';
import { atLeast, type XenVersion } from './xlversion.js';

/** LIBXL_MIN_DOM0_MEM (libxl_internal.h), in MiB. */
export const MIN_DOM0_MIB = 128;

export type AutoballoonSetting = 'on' | 'off' | 'auto';

export interface AutoballoonJudgement {
  /** xl will balloon dom0 down for a new domain. */
  on: boolean;
  /** What xl.conf says (or the release's default), and why it comes out on or off. */
  setting: AutoballoonSetting;
  why: string;
}

/** The dom0_mem pattern of auto_autoballoon() (RELEASE-4.17.0; 4.3–4.15 without the percentages). */
export function hasDom0Mem(commandline: string, v?: XenVersion): boolean {
  const size = '-?[0-9]+[bBkKmMgGtT]?';
  const re = atLeast(v, 4, 16)
    ? new RegExp(`(^| )dom0_mem=((|min:|max:)(${size}|(${size}\\+)?[0-9]{1,2}%),?)+($| )`)
    : /(^| )dom0_mem=((|min:|max:)[0-9]+[bBkKmMgG]?,?)+($| )/;
  return re.test(commandline);
}

/** xl.conf's autoballoon, as parse_global_config reads it on this release. */
export function xlConfAutoballoon(text: string | undefined, v?: XenVersion): AutoballoonSetting {
  const old = v !== undefined && !atLeast(v, 4, 3);
  if (text === undefined) return old ? 'on' : 'auto';
  let cfg: XlConfig;
  try {
    cfg = XlConfig.parse(text, { lenient: true, source: 'xl.conf' });
  } catch {
    return old ? 'on' : 'auto';
  }
  const raw = cfg.get('autoballoon');
  if (old) {
    // xlu_cfg_get_long: a number; anything else leaves the default (1).
    const n = cfg.getNumber('autoballoon');
    return n === undefined ? 'on' : n !== 0 ? 'on' : 'off';
  }
  // xlu_cfg_get_string: a bare number is a string too ("1", "0").
  const s = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : undefined;
  if (s === 'on' || s === '1') return 'on';
  if (s === 'off' || s === '0') return 'off';
  return 'auto';
}

export function judgeAutoballoon(
  xlConf: string | undefined,
  commandline: string | undefined,
  v?: XenVersion,
): AutoballoonJudgement {
  const setting = xlConfAutoballoon(xlConf, v);
  if (setting === 'on') return { on: true, setting, why: 'xl.conf says autoballoon on' };
  if (setting === 'off') return { on: false, setting, why: 'xl.conf says autoballoon off' };
  const fixed = hasDom0Mem(commandline ?? '', v);
  return fixed
    ? { on: false, setting, why: 'autoballoon "auto": Xen\'s command line sets dom0_mem=, so xl leaves dom0 alone' }
    : {
        on: true,
        setting,
        why: 'autoballoon "auto": Xen\'s command line has no dom0_mem=, so xl takes the memory from dom0',
      };
}

/**
 * The memory xl can find for a new domain: Xen's free memory, plus, when it balloons, what dom0
 * can give down to 128 MiB.
 */
export function memoryAvailableMiB(
  freeMiB: number,
  dom0MiB: number | undefined,
  on: boolean,
  floorMiB = MIN_DOM0_MIB,
): number {
  if (!on || dom0MiB === undefined || !Number.isFinite(dom0MiB)) return freeMiB;
  return freeMiB + Math.max(0, dom0MiB - floorMiB);
}

/**
 * xend's equivalent (xm): XendOptions.get_enable_dom0_ballooning and get_dom0_min_mem
 * (tools/python/xen/xend/XendOptions.py, RELEASE-4.1.0): `(enable-dom0-ballooning yes|no)` in
 * /etc/xen/xend-config.sxp, defaulting to yes when `(dom0-min-mem N)` is not 0 — the stock file
 * says 196 and yes; without a file, dom0-min-mem is 0 and ballooning off. balloon.py free() then
 * lowers dom0 down to dom0-min-mem MiB ("Not enough free memory and enable-dom0-ballooning is False").
 */
export function judgeXendBallooning(sxp: string | undefined): { on: boolean; minMiB: number; why: string } {
  const lines = (sxp ?? '').split('\n').filter((l) => !/^\s*#/.test(l));
  const value = (key: string) => {
    for (const l of lines) {
      const m = new RegExp(`^\\s*\\(${key}\\s+([^)\\s]+)\\s*\\)`).exec(l);
      if (m) return m[1];
    }
    return undefined;
  };
  const min = Number(value('dom0-min-mem') ?? 0) || 0;
  const raw = value('enable-dom0-ballooning');
  const on = raw === undefined ? min !== 0 : /^(yes|y|true|1|on)$/i.test(raw);
  const why = on
    ? `xend balloons dom0 down to dom0-min-mem ${min} MiB (xend-config.sxp)`
    : 'xend does not balloon dom0 (enable-dom0-ballooning no, or dom0-min-mem 0)';
  return { on, minMiB: min, why };
}
