/**
 * pygrub-fix from a workstation, on a dom0 over ssh (--host): the dom0 that holds the images
 * seldom runs Node. Here the dom0 is this machine behind a real OpenSSH server on 127.0.0.1 with
 * throwaway keys; xl is the simulator (SIM_BIN on the session's PATH). Every command goes over
 * the connection: the image's sectors are read there with dd, debugfs and e2fsck run there, the
 * lock is a flock on the dom0, the backups and the undo records are written beside the image.
 * The oracles are the same as the local tests': Xen's own pygrub -l, e2fsck -fn, the bytes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bootloaderArgs } from 'xen-runbooks/grub';
import { SIM_BIN, runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tool } from '../helpers/tools.js';
import { seedXl } from '../sim/xl.mjs';
import {
  buildImage,
  bzImage,
  imageHash,
  incidentImage,
  initrd,
  legacyNamed,
  sfdiskJson,
  tempDir,
  UBUNTU_1204_CFG,
  GiB,
} from '../fixtures/images.js';
import { e2fsck, guestFile, pygrubList } from './oracles.js';

const P1 = 1048576;
/**
 * Each command over ssh is a process and a round trip: a run costs seconds more than here, and
 * on a loaded machine tens of seconds. These tests wait for it rather than fail on the clock.
 */
const SLOW_RUN = { timeoutMs: 600_000 };
vi.setConfig({ testTimeout: 900_000 });
let dir: string;
let sim: string;
let sshd: Sshd;
let ssh: string[];

