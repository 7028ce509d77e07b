// The playbook's edges: bad input (exit 2, naming the option), every guest starting (exit 0),
// and an XCP-ng host, whose VMs xapi knows (the xe simulator).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPlaybook } from '../helpers/playbook.js';
import { readCalls, readXe, seedXe } from '../sim/xe.mjs';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-upgrade-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A host tree with these files under /etc/xen. */
function host(name: string, files: Record<string, string>): string {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(root, 'etc/xen', f), text);
  return root;
}

describe('bad input: exit 2, nothing read, the message names the option and the rule', () => {
  it.each([
    [[], 'give the target: --to-xen VERSION (e.g. --to-xen 4.17) or --to-host USER@HOST'],
    [['--to-xen', '4.17', '--to-host', 'root@new'], '--to-xen and --to-host both name the target'],
    [['--to-xen', 'latest'], "--to-xen: 'latest' is not valid: expected a release such as 4.0.1, 4.4 or 4.17.3"],
    [['--to-xen', '3.4'], '--to-xen 3.4: Xen 3.4 is older than any release'],
    [
      ['--to-xen', '4.17', '--to-toolstack', 'xm'],
      '--to-toolstack xm with --to-xen 4.17: xend and xm were removed in Xen 4.5.0',
    ],
    [['--to-xen', '4.17', '--to-toolstack', 'xend'], '--to-toolstack'],
  ])('%j', async (args, message) => {
    const root = host('bad', { 'vm.cfg': 'name = "vm"\n' });
    const r = await runPlaybook('xen-upgrade-check', ['--root', root, ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('no guest at all', async () => {
    const root = host('empty', { 'xl.conf': '#\n' });
    mkdirSync(path.join(root, 'srv/none'), { recursive: true });
    const r = await runPlaybook('xen-upgrade-check', ['--root', root, '--to-xen', '4.17', '--config-dir', '/srv/none']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no guest found: no domain config in /etc/xen, /srv/none and no xapi');
  });
});

describe('every guest starts', () => {
  it('exit 0, one record per guest, notes kept', async () => {
    const root = host('fine', {
      'hvm1.cfg': 'name = "hvm1"\nbuilder = "hvm"\nmemory = 1024\ndevice_model = "/usr/lib/xen/bin/qemu-dm"\n',
      'hvm2.cfg': 'name = "hvm2"\ntype = "hvm"\nmemory = 1024\n',
    });
    const r = await runPlaybook('xen-upgrade-check', ['--root', root, '--to-xen', '4.17', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const guests = r.json.data.guests as { name: string; verdict: string; reasons: { id: string }[] }[];
    expect(guests.map((g) => [g.name, g.verdict])).toEqual([
      ['hvm1', 'starts'],
      ['hvm2', 'starts'],
    ]);
    expect(guests[0]?.reasons.map((x) => x.id)).toEqual(['deprecated-builder', 'deprecated-device_model']);
    expect(r.json.steps.map((s: { status: string }) => s.status)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'skipped',
      'ok',
    ]);
  });
});

describe('an XCP-ng host: the VMs xapi knows', () => {
  it('a pygrub VM cannot be told from its record (its disk is a VDI); an HVM VM starts; exit 0 with a warning', async () => {
    const sim = path.join(dir, 'sim');
    mkdirSync(sim, { recursive: true });
    const seeded = seedXe(sim, { vms: [{ name: 'web01' }, { name: 'win01' }] });
    const state = readXe(sim);
    const vm = (n: string) => state.objects.vm?.[seeded.vms[n]?.uuid ?? ''] as Record<string, unknown>;
    vm('web01')['PV-bootloader'] = 'pygrub';
    vm('win01')['HVM-boot-policy'] = 'BIOS order';
    seedXe(sim, state);
    const root = host('xcp', {});
    writeFileSync(path.join(root, 'etc/xensource-inventory'), `INSTALLATION_UUID='${seeded.host}'\n`);
    const r = await runPlaybook(
      'xen-upgrade-check',
      ['--root', root, '--to-xen', '4.17', '--to-toolstack', 'xapi', '--json'],
      { sim },
    );
    expect(r.code, r.stderr).toBe(0);
    const guests = r.json.data.guests as {
      name: string;
      config: string;
      verdict: string;
      reasons: { wayOut?: string }[];
    }[];
    expect(guests.map((g) => [g.name, g.config, g.verdict])).toEqual([
      ['web01', `xe:${seeded.vms.web01?.uuid}`, 'cannot-tell'],
      ['win01', `xe:${seeded.vms.win01?.uuid}`, 'starts'],
    ]);
    expect(guests[0]?.reasons[0]?.wayOut).toContain('pygrub-fix DEVICE --xen-version 4.17.0');
    expect(r.json.warnings).toEqual(['cannot tell for web01: see their reasons above']);
    // Read-only: xe was asked to list, nothing else.
    expect(readCalls(sim).map((c) => c.argv[0])).toEqual(['vm-list']);
  });
});
