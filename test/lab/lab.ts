/**
 * The lab boots the test files share. A boot costs 20 s on an idle machine and up to three minutes
 * on a loaded one, so the files of one `vitest run` that ask for the same boot (scheduler, memory,
 * dom0_mem) share one QEMU: the first file boots it, the next ones join it, and it stays up between
 * files until a file needs another boot (and nobody uses this one) or the run ends
 * (test/lab/global-setup.ts stops it). One QEMU at a time on the machine: the registry of the
 * running lab (test-lab.json in the cache directory) is read and changed under a lock file.
 *
 * One file at a time: two files driving one emulated dom0 at once made its processes crash
 * (segmentation faults, garbage in a hotplug script's output, sshd refusing the key), which a
 * file alone never did. Each file names its own domains and share files and destroys its
 * domains when it is done. While an HVM guest runs, dom0's programs fail now and then (a
 * segmentation fault, sshd refusing the key): the one HVM guest (windows-hvm.test.ts) runs for
 * seconds, in the last file of the default boot (test/lab/sequencer.ts).
 *
 * A machine without QEMU fails here with the command that installs it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

import {
  alive,
  cacheRoot,
  DEFAULT_BOOT,
  down,
  gzippedElfKernel,
  missingHostTools,
  up,
  type Scheduler,
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
  /** Until MARKER is in the guest's console log (xenconsoled --log=guest); the log. */
  waitForConsole(domain: string, marker: string, timeoutMs?: number): Promise<string>;
  /** Destroy DOMAINS (this file's guests) and leave the lab to the next file. */
  stop(domains?: readonly string[]): Promise<void>;
}

export interface LabOptions {
  sched?: Scheduler;
  memoryMiB?: number;
  dom0MemMiB?: number | 'none';
}

/** What the registry says of the running lab. */
interface Shared {
  /** The boot's options, as a key: a file asking for other options cannot join. */
  key: string;
  dir: string;
  /** The vitest run that booted it (its main process), whose teardown stops it. */
  run: number;
  /** Test processes using it now. */
  users: number[];
  /** When its last user left (ms since the epoch). */
  releasedAt?: number;
  up: UpResult;
}

const LOCK_WAIT_MS = 1_800_000;
/** How long a lab nobody uses waits for another file of its boot before another boot may replace it. */
const GRACE_MS = 20_000;

export const registryFile = (): string => path.join(cacheRoot(), 'test-lab.json');
const mutexFile = (): string => path.join(cacheRoot(), 'test-boot.lock');

