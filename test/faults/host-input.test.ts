import { spawn, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SshTransport,
  SecretFileError,
  macProblem,
  parseOptions,
  readLocalSecret,
  UsageError,
} from '../../src/engine/index.js';
import { ROOT, childEnv, runPlaybook } from '../helpers/playbook.js';
import { seedXl } from '../sim/xl.mjs';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { isoStandIn } from '../helpers/iso.js';

// Input an administrator gives by mistake, or that a hostile file system hands over: each is
// refused at once with exit 2 and a message naming the option, and nothing is changed.

let dir: string;
let sshd: Sshd;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-input-'));
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fifo = (name: string) => {
  const f = path.join(dir, name);
  execFileSync('mkfifo', [f]);
  return f;
};

/** Secret files that are not small regular files (made in a new directory), and what the refusal says. */
function hostileSecrets(): [string, string, RegExp][] {
  const here = mkdtempSync(path.join(dir, 'secrets-'));
  const big = path.join(here, 'big.pw');
  writeFileSync(big, 'x'.repeat(5000));
  const link = path.join(here, 'zero-link.pw');
  symlinkSync('/dev/zero', link);
  const sub = path.join(here, 'a-directory');
  mkdirSync(sub);
  const pipe = path.join(here, 'no-writer.pw');
  execFileSync('mkfifo', [pipe]);
  return [
    ['a FIFO with no writer', pipe, /it is a FIFO \(named pipe\), not a regular file: refused/],
    ['/dev/zero', '/dev/zero', /it is a character device, not a regular file: refused/],
    ['a symlink to /dev/zero', link, /it is a character device, not a regular file: refused/],
    ['a 5000-byte file', big, /larger than 4096 bytes/],
    ['a directory', sub, /it is a directory, not a regular file: refused/],
    ['a missing file', path.join(here, 'missing.pw'), /no such file/],
  ];
}