beforeAll(async () => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck', 'pygrub', 'sshd', 'losetup'] as const) tool(t);
  dir = tempDir('xr-pygrub-ssh-');
  sim = path.join(dir, 'sim');
  mkdirSync(sim);
  // A dom0 with a hypervisor and no guest running (the simulator answers xl list -l).
  seedXl(sim, {});
  sshd = await startSshd({
    env: { PATH: `${SIM_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, XR_SIM_DIR: sim },
  });
  ssh = ['--host', sshd.destination, '--ssh-config', sshd.configFile];
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const steps = (r: { json?: { steps: { id: string; status: string }[] } }) =>
  Object.fromEntries((r.json?.steps ?? []).map((s) => [s.id, s.status]));

describe('the incident image, repaired from a workstation', () => {
  it('--dry-run over ssh changes nothing; the fix is what pygrub -l and e2fsck accept; a second run changes nothing', async () => {
    const img = path.join(dir, 'vm01.img');
    await incidentImage(img);
    const before = imageHash(img);
    const files = readdirSync(dir);

    const dry = await runPlaybook('pygrub-fix', [img, ...ssh, '--dry-run', '--json'], SLOW_RUN);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.host).toBe(`ssh ${sshd.destination}`);
    expect(steps(dry)['rewrite-config']).toBe('would-change');
    expect(dry.json.data.boot).toMatchObject({ partition: 1, offset: P1, config: '/grub/grub.cfg' });
    expect(imageHash(img)).toBe(before);
    expect(readdirSync(dir)).toEqual(files);

    const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes', '--json'], SLOW_RUN);
    expect(r.code, r.stderr).toBe(0);
    expect(steps(r)['rewrite-config']).toBe('changed');
    expect(steps(r).verify).toBe('ok');
    // The legacy-named config is what the fix must make pygrub list.
    const legacy = path.join(dir, 'legacy.img');
    await incidentImage(legacy, { cfg: legacyNamed(UBUNTU_1204_CFG) });
    const want = pygrubList(legacy);
    rmSync(legacy);
    expect(want.match(/^title:/gm)?.length).toBe(5);
    expect(pygrubList(img)).toBe(want);
    // The host's own pygrub was asked by the run itself, over the connection.
    expect(r.json.data.hostPygrub).toMatchObject({ ok: true, pygrub: expect.stringMatching(/pygrub$/) });
    expect(r.json.data.hostPygrub.titles).toEqual([...want.matchAll(/^title: (.*)$/gm)].map((m) => m[1]));
    expect(e2fsck(img, P1).clean).toBe(true);
    expect(guestFile(img, P1, '/grub/grub.cfg.orig')?.toString()).toBe(UBUNTU_1204_CFG);
    // No undo record, scratch file or lock file is left beside the image.
    expect(readdirSync(dir)).toEqual(files);

    const fixed = imageHash(img);
    const again = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes', '--json'], SLOW_RUN);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(steps(again))).not.toContain('changed');
    expect(imageHash(img)).toBe(fixed);
  });

  it('an image in use on the dom0 is refused (exit 3) and left byte-identical: a process, a running domain', async () => {
    const img = path.join(dir, 'held.img');
    await incidentImage(img, { bytes: 2 * GiB });
    const before = imageHash(img);
    const link = path.join(dir, 'held-link.img');
    linkSync(img, link);
    const holder = spawn('sh', ['-c', 'exec 3<"$1"; echo ready; exec sleep 60', 'sh', link], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`process ${holder.pid} \\(sleep\\) has it open`));
    } finally {
      holder.kill();
    }
    const domSim = path.join(dir, 'sim-dom');
    seedXl(domSim, { domains: [{ name: 'vm07', type: 'pv', disks: [{ vdev: 'xvda', target: link }] }] });
    writeFileSync(path.join(sim, 'xl.json'), readFileSync(path.join(domSim, 'xl.json')));
    try {
      const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--yes'], SLOW_RUN);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/domain vm07 has it as a disk \(xl list -l/);
    } finally {
      seedXl(sim, {});
      rmSync(link);
    }
    expect(imageHash(img)).toBe(before);
  });

  it('a block device on the dom0 (a loop device): its size read from /sys over ssh, the same rewrite planned', async () => {
    const img = path.join(dir, 'blk.img');
    await incidentImage(img, { bytes: 2 * GiB });
    const loop = execFileSync(tool('losetup'), ['--find', '--show', img], { encoding: 'utf8' }).trim();
    try {
      const before = imageHash(img);
      const r = await runPlaybook('pygrub-fix', [loop, ...ssh, '--dry-run', '--json'], SLOW_RUN);
      expect(r.code, r.stderr).toBe(0);
      expect(steps(r)['check-image']).toBe('ok');
      expect(r.json.data.table.diskSize).toBe(2 * GiB);
      expect(r.json.data.boot).toMatchObject({ partition: 1, offset: P1, config: '/grub/grub.cfg' });
      expect(steps(r)['rewrite-config']).toBe('would-change');
      expect(imageHash(img)).toBe(before);
    } finally {
      execFileSync(tool('losetup'), ['--detach', loop]);
    }
  });

  it('bad input over ssh is exit 2: a relative image path, --backend mount, a missing image', async () => {
    const rel = await runPlaybook('pygrub-fix', ['vm01.img', ...ssh, '--dry-run'], SLOW_RUN);
    expect(rel.code).toBe(2);
    expect(rel.stderr).toMatch(/IMAGE vm01.img: with --host, give the path on .* as an absolute path/);
    // An image that is there: only the backend is wrong.
    writeFileSync(path.join(dir, 'x.img'), Buffer.alloc(1024 * 1024));
    const mount = await runPlaybook(
      'pygrub-fix',
      [path.join(dir, 'x.img'), ...ssh, '--backend', 'mount', '--dry-run'],
      SLOW_RUN,
    );
    expect(mount.code).toBe(2);
    expect(mount.stderr).toMatch(/--backend mount runs only on the host itself/);
    const none = await runPlaybook('pygrub-fix', [path.join(dir, 'none.img'), ...ssh, '--dry-run'], SLOW_RUN);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/IMAGE \S*none\.img: no such file or device/);
  });
});

const CFG = (root: string) =>
  [
    "menuentry 'Debian GNU/Linux' --class debian --class os {",
    `\tset root='${root}'`,
    '\tlinux /vmlinuz-5.10.0 root=/dev/xvda1 ro',
    '\tinitrd /initrd.img-5.10.0',
    '}',
    '',
  ].join('\n');

async function bootFiles(root: string) {
  return {
    'grub/grub.cfg': CFG(root),
    'vmlinuz-5.10.0': await bzImage('gzip', '5.10.0'),
    'initrd.img-5.10.0': await initrd('5.10.0'),
  };
}

describe('the other ways out, over ssh', () => {
  it("--strategy activate (Xen 4.0.1): the MBR flag set by the dom0's sfdisk, IMAGE.mbr.orig beside it; --restore puts both back", async () => {
    const img = path.join(dir, 'swap-first.img');
    const P2 = 206848 * 512;
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '82' },
        { start: 206848, size: 262144, type: '83', fs: { type: 'ext2', files: await bootFiles('(hd0,msdos2)') } },
      ],
    });
    const mbr = readFileSync(img).subarray(0, 512);
    const r = await runPlaybook('pygrub-fix', [img, ...ssh, '--strategy', 'activate', '--yes', '--json'], SLOW_RUN);
    expect(r.code, r.stderr).toBe(0);
    expect(steps(r)['set-active-partition']).toBe('changed');
    const table = await sfdiskJson(img);
    expect(table?.partitions.map((p) => Boolean((p as { bootable?: boolean }).bootable))).toEqual([false, true]);
    expect(readFileSync(`${img}.mbr.orig`)).toEqual(mbr);
    const now = readFileSync(img).subarray(0, 512);
    expect([...now.keys()].filter((i) => now[i] !== mbr[i])).toEqual([462]);
    expect(guestFile(img, P2, '/grub/grub.cfg')?.toString()).toBe(CFG('(hd0,1)'));
    expect(e2fsck(img, P2).clean).toBe(true);

    const back = await runPlaybook(
      'pygrub-fix',
      [img, ...ssh, '--strategy', 'activate', '--restore', '--yes'],
      SLOW_RUN,
    );
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(img).subarray(0, 512)).toEqual(mbr);
    expect(existsSync(`${img}.mbr.orig`)).toBe(false);
    expect(guestFile(img, P2, '/grub/grub.cfg')?.toString()).toBe(CFG('(hd0,msdos2)'));
  });

  it("--strategy offset (Xen 4.17): bootloader_args written into the dom0's domain config; its real pygrub lists the kernel", async () => {
    const img = path.join(dir, 'logical.img');
    const P5 = 206848 * 512 + 2048 * 512;
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '82' },
        { start: 206848, type: '5' },
        {
          start: 206848 + 2048,
          size: 262144,
          type: '83',
          fs: { type: 'ext2', files: await bootFiles('(hd0,msdos5)') },
        },
      ],
    });
    const cfgFile = path.join(dir, 'vm-offset.cfg');
    const cfg = `name = "vm01"\nbootloader = "pygrub"\ndisk = [ "file:${img},xvda,w" ]\n`;
    writeFileSync(cfgFile, cfg);
    const before = imageHash(img);
    const args = [img, ...ssh, '--xen-version', '4.17', '--strategy', 'offset', '--domain-config', cfgFile];
    const r = await runPlaybook('pygrub-fix', [...args, '--yes', '--json'], SLOW_RUN);
    expect(r.code, r.stderr).toBe(0);
    const written = readFileSync(cfgFile, 'utf8');
    expect(written).toContain(`bootloader_args = ['--offset=${P5}']`);
    expect(readFileSync(`${cfgFile}.orig`, 'utf8')).toBe(cfg);
    expect(imageHash(img)).toBe(before);
    const real = spawnSync(tool('pygrub'), ['-l', '-n', ...(bootloaderArgs(written) ?? []), img], { encoding: 'utf8' });
    expect(real.stdout).toMatch(/kernel: \/vmlinuz-5\.10\.0/);
  });

  it("--strategy pvgrub: the dom0's own PVGRUB2 image found over ssh, the domain config switched, the image untouched", async () => {
    const img = path.join(dir, 'pv.img');
    await incidentImage(img, { bytes: 2 * GiB });
    const before = imageHash(img);
    const cfgFile = path.join(dir, 'vm-pv.cfg');
    const cfg = `name = "vm01"\nbootloader = "/usr/bin/pygrub"\ndisk = [ "file:${img},xvda,w" ]\n`;
    writeFileSync(cfgFile, cfg);
    const r = await runPlaybook(
      'pygrub-fix',
      [img, ...ssh, '--strategy', 'pvgrub', '--domain-config', cfgFile, '--yes', '--json'],
      SLOW_RUN,
    );
    expect(r.code, r.stderr).toBe(0);
    // grub-xen-host is installed on this dom0 (scripts/ensure-tools.mjs).
    expect(r.json.data.pvgrub).toMatchObject({ flavour: 'pvgrub2', kernel: '/usr/lib/grub-xen/grub-x86_64-xen.bin' });
    expect(readFileSync(cfgFile, 'utf8')).toMatch(/^kernel = "\/usr\/lib\/grub-xen\/grub-x86_64-xen\.bin"$/m);
    expect(readFileSync(`${cfgFile}.orig`, 'utf8')).toBe(cfg);
    expect(imageHash(img)).toBe(before);
  });
});
