/** Test rig for the XCP install playbook: host trees, simulator state, loop devices, snapshots. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format } from 'prettier';
import { ROOT, runPlaybook, type RunResult } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';
import { readCalls, readXe, type State } from '../sim/xe.mjs';

export const FIXTURES = path.join(ROOT, 'test/fixtures/xcp');
export const GOLDEN = path.join(FIXTURES, 'golden');

/** The Ubuntu 12.04 workarounds, in playbook order: skipped on XCP-ng, applied on the legacy host. */
export const LEGACY_STEPS = [
  'apt-repository',
  'network-backend',
  'install-packages',
  'vif-offline',
  'xend-init',
  'xendomains',
  'qemu-keymaps',
  'grub-default',
];

/** A temporary directory, removed by the returned cleanup. */
export function workdir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-xcp-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copy a host tree (test/fixtures/xcp/hosts/NAME) to DIR/root, links kept as links. */
export function hostTree(name: string, dir: string): string {
  const root = path.join(dir, 'root');
  cpSync(path.join(FIXTURES, 'hosts', name), root, { recursive: true, verbatimSymlinks: true });
  return root;
}

/** A sparse image attached to a free loop device (losetup -f), detached by detach(). */
export function loopDevice(dir: string, mib = 64): { path: string; image: string; detach: () => void } {
  const losetup = tool('losetup');
  const image = path.join(dir, `disk-${Math.random().toString(36).slice(2)}.img`);
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', `${mib}M`, image]);
  const dev = execFileSync(losetup, ['-f', '--show', image], { encoding: 'utf8' }).trim();
  return {
    path: dev,
    image,
    detach: () => {
      try {
        execFileSync(losetup, ['-d', dev], { stdio: 'ignore' });
      } catch {
        /* already detached */
      }
    },
  };
}

/** Run the playbook; with `root`, as `--root ROOT` and with XR_SIM_ROOT for the stand-ins. */
export function xcp(
  args: readonly string[],
  opts: { sim: string; root?: string; env?: Record<string, string>; input?: string },
): Promise<RunResult> {
  return runPlaybook('xcp-install', opts.root ? ['--root', opts.root, ...args] : args, {
    sim: opts.sim,
    env: { ...(opts.root ? { XR_SIM_ROOT: opts.root } : {}), ...(opts.env ?? {}) },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

/** Every path of a tree: file content hash and mode, link target, or directory. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const full = path.join(dir, rel);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(full)}`;
    else if (st.isDirectory()) {
      if (rel) out[rel] = 'dir';
      for (const e of readdirSync(full).sort()) walk(rel ? `${rel}/${e}` : e);
    } else {
      out[rel] =
        `file ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

/** Symbolic links of a tree as `path -> target` lines (the golden symlinks.txt format). */
export function symlinks(dir: string): string {
  return (
    Object.entries(snapshot(dir))
      .filter(([, v]) => v.startsWith('link '))
      .map(([k, v]) => `${k} -> ${v.slice(5)}`)
      .sort()
      .join('\n') + '\n'
  );
}

/** Files under a golden directory (relative paths). */
export function goldenFiles(dir: string): string[] {
  return Object.entries(snapshot(dir))
    .filter(([, v]) => v.startsWith('file '))
    .map(([k]) => k);
}

/** Step statuses of a --json report, by id. */
export function statuses(json: any): Record<string, string> {
  return Object.fromEntries((json?.steps ?? []).map((s: { id: string; status: string }) => [s.id, s.status]));
}

/** The xe commands recorded in the simulator directory (argv without 'xe'). */
export function xeCalls(sim: string): string[][] {
  return readCalls(sim)
    .filter((c) => c.cmd === 'xe')
    .map((c) => c.argv);
}

const READ_ONLY = /-(list|param-get|param-list)$/;
/** xe calls that change something (everything but listings and param-get). */
export function xeWrites(sim: string): string[][] {
  return xeCalls(sim).filter((a) => !READ_ONLY.test(a[0] ?? ''));
}

/** Calls of the recording stand-ins (apt-get, update-grub, …). */
export function standInCalls(sim: string): { cmd: string; argv: string[] }[] {
  return readCalls(sim).filter((c) => c.cmd !== 'xe');
}

/** The simulator state as text, device path replaced by DEVICE (for golden comparisons). */
export function normalizedXe(sim: string, device?: string): string {
  let text = JSON.stringify(readXe(sim), null, 2);
  if (device) text = text.split(JSON.stringify(device).slice(1, -1)).join('DEVICE');
  return `${text}\n`;
}

/** JSON as the repository's formatter writes it, so golden files pass `prettier --check`. */
export function prettyJson(text: string): Promise<string> {
  return format(text, { parser: 'json' });
}

/** Compare with a golden file; XR_UPDATE_GOLDEN=1 rewrites it first (then look at git diff). */
export function golden(rel: string, actual: string): string {
  const file = path.join(GOLDEN, rel);
  if (process.env.XR_UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.XR_UPDATE_GOLDEN !== '1')
      throw new Error(`golden file ${rel} is missing (XR_UPDATE_GOLDEN=1 writes it)`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  return readFileSync(file, 'utf8');
}

export function state(sim: string): State {
  return readXe(sim);
}

/** Objects of one class in the simulator state. */
export function objects(sim: string, cls: string): Record<string, any>[] {
  return Object.values(readXe(sim).objects[cls] ?? {});
}
