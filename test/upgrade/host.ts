/**
 * A host tree for xen-upgrade-check (--root): a dozen guests of different shapes in /etc/xen,
 * their disk images built by sfdisk and mke2fs (test/fixtures/images.ts) with partition tables
 * shaped as the oracle's (test/fixtures/oracle/pygrub/tables/*.sh) and boot configs taken from
 * the oracle's corpus, so that each pygrub verdict can be compared with what the real pygrub of
 * each release did (results.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { modelPygrub, parseXenVersion, type ConfigKind } from 'xen-runbooks/grub';
import type { PartSpec, Tree } from 'xen-runbooks/disk';
import { GiB, GPT, buildImage, bzImage, initrd, lvmLabel } from '../fixtures/images.js';
import { ORACLE, configText, kindOf } from '../pygrub/oracle-data.js';

/** A pygrub guest: the oracle config on its /boot, in a table shaped as an oracle table. */
export interface PygrubGuest {
  name: string;
  /** The oracle's config (results.json configs). */
  oracleConfig: string;
  /** The oracle's table (results.json tables). */
  oracleTable: 'mbr-p1-boot-active' | 'mbr-logical-p5-boot' | 'gpt-biosboot-p1-boot-p2';
}

export const PYGRUB_GUESTS: readonly PygrubGuest[] = [
  { name: 'ubuntu1204', oracleConfig: 'grub2-ubuntu1204-submenu-msdos1.cfg', oracleTable: 'mbr-p1-boot-active' },
  { name: 'rhel8-bls', oracleConfig: 'grub2-rhel8-blscfg.cfg', oracleTable: 'mbr-p1-boot-active' },
  { name: 'logical-boot', oracleConfig: 'grub2-ubuntu-paren-msdos5.cfg', oracleTable: 'mbr-logical-p5-boot' },
  { name: 'centos5-menulst', oracleConfig: 'grub-menulst-basic.lst', oracleTable: 'mbr-p1-boot-active' },
  { name: 'gpt-ubuntu', oracleConfig: 'grub2-ubuntu-paren-gpt2.cfg', oracleTable: 'gpt-biosboot-p1-boot-p2' },
];

/** Where each oracle table puts /boot (sectors of 512 bytes), as its .sh writes it. */
const BOOT_AT: Record<PygrubGuest['oracleTable'], number> = {
  'mbr-p1-boot-active': 2048,
  'mbr-logical-p5-boot': 1052672,
  'gpt-biosboot-p1-boot-p2': 4096,
};

/**
 * What the release's own pygrub did with this guest, from the oracle: the config booted
 * (run_grub returned) and the partition search reached /boot's offset.
 */
export function oracleBoots(g: PygrubGuest, release: string): boolean {
  const group = parseXenVersion(release).group.id;
  const cfg = ORACLE.configs[g.oracleConfig]?.results[group];
  const table = ORACLE.tables[g.oracleTable]?.results[group];
  if (!cfg || !table) throw new Error(`no oracle cell for ${g.name} at ${release} (${group})`);
  const offset = BOOT_AT[g.oracleTable] * 512;
  const reached =
    table.status === 'ok' && (Array.isArray(table.result) ? table.result.includes(offset) : table.result === offset);
  return cfg.run_grub.status === 'ok' && reached;
}

const CONFIG_PATH: Record<ConfigKind, string> = {
  grub2: 'grub/grub.cfg',
  'grub-legacy': 'grub/menu.lst',
  extlinux: 'extlinux.conf',
};

/** The /boot files: the config, and a kernel and initrd at every path its entries name. */
async function bootFiles(name: string): Promise<Tree> {
  const text = configText(name);
  const kind = kindOf((ORACLE.configs[name] as { kind: 'grub2' | 'grub' | 'extlinux' }).kind);
  const files: Tree = { [CONFIG_PATH[kind]]: text };
  const model = modelPygrub(text, kind, parseXenVersion('4.17'));
  const kernel = await bzImage('gzip', '3.2.0-23-generic');
  const rd = await initrd('3.2.0-23-generic');
  for (const img of model.images) {
    for (const [p, data] of [
      [img.kernel, kernel],
      [img.initrd, rd],
    ] as const) {
      if (!p || p.includes('$')) continue;
      const rel = p.replace(/^\([^)]*\)/, '').replace(/^\/+/, '');
      if (rel) files[rel] = data;
    }
  }
  return files;
}

function partitions(table: PygrubGuest['oracleTable'], files: Tree): { label: 'dos' | 'gpt'; parts: PartSpec[] } {
  const fs = { type: 'ext2' as const, files };
  if (table === 'mbr-p1-boot-active')
    return {
      label: 'dos',
      parts: [
        { start: 2048, size: 497664, type: '83', bootable: true, fs },
        { start: 501758, size: 3000000, type: '5' },
        { start: 501760, size: 2990000, type: '8e', raw: lvmLabel() },
      ],
    };
  if (table === 'mbr-logical-p5-boot')
    return {
      label: 'dos',
      parts: [
        { start: 2048, size: 1048576, type: '82' },
        { start: 1050624, size: 3000000, type: '5' },
        { start: 1052672, size: 497664, type: '83', fs },
        { start: 1552384, size: 2000000, type: '8e', raw: lvmLabel() },
      ],
    };
  return {
    label: 'gpt',
    parts: [
      { start: 2048, size: 2048, type: GPT.biosBoot },
      { start: 4096, size: 497664, type: GPT.linux, fs },
      { start: 501760, size: 2000000, type: GPT.linux },
    ],
  };
}

export async function pygrubImage(file: string, g: PygrubGuest): Promise<void> {
  const { label, parts } = partitions(g.oracleTable, await bootFiles(g.oracleConfig));
  await buildImage(file, { bytes: 2 * GiB, label, partitions: parts });
}

