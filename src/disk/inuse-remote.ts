/**
 * The in-use check of inuse.ts on a host over ssh, where Node does not run: the same witnesses,
 * read by one POSIX sh script whose output is parsed here. Files are still compared by device
 * and inode, as the host's own stat(2) says them (`stat -L -c`, GNU coreutils and BusyBox):
 * - processes with the image open: `stat -L` of every /proc/PID/fd/N (the open file, whatever
 *   name it was opened by); the runs that coordinate through the lock (/proc/locks, flock's
 *   children from /proc/PID/stat) are not users;
 * - loop devices: /sys/block/loopN/loop/backing_file, stat'ed on the host;
 * - a block device: no shell opens with O_EXCL, so the kernel's hold is read where it shows:
 *   mounted (/proc/self/mountinfo, its major:minor field) or held by device-mapper or md
 *   (/sys/dev/block/MAJ:MIN/holders). A running domain's blkback shows in `xl list -l`.
 */
import type { DiskHost } from './host-io.js';
import { parseStatLine, type HostFileInfo } from './host-io.js';
import { diskTargetPath, parseXlListLong, parseXmListLong, type DomainUse } from './inuse.js';

const SNAPSHOT = [
  'img=$1',
  // The toolstacks' running domains, each tool's exit status after its output (127: not installed).
  'for t in xl xm; do echo "==$t"; if command -v $t >/dev/null 2>&1; then $t list -l 2>/dev/null; echo "==rc $?"; else echo "==rc 127"; fi; done',
  'echo "==fds"; stat -L -c "%n|%f|%s|%d|%i|%t|%T" -- /proc/[0-9]*/fd/* 2>/dev/null',
  'echo "==locks"; cat /proc/locks 2>/dev/null',
  'echo "==stat"; cat /proc/[0-9]*/stat 2>/dev/null',
  'echo "==loops"',
  'for f in /sys/block/loop*/loop/backing_file; do',
  '  [ -r "$f" ] || continue; b=$(cat "$f"); n=${f#/sys/block/}; n=${n%%/*}',
  '  printf "%s|" "/dev/$n"; stat -L -c "%f|%s|%d|%i|%t|%T" -- "$b" 2>/dev/null || echo',
  'done',
  'echo "==mountinfo"; cat /proc/self/mountinfo 2>/dev/null',
  'echo "==holders"; [ -n "$2" ] && ls -1 "/sys/dev/block/$2/holders" 2>/dev/null',
  'echo "==end"',
].join('\n');

export interface ProcSnapshot {
  /** Open files: the process and what its descriptor is. */
  fds: { pid: number; file: HostFileInfo }[];
  /** Processes holding or waiting for a flock on an inode: `pid` and `major:minor:ino` (decimal). */
  locks: { pid: number; key: string }[];
  /** pid → [parent pid, command]. */
  procs: Map<number, [number, string]>;
  loops: { device: string; file: HostFileInfo | undefined }[];
  /** The major:minor of every mounted filesystem's device. */
  mounted: Set<string>;
  holders: string[];
  /** What `xl list -l` and `xm list -l` printed, and their exit status. */
  toolstacks: { tool: 'xl' | 'xm'; out: string; code: number }[];
}

function sections(out: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let cur: string[] | undefined;
  let last = '';
  for (const line of out.split('\n')) {
    const rc = /^==rc (\d+)$/.exec(line);
    if (rc) {
      map.set(`${last}:rc`, [rc[1] as string]);
      continue;
    }
    const m = /^==(\w+)$/.exec(line);
    if (m) last = m[1] as string;
    if (m) map.set(m[1] as string, (cur = []));
    else if (cur && line) cur.push(line);
  }
  return map;
}

/** Parse what SNAPSHOT printed. */
export function parseSnapshot(out: string): ProcSnapshot {
  const s = sections(out);
  if (!s.has('end')) throw new Error('the in-use check on the host did not finish');
  const fds: ProcSnapshot['fds'] = [];
  for (const line of s.get('fds') ?? []) {
    const m = /^\/proc\/(\d+)\/fd\/\d+\|(.*)$/.exec(line);
    const file = m ? parseStatLine(m[2] as string) : undefined;
    if (m && file) fds.push({ pid: Number(m[1]), file });
  }
  const locks: ProcSnapshot['locks'] = [];
  for (const line of s.get('locks') ?? []) {
    // 1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF   (fs/locks.c, lock_get_status; a waiter has "->")
    const m = /^\d+:\s+(?:->\s+)?FLOCK\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (m)
      locks.push({
        pid: Number(m[1]),
        key: `${parseInt(m[2] as string, 16)}:${parseInt(m[3] as string, 16)}:${m[4]}`,
      });
  }
  const procs = new Map<number, [number, string]>();
  for (const line of s.get('stat') ?? []) {
    // pid (comm) state ppid …: comm may hold spaces and parentheses (proc(5)).
    const open = line.indexOf('(');
    const close = line.lastIndexOf(')');
    if (open < 0 || close < open) continue;
    const ppid = Number(line.slice(close + 2).split(' ')[1]);
    procs.set(Number(line.slice(0, open).trim()), [ppid, line.slice(open + 1, close)]);
  }
  const loops = (s.get('loops') ?? []).map((line) => {
    const at = line.indexOf('|');
    return { device: line.slice(0, at), file: parseStatLine(line.slice(at + 1)) };
  });
  const mounted = new Set<string>();
  for (const line of s.get('mountinfo') ?? []) {
    const f = line.split(' ');
    if (f[2]) mounted.add(f[2]);
  }
  const toolstacks = (['xl', 'xm'] as const).map((tool) => ({
    tool,
    out: (s.get(tool) ?? []).join('\n'),
    code: Number(s.get(`${tool}:rc`)?.[0] ?? 127),
  }));
  return { fds, locks, procs, loops, mounted, holders: s.get('holders') ?? [], toolstacks };
}

