// Domains as the readers would find them, for the unit tests of src/playbooks/xen-qos/.
import type { DomainFacts } from '../../src/xen/qos.js';

export const MiB = 1024 ** 2;

/** A running PV guest under xl (Xen 4.17, credit2, dom0 Linux 6.1): 2 of 4 vCPUs, 1024 of 2048 MiB. */
export function xlRunning(over: Partial<DomainFacts> = {}): DomainFacts {
  return {
    toolstack: 'xl',
    name: 'vm01',
    state: 'running',
    domid: 3,
    guestType: 'pv',
    scheduler: 'credit2',
    nrCpus: 4,
    sched: { weight: 256, cap: 0 },
    vcpus: 2,
    maxVcpus: 4,
    memory: 1024 * MiB,
    maxMemory: 2048 * MiB,
    balloon: true,
    vifs: [
      { index: 0, mac: '00:16:3e:2b:11:83', params: { mac: '00:16:3e:2b:11:83', bridge: 'xenbr0' }, backendState: 4 },
    ],
    disks: [{ vdev: 'xvda' }],
    configPath: '/etc/xen/vm01.cfg',
    stored: { weight: 256, cap: 0, vcpus: 2, maxVcpus: 4, memory: 1024 * MiB, maxMemory: 2048 * MiB, vifCredit: {} },
    xen: { major: 4, minor: 17 },
    dom0Kernel: '6.1.0-13-amd64',
    ...over,
  };
}

/** A halted VM under xe with one VIF and one disk. */
export function xeHalted(over: Partial<DomainFacts> = {}): DomainFacts {
  return {
    toolstack: 'xe',
    name: 'web01',
    uuid: '6f1f6b9e-2b1d-4e3a-9c7a-2d3c4b5a6f70',
    state: 'halted',
    guestType: 'hvm',
    scheduler: 'credit',
    nrCpus: 8,
    vcpus: 2,
    maxVcpus: 2,
    memory: 2048 * MiB,
    maxMemory: 2048 * MiB,
    minMemory: 512 * MiB,
    vifs: [{ index: 0, mac: 'aa:bb:cc:00:00:01', uuid: 'vif-uuid', qosType: '', attached: false }],
    disks: [{ vdev: 'xvda', aliases: ['0'], uuid: 'vbd-uuid' }],
    stored: { weight: 256, cap: 0, vcpus: 2, maxVcpus: 2, memory: 2048 * MiB, maxMemory: 2048 * MiB },
    ...over,
  };
}