async function lock(file: string): Promise<() => Promise<void>> {
  await mkdir(path.dirname(file), { recursive: true });
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch {
      const holder = Number(await readFile(file, 'utf8').catch(() => '0'));
      if (!holder || !alive(holder)) {
        await rm(file, { force: true });
        continue;
      }
      if (Date.now() > until) throw new Error(`another lab test (pid ${holder}) held ${file} too long`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function readRegistry(): Promise<Shared | undefined> {
  try {
    return JSON.parse(await readFile(registryFile(), 'utf8')) as Shared;
  } catch {
    return undefined;
  }
}

async function writeRegistry(s: Shared): Promise<void> {
  const tmp = `${registryFile()}.${process.pid}`;
  await writeFile(tmp, JSON.stringify(s, null, 2) + '\n');
  await rename(tmp, registryFile());
}

async function stopShared(s: Shared): Promise<void> {
  try {
    await down({ dir: s.dir });
  } finally {
    await rm(s.dir, { recursive: true, force: true });
    await rm(registryFile(), { force: true });
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

/** A lab with options O: the running one when it was booted so in this run, else a new boot. */
async function acquire(o: LabOptions): Promise<Shared> {
  const key = JSON.stringify({
    sched: o.sched ?? DEFAULT_BOOT.sched,
    memoryMiB: o.memoryMiB ?? DEFAULT_BOOT.memoryMiB,
    dom0MemMiB: o.dom0MemMiB ?? DEFAULT_BOOT.dom0MemMiB,
  });
  const run = currentRun();
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const unlock = await lock(mutexFile());
    try {
      const reg = await readRegistry();
      const running = reg !== undefined && alive(reg.up.state.pid);
      const others = (reg?.users ?? []).filter((p) => p !== process.pid && alive(p));
      if (reg && running && reg.key === key && run !== undefined && reg.run === run && !others.length) {
        reg.users = [process.pid];
        await writeRegistry(reg);
        return reg;
      }
      // A file of the same boot may follow on the other worker: a lab just left is kept a while.
      const recent = reg?.releasedAt !== undefined && Date.now() - reg.releasedAt < GRACE_MS && reg.run === run;
      if (!(reg && running && (others.length || recent))) {
        if (reg) await stopShared(reg);
        const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-lab-'));
        try {
          const result = await up({
            dir,
            sched: o.sched,
            memoryMiB: o.memoryMiB,
            dom0MemMiB: o.dom0MemMiB,
            timeoutMs: 900_000,
          });
          const fresh: Shared = { key, dir, run: run ?? process.pid, users: [process.pid], up: result };
          await writeRegistry(fresh);
          return fresh;
        } catch (e) {
          await down({ dir });
          await rm(dir, { recursive: true, force: true });
          throw e;
        }
      }
      if (Date.now() > until) throw new Error(`the lab booted for ${reg.key} was still in use by ${others.join(', ')}`);
    } finally {
      await unlock();
    }
    // Another file uses the lab: wait until it is done.
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** This process no longer uses the lab; without a run to stop it later, the last user stops it. */
async function release(): Promise<void> {
  const unlock = await lock(mutexFile());
  try {
    const reg = await readRegistry();
    if (!reg) return;
    reg.users = reg.users.filter((p) => p !== process.pid && alive(p));
    if (currentRun() === undefined && reg.users.length === 0) await stopShared(reg);
    else await writeRegistry({ ...reg, releasedAt: Date.now() });
  } finally {
    await unlock();
  }
}

/** Stop the lab RUN booted, if it is still up (the run's teardown). */
export async function stopRunLab(run: number): Promise<void> {
  if (!existsSync(registryFile())) return;
  const unlock = await lock(mutexFile());
  try {
    const reg = await readRegistry();
    if (reg && reg.run === run) await stopShared(reg);
  } finally {
    await unlock();
  }
}

export async function startLab(o: LabOptions = {}): Promise<Lab> {
  const tools = missingHostTools();
  if (tools.install) throw new Error(`the lab needs ${tools.missing.join(', ')}: ${tools.install}`);
  const shared = await acquire(o);
  const { dir, up: result } = shared;
  const sshConfig = result.sshConfig;
  // One connection for the file, as the playbooks' ssh transport keeps one per run: the emulated
  // dom0's sshd refused a correct key now and then (Permission denied (publickey)) and dropped
  // connections, so the fewer logins the better. The socket lives in a short private directory
  // (a unix socket path is at most 108 bytes).
  const controlDir = mkdtempSync(path.join(os.tmpdir(), 'xr-lab-ssh-'));
  const sshArgv = [
    '-F',
    sshConfig,
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${path.join(controlDir, '%C')}`,
    '-o',
    'ControlPersist=60',
  ];
  const once: Lab['ssh'] = (command, input, timeoutMs = 600_000) =>
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
  const runIdempotent: Lab['runIdempotent'] = async (command) => {
    for (let attempt = 1; ; attempt++) {
      const r = await ssh(command);
      if (r.code === 0) return r.stdout;
      if (r.code !== 255 || attempt === 4)
        throw new Error(`${command}: exit ${r.code}: ${r.stderr.trim() || '(nothing on stderr)'}`);
      await new Promise((res) => setTimeout(res, 5_000));
    }
  };
  return {
    dir,
    share: path.join(dir, 'share'),
    sshConfig,
    up: result,
    ssh,
    runIdempotent,
    async waitForConsole(domain, marker, timeoutMs = 900_000) {
      const until = Date.now() + timeoutMs;
      let log = '';
      while (Date.now() < until) {
        log = (await ssh(`cat /var/log/xen/console/guest-${domain}.log 2>/dev/null`)).stdout;
        if (log.includes(marker)) return log;
        await new Promise((r) => setTimeout(r, 3000));
      }
      throw new Error(`${marker} never appeared on ${domain}'s console; the log:\n${log}`);
    },
    async stop(domains = []) {
      try {
        for (const d of domains) await ssh(`xl destroy ${d} 2>/dev/null; true`);
      } finally {
        await new Promise((res) =>
          execFile('ssh', [...sshArgv, '-O', 'exit', 'xenlab'], { timeout: 20_000 }, () => res(undefined)),
        );
        rmSync(controlDir, { recursive: true, force: true });
        await release();
      }
    },
  };
}

/** The lab's dom0 kernel (the linux-image package's vmlinuz), for guests. */
export function labKernel(lab: Lab): string {
  return lab.up.built.vmlinuz;
}

/**
 * The lab's kernel as a gzipped ELF in the share, written once (files sharing the lab may boot
 * guests from it at the same time): its path in dom0.
 */
export async function sharedKernel(lab: Lab): Promise<string> {
  const file = path.join(lab.share, 'vmlinux.gz');
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}`;
    await writeFile(tmp, gzippedElfKernel(labKernel(lab)));
    await rename(tmp, file);
  }
  return '/mnt/lab/vmlinux.gz';
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

/**
 * A bootable ISO 9660 image (El Torito, no emulation, built by xorriso) whose boot sector writes
 * MARKER and a newline to port 0xE9, then halts with interrupts off. Xen logs what an HVM guest
 * writes there (hvm.c hvm_print_line: "(dN) MARKER" in `xl dmesg`, with guest_loglvl=all), and
 * a guest whose vCPUs all halt with interrupts off is powered off (hvm.c hvm_hlt →
 * hvm_vcpu_down: "All CPUs offline -- powering off", RELEASE-4.17.0): the guest proves it ran
 * and leaves nothing running.
 */
export function markerIso(file: string, marker: string): void {
  if (!/^[\x20-\x7e]{1,64}$/.test(marker))
    throw new Error(`a marker is up to 64 printable ASCII characters: ${marker}`);
  // Loaded at 0000:7C00 (the El Torito default). Hand-assembled 16-bit code:
  const code = Buffer.from([
    0x31,
    0xc0, //       xor ax, ax
    0x8e,
    0xd8, //       mov ds, ax
    0xfc, //             cld
    0xbe,
    0x15,
    0x7c, // mov si, 0x7C15 (the message, right after the code)
    0xac, //             .next: lodsb
    0x84,
    0xc0, //       test al, al
    0x74,
    0x04, //       jz .halt
    0xe6,
    0xe9, //       out 0xE9, al
    0xeb,
    0xf7, //       jmp .next
    0xfa, //             .halt: cli
    0xf4, //             hlt
    0xeb,
    0xfc, //       jmp .halt
  ]);
  const boot = Buffer.alloc(2048);
  code.copy(boot);
  boot.write(`${marker}\n\0`, code.length, 'latin1');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-iso-'));
  try {
    mkdirSync(path.join(dir, 'boot'));
    writeFileSync(path.join(dir, 'boot', 'marker.bin'), boot);
    execFileSync(
      'xorriso',
      [
        '-as',
        'mkisofs',
        '-quiet',
        '-V',
        'XRLAB',
        '-b',
        'boot/marker.bin',
        '-no-emul-boot',
        '-boot-load-size',
        '4',
        '-o',
        file,
        dir,
      ],
      { stdio: 'pipe' },
    );
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
