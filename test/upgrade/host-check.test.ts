/**
 * xen-upgrade-check over a host tree (--root) with a dozen guests, against Xen 4.0.1 (xm), 4.4
 * and 4.17 (xl): every pygrub guest's verdict equals what that release's own pygrub did with
 * the same config and partition table (the oracle, results.json); the other guests' verdicts
 * follow the xl and xend sources the rules cite; nothing in the tree changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { runPlaybook, type RunResult } from '../helpers/playbook.js';
import { imageHash, tempDir } from '../fixtures/images.js';
import { EXPECTED, PYGRUB_GUESTS, buildHost, oracleBoots } from './host.js';

const TARGETS = ['4.0.1', '4.4', '4.17'] as const;
let root: string;
const runs: Partial<Record<(typeof TARGETS)[number], RunResult>> = {};
let before: Map<string, string>;

/** Every file of the tree with its contents' hash (images by their sparse hash). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(p, p.endsWith('.img') ? imageHash(p) : readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

interface Record_ {
  name: string;
  verdict: string;
  boot: string;
  reasons: { id: string; severity: string; source: string; wayOut?: string; message: string }[];
  conversion?: { diff: string };
}
const guests = (t: (typeof TARGETS)[number]): Record_[] => runs[t]?.json?.data?.guests ?? [];
const guest = (t: (typeof TARGETS)[number], name: string) => {
  const g = guests(t).find((x) => x.name === name);
  if (!g) throw new Error(`${name} not in the report for ${t}: ${runs[t]?.stderr}`);
  return g;
};

beforeAll(async () => {
  root = tempDir('xr-upgrade-');
  await buildHost(root);
  before = snapshot(root);
  for (const t of TARGETS) runs[t] = await runPlaybook('xen-upgrade-check', ['--root', root, '--to-xen', t, '--json']);
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(TARGETS)('against Xen %s', (t) => {
  it('lists every guest once (not xl.conf, not scripts/) and exits 1: some will not start', () => {
    const r = runs[t] as RunResult;
    expect(r.code, r.stderr).toBe(1);
    const names = guests(t)
      .map((g) => g.name)
      .sort();
    expect(names).toEqual([...PYGRUB_GUESTS.map((g) => g.name), ...Object.keys(EXPECTED)].sort());
    expect(r.json.data.target.toolstack).toBe(t === '4.0.1' ? 'xm' : 'xl');
  });

  it.each(PYGRUB_GUESTS.map((g) => [g.name, g] as const))(
    "%s: the verdict is what the release's own pygrub did (oracle)",
    (_n, g) => {
      const rec = guest(t, g.name);
      expect(rec.boot).toBe('pygrub');
      expect(rec.verdict, JSON.stringify(rec.reasons, null, 1)).toBe(oracleBoots(g, t) ? 'starts' : 'will-not-start');
      for (const r of rec.reasons.filter((x) => x.severity === 'blocks')) {
        expect(r.source).toMatch(/src\/grub\/catalogue\.ts/);
        expect(r.wayOut).toBeTruthy();
      }
    },
  );

  it.each(Object.keys(EXPECTED))('%s: the verdict the cited rules give', (name) => {
    const rec = guest(t, name);
    expect(rec.verdict, JSON.stringify(rec.reasons, null, 1)).toBe(EXPECTED[name]?.[t]);
    for (const r of rec.reasons) expect(r.source.length).toBeGreaterThan(10);
  });
});

describe('the reasons and ways out', () => {
  it('ubuntu1204 on 4.0.1: the (hd0,msdos1) names, with pygrub-fix for that release as the way out', () => {
    const rec = guest('4.0.1', 'ubuntu1204');
    const blocks = rec.reasons.filter((r) => r.severity === 'blocks');
    expect(blocks.map((r) => r.id)).toContain('grub2-partition-name');
    expect(blocks[0]?.wayOut).toBe(
      `pygrub-fix /srv/xen/ubuntu1204.img --xen-version 4.0.1 --strategy rewrite --dry-run`,
    );
  });

  it('web07 on 4.17: xl stops at the Python; the conversion to xl syntax is shown as a diff', () => {
    const rec = guest('4.17', 'web07');
    const syntax = rec.reasons.find((r) => r.id === 'xl-syntax');
    expect(syntax?.severity).toBe('blocks');
    const diff = rec.conversion?.diff ?? '';
    expect(diff).toContain('+name = "web07"');
    expect(diff).toContain('+memory = 512');
    expect(diff).toContain('+maxmem = 1024');
    expect(diff).toContain('+vcpus = 2');
    expect(diff).toMatch(
      /\+disk = \[\n\+ +'file:\/srv\/xen\/web07-disk\.img,xvda1,w',\n\+ +'file:\/srv\/xen\/web07-swap\.img,xvda2,w',\n\+\]/,
    );
    expect(diff).toContain("+vif = [ 'mac=00:16:3e:00:00:07, bridge=xenbr0' ]");
    // What xl already reads the same way stays as written.
    expect(diff).toContain(' kernel = "/boot/guests/vmlinuz-2.6.32-5-xen-amd64"');
    // xend dropped the bool: the conversion says so instead of inventing a value.
    expect(diff).toMatch(/\+# localtime = True {4}\(xend ignored it: a bool\)/);
  });

  it('db01 under xm: cannot tell, naming the line with code; under xl: will not start', () => {
    const xm = guest('4.0.1', 'db01');
    expect(xm.reasons[0]).toMatchObject({ id: 'xm-unreadable', severity: 'unknown' });
    expect(xm.reasons[0]?.message).toMatch(/^line 1: 'import socket'/);
    expect(guest('4.17', 'db01').reasons[0]).toMatchObject({ id: 'xl-syntax', severity: 'blocks' });
  });

  it('the release rules name their source tag', () => {
    expect(guest('4.17', 'xend-linux').reasons.find((r) => r.id === 'builder-invalid')?.source).toMatch(
      /RELEASE-4\.10\.0/,
    );
    expect(guest('4.4', 'hvm-type').reasons.find((r) => r.id === 'type-unread')?.wayOut).toBe('add builder = "hvm"');
    expect(guest('4.17', 'hvm-rombios').reasons.find((r) => r.id === 'rombios-qemu-xen')?.source).toMatch(
      /RELEASE-4\.7\.0/,
    );
    expect(guest('4.0.1', 'pv-xz').reasons.find((r) => r.id === 'kernel-compression')?.message).toMatch(/xz/);
    expect(guest('4.17', 'kernel-gone').reasons.find((r) => r.id === 'kernel-missing')?.severity).toBe('blocks');
  });

  it('writes nothing: every file of the host is as it was', () => {
    expect(snapshot(root)).toEqual(before);
  });
});
