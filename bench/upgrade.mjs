#!/usr/bin/env node
// @ts-check
// xen-upgrade-check over a host of 50 pygrub guests (sparse 20 GiB images of the incident's
// layout, five GRUB configs in turn): one whole run (a process, the configs read, every image's
// table, filesystem, boot config and kernels read as the target's pygrub reads them), against
// Xen 4.17 and 4.0.1. Beside it, one `pygrub-fix --dry-run` process, the cost of asking image by
// image instead.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { localCommands } from 'xen-runbooks/disk';
import { UBUNTU_1204_GRUB_CFG, incidentImage, legacyNamed } from 'xen-runbooks/grub';
import { printTable } from './_table.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GUESTS = 50;
const ROUNDS = 3;
const GiB = 1024 ** 3;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** @param {string[]} args */
function time(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { ms, r };
}

export async function run() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-bench-upgrade-'));
  try {
    const etc = path.join(dir, 'etc/xen');
    const srv = path.join(dir, 'srv/xen');
    mkdirSync(etc, { recursive: true });
    mkdirSync(srv, { recursive: true });
    const $ = localCommands();
    const shapes = [
      UBUNTU_1204_GRUB_CFG,
      legacyNamed(UBUNTU_1204_GRUB_CFG),
      UBUNTU_1204_GRUB_CFG.replace(/set default="0"/, 'set default="1"'),
      legacyNamed(UBUNTU_1204_GRUB_CFG).replace(/quiet splash/g, 'console=hvc0'),
      UBUNTU_1204_GRUB_CFG.replace(/quiet splash/g, 'console=hvc0 ro'),
    ];
    const models = [];
    for (const [i, cfg] of shapes.entries()) {
      const f = path.join(dir, `shape${i}.img`);
      await incidentImage($, f, { bytes: 20 * GiB, cfg });
      models.push(f);
    }
    for (let i = 0; i < GUESTS; i++) {
      const name = `vm${String(i + 1).padStart(2, '0')}`;
      const img = `/srv/xen/${name}.img`;
      // cp --sparse=always: the copy keeps the holes (a plain copy would write 20 GiB).
      const cp = spawnSync('cp', ['--sparse=always', models[i % models.length] ?? '', path.join(dir, img)]);
      if (cp.status !== 0) throw new Error(`cp: ${cp.stderr}`);
      writeFileSync(
        path.join(etc, `${name}.cfg`),
        `name = "${name}"\nmemory = 512\nvcpus = 1\nbootloader = "pygrub"\ndisk = ['file:${img},xvda,w']\nvif = ['bridge=xenbr0']\n`,
      );
    }
    const rows = [];
    for (const to of ['4.17', '4.0.1']) {
      const times = [];
      let verdicts = '';
      for (let i = 0; i < ROUNDS; i++) {
        const { ms, r } = time([
          path.join(root, 'playbooks/xen-upgrade-check.mjs'),
          '--root',
          dir,
          '--to-xen',
          to,
          '--json',
        ]);
        const guests = JSON.parse(r.stdout).data.guests;
        if (guests.length !== GUESTS)
          throw new Error(`${guests.length} guests in the report, not ${GUESTS}: ${r.stderr}`);
        verdicts = ['starts', 'will-not-start', 'cannot-tell']
          .map((v) => `${guests.filter((/** @type {{verdict: string}} */ g) => g.verdict === v).length} ${v}`)
          .join(', ');
        times.push(ms);
      }
      rows.push({
        target: `Xen ${to}`,
        guests: GUESTS,
        'run ms': Math.round(median(times)),
        'ms per guest': Math.round(median(times) / GUESTS),
        verdicts,
      });
    }
    const one = [];
    for (let i = 0; i < ROUNDS; i++) {
      const { ms, r } = time([
        path.join(root, 'playbooks/pygrub-fix.mjs'),
        path.join(srv, 'vm01.img'),
        '--xen-version',
        '4.17',
        '--dry-run',
      ]);
      if (r.status !== 0) throw new Error(`pygrub-fix --dry-run exit ${r.status}: ${r.stderr}`);
      one.push(ms);
    }
    rows.push({
      target: 'pygrub-fix --dry-run, one image',
      guests: 1,
      'run ms': Math.round(median(one)),
      'ms per guest': Math.round(median(one)),
      verdicts: `× ${GUESTS} = ${Math.round((median(one) * GUESTS) / 1000)} s`,
    });
    printTable(rows, ['target', 'guests', 'run ms', 'ms per guest', 'verdicts']);
    console.log(`\nMedians of ${ROUNDS} runs; each run is a whole process (Node, the engine, every guest).`);
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
