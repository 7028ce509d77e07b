// ansible_connection=local: the module runs its playbook on the controller without --host, as
// pygrub_fix does on the machine that holds the image. Check mode changes nothing and shows the
// config's diff; apply repairs the image; a rerun changes nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GiB, imageHash, incidentImage } from '../fixtures/images.js';
import { ROOT } from '../helpers/playbook.js';
import { runAnsiblePlaybook } from './ansible.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'xr-ansible-local-'));
const image = path.join(work, 'vm01.img');

beforeAll(async () => {
  await incidentImage(image, { bytes: 2 * GiB });
  writeFileSync(path.join(work, 'hosts'), `dom0 ansible_connection=local xen_runbooks_path=${ROOT}\n`);
  writeFileSync(
    path.join(work, 'repair.yml'),
    `- hosts: all
  gather_facts: false
  tasks:
    - name: The guest boots by the pygrub of Xen 4.0.1 again
      xen_runbooks.xen.pygrub_fix:
        image: ${image}
        xen_version: 4.0.1
`,
  );
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

// The collection as it is in this checkout (fleet.test.ts installs the built one).
const play = (...args: string[]) =>
  runAnsiblePlaybook(['-i', 'hosts', 'repair.yml', ...args], { cwd: work, collections: ROOT });

describe('pygrub_fix with ansible_connection=local', () => {
  it('plans with diffs in check mode, repairs, and changes nothing the second time', async () => {
    const before = imageHash(image);
    const check = await play('--check', '--diff');
    expect(check.recap.dom0, check.stdout).toMatchObject({ changed: 1, failed: 0 });
    expect(imageHash(image)).toBe(before);
    expect(check.stdout).toMatch(/^-\s*set root='\(hd0,msdos1\)'/m);
    expect(check.results.dom0.cmd).not.toContain('--host');

    const apply = await play();
    expect(apply.recap.dom0, apply.stdout).toMatchObject({ changed: 1, failed: 0 });
    expect(imageHash(image)).not.toBe(before);
    const again = await play();
    expect(again.recap.dom0, again.stdout).toMatchObject({ changed: 0, failed: 0 });
  }, 180_000);
});
