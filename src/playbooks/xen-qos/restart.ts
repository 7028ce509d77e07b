/**
 * What the next start would undo: the live changes that nothing keeps (without --persist), and what
 * an `xl reboot` keeps of them (xl_vmcontrol.c reload_domain_config: a reboot restarts from libxl's
 * record of the domain, not from the file).
 */
import type { StepOutcome } from '../../engine/runner.js';
import { WEIGHT_DEFAULT, formatCredit, mib, sameRate, type DomainFacts, type RequestKind } from '../../xen/qos.js';
import { versionText, xlRebootKeeps } from '../../xen/xlversion.js';
import type { Planned } from './plan.js';
import type { Want } from './want.js';

/** The step that applies each kind of request. */
const STEP_OF: Partial<Record<RequestKind, string>> = {
  'cpu-weight': 'cpu-scheduler',
  'cpu-cap': 'cpu-scheduler',
  vcpus: 'vcpus',
  memory: 'memory',
  'vif-rate': 'vif-rate',
};

/** The request is in force after this run: its step found it so, or made it so (or would). */
export function inForce(p: Planned, outcomes: readonly StepOutcome[]): boolean {
  const id = STEP_OF[p.decision.kind];
  const o = outcomes.find((x) => x.id === id);
  return o !== undefined && ['ok', 'changed', 'would-change'].includes(o.status);
}

/** What the next start would use for a request's setting, as text. */
export function storedValue(f: DomainFacts, p: Planned): string {
  const s = f.stored;
  switch (p.decision.kind) {
    case 'cpu-weight':
      return `weight ${s.weight ?? WEIGHT_DEFAULT}`;
    case 'cpu-cap':
      return `cap ${s.cap ?? 0}`;
    case 'vcpus':
      return s.vcpus !== undefined ? `${s.vcpus} vCPUs` : 'the configured vCPUs';
    case 'memory':
      return s.memory !== undefined ? `${mib(s.memory)} MiB` : 'the configured memory';
    case 'vif-rate': {
      const c = p.vif ? s.vifCredit?.[p.vif.index] : undefined;
      return c ? formatCredit(c) : 'no limit';
    }
    default:
      return 'the configured value';
  }
}

/** The next start would use what was asked anyway. */
export function storedMatches(f: DomainFacts, want: Want, p: Planned): boolean {
  const s = f.stored;
  switch (p.decision.kind) {
    case 'cpu-weight':
      return want.weight?.weight === (s.weight ?? WEIGHT_DEFAULT);
    case 'cpu-cap':
      return want.cap === (s.cap ?? 0);
    case 'vcpus':
      return want.vcpus === s.vcpus;
    case 'memory':
      return want.memory === s.memory;
    case 'vif-rate':
      return p.vif !== undefined && sameRate(s.vifCredit?.[p.vif.index], want.rate);
    default:
      return false;
  }
}

/** The requests in force now that a restart would lose, each with what the next start uses instead. */
export function lostOnRestart(
  f: DomainFacts,
  want: Want,
  plan: readonly Planned[],
  outcomes: readonly StepOutcome[],
): string[] {
  return plan
    .filter((p) => p.decision.lostOnRestart && inForce(p, outcomes) && !storedMatches(f, want, p))
    .map((p) => `${p.option} ${p.value} (the next start uses ${storedValue(f, p)})`);
}

/**
 * xl, running: which live changes an `xl reboot` keeps (those in libxl's record of the domain on
 * this release) and which it restores to the values the domain started with. Every live change,
 * persisted or not: a reboot does not read the file (only config-update's).
 */
export function xlRebootOutcome(
  f: DomainFacts,
  plan: readonly Planned[],
  outcomes: readonly StepOutcome[],
): { keeps: string[]; restores: string[] } {
  const keeps = xlRebootKeeps(f.xen);
  const byKind: Partial<Record<RequestKind, boolean>> = {
    'cpu-weight': keeps.sched,
    'cpu-cap': keeps.sched,
    vcpus: keeps.vcpus,
    memory: keeps.memory,
    'vif-rate': keeps.nics && plan.some((p) => p.route === 'replug' || p.route === 'replug-no-devid'),
  };
  const applied = plan.filter(
    (p) => (p.decision.effect === 'live' || p.decision.effect === 'replug') && inForce(p, outcomes),
  );
  return {
    keeps: applied.filter((p) => byKind[p.decision.kind]).map((p) => `${p.option} ${p.value}`),
    restores: applied.filter((p) => !byKind[p.decision.kind]).map((p) => `${p.option} ${p.value}`),
  };
}

/** The xl reboot outcome as a sentence for the administrator. */
export function xlRebootNote(f: DomainFacts, r: { keeps: string[]; restores: string[] }): string {
  return (
    `An xl reboot of ${f.name} (Xen ${versionText(f.xen)}) ${r.keeps.length ? `keeps ${r.keeps.join(', ')}` : 'keeps none of these'}` +
    `${r.restores.length ? ` and restores the values it started with for ${r.restores.join(', ')}` : ''}; ` +
    `xl config-update ${f.name} FILE makes the next reboot use FILE instead.`
  );
}
