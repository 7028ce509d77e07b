/**
 * A file given for one thing must be that thing: a domain configuration that names another domain,
 * a --domain-config that is /etc/passwd or another domain's, a configuration that never ends or a
 * FIFO, a --config-dir that is a file, a --root that is a file. Each is refused with exit 2 naming
 * the file before any step, and every file stays byte for byte as it was (no disk created either).
 * Locally (under --root or on real paths) and, where the playbook runs over ssh, against a real sshd.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SIM_BIN, childEnv, runPlaybook, type RunResult } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { isoStandIn } from '../helpers/iso.js';
import { readXl, seedXl } from '../sim/xl.mjs';
import { makeHost } from '../windows/host.js';

let dir: string;
let sim: string;
let sshd: Sshd;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-wrong-file-'));
  sim = path.join(dir, 'ssh-sim');
  mkdirSync(sim);
  sshd = await startSshd({ env: { PATH: `${SIM_BIN}:/usr/local/bin:/usr/bin:/bin`, XR_SIM_DIR: sim } });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const overSsh = () => ['--host', sshd.destination, '--ssh-config', sshd.configFile];
const VM01 = readFileSync(path.join(ROOT, 'test/fixtures/qos/vm01.cfg'), 'utf8');
const VM02 = VM01.replace('name = "vm01"', 'name = "vm02"').replace(/vm01-/g, 'vm02-');

function seedTwo(simDir: string): void {
  seedXl(simDir, {
    info: { nr_cpus: 4, xen_scheduler: 'credit' },
    domains: [
      { name: 'vm01', type: 'pv', vcpus: 2, maxvcpus: 4, memory: 1024, maxmem: 2048, pvDrivers: true },
      { name: 'vm02', type: 'pv', vcpus: 2, maxvcpus: 4, memory: 1024, maxmem: 2048, pvDrivers: true },
    ],
  });
}

function refused(r: RunResult, file: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(file);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stdout).not.toMatch(/\[1\//);
}

describe("xen-qos --persist --config naming another domain's file", () => {
  const run = (cfgDir: string, simDir: string, config: string, extra: string[]) =>
    runPlaybook(
      'xen-qos',
      ['vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--persist', '--config', config, ...extra, '--yes'],
      { sim: simDir },
    );

  it('locally: vm02.cfg is refused and stays as it was; vm01.cfg is written', async () => {
    const simDir = mkdtempSync(path.join(dir, 'qos-sim-'));
    seedTwo(simDir);
    const etc = mkdtempSync(path.join(dir, 'qos-etc-'));
    writeFileSync(path.join(etc, 'vm01.cfg'), VM01);
    writeFileSync(path.join(etc, 'vm02.cfg'), VM02);
    const wrong = path.join(etc, 'vm02.cfg');
    const r = await run(etc, simDir, wrong, []);
    refused(r, wrong);
    expect(r.stderr).toContain('domain vm02');
    expect(readFileSync(wrong, 'utf8')).toBe(VM02);
    expect(existsSync(`${wrong}.orig`)).toBe(false);
    expect(readXl(simDir)?.domains.find((d: { name: string }) => d.name === 'vm01')?.weight ?? 256).toBe(256);
    // The same run with vm01's own file goes through: the refusal above is about the file alone.
    const right = await run(etc, simDir, path.join(etc, 'vm01.cfg'), []);
    expect(right.code, right.stderr).toBe(0);
    expect(readFileSync(path.join(etc, 'vm01.cfg'), 'utf8')).toMatch(/weight = 512$/m);
  });

  it('under --root and over ssh: refused, the file unchanged', async () => {
    const root = mkdtempSync(path.join(dir, 'qos-root-'));
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    writeFileSync(path.join(root, 'etc/xen/vm02.cfg'), VM02);
    const simDir = mkdtempSync(path.join(dir, 'qos-sim-'));
    seedTwo(simDir);
    const r = await run(root, simDir, '/etc/xen/vm02.cfg', ['--root', root]);
    refused(r, '/etc/xen/vm02.cfg');
    expect(readFileSync(path.join(root, 'etc/xen/vm02.cfg'), 'utf8')).toBe(VM02);

    seedTwo(sim);
    const remote = path.join(dir, 'remote-vm02.cfg');
    writeFileSync(remote, VM02);
    const s = await run(dir, sim, remote, overSsh());
    refused(s, remote);
    expect(readFileSync(remote, 'utf8')).toBe(VM02);
    expect(existsSync(`${remote}.orig`)).toBe(false);
  });
});

describe('pygrub-fix --domain-config that is not the domain of IMAGE', () => {
  function host(): string {
    const root = mkdtempSync(path.join(dir, 'pg-root-'));
    mkdirSync(path.join(root, 'srv/xen'), { recursive: true });
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    writeFileSync(path.join(root, 'srv/xen/vm01.img'), Buffer.alloc(1024 * 1024));
    copyFileSync('/etc/passwd', path.join(root, 'etc/passwd-copy'));
    writeFileSync(
      path.join(root, 'etc/xen/vm02.cfg'),
      'name = "vm02"\nbootloader = "pygrub"\ndisk = [ "file:/srv/xen/vm02.img,xvda,w" ]\n',
    );
    return root;
  }
  const pvgrub = (image: string, config: string, extra: string[] = [], cwd?: string) =>
    runPlaybook('pygrub-fix', [image, '--strategy', 'pvgrub', '--domain-config', config, ...extra], {
      ...(cwd ? { cwd } : {}),
    });

  it('a copy of /etc/passwd: exit 2 naming it, unchanged (under --root, and on real paths)', async () => {
    const root = host();
    const r = await pvgrub('/srv/xen/vm01.img', '/etc/passwd-copy', ['--root', root, '--yes']);
    refused(r, '/etc/passwd-copy');
    expect(r.stderr).toMatch(/does not parse as a domain configuration|sets no name/);
    expect(readFileSync(path.join(root, 'etc/passwd-copy'))).toEqual(readFileSync('/etc/passwd'));
    const local = await pvgrub(path.join(root, 'srv/xen/vm01.img'), path.join(root, 'etc/passwd-copy'), ['--yes']);
    refused(local, path.join(root, 'etc/passwd-copy'));
  });

  it('--dry-run with a relative path that leads to the copy of /etc/passwd: exit 2, no plan', async () => {
    const root = host();
    const r = await pvgrub(
      path.join(root, 'srv/xen/vm01.img'),
      '../etc/passwd-copy',
      ['--dry-run'],
      path.join(root, 'srv'),
    );
    refused(r, '../etc/passwd-copy');
    expect(r.stdout).not.toContain('kernel =');
  });

  it("another domain's config (its disks do not include IMAGE): exit 2 naming it, unchanged", async () => {
    const root = host();
    const before = readFileSync(path.join(root, 'etc/xen/vm02.cfg'), 'utf8');
    const r = await pvgrub('/srv/xen/vm01.img', '/etc/xen/vm02.cfg', ['--root', root, '--yes']);
    refused(r, '/etc/xen/vm02.cfg');
    expect(r.stderr).toContain('do not include /srv/xen/vm01.img');
    expect(readFileSync(path.join(root, 'etc/xen/vm02.cfg'), 'utf8')).toBe(before);
    expect(existsSync(path.join(root, 'etc/xen/vm02.cfg.orig'))).toBe(false);
  });
});

describe('a configuration that never ends, or a FIFO: refused at once, in a process of its own', () => {
  const script = path.join(ROOT, 'playbooks/xen-qos.mjs');
  const qos = (config: string, extra: string[] = []) =>
    runPlaybook(
      'xen-qos',
      ['vm01', '--toolstack', 'xl', '--cpu-weight', '512', '--config', config, ...extra, '--dry-run'],
      {
        timeoutMs: 30_000,
      },
    );

  it('/dev/zero and a FIFO with no writer, here and over ssh', async () => {
    const fifo = path.join(dir, 'never.cfg');
    execFileSync('mkfifo', [fifo]);
    for (const config of ['/dev/zero', fifo]) {
      for (const extra of [[], overSsh()]) {
        const started = Date.now();
        const r = await qos(config, extra);
        refused(r, `--config ${config}`);
        expect(r.stderr).toMatch(/not a regular file/);
        // Far below the 30 s the run was given: nothing waited on the FIFO or read /dev/zero.
        expect(Date.now() - started).toBeLessThan(20_000);
      }
    }
    expect(script).toBeTruthy();
  }, 120_000);
});

describe('SIGTERM during a run over ssh', () => {
  it('removes the ssh control directory before the process ends', async () => {
    // A host whose xl never answers: the run is inside a remote command when the signal comes.
    const slow = path.join(dir, 'slow-bin');
    mkdirSync(slow);
    writeFileSync(path.join(slow, 'xl'), '#!/bin/sh\nsleep 30\n');
    chmodSync(path.join(slow, 'xl'), 0o755);
    const slowSshd = await startSshd({ env: { PATH: `${slow}:/usr/bin:/bin` } });
    // Short: ssh's control socket path must fit a Unix socket's 108 bytes.
    const tmp = mkdtempSync('/tmp/xr-t-');
    try {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'playbooks/xen-qos.mjs'),
          'vm01',
          '--toolstack',
          'xl',
          '--cpu-weight',
          '512',
          '--host',
          slowSshd.destination,
          '--ssh-config',
          slowSshd.configFile,
          '--dry-run',
        ],
        { env: childEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const ended = new Promise<number | null>((resolve) =>
        child.on('close', (code, sig) => resolve(code ?? (sig ? 143 : null))),
      );
      const controlDirs = () => readdirSync(tmp).filter((f) => f.startsWith('xr-ssh-'));
      for (let i = 0; i < 200 && !controlDirs().length; i++) await sleep(100);
      // The connection is open: the run now waits in the remote xl.
      await sleep(1000);
      await sleep(100);
      expect(controlDirs().length, stderr).toBe(1);
      child.kill('SIGTERM');
      const code = await ended;
      expect(code, stderr).toBe(143);
      expect(stderr).toContain('interrupted (SIGTERM)');
      expect(controlDirs(), stderr).toEqual([]);
    } finally {
      await slowSshd.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a long TMPDIR', () => {
  it('still holds the ssh control socket (sun_path is 108 bytes), and the directory goes at the end', async () => {
    const tmp = mkdtempSync(path.join(dir, `${'t'.repeat(60)}-`));
    const r = await runPlaybook(
      'xen-qos',
      ['vm01', '--toolstack', 'xl', '--cpu-weight', '512', ...overSsh(), '--dry-run'],
      { env: { TMPDIR: tmp }, timeoutMs: 60_000 },
    );
    expect(r.stderr).not.toMatch(/too long for Unix domain socket/);
    expect(r.stderr).not.toMatch(/ssh to .* failed/);
    expect(readdirSync(tmp)).toEqual([]);
  }, 90_000);
});

describe('windows-hvm: nothing created before all input is valid', () => {
  const args = (root: string, configDir: string) => [
    '--root',
    root,
    '--name',
    'win7',
    '--iso',
    '/srv/iso/win7.iso',
    '--disk',
    '/srv/xen/win7.img',
    '--disk-size',
    '40G',
    '--config-dir',
    configDir,
    '--yes',
  ];

  it('a --config-dir that is a file, or that leaves --root: exit 2, no disk image', async () => {
    for (const configDir of ['/etc/hostname-file', '/../../../etc']) {
      const root = makeHost({ dom0: true });
      writeFileSync(path.join(root, 'etc/hostname-file'), 'h\n');
      const r = await runPlaybook('windows-hvm', args(root, configDir), {
        sim: mkdtempSync(path.join(dir, 'win-sim-')),
      });
      refused(r, `--config-dir ${configDir}`);
      expect(existsSync(path.join(root, 'srv/xen/win7.img'))).toBe(false);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('over ssh: a --config-dir that is a file: exit 2, no disk image', async () => {
    const here = mkdtempSync(path.join(dir, 'win-ssh-'));
    writeFileSync(path.join(here, 'win7.iso'), isoStandIn());
    writeFileSync(path.join(here, 'not-a-dir'), 'x\n');
    const r = await runPlaybook('windows-hvm', [
      ...overSsh(),
      '--name',
      'win7',
      '--iso',
      path.join(here, 'win7.iso'),
      '--disk',
      path.join(here, 'win7.img'),
      '--disk-size',
      '40G',
      '--config-dir',
      path.join(here, 'not-a-dir'),
      '--yes',
    ]);
    refused(r, `--config-dir ${path.join(here, 'not-a-dir')}`);
    expect(existsSync(path.join(here, 'win7.img'))).toBe(false);
  });
});

describe('--root naming a regular file', () => {
  const playbooks = readdirSync(path.join(ROOT, 'playbooks')).filter((f) => f.endsWith('.mjs'));
  it.each(playbooks)('%s: exit 2 naming --root', async (file) => {
    const d = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'playbooks', file), '--describe'], { encoding: 'utf8' }),
    ) as { transports: string[]; args: { name: string }[]; options: { name: string; required?: boolean }[] };
    if (!d.transports.includes('root')) return;
    const notDir = path.join(dir, `root-file-${file}`);
    writeFileSync(notDir, 'x\n');
    const required = d.options.filter((o) => o.required).flatMap((o) => [`--${o.name}`, 'x1']);
    const r = await runPlaybook(file.replace(/\.mjs$/, ''), [
      ...d.args.map(() => '/x'),
      ...required,
      '--root',
      notDir,
      '--dry-run',
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--root ${notDir}: it is a regular file, not a directory`);
    expect(readFileSync(notDir, 'utf8')).toBe('x\n');
  });
});
