/**
 * Is an image in use? Writing a guest's boot files while the guest runs corrupts them (its
 * kernel caches the filesystem), so the playbook asks every witness it has:
 * - the toolstack: the disks of running domains in `xl list -l` (JSON) and `xm list -l` (SXP);
 * - the kernel: loop devices attached to the file (xend's file: backend used them), and, for a
 *   block device, an exclusive open (O_EXCL fails with EBUSY while it is mounted or held);
 * - other processes: open file descriptors on the image (qemu's qdisk backend, another tool),
 *   from /proc of this machine.
 * Files are identified by device and inode (st_dev, st_ino), block devices by the device they
 * are (st_rdev): the same image held under another name (a hard link, a bind mount, a symlink,
 * /dev/dm-3 for /dev/vg0/vm01) is the same image.
 */
import { constants as fsc, promises as fsp, readdirSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { CommandFn, CommandResult } from '../engine/index.js';
import { procEntries, procText } from './proc.js';

export interface DomainUse {
  tool: 'xl' | 'xm';
  domain: string;
  target: string;
}

/** What identifies a file whatever its name: device and inode, or for a block device the device itself. */
export interface FileId {
  dev: bigint;
  ino: bigint;
  /** Set for a block device: its device number. */
  rdev?: bigint;
}

export async function fileId(p: string): Promise<FileId | undefined> {
  try {
    return idOf(await fsp.stat(p, { bigint: true }));
  } catch {
    return undefined;
  }
}

function fileIdSync(p: string): FileId | undefined {
  try {
    return idOf(statSync(p, { bigint: true }));
  } catch {
    return undefined;
  }
}

function idOf(st: BigIntStats): FileId {
  return { dev: st.dev, ino: st.ino, ...(st.isBlockDevice() ? { rdev: st.rdev } : {}) };
}

export function sameFile(a: FileId, b: FileId | undefined): boolean {
  if (!b) return false;
  if (a.rdev !== undefined || b.rdev !== undefined) return a.rdev === b.rdev;
  return a.dev === b.dev && a.ino === b.ino;
}

/** Linux's major and minor of a dev_t (glibc's gnu_dev_major / gnu_dev_minor). */
export function majorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

async function real(p: string): Promise<string> {
  try {
    return await fsp.realpath(p);
  } catch {
    return path.resolve(p);
  }
}

/** Strip the xend/xl prefixes from a disk target: `file:/x.img`, `tap:aio:/x.img`, `phy:/dev/vg/x`. */
export function diskTargetPath(target: string): string {
  const t = target
    .replace(/^(?:file|phy|tap2?:\w+|tap|aio|qcow2?|vhd|raw):/, '')
    .replace(/^(?:aio|qcow2?|vhd|raw):/, '');
  return t.split(',')[0] ?? t;
}

/** xl list -l: [{ config: { c_info: { name }, disks: [{ pdev_path }] } }]. */
export function parseXlListLong(json: string): { domain: string; targets: string[] }[] {
  const data = JSON.parse(json) as unknown;
  if (!Array.isArray(data)) return [];
  return data.map(
    (d: {
      domid?: number;
      config?: { c_info?: { name?: string }; disks?: { pdev_path?: string; target?: string }[] };
    }) => ({
      domain: d.config?.c_info?.name ?? `domid ${d.domid ?? '?'}`,
      targets: (d.config?.disks ?? []).map((x) => x.pdev_path ?? x.target ?? '').filter(Boolean),
    }),
  );
}

/** xm list -l: one (domain …) S-expression per domain, disks as (uname file:/path). */
export function parseXmListLong(sxp: string): { domain: string; targets: string[] }[] {
  return sxp
    .split(/^\(domain\b/m)
    .slice(1)
    .map((block) => ({
      domain: /\(name\s+([^)\s]+)\)/.exec(block)?.[1] ?? '?',
      targets: [...block.matchAll(/\(uname\s+([^)\s]+)\)/g)].map((m) => diskTargetPath(m[1] as string)),
    }));
}

