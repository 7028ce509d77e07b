/** Types of the xl/xm simulator (xl.mjs), for the TypeScript tests. */

export interface XlSeedVif {
  devid?: number;
  /** Generated (00:16:3e:…) when absent. */
  mac?: string;
  /** Default xenbr0. */
  bridge?: string;
  model?: string;
  /** As in a vif spec: `10Mb/s`, `1MB/s@20ms` (libxl's record: what the interface was attached with). */
  rate?: string;
  /** The backend's rate key after a xenstore-write, `bytes,usecs`. */
  xsRate?: string;
  /** What netback enforces after a xenstore-write it watched ('' unlimited). */
  enforced?: string;
  [key: string]: unknown;
}

export interface XlSeedDisk {
  vdev: string;
  target?: string;
  /** Default raw. */
  format?: string;
  /** Default rw. */
  access?: string;
  devtype?: 'cdrom' | 'disk';
  /** libxl's backend (phy, qdisk, ...): chosen at `xl create`; seeded, as for a target that exists. */
  backend?: string;
}

export interface XlSeedDomain {
  name: string;
  /** Default: the next free id after Domain-0. */
  domid?: number;
  /** Default hvm (Domain-0: pv). */
  type?: 'hvm' | 'pv' | 'pvh';
  /** MiB, current target (default 1024). */
  memory?: number;
  /** MiB, static maximum (default: memory). */
  maxmem?: number;
  /** Online vCPUs (default 1). */
  vcpus?: number;
  /** Boot maximum (default: vcpus). */
  maxvcpus?: number;
  /** The State column of xl list (default -b----). */
  state?: string;
  cpu_time?: number;
  /** Scheduler weight (default 256) and cap (default 0). */
  weight?: number;
  cap?: number;
  /** Its cpupool (default: the first pool). */
  pool?: string;
  /** PV drivers in the guest: graceful shutdown and ballooning work (default false; Domain-0 true). */
  pvDrivers?: boolean;
  /**
   * The guest's PV frontends (netfront, blkfront) have connected: network-list/block-list show
   * state 4 and ring keys, a vif backend is Connected (4). Default: a PV guest, or an HVM guest
   * with pvDrivers. A guest `xl create` starts has none connected (state 1, evt-ch -1).
   */
  frontends?: boolean;
  /** An HVM guest whose OS brings a hot-added vCPU online by itself (default false: xl list's VCPUs stays). */
  guestOnlinesVcpus?: boolean;
  /** What xl stored at create (the text `xl list -l` parses up to Xen 4.4); default: the seeded values. */
  created?: { memory?: number; maxmem?: number; vcpus?: number; maxvcpus?: number; vifs?: XlSeedVif[] };
  vifs?: XlSeedVif[];
  disks?: XlSeedDisk[];
  /** The configuration the domain was created from (keys and values). */
  config?: Record<string, unknown>;
}

export interface XlSeed {
  /** Fields of `xl info` to override (see DEFAULT_INFO): e.g. free_memory, virt_caps, xen_scheduler. */
  info?: Record<string, string | number>;
  domains?: XlSeedDomain[];
  /**
   * Force autoballoon on or off. Absent: xl decides as its release does, from /etc/xen/xl.conf
   * (under XR_SIM_ROOT) and `xen_commandline` (on unless it has dom0_mem=, from 4.3; on before).
   */
  autoballoon?: boolean;
  /** For xm: xend is running (default false). */
  xend?: boolean;
  /** dom0's bridges; absent: any valid interface name is one. */
  bridges?: string[];
  /** The cpupools; absent: Pool-0 with every CPU under info.xen_scheduler. */
  cpupools?: { name: string; sched: string; cpus: number }[];
  /** Overrides for Domain-0 (default 2048 MiB, nr_cpus vCPUs). */
  dom0?: Partial<XlSeedDomain>;
}

export interface XlDomain extends Required<Omit<XlSeedDomain, 'vifs' | 'disks' | 'config' | 'pool'>> {
  pool?: string;
  uuid: string;
  vifs: (XlSeedVif & { devid: number; mac: string; bridge: string })[];
  disks: XlSeedDisk[];
  config: Record<string, unknown>;
  /** After `xl vcpu-set` asked an HVM guest for fewer vCPUs: the availability written, not applied. */
  availability?: number;
  /** After `xl mem-set` on a guest without a balloon driver: the target it was asked to reach. */
  target?: number;
  /** For domains created by `xl create`: the absolute path of the config file. */
  configFile?: string;
}

export interface XlState {
  info: Record<string, string | number>;
  autoballoon: boolean | null;
  xend: boolean;
  nextDomid: number;
  domains: XlDomain[];
}

export declare const DEFAULT_INFO: Record<string, string | number>;
/** Write $dir/xl.json: a host with Domain-0 and the given domains. */
export declare function seedXl(dir: string, seed?: XlSeed): XlState;
/** The state (undefined: no hypervisor). */
export declare function readXl(dir: string): XlState | undefined;
/** Run one command line in-process. */
export declare function runXl(
  tool: 'xl' | 'xm',
  argv: string[],
  dir: string,
  opts?: { root?: string },
): { code: number; stdout: string; stderr: string };
/**
 * The backend libxl 4.17 gives a disk (phy, qdisk, standalone), or the libxl error refusing it:
 * `p` is a disk spec as parseDiskSpec reads it; `stat` says what its target is.
 */
export declare function diskBackend(
  p: Record<string, string | undefined>,
  domType: string,
  stat: (target: string) => 'file' | 'block' | 'other' | 'missing',
): { backend: string } | { where: string; error: string; domain?: true };
/** The device number xl shows for a vdev (hda 768, hdc 5632, xvda 51712). */
export declare function vdevNumber(vdev: string): number;
export declare function main(tool: 'xl' | 'xm'): void;
/** `xenstore-write PATH VALUE…`: a vif backend's rate (netback applies it where it watches the key). */
export declare function runXenstoreWrite(argv: string[], dir: string): { code: number; stdout: string; stderr: string };
/** What netback enforces on a vif (`bytes,usecs`), undefined: unlimited. */
export declare function enforcedRate(v: XlSeedVif): string | undefined;
/** `xenstore-read PATH…`: a guest's control/feature-balloon (1 when it has PV drivers); a vif backend's state and rate. */
export declare function runXenstoreRead(argv: string[], dir: string): { code: number; stdout: string; stderr: string };
