// A fleet through Ansible: the collection built and installed by ansible-galaxy, ansible-playbook with
// forks and serial over an inventory of real sshd instances on 127.0.0.1, each host with its own
// simulator state: two xl hosts and an xm host (qos), an XCP-ng pool master and two members
// (xcp_install, the collection's docs/pool.yml), and three hosts that fail in the three ways.
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTION_DIR } from '../../scripts/gen-ansible-contract.mjs';
import { ROOT, SIM_BIN } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { addVm, createState, addMaster, readXe, seedXe, writeXe } from '../sim/xe.mjs';
import { readXl, seedXl } from '../sim/xl.mjs';
import type { XlSeedDomain } from '../sim/xl.mjs';
import { buildCollection, installCollection, runAnsiblePlaybook, type AnsibleRun } from './ansible.js';

const MASTER = '192.0.2.10';
const PASSWORD = 'pool secret';
const work = mkdtempSync(path.join(os.tmpdir(), 'xr-fleet-'));
const dir = (...p: string[]) => path.join(work, ...p);
const sshds: Record<string, Sshd> = {};
let collections: string;

const vm01: XlSeedDomain = {
  name: 'vm01',
  type: 'pv',
  memory: 1024,
  maxmem: 2048,
  vcpus: 2,
  maxvcpus: 4,
  pvDrivers: true,
  vifs: [{ mac: '00:16:3e:2b:11:83', bridge: 'xenbr0' }],
  disks: [{ vdev: 'xvda', target: '/dev/vg0/vm01-disk' }],
};
const vm02: XlSeedDomain = {
  name: 'vm02',
  type: 'pv',
  memory: 1024,
  maxmem: 2048,
  vcpus: 2,
  maxvcpus: 2,
  pvDrivers: true,
  vifs: [{ mac: '00:16:3E:2B:11:83', bridge: 'xenbr0', type: 'netfront' }],
  disks: [{ vdev: 'xvda', target: '/OVS/running_pool/vm02/System.img' }],
};

/** An sshd whose sessions see the simulators (and `bin` before them) and this host's own state. */
async function host(name: string, bin?: string): Promise<Sshd> {
  mkdirSync(dir(name, 'sim'), { recursive: true });
  const PATH = [...(bin ? [bin] : []), SIM_BIN, '/usr/local/bin:/usr/bin:/bin'].join(':');
  sshds[name] = await startSshd({ env: { PATH, XR_SIM_DIR: dir(name, 'sim') } });
  return sshds[name];
}

/** Connection variables as an inventory gives them: port, key, known_hosts (host keys stay strict). */
const conn = (s: Sshd) => ({
  ansible_host: '127.0.0.1',
  ansible_port: s.port,
  ansible_user: os.userInfo().username,
  ansible_ssh_private_key_file: path.join(s.dir, 'user_key'),
  xen_runbooks_known_hosts: path.join(s.dir, 'known_hosts'),
});

function qosHost(name: string, guest: 'vm01' | 'vm02') {
  const cfg = dir(name, `${guest}.cfg`);
  copyFileSync(path.join(ROOT, 'test/fixtures/qos', `${guest}.cfg`), cfg);
  if (guest === 'vm01') seedXl(dir(name, 'sim'), { info: { nr_cpus: 4, xen_scheduler: 'credit2' }, domains: [vm01] });
  else seedXl(dir(name, 'sim'), { info: { nr_cpus: 4, xen_scheduler: 'credit' }, xend: true, domains: [vm02] });
  return cfg;
}

