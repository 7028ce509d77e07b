/**
 * One lab boot for a test file: beforeAll starts it (after any other lab test file's boot has been
 * stopped: one QEMU at a time, through a lock in the cache directory), afterAll stops it, always.
 * A machine without QEMU fails here with the command that installs it.
 */
import { execFile } from 'node:child_process';

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { alive, cacheRoot, down, missingHostTools, up, type Scheduler, type UpResult } from 'xen-runbooks/lab';

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
  /** Until MARKER is in the guest's console log (xenconsoled --log=guest); the log. */
  waitForConsole(domain: string, marker: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const LOCK_WAIT_MS = 1_800_000;

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
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export async function startLab(o: { sched?: Scheduler; memoryMiB?: number } = {}): Promise<Lab> {
  const tools = missingHostTools();
  if (tools.install) throw new Error(`the lab needs ${tools.missing.join(', ')}: ${tools.install}`);
  const unlock = await lock(path.join(cacheRoot(), 'test-boot.lock'));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-lab-'));
  let result: UpResult;
  try {
    result = await up({ dir, sched: o.sched, memoryMiB: o.memoryMiB, timeoutMs: 900_000 });
  } catch (e) {
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
    await unlock();
    throw e;
  }
  const sshConfig = result.sshConfig;
  const once: Lab['ssh'] = (command, input, timeoutMs = 600_000) =>
    new Promise((resolve) => {
      const child = execFile(
        'ssh',
        ['-F', sshConfig, 'xenlab', command],
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
  // An emulated dom0 starting an HVM guest's device model can be too busy to accept a connection
  // for a while: ssh then fails before the command runs (exit 255, a connect-phase message), and
  // the same command is tried again.
  const ssh: Lab['ssh'] = async (command, input, timeoutMs) => {
    for (let attempt = 1; ; attempt++) {
      const r = await once(command, input, timeoutMs);
      const unreached =
        r.code === 255 &&
        /Connection (timed out|refused|reset)|kex_exchange_identification|Operation timed out/.test(r.stderr);
      if (!unreached || attempt === 6) return r;
      await new Promise((res) => setTimeout(res, 10_000));
    }
  };
  return {
    dir,
    share: path.join(dir, 'share'),
    sshConfig,
    up: result,
    ssh,
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
    async stop() {
      try {
        await down({ dir });
      } finally {
        await rm(dir, { recursive: true, force: true });
        await unlock();
      }
    },
  };
}

/** The lab's dom0 kernel (the linux-image package's vmlinuz), for guests. */
export function labKernel(lab: Lab): string {
  return lab.up.built.vmlinuz;
}
