/**
 * pygrub-fix against a real Xen 4.17 (the lab): an image whose entries only BootLoaderSpec files
 * hold really fails `xl create` through Xen's own pygrub, and pygrub-fix names why (and refuses
 * --strategy pvgrub for it: Debian's PVGRUB2 has no blscfg either); the classic Ubuntu-style image
 * (GRUB 2 partition names) repaired by pygrub-fix boots as a PV guest through Xen's pygrub; an
 * image whose entries name their device through `($root)` fails in pygrub and, after
 * `--strategy pvgrub`, boots through PVGRUB2 (grub-xen-host's grub-x86_64-xen.bin as kernel=).
 * Each boot ends with the guest's /init printing a marker on its console.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
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
  PVGRUB2_X86_64,
  rootVariableGrubCfg,
} from 'xen-runbooks/lab';
import { labKernel, startLab, type Lab } from './lab.js';

let lab: Lab;
let kernel: Buffer;

beforeAll(async () => {
  lab = await startLab();
  kernel = gzippedElfKernel(labKernel(lab));
}, 1_800_000);

afterAll(async () => {
  await lab?.stop(['bls', 'classic', 'pvg']);
}, 120_000);

/** Write the domain config into dom0 and `xl create` it. */
async function create(name: string, image: string) {
  const cfg = pvConfig({ name, disk: `/mnt/lab/${path.basename(image)}`, bootloader: 'pygrub' });
  await lab.ssh(`cat > /etc/xen/${name}.cfg`, cfg);
  await lab.clear(name); // an earlier attempt's (vitest.config.ts: retry)
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

    // PVGRUB2 is the host's GRUB (grub-xen-host), built without the blscfg command Fedora adds:
    // --strategy pvgrub is no way out either, and the domain config stays as it was.
    const cfgFile = path.join(lab.share, 'bls.cfg');
    const cfg = pvConfig({ name: 'bls', disk: '/mnt/lab/bls.img', bootloader: 'pygrub' });
    writeFileSync(cfgFile, cfg);
    const pv = await runPlaybook('pygrub-fix', [image, '--strategy', 'pvgrub', '--domain-config', cfgFile, '--yes']);
    expect(pv.code).toBe(1);
    expect(pv.stderr).toContain('[bls-config]');
    expect(readFileSync(cfgFile, 'utf8')).toBe(cfg);
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

  test('($root) devices: xl create fails in pygrub; after --strategy pvgrub the domain boots through PVGRUB2', async () => {
    const image = path.join(lab.share, 'pvg.img');
    const marker = `XR-PVGRUB-${process.pid}`;
    await guestImage(image, { kernel, marker, grubCfg: rootVariableGrubCfg() });
    const cfgFile = path.join(lab.share, 'pvg.cfg');
    writeFileSync(cfgFile, pvConfig({ name: 'pvg', disk: '/mnt/lab/pvg.img', bootloader: 'pygrub' }));
    const image0 = readFileSync(image);

    await lab.clear('pvg'); // an earlier attempt's (vitest.config.ts: retry)
    const refused = await lab.ssh('xl create /mnt/lab/pvg.cfg');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('bootloader failed');
    expect((await lab.ssh('xl list pvg')).code).not.toBe(0);

    const fix = await runPlaybook('pygrub-fix', [
      image,
      '--strategy',
      'pvgrub',
      '--domain-config',
      cfgFile,
      '--yes',
      '--json',
    ]);
    expect(fix.stderr).not.toMatch(/✗ \[\d/);
    expect(fix.code).toBe(0);
    const cfg = readFileSync(cfgFile, 'utf8');
    expect(cfg).toMatch(new RegExp(`^kernel\\s*=\\s*"${PVGRUB2_X86_64}"$`, 'm'));
    expect(cfg).not.toMatch(/^bootloader\s*=/m);
    expect(readFileSync(`${cfgFile}.orig`, 'utf8')).toContain('bootloader = "pygrub"');
    // The image itself is left as it was: PVGRUB2 reads it as GRUB 2 would.
    expect(readFileSync(image).equals(image0)).toBe(true);

    // dom0 gets this machine's PVGRUB2 at the path the config names.
    copyFileSync(PVGRUB2_X86_64, path.join(lab.share, 'grub-x86_64-xen.bin'));
    const dir = path.dirname(PVGRUB2_X86_64);
    expect((await lab.ssh(`mkdir -p ${dir} && ln -sf /mnt/lab/grub-x86_64-xen.bin ${PVGRUB2_X86_64}`)).code).toBe(0);
    const r = await lab.ssh('xl create /mnt/lab/pvg.cfg');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const consoleLog = await lab.waitForConsole('pvg', marker);
    // grub-x86_64-xen.bin's own memdisk grub.cfg searches for /boot/grub/grub.cfg and says so.
    expect(consoleLog).toMatch(/Reading \(xen\/xvda,msdos1\)\/boot\/grub\/grub\.cfg/);
    expect(consoleLog).toContain('Run /init as init process');
    expect(consoleLog).toContain(marker);
  }, 1_800_000);
});
