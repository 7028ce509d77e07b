/**
 * The project's readers of xl's input against Xen's own libxlutil, release by release.
 *
 * test/fixtures/oracle/libxlu/results.json holds what each release group's own, unmodified
 * libxlutil (compiled by scripts/oracle/libxlu/build.mjs) made of every input of corpus/: each
 * config's settings as xlu_cfg_get_string/get_long/get_list see them or the error, each disk spec's
 * libxl_device_disk or the error, each vif rate's credit or the error. Every (input, release) cell
 * is checked here, with the release of every tag of the group.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configDisks, configVifs, parseRate } from '../../src/xen/qos.js';
import {
  DiskSpecError,
  XlConfig,
  XlConfigError,
  modernizeDiskSpec,
  parseVifRate,
  readDiskSpec,
  type LibxlDisk,
  type XenRelease,
  type XlValue,
} from '../../src/xen/xlcfg.js';

const ORACLE = new URL('../fixtures/oracle/libxlu/', import.meta.url);

interface Crash {
  crashed: string | number;
  stderr: string;
}
interface Getter {
  rc: number;
  value?: string | number;
  report: string;
}
interface ListGetter extends Getter {
  entries?: number;
  items?: (string | null)[];
  values?: unknown[];
}
interface DiskResult {
  spec: string;
  rc: number;
  report: string;
  disk?: Record<string, string | number | null>;
}
interface CfgResult {
  rc: number;
  report: string;
  values?: Record<string, { string: Getter; long: Getter; list: ListGetter }>;
  disks?: (DiskResult | null)[];
}
interface RateResult {
  rc: number;
  report: string;
  bytes_per_interval?: number;
  interval_usecs?: number;
}
type Outcomes<T> = { groups: string[]; result: T | Crash }[];
interface Data {
  groups: { id: string; tags: string[]; has: Record<string, boolean> }[];
  configs: Record<string, { file: string; note: string; outcomes: Outcomes<CfgResult> }>;
  disks: { spec: string; note: string; outcomes: Outcomes<DiskResult> }[];
  rates: { rate: string; note: string; outcomes: Outcomes<RateResult> }[];
}

const DATA = JSON.parse(readFileSync(new URL('results.json', ORACLE), 'utf8')) as Data;
const GROUP = new Map(DATA.groups.map((g) => [g.id, g]));

const releaseOf = (tag: string): XenRelease => {
  const [major = 0, minor = 0, patch = 0] = tag.replace('RELEASE-', '').split('.').map(Number);
  return { major, minor, patch };
};
/** The harness prints bytes as Latin-1 code points; the project reads files as UTF-8. */
const utf8 = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');
const isCrash = <T>(r: T | Crash): r is Crash => (r as Crash).crashed !== undefined;
/** Every cell: each group with each of its tags' releases. */
function* cells<T>(outcomes: Outcomes<T>): Generator<{ gid: string; tag: string; rel: XenRelease; real: T | Crash }> {
  for (const o of outcomes) {
    for (const gid of o.groups) {
      for (const tag of GROUP.get(gid)?.tags ?? []) yield { gid, tag, rel: releaseOf(tag), real: o.result };
    }
  }
}

/* ------------------------------------------------------------------ configs */

/** A value as libxlutil holds it: every atom its text. */
const asXl = (v: XlValue): unknown => (Array.isArray(v) ? v.map(asXl) : String(v));
const decode = (v: unknown): unknown => (Array.isArray(v) ? v.map(decode) : typeof v === 'string' ? utf8(v) : v);

/**
 * The line of the first error xl reports, counted as we count. 4.0.1–4.0.4 (g01) print every line
 * number one too small; every release prints one too small for an error at the end of a line
 * (the token is the newline, or a comment with it: xlu__cfg_yyerror steps back over it).
 */
