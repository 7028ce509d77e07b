import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tool } from '../helpers/tools.js';
import { readXe, seedXe, writeXe } from '../sim/xe.mjs';
import {
  FIXTURES,
  GOLDEN,
  golden,
  goldenFiles,
  hostTree,
  loopDevice,
  normalizedXe,
  objects,
  prettyJson,
  snapshot,
  standInCalls,
  statuses,
  symlinks,
  workdir,
  xcp,
  xeWrites,
  LEGACY_STEPS,
} from './rig.js';

const REPO = 'http://vault.centos.org/5.11/os/x86_64';
/** The legacy run of the runbook: ext SR on the test disk, the CentOS VM. */
const legacyArgs = () => [
  '--yes',
  '--json',
  '--sr-device',
  disk.path,
  '--sr-name',
  'local storage',
  '--vm-name',
  'centos-test',
  '--install-repository',
  REPO,
];

let w: ReturnType<typeof workdir>;
let disk: ReturnType<typeof loopDevice>;
let root: string;
let sim: string;

beforeAll(() => {
  tool('losetup');
  tool('grub-script-check');
});
beforeEach(() => {
  w = workdir();
  disk = loopDevice(w.dir);
  sim = path.join(w.dir, 'sim');
});
afterEach(() => {
  disk.detach();
  w.cleanup();
});

/** The tree matches the golden files and links; the edited files parse with the real tools. */
function expectGoldenTree(tree: string) {
  const dir = path.join(GOLDEN, 'ubuntu-12.04/files');
  for (const rel of goldenFiles(dir)) {
    expect(readFileSync(path.join(tree, rel), 'utf8'), rel).toBe(readFileSync(path.join(dir, rel), 'utf8'));
  }
  expect(symlinks(tree)).toBe(readFileSync(path.join(GOLDEN, 'ubuntu-12.04/symlinks.txt'), 'utf8'));
  execFileSync(tool('grub-script-check'), [path.join(tree, 'boot/grub/grub.cfg')]);
  for (const script of ['etc/init.d/xend', 'usr/lib/xcp/scripts/vif'])
    execFileSync('sh', ['-n', path.join(tree, script)]);
}

