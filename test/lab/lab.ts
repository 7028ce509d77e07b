/**
 * The lab boots the test files share. A boot costs 20 s on an idle machine and up to three minutes
 * on a loaded one, so the files of one `vitest run` that ask for the same boot (scheduler, memory,
 * dom0_mem) share one QEMU: the first file boots it, the next ones join it, and it stays up between
 * files until a file needs another boot (and nobody uses this one) or the run ends
 * (test/lab/global-setup.ts stops it).
 *
 * Two labs at once, in two slots: the lab's files run on two workers, each claiming a slot and with
 * it a QEMU of its own, since one emulated host keeps about one core busy and the lab's files
 * would otherwise leave the other idle. A slot's lab is written in its own registry
 * (test-lab-SLOT.json in the cache directory), read and changed under its own lock file.
 *
 * One file at a time on a lab: two files driving one emulated dom0 at once made its processes
 * crash (segmentation faults, garbage in a hotplug script's output, sshd refusing the key), which
 * a file alone never did. Each file names its own domains and share files and destroys its
 * domains when it is done. While an HVM guest runs, dom0's programs fail now and then (a
 * segmentation fault, sshd refusing the key): the one HVM guest (windows-hvm.test.ts) runs for
 * seconds, on a machine of its own started for it last (test/lab/sequencer.ts, LabOptions.hvm)
 * and stopped after it, so that no file meets a dom0 that has just had one.
 *
 * A machine without QEMU fails here with the command that installs it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { runPlaybook } from '../helpers/playbook.js';
import { shellQuote } from 'xen-runbooks/engine';

import {
  alive,
  bootFailure,
  cacheRoot,
  DEFAULT_BOOT,
  down,
  elfKernel,
  markerInitrd,
  missingHostTools,
  pvConfig,
  sshRun,
  up,
  type Scheduler,
  type TcgThreads,
  type UpResult,
} from 'xen-runbooks/lab';

export interface Lab {
  dir: string;
  /** This machine's side of dom0's /mnt/lab. */
  share: string;
  sshConfig: string;
  up: UpResult;
  /** Run a shell command line in dom0: exit code and output (never throws). */
  ssh(
    command: string,
    input?: string | Buffer,
    timeoutMs?: number,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * Run a command that may run twice: one that reads (xl list, xenstore-read, cat) or sets a value
   * to what it names (xl mem-set, xl sched-credit2 -w). Its output, or an error naming the
   * command. Tried again when ssh itself fails (exit 255), even with nothing on stderr, which
   * `ssh` cannot do for a command that may already have run.
   */
  runIdempotent(command: string): Promise<string>;
  /**
   * Until the shell condition COND holds in dom0, tried there every second: whether it did within
   * TIMEOUTMS. One ssh connection a minute instead of one a try: a connection costs dom0 under
   * emulation about as much CPU as a second of its time.
   */
  waitUntil(cond: string, timeoutMs?: number): Promise<boolean>;
  /**
   * An earlier attempt's domain NAME gone (vitest.config.ts: retry): destroyed until xl no longer
   * finds it twice two seconds apart, since a domain that was rebooting when its attempt failed is
   * created again by its xl monitor process.
   */
  clear(name: string): Promise<void>;
  /** Until MARKER is in the guest's console log (xenconsoled --log=guest); the log. */
  waitForConsole(domain: string, marker: string, timeoutMs?: number): Promise<string>;
  /**
   * Destroy DOMAINS (this file's guests) and leave the lab to the next file; a lab started for an
   * HVM guest is stopped instead (the next file of its slot boots a fresh one).
   */
  stop(domains?: readonly string[]): Promise<void>;
}

export interface LabOptions {
  sched?: Scheduler;
  memoryMiB?: number;
  dom0MemMiB?: number | 'none';
  /**
   * The file starts an HVM guest: it gets a machine of its own whose vCPUs run in a thread each
   * (src/lab/qemu.ts, TcgThreads), booted once no other slot's lab is in use, and stopped after
   * the file. The other labs run their vCPUs in one thread, two at once on two cores.
   */
  hvm?: boolean;
}

/** What the registry says of the running lab. */
interface Shared {
  /** The boot's options, as a key: a file asking for other options cannot join. */
  key: string;
  dir: string;
  /** The vitest run that booted it (its main process), whose teardown stops it. */
  run: number;
  up: UpResult;
}

