/**
 * The known reasons pygrub cannot boot a PV guest, each with what it concerns in the image,
 * the Xen releases it affects, and the way out. The runbook's diagnosis table is generated
 * from this list; the playbook reports findings by these ids. The releases named are computed
 * from the model of each release group's pygrub (PYGRUB_CODE) and the release table generated
 * from the oracle (PYGRUB_GROUPS): the page, the playbook and the tests read the same data.
 */
import { PYGRUB_CODE, codeOf, type PygrubCode } from './pygrub-model.js';
import type { PygrubGroup } from './pygrub-releases.js';
import { CHANGES, KNOWN_RELEASES, firstReleaseWithOption, type XenVersion } from './version.js';

/**
 * The playbook's ways out: rewrite the config in the image (and, for Xen 4.0.x, set the MBR
 * active flag), give pygrub the partition's offset in the domain config (Xen 4.4.0+), or boot
 * through pv-grub / PVGRUB2.
 */
export type Strategy = 'rewrite' | 'activate' | 'offset' | 'pvgrub';

export interface CatalogueEntry {
  id: string;
  title: string;
  /** What happens, in plain words. */
  explanation: string;
  /** The config line or part of the image it concerns. */
  concerns: string;
  /** The Xen releases it affects, for people: exact releases, from the release table. */
  xen: string;
  /** Whether it affects the pygrub (or domain builder) of this release. */
  affects: (v: XenVersion) => boolean;
  /** error: pygrub or the domain builder fails; warning: it boots, but not as the guest meant. */
  severity: 'error' | 'warning';
  /** The way out. */
  fix: string;
  /** Which of the playbook's ways out resolve it (none: the way out is by hand, in the guest). */
  strategies: readonly Strategy[];
}

/** The known releases where `pred` holds, as ranges: `4.0.0 – 4.1.2, 4.2.0`. */
export function releasesWhere(pred: (code: PygrubCode, group: PygrubGroup, release: string) => boolean): string {
  const runs: string[][] = [];
  let run: string[] | null = null;
  for (const k of KNOWN_RELEASES) {
    const code = PYGRUB_CODE[k.group.id] as PygrubCode;
    if (pred(code, k.group, k.release)) {
      if (!run) runs.push((run = []));
      run.push(k.release);
    } else run = null;
  }
  if (!runs.length) return 'none';
  if (runs.length === 1 && runs[0]?.length === KNOWN_RELEASES.length) return `all (${runs[0][0]} – ${runs[0].at(-1)})`;
  return runs.map((r) => (r.length === 1 ? r[0] : `${r[0]} – ${r.at(-1)}`)).join(', ');
}