beforeAll(async () => {
  collections = await installCollection(buildCollection(work), dir('collections'));
  // Two xl hosts and an xm host (Oracle VM's xend), each with a running guest.
  for (const n of ['xl1', 'xl2', 'xm1']) await host(n);
  // The pool: a master and two members that may join it.
  for (const n of ['master', 'm1', 'm2']) await host(n);
  seedXe(dir('master', 'sim'), { hostName: os.hostname(), address: MASTER });
  for (const [i, n] of ['m1', 'm2'].entries()) {
    seedXe(dir(n, 'sim'), {
      hostName: os.hostname(),
      address: `192.0.2.${11 + i}`,
      masters: { [MASTER]: { password: PASSWORD, poolName: 'pool-a' } },
    });
  }
  // The faults' host: its xl fails `vcpu-set` (exit 1 after the cap was set); its xapi has a running VM.
  mkdirSync(dir('faulty', 'bin'), { recursive: true });
  writeFileSync(
    dir('faulty', 'bin', 'xl'),
    `#!/bin/sh\n[ "$1" = vcpu-set ] && { echo 'libxl: error: vcpu-set: Permission denied' >&2; exit 1; }\nexec ${SIM_BIN}/xl "$@"\n`,
  );
  chmodSync(dir('faulty', 'bin', 'xl'), 0o755);
  await host('faulty', dir('faulty', 'bin'));
  const busy = createState({ hostName: os.hostname(), address: '192.0.2.20' });
  addVm(busy, { name: 'busy', powerState: 'running' });
  addMaster(busy, MASTER, { password: PASSWORD, poolName: 'pool-a' });
  writeXe(dir('faulty', 'sim'), busy);

  const pw = dir('pool-password');
  writeFileSync(pw, `${PASSWORD}\n`);
  chmodSync(pw, 0o600);
  // The playbooks as `npm install --global` leaves them: package.json's bin, the bundles, linked
  // on PATH (the default lookup).
  mkdirSync(dir('npm-bin'));
  for (const p of ['xen-qos', 'xcp-install']) symlinkSync(path.join(ROOT, 'lib/bin', `${p}.mjs`), dir('npm-bin', p));

  const qos = (name: string, guest: 'vm01' | 'vm02', extra: Record<string, unknown> = {}) => ({
    ...conn(sshds[name.startsWith('f') ? 'faulty' : name] as Sshd),
    guest,
    guest_config: qosHost(name.startsWith('f') ? 'faulty' : name, guest),
    toolstack: guest === 'vm01' ? 'xl' : 'xm',
    cap: guest === 'vm01' ? 100 : 50,
    // vCPUs only where a step must follow the cap: the xm host, and the host whose vcpu-set fails.
    ...(guest === 'vm02' ? { want_vcpus: 1 } : name === 'f1' ? { want_vcpus: 4 } : {}),
    ...extra,
  });
  const inventory = {
    all: {
      children: {
        // Inventory order is batch order under serial 2: no batch of the faults' run fails whole.
        qos_hosts: {
          hosts: {
            xl1: qos('xl1', 'vm01'),
            f1: qos('f1', 'vm01'),
            xl2: qos('xl2', 'vm01'),
            f2: { ...qos('xl2', 'vm01'), cap: 99999 },
            // This one through an ssh config file and the checkout instead of PATH.
            xm1: {
              ...qos('xm1', 'vm02'),
              // Oracle VM's named weight: the playbook warns, Ansible shows it as a warning.
              weight: 'High',
              xen_runbooks_ssh_config: (sshds.xm1 as Sshd).configFile,
              xen_runbooks_path: ROOT,
            },
          },
        },
        pool_a: {
          vars: { pool_password_file: pw, vm_name: 'web01', vm_template: 'CentOS 7' },
          hosts: {
            master: { ...conn(sshds.master as Sshd), pool_address: MASTER },
            m1: conn(sshds.m1 as Sshd),
            m2: conn(sshds.m2 as Sshd),
            f3: conn(sshds.faulty as Sshd),
          },
        },
        faulty: { hosts: { f1: {}, f2: {}, f3: {} } },
      },
    },
  };
  // JSON is YAML: the yaml inventory plugin reads it.
  writeFileSync(dir('hosts.yml'), JSON.stringify(inventory, null, 2));
  writeFileSync(
    dir('site.yml'),
    `- name: QoS on the plain Xen hosts, two at a time
  hosts: qos_hosts
  serial: 2
  gather_facts: false
  tasks:
    - name: CPU cap and vCPUs, kept for the next start
      xen_runbooks.xen.qos:
        domain: "{{ guest }}"
        toolstack: "{{ toolstack }}"
        config: "{{ guest_config }}"
        cpu_weight: "{{ weight | default(omit) }}"
        cpu_cap: "{{ cap }}"
        vcpus: "{{ want_vcpus | default(omit) }}"
        persist: true

- import_playbook: ${path.join(ROOT, COLLECTION_DIR, 'docs/pool.yml')}
  vars:
    pool: pool_a
`,
  );
}, 120_000);

