/**
 * What the steps of xen-qos share: the requests (from the options), the domain (read by the first
 * step), the plan (decided by the second). Each is there once the step that makes it has run; a step
 * that reads one before then is a fault of the playbook, said as such.
 */
import type { DiskFacts, DomainFacts, RequestKind, VifFacts } from '../../xen/qos.js';
import { findRequest, type Planned } from './plan.js';
import type { DomainRead } from './read-domain.js';
import type { Want } from './want.js';

export class QosState {
  #want: Want | undefined;
  #facts: DomainFacts | undefined;
  #plan: Planned[] | undefined;
  /** xe, running: the host the VM is resident on. */
  residentOn: string | undefined;
  /** xe: this host's uuid, when it was read. */
  hostUuid: string | undefined;
  /** xe, running: memory-dynamic-min differs from memory-dynamic-max. */
  dynamicRange = false;

  /** What the administrator asked for. */
  get want(): Want {
    if (!this.#want) throw new Error('xen-qos: the requests are read before the steps run');
    return this.#want;
  }
  set want(want: Want) {
    this.#want = want;
  }

  /** One of the requests, which the step's `when` made sure was asked for. */
  wanted<K extends keyof Want>(key: K): NonNullable<Want[K]> {
    const value = this.want[key];
    if (value === undefined) throw new Error(`xen-qos: ${key} was not asked for`);
    return value;
  }

  /** The domain, as step read-domain found it. */
  get facts(): DomainFacts {
    if (!this.#facts) throw new Error('xen-qos: the domain is read by step read-domain first');
    return this.#facts;
  }
  /** Whether the domain was read (finish runs even when the first step failed). */
  get hasFacts(): boolean {
    return this.#facts !== undefined;
  }

  /** Keep what reading the domain found. */
  read(r: DomainRead): void {
    this.#facts = r.facts;
    this.residentOn = r.residentOn;
    this.hostUuid = r.hostUuid;
    this.dynamicRange = r.dynamicRange ?? false;
  }

  /** Every request, decided (step plan); empty before. */
  get plan(): readonly Planned[] {
    return this.#plan ?? [];
  }
  set plan(plan: Planned[]) {
    this.#plan = plan;
  }

  /** The request of one of these kinds, if the plan has one. */
  request(...kinds: RequestKind[]): Planned | undefined {
    return findRequest(this.plan, ...kinds);
  }

  /** The request a step acts on (its `when` made sure the plan has it). */
  planned(...kinds: RequestKind[]): Planned {
    const p = this.request(...kinds);
    if (!p) throw new Error(`xen-qos: the plan has no ${kinds.join(' or ')} request`);
    return p;
  }

  /** The --rate request and its interface. */
  plannedVif(): Planned & { vif: VifFacts } {
    const p = this.planned('vif-rate');
    const vif = p.vif;
    if (!vif) throw new Error('xen-qos: the --rate request has no interface');
    return { ...p, vif };
  }

  /** The --io-priority / --io-class request and its disk. */
  plannedDisk(): Planned & { disk: DiskFacts } {
    const p = this.planned('io-priority');
    const disk = p.disk;
    if (!disk) throw new Error('xen-qos: the --io-priority request has no disk');
    return { ...p, disk };
  }
}