const all = () => true;
const by = (pred: (c: PygrubCode) => boolean) => (v: XenVersion) => pred(codeOf(v));
const offsetFrom = firstReleaseWithOption('offset') ?? '4.4.0';
/** The group's pygrub looks for menu.lst (and grub.conf) before grub.cfg: cfg_list in Grub.read_config. */
const menuLstFirst = (_c: PygrubCode, g: PygrubGroup) => {
  const kinds = g.searchOrder.map(([, kind]) => kind);
  return kinds.indexOf('grub-legacy') < kinds.indexOf('grub2');
};
/** Where the release reads menu.lst first, a hand-written one is a way out that needs no change to grub.cfg. */
const menuLstWayOut = ` On ${releasesWhere(menuLstFirst)}, pygrub reads /boot/grub/menu.lst (/grub/menu.lst on a separate /boot) before grub.cfg: a hand-written GRUB legacy menu.lst there is another way out, which update-grub leaves alone.`;

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: 'grub2-menuentry-quotes',
    title: 'menuentry titles in single quotes',
    explanation:
      'The GRUB 2 reader of Xen 4.0.0 knows only `menuentry "Title" … {`: grub-mkconfig\'s `menuentry \'Title\' … {` is not an entry to it, and the entry\'s closing brace raises "syntax error: closing brace without menuentry".',
    concerns: "menuentry 'Title' --class … { lines",
    xen: releasesWhere((c) => c.menuentry === 'double-greedy'),
    affects: by((c) => c.menuentry === 'double-greedy'),
    severity: 'error',
    fix:
      'Rewrite the title in double quotes (titles holding ", $, \\ or ` are left for another way out), keeping grub.cfg.orig; or boot through pv-grub.' +
      menuLstWayOut,
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-submenu',
    title: 'A submenu block',
    explanation:
      'grub-mkconfig puts older kernels in a `submenu` ("Previous Linux versions", "Advanced options"). Before Xen 4.1.3 / 4.2.0 GrubConf.py does not know submenus: their closing brace raises "syntax error: closing brace without menuentry". An Ubuntu 12.04 guest gets one with its first kernel update.',
    concerns: 'submenu "…" { … } in grub.cfg',
    xen: releasesWhere((c) => !c.submenu),
    affects: by((c) => !c.submenu),
    severity: 'error',
    fix:
      'Comment out the submenu line and its closing brace: the entries inside become top-level entries (pygrub and GRUB both read that), keeping grub.cfg.orig; or boot through pv-grub.' +
      menuLstWayOut,
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-partition-name',
    title: 'GRUB 2 partition names',
    explanation:
      'GRUB 2 names partitions msdos1, gpt2 (counting from 1). GrubConf.py\'s GrubDiskPart of these releases splits `(hd0,msdos1)` at the comma and calls int() on `msdos1`: ValueError, the partition is skipped, and xend reports "Boot loader didn\'t return any data!". Lines pygrub does not parse (search --hint-bios=hd0,msdos1, a top-level set root) do no harm.',
    concerns:
      "set root='(hd0,msdos1)' or set root='hd0,msdos1' inside a menuentry; linux (hd0,msdos1)/vmlinuz; initrd (hd0,gpt2)/initrd.img",
    xen: `msdosN: ${releasesWhere((c) => !c.msdos)}; gptN: ${releasesWhere((c) => !c.gpt)}`,
    affects: by((c) => !c.msdos || !c.gpt),
    severity: 'error',
    fix:
      'Rewrite the names GRUB legacy style, counting from 0 (msdos1 → 0, msdos5 → 4, gpt2 → 1), keeping grub.cfg.orig; or boot through pv-grub.' +
      menuLstWayOut,
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-device-unparseable',
    title: 'Device names no pygrub parses',
    explanation:
      'A device pygrub parses must look like (hdN) or (hdN,M) (and (/dev/xvdX,M) from 4.4.0). LVM, MD RAID, nested BSD labels or a variable as the device, such as (lvm/vg-boot)/vmlinuz or ($root)/vmlinuz, make every pygrub raise.',
    concerns: 'set root=, linux, initrd inside a menuentry with a device other than (hdN,…)',
    xen: releasesWhere(all),
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
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: 'Simplify the config in the guest (custom entries in /etc/grub.d/40_custom are the usual source), or boot through PVGRUB2.',
    strategies: ['pvgrub'],
  },
  {
    id: 'grub2-default-variable',
    title: 'A variable as the default entry',
    explanation:
      'With GRUB_DEFAULT=saved, grub-mkconfig writes set default="${saved_entry}" (and "${next_entry}" in a recordfail block). Releases that do not know the variable call int() on the text as it stands: ValueError, and the partition is skipped. Later releases boot entry 0.',
    concerns: 'set default="${saved_entry}" or set default="${next_entry}" at the top level of grub.cfg',
    xen: `\${saved_entry}: ${releasesWhere((c) => c.savedNext === 'none')}; \${next_entry}: ${releasesWhere((c) => c.savedNext === 'none' || c.savedNext === 'saved')}`,
    affects: by((c) => c.savedNext === 'none' || c.savedNext === 'saved'),
    severity: 'error',
    fix: "Rewrite the value to 0 (the first entry, what newer pygrub does anyway); durably: GRUB_DEFAULT=0 in the guest's /etc/default/grub, then update-grub.",
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-default-title',
    title: 'A title as the default entry',
    explanation:
      'GRUB_DEFAULT="Advanced options for Ubuntu>Ubuntu, with Linux 3.13.0-24-generic" (or any title) makes grub-mkconfig write the title as the default. Most releases call int() on it and raise ValueError; 4.3.4 and 4.4.2 – 4.12.x look the title up (its last part after ">"); from 4.13.0 any text default silently boots entry 0, which may be another kernel than the guest meant.',
    concerns: 'set default="Title" (or default Title in menu.lst) at the top level',
    xen: `raises: ${releasesWhere((c) => c.default === 'int')}; entry 0 instead: ${releasesWhere((c) => c.default === 'int-or-0')}`,
    affects: by((c) => c.default !== 'str'),
    severity: 'error',
    fix: 'Rewrite the default to the number of the entry it names, as pygrub counts entries (0 when no entry has that title); durably: GRUB_DEFAULT=N in the guest.',
    strategies: ['rewrite'],
  },
  {
    id: 'grub2-linux16',
    title: 'linux16 / initrd16 entries',
    explanation:
      'RHEL 7 and its rebuilds write linux16 and initrd16. Before the "RHEL 7 has new commands" change GrubConf.py ignores those lines, the entry has no kernel, and run_grub raises TypeError on it.',
    concerns: 'linux16 and initrd16 lines inside a menuentry',
    xen: releasesWhere((c) => !c.linux16),
    affects: by((c) => !c.linux16),
    severity: 'error',
    fix: 'Rewrite linux16 → linux and initrd16 → initrd (GRUB 2 boots either way), keeping grub.cfg.orig.',
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'legacy-empty-root',
    title: 'A root line without a device in menu.lst',
    explanation:
      "Debian's update-grub writes an \"Other operating systems:\" separator: a title followed by a bare `root` line. Every release's GrubDiskPart calls int('') on it: ValueError, and the partition is skipped.",
    concerns: 'a line `root` with nothing after it in menu.lst',
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: "Comment the bare root line out (# root), keeping menu.lst.orig; durably: remove the separator from the guest's update-grub settings.",
    strategies: ['rewrite', 'pvgrub'],
  },
  {
    id: 'grub2-variable-path',
    title: 'A variable in a kernel or initrd path',
    explanation:
      'pygrub does not expand GRUB variables: a path such as /vmlinuz-$version is looked up literally, not found, and the boot fails.',
    concerns: 'linux or initrd lines whose path holds $name or ${name}',
    xen: releasesWhere(all),
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
    xen: releasesWhere(all),
    affects: all,
    severity: 'warning',
    fix: 'Usually harmless; to be exact, set the argument in GRUB_CMDLINE_LINUX in the guest and run update-grub, or use PVGRUB2.',
    strategies: [],
  },
  {
    id: 'bls-config',
    title: 'BootLoaderSpec entries (blscfg)',
    explanation:
      'Fedora 30+, RHEL/CentOS 8+ write grub.cfg with the blscfg command and no menuentry: the entries live in /boot/loader/entries/*.conf, which no pygrub reads. It finds no entry and gives up (IndexError in run_grub).',
    concerns: 'blscfg in grub.cfg and no menuentry; files in /boot/loader/entries/',
    xen: releasesWhere(all),
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
    concerns: `the release's search order: ${releasesWhere(menuLstFirst)} look for /boot/grub/menu.lst, /boot/grub/grub.conf, /grub/menu.lst, /grub/grub.conf first, then /boot/grub/grub.cfg, /grub/grub.cfg (/boot/grub2/grub.cfg from 4.1.3) and the extlinux configs; ${releasesWhere((c, g) => !menuLstFirst(c, g))} look for grub.cfg first, then the extlinux configs, and menu.lst and grub.conf last`,
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: "Install a boot loader config in the guest (update-grub, grub2-mkconfig), or boot the kernel directly: kernel= and ramdisk= in the domain's config (copied out of the image).",
    strategies: [],
  },
  {
    id: 'no-kernel-entry',
    title: 'No entry with a kernel',
    explanation: 'The config has no menuentry (or title) with a linux/kernel line: pygrub has nothing to boot.',
    concerns: 'menuentry blocks without linux; an empty menu',
    xen: releasesWhere(all),
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
    xen: releasesWhere(all),
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
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: 'Rebuild it in the guest (update-initramfs -u -k VERSION, dracut -f) and run update-grub.',
    strategies: [],
  },
  {
    id: 'kernel-compression',
    title: 'Kernel compressed with a method this Xen cannot load',
    explanation:
      'pygrub hands the kernel over, then the domain builder must decompress it: each method came with a release (and only works when the tools were built with its library). The error comes after pygrub: "xc_dom_probe_bzimage_kernel: unable to ... decompress kernel" or "no loader found".',
    concerns:
      'the kernel file: magic bytes of the bzImage payload (zstd 28 b5 2f fd, lz4 02 21 4c 18, xz fd 37 7a 58 5a 00, lzo 89 4c 5a 4f, bzip2 42 5a 68, lzma 5d 00 00)',
    xen: `lzo before ${CHANGES.lzo}, xz before ${CHANGES.xz} (and 4.2.0), lz4 before ${CHANGES.lz4}, zstd before ${CHANGES.zstd}`,
    affects: all,
    severity: 'error',
    fix: 'Install a gzip-compressed kernel in the guest (or decompress it: scripts/extract-vmlinux from the kernel sources, and point the entry at the ELF), or upgrade Xen.',
    strategies: [],
  },
  {
    id: 'boot-fs-unreadable',
    title: '/boot on a filesystem pygrub cannot read',
    explanation:
      'pygrub reads filesystems through libfsimage / libxenfsimage: ext2/3/4, FAT, ISO 9660, ReiserFS, UFS, ZFS and XFS version 4 only. btrfs, XFS as modern mkfs.xfs makes it (version 5, with CRCs) and LUKS are closed to it.',
    concerns: 'the filesystem of the partition holding /boot',
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: 'Give the guest a small plain ext2/ext4 /boot partition; or boot through PVGRUB2 (GRUB 2 reads btrfs and XFS v5), or as PVH/HVM.',
    strategies: ['pvgrub'],
  },
  {
    id: 'root-in-lvm',
    title: 'No /boot outside LVM',
    explanation:
      'There is no separate /boot and the root filesystem is inside LVM (or MD RAID): pygrub reads partitions, not logical volumes, and finds no config.',
    concerns: 'the partition types and signatures: an LVM2 physical volume and no ext2/3/4 partition with a config',
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: 'Add a separate plain ext /boot partition in the guest, or boot through PVGRUB2 (GRUB 2 reads LVM), or as HVM.',
    strategies: ['pvgrub'],
  },
  {
    id: 'boot-on-logical',
    title: '/boot on a logical partition',
    explanation:
      "pygrub tries only the four primary slots of an MBR disk (the extended partition's start among them, where no filesystem is): a /boot in partition 5 or later is never looked at.",
    concerns: 'the partition holding the config: numbered 5 or higher',
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: `Tell pygrub the partition's byte offset: bootloader_args = ['--offset=N'] in the xl config (PV-bootloader-args with xe), Xen ${offsetFrom} and later; or boot through pv-grub, or move /boot to a primary partition.`,
    strategies: ['offset', 'pvgrub'],
  },
  {
    id: 'boot-not-tried',
    title: 'A /boot partition pygrub does not try',
    explanation:
      "Xen 4.0.x's get_fs_offset reads one partition: the first marked active, else the first slot (empty or not). 4.1.0 – 4.5.2 and 4.6.0 – 4.6.1 try no partition at all when the MBR has no valid entry (an empty table, a lone Solaris partition without a disk label), and 4.1.3 – 4.5.2, 4.6.0 – 4.6.1 likewise for a protective MBR with no GPT behind it.",
    concerns: "the MBR's active flag and slots; the partition holding the config",
    xen: releasesWhere((c) => c.partitions.fn === 'get_fs_offset' || !c.partitions.emptyIsWholeDisk),
    affects: by((c) => c.partitions.fn === 'get_fs_offset' || !c.partitions.emptyIsWholeDisk),
    severity: 'error',
    fix: `On 4.0.x: mark the /boot partition active (sfdisk --activate IMAGE N; the MBR sector is kept as IMAGE.mbr.orig). From ${offsetFrom}: bootloader_args = ['--offset=N']. Or boot through pv-grub.`,
    strategies: ['activate', 'offset', 'pvgrub'],
  },
  {
    id: 'partition-raises',
    title: 'A swap partition where 4.0.x looks for /boot',
    explanation:
      'Xen 4.0.x takes MBR type 0x82 for an old Solaris partition (FDISK_PART_SOLARIS_OLD), and type 0x82 is Linux swap: when the partition it picks (the active one, else slot 1) is swap, it looks for a Solaris disk label there and raises "Invalid disklabel magic". 4.1.0 and later skip such a partition.',
    concerns: 'partition 1 (or the active one) of type 82',
    xen: releasesWhere((c) => c.partitions.fn === 'get_fs_offset'),
    affects: by((c) => c.partitions.fn === 'get_fs_offset'),
    severity: 'error',
    fix: 'Mark the /boot partition active (sfdisk --activate IMAGE N; the MBR sector is kept as IMAGE.mbr.orig); or boot through pv-grub.',
    strategies: ['activate', 'pvgrub'],
  },
  {
    id: '4k-sectors',
    title: 'A disk with 4096-byte sectors',
    explanation:
      'pygrub multiplies every partition start by 512 and reads the GPT header at byte 512, whatever the sector size: on a 4Kn disk (MBR or GPT) it opens the wrong offsets and finds no filesystem.',
    concerns:
      "the partition table: sectors of 4096 bytes (the device's logical sector size, or a GPT header at byte 4096)",
    xen: releasesWhere(all),
    affects: all,
    severity: 'error',
    fix: `Tell pygrub the partition's byte offset (bootloader_args = ['--offset=N'], Xen ${offsetFrom} and later); or boot through pv-grub, or give the guest a disk with 512-byte logical sectors.`,
    strategies: ['offset', 'pvgrub'],
  },
  {
    id: 'hidden-config',
    title: 'A config hidden by one found first',
    explanation:
      "pygrub takes the first config of its release's search order: a stale grub.cfg left over from GRUB 2 hides a menu.lst that the guest really boots with (4.2.0 and later look for grub.cfg first), and on 4.0.x / 4.1.x a stale menu.lst hides grub.cfg.",
    concerns: 'grub.cfg and menu.lst (or grub.conf) both present',
    xen: releasesWhere(all),
    affects: all,
    severity: 'warning',
    fix: 'Remove (or rename) the config the guest does not use, after checking which one that is.',
    strategies: [],
  },
  {
    id: 'ext-features',
    title: 'ext4 features an older dom0 cannot read',
    explanation:
      "pygrub reads ext4 through the dom0's libext2fs: a filesystem with an incompatible feature (64bit, metadata_csum_seed, large_dir, casefold, encrypt, inline_data, ...) cannot be opened by a libext2fs older than the e2fsprogs release that introduced the feature. Compatible features (orphan_file, ...) are ignored by a read-only open.",
    concerns: 'the incompatible feature flags in the superblock of the filesystem holding /boot',
    xen: "all (it depends on the dom0's e2fsprogs, not on the Xen release)",
    affects: all,
    severity: 'warning',
    fix: 'In the guest: tune2fs -O ^FEATURE on an unmounted /boot (where the feature can be removed), or make /boot with mke2fs -t ext4 -O ^64bit,^metadata_csum_seed; or newer e2fsprogs in dom0.',
    strategies: [],
  },
];

export function entry(id: string): CatalogueEntry {
  const e = CATALOGUE.find((c) => c.id === id);
  if (!e) throw new Error(`no catalogue entry '${id}'`);
  return e;
}

/** Whether a way out exists on this release (and in this situation). */
export function strategyFits(s: Strategy, v: XenVersion): boolean {
  const code = codeOf(v);
  if (s === 'offset') return v.group.options.includes('offset');
  if (s === 'activate') return code.partitions.fn === 'get_fs_offset';
  return true;
}

/** What a way out needs, for the report. */
export function strategyNeeds(s: Strategy): string {
  if (s === 'offset') return `Xen ${offsetFrom} or later (pygrub --offset)`;
  if (s === 'activate') return 'Xen 4.0.x (its pygrub reads only the active partition)';
  if (s === 'pvgrub') return 'a pv-grub or PVGRUB2 image on the host (any Xen)';
  return 'the release given with --xen-version';
}
