/**
 * The known reasons pygrub cannot boot a PV guest, each with what it concerns in the image,
 * the Xen releases it affects, and the way out. The runbook's diagnosis table is generated
 * from this list; the playbook reports findings by these ids.
 */
import { CHANGES, versionBelow, type XenVersion } from './version.js';

export type Strategy = 'rewrite' | 'pvgrub';

export interface CatalogueEntry {
  id: string;
  title: string;
  /** What happens, in plain words. */
  explanation: string;
  /** The config line or part of the image it concerns. */
  concerns: string;
  /** The Xen releases it affects, for people. */
  xen: string;
  /** Whether it affects the pygrub (or domain builder) of this release. */
  affects: (v: XenVersion) => boolean;
  /** error: pygrub or the domain builder fails; warning: it boots, but not as the guest meant. */
  severity: 'error' | 'warning';
  /** The way out. */
  fix: string;
  /** Which of the playbook's strategies resolve it (none: the way out is by hand, in the guest). */
  strategies: readonly Strategy[];
}

const all = () => true;
const below = (release: string) => (v: XenVersion) => versionBelow(v, release);

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: 'grub2-partition-name',
    title: 'GRUB 2 partition names',
    explanation:
      'GRUB 2 names partitions msdos1, gpt2 (counting from 1). pygrub\'s GrubConf.py of these releases splits `(hd0,msdos1)` at the comma and calls int() on `msdos1`: ValueError, the partition is skipped, and xend reports "Boot loader didn\'t return any data!". Lines pygrub does not parse (search --hint-bios=hd0,msdos1, a top-level set root) do no harm.',
    concerns:
      "set root='(hd0,msdos1)' or set root='hd0,msdos1' inside a menuentry; linux (hd0,msdos1)/vmlinuz; initrd (hd0,gpt2)/initrd.img",
    xen: 'TODO',
    affects: all,
    severity: 'error',
    fix: 'Rewrite the names GRUB legacy style, counting from 0 (msdos1 → 0, msdos5 → 4, gpt2 → 1), keeping grub.cfg.orig; or boot through pv-grub.',
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-device-unparseable',
    title: 'Device names no pygrub parses',
    explanation:
      'A device pygrub parses must look like (hdN) or (hdN,M). LVM, MD RAID, nested BSD labels or a variable as the device, such as (lvm/vg-boot)/vmlinuz or ($root)/vmlinuz, make every pygrub raise.',
    concerns: 'set root=, linux, initrd inside a menuentry with a device other than (hdN,…)',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Boot through PVGRUB2, which is GRUB 2 itself; or change the entry in the guest (GRUB_DISABLE_LINUX_UUID, a plain /boot partition) and run update-grub.',
    strategies: ['pvgrub'],
  },
  {
    id: 'pygrub-syntax',
    title: 'A config pygrub cannot follow',
    explanation:
      "pygrub's GRUB 2 reader knows menuentry, submenu, function and closing braces, line by line: a menuentry inside a menuentry, a brace it cannot match, or a set without a value makes it raise, and the partition is skipped.",
    concerns: 'the line named in the finding',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Simplify the config in the guest (custom entries in /etc/grub.d/40_custom are the usual source), or boot through PVGRUB2.',
    strategies: ['pvgrub'],
  },
  {
    id: 'grub2-default-variable',
    title: 'A variable as the default entry',
    explanation:
      'With GRUB_DEFAULT=saved, grub-mkconfig writes set default="${saved_entry}" (and "${next_entry}" on later releases). Old pygrub calls int() on the text as it stands: ValueError, and the partition is skipped.',
    concerns: 'set default="${saved_entry}", set default="${next_entry}", or a title, at the top level of grub.cfg',
    xen: 'TODO',
    affects: all,
    severity: 'error',
    fix: "Rewrite the value to 0 (the first entry, what newer pygrub does anyway); durably: GRUB_DEFAULT=0 in the guest's /etc/default/grub, then update-grub.",
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-variable-path',
    title: 'A variable in a kernel or initrd path',
    explanation:
      'pygrub does not expand GRUB variables: a path such as /vmlinuz-$version is looked up literally, not found, and the boot fails.',
    concerns: 'linux or initrd lines whose path holds $name or ${name}',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: "Write the path out in the guest's GRUB scripts (or /etc/grub.d/40_custom) and run update-grub; or boot through PVGRUB2.",
    strategies: ['pvgrub'],
  },
  {
    id: 'grub2-variable-args',
    title: 'A variable on the kernel command line',
    explanation:
      'pygrub passes the kernel arguments as written: $vt_handoff or ${extra_cmdline} reach the kernel literally instead of their values. The guest boots; the argument is simply wrong.',
    concerns: 'linux lines whose arguments hold $name',
    xen: 'all',
    affects: all,
    severity: 'warning',
    fix: 'Usually harmless; to be exact, set the argument in GRUB_CMDLINE_LINUX in the guest and run update-grub, or use PVGRUB2.',
    strategies: [],
  },
  {
    id: 'bls-config',
    title: 'BootLoaderSpec entries (blscfg)',
    explanation:
      'Fedora 30+, RHEL/CentOS 8+ write grub.cfg with the blscfg command and no menuentry: the entries live in /boot/loader/entries/*.conf, which pygrub does not read. It finds no entry and gives up.',
    concerns: 'blscfg in grub.cfg and no menuentry; files in /boot/loader/entries/',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'In the guest (booted another way): GRUB_ENABLE_BLSCFG=false in /etc/default/grub, then grub2-mkconfig -o /boot/grub2/grub.cfg. Or boot through PVGRUB2 built with blscfg, or as PVH/HVM.',
    strategies: [],
  },
  {
    id: 'no-config',
    title: 'No boot loader config',
    explanation:
      'None of the files pygrub looks for exists on any partition it tries: "couldn\'t find bootloader config file in the image provided".',
    concerns:
      '/boot/grub/grub.cfg, /grub/grub.cfg, /boot/grub2/grub.cfg, /grub2/grub.cfg, extlinux configs, menu.lst, grub.conf',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: "Install a boot loader config in the guest (update-grub, grub2-mkconfig), or boot the kernel directly: kernel= and ramdisk= in the domain's config (copied out of the image).",
    strategies: [],
  },
  {
    id: 'grub-cfg-only-legacy-xen',
    title: 'GRUB 2 config on a Xen that reads only GRUB legacy',
    explanation:
      'The pygrub of Xen 3.x reads menu.lst and grub.conf only; a guest with only grub.cfg has no config it can read.',
    concerns: 'grub.cfg present, no menu.lst or grub.conf',
    xen: 'before 4.0 (upstream; distribution builds may differ)',
    affects: below('4.0.0'),
    severity: 'error',
    fix: 'Write a /boot/grub/menu.lst in GRUB legacy syntax next to grub.cfg, or upgrade the host.',
    strategies: [],
  },
  {
    id: 'no-kernel-entry',
    title: 'No entry with a kernel',
    explanation: 'The config has no menuentry (or title) with a linux/kernel line: pygrub has nothing to boot.',
    concerns: 'menuentry blocks without linux; an empty menu',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Regenerate the config in the guest (update-grub after installing a kernel package), or boot a kernel directly.',
    strategies: [],
  },
  {
    id: 'kernel-missing',
    title: 'Kernel file missing',
    explanation:
      'The entry names a kernel that is not in the filesystem pygrub reads (removed, or the path is relative to another partition).',
    concerns: 'the path on the linux/kernel line',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Reinstall the kernel package in the guest and run update-grub, or pick another entry (pygrub --entry=N, bootloader_args in the domain config).',
    strategies: [],
  },
  {
    id: 'initrd-missing',
    title: 'Initrd file missing',
    explanation:
      'The entry names an initrd that is not there: pygrub stops with "The requested ramdisk file does not exist" (or fails copying it).',
    concerns: 'the path on the initrd line',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Rebuild it in the guest (update-initramfs -u -k VERSION, dracut -f) and run update-grub.',
    strategies: [],
  },
  {
    id: 'kernel-compression',
    title: 'Kernel compressed with a method this Xen cannot load',
    explanation:
      'pygrub hands the kernel over, then the domain builder must decompress it: lz4 kernels fail on releases before about 4.12, zstd before about 4.16, xz and lzo before about 4.2 (and bzip2, lzma, xz only when the tools were built with those libraries). The error comes after pygrub: "xc_dom_probe_bzimage_kernel: unable to ... decompress kernel" or "no loader found".',
    concerns:
      'the kernel file: magic bytes of the bzImage payload (zstd 28 b5 2f fd, lz4 02 21 4c 18, xz fd 37 7a 58 5a 00, bzip2 42 5a 68, lzma 5d 00 00)',
    xen: 'lz4 < 4.12, zstd < 4.16, xz/lzo < 4.2 (approximate)',
    affects: all,
    severity: 'error',
    fix: 'Install a gzip-compressed kernel in the guest (or decompress it: scripts/extract-vmlinux from the kernel sources, and point the entry at the ELF), or upgrade Xen.',
    strategies: [],
  },
  {
    id: 'boot-fs-unreadable',
    title: '/boot on a filesystem pygrub cannot read',
    explanation:
      'pygrub reads filesystems through libxenfsimage: ext2/3/4, FAT, ISO 9660, ReiserFS, UFS, ZFS and XFS version 4 only. btrfs, XFS as modern mkfs.xfs makes it (version 5, with CRCs) and LUKS are closed to it.',
    concerns: 'the filesystem of the partition holding /boot',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Give the guest a small ext2/ext4 /boot partition; or boot through PVGRUB2 (GRUB 2 reads btrfs and XFS v5), or as PVH/HVM.',
    strategies: [],
  },
  {
    id: 'root-in-lvm',
    title: 'No /boot outside LVM',
    explanation:
      'There is no separate /boot and the root filesystem is inside LVM (or MD RAID): pygrub reads partitions, not logical volumes, and finds no config.',
    concerns: 'the partition types and signatures: an LVM2 physical volume and no ext2/3/4 partition with a config',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Add a separate /boot partition in the guest, or boot through PVGRUB2 (GRUB 2 reads LVM), or as HVM.',
    strategies: [],
  },
  {
    id: 'boot-on-logical',
    title: '/boot on a logical partition',
    explanation:
      'pygrub tries only the four primary partition slots of an MBR disk (the whole disk when there is no table): a /boot in partition 5 or later is never looked at.',
    concerns: 'the partition holding the config: numbered 5 or higher',
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Boot through pv-grub (which reads logical partitions), or move /boot to a primary partition.',
    strategies: ['pvgrub'],
  },
  {
    id: '4k-sectors',
    title: 'A disk with 4096-byte sectors',
    explanation:
      'pygrub multiplies every partition start by 512 and reads the GPT header at byte 512, whatever the sector size: on a 4Kn disk (MBR or GPT) it opens the wrong offsets and finds no filesystem.',
    concerns:
      "the partition table: sectors of 4096 bytes (the device's logical sector size, or a GPT header at byte 4096)",
    xen: 'all',
    affects: all,
    severity: 'error',
    fix: 'Boot through pv-grub, or give the guest a disk with 512-byte logical sectors.',
    strategies: ['pvgrub'],
  },
  {
    id: 'hidden-config',
    title: 'A config hidden by one found first',
    explanation:
      'pygrub takes the first config of its search order: a stale /boot/grub/grub.cfg left over from GRUB 2 hides a menu.lst that the guest really boots with.',
    concerns: 'grub.cfg and menu.lst (or grub.conf) both present',
    xen: 'all',
    affects: all,
    severity: 'warning',
    fix: 'Remove (or rename) the config the guest does not use, after checking which one that is.',
    strategies: [],
  },
  {
    id: 'ext-features',
    title: 'ext4 features newer than the host can read',
    explanation:
      "pygrub reads ext4 through the dom0's libext2fs: a filesystem made by a newer mke2fs (metadata_csum_seed, orphan_file, large_dir, casefold, encrypt, inline_data) cannot be opened by an older one.",
    concerns: 'the feature flags in the superblock of the filesystem holding /boot',
    xen: "all (depends on the dom0's e2fsprogs)",
    affects: all,
    severity: 'warning',
    fix: 'In the guest: tune2fs -O ^FEATURE on an unmounted /boot (where the feature can be removed), or newer e2fsprogs in dom0.',
    strategies: [],
  },
];

function prevRelease(release: string): string {
  const [maj, min] = release.split('.').map(Number) as [number, number];
  return min > 0 ? `${maj}.${min - 1}` : `${maj - 1}.x`;
}

export function entry(id: string): CatalogueEntry {
  const e = CATALOGUE.find((c) => c.id === id);
  if (!e) throw new Error(`no catalogue entry '${id}'`);
  return e;
}
