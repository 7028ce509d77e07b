/** The runbooks, and which ones an administrator reading one is likely to need next. */
export interface Runbook {
  slug: string;
  title: string;
  /** Related runbooks, each with why. */
  related: { slug: string; why: string }[];
}

export const RUNBOOKS: readonly Runbook[] = [
  {
    slug: 'pygrub-fix',
    title: 'Fix "Boot loader didn\'t return any data"',
    related: [
      { slug: 'xcp-install', why: 'moving guests to a new XCP-ng host, where pygrub reads them again' },
      { slug: 'xen-qos', why: 'once the guest boots: its CPU, memory and I/O shares' },
    ],
  },
  {
    slug: 'xcp-install',
    title: 'Install XCP / XCP-ng, storage and a first VM',
    related: [
      { slug: 'windows-hvm', why: 'the next guest: Windows, which needs HVM and its own care' },
      { slug: 'xen-qos', why: 'rate limits and priorities with xe, once VMs share the host' },
      { slug: 'pygrub-fix', why: 'when an imported PV guest will not boot' },
    ],
  },
  {
    slug: 'windows-hvm',
    title: 'A Windows HVM guest',
    related: [
      { slug: 'xen-qos', why: 'memory, vCPUs and weight of the guest after the install' },
      { slug: 'xcp-install', why: 'the same guest on an XCP-ng pool, created with xe' },
    ],
  },
  {
    slug: 'xen-qos',
    title: 'QoS and dynamic resources',
    related: [
      { slug: 'windows-hvm', why: 'why a Windows guest without PV drivers must keep memory equal to maxmem' },
      { slug: 'xcp-install', why: 'the xe side: SRs, VMs, VIFs and VBDs the QoS parameters live on' },
    ],
  },
  {
    slug: 'xen-upgrade-check',
    title: 'Before you upgrade Xen or move guests',
    related: [
      { slug: 'pygrub-fix', why: 'the way out for a guest whose image the new pygrub cannot read' },
      { slug: 'xcp-install', why: 'the new host, when the guests move to an XCP-ng pool' },
    ],
  },
];

export function runbookBySlug(slug: string): Runbook | undefined {
  return RUNBOOKS.find((r) => r.slug === slug);
}
