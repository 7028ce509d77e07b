/**
 * What the check says of one guest: every reason found, each with its source and its way out,
 * and the verdict they add up to. A reason that blocks makes the guest one that will not start;
 * one the check cannot decide (a file on another host, an image it cannot read) makes it
 * "cannot tell" unless another reason already blocks; notes leave the verdict alone.
 */

/** blocks: the target refuses the guest; unknown: the check cannot decide; note: it starts, with a remark. */
export type Severity = 'blocks' | 'unknown' | 'note';

export interface Reason {
  /** A stable id (the page's table and the tests name reasons by it). */
  id: string;
  severity: Severity;
  message: string;
  /** Where the rule comes from: file, function and release tag, or the project module that models it. */
  source: string;
  /** The smallest change that makes the guest start, as a command or the config line to write. */
  wayOut?: string;
  /** 1-based line of the domain config it concerns. */
  line?: number;
}

export type Verdict = 'starts' | 'will-not-start' | 'cannot-tell';

export const VERDICT_TEXT: Readonly<Record<Verdict, string>> = {
  starts: 'starts',
  'will-not-start': 'will not start',
  'cannot-tell': 'cannot tell',
};

export interface GuestRecord {
  /** The domain's name (name= of its config, or the VM's name-label). */
  name: string;
  /** The config file (host path), or `xe:UUID` for a xapi VM. */
  config: string;
  /** How the guest boots. */
  boot: BootKind;
  verdict: Verdict;
  reasons: Reason[];
  /** An xm config converted to xl syntax for the target: the unified diff of the conversion. */
  conversion?: { diff: string };
}

export type BootKind = 'pygrub' | 'bootloader' | 'kernel' | 'hvm' | 'pvh' | 'xapi' | 'unknown';

/** The verdict of a list of reasons. */
export function verdictOf(reasons: readonly Reason[]): Verdict {
  if (reasons.some((r) => r.severity === 'blocks')) return 'will-not-start';
  if (reasons.some((r) => r.severity === 'unknown')) return 'cannot-tell';
  return 'starts';
}

const MARK: Readonly<Record<Severity, string>> = { blocks: '✗', unknown: '?', note: '·' };

/** The lines the run prints for a guest: its verdict, then each reason with its source and way out. */
export function guestLines(g: GuestRecord): string[] {
  const out = [`${g.name} (${g.config}, ${g.boot}): ${VERDICT_TEXT[g.verdict]}`];
  for (const r of g.reasons) {
    out.push(`  ${MARK[r.severity]} ${r.line ? `line ${r.line}: ` : ''}${r.message}`);
    out.push(`      source: ${r.source}`);
    if (r.wayOut) out.push(`      way out: ${r.wayOut}`);
  }
  if (g.conversion?.diff) {
    out.push('  converted to xl syntax:');
    for (const l of g.conversion.diff.split('\n')) if (l) out.push(`    ${l}`);
  }
  return out;
}

/** "12 guests: 9 start, 2 will not start, 1 cannot tell". */
export function tally(guests: readonly GuestRecord[]): string {
  const n = (v: Verdict) => guests.filter((g) => g.verdict === v).length;
  const starts = n('starts');
  return `${guests.length} guest${guests.length === 1 ? '' : 's'}: ${starts} start${starts === 1 ? 's' : ''}, ${n('will-not-start')} will not start, ${n('cannot-tell')} cannot tell`;
}