/** `major:minor` (decimal) of a st_dev given in decimal: Linux's encoding (glibc gnu_dev_major/minor). */
export function devMajorMinor(dev: string): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

const same = (a: HostFileInfo, b: HostFileInfo | undefined) =>
  !!b && (a.rdev !== undefined || b.rdev !== undefined ? a.rdev === b.rdev : a.dev === b.dev && a.ino === b.ino);

/** The processes that coordinate through the image's flock, and their descendants. */
export function lockers(snap: ProcSnapshot, image: HostFileInfo): Set<number> {
  const key = `${devMajorMinor(image.dev)}:${image.ino}`;
  const set = new Set(snap.locks.filter((l) => l.key === key).map((l) => l.pid));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, [ppid]] of snap.procs)
      if (!set.has(pid) && set.has(ppid)) {
        set.add(pid);
        grew = true;
      }
  }
  return set;
}

/** Users of the image in the snapshot, one sentence each (as imageUsers says them locally). */
export function usersIn(snap: ProcSnapshot, image: HostFileInfo): string[] {
  const users: string[] = [];
  for (const l of snap.loops)
    if (same(image, l.file)) users.push(`it is attached to ${l.device} (its backing file, by device and inode)`);
  const skip = lockers(snap, image);
  const seen = new Set<number>();
  for (const f of snap.fds) {
    if (seen.has(f.pid) || skip.has(f.pid) || !same(image, f.file)) continue;
    seen.add(f.pid);
    users.push(`process ${f.pid} (${snap.procs.get(f.pid)?.[1] ?? '?'}) has it open`);
  }
  if (image.rdev && snap.mounted.has(image.rdev)) users.push('the kernel holds the device: it is mounted');
  if (image.rdev && snap.holders.length)
    users.push(
      `the kernel holds the device: ${snap.holders.join(', ')} sit${snap.holders.length === 1 ? 's' : ''} on it`,
    );
  return users;
}

/** stat -L of several host paths in one go. */
export async function statMany(host: DiskHost, paths: readonly string[]): Promise<(HostFileInfo | undefined)[]> {
  if (!paths.length) return [];
  const r = await host.exec([
    'sh',
    '-c',
    'for p; do stat -L -c "%f|%s|%d|%i|%t|%T" -- "$p" 2>/dev/null || echo; done',
    'sh',
    ...paths,
  ]);
  const lines = r.stdout.split('\n');
  return paths.map((_, i) => parseStatLine(lines[i] ?? ''));
}

/** Running domains whose disks are this image, from the toolstacks' answers in the snapshot. */
export async function remoteDomainsUsing(
  snap: ProcSnapshot,
  host: DiskHost,
  image: string,
  id: HostFileInfo,
): Promise<{ uses: DomainUse[]; notes: string[] }> {
  const uses: DomainUse[] = [];
  const notes: string[] = [];
  for (const { tool, out, code } of snap.toolstacks) {
    if (code === 127) {
      notes.push(`${tool}: not installed`);
      continue;
    }
    if (code !== 0) {
      notes.push(`${tool} list -l failed (exit ${code}): no hypervisor or toolstack here?`);
      continue;
    }
    let doms: { domain: string; targets: string[] }[];
    try {
      doms = tool === 'xl' ? parseXlListLong(out || '[]') : parseXmListLong(out);
    } catch (e) {
      notes.push(`${tool} list -l printed something unexpected: ${(e as Error).message}`);
      continue;
    }
    const all = doms.flatMap((d) => d.targets.map((t) => ({ domain: d.domain, target: t, path: diskTargetPath(t) })));
    const ids = await statMany(
      host,
      all.map((a) => a.path),
    );
    all.forEach((a, i) => {
      if (a.path === image || same(id, ids[i])) uses.push({ tool, domain: a.domain, target: a.target });
    });
  }
  return { uses, notes };
}

/** Everything on the host that uses the image, and what could not be asked. */
export async function remoteImageUsers(
  host: DiskHost,
  image: string,
  id: HostFileInfo,
): Promise<{ users: string[]; notes: string[] }> {
  const r = await host.exec(['sh', '-c', SNAPSHOT, 'sh', image, id.rdev ?? ''], { nothrow: true });
  const snap = parseSnapshot(r.stdout);
  const { uses, notes } = await remoteDomainsUsing(snap, host, image, id);
  const users = uses.map((u) => `domain ${u.domain} has it as a disk (${u.tool} list -l: ${u.target})`);
  users.push(...usersIn(snap, id));
  if (id.rdev)
    notes.push('over ssh the exclusive-open test of a block device is read from mountinfo and holders instead');
  return { users, notes };
}
