// The scenarios of xen-upgrade-check's transcript: a plain Xen host with guests of four shapes
// checked against Xen 4.17 (two start, two will not: exit 1), and an XCP-ng host's VMs (xapi).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readXe, seedXe } from '../sim/xe.mjs';
import { PYGRUB_GUESTS, XM_PYTHON_CFG, pygrubImage } from '../upgrade/host.js';
import { bzImage, initrd } from '../fixtures/images.js';
import { E2FS_VARY } from './pygrub-fix.js';
import type { Scenario } from './record.js';

/** /etc/xen of a host that ran xm: a pygrub guest, a BootLoaderSpec one, xm's Python, an HVM guest. */
async function plainHost(dir: string): Promise<string> {
  const root = path.join(dir, 'host');
  const etc = path.join(root, 'etc/xen');
  for (const d of [etc, path.join(root, 'srv/xen'), path.join(root, 'boot/guests')]) mkdirSync(d, { recursive: true });
  for (const name of ['ubuntu1204', 'rhel8-bls']) {
    const g = PYGRUB_GUESTS.find((x) => x.name === name);
    if (!g) throw new Error(`no guest ${name}`);
    await pygrubImage(path.join(root, `srv/xen/${name}.img`), g);
    writeFileSync(
      path.join(etc, `${name}.cfg`),
      `name = "${name}"\nmemory = 512\nvcpus = 1\nbootloader = "pygrub"\ndisk = ['format=raw, vdev=xvda, access=rw, target=/srv/xen/${name}.img']\nvif = ['bridge=xenbr0']\n`,
    );
  }
  const kernels = path.join(root, 'boot/guests');
  writeFileSync(path.join(kernels, 'vmlinuz-2.6.32-5-xen-amd64'), await bzImage('gzip', '2.6.32-5-xen-amd64'));
  writeFileSync(path.join(kernels, 'initrd.img-2.6.32-5-xen-amd64'), await initrd('2.6.32-5-xen-amd64'));
  writeFileSync(path.join(etc, 'web07.cfg'), XM_PYTHON_CFG);
  writeFileSync(
    path.join(etc, 'win01.cfg'),
    `name = "win01"\nbuilder = "hvm"\nbios = "rombios"\nmemory = 4096\nvcpus = 2\ndisk = ['format=raw, vdev=hda, access=rw, target=/srv/xen/win01.img']\nvnc = 1\n`,
  );
  return root;
}

export const XEN_UPGRADE_CHECK: Scenario[] = [
  {
    playbook: 'xen-upgrade-check',
    id: 'plain-xen',
    label: 'a plain Xen host moving to 4.17 (xl)',
    exitCode: 1,
    async prepare(dir) {
      const root = await plainHost(dir);
      return {
        // One guest at a time: the commands are recorded in the guests' order, the same every run.
        args: ['--root', root, '--to-xen', '4.17', '--jobs', '1'],
        vary: E2FS_VARY,
        names: [
          [`${root}/`, '/'],
          [root, '/'],
        ],
      };
    },
  },
  {
    playbook: 'xen-upgrade-check',
    id: 'xcp-ng',
    label: 'an XCP-ng host (xapi)',
    prepare(dir) {
      const sim = path.join(dir, 'sim');
      mkdirSync(sim, { recursive: true });
      const seeded = seedXe(sim, { vms: [{ name: 'web01' }, { name: 'win01' }] });
      const state = readXe(sim);
      const vm = (n: string) => state.objects.vm?.[seeded.vms[n]?.uuid ?? ''] as Record<string, unknown>;
      vm('web01')['PV-bootloader'] = 'pygrub';
      vm('win01')['HVM-boot-policy'] = 'BIOS order';
      seedXe(sim, state);
      const root = path.join(dir, 'host');
      mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
      writeFileSync(path.join(root, 'etc/xensource-inventory'), `INSTALLATION_UUID='${seeded.host}'\n`);
      return {
        args: ['--root', root, '--to-xen', '4.17', '--to-toolstack', 'xapi'],
        sim,
        names: [
          [`${root}/`, '/'],
          [root, '/'],
        ],
      };
    },
  },
];
