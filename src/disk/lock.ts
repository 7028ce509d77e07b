/**
 * An advisory lock on a disk image (flock(2), through util-linux's flock(1)), held until the run
 * ends: two runs on one image never interleave their checks and writes. Exclusive to write,
 * shared to only read (--dry-run).
 *
 * The lock is held by a small child (`flock IMAGE sh -c 'echo locked; exec cat'`) whose standard
 * input is a pipe from this process: when this process ends, however it ends, the pipe closes,
 * `cat` exits and the kernel drops the lock. This process itself keeps no descriptor on the
 * image, so the "who has the image open" check can tell lock holders and waiters (listed in
 * /proc/locks) from real users.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { hostArgv, isRemote, type DiskHost } from './host-io.js';
import { procEntries, procText } from './proc.js';

export class ImageBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageBusyError';
  }
}

export interface ImageLock {
  readonly image: string;
  readonly exclusive: boolean;
  /** The processes of this machine that hold the lock for this run (flock and its child; none over ssh). */
  readonly pids: readonly number[];
  release(): Promise<void>;
}

/** flock's exit code when the lock could not be had in time (flock -E). */
const CONFLICT = 75;

/**
 * Lock the image. With `host` over ssh the holder runs there (`ssh … flock … sh -c 'echo locked;
 * exec cat'`): when this process or the connection ends, the remote `cat` reads the end of its
 * input and exits, and the host's kernel drops the lock.
 */
export async function lockImage(
  image: string,
  opts: { exclusive: boolean; waitSeconds: number; host?: DiskHost },
): Promise<ImageLock> {
  const mode = opts.exclusive ? '-x' : '-s';
  const argv = ['flock', mode, '-w', String(opts.waitSeconds), '-E', String(CONFLICT), image, 'sh', '-c'];
  const remote = isRemote(opts.host) ? opts.host : undefined;
  const local = await hostArgv(opts.host, [...argv, 'echo locked; exec cat']);
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(local[0] as string, local.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  let out = '';
  let err = '';
  const got = await new Promise<number | 'locked'>((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`cannot run flock: ${e.message} (util-linux)`)));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('locked\n')) resolve('locked');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => resolve(code ?? -1));
  });
  if (got !== 'locked') {
    if (got === CONFLICT) {
      const holders = remote ? new Set<number>() : await lockParticipants(image).catch(() => new Set<number>());
      throw new ImageBusyError(
        `another run holds a lock on ${image} (waited ${opts.waitSeconds} s${holders.size ? `; held by process ${[...holders].join(', ')}` : ''})`,
      );
    }
    throw new Error(`flock ${image} failed (exit ${got})${remote ? ` on ${remote.label}` : ''}: ${err.trim()}`);
  }
  const pids = remote ? [] : [child.pid as number];
  // flock forks the command: its child (sh, then cat) holds the descriptor too.
  if (!remote) for (const p of await childrenOf(new Set(pids))) pids.push(p);
  let released = false;
  return {
    image,
    exclusive: opts.exclusive,
    pids,
    async release() {
      if (released) return;
      released = true;
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null)
        await new Promise<void>((resolve) => child.once('close', () => resolve()));
    },
  };
}

/** major:minor:inode as /proc/locks prints it (fs/locks.c, lock_get_status). */
async function lockKey(image: string): Promise<{ major: number; minor: number; ino: number }> {
  const st = await fsp.stat(image, { bigint: true });
  const dev = Number(st.dev);
  return { major: (dev >> 8) & 0xfff, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00), ino: Number(st.ino) };
}

/**
 * The processes that hold or wait for a flock on the image, and their children: they coordinate
 * through the lock and are not users of the image's contents.
 */
export async function lockParticipants(image: string): Promise<Set<number>> {
  const key = await lockKey(image);
  const pids = new Set<number>();
  const text = procText('/proc/locks');
  for (const line of text.split('\n')) {
    // 1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF   (a waiter has "->" before FLOCK)
    const m = /^\d+:\s+(?:->\s+)?FLOCK\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    if (
      parseInt(m[2] as string, 16) === key.major &&
      parseInt(m[3] as string, 16) === key.minor &&
      Number(m[4]) === key.ino
    )
      pids.add(Number(m[1]));
  }
  for (const p of await childrenOf(pids)) pids.add(p);
  return pids;
}

/**
 * Every descendant of the given processes. Asked of the kernel per process
 * (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN, in the distributions' kernels) rather
 * than by reading every process's stat: the lock's own child is one process, a dom0 has hundreds.
 * Without that file, every process's parent is read from /proc/PID/stat.
 */
export async function childrenOf(parents: Set<number>): Promise<number[]> {
  const found: number[] = [];
  if (!parents.size) return found;
  const set = new Set(parents);
  const queue = [...parents];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const kids = childrenListed(pid);
    if (kids === undefined) return childrenByScan(parents);
    for (const k of kids) {
      if (set.has(k)) continue;
      set.add(k);
      found.push(k);
      queue.push(k);
    }
  }
  return found;
}

/** Whether this kernel lists each task's children in /proc (CONFIG_PROC_CHILDREN): asked once, of this process. */
let listsChildren: boolean | undefined;

/** The children the kernel lists for each thread of PID ([] for a process that is gone); undefined where it lists none. */
function childrenListed(pid: number): number[] | undefined {
  listsChildren ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  if (!listsChildren) return undefined;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) =>
    procText(`/proc/${pid}/task/${tid}/children`)
      .split(' ')
      .filter((w) => /^\d+$/.test(w))
      .map(Number),
  );
}

function childrenByScan(parents: Set<number>): number[] {
  const found: number[] = [];
  const all = new Map<number, number>();
  for (const d of procEntries()) {
    if (!/^\d+$/.test(d)) continue;
    const stat = procText(`/proc/${d}/stat`);
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isFinite(ppid)) all.set(Number(d), ppid);
  }
  const set = new Set(parents);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of all) {
      if (!set.has(pid) && set.has(ppid)) {
        set.add(pid);
        found.push(pid);
        grew = true;
      }
    }
  }
  return found;
}

/**
 * The processes of `procs` that are not lock participants. flock(1) opens the image a moment
 * before it asks for the lock: a `flock` process not (yet) in /proc/locks is looked at again.
 */
export async function withoutLockers<T extends { pid: number; command: string }>(
  image: string,
  procs: readonly T[],
): Promise<T[]> {
  // Nobody to tell apart: /proc/locks is not read (a first read of it took 8 to 17 ms here).
  if (!procs.length) return [];
  let lockers = await lockParticipants(image);
  let rest = procs.filter((p) => !lockers.has(p.pid));
  for (let tries = 0; tries < 5 && rest.some((p) => p.command === 'flock'); tries++) {
    await new Promise((r) => setTimeout(r, 100));
    lockers = await lockParticipants(image);
    rest = rest.filter((p) => !lockers.has(p.pid));
  }
  return rest;
}
