/**
 * Where each release's pygrub looks for the boot config, in what order, against the oracle's
 * `config_search_order` (the paths Grub.read_config probed, recorded per release group): 4.0.x and
 * 4.1.x look for GRUB legacy's menu.lst first, 4.2.0 and later for grub.cfg. The catalogue's text,
 * the no-config finding and the durable ways out say the same, and offer a hand-written menu.lst
 * only where pygrub reads it first.
 */
import { describe, expect, it } from 'vitest';
import {
  diagnose,
  entry,
  parseXenVersion,
  readsMenuLstFirst,
  searchOrderOf,
  searchOrderText,
  type DiagnoseInput,
} from 'xen-runbooks/grub';
import type { PartitionTable } from 'xen-runbooks/disk';
import * as findings from 'xen-runbooks/playbooks/pygrub-fix/findings';
import { ORACLE } from './oracle-data.js';

const groups = ORACLE.groups as unknown as { id: string; tags: string[]; config_search_order: string[] }[];

describe('the config search order of every release', () => {
  it.each(groups.map((g) => [g.tags[0] as string, g] as const))('%s: the order its pygrub probed', (_tag, g) => {
    for (const tag of g.tags) {
      const v = parseXenVersion(tag.replace(/^RELEASE-/, ''));
      expect(searchOrderOf(v).map((c) => c.path)).toEqual(g.config_search_order);
      expect(searchOrderText(v)).toBe(g.config_search_order.join(', '));
      const legacy = g.config_search_order.findIndex((p) => /menu\.lst$|grub\.conf$/.test(p));
      const grub2 = g.config_search_order.findIndex((p) => p.endsWith('grub.cfg'));
      expect(readsMenuLstFirst(v)).toBe(legacy < grub2);
    }
  });

  it('menu.lst comes first up to 4.1.6.1, grub.cfg from 4.2.0', () => {
    for (const r of ['4.0.0', '4.0.1', '4.0.4', '4.1.0', '4.1.3', '4.1.6.1'])
      expect(readsMenuLstFirst(parseXenVersion(r)), r).toBe(true);
    for (const r of ['4.2.0', '4.2.5', '4.3.0', '4.4.0', '4.17.0', '4.22.0'])
      expect(readsMenuLstFirst(parseXenVersion(r)), r).toBe(false);
    expect(searchOrderText(parseXenVersion('4.0.1'))).toMatch(/^\/boot\/grub\/menu\.lst, /);
    expect(searchOrderText(parseXenVersion('4.2.0'))).toMatch(/^\/boot\/grub\/grub\.cfg, /);
  });
});

describe('what the playbook says of it', () => {
  it("the catalogue's no-config entry gives both orders with their releases", () => {
    const c = entry('no-config').concerns;
    expect(c).toContain('4.0.0 – 4.1.6.1 look for /boot/grub/menu.lst');
    expect(c).toMatch(/4\.2\.0 – 4\.22\.0 look for grub\.cfg first/);
    expect(c).not.toMatch(/^the release's search order: \/boot\/grub\/grub\.cfg/);
  });

  it('the GRUB 2 syntax causes offer a hand-written menu.lst on the releases that read it first', () => {
    for (const id of ['grub2-partition-name', 'grub2-submenu', 'grub2-menuentry-quotes']) {
      expect(entry(id).fix).toContain('On 4.0.0 – 4.1.6.1, pygrub reads /boot/grub/menu.lst');
    }
    expect(entry('grub2-default-variable').fix).not.toContain('menu.lst');
  });

  it('the durable ways out name menu.lst only for a release whose pygrub reads it first', () => {
    expect(findings.durableWaysOut(parseXenVersion('4.0.1'))).toMatch(
      /hand-written GRUB legacy \/boot\/grub\/menu\.lst/,
    );
    expect(findings.durableWaysOut(parseXenVersion('4.1.2'))).toContain('menu.lst');
    expect(findings.durableWaysOut(parseXenVersion('4.2.0'))).not.toContain('menu.lst');
    expect(findings.durableWaysOut(parseXenVersion('4.17.0'))).not.toContain('menu.lst');
  });

  it("a no-config finding lists the release's own order", async () => {
    const input = (release: string): DiagnoseInput => ({
      version: parseXenVersion(release),
      table: {
        label: 'none',
        sectorSize: 512,
        partitions: [],
        diskSize: 1 << 20,
        warnings: [],
      } as unknown as PartitionTable,
      filesystems: [],
      boot: undefined,
    });
    const old = (await diagnose(input('4.0.1'))).findings.find((f) => f.id === 'no-config');
    expect(old?.message).toContain(`looks for ${searchOrderText(parseXenVersion('4.0.1'))}, in that order`);
    expect(old?.message).toMatch(/looks for \/boot\/grub\/menu\.lst/);
    const now = (await diagnose(input('4.17.0'))).findings.find((f) => f.id === 'no-config');
    expect(now?.message).toMatch(/looks for \/boot\/grub\/grub\.cfg, /);
  });
});