/** Running domains whose disks are this image, by xl and xm. Tools that are missing or find no hypervisor say nothing. */
export async function domainsUsing($: CommandFn, image: string): Promise<{ uses: DomainUse[]; notes: string[] }> {
  // Both asked at once, before anything else here (one waits on xenstored or xend while the other
  // starts): read in this order.
  const tools = ['xl', 'xm'] as const;
  const answers = await Promise.all(tools.map((tool) => $({ nothrow: true })`${tool} list -l`));
  const want = new Set([path.resolve(image), await real(image)]);
  const id = await fileId(image);
  const uses: DomainUse[] = [];
  const notes: string[] = [];
  for (const [k, tool] of tools.entries()) {
    const r = answers[k] as CommandResult;
    if (r.exitCode === 127 || (/command not found|No such file/.test(r.stderr) && !r.stdout)) {
      notes.push(`${tool}: not installed`);
      continue;
    }
    if (!r.ok) {
      notes.push(`${tool} list -l failed (no hypervisor or toolstack here?): ${r.stderr.trim().split('\n')[0] ?? ''}`);
      continue;
    }
    let doms: { domain: string; targets: string[] }[] = [];
    try {
      doms = tool === 'xl' ? parseXlListLong(r.stdout || '[]') : parseXmListLong(r.stdout);
    } catch (e) {
      notes.push(`${tool} list -l printed something unexpected: ${(e as Error).message}`);
      continue;
    }
    for (const d of doms) {
      for (const t of d.targets) {
        const p = diskTargetPath(t);
        const same = want.has(path.resolve(p)) || want.has(await real(p)) || (id && sameFile(id, await fileId(p)));
        if (same) uses.push({ tool, domain: d.domain, target: t });
      }
    }
  }
  return { uses, notes };
}

/**
 * Loop devices whose backing file is this image, by device and inode: `losetup --list --json`
 * with BACK-INO and BACK-MAJ:MIN (util-linux), else each /sys/block/loopN/loop/backing_file.
 */
export async function loopDevicesOf($: CommandFn, image: string): Promise<string[]> {
  const id = await fileId(image);
  if (!id || id.rdev !== undefined) return [];
  const r = await $({ nothrow: true })`losetup --list --json --output NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN`;
  if (r.ok) {
    try {
      const data = JSON.parse(r.stdout || '{"loopdevices":[]}') as {
        loopdevices?: { name: string; 'back-file'?: string; 'back-ino'?: number | string; 'back-maj:min'?: string }[];
      };
      return (data.loopdevices ?? [])
        .filter((l) => String(l['back-ino']) === String(id.ino) && l['back-maj:min']?.trim() === majorMinor(id.dev))
        .map((l) => l.name);
    } catch {
      /* fall through to sysfs */
    }
  }
  const out: string[] = [];
  let loops: string[] = [];
  try {
    loops = (await fsp.readdir('/sys/block')).filter((d) => /^loop\d+$/.test(d));
  } catch {
    return out;
  }
  for (const loop of loops) {
    const file = await fsp.readFile(`/sys/block/${loop}/loop/backing_file`, 'utf8').then(
      (x) => x.trim(),
      () => undefined,
    );
    if (file && sameFile(id, await fileId(file))) out.push(`/dev/${loop}`);
  }
  return out;
}

/**
 * Processes of this machine with the image open, from /proc/PID/fd, by device and inode. The
 * stat calls are synchronous: a dom0 has thousands of descriptors, and one thread-pool round trip
 * each took 100 ms for 500 of them where the calls themselves take 2 ms.
 */
export async function processesHolding(image: string): Promise<{ pid: number; command: string }[]> {
  const id = await fileId(image);
  const out: { pid: number; command: string }[] = [];
  if (!id) return out;
  const pids = procEntries().filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  for (const pid of pids) {
    if (holdsFile(pid, id)) out.push({ pid: Number(pid), command: procText(`/proc/${pid}/comm`).trim() || '?' });
  }
  return out;
}

/** Has process PID the file open? stat() of /proc/PID/fd/N is the open file itself, whatever name it was opened by. */
function holdsFile(pid: string, id: FileId): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => sameFile(id, fileIdSync(`/proc/${pid}/fd/${fd}`)));
}

/** A block device held by the kernel (mounted, in a device-mapper table, attached to a domain's blkback) cannot be opened O_EXCL. */
export async function blockDeviceBusy(device: string): Promise<boolean> {
  try {
    const fh = await fsp.open(device, fsc.O_RDONLY | fsc.O_EXCL);
    await fh.close();
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EBUSY') return true;
    throw e;
  }
}
