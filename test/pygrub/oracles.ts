/**
 * The oracles of the pygrub tests: tools nobody here wrote. Xen's own pygrub lists what it
 * would boot; e2fsck -fn says whether a filesystem is clean; grub-script-check says whether a
 * GRUB 2 config is valid; debugfs reads a file out of the image.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tool } from '../helpers/tools.js';

/** `pygrub -l -n [--offset=N] IMAGE`: what Xen 4.17's pygrub lists (stdout only). */
export function pygrubList(image: string, offset?: number): string {
  const args = ['-l', '-n', ...(offset !== undefined ? [`--offset=${offset}`] : []), image];
  return spawnSync(tool('pygrub'), args, { encoding: 'utf8' }).stdout;
}

/** e2fsck -fn on the filesystem at `offset`: clean or not, and what it said. */
export function e2fsck(image: string, offset: number): { clean: boolean; output: string } {
  const r = spawnSync(tool('e2fsck'), ['-fn', `${image}?offset=${offset}`], { encoding: 'utf8' });
  return { clean: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** A file's bytes from inside the image, by debugfs (undefined when it is not there). */
export function guestFile(image: string, offset: number, p: string): Buffer | undefined {
  const st = spawnSync(tool('debugfs'), ['-c', '-R', `stat "${p}"`, `${image}?offset=${offset}`], { encoding: 'utf8' });
  if (!/Type: regular/.test(st.stdout)) return undefined;
  return execFileSync(tool('debugfs'), ['-c', '-R', `cat "${p}"`, `${image}?offset=${offset}`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** grub-script-check on a config's text: true when GRUB 2 accepts it. */
export function grubScriptCheck(text: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-gsc-'));
  try {
    const f = path.join(dir, 'grub.cfg');
    writeFileSync(f, text);
    const r = spawnSync(tool('grub-script-check'), [f], { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loop devices attached to the image (none should be left behind). */
export function loopsOf(image: string): string {
  return execFileSync(tool('losetup'), ['-j', image], { encoding: 'utf8' }).trim();
}
