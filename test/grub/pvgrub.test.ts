import { describe, expect, it } from 'vitest';
import { switchToPvgrub, pvgrubExtra, domainDisks } from 'xen-runbooks/grub';
import { diskTargetPath, parseXlListLong } from 'xen-runbooks/disk';

const K = '/usr/lib/xen/boot/pv-grub-x86_64.gz';

describe('switching a domain config to pv-grub', () => {
  it('comments out what would conflict and adds kernel and extra after the bootloader line', () => {
    const cfg = [
      'name = "vm01"',
      "bootloader = 'pygrub'",
      'bootloader_args = ["--entry=1"]',
      'kernel = "/boot/vmlinuz-old"',
      'ramdisk = "/boot/initrd-old"',
      'extra = "console=hvc0"',
      'disk = [ "phy:/dev/vg0/vm01,xvda,w" ]',
      '',
    ].join('\n');
    expect(switchToPvgrub(cfg, { kernel: K, extra: '(hd0,0)/grub/menu.lst' })).toBe(
      [
        'name = "vm01"',
        "#bootloader = 'pygrub'",
        `kernel = "${K}"`,
        'extra = "(hd0,0)/grub/menu.lst"',
        '#bootloader_args = ["--entry=1"]',
        '#kernel = "/boot/vmlinuz-old"',
        '#ramdisk = "/boot/initrd-old"',
        '#extra = "console=hvc0"',
        'disk = [ "phy:/dev/vg0/vm01,xvda,w" ]',
        '',
      ].join('\n'),
    );
  });

  it('is idempotent, and appends when there was no bootloader line', () => {
    const once = switchToPvgrub('name = "a"\nbootloader="/usr/bin/pygrub"\n', {
      kernel: K,
      extra: '(hd0,4)/grub/grub.cfg',
    });
    expect(switchToPvgrub(once, { kernel: K, extra: '(hd0,4)/grub/grub.cfg' })).toBe(once);
    expect(switchToPvgrub('name = "a"\n', { kernel: K })).toBe(`name = "a"\nkernel = "${K}"\n`);
  });

  it('refuses values that would break the config', () => {
    expect(() => switchToPvgrub('', { kernel: 'a"b' })).toThrow(/quotes/);
  });

  it('extra names the partition GRUB legacy style; PVGRUB2 needs none', () => {
    expect(pvgrubExtra('pv-grub-legacy', 1, '/grub/grub.cfg')).toBe('(hd0,0)/grub/grub.cfg');
    expect(pvgrubExtra('pv-grub-legacy', 5, '/grub/menu.lst')).toBe('(hd0,4)/grub/menu.lst');
    expect(pvgrubExtra('pv-grub-legacy', null, '/boot/grub/grub.cfg')).toBe('(hd0)/boot/grub/grub.cfg');
    expect(pvgrubExtra('pvgrub2', 1, '/grub/grub.cfg')).toBeUndefined();
  });
});

describe('disk targets', () => {
  it('reads the disks of a domain config and of xl list -l', () => {
    expect(domainDisks("disk = [ 'file:/srv/vm01.img,xvda,w',\n  'phy:/dev/sr0,xvdc:cdrom,r' ]\n")).toEqual([
      'file:/srv/vm01.img,xvda,w',
      'phy:/dev/sr0,xvdc:cdrom,r',
    ]);
    expect(diskTargetPath('tap:aio:/srv/vm01.img')).toBe('/srv/vm01.img');
    expect(diskTargetPath('file:/srv/vm01.img,xvda,w')).toBe('/srv/vm01.img');
    expect(
      parseXlListLong(
        JSON.stringify([{ domid: 3, config: { c_info: { name: 'vm01' }, disks: [{ pdev_path: '/srv/vm01.img' }] } }]),
      ),
    ).toEqual([{ domain: 'vm01', targets: ['/srv/vm01.img'] }]);
  });
});