describe('Ubuntu 12.04 with the XCP packages (--root tree)', () => {
  beforeEach(() => {
    root = hostTree('ubuntu-12.04', w.dir);
    seedXe(sim, { flavour: 'legacy' });
  });

  it('applies each workaround, creates the ext SR and the VM, as the golden files say', async () => {
    const r = await xcp(legacyArgs(), { root, sim });
    expect(r.code, r.stderr).toBe(0);
    const st = statuses(r.json);
    expect(st).toMatchObject({
      'detect-platform': 'ok',
      preflight: 'ok',
      'apt-repository': 'ok',
      'install-packages': 'ok',
      'network-backend': 'changed',
      'vif-offline': 'changed',
      'xend-init': 'changed',
      xendomains: 'changed',
      'qemu-keymaps': 'changed',
      'grub-default': 'changed',
      'xapi-ready': 'ok',
      'join-pool': 'skipped',
      'storage-repository': 'changed',
      'default-sr': 'changed',
      'install-vm': 'changed',
      'vm-resources': 'skipped',
      'vm-network': 'changed',
      'vm-other-config': 'changed',
      'start-vm': 'changed',
    });
    expectGoldenTree(root);
    // Backups: the originals, once.
    for (const f of ['etc/init.d/xend', 'usr/lib/xcp/scripts/vif', 'etc/default/grub']) {
      expect(readFileSync(path.join(root, `${f}.orig`), 'utf8')).toBe(
        readFileSync(path.join(FIXTURES, 'hosts/ubuntu-12.04', f), 'utf8'),
      );
    }
    // The GRUB default comes from the menu of this host, not a fixed title.
    expect(r.json.data.grubDefault).toBe('Xen 4.1-amd64');
    expect(standInCalls(sim)).toEqual([
      { cmd: 'update-rc.d', argv: ['xendomains', 'disable'] },
      { cmd: 'update-grub', argv: [] },
    ]);
    // lvm is not a driver of XCP 1.5 for Ubuntu: the default type falls back to ext, explained.
    const sr = r.json.steps.find((s: { id: string }) => s.id === 'storage-repository');
    expect(sr.message).toMatch(/created the ext SR "local storage"/);
    expect(r.stdout + r.stderr).toMatch(/lvm: no such storage driver here/);
    const srCreate = xeWrites(sim).find((a) => a[0] === 'sr-create');
    expect(srCreate).toEqual(
      expect.arrayContaining(['type=ext', 'name-label=local storage', `device-config:device=${disk.path}`]),
    );
    const [vm] = objects(sim, 'vm').filter((v) => v['name-label'] === 'centos-test');
    expect(vm?.['power-state']).toBe('running');
    expect(vm?.['other-config']).toMatchObject({ 'install-repository': REPO, disable_pv_vnc: '1' });
    const [pool] = objects(sim, 'pool');
    expect(pool?.['default-SR']).toBe(r.json.data.sr.uuid);
    expect(r.json.data.vm.console).toBe(`/usr/lib/xen-4.1/bin/xenconsole ${vm?.['dom-id']}`);
    const xeState = await prettyJson(normalizedXe(sim, disk.path));
    expect(xeState).toBe(golden('xe-ubuntu-12.04.json', xeState));
  });

  it('changes nothing the second time', async () => {
    expect((await xcp(legacyArgs(), { root, sim })).code).toBe(0);
    const tree = snapshot(root);
    const xe = normalizedXe(sim);
    const writes = xeWrites(sim).length;
    const calls = standInCalls(sim).length;
    const again = await xcp(legacyArgs(), { root, sim });
    expect(again.code, again.stderr).toBe(0);
    for (const [id, s] of Object.entries(statuses(again.json))) expect(['ok', 'skipped'], id).toContain(s);
    expect(snapshot(root)).toEqual(tree);
    expect(normalizedXe(sim)).toBe(xe);
    expect(xeWrites(sim)).toHaveLength(writes);
    expect(standInCalls(sim)).toHaveLength(calls);
  });

  it('--dry-run shows the edits as diffs and changes nothing', async () => {
    const tree = snapshot(root);
    const xe = normalizedXe(sim);
    const r = await runDry();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('+remove|offline)');
    expect(r.stdout).toContain('+\t#xend_start');
    expect(r.stdout).toContain('+GRUB_DEFAULT="Xen 4.1-amd64"');
    expect(snapshot(root)).toEqual(tree);
    expect(normalizedXe(sim)).toBe(xe);
    expect(xeWrites(sim)).toEqual([]);
    expect(standInCalls(sim)).toEqual([]);
    async function runDry() {
      return xcp(['--dry-run', '--sr-device', disk.path, '--vm-name', 'centos-test'], { root, sim });
    }
  });

  it('stops with the driver explained when --sr-type lvm is asked where lvm does not exist; nothing changed', async () => {
    const tree = snapshot(root);
    const r = await xcp(['--yes', '--sr-type', 'lvm', '--sr-device', disk.path], { root, sim });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no lvm storage driver.*SR_UNKNOWN_DRIVER, driver: lvm/);
    expect(r.stderr).toMatch(/--sr-type ext/);
    expect(snapshot(root)).toEqual(tree);
    expect(xeWrites(sim)).toEqual([]);
  });

  it('refuses a device that holds a filesystem before changing anything (exit 3), takes it with --force', async () => {
    execFileSync(tool('mke2fs'), ['-q', '-t', 'ext4', '-F', disk.path]);
    const tree = snapshot(root);
    const r = await xcp(['--yes', '--sr-device', disk.path], { root, sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`${disk.path} holds a filesystem \\(ext4\\): creating the SR destroys it`));
    expect(r.stderr).toMatch(/--force/);
    expect(snapshot(root)).toEqual(tree);
    expect(xeWrites(sim)).toEqual([]);
    expect(standInCalls(sim)).toEqual([]);
    const forced = await xcp(['--yes', '--force', '--sr-device', disk.path], { root, sim });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force: .* holds a filesystem \(ext4\)/);
    // XCP 1.5's xapi creates the XenServer Tools ISO SR at start (dbsync_master.ml, master/1.3.2).
    expect(objects(sim, 'sr').map((s) => s.type)).toEqual(['iso', 'ext']);
  });

  it('never uses a mounted device, even with --force', async () => {
    execFileSync(tool('mke2fs'), ['-q', '-t', 'ext4', '-F', disk.path]);
    const mnt = path.join(w.dir, 'mnt');
    execFileSync('mkdir', [mnt]);
    execFileSync('mount', [disk.path, mnt]);
    try {
      const tree = snapshot(root);
      const r = await xcp(['--yes', '--force', '--sr-device', disk.path], { root, sim });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`${disk.path} is in use: mounted (${disk.path} on ${mnt})`);
      expect(snapshot(root)).toEqual(tree);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('refuses a partitioned device and a path that is no block device', async () => {
    execFileSync(tool('sfdisk'), ['--quiet', disk.path], { input: 'label: dos\n,16M,83\n' });
    const r = await xcp(['--yes', '--sr-device', disk.path], { root, sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/holds a partition table \(dos\)/);
    const n = await xcp(['--yes', '--sr-device', '/dev/null'], { root, sim });
    expect(n.code).toBe(3);
    expect(n.stderr).toMatch(/\/dev\/null is not a block device/);
  });
});

describe('fresh Ubuntu 12.04: packages, reboot into Xen, storage and VM', () => {
  it('installs and fixes, asks for the reboot, then finishes on the next run', async () => {
    root = hostTree('ubuntu-12.04-fresh', w.dir);
    seedXe(sim, { flavour: 'legacy', xapi: false });
    const args = legacyArgs();
    const first = await xcp(args, { root, sim });
    expect(first.code, first.stderr).toBe(0);
    const st = statuses(first.json);
    for (const id of LEGACY_STEPS) expect(st[id], id).toBe('changed');
    expect(st['xapi-ready']).toBe('skipped');
    for (const id of ['storage-repository', 'default-sr', 'install-vm', 'vm-network', 'start-vm'])
      expect(st[id], id).toBe('skipped');
    expect(first.json.data.rebootRequired).toBe(true);
    expect(first.stderr).toMatch(/reboot into Xen, then run this playbook again with the same options/);
    expect(standInCalls(sim)).toEqual([
      { cmd: 'apt-get', argv: ['install', '-y', 'python-software-properties'] },
      { cmd: 'add-apt-repository', argv: ['-y', 'ppa:ubuntu-xen-org/xcp-unstable'] },
      { cmd: 'apt-get', argv: ['update'] },
      { cmd: 'apt-get', argv: ['install', '-y', 'pciutils', 'xcp-xapi', 'xcp-xe'] },
      { cmd: 'update-rc.d', argv: ['xendomains', 'disable'] },
      { cmd: 'update-grub', argv: [] },
    ]);
    // The files the packages brought were fixed in the same run, as on the host that had them.
    expectGoldenTree(root);
    expect(
      readFileSync(path.join(root, 'etc/apt/sources.list.d/ubuntu-xen-org-xcp-unstable-precise.list'), 'utf8'),
    ).toContain('deb http://ppa.launchpad.net/ubuntu-xen-org/xcp-unstable/ubuntu precise main');
    expect(xeWrites(sim)).toEqual([]);

    // The reboot: xapi answers now.
    const s = readXe(sim);
    s.xapi = true;
    writeXe(sim, s);
    const second = await xcp(args, { root, sim });
    expect(second.code, second.stderr).toBe(0);
    const st2 = statuses(second.json);
    for (const id of LEGACY_STEPS) expect(st2[id], id).toBe('ok');
    for (const id of ['storage-repository', 'default-sr', 'install-vm', 'vm-network', 'vm-other-config', 'start-vm']) {
      expect(st2[id], id).toBe('changed');
    }
    const third = await xcp(args, { root, sim });
    for (const [id, v] of Object.entries(statuses(third.json))) expect(['ok', 'skipped'], id).toContain(v);
  });

  it('keeps the host tree consistent with the package catalogue', () => {
    // hosts/ubuntu-12.04 is hosts/ubuntu-12.04-fresh after the install: the same files, same bytes.
    const fresh = hostTree('ubuntu-12.04-fresh', w.dir);
    const env = { ...process.env, XR_SIM_DIR: sim, XR_SIM_ROOT: fresh };
    const bin = path.join(FIXTURES, '../../sim/bin');
    execFileSync(path.join(bin, 'apt-get'), ['install', '-y', 'python-software-properties'], { env });
    execFileSync(path.join(bin, 'add-apt-repository'), ['-y', 'ppa:ubuntu-xen-org/xcp-unstable'], { env });
    execFileSync(path.join(bin, 'apt-get'), ['install', '-y', 'pciutils', 'xcp-xapi', 'xcp-xe'], { env });
    const a = snapshot(fresh);
    const b = snapshot(path.join(FIXTURES, 'hosts/ubuntu-12.04'));
    // Modes follow git's checkout (644/755); compare content and links.
    const strip = (m: Record<string, string>) =>
      Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.replace(/^file \d+ /, 'file ')]));
    expect(strip(a)).toEqual(strip(b));
  });
});

