/**
 * What the fault tests share: a small guest image (one ext2 partition at 1 MiB holding
 * /grub/grub.cfg), a way to look at it with the real e2fsprogs, and the writer run as a
 * process of its own (writer.mjs) so that a fault can kill the whole run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DebugfsFs,
  ImageBusyError,
  buildImage,
  lockImage,
  localCommands,
  type ImageLock,
  type Tree,
} from 'xen-runbooks/disk';
import { ROOT, childEnv } from '../helpers/playbook.js';
import { tempDir } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';

export const $ = localCommands();
export const OFFSET = 1048576;
export const FAULT_BIN = path.join(ROOT, 'test/faults/bin');
export const WRITER = path.join(ROOT, 'test/faults/writer.mjs');

/** The config before (60 lines) and after (70 lines): both more than one 1 KiB block. */
export const OLD_CFG = Array.from({ length: 60 }, (_, i) => `set root='(hd0,msdos1)' # ${i}`).join('\n') + '\n';
export const NEW_CFG = Array.from({ length: 70 }, (_, i) => `set root='(hd0,0)' # ${i}`).join('\n') + '\n';

export function needTools(): void {
  for (const t of ['debugfs', 'e2fsck'] as const) tool(t);
  for (const cmd of ['strace', 'e2undo', 'flock', 'stdbuf']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    } catch {
      throw new Error(`${cmd} is not installed: run 'node scripts/ensure-tools.mjs' as root`);
    }
  }
}

/** An 8 MiB image: a DOS table, one ext2 partition at 1 MiB with `files` (1 KiB blocks). */
export async function smallImage(
  file: string,
  files: Tree = {},
  opts: { bytes?: number; only?: boolean } = {},
): Promise<void> {
  const all: Tree = opts.only ? files : { 'grub/grub.cfg': OLD_CFG, 'grub/grubenv': 'x\n', ...files };
  await buildImage($, file, {
    bytes: opts.bytes ?? 8 * 1024 * 1024,
    label: 'dos',
    partitions: [{ start: 2048, type: '83', fs: { type: 'ext2', files: all } }],
  });
}

/**
 * What writer.mjs does, in this process: lock the image (waiting 1 s at most), roll back an
 * interrupted run, write unless the file already holds the new contents.
 */
export async function lockedWrite(img: string): Promise<string> {
  let lock: ImageLock | undefined;
  try {
    lock = await lockImage(img, { exclusive: true, waitSeconds: 1 });
    const fs = new DebugfsFs($, img, OFFSET);
    await fs.recover();
    if ((await fs.readFile('/grub/grub.cfg', 1 << 20)).toString() === NEW_CFG) return 'nothing-to-do';
    await fs.replaceFile('/grub/grub.cfg', Buffer.from(NEW_CFG), { backup: true });
    return 'replaced';
  } catch (e) {
    if (e instanceof ImageBusyError) return 'busy';
    throw e;
  } finally {
    await lock?.release();
  }
}

export function copyImage(from: string, to: string): void {
  copyFileSync(from, to);
}

export function fsckClean(img: string): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync(tool('e2fsck'), ['-fn', `${img}?offset=${OFFSET}`], { encoding: 'utf8', stdio: 'pipe' }),
    };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

/** What the guest holds: grub.cfg, grub.cfg.orig (or undefined) and the names in /grub. */
export async function guestState(img: string): Promise<{ cfg?: string; orig?: string; names: string[] }> {
  const fs = new DebugfsFs($, img, OFFSET);
  const read = async (p: string) => {
    const st = await fs.stat(p);
    return st?.type === 'file' ? (await fs.readFile(p, 1 << 20)).toString('utf8') : undefined;
  };
  return {
    cfg: await read('/grub/grub.cfg'),
    orig: await read('/grub/grub.cfg.orig'),
    names: (await fs.readdir('/grub')) ?? [],
  };
}

/** Undo records or intent files left next to the image. */
export function undoLeftovers(img: string): string[] {
  const dir = path.dirname(img);
  return readdirSync(dir).filter((n) => n.startsWith(path.basename(img)) && /e2undo/.test(n));
}

export interface WriterResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: { recovery: string; action: string; error: string; code: string } | undefined;
  stderr: string;
}

/**
 * Run writer.mjs as its own process group. `fault` puts the debugfs wrapper first on PATH with
 * its state folder; with `point` the wrapper kills the run at that write.
 */
export function runWriter(
  img: string,
  newFile: string,
  opts: {
    fault?: { dir: string; point?: string; list?: boolean };
    lock?: boolean;
    restore?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<WriterResult> {
  const env = childEnv(opts.env ?? {});
  if (opts.fault) {
    mkdirSync(opts.fault.dir, { recursive: true });
    for (const f of readdirSync(opts.fault.dir)) rmSync(path.join(opts.fault.dir, f), { force: true });
    env.PATH = `${FAULT_BIN}:${env.PATH ?? ''}`;
    env.XR_FAULT_DIR = opts.fault.dir;
    if (opts.fault.point) env.XR_FAULT_POINT = opts.fault.point;
    if (opts.fault.list) env.XR_FAULT_LIST = '1';
  }
  const args = [
    WRITER,
    img,
    String(OFFSET),
    '/grub/grub.cfg',
    newFile,
    ...(opts.lock ? ['--lock'] : []),
    ...(opts.restore ? ['--restore'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let out: WriterResult['out'];
      try {
        out = stdout.trim() ? JSON.parse(stdout.trim().split('\n').at(-1) as string) : undefined;
      } catch {
        out = undefined;
      }
      resolve({ code, signal, out, stderr });
    });
  });
}

export function writeNewCfg(dir: string): string {
  const f = path.join(dir, 'new.cfg');
  writeFileSync(f, NEW_CFG);
  return f;
}

/** Run `jobs` with at most `width` at a time, keeping their order in the results. */
export async function pool<T>(width: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return out;
}

/** A small image, the new config beside it, and the write points of one write (a run under strace that only lists them). */
export async function writePointsFixture(
  prefix: string,
): Promise<{ dir: string; base: string; newFile: string; points: string[] }> {
  const dir = tempDir(prefix);
  const base = path.join(dir, 'base.img');
  await smallImage(base);
  const newFile = writeNewCfg(dir);
  const img = path.join(dir, 'count.img');
  copyImage(base, img);
  const fault = path.join(dir, 'f-count');
  const r = await runWriter(img, newFile, { fault: { dir: fault, list: true } });
  if (r.out?.action !== 'replaced' || r.out.error !== '')
    throw new Error(`the counting run did not replace grub.cfg: ${JSON.stringify(r.out)}`);
  const points = readFileSync(path.join(fault, 'points'), 'utf8').trim().split('\n');
  return { dir, base, newFile, points };
}
