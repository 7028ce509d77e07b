/**
 * The whole playbook under faults, on the incident's image (Ubuntu 12.04 guest, /boot as
 * partition 1): killed while writing, then run again; two runs at once; a full /boot; a
 * grub.cfg.orig that is no backup. A handful of runs: the write itself is killed at every one of
 * its write points in kill.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DebugfsFs, freeSpace } from 'xen-runbooks/disk';
import { ROOT, childEnv, runPlaybook } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';
import { UBUNTU_1204_CFG, imageHash, incidentImage, tempDir, GiB } from '../fixtures/images.js';
import { $, FAULT_BIN, needTools, undoLeftovers } from './helpers.js';

const P1 = 1048576;
let dir: string;
let base: string;
let fixed: string;
let n = 0;

beforeAll(async () => {
  needTools();
  dir = tempDir('xr-faults-playbook-');
  base = path.join(dir, 'base.img');
  await incidentImage(base, { bytes: 1 * GiB });
  // What an undisturbed run writes: the config every interrupted run must end with.
  const img = fresh();
  const r = await runPlaybook('pygrub-fix', [img, '--yes']);
  expect(r.code, r.stderr).toBe(0);
  fixed = (await cfgs(img)).cfg;
  rmSync(img);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

/** The playbook in a process group of its own, killed whole at a write point of its write. */
function killedRun(img: string, point: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const fault = path.join(dir, `fault-${n++}`);
  mkdirSync(fault);
  const env = childEnv({ XR_FAULT_DIR: fault, XR_FAULT_POINT: point });
  env.PATH = `${FAULT_BIN}:${env.PATH ?? ''}`;
  const script = 'XR_FAULT_PGID=$$; export XR_FAULT_PGID; exec "$@"';
  const argv = ['-c', script, 'sh', process.execPath, path.join(ROOT, 'playbooks/pygrub-fix.mjs'), img, '--yes'];
  return new Promise((resolve, reject) => {
    const child = spawn('sh', argv, { cwd: ROOT, env, detached: true, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

describe('pygrub-fix killed while writing, then run again', () => {
  for (const point of ['1:pwrite64:30', '2:pwrite64:6']) {
    it(`killed at ${point}: --dry-run says so, the next run rolls back and fixes, --restore puts the original back`, async () => {
      const img = fresh();
      const killed = await killedRun(img, point);
      expect(killed.signal).toBe('SIGKILL');
      const dry = await runPlaybook('pygrub-fix', [img, '--dry-run']);
      expect(undoLeftovers(img).length).toBeGreaterThan(0);
      expect(dry.code).toBe(3);
      expect(dry.stderr + dry.stdout).toMatch(/interrupted while writing/);
      if (point.startsWith('2:')) {
        // --restore right after the crash: the interrupted write is rolled back, nothing to put back.
        const early = await runPlaybook('pygrub-fix', [img, '--restore', '--yes']);
        expect(early.code, early.stderr).toBe(0);
        expect(early.stdout + early.stderr).toMatch(/rolled back/);
        expect(await cfgs(img)).toEqual({ cfg: UBUNTU_1204_CFG, orig: undefined });
        expect(undoLeftovers(img)).toEqual([]);
      }
      const again = await runPlaybook('pygrub-fix', [img, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      expect(e2fsckClean(img)).toBe(true);
      expect(undoLeftovers(img)).toEqual([]);
      const after = await cfgs(img);
      expect(after.orig).toBe(UBUNTU_1204_CFG);
      expect(after.cfg).toBe(fixed);
      expect(after.cfg).not.toBe(UBUNTU_1204_CFG);
      const restore = await runPlaybook('pygrub-fix', [img, '--restore', '--yes']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(await cfgs(img)).toEqual({ cfg: UBUNTU_1204_CFG, orig: undefined });
      expect(e2fsckClean(img)).toBe(true);
      rmSync(img);
    });
  }
});

describe('pygrub-fix on a bad day', () => {
  it('two runs at once: one fixes, the other waits for the lock, then refuses or finds nothing to do', async () => {
    for (let pair = 0; pair < 2; pair++) {
      const img = fresh();
      const [a, b] = await Promise.all([
        runPlaybook('pygrub-fix', [img, '--yes', '--json'], { newProcess: true }),
        runPlaybook('pygrub-fix', [img, '--yes', '--json'], { newProcess: true }),
      ]);
      const wrote = (r: typeof a) =>
        r.code === 0 &&
        (r.json?.steps as { id: string; status: string }[] | undefined)?.some(
          (s) => s.id === 'rewrite-config' && s.status === 'changed',
        );
      const changed = [a, b].filter(wrote);
      const other = [a, b].find((r) => !wrote(r));
      expect(changed.length, `${a.stderr}\n${b.stderr}`).toBe(1);
      const why = `${other?.code}: ${other?.stderr}`;
      expect(other?.code === 0 || (other?.code === 3 && /another run holds a lock/.test(why)), why).toBe(true);
      expect(e2fsckClean(img)).toBe(true);
      expect((await cfgs(img)).orig).toBe(UBUNTU_1204_CFG);
      rmSync(img);
    }
  });

  it('a /boot with no room for the new grub.cfg: refused before writing (exit 3), the image byte-identical', async () => {
    const img = fresh();
    const t = { $, image: img, offset: P1, device: `${img}?offset=${P1}` };
    const filler = path.join(dir, 'filler');
    for (let i = 0; i < 6; i++) {
      const { freeBlocks } = await freeSpace(t as never);
      if (freeBlocks < 4) break;
      const blocks = Math.max(1, freeBlocks - 3 - Math.ceil(freeBlocks / 250) - 2);
      writeFileSync(filler, Buffer.alloc(blocks * 1024, 1));
      execFileSync(tool('debugfs'), ['-w', '-R', `write ${filler} filler${i}`, t.device], { stdio: 'pipe' });
    }
    rmSync(filler);
    expect((await freeSpace(t as never)).freeBlocks).toBeLessThan(4);
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/too full to write \/grub\/grub\.cfg safely/);
    expect(imageHash(img)).toBe(before);
    rmSync(img);
  });

  it('a grub.cfg.orig that is a symlink: refused with exit 3 and a clear message, not "existing .orig kept"', async () => {
    const img = fresh();
    execFileSync(tool('debugfs'), ['-w', '-R', 'symlink /grub/grub.cfg.orig /etc/passwd', `${img}?offset=${P1}`], {
      stdio: 'pipe',
    });
    const before = imageHash(img);
    const r = await runPlaybook('pygrub-fix', [img, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/grub\.cfg\.orig exists and is a symlink, not a backup/);
    expect(imageHash(img)).toBe(before);
    rmSync(img);
  });
});
