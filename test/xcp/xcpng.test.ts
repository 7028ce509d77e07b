import { spawn } from 'node:child_process';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, SIM_BIN } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';
import { GiB, MiB, addMaster, addSr, addVm, createState, seedXe, writeXe } from '../sim/xe.mjs';
import {
  hostTree,
  LEGACY_STEPS,
  loopDevice,
  normalizedXe,
  objects,
  snapshot,
  standInCalls,
  statuses,
  workdir,
  xcp,
  xeCalls,
  xeWrites,
} from './rig.js';

let w: ReturnType<typeof workdir>;
let disk: ReturnType<typeof loopDevice>;
let root: string;
let sim: string;

beforeAll(() => {
  tool('losetup');
});
beforeEach(() => {
  w = workdir();
  disk = loopDevice(w.dir);
  sim = path.join(w.dir, 'sim');
  root = hostTree('xcp-ng-8.2', w.dir);
});
afterEach(() => {
  disk.detach();
  w.cleanup();
});

const vmNamed = (name: string) => objects(sim, 'vm').filter((v) => v['name-label'] === name);

describe('XCP-ng 8.2', () => {
  it('skips the installation, creates an lvm SR, installs and starts the VM; the second run changes nothing', async () => {
    // A host installed without the installer's local SR: only the Tools SR.
    seedXe(sim, { localStorage: false });
    const args = [
      '--yes',
      '--json',
      '--sr-device',
      disk.path,
      '--vm-name',
      'web01',
      '--template',
      'CentOS 7',
      '--memory',
      '2G',
      '--vcpus',
      '2',
    ];
    const tree = snapshot(root);
    const r = await xcp(args, { root, sim });
    expect(r.code, r.stderr).toBe(0);
    const st = statuses(r.json);
    for (const id of LEGACY_STEPS) expect(st[id], id).toBe('skipped');
    expect(r.json.steps.find((s: { id: string }) => s.id === 'install-packages').message).toMatch(
      /XCP-ng runs xapi already/,
    );
    expect(r.json.data.platform).toMatchObject({ kind: 'xcp-ng', name: 'XCP-ng', version: '8.2.1' });
    expect(st['vm-resources']).toBe('changed');
    expect(st['vm-other-config']).toBe('skipped');
    const [sr, ...others] = objects(sim, 'sr').filter((x) => x['is-tools-sr'] !== 'true');
    expect(others).toEqual([]);
    expect(sr).toMatchObject({ type: 'lvm', 'name-label': 'Local storage', 'content-type': 'user', shared: 'false' });
    const [vm] = vmNamed('web01');
    expect(vm).toMatchObject({
      'power-state': 'running',
      'memory-static-max': String(2 * GiB),
      'memory-dynamic-max': String(2 * GiB),
      'memory-dynamic-min': String(2 * GiB),
      'VCPUs-max': '2',
      'VCPUs-at-startup': '2',
    });
    expect(r.json.data.vm).toEqual({ uuid: vm?.uuid, name: 'web01', domid: 1, console: `xe console uuid=${vm?.uuid}` });
    // The host's files are only read.
    expect(snapshot(root)).toEqual(tree);
    expect(standInCalls(sim)).toEqual([]);

    const again = await xcp(args, { root, sim });
    expect(again.code, again.stderr).toBe(0);
    for (const [id, s] of Object.entries(statuses(again.json))) expect(['ok', 'skipped'], id).toContain(s);
  });

  it('fails before changing anything when there is no SR to install on, with the reason xe would give', async () => {
    seedXe(sim, { localStorage: false });
    const before = normalizedXe(sim);
    const r = await xcp(['--yes', '--vm-name', 'web01', '--template', 'CentOS 7'], { root, sim });
    expect(r.code).toBe(1);
    // cli_operations.ml vm_install_real's text (the Tools SR is no place for a disk).
    expect(r.stderr).toMatch(/Failed to find a valid default SR for the Pool/);
    expect(r.stderr).toMatch(/pool-param-set uuid=POOL default-SR=SR/);
    expect(normalizedXe(sim)).toBe(before);
  });

  it('installs on the pool default SR when no device is given', async () => {
    const s = seedXe(sim);
    const r = await xcp(['--yes', '--json', '--vm-name', 'web01', '--template', 'CentOS 7'], { root, sim });
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r.json)['storage-repository']).toBe('skipped');
    const install = xeWrites(sim).find((a) => a[0] === 'vm-install');
    expect(install).toContain(`sr-uuid=${s.sr}`);
  });

  it('reuses the SR already on the device, reached by another path', async () => {
    const link = path.join(w.dir, 'by-id-link');
    symlinkSync(disk.path, link);
    seedXe(sim, { sr: { name: 'Old name', type: 'ext', device: link } });
    const r = await xcp(['--yes', '--json', '--sr-device', disk.path], { root, sim });
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r.json)['storage-repository']).toBe('ok');
    expect(r.stderr).toMatch(/named "Old name", not "Local storage": it is used as it is/);
    expect(xeWrites(sim).map((a) => a[0])).toEqual(['pool-param-set']);
  });

  it('refuses two VMs of the same name (exit 3) and changes nothing', async () => {
    const state = createState();
    addVm(state, { name: 'web01' });
    addVm(state, { name: 'web01' });
    writeXe(sim, state);
    const before = normalizedXe(sim);
    const r = await xcp(['--yes', '--sr-device', disk.path, '--vm-name', 'web01', '--template', 'CentOS 7'], {
      root,
      sim,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/2 VMs are named "web01"/);
    expect(normalizedXe(sim)).toBe(before);
  });

  it('names a missing template and lists those there are', async () => {
    seedXe(sim);
    const r = await xcp(['--yes', '--sr-device', disk.path, '--vm-name', 'web01', '--template', 'Windows 3.11'], {
      root,
      sim,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no template named "Windows 3.11"/);
    expect(r.stderr).toMatch(/templates here: CentOS 7, Debian Bookworm 12, Other install media/);
    expect(xeWrites(sim)).toEqual([]);
  });

  it('leaves a running VM’s memory alone and says so', async () => {
    const state = createState();
    addVm(state, { name: 'web01', powerState: 'running', memory: 1 * GiB });
    writeXe(sim, state);
    const r = await xcp(['--yes', '--json', '--vm-name', 'web01', '--memory', '2G'], { root, sim });
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r.json)['vm-resources']).toBe('skipped');
    expect(r.stderr).toMatch(/the VM is running: its memory and vCPUs change here only while it is halted/);
    expect(vmNamed('web01')[0]?.['memory-static-max']).toBe(String(1 * GiB));
  });

  it('fails with the toolstack hint when xapi does not answer', async () => {
    seedXe(sim, { xapi: false });
    const r = await xcp(['--yes'], { root, sim });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/XCP-ng 8.2.1: xapi does not answer.*Connection refused/);
    expect(r.stderr).toMatch(/xe-toolstack-restart/);
  });
});

