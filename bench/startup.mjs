#!/usr/bin/env node
// @ts-check
// How fast each playbook starts: the CPU (user + system) and wall time of `--help`, `--describe`
// and a `--dry-run` (pygrub-fix on the incident image: its first line, and the whole run), beside
// `node` importing zx, the least any zx playbook costs. The installed executables (lib/bin, one
// file each), and pygrub-fix from a checkout. Medians of several rounds, one run.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { localCommands } from 'xen-runbooks/disk';
import { incidentImage } from 'xen-runbooks/grub';
import { printTable } from './_table.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = 7;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * One process: its CPU time (from bash's `times` after it ended), wall time, and the time to its
 * first line on stdout.
 * @param {string[]} argv
 * @returns {Promise<{ cpu: number, wall: number, first: number, code: number | null }>}
 */
function measure(argv) {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // `times` prints the children's user and system time on its second line: "0m0.210s 0m0.040s".
  const script = `${quoted} >&3; rc=$?; times >&2; exit $rc`;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let first = NaN;
    let err = '';
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    const out = /** @type {import('node:stream').Readable} */ (child.stdio[3]);
    out.on('data', () => {
      if (Number.isNaN(first)) first = Number(process.hrtime.bigint() - started) / 1e6;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e6;
      const m = [...err.matchAll(/(\d+)m([\d.]+)s/g)].slice(2, 4);
      const cpu = m.reduce((t, x) => t + (Number(x[1]) * 60 + Number(x[2])) * 1000, 0);
      resolve({ cpu, wall, first, code });
    });
  });
}

/** @param {string[]} argv @param {number} [expect] */
async function row(label, argv, expect = 0) {
  const cpu = [];
  const wall = [];
  const first = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await measure(argv);
    if (r.code !== expect) throw new Error(`${label}: exit ${r.code}, expected ${expect}`);
    cpu.push(r.cpu);
    wall.push(r.wall);
    first.push(r.first);
  }
  return {
    what: label,
    'cpu ms': Math.round(median(cpu)),
    'wall ms': Math.round(median(wall)),
    'first line ms': Math.round(median(first)),
  };
}

export async function run() {
  const node = process.execPath;
  const base = await row('node + zx', [node, '--input-type=module', '-e', "await import('zx'); console.log('ok')"]);
  const rows = [base];
  const playbooks = readdirSync(path.join(root, 'playbooks'))
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  // The installed executables (package.json bin: the playbook and its engine in one file).
  const bin = (/** @type {string} */ name) => path.join(root, 'lib/bin', `${name}.mjs`);
  for (const f of playbooks) {
    const name = f.replace(/\.mjs$/, '');
    rows.push(await row(`${name} --help`, [node, bin(name), '--help']));
    rows.push(await row(`${name} --describe`, [node, bin(name), '--describe']));
  }
  // From a checkout, the playbook's own file: some 75 modules loaded one by one.
  rows.push(
    await row('node playbooks/pygrub-fix.mjs --help', [node, path.join(root, 'playbooks/pygrub-fix.mjs'), '--help']),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-bench-startup-'));
  try {
    const image = path.join(dir, 'vm01.img');
    await incidentImage(localCommands(), image, { bytes: 1024 ** 3 });
    rows.push(await row('pygrub-fix --dry-run', [node, bin('pygrub-fix'), image, '--dry-run']));
    rows.push(
      await row('node playbooks/pygrub-fix.mjs --dry-run', [
        node,
        path.join(root, 'playbooks/pygrub-fix.mjs'),
        image,
        '--dry-run',
      ]),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const r of rows) r['cpu / node+zx'] = Number((r['cpu ms'] / base['cpu ms']).toFixed(2));
  printTable(rows, ['what', 'cpu ms', 'wall ms', 'first line ms', 'cpu / node+zx']);
  console.log(`\nMedians of ${ROUNDS} rounds; cpu is the process's user + system time.`);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
