import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIM_BIN } from '../helpers/playbook.js';
import { readCalls } from '../sim/xe.mjs';
import { hostTree, snapshot, workdir } from './rig.js';

let w: ReturnType<typeof workdir>;
let sim: string;
beforeEach(() => {
  w = workdir();
  sim = path.join(w.dir, 'sim');
});
afterEach(() => w.cleanup());

function run(cmd: string, argv: string[], env: Record<string, string | undefined> = {}) {
  const e: Record<string, string> = { ...(process.env as Record<string, string>), XR_SIM_DIR: sim };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return spawnSync(path.join(SIM_BIN, cmd), argv, { env: e, encoding: 'utf8' });
}

describe('recording stand-ins', () => {
  it('record every call and touch nothing without a tree', () => {
    expect(run('pvcreate', ['/dev/sdb']).stdout).toBe('  Physical volume "/dev/sdb" successfully created\n');
    expect(run('update-grub', []).stderr).toBe('Generating grub.cfg ...\ndone\n');
    expect(run('update-rc.d', ['xendomains', 'disable']).status).toBe(0);
    expect(run('apt-get', ['install', '-y', 'xcp-xapi']).status).toBe(0);
    expect(readCalls(sim)).toEqual([
      { cmd: 'pvcreate', argv: ['/dev/sdb'] },
      { cmd: 'update-grub', argv: [] },
      { cmd: 'update-rc.d', argv: ['xendomains', 'disable'] },
      { cmd: 'apt-get', argv: ['install', '-y', 'xcp-xapi'] },
    ]);
  });
  it('refuse to run without a place to record', () => {
    const r = run('apt-get', ['install', '-y', 'pciutils'], { XR_SIM_DIR: undefined });
    expect(r.status).toBe(70);
    expect(r.stderr).toMatch(/XR_SIM_DIR is not set; refusing to run/);
  });
  it('apt-get answers as apt: unknown packages, PPA packages without the PPA, no -y without a terminal', () => {
    const root = hostTree('ubuntu-12.04-fresh', w.dir);
    const before = snapshot(root);
    const unknown = run('apt-get', ['install', '-y', 'xcp-frobnicator'], { XR_SIM_ROOT: root });
    expect(unknown.status).toBe(100);
    expect(unknown.stderr).toMatch(/E: Unable to locate package xcp-frobnicator/);
    const noPpa = run('apt-get', ['install', '-y', 'xcp-xapi'], { XR_SIM_ROOT: root });
    expect(noPpa.status).toBe(100);
    const noYes = run('apt-get', ['install', 'pciutils'], { XR_SIM_ROOT: root });
    expect(noYes.status).toBe(1);
    expect(noYes.stdout).toMatch(/Do you want to continue \[Y\/n\]\? Abort\./);
    expect(snapshot(root)).toEqual(before);
    expect(run('apt-get', ['install', '-y', 'pciutils'], { XR_SIM_ROOT: root }).status).toBe(0);
    expect(readFileSync(path.join(root, 'var/lib/dpkg/status'), 'utf8')).toMatch(
      /Package: pciutils\nStatus: install ok installed\n/,
    );
    const twice = run('apt-get', ['install', '-y', 'pciutils'], { XR_SIM_ROOT: root });
    expect(twice.stdout).toMatch(/0 newly installed/);
  });
  it('update-rc.d disable turns the S links of runlevels 2–5 into K links (100 − NN)', () => {
    const root = hostTree('ubuntu-12.04', w.dir);
    expect(run('update-rc.d', ['xendomains', 'disable'], { XR_SIM_ROOT: root }).status).toBe(0);
    for (const level of ['2', '3', '4', '5']) {
      expect(readdirSync(path.join(root, `etc/rc${level}.d`))).toEqual(['K79xendomains', 'S20xend']);
    }
    expect(readdirSync(path.join(root, 'etc/rc0.d'))).toEqual(['K20xend', 'K21xendomains']);
    const missing = run('update-rc.d', ['nosuch', 'disable'], { XR_SIM_ROOT: root });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('update-rc.d: /etc/init.d/nosuch: file does not exist\n');
  });
  it('update-grub writes GRUB_DEFAULT into grub.cfg’s set default line, nothing else', () => {
    const root = hostTree('ubuntu-12.04', w.dir);
    const cfg = path.join(root, 'boot/grub/grub.cfg');
    const before = readFileSync(cfg, 'utf8');
    const defaults = path.join(root, 'etc/default/grub');
    const text = readFileSync(defaults, 'utf8').replace('GRUB_DEFAULT=0', 'GRUB_DEFAULT="Xen 4.1-amd64"');
    spawnSync('sh', ['-c', 'cat > "$1"', 'sh', defaults], { input: text });
    expect(run('update-grub', [], { XR_SIM_ROOT: root }).status).toBe(0);
    const after = readFileSync(cfg, 'utf8');
    expect(after).toBe(before.replace('set default="0"', 'set default="Xen 4.1-amd64"'));
  });
});
