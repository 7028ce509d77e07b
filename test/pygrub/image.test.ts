// The image pygrub-fix works on: what it is, the lock against a second run, and who else uses it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RefusedError, UsageError } from 'xen-runbooks/engine';
import { imageKind, imageUsers, lockOrRefuse } from 'xen-runbooks/playbooks/pygrub-fix/image';
import { tempDir } from '../fixtures/images.js';
import { fakeCommands } from '../helpers/fake-commands.js';
import type { CommandFn } from 'xen-runbooks/engine';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = tempDir('xr-image-');
});
afterAll(() => {
  for (const c of children) c.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** No toolstack on this host: xl, xm and losetup are not installed. */
const noTools = fakeCommands(() => ({ exitCode: 127, stderr: 'command not found' }));

function image(name: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, Buffer.alloc(4096));
  return f;
}

/** imageUsers of F with a run's own (shared) lock held, as the playbook asks it. */
async function usersOf($: CommandFn, f: string): Promise<{ users: string[]; notes: string[] }> {
  const lock = await lockOrRefuse(f, false);
  try {
    return await imageUsers($, f, 'image file', lock);
  } finally {
    await lock.release();
  }
}

describe('what the image is', () => {
  it('a regular file is an image file; a directory and a missing path are bad input naming what was given', async () => {
    const f = image('vm01.img');
    expect(await imageKind(f, 'vm01.img')).toBe('image file');
    mkdirSync(path.join(dir, 'd'));
    await expect(imageKind(path.join(dir, 'd'), 'd')).rejects.toThrow(
      new UsageError('d is neither a regular file nor a block device'),
    );
    await expect(imageKind(path.join(dir, 'none'), 'given.img')).rejects.toThrow(
      new UsageError('given.img: no such file or device'),
    );
  });
});

describe('who uses it', () => {
  it('nobody: no users, and notes saying which tools were not there', async () => {
    const f = image('free.img');
    const { users, notes } = await usersOf(noTools, f);
    expect(users).toEqual([]);
    expect(notes).toEqual(['xl: not installed', 'xm: not installed']);
  });

  it('a running domain with it as a disk, by xl list -l', async () => {
    const f = image('dom.img');
    const xl = fakeCommands((argv) =>
      argv[0] === 'xl'
        ? { stdout: JSON.stringify([{ domid: 3, config: { c_info: { name: 'vm01' }, disks: [{ pdev_path: f }] } }]) }
        : { exitCode: 127, stderr: 'command not found' },
    );
    const { users } = await usersOf(xl, f);
    expect(users).toEqual([`domain vm01 has it as a disk (xl list -l: ${f})`]);
  });

  it('another process with it open, whatever name it opened it by', async () => {
    const f = image('held.img');
    const link = path.join(dir, 'held-link.img');
    linkSync(f, link);
    const child = spawn('sh', ['-c', 'exec 3<"$1"; exec sleep 60', 'sh', link], { stdio: 'ignore' });
    children.push(child);
    let users: string[] = [];
    for (let i = 0; i < 50 && !users.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      users = (await usersOf(noTools, f)).users;
    }
    expect(users).toEqual([`process ${child.pid} (sleep) has it open`]);
  });
});

describe('the lock', () => {
  it('a second exclusive run is refused while the first holds the image; released, it gets it', async () => {
    const f = image('locked.img');
    const first = await lockOrRefuse(f, true);
    try {
      const e = await lockOrRefuse(f, true).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RefusedError);
      expect((e as RefusedError).hint).toMatch(/another pygrub-fix run is working on this image/);
    } finally {
      await first.release();
    }
    const again = await lockOrRefuse(f, true);
    await again.release();
  });

  it("neither this run's lock nor another run's (shared, a dry run) is a user of the image", async () => {
    const f = image('shared.img');
    const other = await lockOrRefuse(f, false);
    const mine = await lockOrRefuse(f, false);
    try {
      expect(other.pids.length).toBeGreaterThan(0);
      expect((await imageUsers(noTools, f, 'image file', mine)).users).toEqual([]);
      // Told nothing of its own lock's processes, the run still finds them in /proc/locks.
      expect((await imageUsers(noTools, f, 'image file', { ...mine, pids: [] })).users).toEqual([]);
    } finally {
      await mine.release();
      await other.release();
    }
  });
});
