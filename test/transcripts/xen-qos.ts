// The scenarios of xen-qos's transcript: a running xl guest, one on an old dom0 kernel (the VIF is
// re-plugged), a halted one (only its config file), and XCP-ng (xe, with xl in dom0).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/playbook.js';
import { seedXl, type XlSeedDomain } from '../sim/xl.mjs';
import { GiB, MiB, seedXe } from '../sim/xe.mjs';
import type { Prepared, Scenario } from './record.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/qos');

/** vm01 as test/fixtures/qos/vm01.cfg describes it (test/qos/xl.test.ts): 2 of 4 vCPUs, 1024 of 2048 MiB. */
const VM01 = {
  name: 'vm01',
  uuid: '7b5b4c1e-1d2a-4c38-9a57-3e0f3c1a2b01',
  type: 'pv',
  memory: 1024,
  maxmem: 2048,
  vcpus: 2,
  maxvcpus: 4,
  pvDrivers: true,
  vifs: [
    { mac: '00:16:3e:2b:11:83', bridge: 'xenbr0' },
    { mac: '00:16:3e:2b:11:84', bridge: 'xenbr1', rate: '100Mb/s' },
  ],
  disks: [
    { vdev: 'xvda', target: '/dev/vg0/vm01-disk' },
    { vdev: 'xvdb', target: '/dev/vg0/vm01-data' },
  ],
} satisfies XlSeedDomain & { uuid: string };

function xlHost(dir: string, o: { running: boolean; release?: string }): Prepared {
  const sim = path.join(dir, 'sim');
  const root = path.join(dir, 'root');
  mkdirSync(sim);
  mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  seedXl(sim, {
    info: { nr_cpus: 4, xen_scheduler: 'credit2', ...(o.release ? { release: o.release } : {}) },
    domains: o.running ? [VM01] : [],
  });
  copyFileSync(path.join(FIXTURES, 'vm01.cfg'), path.join(root, 'etc/xen/vm01.cfg'));
  return { args: ['--root', root], sim };
}

export const XEN_QOS: Scenario[] = [
  {
    playbook: 'xen-qos',
    id: 'xl-running',
    label: 'on a running guest (xl)',
    prepare(dir) {
      const h = xlHost(dir, { running: true });
      return {
        ...h,
        args: [
          ...h.args,
          'vm01',
          '--toolstack',
          'xl',
          '--cpu-weight',
          '512',
          '--cpu-cap',
          '200',
          '--vcpus',
          '3',
          '--memory',
          '1536',
          '--rate',
          '8Mb/s@50ms',
          '--vif',
          '0',
          '--persist',
          '--yes',
        ],
      };
    },
  },
  {
    playbook: 'xen-qos',
    id: 'xl-replug',
    label: 'on a running guest, dom0 kernel before 4.2 (xl)',
    prepare(dir) {
      const h = xlHost(dir, { running: true, release: '3.16.0-4-amd64' });
      return { ...h, args: [...h.args, 'vm01', '--toolstack', 'xl', '--rate', '8Mb/s@50ms', '--vif', '0', '--yes'] };
    },
  },
  {
    playbook: 'xen-qos',
    id: 'xl-halted',
    label: 'on a halted guest (xl)',
    prepare(dir) {
      const h = xlHost(dir, { running: false });
      return {
        ...h,
        args: [...h.args, 'vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--memory', '4096', '--yes'],
      };
    },
  },
  {
    playbook: 'xen-qos',
    id: 'xe-running',
    label: 'on XCP-ng (xe)',
    prepare(dir) {
      return {
        ...xcpHost(dir),
        args: [
          '--root',
          path.join(dir, 'root'),
          'web01',
          '--cpu-weight',
          '512',
          '--cpu-cap',
          '100',
          '--vcpus',
          '3',
          '--memory',
          '1536',
          '--rate',
          '8Mb/s@50ms',
          '--persist',
          '--yes',
        ],
      };
    },
  },
  {
    playbook: 'xen-qos',
    id: 'xe-io',
    label: 'disk I/O priority on XCP-ng (xe)',
    prepare(dir) {
      return {
        ...xcpHost(dir),
        args: [
          '--root',
          path.join(dir, 'root'),
          'web01',
          '--io-priority',
          '2',
          '--io-class',
          'rt',
          '--disk',
          'xvdb',
          '--yes',
        ],
      };
    },
  },
];

/**
 * An XCP-ng host running web01, as test/qos/xe.test.ts builds it: xapi's view (xe), the same
 * domain in xl's (dom0), and /etc/xensource-inventory naming this host.
 */
function xcpHost(dir: string): { sim: string } {
  const sim = path.join(dir, 'sim');
  const root = path.join(dir, 'root');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  const s = seedXe(sim, {
    sr: { name: 'Local storage', type: 'ext', device: '/dev/sdb' },
    vms: [
      {
        name: 'web01',
        powerState: 'running',
        vcpusMax: 4,
        vcpusAtStartup: 2,
        memory: { staticMin: 512 * MiB, dynamicMin: 1 * GiB, dynamicMax: 1 * GiB, staticMax: 2 * GiB },
        vifs: [{ mac: '00:16:3e:5a:01:01' }],
        vbds: [
          { size: 20 * GiB, userdevice: '0' },
          { size: 100 * GiB, userdevice: '1' },
        ],
      },
    ],
  });
  const vm = s.state.objects.vm?.[s.vms.web01?.uuid ?? ''] ?? {};
  // The simulator takes the domain's uuid (xl list -l shows it), to be xapi's.
  const web01 = {
    name: 'web01',
    uuid: String(vm.uuid),
    domid: Number(vm['dom-id']),
    type: 'hvm',
    vcpus: 2,
    maxvcpus: 4,
    memory: 1024,
    maxmem: 2048,
  } satisfies XlSeedDomain & { uuid: string };
  seedXl(sim, { info: { nr_cpus: 8, xen_scheduler: 'credit' }, domains: [web01] });
  writeFileSync(
    path.join(root, 'etc/xensource-inventory'),
    `PRIMARY_DISK='/dev/sda'\nPRODUCT_BRAND='XCP-ng'\nINSTALLATION_UUID='${s.host}'\nCONTROL_DOMAIN_UUID='00000000-0000-0000-0000-000000000000'\n`,
  );
  return { sim };
}
