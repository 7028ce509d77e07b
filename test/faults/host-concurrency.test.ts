import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport, SshTransport, applyEdit, planEdit } from '../../src/engine/index.js';
import { ROOT, runPlaybook, type RunResult } from '../helpers/playbook.js';
import { startSshd } from '../helpers/sshd.js';
import { seedXl } from '../sim/xl.mjs';

// Two runs of xen-qos --persist at once on the same domain configuration: each edit is checked
// again under a lock on the file's directory immediately before its rename, so the second writer
// fails ("changed while the playbook ran", exit 1) instead of overwriting the first one's change.

const FIXTURE = path.join(ROOT, 'test/fixtures/qos/vm01.cfg');
const original = readFileSync(FIXTURE);
let base: string;
/** One simulator state per run (the simulator saves its state after each command, without a lock). */
const sims: string[] = [];

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'xr-conc-'));
  for (let k = 0; k < 2; k++) {
    const sim = path.join(base, `sim-${k}`);
    mkdirSync(sim);
    // A halted domain: the runs only edit its configuration file.
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit2' }, domains: [] });
    sims.push(sim);
  }
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** The two requests: each adds its own line, so a lost update is visible. */
const RUNS = [
  { args: ['--vcpus', '3'], line: /^vcpus = 3$/m },
  { args: ['--cpu-weight', '512'], line: /^cpu_weight = 512$/m },
] as const;

/** Two processes, as two administrators' shells would start them (in-process runs take turns). */
const qos = (root: string, args: readonly string[], sim: string) =>
  runPlaybook('xen-qos', ['vm01', '--root', root, '--toolstack', 'xl', ...args, '--persist', '--yes', '--json'], {
    sim,
    newProcess: true,
  });

/** flock processes (other than `except`) waiting on `dir`: the runs that planned and wait to write. */
function flockWaiters(dir: string, except: number): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === except) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') === 'flock' && argv.includes(dir)) n++;
    } catch {
      /* gone */
    }
  }
  return n;
}

