/**
 * pygrub-fix over ssh under faults, on the incident's image. The dom0 is this machine behind a
 * real sshd whose sessions find test/faults/bin-ssh/debugfs first on PATH: at a chosen write of a
 * read-write debugfs session (strace, as in playbook.test.ts) it kills debugfs, and then either
 * - the workstation's whole run (its process group: the playbook, its ssh clients), or
 * - the ssh connection (the sshd process serving it), while the run on the workstation goes on.
 * Either way the image must end as it was, or done with its backup, and never half-written.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DebugfsFs } from 'xen-runbooks/disk';
import { ROOT, SIM_BIN, childEnv, runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tool } from '../helpers/tools.js';
import { seedXl } from '../sim/xl.mjs';
import { UBUNTU_1204_CFG, imageHash, incidentImage, tempDir, GiB } from '../fixtures/images.js';
import { $, needTools, undoLeftovers } from './helpers.js';

const P1 = 1048576;
/**
 * Each command over ssh is a process and a round trip: a run costs seconds more than here, and
 * on a loaded machine tens of seconds. These tests wait for it rather than fail on the clock.
 */
const SLOW_RUN = { timeoutMs: 600_000 };
vi.setConfig({ testTimeout: 900_000 });
let dir: string;
let base: string;
let conf: string;
let sshd: Sshd;
let ssh: string[];
let n = 0;

beforeAll(async () => {
  needTools();
  tool('sshd');
  dir = tempDir('xr-faults-ssh-');
  base = path.join(dir, 'base.img');
  await incidentImage(base, { bytes: 1 * GiB });
  const sim = path.join(dir, 'sim');
  mkdirSync(sim);
  seedXl(sim, {});
  conf = path.join(dir, 'fault.conf');
  writeFileSync(conf, '');
  sshd = await startSshd({
    env: {
      PATH: `${path.join(ROOT, 'test/faults/bin-ssh')}:${SIM_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      XR_SIM_DIR: sim,
      XR_FAULT_CONF: conf,
    },
  });
  ssh = ['--host', sshd.destination, '--ssh-config', sshd.configFile];
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function fresh(): string {
  const img = path.join(dir, `vm${n++}.img`);
  execFileSync('cp', ['--sparse=always', base, img]);
  return img;
}

function e2fsckClean(img: string): boolean {
  try {
    execFileSync(tool('e2fsck'), ['-fn', `${img}?offset=${P1}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

async function cfgs(img: string): Promise<{ cfg: string; orig: string | undefined }> {
  const fs = new DebugfsFs($, img, P1);
  const cfg = (await fs.readFile('/grub/grub.cfg', 1 << 20)).toString();
  const orig = (await fs.stat('/grub/grub.cfg.orig'))
    ? (await fs.readFile('/grub/grub.cfg.orig', 1 << 20)).toString()
    : undefined;
  return { cfg, orig };
}

/** The fault for the next run on the dom0 (an empty file: none). */
function arm(fields: Record<string, string>): string {
  const fault = path.join(dir, `fault-${n++}`);
  mkdirSync(fault);
  const all = { XR_FAULT_DIR: fault, ...fields };
  writeFileSync(
    conf,
    Object.entries(all)
      .map(([k, v]) => `${k}='${v}'\n`)
      .join(''),
  );
  return fault;
}
const disarm = () => writeFileSync(conf, '');

/** The playbook over ssh in a process group of its own; the dom0 kills the whole group at `point`. */
function killedRun(img: string, point: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'playbooks/pygrub-fix.mjs'), img, ...ssh, '--yes'], {
      cwd: ROOT,
      env: childEnv(),
      detached: true,
      stdio: 'ignore',
    });
    // The write starts seconds after the start: the group is known to the dom0 by then.
    arm({ XR_FAULT_POINT: point, XR_FAULT_PGID: String(child.pid) });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

let fixed: string;

describe('pygrub-fix over ssh, the workstation killed while the dom0 writes', () => {
  it('undisturbed: what every interrupted run must end with', async () => {
    disarm();
    const img = fresh();
    const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
    expect(r.code, r.stderr).toBe(0);
    fixed = (await cfgs(img)).cfg;
    expect(fixed).not.toBe(UBUNTU_1204_CFG);
    rmSync(img);
  });

  // The second session (FILE.orig linked, the new inode given the name): the run's most delicate write.
  // Every write point of both sessions is killed locally in kill.test.ts; here the same recovery over ssh.
  for (const point of ['2:pwrite64:6']) {
    it(`killed at ${point}: --dry-run over ssh says so, the next run over ssh rolls back and fixes`, async () => {
      const img = fresh();
      const killed = await killedRun(img, point);
      disarm();
      expect(killed.signal).toBe('SIGKILL');
      expect(undoLeftovers(img).length).toBeGreaterThan(0);
      const dry = await runPlaybook('pygrub-fix', [img, ...ssh, '--dry-run'], SLOW_RUN);
      expect(dry.code).toBe(3);
      expect(dry.stderr + dry.stdout).toMatch(/interrupted while writing/);
      const again = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/rolled back/);
      expect(e2fsckClean(img)).toBe(true);
      expect(undoLeftovers(img)).toEqual([]);
      expect(await cfgs(img)).toEqual({ cfg: fixed, orig: UBUNTU_1204_CFG });
      rmSync(img);
    });
  }
});

describe('pygrub-fix over ssh, the connection dropped while the dom0 writes', () => {
  // One write point in each session.
  for (const point of ['1:pwrite64:30', '2:pwrite64:6']) {
    it(`dropped at ${point}: the run reconnects, rolls the write back (exit 1): the image byte-identical`, async () => {
      const img = fresh();
      const before = imageHash(img);
      arm({ XR_FAULT_POINT: point, XR_FAULT_DROP: '1' });
      const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
      disarm();
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/rolled back: the filesystem is as it was/);
      expect(undoLeftovers(img)).toEqual([]);
      expect(e2fsckClean(img)).toBe(true);
      expect(await cfgs(img)).toEqual({ cfg: UBUNTU_1204_CFG, orig: undefined });
      expect(imageHash(img)).toBe(before);
      rmSync(img);
    });
  }
});