afterAll(async () => {
  for (const s of Object.values(sshds)) await s.stop();
  rmSync(work, { recursive: true, force: true });
});

const play = (...args: string[]) =>
  runAnsiblePlaybook(['-i', 'hosts.yml', 'site.yml', '--forks', '4', ...args], {
    cwd: work,
    collections,
    env: { PATH: `${dir('npm-bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` },
  });

/** Every state a host's playbook may touch: simulators' state and the guests' config files. */
function snapshot(): string {
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  return ['xl1', 'xl2', 'xm1', 'master', 'm1', 'm2']
    .flatMap((n) => ['sim/xl.json', 'sim/xe.json', 'vm01.cfg', 'vm02.cfg'].map((f) => read(dir(n, f))))
    .join('\0');
}

const FLEET = ['xl1', 'xl2', 'xm1', 'master', 'm1', 'm2'];
const show = (r: AnsibleRun) => `${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`;

describe('a fleet with ansible-playbook', () => {
  it('check + diff: every host plans and shows its diffs, nothing changes; apply; a rerun changes nothing', async () => {
    const before = snapshot();
    const check = await play('--check', '--diff', '--limit', '!faulty');
    expect(check.code, show(check)).toBe(0);
    expect(Object.keys(check.recap).sort(), show(check)).toEqual([...FLEET].sort());
    for (const h of FLEET) expect(check.recap[h]?.changed, `${h}\n${show(check)}`).toBe(1);
    expect(snapshot()).toBe(before);
    // Each xl host's config diff and the xm host's, as the default callback prints "prepared" diffs.
    expect(check.stdout.match(/^\+cap = 100$/gm)?.length, show(check)).toBe(2);
    expect(check.stdout).toMatch(/^\+cpu_cap = 50$/m);
    expect(check.stdout).toContain('Join the pool');
    expect(check.stderr + check.stdout).toMatch(/\[WARNING\]: Oracle VM's High is weight 100/);
    for (const h of ['xl1', 'xl2']) {
      expect(check.results[h].steps.map((s: any) => s.status)).toContain('would-change');
      expect(check.results[h].cmd).toContain('--dry-run');
    }

    const apply = await play('--limit', '!faulty');
    expect(apply.code, show(apply)).toBe(0);
    for (const h of FLEET) expect(apply.recap[h]?.changed, `${h}\n${show(apply)}`).toBe(1);
    for (const h of ['xl1', 'xl2']) {
      expect(readXl(dir(h, 'sim'))?.domains.find((d: any) => d.name === 'vm01')).toMatchObject({ cap: 100, vcpus: 2 });
      expect(readFileSync(dir(h, 'vm01.cfg'), 'utf8')).toMatch(/^cap = 100$/m);
    }
    expect(readXl(dir('xm1', 'sim'))?.domains.find((d: any) => d.name === 'vm02')).toMatchObject({ cap: 50, vcpus: 1 });
    const vms = (n: string) => Object.values(readXe(dir(n, 'sim')).objects.vm ?? {}) as any[];
    expect(vms('master').some((v) => v['name-label'] === 'web01')).toBe(true);
    for (const m of ['m1', 'm2']) {
      const pools = Object.values(readXe(dir(m, 'sim')).objects.pool ?? {}) as any[];
      expect(pools[0]?.['name-label'], m).toBe('pool-a');
    }

    const again = await play('--limit', '!faulty');
    expect(again.code, show(again)).toBe(0);
    for (const h of FLEET) expect(again.recap[h], `${h}\n${show(again)}`).toMatchObject({ changed: 0, failed: 0 });
  }, 300_000);

  it('a failing host fails alone; exit 1, 2 and 3 arrive as failures with the playbook’s message; --limit', async () => {
    const r = await play('--limit', 'faulty:xl1:xl2');
    expect(r.code, show(r)).toBe(2);
    expect(Object.keys(r.recap).sort(), show(r)).toEqual(['f1', 'f2', 'f3', 'xl1', 'xl2']);
    for (const h of ['xl1', 'xl2']) expect(r.recap[h], show(r)).toMatchObject({ failed: 0 });
    for (const h of ['f1', 'f2', 'f3']) expect(r.recap[h], show(r)).toMatchObject({ failed: 1 });
    // Exit 1: the cap was set, vcpu-set failed; the message names what was left applied.
    expect(r.results.f1).toMatchObject({ rc: 1, changed: true });
    expect(r.results.f1.msg).toMatch(/^failed: .*vcpu-set.*Left applied by this run: Set the CPU weight and cap: /s);
    expect(readXl(dir('faulty', 'sim'))?.domains.find((d: any) => d.name === 'vm01')).toMatchObject({ cap: 100 });
    // Exit 2: the playbook's own message, nothing changed.
    expect(r.results.f2).toMatchObject({ rc: 2, changed: false });
    expect(r.results.f2.msg).toMatch(/^bad input: .*CPU cap 99999 is outside the cap bound/s);
    // Exit 3: the reason and how to get past it.
    expect(r.results.f3).toMatchObject({ rc: 3, changed: false });
    expect(r.results.f3.msg).toMatch(/^refused: 1 VM is running on this host \(busy\).*\(shut them down/s);
  }, 300_000);
});

describe("the inventory's other connection variables", () => {
  it('ssh options in ansible_ssh_common_args and ansible_ssh_extra_args reach ssh; what ssh cannot take from a config, a password and become fail the host, named', async () => {
    const s = sshds.xl1 as Sshd;
    const base = { guest: 'vm01', guest_config: dir('xl1', 'vm01.cfg'), toolstack: 'xl', cap: 150 };
    const known = path.join(s.dir, 'known_hosts');
    const key = path.join(s.dir, 'user_key');
    const inventory = {
      all: {
        vars: { ansible_host: '127.0.0.1', xen_runbooks_known_hosts: known, ...base },
        hosts: {
          // No ansible_port: the port and key come from the ssh options alone.
          by_options: {
            ansible_user: os.userInfo().username,
            ansible_ssh_common_args: `-o Port=${s.port} -o ConnectTimeout=20`,
            ansible_ssh_extra_args: `-i ${key}`,
          },
          // A named ssh config file, with an option beside it.
          named_and_options: {
            ansible_user: os.userInfo().username,
            xen_runbooks_ssh_config: s.configFile,
            ansible_ssh_common_args: '-o ServerAliveInterval=15',
          },
          forwarding: { ...conn(s), ansible_ssh_common_args: '-L 8080:localhost:80' },
          included: { ...conn(s), ansible_ssh_common_args: '-o Include=/etc/ssh/other' },
          password: { ...conn(s), ansible_password: 'secret' },
          sudo: { ...conn(s), ansible_user: 'admin', ansible_become: true },
        },
      },
    };
    writeFileSync(dir('connection.yml'), JSON.stringify(inventory, null, 2));
    writeFileSync(
      dir('connection-play.yml'),
      `- hosts: all
  gather_facts: false
  tasks:
    - xen_runbooks.xen.qos:
        domain: "{{ guest }}"
        toolstack: "{{ toolstack }}"
        config: "{{ guest_config }}"
        cpu_cap: "{{ cap }}"
`,
    );
    const before = snapshot();
    const r = await runAnsiblePlaybook(['-i', 'connection.yml', 'connection-play.yml', '--check', '--forks', '6'], {
      cwd: work,
      collections,
      env: { PATH: `${dir('npm-bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` },
    });
    expect(snapshot()).toBe(before);
    for (const h of ['by_options', 'named_and_options']) {
      expect(r.recap[h], `${h}\n${show(r)}`).toMatchObject({ failed: 0, changed: 1 });
      expect(r.results[h].cmd).toContain('--dry-run');
    }
    expect(r.results.forwarding.msg).toMatch(
      /^ansible_ssh_common_args: -L has no ssh_config keyword .*xen_runbooks_ssh_config/,
    );
    expect(r.results.included.msg).toMatch(/-o Include=\/etc\/ssh\/other is not an option ssh takes/);
    expect(r.results.password.msg).toMatch(/^ansible_password is set, but .* keys only/);
    expect(r.results.sudo.msg).toMatch(/^become is set \(admin to root\), but the playbooks do not use sudo/);
    for (const h of ['forwarding', 'included', 'password', 'sudo'])
      expect(r.recap[h], show(r)).toMatchObject({ failed: 1 });
  }, 300_000);
});
