/**
 * Guests for the lab tests, built at test time: a PV guest's disk image (sfdisk + mke2fs -d) whose
 * /boot holds the lab's real Debian kernel and a tiny initrd whose /init (busybox) prints a marker
 * on the console and powers the guest off; and the domain configs that boot it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as disk from 'xen-runbooks/disk';
import type { Tree } from 'xen-runbooks/disk';

const $ = disk.localCommands();

/** A newc cpio with /init printing MARKER and powering off (busybox-static from this machine). */
export function markerInitrd(marker: string): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-lab-initrd-'));
  try {
    mkdirSync(path.join(dir, 'bin'));
    mkdirSync(path.join(dir, 'proc'));
    mkdirSync(path.join(dir, 'dev'));
    copyFileSync('/usr/bin/busybox', path.join(dir, 'bin/busybox'));
    chmodSync(path.join(dir, 'bin/busybox'), 0o755);
    writeFileSync(
      path.join(dir, 'init'),
      `#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho ${marker}\n/bin/busybox poweroff -f\n`,
      { mode: 0o755 },
    );
    return execFileSync('sh', ['-c', 'find . | sort | cpio -o -H newc -R 0:0 --quiet'], {
      cwd: dir,
      maxBuffer: 1 << 26,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const KERNEL = '/boot/vmlinuz-lab';
export const INITRD = '/boot/initrd.img-lab';

/** GRUB 2 menu as grub-mkconfig writes it, partition named the GRUB 2 way (pygrub 4.17 reads it). */
export function classicGrubCfg(args = 'console=hvc0'): string {
  return `set default="0"
set timeout=5
insmod part_msdos
insmod ext2
set root='(hd0,msdos1)'
menuentry 'Debian GNU/Linux, lab kernel' --class debian {
	insmod part_msdos
	insmod ext2
	set root='(hd0,msdos1)'
	echo	'Loading Linux ...'
	linux	${KERNEL} root=/dev/xvda1 ro ${args}
	initrd	${INITRD}
}
`;
}

/** The kernel's menu entry only inside an `if` block: GRUB 2 runs it, 4.17's pygrub sees no entry. */
export function ifOnlyGrubCfg(args = 'console=hvc0'): string {
  return `set default="0"
set timeout=5
if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
if [ -s \${prefix}/grubenv ]; then
  menuentry 'Debian GNU/Linux, lab kernel' --class debian {
	insmod part_msdos
	insmod ext2
	linux	${KERNEL} root=/dev/xvda1 ro ${args}
	initrd	${INITRD}
  }
fi
`;
}

/** A dos-labelled image, one ext4 partition holding /boot (grub.cfg, the kernel, the initrd). */
export async function guestImage(
  file: string,
  o: { vmlinuz: string; marker: string; grubCfg: string; mib?: number },
): Promise<void> {
  const files: Tree = {
    'boot/grub/grub.cfg': o.grubCfg,
    [KERNEL.slice(1)]: readFileSync(o.vmlinuz),
    [INITRD.slice(1)]: markerInitrd(o.marker),
  };
  await disk.buildImage($, file, {
    bytes: (o.mib ?? 48) * 1024 * 1024,
    label: 'dos',
    partitions: [{ start: 2048, type: '83', bootable: true, fs: { type: 'ext4', files } }],
  });
}

/** An xl domain config for a PV guest on FILE (a dom0 path). */
export function pvConfig(o: {
  name: string;
  disk: string;
  bootloader?: 'pygrub';
  kernel?: string;
  memory?: number;
  maxmem?: number;
  vcpus?: number;
  maxvcpus?: number;
  vif?: string;
  extra?: string[];
}): string {
  const lines = [`name = "${o.name}"`];
  if (o.bootloader) lines.push(`bootloader = "${o.bootloader}"`);
  if (o.kernel) lines.push(`kernel = "${o.kernel}"`);
  lines.push(`memory = ${o.memory ?? 128}`);
  if (o.maxmem) lines.push(`maxmem = ${o.maxmem}`);
  lines.push(`vcpus = ${o.vcpus ?? 1}`);
  if (o.maxvcpus) lines.push(`maxvcpus = ${o.maxvcpus}`);
  lines.push(`disk = [ 'file:${o.disk},xvda,w' ]`);
  if (o.vif !== undefined) lines.push(`vif = [ '${o.vif}' ]`);
  lines.push('on_poweroff = "destroy"', 'on_reboot = "destroy"', 'on_crash = "destroy"');
  lines.push(...(o.extra ?? []));
  return `${lines.join('\n')}\n`;
}
