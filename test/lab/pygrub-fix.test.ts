/**
 * pygrub-fix against a real Xen 4.17 (the lab): an image whose entries only BootLoaderSpec files
 * hold really fails `xl create` through Xen's own pygrub, and pygrub-fix names why; the classic
 * Ubuntu-style image (GRUB 2 partition names) repaired by pygrub-fix boots as a PV guest through
 * Xen's pygrub: the guest's /init prints a marker on its console.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runPlaybook } from '../helpers/playbook.js';
import {
  blsEntry,
  BLS_GRUB_CFG,
  classicGrubCfg,
  guestImage,
  gzippedElfKernel,
  INITRD,
  KERNEL,
  pvConfig,
} from 'xen-runbooks/lab';
import { labKernel, startLab, type Lab } from './lab.js';

let lab: Lab;
let kernel: Buffer;

beforeAll(async () => {
  lab = await startLab();
  kernel = gzippedElfKernel(labKernel(lab));
}, 1_800_000);

afterAll(async () => {
  await lab?.stop();
}, 120_000);

/** Write the domain config into dom0 and `xl create` it. */
async function create(name: string, image: string) {
  const cfg = pvConfig({ name, disk: `/mnt/lab/${path.basename(image)}`, bootloader: 'pygrub' });
  await lab.ssh(`cat > /etc/xen/${name}.cfg`, cfg);
  return lab.ssh(`xl create /etc/xen/${name}.cfg`);
}

describe('pygrub-fix on a real Xen 4.17 host', () => {
  test('BootLoaderSpec entries only: xl create fails in pygrub, pygrub-fix names blscfg and changes nothing', async () => {
    const image = path.join(lab.share, 'bls.img');
    await guestImage(image, {
      kernel,
      marker: 'XR-BLS-NEVER',
      grubCfg: BLS_GRUB_CFG,
      extra: { 'boot/loader/entries/lab.conf': blsEntry() },
    });
    const before = readFileSync(image);
    const r = await create('bls', image);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('bootloader failed');
    const log = await lab.ssh('cat /var/log/xen/bootloader.*.log');
    expect(log.stdout).toContain('Unable to find partition containing kernel');
    expect((await lab.ssh('xl list bls')).code).not.toBe(0);

    const fix = await runPlaybook('pygrub-fix', [image, '--xen-version', '4.17', '--yes', '--json']);
    expect(fix.code).toBe(1);
    expect(JSON.stringify(fix.json)).toContain('blscfg');
    expect(readFileSync(image).equals(before)).toBe(true);
  }, 1_800_000);

  test("GRUB 2 partition names: the image pygrub-fix repaired boots as a PV guest through Xen's own pygrub", async () => {
    const image = path.join(lab.share, 'classic.img');
    const marker = `XR-PYGRUB-${process.pid}`;
    await guestImage(image, { kernel, marker, grubCfg: classicGrubCfg() });

    const fix = await runPlaybook('pygrub-fix', [image, '--yes', '--json']);
    expect(fix.stderr).not.toContain('failed');
    expect(fix.code).toBe(0);
    const listed = await lab.ssh(`/usr/lib/xen-4.17/bin/pygrub -q -l /mnt/lab/classic.img`);
    expect(listed.stdout).toContain(`kernel: ${KERNEL}`);
    expect(listed.stdout).toContain(`initrd: ${INITRD}`);
    expect(listed.stdout).not.toContain('msdos1');

    const r = await create('classic', image);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const consoleLog = await lab.waitForConsole('classic', marker);
    expect(consoleLog).toContain('Run /init as init process');
    expect(consoleLog).toContain(marker);
  }, 1_800_000);
});
