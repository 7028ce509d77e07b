import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { extractSteps, stepsShownOnPage } from '../../src/site/playbooks.js';
import { CATALOGUE, entry } from 'xen-runbooks/grub';
import { ROOT } from '../helpers/playbook.js';

const page = readFileSync(path.join(ROOT, 'content/docs/runbooks/pygrub-fix.mdx'), 'utf8');
const reference = readFileSync(path.join(ROOT, 'content/docs/reference/pygrub-releases.mdx'), 'utf8');
const source = readFileSync(path.join(ROOT, 'playbooks/pygrub-fix.mjs'), 'utf8');

describe('the pygrub-fix runbook page', () => {
  it('shows every step of the playbook once, in the playbook order', () => {
    const steps = extractSteps(source, 'pygrub-fix.mjs').map((s) => s.id);
    const shown = stepsShownOnPage(page)
      .filter((s) => s.playbook === 'pygrub-fix')
      .map((s) => s.id);
    expect(steps.length).toBe(11);
    expect(shown).toEqual(steps);
  });

  it('gives the manual commands of the story and the pv-grub way', () => {
    for (const cmd of [
      'fdisk -ul',
      'losetup -o 1048576',
      'mount /dev/loop1 /mnt/tmp',
      'cp grub.cfg grub.cfg.orig',
      'sed -i',
      'umount /mnt/tmp',
      'losetup -d /dev/loop1',
    ]) {
      expect(page).toContain(cmd);
    }
    expect(page).toContain('kernel="/usr/lib/xen/boot/pv-grub-x86_64.gz"');
    expect(page).toContain('extra="(hd0,0)/grub/grub.cfg"');
    expect(page).toMatch(/update-grub/);
    expect(page).toContain('](/reference/pygrub-releases/)');
    expect(reference).toContain('<DiagnosisTable />');
  });

  it('the catalogue behind its diagnosis table is complete and unique', () => {
    const ids = CATALOGUE.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'grub2-partition-name',
      'grub2-default-variable',
      'bls-config',
      'no-config',
      'no-kernel-entry',
      'kernel-missing',
      'kernel-compression',
      'boot-fs-unreadable',
      'root-in-lvm',
    ]) {
      expect(ids).toContain(id);
    }
    for (const c of CATALOGUE) {
      expect(c.explanation.length).toBeGreaterThan(40);
      expect(c.fix.length).toBeGreaterThan(20);
      expect(c.xen).not.toBe('');
    }
  });

  it('names the exact releases each cause affects, from the release table the model reads', () => {
    expect(reference).toContain('<PygrubReleases />');
    expect(entry('grub2-submenu').xen).toBe('4.0.0 – 4.1.2');
    expect(entry('grub2-menuentry-quotes').xen).toBe('4.0.0');
    expect(entry('grub2-partition-name').xen).toBe('msdosN: 4.0.0 – 4.0.1; gptN: 4.0.0 – 4.1.2');
    expect(entry('grub2-default-variable').xen).toBe(
      '${saved_entry}: 4.0.0 – 4.1.2; ${next_entry}: 4.0.0 – 4.1.5, 4.2.0 – 4.2.2',
    );
    expect(entry('grub2-default-title').xen).toBe(
      'raises: 4.0.0 – 4.3.3, 4.4.0 – 4.4.1; entry 0 instead: 4.13.0 – 4.22.0',
    );
    expect(entry('grub2-linux16').xen).toBe('4.0.0 – 4.2.4, 4.3.0 – 4.3.2, 4.4.0');
    expect(entry('partition-raises').xen).toBe('4.0.0 – 4.0.4');
  });
});
