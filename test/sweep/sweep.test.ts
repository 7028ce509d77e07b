/**
 * The bad-input sweep: every option and argument of every playbook (playbooks/*.mjs, found at run
 * time), with the values generated from its --describe (cases.ts), run in this process under
 * --root (or locally), and the file options over ssh against a real sshd. Each case must exit 2
 * with a message naming the option and its value, no stack trace, no step run, nothing changed
 * in the tree or in the simulators' state, and no shell metacharacter executed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRecord } from '../../src/engine/io.js';
import { ROOT, SIM_BIN, childEnv, runInProcess } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { sweepCases, type Case, type Described } from './cases.js';
import { Baseline, makeBadFiles, snapshot, type Mode, type World } from './world.js';

const PLAYBOOKS = readdirSync(path.join(ROOT, 'playbooks'))
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.replace(/\.mjs$/, ''))
  .sort();

const describeOf = (name: string): Described =>
  JSON.parse(
    execFileSync(process.execPath, [path.join(ROOT, 'playbooks', `${name}.mjs`), '--describe'], { encoding: 'utf8' }),
  );

const TOP = mkdtempSync(path.join(os.tmpdir(), 'xr-sweep-'));
let sshd: Sshd | undefined;
const SSH_SIM = path.join(TOP, 'ssh-sim');

beforeAll(async () => {
  mkdirSync(SSH_SIM);
  // A dom0 has its admin tools in /usr/sbin (debugfs, e2fsck: pygrub-fix checks for them first).
  sshd = await startSshd({
    env: { PATH: `${SIM_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, XR_SIM_DIR: SSH_SIM },
  });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(TOP, { recursive: true, force: true });
});

function makeWorld(name: string, mode: Mode): World {
  const dir = path.join(TOP, `${name}-${mode}`);
  const w: World = {
    root: path.join(dir, 'root'),
    base: path.join(dir, 'base'),
    sim: mode === 'ssh' ? SSH_SIM : path.join(dir, 'sim'),
    marker: path.join(dir, 'base', 'PWNED'),
  };
  for (const d of [w.root, w.base, w.sim]) mkdirSync(d, { recursive: true });
  makeBadFiles(w.root, true);
  makeBadFiles(w.base, false);
  return w;
}

/** The argv of one case on the baseline. */
function caseArgv(b: Baseline, d: Described, c: Case, ssh?: Sshd): string[] {
  const argv = b.argv(c.option, ssh ? { destination: ssh.destination, configFile: ssh.configFile } : undefined);
  if (c.omit) {
    const i = d.args.findIndex((a) => a.name === c.omit);
    return argv.filter((_, j) => j !== i);
  }
  if (c.extra && !c.value) return [...argv, ...c.extra];
  if (!c.value) return argv;
  const rule = c.option
    ? [...d.options, ...d.commonOptions].find((o) => o.name === c.option)
    : d.args.find((a) => a.name === c.names);
  const value = b.value(rule as never, c.value);
  if (!c.option) {
    const i = d.args.findIndex((a) => a.name === c.names);
    const out = [...argv];
    out[i] = value;
    return out;
  }
  const flag = `--${c.option}`;
  const at = argv.indexOf(flag);
  if (at >= 0) return argv.map((t, j) => (j === at + 1 ? value : t));
  return [...argv, `${flag}=${value}`];
}

async function run(w: World, argv: string[]) {
  const commands: CommandRecord[] = [];
  const env = childEnv({ XR_SIM_DIR: w.sim, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}` });
  const r = await runInProcess(path.join(ROOT, 'playbooks', `${argv[0]}.mjs`), argv.slice(1), {
    env,
    cwd: w.base,
    onCommand: (c) => commands.push(c),
  });
  return { ...r, commands };
}

for (const name of PLAYBOOKS) {
  const d = describeOf(name);
  const cases = sweepCases(d);
  const modes: Mode[] = [d.transports.includes('root') ? 'root' : 'local'];
  if (d.transports.includes('ssh')) modes.push('ssh');

  describe.each(modes)(`${name} (%s)`, (mode) => {
    let w: World;
    let b: Baseline;
    beforeAll(() => {
      w = makeWorld(name, mode);
      b = new Baseline(d, w, mode);
    });
    const mine = mode === 'ssh' ? cases.filter((c) => c.ssh) : cases;
    const ssh = () => (mode === 'ssh' ? sshd : undefined);

    it('the baseline itself is not refused as bad input', async () => {
      const r = await run(w, [name, ...b.argv(undefined, ssh())]);
      expect(r.code, r.stderr).not.toBe(2);
    });

    it.each(mine.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
      const argv = caseArgv(b, d, c, ssh());
      const before = snapshot(w.root, w.base, ...(c.expect === 'refused' ? [w.sim] : []));
      const r = await run(w, [name, ...argv]);
      const said = `${argv.join(' ')}\n${r.stderr}`;
      expect(existsSync(w.marker), `executed: ${said}`).toBe(false);
      expect(r.stderr, said).not.toMatch(/unexpected error|\n\s+at \S+ \(|\n\s+at .+:\d+:\d+/);
      expect(snapshot(w.root, w.base, ...(c.expect === 'refused' ? [w.sim] : [])), said).toEqual(before);
      // Free text (a name-label) may hold these characters: it only must never run them.
      if (c.expect === 'inert') return;
      expect(r.code, said).toBe(2);
      expect(r.stderr, said).toContain(c.names);
      expect(
        r.commands.map((x) => x.command),
        said,
      ).toEqual([]);
      expect(r.stdout, said).not.toMatch(/\[1\//);
    });
  });
}
