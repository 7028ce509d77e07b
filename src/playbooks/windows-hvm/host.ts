/** What windows-hvm reads on the host: Xen's own view (xl info, xl list), dom0's kernel, links, xend's device model. */
import path from 'node:path';
import { fail, type CommandFn, type FileStat, type Transport } from '../../engine/index.js';
import { parseXlInfo, type Toolstack } from '../../xen/hvmconfig.js';
import type { WindowsHvmState } from './state.js';

/** What reading the host needs from the run. */
export interface HostRun {
  readonly host: Transport;
  readonly $: CommandFn;
}

/**
 * `xl info` (or `xm info`) as a map, asked once per run and kept in the state; undefined when the
 * toolstack cannot talk to Xen (`state.xenInfo.error` says why: its last line of output).
 */
export async function xenInfo(
  run: HostRun,
  ts: Toolstack,
  state: WindowsHvmState,
): Promise<Record<string, string> | undefined> {
  if (!state.xenInfo) {
    const r = await run.$({ nothrow: true })`${ts} info`;
    state.xenInfo = r.ok
      ? { info: parseXlInfo(r.stdout), error: undefined }
      : { info: undefined, error: (r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`).split('\n').pop() };
  }
  return state.xenInfo.info;
}

/** Xen's version as xl info gives it (xen_version, else major.minor and extra). */
export function xenVersionText(info: Record<string, string>): string {
  return info.xen_version ?? `${info.xen_major}.${info.xen_minor}${info.xen_extra ?? ''}`;
}

/** This kernel runs on Xen: /proc/xen/capabilities says control_d, or /sys/hypervisor/type says xen. */
export async function runsOnXen(host: Transport): Promise<boolean> {
  return Boolean(
    (await host.readText('/proc/xen/capabilities'))?.includes('control_d') ||
    (await host.readText('/sys/hypervisor/type'))?.trim() === 'xen',
  );
}

/** Whether /boot/config-RELEASE builds the kernel as a dom0 (CONFIG_XEN_DOM0=y); undefined without that file. */
export async function dom0Capable(host: Transport, release: string): Promise<boolean | undefined> {
  const config = await host.readText(`/boot/config-${release}`);
  return config === undefined ? undefined : /^CONFIG_XEN_DOM0=y/m.test(config);
}

/** dom0's memory now, in MiB (`xl list 0` / `xm list 0`, column Mem). */
export async function dom0MemoryMiB($: CommandFn, ts: Toolstack): Promise<number | undefined> {
  const r = await $({ nothrow: true })`${ts} list 0`;
  const row = r.ok ? r.stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) : undefined;
  const mem = row ? Number(row.at(-4)) : NaN;
  return Number.isFinite(mem) ? mem : undefined;
}

/** The domain id in `xl list NAME` output (second line, second column). */
export function domidOf(listing: string): string | undefined {
  return listing.split('\n')[1]?.trim().split(/\s+/)[1];
}

/** Follow symbolic links (LVs are links to /dev/dm-N): the path reached and its stat, undefined when missing. */
export async function statFollow(host: Transport, p: string): Promise<{ path: string; stat: FileStat | undefined }> {
  let cur = p;
  for (let i = 0; i < 20; i++) {
    const st = await host.stat(cur);
    if (st?.type !== 'symlink') return { path: cur, stat: st };
    const target = await host.readlink(cur);
    if (target === undefined) return { path: cur, stat: st };
    cur = path.posix.resolve(path.posix.dirname(cur), target);
  }
  throw fail(`too many symbolic links from ${p}`);
}

/** xend's qemu-dm: /usr/lib64 on 64-bit Red Hat systems, /usr/lib elsewhere. */
export async function xendDeviceModel(host: Transport): Promise<string> {
  for (const p of ['/usr/lib64/xen/bin/qemu-dm', '/usr/lib/xen/bin/qemu-dm']) {
    if (await host.exists(p)) return p;
  }
  return '/usr/lib/xen/bin/qemu-dm';
}