describe('hostile VM names', () => {
  const names = [
    'a; rm -rf /',
    '$(reboot)',
    '`reboot`',
    `it's "quoted"`,
    '-x',
    '--minimal',
    'a,b\\c',
    'name=value',
    '  spaced  ',
  ];
  it('reach xe as one argument and name the VM exactly', async () => {
    seedXe(sim);
    for (const name of names) {
      const r = await xcp(['--yes', `--vm-name=${name}`, '--template', 'CentOS 7'], { root, sim });
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(
        xeCalls(sim)
          .filter((a) => a[0] === 'vm-install')
          .at(-1),
      ).toContain(`new-name-label=${name}`);
      expect(vmNamed(name), name).toHaveLength(1);
      // Found again by that exact name: nothing installed twice.
      const again = await xcp(['--yes', `--vm-name=${name}`, '--template', 'CentOS 7'], { root, sim });
      expect(again.code).toBe(0);
      expect(vmNamed(name), name).toHaveLength(1);
    }
  });
  it('refuses a name with a line break, which xapi would split into two parameters (exit 2)', async () => {
    seedXe(sim);
    for (const name of ['web\nsr-uuid=x', 'web\r']) {
      const r = await xcp(['--yes', `--vm-name=${name}`], { root, sim });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--vm-name: .* holds a line break/);
    }
    expect(xeCalls(sim)).toEqual([]);
  });
});

