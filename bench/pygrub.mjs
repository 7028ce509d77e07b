#!/usr/bin/env node
// @ts-check
// pygrub-fix on the incident's disk layout at 1 GiB, 100 GiB and 2 TiB (sparse images): the
// diagnosis alone (in-process: partition table, filesystem, config, model, kernel checks) and
// a whole `pygrub-fix --dry-run` run (the installed executable, and from a checkout), beside
// Xen's own `pygrub -l` on the same image, measured
// in the same run. Only the table, the superblocks and the boot files are read, so the times
// must not grow with the image's size.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DebugfsFs, detectFilesystem, localCommands, openSource, readPartitionTable } from 'xen-runbooks/disk';
import { diagnose, findConfig, incidentImage, parseXenVersion, readConfig } from 'xen-runbooks/grub';
import { printTable } from './_table.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYGRUB = '/usr/lib/xen-4.17/bin/pygrub';
const SIZES = [
  ['1 GiB', 1024 ** 3],
  ['100 GiB', 100 * 1024 ** 3],
  // The largest disk an MBR with 512-byte sectors addresses.
  ['2 TiB', 2 * 1024 ** 4 - 512],
];
const ROUNDS = 9;

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
/** @param {() => unknown} fn */
async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The playbook's diagnosis path, in this process. @param {string} image */
async function diagnosis(image) {
  const $ = localCommands();
  const src = await openSource(image);
  try {
    const table = await readPartitionTable(src);
    const p = table.partitions[0];
    if (!p) throw new Error('no partition');
    const fs = new DebugfsFs($, image, p.offset);
    const info = await detectFilesystem(src, p.offset);
    const config = await findConfig(fs);
    if (!config) throw new Error('no config');
    const text = await readConfig(fs, config);
    const filesystems = [{ partition: p, offset: p.offset, fs: info }];
    const d = await diagnose({
      version: parseXenVersion('old'),
      table,
      filesystems,
      boot: { ...filesystems[0], config, text },
      fs,
    });
    if (!d.findings.some((f) => f.id === 'grub2-partition-name'))
      throw new Error('the diagnosis missed the partition names');
  } finally {
    await src.close();
  }
}

/** A whole `--dry-run` process of FILE on IMAGE. @param {string} file @param {string} image */
function dryRun(file, image) {
  const r = spawnSync(process.execPath, [file, image, '--dry-run'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} --dry-run exit ${r.status}: ${r.stderr}`);
}

export async function run() {
  if (!existsSync(PYGRUB)) throw new Error(`${PYGRUB} is missing: apt-get install xen-utils-4.17`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-bench-pygrub-'));
  const rows = [];
  try {
    for (const [label, bytes] of SIZES) {
      const image = path.join(dir, 'vm01.img');
      await incidentImage(localCommands(), image, { bytes: Number(bytes) });
      const d = [];
      const dry = [];
      const pg = [];
      const bare = [];
      const checkout = [];
      for (let i = 0; i < ROUNDS; i++) {
        // The floor under any playbook: Node starting and stopping with nothing to do.
        bare.push(await timed(() => spawnSync(process.execPath, ['-e', ''])));
        d.push(await timed(() => diagnosis(image)));
        dry.push(await timed(() => dryRun(path.join(root, 'lib/bin/pygrub-fix.mjs'), image)));
        checkout.push(await timed(() => dryRun(path.join(root, 'playbooks/pygrub-fix.mjs'), image)));
        pg.push(
          await timed(() => {
            const r = spawnSync(PYGRUB, ['-l', '-n', image], { encoding: 'utf8' });
            if (!/title: /.test(r.stdout)) throw new Error(`pygrub -l listed nothing: ${r.stderr}`);
          }),
        );
      }
      const row = {
        image: label,
        'diagnosis ms': Math.round(median(d)),
        'dry-run ms': Math.round(median(dry)),
        'checkout ms': Math.round(median(checkout)),
        'pygrub -l ms': Math.round(median(pg)),
        'node alone ms': Math.round(median(bare)),
        'dry-run / pygrub': Number((median(dry) / median(pg)).toFixed(2)),
        'diagnosis / pygrub': Number((median(d) / median(pg)).toFixed(2)),
      };
      rows.push(row);
      await rm(image);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  printTable(rows, [
    'image',
    'diagnosis ms',
    'dry-run ms',
    'checkout ms',
    'pygrub -l ms',
    'node alone ms',
    'dry-run / pygrub',
    'diagnosis / pygrub',
  ]);
  console.log(
    `\nMedians of ${ROUNDS} rounds. The dry run is a whole process of the installed executable (lib/bin/pygrub-fix.mjs, the playbook and its engine in one file; 'checkout': node playbooks/pygrub-fix.mjs, its 75 modules loaded one by one): starting Node ('node alone': \`node -e ''\`), loading the code, the lock and the in-use checks (xl, xm, losetup, /proc), then the diagnosis; e2fsck -fn waits for the run that writes.`,
  );
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && last && last['dry-run ms'] > 3 * first['dry-run ms'] + 200) {
    throw new Error(
      `--dry-run grows with the image: ${first['dry-run ms']} ms at ${first.image}, ${last['dry-run ms']} ms at ${last.image}`,
    );
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
