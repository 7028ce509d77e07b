#!/usr/bin/env node
// @ts-check
// A fleet through the Ansible collection: 20 simulated xl hosts (each its own simulator state and
// guest config), `xen_runbooks.xen.qos` under ansible-playbook with forks 1 and 10, check mode then
// apply. Beside it, the same 20 runs of the playbook itself, one after the other. Reported: wall
// time, the controller's CPU per host (ansible-playbook and everything it ran, from getrusage's
// RUSAGE_CHILDREN), and the collection's overhead per host over the playbook alone.
// The hosts are reached with ansible_connection=local: the simulators answer on this machine, so
// what is measured is Ansible and the action plugin around the playbook, without ssh's round trips
// (which a direct run pays the same). Everything, simulators included, runs on this machine's cores,
// so forks can gain at most the run's CPU time over the cores (printed beside the speed-up): on
// real hosts the commands run on each dom0 and the controller mostly waits.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable } from './_table.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIM_BIN = path.join(root, 'test/sim/bin');
const HOSTS = 20;
const ARGS = ['--toolstack', 'xl', '--cpu-cap', '100', '--persist'];

/** Run a command; wall seconds and the CPU seconds of it and all it waited for (python's getrusage). */
function measured(argv, env, cwd) {
  const probe =
    'import resource,subprocess,sys,time,json\n' +
    't=time.time();p=subprocess.run(sys.argv[1:],stdout=subprocess.PIPE,stderr=subprocess.PIPE)\n' +
    'w=time.time()-t;r=resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
    'sys.stderr.buffer.write(p.stdout[-3000:]+p.stderr[-3000:])\n' +
    'print(json.dumps({"wall":w,"cpu":r.ru_utime+r.ru_stime,"code":p.returncode}))';
  const r = spawnSync('python3', ['-c', probe, ...argv], { env, cwd, encoding: 'utf8' });
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
  if (out.code !== 0) throw new Error(`${argv.join(' ')} exited ${out.code}:\n${r.stderr}`);
  return /** @type {{ wall: number, cpu: number }} */ (out);
}

/** Fresh state for every host: a running vm01 (xl, credit2) and its config file. */
async function seed(work) {
  const { seedXl } = await import('../test/sim/xl.mjs');
  for (let i = 0; i < HOSTS; i++) {
    const dir = path.join(work, `h${i}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'sim'), { recursive: true });
    seedXl(path.join(dir, 'sim'), {
      info: { nr_cpus: 4, xen_scheduler: 'credit2' },
      domains: [{ name: 'vm01', type: 'pv', vcpus: 2, maxvcpus: 4, memory: 1024, maxmem: 2048, pvDrivers: true }],
    });
    copyFileSync(path.join(root, 'test/fixtures/qos/vm01.cfg'), path.join(dir, 'vm01.cfg'));
  }
}

export async function run() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'xr-bench-fleet-'));
  try {
    execFileSync(
      'ansible-galaxy',
      ['collection', 'build', path.join(root, 'ansible_collections/xen_runbooks/xen'), '--output-path', work],
      { stdio: 'pipe' },
    );
    const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
    const tarball = path.join(work, `xen_runbooks-xen-${version}.tar.gz`);
    execFileSync('ansible-galaxy', ['collection', 'install', tarball, '-p', path.join(work, 'collections')], {
      stdio: 'pipe',
    });
    mkdirSync(path.join(work, 'bin'));
    symlinkSync(path.join(root, 'playbooks/xen-qos.mjs'), path.join(work, 'bin/xen-qos'));
    const hosts = Array.from({ length: HOSTS }, (_, i) => `h${i} sim_dir=${path.join(work, `h${i}`)}`);
    writeFileSync(path.join(work, 'hosts'), `[fleet]\n${hosts.join('\n')}\n[fleet:vars]\nansible_connection=local\n`);
    writeFileSync(
      path.join(work, 'site.yml'),
      `- hosts: fleet
  gather_facts: false
  tasks:
    - xen_runbooks.xen.qos:
        domain: vm01
        toolstack: xl
        config: "{{ sim_dir }}/vm01.cfg"
        cpu_cap: 100
        persist: true
      environment:
        XR_SIM_DIR: "{{ sim_dir }}/sim"
`,
    );
    const env = {
      ...process.env,
      PATH: `${SIM_BIN}:${path.join(work, 'bin')}:${process.env.PATH}`,
      ANSIBLE_COLLECTIONS_PATH: path.join(work, 'collections'),
      ANSIBLE_NOCOLOR: '1',
    };
    const rows = [];
    /** @type {Record<string, { wall: number, cpu: number }>} ansible-playbook's, by forks and mode ("10 check") */
    const raw = {};
    const row = (what, forks, m) =>
      rows.push({
        what,
        forks,
        'wall s': Number(m.wall.toFixed(1)),
        'wall s/host': Number((m.wall / HOSTS).toFixed(2)),
        'CPU s/host': Number((m.cpu / HOSTS).toFixed(2)),
      });

    // The playbook itself, one host after the other.
    await seed(work);
    const direct = { check: { wall: 0, cpu: 0 }, apply: { wall: 0, cpu: 0 } };
    for (const [mode, extra] of /** @type {const} */ ([
      ['check', ['--dry-run']],
      ['apply', ['--yes']],
    ])) {
      for (let i = 0; i < HOSTS; i++) {
        const dir = path.join(work, `h${i}`);
        const m = measured(
          ['xen-qos', 'vm01', ...ARGS, '--config', path.join(dir, 'vm01.cfg'), '--json', ...extra],
          { ...env, XR_SIM_DIR: path.join(dir, 'sim') },
          work,
        );
        direct[mode].wall += m.wall;
        direct[mode].cpu += m.cpu;
      }
      row(`xen-qos directly, ${mode}`, '-', direct[mode]);
    }

    const overhead = [];
    for (const forks of [1, 10]) {
      await seed(work);
      for (const [mode, extra] of /** @type {const} */ ([
        ['check', ['--check']],
        ['apply', []],
      ])) {
        const m = measured(
          ['ansible-playbook', '-i', 'hosts', 'site.yml', '--forks', String(forks), ...extra],
          env,
          work,
        );
        row(`ansible-playbook, ${mode}`, forks, m);
        raw[`${forks} ${mode}`] = m;
        if (forks === 1) {
          overhead.push({
            mode,
            'CPU s/host over the playbook': Number(((m.cpu - direct[mode].cpu) / HOSTS).toFixed(2)),
            'wall s/host over the playbook': Number(((m.wall - direct[mode].wall) / HOSTS).toFixed(2)),
          });
        }
      }
    }
    printTable(rows, ['what', 'forks', 'wall s', 'wall s/host', 'CPU s/host']);
    console.log('');
    printTable(overhead, ['mode', 'CPU s/host over the playbook', 'wall s/host over the playbook']);
    const cores = os.cpus().length;
    for (const mode of ['check', 'apply']) {
      const one = raw[`1 ${mode}`];
      const ten = raw[`10 ${mode}`];
      const floor = ten.cpu / cores;
      console.log(
        `forks 10 vs forks 1, ${mode}: ${(one.wall / ten.wall).toFixed(1)}× faster; at most ${(one.wall / floor).toFixed(1)}× here ` +
          `(the run's CPU, ${ten.cpu.toFixed(1)} s, over ${cores} cores: ${floor.toFixed(1)} s; load ${os.loadavg()[0].toFixed(1)})`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