describe('pools and shared storage', () => {
  const MASTER = '192.0.2.10';
  const PASSWORD = `s3cret "pass" $HOME 'x'`;

  function seedPool(opts: { password?: string } = {}) {
    const state = createState({ hostName: os.hostname(), nfsExports: ['192.0.2.20:/export/vms'] });
    addMaster(state, MASTER, { password: opts.password ?? PASSWORD, poolName: 'production' });
    writeXe(sim, state);
  }
  function passwordFile(text = `${PASSWORD}\n`) {
    const f = path.join(w.dir, 'pool-password');
    writeFileSync(f, text);
    chmodSync(f, 0o600);
    return f;
  }
  const nfs = ['--sr-type', 'nfs', '--nfs-server', '192.0.2.20', '--nfs-path', '/export/vms', '--sr-name', 'shared'];

  it('joins with the password on stdin, creates the shared NFS SR and makes it the default; then nothing to do', async () => {
    seedPool();
    // Like every XCP-ng host, this one has a shared Tools SR, which xapi does not count against a join.
    expect(objects(sim, 'sr').filter((s) => s.shared === 'true')).toMatchObject([
      { 'name-label': 'XCP-ng Tools', 'is-tools-sr': 'true' },
    ]);
    const args = [
      '--yes',
      '--json',
      '--verbose',
      '--join-pool',
      MASTER,
      '--pool-password-file',
      passwordFile(),
      ...nfs,
      '--vm-name',
      'web01',
      '--template',
      'CentOS 7',
    ];
    const r = await xcp(args, { root, sim });
    expect(r.code, r.stderr).toBe(0);
    expect(statuses(r.json)).toMatchObject({
      'join-pool': 'changed',
      'storage-repository': 'changed',
      'default-sr': 'changed',
      'start-vm': 'changed',
    });
    // The password went to xe intact, and to nothing else: not the command lines shown, not the report.
    expect(xeCalls(sim).find((a) => a[0] === 'pool-join')).toEqual([
      'pool-join',
      `master-address=${MASTER}`,
      'master-username=root',
      `master-password=${PASSWORD}`,
    ]);
    expect(r.stderr).toMatch(/\+ sh -c .*xcp-install 192\.0\.2\.10 root/);
    expect(r.stderr).not.toContain('s3cret');
    expect(r.stdout).not.toContain('s3cret');
    const [pool] = objects(sim, 'pool');
    expect(pool?.['name-label']).toBe('production');
    const shared = objects(sim, 'sr').find((s) => s['name-label'] === 'shared');
    expect(shared).toMatchObject({ type: 'nfs', shared: 'true' });
    expect(pool?.['default-SR']).toBe(shared?.uuid);
    expect(objects(sim, 'pbd').filter((p) => p['sr-uuid'] === shared?.uuid)).toHaveLength(2);

    const again = await xcp(args, { root, sim });
    expect(again.code, again.stderr).toBe(0);
    for (const [id, s] of Object.entries(statuses(again.json))) expect(['ok', 'skipped'], id).toContain(s);
    expect(again.json.steps.find((s: { id: string }) => s.id === 'join-pool').message).toMatch(
      /member of pool "production"/,
    );
  });

  it('reports a refused password and an unreachable master as failures', async () => {
    seedPool({ password: 'other' });
    const bad = await xcp(['--yes', '--join-pool', MASTER, '--pool-password-file', passwordFile()], { root, sim });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/xe pool-join failed: Authentication failed/);
    seedPool();
    const away = await xcp(['--yes', '--join-pool', '192.0.2.99', '--pool-password-file', passwordFile()], {
      root,
      sim,
    });
    expect(away.code).toBe(1);
    expect(away.stderr).toMatch(/Host cannot contact destination host: connection refused/);
    expect(away.stderr).toMatch(/port 443/);
  });

  it('takes the password from standard input with -, and needs one without a terminal', async () => {
    seedPool();
    const r = await xcp(['--yes', '--join-pool', MASTER, '--pool-password-file', '-'], {
      root,
      sim,
      input: `${PASSWORD}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    seedPool();
    const writes = xeWrites(sim).length;
    const none = await xcp(['--yes', '--join-pool', MASTER], { root, sim });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--pool-password-file/);
    expect(xeWrites(sim)).toHaveLength(writes);
  });

  it('asks for the password on a terminal, without echo', async () => {
    const script = tool('script');
    seedPool({ password: 'typed on a tty' });
    const cmd = `node playbooks/xcp-install.mjs --root '${root}' --yes --join-pool ${MASTER}`;
    const child = spawn(script, ['-qec', cmd, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, XR_SIM_DIR: sim, PATH: `${SIM_BIN}:${process.env.PATH}` },
    });
    let out = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // Type only once the prompt is there: the terminal is then in raw mode, without echo.
      if (!typed && out.includes(`Password of root on ${MASTER}: `)) {
        typed = true;
        child.stdin.write('typed on a tty\n');
      }
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/joined the pool/);
    expect(out).not.toContain('typed on a tty');
    expect(xeCalls(sim).find((a) => a[0] === 'pool-join')).toContain('master-password=typed on a tty');
  });

  it('joins an XCP-ng 8.3 pool (xapi v26.1.4) from a host with its Tools SR and Local storage', async () => {
    const state = createState({ hostName: os.hostname(), release: '8.3' });
    addMaster(state, MASTER, { password: PASSWORD, poolName: 'p83' });
    writeXe(sim, state);
    const r = await xcp(['--yes', '--join-pool', MASTER, '--pool-password-file', passwordFile()], { root, sim });
    expect(r.code, r.stderr).toBe(0);
    expect(objects(sim, 'pool')[0]?.['name-label']).toBe('p83');
    // The pool's one Tools SR now reaches both hosts; this host's Local storage stays its own.
    const tools = objects(sim, 'sr').filter((x) => x['is-tools-sr'] === 'true');
    expect(tools).toHaveLength(1);
    expect(objects(sim, 'pbd').filter((p) => p['sr-uuid'] === tools[0]?.uuid)).toHaveLength(2);
    expect(objects(sim, 'sr').filter((x) => x['name-label'] === 'Local storage')).toHaveLength(1);
  });

  it('refuses to join with shared storage other than the Tools SR, naming it (exit 3)', async () => {
    const state = createState({ hostName: os.hostname() });
    addSr(state, { name: 'old-nfs', type: 'nfs', server: '192.0.2.30', serverPath: '/old' });
    addMaster(state, MASTER, { password: PASSWORD });
    writeXe(sim, state);
    const r = await xcp(['--yes', '--join-pool', MASTER, '--pool-password-file', passwordFile()], { root, sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/this host has shared storage \(old-nfs\)/);
    expect(r.stderr).not.toMatch(/XCP-ng Tools/);
    expect(xeWrites(sim)).toEqual([]);
  });

  it('joins with a paused VM: xapi counts running VMs only', async () => {
    const state = createState({ hostName: os.hostname() });
    addMaster(state, MASTER, { password: PASSWORD });
    addVm(state, { name: 'idle', powerState: 'paused', memory: 512 * MiB });
    writeXe(sim, state);
    const r = await xcp(['--yes', '--join-pool', MASTER, '--pool-password-file', passwordFile()], { root, sim });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/joined the pool/);
  });

  it('refuses to join while VMs run on this host (exit 3)', async () => {
    const state = createState({ hostName: os.hostname() });
    addMaster(state, MASTER, { password: PASSWORD });
    addVm(state, { name: 'busy', powerState: 'running', memory: 512 * MiB });
    writeXe(sim, state);
    const r = await xcp(['--yes', '--join-pool', MASTER, '--pool-password-file', passwordFile()], { root, sim });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/1 VM is running on this host \(busy\)/);
    expect(xeWrites(sim)).toEqual([]);
  });
});

describe('options', () => {
  it('--help documents every option', async () => {
    const r = await xcp(['--help'], { sim: w.dir });
    const d = await xcp(['--describe'], { sim: w.dir });
    const described = JSON.parse(d.stdout) as { options: { name: string }[]; steps: { id: string }[] };
    expect(described.options.length).toBeGreaterThan(10);
    for (const o of described.options) expect(r.stdout).toContain(`--${o.name}`);
  });
  it('refuses contradictory options (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--sr-type', 'nfs'], /needs --nfs-server and --nfs-path/],
      [['--sr-type', 'ext'], /--sr-type ext needs --sr-device/],
      [['--sr-device', 'sdb'], /not a device path under \/dev/],
      [['--memory', '1G'], /--memory goes with --vm-name/],
      [['--force'], /--force goes with --sr-device/],
      [['--pool-password-file', path.join(w.dir, 'pool.pw')], /goes with --join-pool/],
      [['--vm-name', 'x', '--memory', '64M'], /below the minimum/],
    ];
    writeFileSync(path.join(w.dir, 'pool.pw'), 'secret\n', { mode: 0o600 });
    for (const [args, message] of cases) {
      const r = await xcp(args, { sim: w.dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