/** The xm config with Python the issue names: arithmetic, % formatting, a list built with +. */
export const XM_PYTHON_CFG = `# xend configuration, written when the host ran Xen 3.x
import os
vmid = 7
name = "web%02d" % vmid
memory = 256 * 2
maxmem = memory + 512
vcpus = 4 / 2
kernel = "/boot/guests/vmlinuz-2.6.32-5-xen-amd64"
ramdisk = "/boot/guests/initrd.img-2.6.32-5-xen-amd64"
root = "/dev/xvda1 ro"
disk = [ 'file:/srv/xen/%s-disk.img,xvda1,w' % name ] + [ 'file:/srv/xen/%s-swap.img,xvda2,w' % name ]
vif = [ 'mac=00:16:3e:00:00:%02x, bridge=xenbr0' % vmid ]
on_reboot = 'restart'
localtime = True
`;

/** Code no reading can evaluate: xm would run it, this check refuses to guess. */
export const XM_CODE_CFG = `import socket
name = "db01"
memory = 1024
kernel = "/boot/guests/vmlinuz-2.6.32-5-xen-amd64"
extra = "hostname=" + socket.gethostname()
`;

/** The expected verdicts of the guests that are not pygrub's, per target. */
export const EXPECTED: Record<string, Record<'4.0.1' | '4.4' | '4.17', 'starts' | 'will-not-start' | 'cannot-tell'>> = {
  web07: { '4.0.1': 'starts', '4.4': 'will-not-start', '4.17': 'will-not-start' },
  db01: { '4.0.1': 'cannot-tell', '4.4': 'will-not-start', '4.17': 'will-not-start' },
  'hvm-builder': { '4.0.1': 'starts', '4.4': 'starts', '4.17': 'starts' },
  'hvm-type': { '4.0.1': 'will-not-start', '4.4': 'will-not-start', '4.17': 'starts' },
  'hvm-rombios': { '4.0.1': 'starts', '4.4': 'starts', '4.17': 'will-not-start' },
  'pv-xz': { '4.0.1': 'will-not-start', '4.4': 'starts', '4.17': 'starts' },
  'xend-linux': { '4.0.1': 'starts', '4.4': 'starts', '4.17': 'will-not-start' },
  'kernel-gone': { '4.0.1': 'will-not-start', '4.4': 'will-not-start', '4.17': 'will-not-start' },
};

/** Build the host under `root`: configs in /etc/xen, images in /srv/xen, kernels in /boot/guests. */
export async function buildHost(root: string): Promise<void> {
  const etc = path.join(root, 'etc/xen');
  const srv = path.join(root, 'srv/xen');
  const kernels = path.join(root, 'boot/guests');
  for (const d of [etc, srv, kernels, path.join(etc, 'scripts')]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(etc, 'xl.conf'), '#autoballoon="auto"\n');
  writeFileSync(path.join(etc, 'scripts/vif-bridge'), '#!/bin/sh\n');
  for (const g of PYGRUB_GUESTS) {
    const img = `/srv/xen/${g.name}.img`;
    await pygrubImage(path.join(root, img), g);
    writeFileSync(
      path.join(etc, `${g.name}.cfg`),
      `name = "${g.name}"\nmemory = 512\nvcpus = 1\nbootloader = "pygrub"\ndisk = ['format=raw, vdev=xvda, access=rw, target=${img}']\nvif = ['bridge=xenbr0']\n`,
    );
  }
  writeFileSync(path.join(kernels, 'vmlinuz-2.6.32-5-xen-amd64'), await bzImage('gzip', '2.6.32-5-xen-amd64'));
  writeFileSync(path.join(kernels, 'initrd.img-2.6.32-5-xen-amd64'), await initrd('2.6.32-5-xen-amd64'));
  writeFileSync(path.join(kernels, 'vmlinuz-4.19-xz'), await bzImage('xz', '4.19.0-xz'));
  writeFileSync(path.join(etc, 'web07.cfg'), XM_PYTHON_CFG);
  writeFileSync(path.join(etc, 'db01'), XM_CODE_CFG);
  const hvm = (extra: string) =>
    `memory = 1024\nvcpus = 2\n${extra}disk = ['format=raw, vdev=hda, access=rw, target=/srv/xen/win.img']\nvnc = 1\nboot = "c"\n`;
  writeFileSync(path.join(etc, 'hvm-builder.cfg'), `name = "hvm-builder"\nbuilder = "hvm"\n${hvm('')}`);
  writeFileSync(path.join(etc, 'hvm-type.cfg'), `name = "hvm-type"\ntype = "hvm"\n${hvm('')}`);
  writeFileSync(
    path.join(etc, 'hvm-rombios.cfg'),
    `name = "hvm-rombios"\nbuilder = "hvm"\n${hvm('bios = "rombios"\n')}`,
  );
  const pv = (name: string, kernel: string, extra = '') =>
    `name = "${name}"\n${extra}memory = 512\nkernel = "${kernel}"\nroot = "/dev/xvda1 ro"\ndisk = ['phy:/dev/vg0/${name},xvda1,w']\n`;
  writeFileSync(path.join(etc, 'pv-xz.cfg'), pv('pv-xz', '/boot/guests/vmlinuz-4.19-xz'));
  writeFileSync(
    path.join(etc, 'xend-linux.cfg'),
    pv('xend-linux', '/boot/guests/vmlinuz-2.6.32-5-xen-amd64', "builder = 'linux'\n"),
  );
  writeFileSync(path.join(etc, 'kernel-gone.cfg'), pv('kernel-gone', '/boot/guests/vmlinuz-2.6.18-xen'));
}