/** Hold the directory's lock from here, as a third run would, until release(). */
async function holdDir(dir: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const child: ChildProcess = spawn('flock', ['-x', dir, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((r) => child.stdout?.once('data', () => r()));
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  return {
    pid: child.pid as number,
    release: async () => {
      child.stdin?.end();
      await closed;
    },
  };
}

interface PairResult {
  results: RunResult[];
  written: string;
}

/** One pair; `gate`: both runs are held at the lock, having read the file, then let go at once. */
async function pair(i: number, gate: boolean): Promise<PairResult> {
  const root = path.join(base, `pair-${i}`);
  const etc = path.join(root, 'etc/xen');
  mkdirSync(etc, { recursive: true });
  copyFileSync(FIXTURE, path.join(etc, 'vm01.cfg'));
  const held = gate ? await holdDir(etc) : undefined;
  let done = 0;
  const runs = RUNS.map((r, k) =>
    qos(root, r.args, sims[k] as string).finally(() => {
      done++;
    }),
  );
  if (held) {
    // Both have planned their edit and wait for the lock (or, without one, have already finished).
    while (flockWaiters(etc, held.pid) < 2 && done < 2) await new Promise((r) => setTimeout(r, 20));
    await held.release();
  }
  const results = await Promise.all(runs);
  const written = readFileSync(path.join(etc, 'vm01.cfg'), 'utf8');
  // Whatever happened, the backup is the file as it was before either run.
  expect(readFileSync(path.join(etc, 'vm01.cfg.orig')).equals(original)).toBe(true);
  // No temporary file left behind.
  expect(readdirSync(etc).sort()).toEqual(['vm01.cfg', 'vm01.cfg.orig']);
  return { results, written };
}

/** Nothing lost: every run that says it wrote has its line in the file; the others say why and wrote nothing. */
function checkNoLostUpdate({ results, written }: PairResult): 'both' | 'one' {
  results.forEach((r, k) => {
    const run = RUNS[k] as (typeof RUNS)[number];
    if (r.code === 0) {
      expect(written, `run ${k} reported success`).toMatch(run.line);
    } else {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/vm01\.cfg changed while the playbook ran; nothing written/);
      expect(r.json?.exitCode).toBe(1);
      expect(r.json?.steps.find((s: { id: string }) => s.id === 'persist')?.status).toBe('failed');
      expect(written).not.toMatch(run.line);
    }
  });
  const ok = results.filter((r) => r.code === 0).length;
  expect(ok).toBeGreaterThanOrEqual(1);
  return ok === 2 ? 'both' : 'one';
}

describe('two xen-qos --persist runs at once on the same configuration file', () => {
  it('12 pairs that both read the file before either writes: one writes, the other fails and writes nothing', async () => {
    for (let i = 0; i < 12; i++) {
      const p = await pair(i, true);
      expect(checkNoLostUpdate(p), `pair ${i}`).toBe('one');
    }
  }, 600_000);

  it('8 pairs started together without a gate: no update is lost, whatever the order', async () => {
    const seen = { both: 0, one: 0 };
    for (let i = 0; i < 8; i++) seen[checkNoLostUpdate(await pair(100 + i, false))]++;
    expect(seen.both + seen.one).toBe(8);
  }, 600_000);
});

describe('two edits planned on the same file, applied at once over ssh', () => {
  it('10 pairs: one writes, the other fails with nothing written, the flock taken on the remote host', async () => {
    const sshd = await startSshd();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-conc-ssh-'));
    const a = new SshTransport({ destination: sshd.destination, configFile: sshd.configFile });
    const b = new SshTransport({ destination: sshd.destination, configFile: sshd.configFile });
    try {
      for (let i = 0; i < 10; i++) {
        const f = path.join(dir, `vm${i}.cfg`);
        writeFileSync(f, 'memory = 1024\nvcpus = 2\n');
        const ea = await planEdit(a, f, (s) => (s ?? '').replace('memory = 1024', 'memory = 2048'));
        const eb = await planEdit(b, f, (s) => (s ?? '').replace('vcpus = 2', 'vcpus = 4'));
        const settled = await Promise.allSettled([applyEdit(a, ea), applyEdit(b, eb)]);
        const won = settled.findIndex((r) => r.status === 'fulfilled');
        const lost = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
        expect(won).toBeGreaterThanOrEqual(0);
        expect(String(lost?.reason)).toMatch(/changed while the playbook ran; nothing written/);
        expect(readFileSync(f, 'utf8')).toBe(won === 0 ? 'memory = 2048\nvcpus = 2\n' : 'memory = 1024\nvcpus = 4\n');
        expect(readFileSync(`${f}.orig`, 'utf8')).toBe('memory = 1024\nvcpus = 2\n');
      }
      expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('a run killed while it holds the lock', () => {
  it('leaves no stale lock: the next edit takes it and writes (5 kills)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-killed-lock-'));
    const holder = path.join(dir, 'holder.mjs');
    writeFileSync(
      holder,
      `import { LocalTransport } from ${JSON.stringify(path.join(ROOT, 'lib/engine/index.js'))};
const lock = await new LocalTransport().lockDir(process.argv[2]);
process.stdout.write(lock ? 'held\\n' : 'no flock\\n');
setInterval(() => {}, 1000);
`,
    );
    try {
      const f = path.join(dir, 'vm.cfg');
      for (let i = 0; i < 5; i++) {
        writeFileSync(f, `round = ${i}\n`);
        const child = spawn(process.execPath, [holder, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
        const said = await new Promise<string>((r) => child.stdout?.once('data', (d: Buffer) => r(String(d))));
        expect(said).toBe('held\n');
        expect(flockWaiters(dir, -1)).toBe(1);
        child.kill('SIGKILL');
        await new Promise((r) => child.once('close', r));
        const t = new LocalTransport();
        const edit = await planEdit(t, f, (s) => (s ?? '').replace('round', 'done'));
        await applyEdit(t, edit);
        expect(readFileSync(f, 'utf8')).toBe(`done = ${i}\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('without flock on the host', () => {
  it('says so, still compares the file with the plan just before the rename, and refuses a changed one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-noflock-'));
    const savedPath = process.env.PATH;
    try {
      const f = path.join(dir, 'vm.cfg');
      writeFileSync(f, 'memory = 1024\n');
      const t = new LocalTransport();
      const warnings: string[] = [];
      process.env.PATH = path.join(dir, 'empty-bin');
      const edit = await planEdit(t, f, (s) => (s ?? '').replace('1024', '2048'));
      writeFileSync(f, 'memory = 1024\nvcpus = 2\n');
      await expect(applyEdit(t, edit, { warn: (w) => warnings.push(w) })).rejects.toThrow(
        /changed while the playbook ran; nothing written/,
      );
      expect(readFileSync(f, 'utf8')).toBe('memory = 1024\nvcpus = 2\n');
      expect(warnings.join('\n')).toMatch(/flock is not installed \(this host\).*not under a lock/);
      const again = await planEdit(t, f, (s) => (s ?? '').replace('1024', '2048'));
      await applyEdit(t, again, { warn: (w) => warnings.push(w) });
      expect(readFileSync(f, 'utf8')).toBe('memory = 2048\nvcpus = 2\n');
    } finally {
      process.env.PATH = savedPath;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
