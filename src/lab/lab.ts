/**
 * The lab's life: `up` (build or reuse, boot, wait for ssh, write .lab/ssh_config), `status`,
 * `down` (QEMU stopped, nothing left running). Its runtime state lives in one directory (.lab/).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, type Built } from './build.js';
import { buildKeysCpio, READY_MARKER } from './initramfs.js';
import {
  alive,
  bootFailure,
  DEFAULT_BOOT,
  freePort,
  qemuArgv,
  type BootOptions,
  type Scheduler,
  type TcgThreads,
} from './qemu.js';
import { ensureKey, HOST_ALIAS, knownHostsLine, sshConfigText, sshRun, waitForSsh } from './ssh.js';

const run = promisify(execFile);

export interface LabState {
  pid: number;
  port: number;
  key: string;
  memoryMiB: number;
  dom0MemMiB: number | 'none';
  sched: Scheduler;
  tcgThreads?: TcgThreads;
  startedAt: string;
  /** Seconds from QEMU's start to ssh answering. */
  bootSeconds?: number;
}

export function labPaths(dir: string) {
  return {
    dir,
    state: path.join(dir, 'state.json'),
    sshConfig: path.join(dir, 'ssh_config'),
    identity: path.join(dir, 'id_ed25519'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
    knownHosts: path.join(dir, 'known_hosts'),
    initrd: path.join(dir, 'dom0-initrd.img'),
    keysCpio: path.join(dir, 'keys.cpio'),
    serialLog: path.join(dir, 'serial.log'),
    pidFile: path.join(dir, 'qemu.pid'),
    /** Seen by dom0 as /mnt/lab. */
    share: path.join(dir, 'share'),
  };
}

export interface UpOptions {
  dir: string;
  memoryMiB?: number;
  dom0MemMiB?: number | 'none';
  sched?: Scheduler;
  /** How QEMU runs the vCPUs (src/lab/qemu.ts): 'multi' unless given. */
  tcgThreads?: TcgThreads;
  cacheRoot?: string;
  progress?: (msg: string) => void;
  /** How long to wait for dom0's sshd (ms). */
  timeoutMs?: number;
}

export interface UpResult {
  state: LabState;
  built: Built;
  sshConfig: string;
  buildSeconds: number;
  bootSeconds: number;
}

async function readState(file: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

/** Boot the lab; a lab already running in DIR is refused (stop it with down first). */
export async function up(o: UpOptions): Promise<UpResult> {
  const say = o.progress ?? (() => undefined);
  const lp = labPaths(path.resolve(o.dir));
  const old = await readState(lp.state);
  if (old && alive(old.pid))
    throw new Error(`the lab is already running (QEMU pid ${old.pid}); run: npm run lab -- down`);
  await mkdir(lp.dir, { recursive: true });
  const t0 = Date.now();
  const built = await ensureBuilt({ root: o.cacheRoot, progress: say });
  const buildSeconds = (Date.now() - t0) / 1000;
  if (!built.fresh)
    say(
      `using the cached build ${built.key} (${built.manifest.kernelRelease}, Xen ${built.manifest.versions['xen-hypervisor-4.17-amd64']})`,
    );

  // Throwaway keys: the client's (kept in .lab/ between boots) and dom0's host key (new each boot).
  const client = await ensureKey(lp.identity, `xenlab-client@${os.hostname()}`);
  await rm(lp.hostKey, { force: true });
  await rm(`${lp.hostKey}.pub`, { force: true });
  const host = await ensureKey(lp.hostKey, 'root@xenlab');
  let authorized = client.pub;
  for (const f of ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub']) {
    const p = path.join(os.homedir(), '.ssh', f);
    if (existsSync(p)) authorized += await readFile(p, 'utf8');
  }
  await buildKeysCpio({
    stage: path.join(lp.dir, 'keys-stage'),
    hostKey: host.priv,
    hostKeyPub: host.pub,
    authorizedKeys: authorized,
    out: lp.keysCpio,
  });
  // The kernel unpacks concatenated cpio archives in turn: the keys come after the cached tree.
  await copyFile(built.initrd, lp.initrd);
  await appendFile(lp.initrd, await readFile(lp.keysCpio));
  await writeFile(lp.knownHosts, knownHostsLine(host.pub));

  const port = await freePort();
  await writeFile(lp.sshConfig, sshConfigText({ port, identityFile: lp.identity, knownHostsFile: lp.knownHosts }));
  const boot: BootOptions = {
    xen: built.xen,
    vmlinuz: built.vmlinuz,
    initrd: lp.initrd,
    memoryMiB: o.memoryMiB ?? DEFAULT_BOOT.memoryMiB,
    cpus: DEFAULT_BOOT.cpus,
    dom0MemMiB: o.dom0MemMiB ?? DEFAULT_BOOT.dom0MemMiB,
    sched: o.sched ?? DEFAULT_BOOT.sched,
    tcgThreads: o.tcgThreads ?? 'multi',
    sshPort: port,
    serialLog: lp.serialLog,
    pidFile: lp.pidFile,
    shareDir: lp.share,
  };
  await mkdir(lp.share, { recursive: true });
  await rm(lp.serialLog, { force: true });
  await rm(lp.pidFile, { force: true });
  const argv = qemuArgv(boot);
  say(
    `booting Xen under QEMU (TCG${boot.tcgThreads === 'single' ? ' in one thread' : ''}, ${boot.memoryMiB} MiB, sched=${boot.sched}); serial log: ${lp.serialLog}`,
  );
  const t1 = Date.now();
  await run(argv[0]!, argv.slice(1)).catch((e: { stderr?: string }) => {
    throw new Error(`QEMU did not start: ${(e.stderr ?? String(e)).trim()}`);
  });
  const pid = Number((await readFile(lp.pidFile, 'utf8')).trim());
  const state: LabState = {
    pid,
    port,
    key: built.key,
    memoryMiB: boot.memoryMiB,
    dom0MemMiB: boot.dom0MemMiB,
    sched: boot.sched,
    tcgThreads: boot.tcgThreads,
    startedAt: new Date().toISOString(),
  };
  await writeFile(lp.state, JSON.stringify(state, null, 2) + '\n');
  let lastStage = '';
  try {
    await waitForSsh(lp.sshConfig, {
      timeoutMs: o.timeoutMs ?? 600_000,
      stop: async () => {
        const serial = await readFile(lp.serialLog, 'utf8').catch(() => '');
        const failed = bootFailure(serial);
        if (failed) return `the boot failed (serial log ${lp.serialLog}):\n${failed}`;
        if (!alive(pid)) return `QEMU exited during the boot (serial log ${lp.serialLog})`;
        const stage = bootStage(serial);
        if (stage !== lastStage) {
          lastStage = stage;
          say(stage);
        }
        return undefined;
      },
    });
  } catch (e) {
    await down({ dir: lp.dir });
    throw e;
  }
  const bootSeconds = (Date.now() - t1) / 1000;
  state.bootSeconds = Math.round(bootSeconds * 10) / 10;
  await writeFile(lp.state, JSON.stringify(state, null, 2) + '\n');
  return { state, built, sshConfig: lp.sshConfig, buildSeconds, bootSeconds };
}

/** What the serial log shows of the boot so far, in a few words. */
export function bootStage(serial: string): string {
  if (serial.includes(READY_MARKER)) return 'dom0 is up, sshd starting';
  if (/Freeing unused kernel image/.test(serial)) return 'dom0 kernel running /init';
  if (/Linux version/.test(serial) || /Xen: using vcpuop/.test(serial)) return 'dom0 kernel booting';
  if (/\*\*\* LOADING DOMAIN 0 \*\*\*/.test(serial)) return 'Xen loading dom0';
  if (/Xen version/.test(serial)) return 'Xen starting';
  return 'QEMU starting';
}

export interface Status {
  running: boolean;
  state?: LabState;
  /** ssh answered. */
  reachable: boolean;
  xlInfo?: Record<string, string>;
}

/** Is QEMU running, does ssh answer, and what `xl info` says. */
export async function status(o: { dir: string }): Promise<Status> {
  const lp = labPaths(path.resolve(o.dir));
  const state = await readState(lp.state);
  if (!state || !alive(state.pid)) return { running: false, state, reachable: false };
  const r = await sshRun(lp.sshConfig, ['xl', 'info'], 30_000);
  if (r.code !== 0) return { running: true, state, reachable: false };
  const xlInfo: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s*:\s?(.*)$/.exec(line);
    if (m) xlInfo[m[1]!] = m[2]!;
  }
  return { running: true, state, reachable: true, xlInfo };
}

/** Stop QEMU (TERM, then KILL) and forget the state; true when something was running. */
export async function down(o: { dir: string; timeoutMs?: number }): Promise<boolean> {
  const lp = labPaths(path.resolve(o.dir));
  const state = await readState(lp.state);
  let pid = state?.pid;
  if (!pid && existsSync(lp.pidFile)) pid = Number((await readFile(lp.pidFile, 'utf8')).trim()) || undefined;
  let was = false;
  if (pid && alive(pid) && (await isQemu(pid))) {
    was = true;
    process.kill(pid, 'SIGTERM');
    const until = Date.now() + (o.timeoutMs ?? 10_000);
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
  for (const f of [lp.state, lp.pidFile, lp.initrd, lp.keysCpio]) await rm(f, { force: true });
  return was;
}

/** Only a QEMU is ever signalled: a stale pid file may name someone else's process by now. */
async function isQemu(pid: number): Promise<boolean> {
  try {
    const exe = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return exe.split('\0')[0]!.includes('qemu-system');
  } catch {
    return false;
  }
}

export { HOST_ALIAS };
