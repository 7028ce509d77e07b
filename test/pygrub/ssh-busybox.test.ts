/**
 * pygrub-fix over ssh on a dom0 whose userland is BusyBox (the session's PATH holds only BusyBox
 * applets, plus what each case adds). What it needs beyond them, each named when missing (exit
 * 2, nothing changed): e2fsprogs (debugfs, e2fsck, e2undo), util-linux's flock, and to write,
 * GNU coreutils' stdbuf. Everything else it runs there (sh, stat -c, dd, cut, mktemp, mv, rm,
 * chmod, chown, sync, cat, ls, grep) is a BusyBox applet: the last case writes with them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tool } from '../helpers/tools.js';
import { imageHash, incidentImage, tempDir, UBUNTU_1204_CFG, GiB } from '../fixtures/images.js';
import { e2fsck, guestFile } from './oracles.js';

const P1 = 1048576;
/**
 * Each command over ssh is a process and a round trip: a run costs seconds more than here, and
 * on a loaded machine tens of seconds. These tests wait for it rather than fail on the clock.
 */
const SLOW_RUN = { timeoutMs: 600_000 };
vi.setConfig({ testTimeout: 900_000 });
let dir: string;
let bin: string;
let sshd: Sshd;
let ssh: string[];

/** Put a tool of this machine into the dom0's PATH. */
function give(name: string): void {
  const found = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => path.join(d, name)).find((f) => existsSync(f));
  if (!found) throw new Error(`${name} is not installed: run 'node scripts/ensure-tools.mjs' as root`);
  rmSync(path.join(bin, name), { force: true });
  symlinkSync(found, path.join(bin, name));
}

beforeAll(async () => {
  const busybox = tool('busybox');
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck', 'sshd'] as const) tool(t);
  dir = tempDir('xr-pygrub-bb-');
  bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean))
    symlinkSync(busybox, path.join(bin, applet));
  for (const t of ['debugfs', 'e2fsck', 'e2undo']) give(t);
  // Not for pygrub-fix: sshd runs root's login shell, bash, whose ~/.bashrc on this machine runs
  // `#!/usr/bin/env bash` scripts (pyenv) and would print an error into every command's stderr.
  give('bash');
  sshd = await startSshd({ env: { PATH: bin } });
  ssh = ['--host', sshd.destination, '--ssh-config', sshd.configFile];
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('pygrub-fix on a BusyBox dom0', () => {
  it('names what is missing (exit 2) and changes nothing; with each tool given, reads, then writes', async () => {
    const img = path.join(dir, 'vm01.img');
    await incidentImage(img, { bytes: 2 * GiB });
    const before = imageHash(img);

    // Debian's BusyBox has no flock applet (and BusyBox's, where built, has no -w or -E).
    const noFlock = await runPlaybook('pygrub-fix', [img, ...ssh, '--dry-run'], SLOW_RUN);
    expect(noFlock.code).toBe(2);
    expect(noFlock.stderr).toMatch(/lacks what pygrub-fix runs there: flock \(util-linux\)/);
    expect(noFlock.stderr).toMatch(/install util-linux on the host/);

    give('flock');
    const dry = await runPlaybook('pygrub-fix', [img, ...ssh, '--dry-run', '--json'], SLOW_RUN);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.steps.find((s: { id: string }) => s.id === 'rewrite-config').status).toBe('would-change');

    const noStdbuf = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
    expect(noStdbuf.code).toBe(2);
    expect(noStdbuf.stderr).toMatch(/lacks what pygrub-fix runs there: stdbuf \(GNU coreutils\)/);
    expect(imageHash(img)).toBe(before);

    give('stdbuf');
    const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
    expect(r.code, r.stderr).toBe(0);
    expect(e2fsck(img, P1).clean).toBe(true);
    expect(guestFile(img, P1, '/grub/grub.cfg.orig')?.toString()).toBe(UBUNTU_1204_CFG);
    expect(guestFile(img, P1, '/grub/grub.cfg')?.toString()).toMatch(/set root='\(hd0,0\)'/);
  });
});
