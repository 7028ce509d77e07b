// What each runbook says it is tested on comes from the suite's own files and data, and the date
// a page was checked from git, or from the file where there is no repository.
import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYGRUB_GROUPS } from '../../src/grub/pygrub-releases.js';
import { DOWNLOADED } from '../../src/lab/packages.js';
import { labXen, lastChecked, testedOn, xeEras } from '../../src/site/tested-on.js';
import { ROOT } from '../helpers/playbook.js';
import { ERA_TAGS } from '../sim/xe.mjs';

describe('tested on', () => {
  it("names the lab's Xen from its hypervisor package and the xapi tags the xe simulator follows", () => {
    expect(DOWNLOADED).toContain(`xen-hypervisor-${labXen()}-amd64`);
    expect(xeEras(ROOT)).toEqual(ERA_TAGS);
  });

  it('pygrub-fix: the lab, every release of the oracle and the real pygrub', () => {
    const labels = testedOn('pygrub-fix', ROOT).map((p) => p.label);
    const releases = PYGRUB_GROUPS.flatMap((g) => g.releases);
    expect(labels).toContain(`Xen ${labXen()}`);
    expect(labels).toContain(`pygrub of Xen ${releases[0]} – ${releases.at(-1)}`);
    expect(labels).toContain(`Xen ${labXen()}'s own pygrub`);
    const oracle = testedOn('pygrub-fix', ROOT).find((p) => p.label.startsWith('pygrub of'));
    expect(oracle?.how).toContain(`${releases.length} releases`);
    expect(oracle?.files).toContain('test/pygrub/oracle.test.ts');
  });

  it('xcp-install: the XCP-ng releases and XCP 1.5 its tests seed the simulator with; no lab', () => {
    const labels = testedOn('xcp-install', ROOT).map((p) => p.label);
    expect(labels).toEqual(expect.arrayContaining(['XCP-ng 8.3 (xe)', 'XCP-ng 8.2 (xe)', 'XCP 1.5 (xe)']));
    expect(labels.some((l) => l.startsWith('Xen 4.'))).toBe(false);
  });

  it('xen-qos and windows-hvm: the lab, and every file it names exists and runs the playbook', () => {
    for (const name of ['xen-qos', 'windows-hvm']) {
      const proven = testedOn(name, ROOT);
      expect(proven[0]?.label).toBe(`Xen ${labXen()}`);
      for (const f of proven[0]?.files ?? []) expect(f).toMatch(/^test\/lab\/.+\.test\.ts$/);
    }
    expect(testedOn('xen-qos', ROOT).find((p) => p.label.startsWith('xl of'))?.label).toMatch(/4\.1\b.*4\.17/);
  });
});

describe('last checked', () => {
  it("a page's last commit", () => {
    expect(lastChecked('content/docs/runbooks/pygrub-fix.mdx', ROOT)).toMatchObject({ source: 'git' });
    expect(lastChecked('content/docs/runbooks/pygrub-fix.mdx', ROOT).date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("the file's date where there is no repository", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xr-checked-'));
    writeFileSync(path.join(dir, 'page.mdx'), 'x');
    const when = new Date('2025-03-04T12:00:00Z');
    utimesSync(path.join(dir, 'page.mdx'), when, when);
    expect(lastChecked('page.mdx', dir)).toEqual({ date: '2025-03-04', source: 'file' });
  });
});