describe('secret files (--pool-password-file, --vnc-password-file)', () => {
  it('refuses each hostile file at once on this machine', async () => {
    for (const [what, file, message] of hostileSecrets()) {
      const err = await readLocalSecret(file).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(SecretFileError);
      expect(String(err), what).toMatch(message);
    }
    const ok = path.join(dir, 'ok.pw');
    writeFileSync(ok, 's3cret\n');
    expect((await readLocalSecret(ok)).toString()).toBe('s3cret\n');
  });

  it('refuses a FIFO, /dev/zero and a large file on a host over ssh, and reads a good one', async () => {
    const ssh = new SshTransport({ destination: sshd.destination, configFile: sshd.configFile });
    try {
      const big = path.join(dir, 'big-ssh.pw');
      writeFileSync(big, 'x'.repeat(5000));
      for (const [file, message] of [
        [fifo('ssh-no-writer.pw'), /not a regular file/],
        ['/dev/zero', /not a regular file/],
        [big, /larger than 4096 bytes/],
        [path.join(dir, 'nothing-here'), /no such file/],
      ] as const) {
        await expect(ssh.readSecret(file, 4096)).rejects.toThrow(message);
      }
      const ok = path.join(dir, 'ok-ssh.pw');
      writeFileSync(ok, 's3cret\n');
      expect((await ssh.readSecret(ok, 4096)).toString()).toBe('s3cret\n');
    } finally {
      await ssh.close();
    }
  });

  it('xcp-install --pool-password-file: each hostile file is exit 2 naming the option, before anything runs', async () => {
    const root = mkdtempSync(path.join(dir, 'xcp-root-'));
    for (const [what, file, message] of hostileSecrets()) {
      const r = await runPlaybook(
        'xcp-install',
        ['--root', root, '--join-pool', '192.0.2.10', '--pool-password-file', file, '--yes'],
        { timeoutMs: 60_000 },
      );
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toContain(`--pool-password-file ${file}: `);
      expect(r.stderr, what).toMatch(message);
      expect(r.stdout, what).toBe('');
    }
  }, 300_000);

  it('windows-hvm --vnc-password-file on a FIFO in the host tree: exit 2 at once', async () => {
    const root = mkdtempSync(path.join(dir, 'win-root-'));
    mkdirSync(path.join(root, 'srv/iso'), { recursive: true });
    writeFileSync(path.join(root, 'srv/iso/win7.iso'), isoStandIn());
    mkdirSync(path.join(root, 'srv/xen'));
    mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
    mkdirSync(path.join(root, 'root'));
    execFileSync('mkfifo', [path.join(root, 'root/win7.vnc')]);
    const r = await runPlaybook(
      'windows-hvm',
      [
        '--root',
        root,
        '--name',
        'win7',
        '--iso',
        '/srv/iso/win7.iso',
        '--disk',
        '/srv/xen/win7.img',
        '--vnc-password-file',
        '/root/win7.vnc',
        '--dry-run',
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--vnc-password-file \/root\/win7\.vnc: it is a FIFO \(named pipe\), not a regular file/);
  });
});

describe('SIGTERM and standard input', () => {
  const xcpArgs = (root: string) => [
    path.join(ROOT, 'playbooks/xcp-install.mjs'),
    '--root',
    root,
    '--join-pool',
    '192.0.2.10',
    '--pool-password-file',
    '-',
    '--yes',
  ];

  it.each([
    ['SIGTERM', 143],
    // The terminal or the ssh session went away.
    ['SIGHUP', 129],
  ] as const)(
    'ends a run waiting on a FIFO for its password on %s: cleaned up, exit status %i',
    async (sig, status) => {
      const root = mkdtempSync(path.join(dir, 'term-root-'));
      const pipe = fifo(`stdin-${sig}.fifo`);
      // Open for reading and writing: the FIFO has a writer (this test) that never writes.
      const fd = openSync(pipe, 'r+');
      // The shell reports the exit status as an administrator's shell would.
      const sh = spawn('sh', ['-c', 'node "$@"; echo "exit status $?" >&2', 'sh', ...xcpArgs(root)], {
        cwd: ROOT,
        env: childEnv(),
        stdio: [fd, 'pipe', 'pipe'],
      });
      let stderr = '';
      sh.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // The run says it waits for the password, then is signalled.
      await new Promise<void>((r) => {
        const poll = () => (/reading standard input/.test(stderr) ? r() : setTimeout(poll, 50));
        poll();
      });
      const node = Number(readFileSync(`/proc/${sh.pid}/task/${sh.pid}/children`, 'utf8').trim().split(' ')[0]);
      process.kill(node, sig);
      const code = await new Promise<number | null>((r) => sh.on('close', r));
      closeSync(fd);
      expect(code).toBe(0);
      expect(stderr).toContain(`xcp-install: interrupted (${sig}); cleaning up`);
      expect(stderr).toContain(`exit status ${status}`);
    },
  );

  it('refuses /dev/zero as standard input at once: exit 2 after 4096 bytes', async () => {
    const root = mkdtempSync(path.join(dir, 'zero-root-'));
    const fd = openSync('/dev/zero', 'r');
    const child = spawn(process.execPath, xcpArgs(root), { cwd: ROOT, env: childEnv(), stdio: [fd, 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    closeSync(fd);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/--pool-password-file - \(standard input\): it is larger than 4096 bytes/);
  });
});

describe('MAC addresses', () => {
  it.each([
    ['01:00:5e:00:00:01', /multicast/],
    ['33:33:00:00:00:01', /multicast/],
    ['ff:ff:ff:ff:ff:ff', /broadcast/],
    ['00:00:00:00:00:00', /all-zero/],
    ['00:16:3e:12:34', /six hex bytes/],
    ['00-16-3e-12-34-56', /six hex bytes/],
  ])('refuses %s', (mac, message) => {
    expect(macProblem(mac)).toMatch(message);
  });

  it.each(['00:16:3e:12:34:56', '02:00:00:00:00:01', 'AA:BB:CC:DD:EE:FF'.replace(/^AA/, 'AE')])(
    'takes the unicast address %s (locally administered included)',
    (mac) => {
      expect(macProblem(mac)).toBeUndefined();
    },
  );

  it('a mac option refuses a multicast address as a usage error and keeps a unicast one in lower case', () => {
    const specs = { mac: { type: 'mac', description: 'm' } } as const;
    expect(() => parseOptions(['--mac', '01:00:5e:00:00:01'], specs)).toThrow(UsageError);
    expect(() => parseOptions(['--mac', '01:00:5e:00:00:01'], specs)).toThrow(
      /--mac: '01:00:5e:00:00:01' is not a NIC's MAC address: it is a multicast address/,
    );
    expect(parseOptions(['--mac', '02:16:3E:AA:BB:CC'], specs).opts.mac).toBe('02:16:3e:aa:bb:cc');
  });

  it.each(['01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00'])(
    'windows-hvm --mac %s: exit 2, nothing run',
    async (mac) => {
      const r = await runPlaybook('windows-hvm', [
        '--name',
        'win7',
        '--iso',
        '/srv/iso/win7.iso',
        '--disk',
        '/srv/xen/win7.img',
        '--mac',
        mac,
        '--root',
        dir,
        '--dry-run',
      ]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--mac: '${mac}' is not a NIC's MAC address`);
      expect(r.stdout).toBe('');
    },
  );
});

describe('memory sizes', () => {
  const seed = (sim: string) =>
    seedXl(sim, {
      info: { nr_cpus: 4, xen_scheduler: 'credit2' },
      domains: [{ name: 'vm01', type: 'pv', memory: 1024, maxmem: 2048, vcpus: 2, maxvcpus: 4, pvDrivers: true }],
    });
  const memSets = (sim: string) =>
    readFileSync(path.join(sim, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[] })
      .filter((c) => c.argv[0] === 'mem-set' || c.argv[0] === 'mem-max');

  it.each([
    ['vm01', '1', /memory 1 MiB is below 512 MiB, a quarter of its boot maximum/],
    ['vm01', '511', /memory 511 MiB is below 512 MiB/],
    ['Domain-0', '100', /memory 100 MiB is below 128 MiB, libxl's minimum for dom0 \(LIBXL_MIN_DOM0_MEM\)/],
  ])(
    'xen-qos %s --memory %s (a bare number is MiB) is refused live: exit 2, xl mem-set never runs',
    async (dom, mem, message) => {
      const sim = mkdtempSync(path.join(dir, 'mem-sim-'));
      seed(sim);
      const r = await runPlaybook('xen-qos', [dom, '--root', dir, '--toolstack', 'xl', '--memory', mem, '--yes'], {
        sim,
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(memSets(sim)).toEqual([]);
    },
  );

  it('xen-qos vm01 --memory 512 (the floor itself) is applied', async () => {
    const sim = mkdtempSync(path.join(dir, 'mem-sim-'));
    seed(sim);
    const r = await runPlaybook('xen-qos', ['vm01', '--root', dir, '--toolstack', 'xl', '--memory', '512', '--yes'], {
      sim,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(memSets(sim).map((c) => c.argv)).toEqual([['mem-set', '1', '512m']]);
  });

  it.each(['xen-qos', 'windows-hvm', 'xcp-install', 'pygrub-fix'])(
    '%s --help says, for every size option, what a bare number means',
    async (name) => {
      const r = await runPlaybook(name, ['--describe']);
      expect(r.code).toBe(0);
      const sizes = JSON.parse(r.stdout).options.filter((o: { type: string }) => o.type === 'size');
      for (const o of sizes) expect(o.details, o.name).toMatch(/a bare number is in (bytes|KiB|MiB|GiB|TiB)/);
      const help = await runPlaybook(name, ['--help']);
      for (const o of sizes) expect(help.stdout.replace(/\s+/g, ' '), o.name).toContain('a bare number is in');
    },
  );
});
