/**
 * xen-upgrade-check against a real Xen 4.17 (the lab): the guests it says start there do start
 * (`xl create`, and the guest's /init prints its marker on the console), the ones it says will not
 * start are refused by xl or its pygrub. The check reads a copy of dom0's configs and images
 * (--root), as it would on the old host before an upgrade to 4.17; xm's Python config, converted
 * as the check shows it, starts too.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runPlaybook, type RunResult } from '../helpers/playbook.js';
import {
  BLS_GRUB_CFG,
  blsEntry,
  classicGrubCfg,
  guestImage,
  gzippedElfKernel,
  markerInitrd,
  pvConfig,
} from 'xen-runbooks/lab';
import { convertToXl } from 'xen-runbooks/playbooks/xen-upgrade-check/xm-python';
import { tempDir } from '../fixtures/images.js';
import { labKernel, startLab, type Lab } from './lab.js';

const NAMES = ['upg-classic', 'upg-bls', 'upg-kernel', 'upg-gone', 'upg-linux', 'upg-xm', 'upg-xm-converted'];
const MARKER = `XR-UPGRADE-${process.pid}`;

/** xend's Python, as an old host had it: xl stops at line 2, the conversion starts. */
const XM_CFG = `import os
name = "upg-%s" % "xm"
memory = 64 * 2
kernel = "/mnt/lab/" + "upg-vmlinuz"
ramdisk = "/mnt/lab/upg-initrd"
extra = "console=hvc0"
disk = [ 'file:/mnt/lab/%s.img,xvda,w' % "upg-blank" ]
on_poweroff = "destroy"
`;

let lab: Lab;
let root: string;
let check: RunResult;
const configs: Record<string, string> = {};

/** A file written into the share (dom0's /mnt/lab) and the same file in the --root copy. */
function put(name: string, data: string | Buffer): void {
  writeFileSync(path.join(lab.share, name), data);
  copyFileSync(path.join(lab.share, name), path.join(root, 'mnt/lab', name));
}

const verdict = (name: string): string =>
  (check.json?.data?.guests as { name: string; verdict: string }[] | undefined)?.find((g) => g.name === name)
    ?.verdict ?? `missing from the report: ${check.stderr}`;

async function create(name: string): Promise<{ code: number; stderr: string }> {
  await lab.clear(name); // an earlier attempt's (vitest.config.ts: retry)
  return lab.ssh(`xl create /mnt/lab/${name}.cfg`);
}

beforeAll(async () => {
  lab = await startLab();
  root = tempDir('xr-upgrade-lab-');
  mkdirSync(path.join(root, 'mnt/lab'), { recursive: true });
  mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  const kernel = gzippedElfKernel(labKernel(lab));
  for (const [name, grubCfg, extra] of [
    ['upg-classic', classicGrubCfg(), {}],
    ['upg-bls', BLS_GRUB_CFG, { 'boot/loader/entries/lab.conf': blsEntry() }],
  ] as const) {
    await guestImage(path.join(lab.share, `${name}.img`), { kernel, marker: MARKER, grubCfg, extra });
    copyFileSync(path.join(lab.share, `${name}.img`), path.join(root, 'mnt/lab', `${name}.img`));
  }
  put('upg-vmlinuz', kernel);
  put('upg-initrd', markerInitrd(MARKER));
  put('upg-blank.img', Buffer.alloc(1 << 20));
  const direct = (name: string, k: string, extra: string[] = []) =>
    pvConfig({
      name,
      disk: '/mnt/lab/upg-blank.img',
      kernel: k,
      extra: ['ramdisk = "/mnt/lab/upg-initrd"', 'extra = "console=hvc0"', ...extra],
    });
  configs['upg-classic'] = pvConfig({ name: 'upg-classic', disk: '/mnt/lab/upg-classic.img', bootloader: 'pygrub' });
  configs['upg-bls'] = pvConfig({ name: 'upg-bls', disk: '/mnt/lab/upg-bls.img', bootloader: 'pygrub' });
  configs['upg-kernel'] = direct('upg-kernel', '/mnt/lab/upg-vmlinuz');
  configs['upg-gone'] = direct('upg-gone', '/mnt/lab/upg-no-such-kernel');
  configs['upg-linux'] = direct('upg-linux', '/mnt/lab/upg-vmlinuz', ["builder = 'linux'"]);
  configs['upg-xm'] = XM_CFG;
  for (const [name, text] of Object.entries(configs)) {
    writeFileSync(path.join(lab.share, `${name}.cfg`), text);
    writeFileSync(path.join(root, 'etc/xen', `${name}.cfg`), text);
  }
  check = await runPlaybook('xen-upgrade-check', ['--root', root, '--to-xen', '4.17', '--json'], {
    timeoutMs: 600_000,
  });
}, 1_800_000);

afterAll(async () => {
  if (root) rmSync(root, { recursive: true, force: true });
  await lab?.stop(NAMES);
}, 120_000);

describe('xen-upgrade-check against Xen 4.17', () => {
  test('the verdicts: two start, four will not (exit 1)', () => {
    expect(check.code, check.stderr).toBe(1);
    expect(Object.fromEntries(Object.keys(configs).map((n) => [n, verdict(n)]))).toEqual({
      'upg-classic': 'starts',
      'upg-bls': 'will-not-start',
      'upg-kernel': 'starts',
      'upg-gone': 'will-not-start',
      'upg-linux': 'will-not-start',
      'upg-xm': 'will-not-start',
    });
  });

  test.each(['upg-classic', 'upg-kernel'])(
    '%s, said to start: xl create starts it and it boots',
    async (name) => {
      expect(verdict(name)).toBe('starts');
      const r = await create(name);
      expect(r.code, r.stderr).toBe(0);
      const log = await lab.waitForConsole(name, MARKER);
      expect(log).toContain(MARKER);
      await lab.ssh(`xl destroy ${name} 2>/dev/null; true`);
    },
    1_800_000,
  );

  test.each([
    ['upg-bls', /bootloader failed/],
    ['upg-gone', /upg-no-such-kernel|No such file/],
    ['upg-linux', /Invalid domain type linux/],
    ['upg-xm', /syntax error|Failed to parse config/],
  ])(
    '%s, said not to start: xl create refuses it',
    async (name, why) => {
      expect(verdict(name)).toBe('will-not-start');
      const r = await create(name);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(why);
      expect((await lab.ssh(`xl list ${name}`)).code).not.toBe(0);
    },
    1_800_000,
  );

  test("the xm guest's way out: the converted config the check shows starts", async () => {
    const converted = convertToXl(XM_CFG).text.replace('name = "upg-xm"', 'name = "upg-xm-converted"');
    writeFileSync(path.join(lab.share, 'upg-xm-converted.cfg'), converted);
    const r = await create('upg-xm-converted');
    expect(r.code, r.stderr).toBe(0);
    expect(await lab.waitForConsole('upg-xm-converted', MARKER)).toContain(MARKER);
  }, 1_800_000);
});
