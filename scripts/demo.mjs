#!/usr/bin/env node
// @ts-check
/**
 * npm run demo: the pygrub incident, start to finish, in a temporary folder.
 * Builds the Ubuntu 12.04 guest's 100 GiB (sparse) disk image with sfdisk and mke2fs, shows
 * what the old pygrub of Xen 4.0 makes of it, runs pygrub-fix --dry-run (diagnosis and diff),
 * fixes it, lets Xen's own pygrub list the kernel, and removes everything it made.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localCommands } from 'xen-runbooks/disk';
import { incidentImage, modelPygrub, parseXenVersion, UBUNTU_1204_GRUB_CFG } from 'xen-runbooks/grub';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const $ = localCommands();
const PYGRUB = ['/usr/lib/xen-4.17/bin/pygrub', '/usr/lib/xen/bin/pygrub', '/usr/bin/pygrub'].find((p) =>
  existsSync(p),
);

/** @param {string} title */
const banner = (title) => process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n\n`);

/** Run the playbook with the terminal's stdout/stderr. @param {string[]} args @returns {Promise<number>} */
function playbook(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'playbooks/pygrub-fix.mjs'), ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-demo-'));
const cleanup = () => rm(dir, { recursive: true, force: true });
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(sig, () => void cleanup().finally(() => process.exit(130)));
}

let code = 0;
try {
  const image = path.join(dir, 'vm01.img');
  banner('1. The guest: an Ubuntu 12.04 disk image, 100 GiB, built by sfdisk and mke2fs');
  const built = await incidentImage($, image);
  const usedKiB = (await $`du -k ${image}`).stdout.split(/\s/)[0];
  process.stdout.write(`${image}: ${built.parts.length} partitions, ${usedKiB} KiB on disk (sparse)\n`);
  process.stdout.write((await $`sfdisk -l ${image}`).stdout);

  banner("2. What Xen 4.0.1's pygrub makes of /grub/grub.cfg (modelled: that pygrub is not installed here)");
  const old = modelPygrub(UBUNTU_1204_GRUB_CFG, 'grub2', parseXenVersion('4.0.1'));
  for (const w of [...new Set(old.warnings.map((x) => x.text))]) process.stdout.write(`WARNING:root:${w}\n`);
  if (old.error) {
    process.stdout.write(
      `line ${old.error.line}: ${UBUNTU_1204_GRUB_CFG.split('\n')[old.error.line - 1]?.trim()}\n${old.error.exception}\n`,
    );
  }
  process.stdout.write("→ xend: Error: Boot loader didn't return any data!\n");

  banner('3. pygrub-fix --dry-run: the diagnosis and the diff, nothing written');
  code = await playbook([image, '--dry-run']);
  if (code !== 0) throw new Error(`the dry run ended with exit ${code}`);

  banner('4. pygrub-fix --yes: the fix (grub.cfg.orig kept)');
  code = await playbook([image, '--yes']);
  if (code !== 0) throw new Error(`the fix ended with exit ${code}`);

  banner("5. Xen's own pygrub lists the kernels again");
  if (PYGRUB) {
    const r = await $({ nothrow: true })`${PYGRUB} -l -n ${image}`;
    process.stdout.write(r.stdout || r.stderr);
    if (!/^title: .*\n {2}root: d0p0\n {2}kernel: \/vmlinuz-3\.2\.0-23-generic/m.test(r.stdout)) {
      code = 1;
      throw new Error('pygrub did not list the kernel');
    }
  } else {
    process.stdout.write(
      'pygrub is not installed here (apt-get install xen-utils-4.17 brings it); the playbook verified the config with its model.\n',
    );
  }
  process.stdout.write('\nDone. The image and its folder are removed now.\n');
} catch (e) {
  process.stderr.write(`demo: ${/** @type {Error} */ (e).message}\n`);
  code ||= 1;
} finally {
  await cleanup();
}
process.exitCode = code;