const LOCK_WAIT_MS = 1_800_000;

/** How many labs may run at once: one per core of a two-core machine, one per vitest worker. */
const LAB_SLOTS = 2;

/** A slot's lab: read and written only by the holder of the slot's claim. */
export const registryFile = (slot: number): string => path.join(cacheRoot(), `test-lab-${slot}.json`);
/** Held by the test process that uses the slot's lab, from startLab to stop, and by the run's teardown. */
const claimFile = (slot: number): string => path.join(cacheRoot(), `test-slot-${slot}.claim`);

/** FILE created with this process's id, or taken over from a dead holder; undefined while a live one holds it. */
async function tryLock(file: string): Promise<(() => Promise<void>) | undefined> {
  await mkdir(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch {
      const holder = Number(await readFile(file, 'utf8').catch(() => '0'));
      if (holder && alive(holder)) return undefined;
      await rm(file, { force: true });
    }
  }
}

async function lock(file: string): Promise<() => Promise<void>> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const unlock = await tryLock(file);
    if (unlock) return unlock;
    if (Date.now() > until) throw new Error(`another lab test held ${file} too long`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * A slot of its own for this test process: one whose lab was booted as KEY first (it is joined
 * rather than booted again), then one with no lab, then any free one. Claimed by a file created
 * exclusively, so two workers never share one; vitest's pool ids were no guide (two workers of a
 * run with two projects were both given 1).
 */
