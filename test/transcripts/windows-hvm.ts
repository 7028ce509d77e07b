// The scenarios of windows-hvm's transcript: a new guest on an xl host (started), on a xend host
// (xm, started), and on a host not yet booted into Xen (the boot entry is added first).
import { mkdirSync, rmSync } from 'node:fs';
import { seedXl, type XlSeed } from '../sim/xl.mjs';
import { makeHost, type HostSpec } from '../windows/host.js';
import type { Prepared, Scenario } from './record.js';

/** The reference guest of test/windows/windows-hvm.test.ts: win7, 40G image, 4G, 2 vCPUs, a fixed MAC, VNC :1. */
const WIN = [
  '--name',
  'win7',
  '--iso',
  '/srv/iso/win7.iso',
  '--disk',
  '/srv/xen/win7.img',
  '--disk-size',
  '40G',
  '--memory',
  '4096',
  '--vcpus',
  '2',
  '--mac',
  '00:16:3e:5a:01:02',
  '--vnc-password-file',
  '/root/win7.vnc',
  '--vnc-display',
  '1',
];

function host(spec: HostSpec & { xl?: XlSeed | false }, args: string[]): Prepared {
  const root = makeHost({ dom0: true, ...spec, files: { '/root/win7.vnc': 's3cret\n', ...(spec.files ?? {}) } });
  const sim = `${root}.sim`;
  mkdirSync(sim);
  if (spec.xl !== false && (spec.dom0 ?? true)) seedXl(sim, { info: { free_memory: 12000 }, ...(spec.xl ?? {}) });
  return {
    args: ['--root', root, ...args],
    sim,
    env: { XR_SIM_ROOT: root },
    names: [
      // The VNC password the config file holds is the reader's own.
      ['s3cret', '<your VNC password>'],
      [`${root}/`, '/'],
      [root, '/'],
    ],
    // The space free where the image goes is this machine's.
    vary: [{ command: /^df /, output: /^\d+$/m, as: '<bytes free>' }],
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
      rmSync(sim, { recursive: true, force: true });
    },
  };
}

export const WINDOWS_HVM: Scenario[] = [
  {
    playbook: 'windows-hvm',
    id: 'xl',
    label: 'with xl (Xen 4.17)',
    prepare: () => host({}, [...WIN, '--start', '--yes']),
  },
  {
    playbook: 'windows-hvm',
    id: 'xm',
    label: 'with xm (xend)',
    prepare: () =>
      host({ xl: { xend: true, info: { free_memory: 12000 } } }, [...WIN, '--toolstack', 'xm', '--start', '--yes']),
  },
  {
    playbook: 'windows-hvm',
    id: 'not-booted-into-xen',
    label: 'on a host not yet booted into Xen (CentOS 6, GRUB legacy)',
    prepare: () =>
      host({ dom0: false, xl: false, grub: { kind: 'legacy', file: 'centos6-no-xen' } }, [...WIN, '--yes']),
  },
];
