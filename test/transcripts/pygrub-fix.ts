// The scenarios of pygrub-fix's transcript, on images built by sfdisk and mke2fs
// (test/fixtures/images.ts): the incident rewritten (Xen 4.0.1), the active flag set (Xen 4.0.x),
// --offset written for /boot on a logical partition (Xen 4.17), the switch to pv-grub, and
// --restore after a rewrite.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seedXl } from '../sim/xl.mjs';
import { buildImage, bzImage, incidentImage, initrd, GiB } from '../fixtures/images.js';
import { runInProcess, ROOT } from '../helpers/playbook.js';
import type { Prepared, Scenario } from './record.js';

const CFG = (root: string) =>
  [
    "menuentry 'Debian GNU/Linux' --class debian --class os {",
    `\tset root='${root}'`,
    '\tlinux /vmlinuz-5.10.0 root=/dev/xvda1 ro',
    '\tinitrd /initrd.img-5.10.0',
    '}',
    '',
  ].join('\n');

async function bootFiles(root: string) {
  return {
    'grub/grub.cfg': CFG(root),
    'vmlinuz-5.10.0': await bzImage('gzip', '5.10.0'),
    'initrd.img-5.10.0': await initrd('5.10.0'),
  };
}

/** A dom0 whose xl knows no domain using the image (or `running` it); the image's folder is /srv/xen on the page. */
function host(dir: string, args: string[], root?: string, running?: string): Prepared {
  const sim = path.join(dir, 'sim');
  mkdirSync(sim);
  // The simulator takes a domain's uuid (xl list -l shows it): a fixed one keeps the record the same.
  const vm01 = { name: 'vm01', uuid: '7b5b4c1e-1d2a-4c38-9a57-3e0f3c1a2b01', type: 'pv' as const };
  seedXl(sim, running ? { domains: [{ ...vm01, disks: [{ vdev: 'xvda', target: running }] }] } : {});
  return {
    args: root ? ['--root', root, ...args] : args,
    sim,
    vary: E2FS_VARY,
    names: [
      ...(root
        ? ([
            [`${root}/`, '/'],
            [root, '/'],
          ] as [string, string][])
        : ([[path.join(dir, 'srv/xen'), '/srv/xen']] as [string, string][])),
      // The host's scratch directory for a write (mkdtemp's six random characters).
      [/\/(?:[^\s"'/]+\/)*xr-debugfs-[A-Za-z0-9]{6}/g, '/tmp/xr-debugfs-XXXXXX'],
    ],
  };
}

/**
 * What e2fsprogs prints that differs from one build of the image (mke2fs: a random UUID and hash
 * seed, the time) or one run (debugfs writes the times of the rewrite) to the next.
 */
export const E2FS_VARY = [
  {
    command: /^(debugfs|e2fsck) /,
    output:
      /^(Filesystem created|Last mount time|Last write time|Last checked|Filesystem UUID|Directory Hash Seed):(\s+).*$/gm,
    as: '$1:$2<as this image has it>',
  },
  { command: /^debugfs /, output: /^( ?(?:c|a|m|cr|d)time): .*$/gm, as: '$1: <time of the write>' },
  { command: /^debugfs /, output: /Generation: \d+/g, as: 'Generation: <random>' },
];

const DOMAIN_CFG =
  'name = "vm01"\nmemory = 512\nbootloader = "/usr/bin/pygrub"\ndisk = [ "file:/srv/xen/vm01.img,xvda,w" ]\n';

export const PYGRUB_FIX: Scenario[] = [
  {
    playbook: 'pygrub-fix',
    id: 'rewrite',
    label: 'the incident: GRUB 2 partition names, Xen 4.0.1 (rewrite)',
    async prepare(dir) {
      const img = path.join(dir, 'srv/xen/vm01.img');
      mkdirSync(path.dirname(img), { recursive: true });
      await incidentImage(img);
      return host(dir, [img, '--yes']);
    },
  },
  {
    playbook: 'pygrub-fix',
    id: 'activate',
    label: 'swap first, /boot second, Xen 4.0.x (activate)',
    async prepare(dir) {
      const img = path.join(dir, 'srv/xen/vm01.img');
      mkdirSync(path.dirname(img), { recursive: true });
      // The classic layout of a small guest: swap first, /boot second, no active flag.
      await buildImage(img, {
        bytes: 1 * GiB,
        label: 'dos',
        partitions: [
          { start: 2048, size: 204800, type: '82' },
          { start: 206848, size: 262144, type: '83', fs: { type: 'ext2', files: await bootFiles('(hd0,msdos2)') } },
        ],
      });
      return host(dir, [img, '--strategy', 'activate', '--yes']);
    },
  },
  {
    playbook: 'pygrub-fix',
    id: 'offset',
    label: '/boot on a logical partition, Xen 4.17 (offset)',
    async prepare(dir) {
      const root = path.join(dir, 'root');
      mkdirSync(path.join(root, 'srv/xen'), { recursive: true });
      mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
      await buildImage(path.join(root, 'srv/xen/vm01.img'), {
        bytes: 1 * GiB,
        label: 'dos',
        partitions: [
          { start: 2048, size: 204800, type: '82' },
          { start: 206848, type: '5' },
          {
            start: 206848 + 2048,
            size: 262144,
            type: '83',
            fs: { type: 'ext2', files: await bootFiles('(hd0,msdos5)') },
          },
        ],
      });
      writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), DOMAIN_CFG);
      return host(
        dir,
        [
          '/srv/xen/vm01.img',
          '--xen-version',
          '4.17',
          '--strategy',
          'offset',
          '--domain-config',
          '/etc/xen/vm01.cfg',
          '--yes',
        ],
        root,
      );
    },
  },
  {
    playbook: 'pygrub-fix',
    id: 'pvgrub',
    label: 'boot through pv-grub instead (pvgrub)',
    async prepare(dir) {
      const root = path.join(dir, 'root');
      mkdirSync(path.join(root, 'srv/xen'), { recursive: true });
      mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
      mkdirSync(path.join(root, 'usr/lib/xen/boot'), { recursive: true });
      writeFileSync(path.join(root, 'usr/lib/xen/boot/pv-grub-x86_64.gz'), 'pv-grub');
      writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), DOMAIN_CFG);
      await incidentImage(path.join(root, 'srv/xen/vm01.img'), { bytes: 2 * GiB });
      return host(
        dir,
        ['/srv/xen/vm01.img', '--strategy', 'pvgrub', '--domain-config', '/etc/xen/vm01.cfg', '--yes'],
        root,
      );
    },
  },
  {
    playbook: 'pygrub-fix',
    id: 'in-use',
    label: 'the guest still running (refused)',
    exitCode: 3,
    async prepare(dir) {
      const img = path.join(dir, 'srv/xen/vm01.img');
      mkdirSync(path.dirname(img), { recursive: true });
      await incidentImage(img);
      return host(dir, [img, '--yes'], undefined, img);
    },
  },
  {
    playbook: 'pygrub-fix',
    id: 'restore',
    label: 'putting the backups back (--restore)',
    async prepare(dir) {
      const img = path.join(dir, 'srv/xen/vm01.img');
      mkdirSync(path.dirname(img), { recursive: true });
      await incidentImage(img);
      const p = host(dir, [img, '--restore', '--yes']);
      // The rewrite the restore undoes (not recorded).
      const fix = await runInProcess(path.join(ROOT, 'playbooks/pygrub-fix.mjs'), [img, '--yes'], {
        ...(p.sim ? { sim: p.sim } : {}),
      });
      if (fix.code !== 0) throw new Error(`pygrub-fix before --restore: exit ${fix.code}: ${fix.stderr}`);
      return p;
    },
  },
];
