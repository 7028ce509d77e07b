// The scenarios of xcp-install's transcript: the 2012 host (Ubuntu 12.04 with the XCP packages:
// every workaround), an XCP-ng 8.2 host (storage and the first VM only), and an XCP-ng host joining
// a pool with a shared NFS SR.
import path from 'node:path';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { SIM_BIN } from '../helpers/playbook.js';
import { addMaster, createState, seedXe, writeXe } from '../sim/xe.mjs';
import { hostTree, loopDevice } from '../xcp/rig.js';
import type { Prepared, Scenario } from './record.js';

/** A host tree and a disk for the SR (a loop device here, /dev/sdb on the page). */
function host(dir: string, tree: string): Prepared & { root: string; device: string } {
  const root = hostTree(tree, dir);
  const disk = loopDevice(dir);
  return {
    root,
    device: disk.path,
    args: [],
    sim: path.join(dir, 'sim'),
    env: { XR_SIM_ROOT: root },
    names: [
      [disk.path, '/dev/sdb'],
      [`${root}/`, '/'],
      // The loop device standing for the disk has the number the kernel gave it.
      [/\bloop\d+\b/g, 'loop0'],
    ],
    cleanup: disk.detach,
  };
}

const run = (h: ReturnType<typeof host>, args: string[]): Prepared => {
  const { root, device: _device, ...p } = h;
  return { ...p, args: ['--root', root, ...args] };
};

export const XCP_INSTALL: Scenario[] = [
  {
    playbook: 'xcp-install',
    id: 'legacy',
    label: 'on Ubuntu 12.04 with the XCP packages (2012)',
    prepare(dir) {
      const h = host(dir, 'ubuntu-12.04');
      seedXe(h.sim as string, { flavour: 'legacy' });
      return run(h, [
        '--sr-device',
        h.device,
        '--sr-name',
        'local storage',
        '--vm-name',
        'centos-test',
        '--install-repository',
        'http://vault.centos.org/5.11/os/x86_64',
        '--yes',
      ]);
    },
  },
  {
    playbook: 'xcp-install',
    id: 'xcp-ng',
    label: 'on XCP-ng 8.2',
    prepare(dir) {
      const h = host(dir, 'xcp-ng-8.2');
      // Installed without the installer's local SR: only the Tools SR.
      seedXe(h.sim as string, { localStorage: false });
      return run(h, [
        '--sr-device',
        h.device,
        '--vm-name',
        'web01',
        '--template',
        'CentOS 7',
        '--memory',
        '2G',
        '--vcpus',
        '2',
        '--yes',
      ]);
    },
  },
  {
    playbook: 'xcp-install',
    id: 'join-pool',
    label: 'on XCP-ng, joining a pool with shared NFS storage',
    prepare(dir) {
      const h = host(dir, 'xcp-ng-8.2');
      // The playbook finds this host in the pool by `uname -n`: here a stand-in that names it as xapi does.
      const bin = path.join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'uname'), '#!/bin/sh\necho xcp-ng-01\n', { mode: 0o755 });
      const state = createState({ hostName: 'xcp-ng-01', nfsExports: ['192.0.2.20:/export/vms'] });
      addMaster(state, '192.0.2.10', { password: 'the-pool-password', poolName: 'production' });
      writeXe(h.sim as string, state);
      const pw = path.join(dir, 'pool-password');
      writeFileSync(pw, 'the-pool-password\n');
      chmodSync(pw, 0o600);
      const p = run(h, [
        '--join-pool',
        '192.0.2.10',
        '--pool-password-file',
        pw,
        '--sr-type',
        'nfs',
        '--nfs-server',
        '192.0.2.20',
        '--nfs-path',
        '/export/vms',
        '--sr-name',
        'shared',
        '--vm-name',
        'web01',
        '--template',
        'CentOS 7',
        '--yes',
      ]);
      // The password goes to xe on its standard input: shown as what to type there.
      return {
        ...p,
        env: { ...p.env, PATH: `${bin}:${SIM_BIN}:${process.env.PATH ?? ''}` },
        names: [...(p.names ?? []), [pw, '/root/pool-password'], ['the-pool-password', '<the pool master’s password>']],
      };
    },
  },
];