describe('other hosts', () => {
  it('refuses a Debian release without XCP packages (exit 3)', async () => {
    root = hostTree('debian-12', w.dir);
    seedXe(sim, { xapi: false });
    const r = await xcp(['--yes'], { root, sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /Debian GNU\/Linux 12 \(bookworm\): the XCP packages \(xcp-xapi\) exist only for Ubuntu 12.04/,
    );
    expect(r.stderr).toMatch(/install XCP-ng/);
  });
  it('refuses a system that is neither (exit 3)', async () => {
    root = path.join(w.dir, 'root');
    execFileSync('mkdir', ['-p', path.join(root, 'etc')]);
    writeFileSync(
      path.join(root, 'etc/os-release'),
      'NAME="CentOS Linux"\nID="centos"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n',
    );
    seedXe(sim, { xapi: false });
    const r = await xcp(['--yes'], { root, sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/CentOS Linux 7 \(Core\): neither an XCP-ng\/XenServer host/);
  });
  it('treats Debian 7 as the legacy platform without the PPA', async () => {
    root = path.join(w.dir, 'root');
    execFileSync('mkdir', ['-p', path.join(root, 'etc')]);
    writeFileSync(
      path.join(root, 'etc/os-release'),
      'PRETTY_NAME="Debian GNU/Linux 7 (wheezy)"\nNAME="Debian GNU/Linux"\nVERSION_ID="7"\nID=debian\n',
    );
    seedXe(sim, { flavour: 'legacy', xapi: false });
    const r = await xcp(['--dry-run', '--json'], { root, sim });
    expect(r.code, r.stderr).toBe(0);
    const st = statuses(r.json);
    expect(st['apt-repository']).toBe('skipped');
    expect(st['install-packages']).toBe('would-change');
    expect(r.json.steps.find((s: { id: string }) => s.id === 'apt-repository').message).toMatch(
      /Debian 7 carries xcp-xapi/,
    );
  });
});