function firstErrorLine(report: string, gid: string): number | undefined {
  const m = /^config:(\d+): config parsing error near (?:(<newline>|`#[^']*'): syntax error)?/m.exec(report);
  if (!m) return undefined;
  return Number(m[1]) + (gid === 'g01' ? 1 : 0) + (m[2] ? 1 : 0);
}

function checkConfig(text: string, real: CfgResult | Crash, rel: XenRelease, gid: string): string[] {
  let cfg: XlConfig | undefined;
  let err: XlConfigError | undefined;
  try {
    cfg = XlConfig.parse(text, { xen: rel });
  } catch (e) {
    if (!(e instanceof XlConfigError)) throw e;
    err = e;
  }
  if (isCrash(real)) return err ? [] : [`accepted; xl aborts on it (${real.crashed})`];
  if (real.rc !== 0) {
    if (!err) return [`accepted; xl refuses it: ${real.report.split('\n')[0]}`];
    const out: string[] = [];
    const line = firstErrorLine(real.report, gid);
    if (line !== undefined && line !== err.line)
      out.push(`error on line ${err.line}, xl says line ${line}: ${real.report.split('\n')[0]} / ${err.message}`);
    const python = real.report.includes('looks like it contains Python code');
    if (gid !== 'g00' && gid !== 'g01' && python !== err.likelyPython)
      out.push(`likelyPython ${err.likelyPython}, xl ${python}`);
    return out;
  }
  if (!cfg) return [`refused (${err?.message}); xl reads it`];
  const out: string[] = [];
  const names = Object.keys(real.values ?? {});
  if (JSON.stringify([...cfg.keys()].sort()) !== JSON.stringify([...names].sort())) {
    out.push(`keys ${JSON.stringify(cfg.keys())}, xl ${JSON.stringify(names)}`);
  }
  for (const name of names) {
    const x = real.values?.[name];
    if (!x) continue;
    const v = cfg.get(name);
    if (v === undefined) continue;
    if (x.string.rc === 0) {
      if (Array.isArray(v) || String(v) !== utf8(String(x.string.value)))
        out.push(`${name}: ${JSON.stringify(v)}, xl ${JSON.stringify(utf8(String(x.string.value)))}`);
    } else if (x.list.rc === 0) {
      const want = decode(x.list.values ?? x.list.items);
      const got = Array.isArray(v)
        ? x.list.values
          ? asXl(v)
          : v.map((i) => (Array.isArray(i) ? null : String(i)))
        : v;
      if (JSON.stringify(got) !== JSON.stringify(want))
        out.push(`${name}: ${JSON.stringify(got)}, xl ${JSON.stringify(want)}`);
    } else out.push(`${name}: xl reads it neither as a string nor as a list`);
    const n = cfg.getNumber(name);
    const want = x.long.rc === 0 ? x.long.value : undefined;
    if (n !== want) out.push(`${name}: getNumber ${n}, xl ${want}`);
  }
  return out;
}

/* ------------------------------------------------------------------ disks */

const ENUM = (prefix: string, v: string) => `LIBXL_DISK_${prefix}_${v.toUpperCase()}`;
const defbool = (b: boolean | undefined) => (b === undefined ? 'default' : b ? 'true' : 'false');

/** Our reading in libxl_device_disk's terms, for the fields the release's struct has. */
function asLibxl(d: LibxlDisk): Record<string, string | number | null> {
  return {
    backend_domid: 0,
    backend_domname: d.backendDomname ?? null,
    pdev_path: d.pdevPath ?? null,
    vdev: d.vdev ?? null,
    backend: ENUM('BACKEND', d.backend),
    format: ENUM('FORMAT', d.format),
    script: d.script ?? null,
    removable: d.removable ? 1 : 0,
    readwrite: d.readwrite ? 1 : 0,
    is_cdrom: d.isCdrom ? 1 : 0,
    direct_io_safe: d.directIoSafe ? 1 : 0,
    discard_enable: defbool(d.discard),
    specification: ENUM('SPECIFICATION', d.specification),
    transport: 'LIBXL_DISK_TRANSPORT_UNKNOWN',
    irq: 0,
    base: 0,
    colo_enable: defbool(d.colo),
    colo_restore_enable: 'default',
    colo_host: d.coloHost ?? null,
    colo_port: d.coloPort,
    colo_export: d.coloExport ?? null,
    active_disk: d.activeDisk ?? null,
    hidden_disk: d.hiddenDisk ?? null,
    trusted: defbool(d.trusted),
    grant_usage: defbool(d.grantUsage),
  };
}

function checkDisk(spec: string, real: DiskResult | Crash, rel: XenRelease): string[] {
  let ours: LibxlDisk | undefined;
  let err: DiskSpecError | undefined;
  try {
    ours = readDiskSpec(spec, rel).disk;
  } catch (e) {
    if (!(e instanceof DiskSpecError)) throw e;
    err = e;
  }
  if (isCrash(real)) return err ? [] : [`accepted; xl crashes (${real.crashed})`];
  if (real.rc !== 0) {
    if (!err) return [`accepted; xl: ${real.report.trim()}`];
    // The first message (a spec may hold a newline: the message runs to the next "\nconfig: ").
    const said = utf8(real.report)
      .replace(/^config: /, '')
      .split(/\nconfig: |\ncannot /)[0]
      ?.replace(/\n$/, '');
    return said === err.message ? [] : [`message ${JSON.stringify(err.message)}, xl ${JSON.stringify(said)}`];
  }
  if (!ours) return [`refused (${err?.message}); xl reads it`];
  const mine = asLibxl(ours);
  const out: string[] = [];
  for (const [k, v] of Object.entries(real.disk ?? {})) {
    const want = typeof v === 'string' ? utf8(v) : v;
    if (mine[k] !== want) out.push(`${k}: ${JSON.stringify(mine[k])}, xl ${JSON.stringify(want)}`);
  }
  // The documented form we write for it means the same to this release.
  const modern = modernizeDiskSpec(spec, rel);
  try {
    const again = asLibxl(readDiskSpec(modern, rel).disk);
    // An empty CD drive is written with an empty target= (xl-disk-configuration(5)): libxl treats
    // no target and an empty one alike for a removable device.
    const emptyCd = (d: Record<string, unknown>) => (d.is_cdrom && d.pdev_path === null ? { ...d, pdev_path: '' } : d);
    if (JSON.stringify(emptyCd(again)) !== JSON.stringify(emptyCd(mine)))
      out.push(`modernized ${JSON.stringify(modern)} reads differently`);
  } catch (e) {
    out.push(`modernized ${JSON.stringify(modern)} is refused: ${(e as Error).message}`);
  }
  return out;
}

/* ------------------------------------------------------------------ the cells */

const tally = { configs: 0, disks: 0, rates: 0 };

describe('xl configuration files, against every release', () => {
  for (const [name, c] of Object.entries(DATA.configs)) {
    it(`${name} (${c.note})`, () => {
      const text = readFileSync(new URL(c.file, ORACLE)).toString('utf8');
      const bad: string[] = [];
      for (const { gid, tag, rel, real } of cells(c.outcomes)) {
        tally.configs++;
        for (const m of checkConfig(text, real, rel, gid)) bad.push(`${tag} (${gid}): ${m}`);
      }
      expect(bad.join('\n')).toBe('');
    });
  }
});

describe('disk specs, against every release that has xlu_disk_parse', () => {
  for (const d of DATA.disks) {
    it(`${JSON.stringify(d.spec)} (${d.note})`, () => {
      const bad: string[] = [];
      for (const { gid, tag, rel, real } of cells(d.outcomes)) {
        tally.disks++;
        for (const m of checkDisk(d.spec, real, rel)) bad.push(`${tag} (${gid}): ${m}`);
      }
      expect(bad.join('\n')).toBe('');
    });
  }

  it('the disks of every config: xen-qos keeps each disk xl keeps, script-prefixed ones included', () => {
    const bad: string[] = [];
    for (const [name, c] of Object.entries(DATA.configs)) {
      const text = readFileSync(new URL(c.file, ORACLE)).toString('utf8');
      for (const { tag, rel, real } of cells(c.outcomes)) {
        if (isCrash(real) || real.rc !== 0 || !real.disks) continue;
        const want = real.disks
          .filter((d): d is DiskResult => d !== null && d.rc === 0)
          .map((d) => utf8(String(d.disk?.vdev)));
        const got = configDisks(XlConfig.parse(text, { xen: rel }), rel).map((d) => d.vdev);
        if (JSON.stringify(got) !== JSON.stringify(want))
          bad.push(`${name} ${tag}: ${JSON.stringify(got)}, xl ${JSON.stringify(want)}`);
      }
    }
    expect(bad.join('\n')).toBe('');
  });
});

describe('vif rates, against every release that has xlu_vif_parse_rate', () => {
  for (const r of DATA.rates) {
    it(`${JSON.stringify(r.rate)} (${r.note})`, () => {
      const bad: string[] = [];
      for (const { tag, gid, rel, real } of cells(r.outcomes)) {
        tally.rates++;
        let ours;
        let err: Error | undefined;
        try {
          ours = parseVifRate(r.rate, rel);
        } catch (e) {
          err = e as Error;
        }
        const at = `${tag} (${gid})`;
        if (isCrash(real)) {
          if (!err) bad.push(`${at}: accepted; xl crashes (${real.crashed})`);
        } else if (real.rc !== 0) {
          const said = real.report.split('\n')[0]?.replace(/^config: /, '');
          if (!err) bad.push(`${at}: accepted; xl: ${said}`);
          else if (err.message !== said)
            bad.push(`${at}: message ${JSON.stringify(err.message)}, xl ${JSON.stringify(said)}`);
        } else if (!ours) bad.push(`${at}: refused (${err?.message}); xl reads it`);
        else if (ours.bytesPerInterval !== real.bytes_per_interval || ours.intervalUsecs !== real.interval_usecs) {
          bad.push(
            `${at}: ${ours.bytesPerInterval}/${ours.intervalUsecs}, xl ${real.bytes_per_interval}/${real.interval_usecs}`,
          );
        }
      }
      expect(bad.join('\n')).toBe('');
    });
  }

  it('the rate of a vif in an xl config: xen-qos reads the credit each release reads, and no other', () => {
    const bad: string[] = [];
    for (const r of DATA.rates) {
      // xl's own vif-spec splitter (parse_nic_config, not libxlutil) trims the items: a rate with
      // spaces around it, a comma or a quote is not a vif item this data judges.
      if (r.rate !== r.rate.trim() || /[,']/.test(r.rate)) continue;
      const cfg = XlConfig.parse(`vif = [ 'bridge=xenbr0,rate=${r.rate}' ]\n`);
      for (const { tag, rel, real } of cells(r.outcomes)) {
        let credit;
        try {
          credit = configVifs(cfg, 'xl', rel)[0]?.credit;
        } catch {
          credit = undefined;
        }
        const want =
          isCrash(real) || real.rc !== 0
            ? undefined
            : { bytesPerInterval: real.bytes_per_interval, intervalUs: real.interval_usecs };
        if (JSON.stringify(credit) !== JSON.stringify(want))
          bad.push(`${r.rate} ${tag}: ${JSON.stringify(credit)}, xl ${JSON.stringify(want)}`);
      }
    }
    expect(bad.join('\n')).toBe('');
  });

  /**
   * --rate of xen-qos (parseRate) takes the rates that xl and xm both read alike: xend's
   * netif.py parseRate (RELEASE-4.1.0, tools/python/xen/xend/server/netif.py) matches
   * `^([0-9]+)([GMK]?)([Bb])/s(@([0-9]+)([mu]?)s)?$`, reads numbers in decimal (xl: a leading 0 is
   * octal), and silently makes the interface unlimited when the credit is 0 or above 2^32-1 bytes
   * per interval. So --rate refuses, where xl would accept: a credit of 0 (10B/s at 50ms) or above
   * 2^32-1, a leading zero, and an interval without its `s` (`@1`, `@20m`, `@20u`). It trims
   * spaces and writes the trimmed text. Every rate it accepts, every release reads, as written,
   * to the same credit.
   */
  it('what xen-qos accepts for --rate, every release reads to the same credit', () => {
    const deliberate: string[] = [];
    const bad: string[] = [];
    for (const r of DATA.rates) {
      let ours;
      try {
        ours = parseRate(r.rate);
      } catch {
        ours = undefined;
      }
      const written = ours ? DATA.rates.find((x) => x.rate === ours.text) : r;
      if (!written) {
        bad.push(`${r.rate}: --rate writes ${ours?.text}, which the corpus lacks`);
        continue;
      }
      for (const { tag, real } of cells(written.outcomes)) {
        const xlReads = !isCrash(real) && real.rc === 0;
        if (ours && !xlReads) bad.push(`${r.rate} ${tag}: --rate accepts what xl refuses`);
        else if (
          ours &&
          !isCrash(real) &&
          (ours.bytesPerInterval !== real.bytes_per_interval || ours.intervalUs !== real.interval_usecs)
        ) {
          bad.push(
            `${r.rate} ${tag}: ${ours.bytesPerInterval}/${ours.intervalUs}, xl ${real.bytes_per_interval}/${real.interval_usecs}`,
          );
        } else if (!ours && xlReads && tag === 'RELEASE-4.22.0') deliberate.push(r.rate);
      }
    }
    expect(bad.join('\n')).toBe('');
    expect(deliberate).toEqual([
      ...['10B/s', '10B/s@20ms', '10b/s', '10b/s@20ms'], // credit 0
      ...['10Mb/s@1'], // no `s`
      ...['10Mb/s@4294967295us', '10Mb/s@4294s'], // credit above 2^32-1
      ...['10Mb/s@010ms'], // a leading zero
      ...['10Mb/s@20m', '10Mb/s@20u'], // no `s`
      ...['1b/s', '7b/s', '8b/s', '1B/s', '1B/s@1us'], // credit 0
      ...['100Gb/s@1s'], // credit above 2^32-1
      ...['010Mb/s'], // a leading zero
    ]);
  });
});

describe('the data', () => {
  it('covers every release group and every cell', () => {
    expect(DATA.groups.length).toBeGreaterThanOrEqual(21);
    expect(tally.configs).toBeGreaterThan(10_000);
    expect(tally.disks).toBeGreaterThan(15_000);
    expect(tally.rates).toBeGreaterThan(5_000);
  });
});
