/** What the playbook says about the domain and its plan: the lines shown, the --json report. */
import { IO_CLASSES, WEIGHT_DEFAULT, describeDecision, formatCredit, mib, type DomainFacts } from '../../xen/qos.js';
import type { Planned } from './plan.js';

/** The xe limit as the VIF keeps it: `kbps=K` and, when the rate names its interval, `timeslice_us=T`. */
export function xeQosText(r: Pick<Planned, 'kbps' | 'timesliceUs'>): string {
  return `kbps=${r.kbps}${r.timesliceUs !== undefined ? `, timeslice_us=${r.timesliceUs}` : ''}`;
}

/** The domain in lines: the first says what it is, the others what it has. */
export function describeFacts(f: DomainFacts): string[] {
  const mem = (b: number) => (Number.isFinite(b) ? `${mib(b)} MiB` : 'no maximum set');
  const vc = (n: number) => (Number.isFinite(n) ? String(n) : 'no maximum set');
  return [
    `${f.name}: ${f.state}${f.domid !== undefined ? ` as domain ${f.domid}` : ''}${f.guestType ? ` (${f.guestType})` : ''}, managed by ${f.toolstack}`,
    `host: ${f.nrCpus} CPUs, scheduler ${f.scheduler}`,
    `CPU: weight ${f.sched?.weight ?? f.stored.weight ?? WEIGHT_DEFAULT}, cap ${f.sched?.cap ?? f.stored.cap ?? 0}`,
    `vCPUs: ${f.vcpus}, boot maximum ${vc(f.maxVcpus)}`,
    `memory: ${f.memory ? `${mib(f.memory)} MiB` : 'not set'}, boot maximum ${mem(f.maxMemory)}${
      f.balloon === undefined ? '' : f.balloon ? ', balloon driver present' : ', no balloon driver'
    }`,
    ...f.vifs.map(
      (v) =>
        `vif ${v.index} ${v.mac || '(no fixed MAC)'}: ${
          f.toolstack === 'xe'
            ? v.qosType === 'ratelimit' && v.kbps !== undefined
              ? `kbps=${v.kbps}${v.timesliceUs ? `, timeslice_us=${v.timesliceUs}` : ''}`
              : 'no limit'
            : v.credit
              ? formatCredit(v.credit)
              : 'no limit'
        }`,
    ),
    ...f.disks.map(
      (d) =>
        `disk ${d.vdev}${d.ioClass ? `: ionice ${IO_CLASSES[d.ioClass].title}${d.ioPriority !== undefined ? ` ${d.ioPriority}` : ''}` : ''}`,
    ),
    ...(f.configPath ? [`config file: ${f.configPath}`] : []),
    ...(f.liveNotes ?? []),
  ];
}

/** The domain in the --json report (`data.domain`). */
export function domainReport(f: DomainFacts): Record<string, unknown> {
  return {
    name: f.name,
    toolstack: f.toolstack,
    state: f.state,
    domid: f.domid,
    scheduler: f.scheduler,
    nrCpus: f.nrCpus,
    vcpus: f.vcpus,
    maxVcpus: Number.isFinite(f.maxVcpus) ? f.maxVcpus : null,
    memoryMiB: mib(f.memory),
    maxMemoryMiB: Number.isFinite(f.maxMemory) ? mib(f.maxMemory) : null,
    configPath: f.configPath ?? null,
    ...(f.liveNotes?.length ? { liveNotes: f.liveNotes } : {}),
  };
}

/** A request and when it takes effect, as a line: `--vcpus 4: live, xl vcpu-set …`. */
export function describeRequest(p: Planned): string {
  return `${p.option} ${p.value}: ${describeDecision(p.decision)}`;
}

/** The requests in the --json report (`data.requests`). */
export function requestsReport(plan: readonly Planned[]): Record<string, unknown>[] {
  return plan.map((p) => ({
    option: p.option,
    value: p.value,
    kind: p.decision.kind,
    effect: p.decision.effect,
    how: p.decision.how,
    kept: p.decision.kept,
    lostOnRestart: p.decision.lostOnRestart,
  }));
}

/** How many requests take effect when: `2 live, 1 at next start`. */
export function planSummary(plan: readonly Planned[]): string {
  const counts = (['live', 'replug', 'restart', 'start'] as const).map(
    (e) => [e, plan.filter((p) => p.decision.effect === e).length] as const,
  );
  return counts
    .filter(([, n]) => n)
    .map(([e, n]) => `${n} ${e === 'start' ? 'at next start' : e}`)
    .join(', ');
}
