/**
 * Booting the lab: QEMU (software emulation, no KVM) loads Xen as a multiboot kernel, dom0's
 * kernel and initramfs as its modules, and forwards dom0's sshd to a port on 127.0.0.1.
 */
import { createServer } from 'node:net';
import { DOM0_ADDRESS, SHARE_TAG } from './initramfs.js';

export type Scheduler = 'credit' | 'credit2';

/**
 * How QEMU's TCG runs the machine's vCPUs: 'multi', a host thread each (QEMU's default for an x86
 * guest on an x86 host), or 'single', all in one thread by turns (`-accel tcg,thread=single`).
 * One machine alone runs best multi-threaded, and an HVM guest needs it (its device model in dom0
 * and its vCPU run at once: single-threaded, its SeaBIOS had not left the VGA option ROM after ten
 * minutes). Two machines on a two-core host need 'single': multi-threaded, their four vCPU threads
 * on two cores left a vCPU spinning on a lock the other's descheduled thread held (an `xl
 * cpupool-destroy` took minutes), where single-threaded each machine keeps to its core.
 */
export type TcgThreads = 'multi' | 'single';

export interface BootOptions {
  xen: string;
  vmlinuz: string;
  initrd: string;
  /** The machine's memory (MiB). */
  memoryMiB: number;
  cpus: number;
  /** dom0's memory (MiB), or 'none' to let Xen give dom0 everything (and balloon). */
  dom0MemMiB: number | 'none';
  sched: Scheduler;
  /** 'multi' unless given. */
  tcgThreads?: TcgThreads;
  sshPort: number;
  serialLog: string;
  pidFile: string;
  /** A directory of this machine dom0 mounts at /mnt/lab (virtio 9p). */
  shareDir?: string;
}

export const DEFAULT_BOOT = {
  memoryMiB: 3072,
  cpus: 2,
  dom0MemMiB: 1024,
  sched: 'credit2',
} as const satisfies Partial<BootOptions>;

/** Xen's command line. */
export function xenCommandLine(o: Pick<BootOptions, 'dom0MemMiB' | 'sched' | 'cpus'>): string {
  const parts = ['console=com1', 'com1=115200,8n1'];
  if (o.dom0MemMiB !== 'none') parts.push(`dom0_mem=${o.dom0MemMiB}M,max:${o.dom0MemMiB}M`);
  // guest_loglvl=all: what an HVM guest writes to port 0xE9 (hvmloader, a test's boot sector)
  // reaches `xl dmesg` (hvm.c hvm_print_line logs it at XENLOG_G_DEBUG, RELEASE-4.17.0).
  // bootscrub=0: QEMU's RAM starts zeroed, and Xen's boot scrub (default "idle": free memory
  // zeroed by idle CPUs from the boot on, heap_init_late in xen/common/page_alloc.c, "Scrubbing
  // Free RAM in background" on the serial line) wrote zeros over it again under emulation: 6.5 s
  // of QEMU's CPU a boot, and 5 s more to the boot itself with the vCPUs in one thread.
  parts.push(`dom0_max_vcpus=${o.cpus}`, `sched=${o.sched}`, 'noreboot', 'guest_loglvl=all', 'bootscrub=0');
  return parts.join(' ');
}

/** dom0's kernel command line (the multiboot module's string after the file name). */
export const DOM0_CMDLINE = 'console=hvc0 quiet';

/** A comma inside one of -initrd's module strings is written twice. */
export function qemuEscapeComma(s: string): string {
  return s.replace(/,/g, ',,');
}

/**
 * QEMU's user network, dom0's sshd forwarded to 127.0.0.1:PORT. Its DHCP server hands out
 * addresses from .100, away from dom0's static .15: an HVM guest's iPXE asks for one through
 * xenbr0, and with QEMU's default pool (from .15) it got dom0's address, and the connections
 * forwarded to dom0 went to the guest (ssh stopped answering while dom0 ran on). The forward
 * names dom0's address, since it defaults to the pool's first.
 */
export function userNetdev(sshPort: number): string {
  return `user,id=n0,dhcpstart=10.0.2.100,hostfwd=tcp:127.0.0.1:${sshPort}-${DOM0_ADDRESS}:22`;
}

/** The whole QEMU command. */
export function qemuArgv(o: BootOptions): string[] {
  const modules = [`${o.vmlinuz} ${DOM0_CMDLINE}`, o.initrd].map(qemuEscapeComma).join(',');
  return [
    'qemu-system-x86_64',
    '-machine',
    'q35',
    '-accel',
    o.tcgThreads === 'single' ? 'tcg,thread=single' : 'tcg',
    // Plain `-cpu max` crashes dom0 under QEMU 7.2's TCG; without SMAP it boots.
    '-cpu',
    'max,-smap',
    '-m',
    String(o.memoryMiB),
    '-smp',
    String(o.cpus),
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    o.xen,
    '-append',
    xenCommandLine(o),
    '-initrd',
    modules,
    '-netdev',
    userNetdev(o.sshPort),
    '-device',
    'e1000e,netdev=n0',
    ...(o.shareDir
      ? ['-virtfs', `local,path=${qemuEscapeComma(o.shareDir)},mount_tag=${SHARE_TAG},security_model=none,id=share`]
      : []),
    '-serial',
    `file:${o.serialLog}`,
    '-monitor',
    'none',
    '-daemonize',
    '-pidfile',
    o.pidFile,
  ];
}

/** A TCP port on 127.0.0.1 nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether PID is a running process (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What in a serial log says the boot failed (Xen panic, dom0 kernel panic). */
export function bootFailure(serial: string): string | undefined {
  const m = /(Panic on CPU \d+:[\s\S]{0,400}|Kernel panic - not syncing:[^\n]*)/.exec(serial);
  return m?.[1];
}