async function claimSlot(key: string): Promise<{ slot: number; unclaim: () => Promise<void> }> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const slots = Array.from({ length: LAB_SLOTS }, (_, i) => i + 1);
    const keys = new Map<number, string | undefined>();
    for (const slot of slots) keys.set(slot, (await readRegistry(registryFile(slot)))?.key);
    const rank = (slot: number) => (keys.get(slot) === key ? 0 : keys.get(slot) === undefined ? 1 : 2);
    for (const slot of slots.sort((a, b) => rank(a) - rank(b))) {
      const unclaim = await tryLock(claimFile(slot));
      if (unclaim) return { slot, unclaim };
    }
    if (Date.now() > until) throw new Error(`every lab slot stayed claimed (${cacheRoot()}/test-slot-*.claim)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function readRegistry(file: string): Promise<Shared | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Shared;
  } catch {
    return undefined;
  }
}

async function writeRegistry(s: Shared, slot: number): Promise<void> {
  const tmp = `${registryFile(slot)}.${process.pid}`;
  await writeFile(tmp, JSON.stringify(s, null, 2) + '\n');
  await rename(tmp, registryFile(slot));
}

async function stopShared(s: Shared, slot: number): Promise<void> {
  const file = registryFile(slot);
  try {
    await down({ dir: s.dir });
  } finally {
    await rm(s.dir, { recursive: true, force: true });
    await rm(file, { force: true });
  }
}

/** The run this process belongs to: test/lab/global-setup.ts provides its pid. */
function currentRun(): number | undefined {
  try {
    return inject('labRun');
  } catch {
    return undefined;
  }
}

/**
 * Whether the running lab can be joined: Xen has not panicked (its serial log) and dom0's sshd
 * answers. Under emulation the machine itself fails now and then (a Xen page fault in a timer
 * softirq was seen): the files after that one should not all fail with it.
 */
async function healthy(reg: Shared): Promise<boolean> {
  const serial = await readFile(path.join(reg.dir, 'serial.log'), 'utf8').catch(() => '');
  if (bootFailure(serial)) return false;
  for (let attempt = 0; attempt < 3; attempt++) {
    if ((await sshRun(reg.up.sshConfig, ['true'], 30_000)).code === 0) return true;
    await new Promise((r) => setTimeout(r, 5000));
  }
  return false;
}

/** How QEMU runs the vCPUs of the lab O asks for (LabOptions.hvm). */
const tcgThreadsOf = (o: LabOptions): TcgThreads => (o.hvm ? 'multi' : 'single');

/** The boot options O ask for, as a registry key. */
function bootKey(o: LabOptions): string {
  return JSON.stringify({
    sched: o.sched ?? DEFAULT_BOOT.sched,
    memoryMiB: o.memoryMiB ?? DEFAULT_BOOT.memoryMiB,
    dom0MemMiB: o.dom0MemMiB ?? DEFAULT_BOOT.dom0MemMiB,
    tcgThreads: tcgThreadsOf(o),
  });
}

/**
 * A lab with options O in SLOT, whose claim this process holds: the running one when it was
 * booted so in this run and is healthy, else a new boot.
 */
async function acquire(o: LabOptions, slot: number): Promise<Shared> {
  const key = bootKey(o);
  const run = currentRun();
  const reg = await readRegistry(registryFile(slot));
  if (reg && alive(reg.up.state.pid) && reg.key === key && run !== undefined && reg.run === run) {
    if (await healthy(reg)) return reg;
    // Xen or dom0 died under an earlier file: this file gets a boot of its own.
  }
  if (reg) await stopShared(reg, slot);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-lab-'));
  try {
    const result = await up({
      dir,
      sched: o.sched,
      memoryMiB: o.memoryMiB,
      dom0MemMiB: o.dom0MemMiB,
      tcgThreads: tcgThreadsOf(o),
      timeoutMs: 900_000,
    });
    const fresh: Shared = { key, dir, run: run ?? process.pid, up: result };
    await writeRegistry(fresh, slot);
    return fresh;
  } catch (e) {
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * This process is done with the slot's lab. It stays up for the run's next file, unless there is
 * no run to stop it later, or RETIRE asks (a lab an HVM guest ran on).
 */
async function release(slot: number, retire = false): Promise<void> {
  if (!retire && currentRun() !== undefined) return;
  const reg = await readRegistry(registryFile(slot));
  if (reg) await stopShared(reg, slot);
}

/** The slots that have a lab registered. */
async function labSlots(): Promise<number[]> {
  return (await readdir(cacheRoot()).catch(() => [] as string[]))
    .map((f) => /^test-lab-(\d+)\.json$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
}

/** Until no other slot is claimed by a live test process. */
async function othersIdle(mine: number): Promise<void> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const busy: number[] = [];
    for (let slot = 1; slot <= LAB_SLOTS; slot++) {
      if (slot === mine) continue;
      const holder = Number(await readFile(claimFile(slot), 'utf8').catch(() => '0'));
      if (holder && holder !== process.pid && alive(holder)) busy.push(holder);
    }
    if (!busy.length) return;
    if (Date.now() > until) throw new Error(`the other labs were still in use by ${busy.join(', ')}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Stop the labs RUN booted, in every slot, if they are still up (the run's teardown). */
export async function stopRunLab(run: number): Promise<void> {
  for (const slot of await labSlots()) {
    // The run's files have ended: their claims are released, or their holders dead.
    const unlock = await lock(claimFile(slot));
    try {
      const reg = await readRegistry(registryFile(slot));
      if (reg && reg.run === run) await stopShared(reg, slot);
    } finally {
      await unlock();
    }
  }
}

export async function startLab(o: LabOptions = {}): Promise<Lab> {
  const tools = missingHostTools();
  if (tools.install) throw new Error(`the lab needs ${tools.missing.join(', ')}: ${tools.install}`);
  const { slot, unclaim } = await claimSlot(bootKey(o));
  let shared: Shared;
  try {
    // Booted once the other labs are idle: a multi-threaded QEMU booting beside another lab took
    // both cores, and in that run the other lab's dom0 failed a test and its Xen panicked (a page
    // fault in credit2's runq_insert, from a timer softirq).
    if (o.hvm) await othersIdle(slot);
    shared = await acquire(o, slot);
  } catch (e) {
    await unclaim();
    throw e;
  }
  const { dir, up: result } = shared;
  const sshConfig = result.sshConfig;
  // A connection per command, not one shared (ControlMaster): under emulation dom0's programs are
  // killed at random now and then, and a shared connection whose sshd went wrong left the next
  // command waiting for good, where a connection of its own fails at once.
  const sshArgv = ['-F', sshConfig, '-o', 'ConnectTimeout=20'];
  const once: Lab['ssh'] = (command, input, timeoutMs = 300_000) =>
    new Promise((resolve) => {
      const child = execFile(
        'ssh',
        [...sshArgv, 'xenlab', command],
        { timeout: timeoutMs, maxBuffer: 1 << 26, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 255
            : 0;
          resolve({ code, stdout, stderr });
        },
      );
      // An ssh that fails before reading its input (exit 255, tried again below) is no write error of ours.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  // ssh failing before the command runs (exit 255 with a connect-phase or login message: a busy
  // emulated dom0 not accepting the connection, its sshd refusing the key) is tried again: the
  // command never ran.
  const ssh: Lab['ssh'] = async (command, input, timeoutMs) => {
    for (let attempt = 1; ; attempt++) {
      const r = await once(command, input, timeoutMs);
      const unreached =
        r.code === 255 &&
        /Connection (timed out|refused|reset|closed)|kex_exchange_identification|Operation timed out|Permission denied \(publickey\)/.test(
          r.stderr,
        );
      if (!unreached || attempt === 6) return r;
      await new Promise((res) => setTimeout(res, 10_000));
    }
  };
  // A command that may run twice gets two minutes an attempt: one that hangs is tried again.
  const runIdempotent: Lab['runIdempotent'] = async (command) => {
    for (let attempt = 1; ; attempt++) {
      const r = await ssh(command, undefined, 120_000);
      if (r.code === 0) return r.stdout;
      if (r.code !== 255 || attempt === 4)
        throw new Error(`${command}: exit ${r.code}: ${r.stderr.trim() || '(nothing on stderr)'}`);
      await new Promise((res) => setTimeout(res, 5_000));
    }
  };
  const waitUntil: Lab['waitUntil'] = async (cond, timeoutMs = 900_000) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const tries = Math.max(1, Math.min(60, Math.ceil((until - Date.now()) / 1000)));
      const loop = `t=0; until { ${cond}; } >/dev/null 2>&1; do t=$((t+1)); [ $t -ge ${tries} ] && exit 1; sleep 1; done`;
      const r = await ssh(loop, undefined, (tries + 60) * 1000);
      if (r.code === 0) return true;
    }
    return false;
  };
  return {
    dir,
    share: path.join(dir, 'share'),
    sshConfig,
    up: result,
    ssh,
    runIdempotent,
    waitUntil,
    async clear(name) {
      const q = shellQuote(name);
      if ((await ssh(`xl domid ${q}`, undefined, 120_000)).code === 1) return;
      const gone = `! xl domid ${q} >/dev/null 2>&1 && sleep 2 && ! xl domid ${q} >/dev/null 2>&1`;
      if (!(await waitUntil(`${gone} || { xl destroy ${q} >/dev/null 2>&1; false; }`, 120_000)))
        throw new Error(`${name} was still there after two minutes of xl destroy`);
    },
    async waitForConsole(domain, marker, timeoutMs = 900_000) {
      const file = `/var/log/xen/console/guest-${domain}.log`;
      const seen = await waitUntil(`grep -qF -- ${shellQuote(marker)} ${file}`, timeoutMs);
      const log = (await ssh(`cat ${file} 2>/dev/null`, undefined, 60_000)).stdout;
      if (seen && log.includes(marker)) return log;
      throw new Error(`${marker} never appeared on ${domain}'s console; the log:\n${log}`);
    },
    async stop(domains = []) {
      try {
        if (!o.hvm) for (const d of domains) await ssh(`xl destroy ${d} 2>/dev/null; true`);
      } finally {
        try {
          await release(slot, o.hvm);
        } finally {
          await unclaim();
        }
      }
    },
  };
}

/** The lab's dom0 kernel (the linux-image package's vmlinuz), for guests. */
export function labKernel(lab: Lab): string {
  return lab.up.built.vmlinuz;
}

/**
 * The lab's kernel for the guests the tests boot directly (kernel= in their config): its path in
 * dom0. An uncompressed ELF in dom0's own filesystem (RAM), copied there once a boot from the
 * share (written once: files sharing the lab may boot guests from it at the same time). Each
 * domain build read the kernel again: a gzipped ELF from the share took `xl create` 8.4-8.8 s
 * (2.8 s of it unpacking 62 MB under emulation), the ELF mapped from the share over 9p 13-17 s,
 * the ELF in dom0's filesystem 6.0-6.4 s.
 */
export function sharedKernel(lab: Lab): Promise<string> {
  let kernel = kernels.get(lab);
  if (!kernel) {
    // Forgotten when it failed, so that the next guest tries again.
    kernel = copyKernel(lab).catch((e: unknown) => {
      kernels.delete(lab);
      throw e;
    });
    kernels.set(lab, kernel);
  }
  return kernel;
}

/** Each lab's kernel, copied into dom0 once per boot and file (a Lab is one file's boot). */
const kernels = new WeakMap<Lab, Promise<string>>();

async function copyKernel(lab: Lab): Promise<string> {
  const file = path.join(lab.share, 'vmlinux');
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}`;
    await writeFile(tmp, elfKernel(labKernel(lab)));
    await rename(tmp, file);
  }
  const inDom0 = '/var/lib/xen/vmlinux-lab';
  await lab.runIdempotent(`[ -s ${inDom0} ] || { cp /mnt/lab/vmlinux ${inDom0}.tmp && mv ${inDom0}.tmp ${inDom0}; }`);
  return inDom0;
}

/** A small ISO 9660 image built by xorriso (it stands for the installation disc). */
export function buildIso(file: string): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-iso-'));
  try {
    mkdirSync(path.join(dir, 'sources'));
    writeFileSync(path.join(dir, 'sources', 'README.TXT'), 'xen-runbooks lab disc\n');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'XRLAB', '-o', file, dir], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Domain-0's memory (MiB), `xl list`'s Mem column. */
export async function dom0MiB(lab: Lab): Promise<number> {
  const out = await lab.runIdempotent('xl list Domain-0');
  return Number(out.split('\n')[1]!.trim().split(/\s+/)[2]);
}

/** windows-hvm's smallest guest (512 MiB) or more: bigger than what Xen has free (free_memory, MiB). */
export function oversizedGuestMiB(freeMiB: number): number {
  return Math.max(512, Math.ceil((freeMiB + 96) / 32) * 32);
}

/**
 * A PV guest of the lab's kernel whose initrd prints MARKER on its console and stays up (with
 * MODULES loaded), a 16 MiB disk at /var/lib/xen/NAME.img, its config written to
 * /etc/xen/NAME.cfg; not started. The config's other keys are pvConfig's.
 */
export async function writeMarkerGuest(
  lab: Lab,
  o: {
    name: string;
    marker: string;
    modules?: readonly string[];
    memory?: number;
    maxmem?: number;
    vcpus?: number;
    maxvcpus?: number;
    vif?: string;
    onReboot?: 'restart';
  },
): Promise<void> {
  const kernel = await sharedKernel(lab);
  writeFileSync(path.join(lab.share, `initrd-${o.name}`), markerInitrd(o.marker, { stay: true, modules: o.modules }));
  await lab.runIdempotent(`truncate -s 16M /var/lib/xen/${o.name}.img`);
  let cfg = pvConfig({
    name: o.name,
    kernel,
    disk: `/var/lib/xen/${o.name}.img`,
    memory: o.memory,
    maxmem: o.maxmem,
    vcpus: o.vcpus,
    maxvcpus: o.maxvcpus,
    vif: o.vif,
    extra: [`ramdisk = "/mnt/lab/initrd-${o.name}"`, 'extra = "console=hvc0"'],
  });
  if (o.onReboot) cfg = cfg.replace('on_reboot = "destroy"', `on_reboot = "${o.onReboot}"`);
  const w = await lab.ssh(`cat > /etc/xen/${o.name}.cfg`, cfg);
  if (w.code !== 0) throw new Error(`writing /etc/xen/${o.name}.cfg: exit ${w.code}: ${w.stderr}`);
}

/**
 * windows-hvm over --host against the lab: guest NAME from ISO (a path in dom0), a 1 GiB disk at
 * /var/lib/xen/NAME.img, 1 vCPU, --yes, then EXTRA.
 */
export function windowsHvm(lab: Lab, o: { name: string; iso: string; memory: number }, ...extra: string[]) {
  return runPlaybook('windows-hvm', [
    '--host',
    'root@xenlab',
    '--ssh-config',
    lab.sshConfig,
    '--name',
    o.name,
    '--iso',
    o.iso,
    '--disk',
    `/var/lib/xen/${o.name}.img`,
    '--disk-size',
    '1',
    '--memory',
    String(o.memory),
    '--vcpus',
    '1',
    '--yes',
    ...extra,
  ]);
}
