/**
 * The upstream documentation of the tools and file formats each runbook uses, linked from its
 * page: Xen's manual pages (xenbits, the current release's), the xe CLI reference, XCP-ng's docs.
 */
export interface Upstream {
  title: string;
  href: string;
}

const XEN_MAN = 'https://xenbits.xen.org/docs/unstable/man';

export const UPSTREAM = {
  xlCfg: { title: 'xl.cfg(5)', href: `${XEN_MAN}/xl.cfg.5.html` },
  xl: { title: 'xl(1)', href: `${XEN_MAN}/xl.1.html` },
  xlNetwork: { title: 'xl-network-configuration(5)', href: `${XEN_MAN}/xl-network-configuration.5.html` },
  xlDisk: { title: 'xl-disk-configuration(5)', href: `${XEN_MAN}/xl-disk-configuration.5.html` },
  xlConf: { title: 'xl.conf(5)', href: `${XEN_MAN}/xl.conf.5.html` },
  pvgrub2: { title: 'PVGRUB2 (Xen wiki)', href: 'https://wiki.xenproject.org/wiki/PvGrub2' },
  xe: {
    title: 'xe command reference (XenServer 8)',
    href: 'https://docs.xenserver.com/en-us/xenserver/8/command-line-interface.html',
  },
  xcpng: { title: 'XCP-ng documentation', href: 'https://docs.xcp-ng.org/' },
  xcpngStorage: { title: 'XCP-ng: storage', href: 'https://docs.xcp-ng.org/storage/' },
  xcpngVms: { title: 'XCP-ng: VMs (Windows guests, guest tools)', href: 'https://docs.xcp-ng.org/vms/' },
  e2fsprogs: { title: 'debugfs(8), e2undo(8)', href: 'https://e2fsprogs.sourceforge.net/' },
  sfdisk: { title: 'sfdisk(8)', href: 'https://man7.org/linux/man-pages/man8/sfdisk.8.html' },
} as const satisfies Record<string, Upstream>;

/** What each runbook's page links to, in the order a reader needs it. */
export const UPSTREAM_BY_RUNBOOK: Record<string, readonly Upstream[]> = {
  'pygrub-fix': [UPSTREAM.xlCfg, UPSTREAM.xl, UPSTREAM.pvgrub2, UPSTREAM.sfdisk, UPSTREAM.e2fsprogs],
  'xcp-install': [UPSTREAM.xe, UPSTREAM.xcpng, UPSTREAM.xcpngStorage],
  'windows-hvm': [UPSTREAM.xlCfg, UPSTREAM.xlDisk, UPSTREAM.xl, UPSTREAM.xlConf, UPSTREAM.xcpngVms],
  'xen-qos': [UPSTREAM.xlNetwork, UPSTREAM.xlCfg, UPSTREAM.xl, UPSTREAM.xe, UPSTREAM.xcpng],
  'xen-upgrade-check': [UPSTREAM.xlCfg, UPSTREAM.xlDisk, UPSTREAM.xl, UPSTREAM.pvgrub2, UPSTREAM.xe],
};
