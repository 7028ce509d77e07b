// xen-qos reads each release's own `xl list -l` (S-expressions on 4.1, the created configuration
// as JSON on 4.2–4.4, libxl's live record from 4.5) and never takes a configured value for a live one.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDomain } from '../../src/playbooks/xen-qos/read-domain.js';
import { MiB } from '../sim/xe.mjs';
import { readXl, runXenstoreRead, runXl, seedXl } from '../sim/xl.mjs';
import { parseXlListLong } from '../../src/xen/xl-list-long.js';
import { ROOT, runPlaybook } from '../helpers/playbook.js';
import { testHost, type Answer } from './host.js';

const MAC0 = '00:16:3e:2b:11:83';
const MAC1 = '00:16:3e:2b:11:84';
const NEW_MAC = '00:16:3e:5a:00:07';

let sim: string;
let root: string;
beforeEach(() => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-rel-sim-'));
  root = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-rel-root-'));
  mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  copyFileSync(path.join(ROOT, 'test/fixtures/qos/vm01.cfg'), path.join(root, 'etc/xen/vm01.cfg'));
});
afterEach(() => {
  rmSync(sim, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

/** The simulators, with xl reading /etc/xen/xl.conf under the test's root. */
const answer = ([cmd = '', ...args]: string[]): Answer => {
  if (cmd === 'xl') return runXl('xl', args, sim, { root });
  if (cmd === 'xenstore-read') return runXenstoreRead(args, sim);
  return { code: 127, stdout: '', stderr: `${cmd}: command not found\n` };
};
const xl = (...args: string[]) => runXl('xl', args, sim, { root });

/**
 * vm01 created from its file (memory 1024 of 2048, 2 of 4 vCPUs, two NICs), then changed live:
 * memory target 1536, 1 vCPU, a third NIC attached with a rate. What each release lists.
 */
function changedHost(minor: number) {
  seedXl(sim, {
    info: { nr_cpus: 4, xen_scheduler: 'credit', xen_major: 4, xen_minor: minor, xen_extra: '.0' },
    domains: [
      {
        name: 'vm01',
        type: 'pv',
        pvDrivers: true,
        memory: 1024,
        maxmem: 2048,
        vcpus: 2,
        maxvcpus: 4,
        vifs: [
          { mac: MAC0, bridge: 'xenbr0' },
          { mac: MAC1, bridge: 'xenbr1', rate: '100Mb/s' },
        ],
        disks: [{ vdev: 'xvda', target: '/dev/vg0/vm01-disk' }],
        config: { memory: 1024, maxmem: 2048, vcpus: 2, maxvcpus: 4 },
      },
    ],
  });
  expect(xl('mem-set', 'vm01', '1536m').code).toBe(0);
  expect(xl('vcpu-set', 'vm01', '1').code).toBe(0);
  expect(xl('network-attach', 'vm01', `mac=${NEW_MAC}`, 'bridge=xenbr0', 'rate=1MB/s').code).toBe(0);
}

describe('what each release prints for xl list -l (the simulator, from each tag)', () => {
  it('4.1: an S-expression of the created configuration, the PV domain closed early, no Domain-0', () => {
    changedHost(1);
    const out = xl('list', '-l').stdout;
    expect(out.startsWith('(domain\n\t(domid 1)\n\t(domain_create_info)\n')).toBe(true);
    expect(out).toContain('\t(target_memkb 1048576)\n');
    expect(out).not.toContain('Domain-0');
    // printf_info's `(linux 0)` then `\t\t)` `\t)`: the devices follow the closed domain, a stray `)` ends it.
    expect(out).toMatch(/\t\t\(linux 0\)\n[^]*\t\t\)\n\t\)\n\t\(device\n/);
    expect(out.endsWith('\t)\n)\n')).toBe(true);
    // Not the attached NIC: the stored text had two.
    expect(out.match(/\(vif\n/g)).toHaveLength(2);
    const [d] = parseXlListLong(out);
    expect(d).toMatchObject({ form: 'sxp', domid: 1, type: 'pv', maxVcpus: 4, targetKb: 1024 * 1024 });
    expect(d?.nics.map((n) => n.mac)).toEqual([MAC0, MAC1]);
    expect(d?.disks).toEqual([{ vdev: 'xvda' }]);
  });

  it('4.3: the created configuration as JSON; output_format="sxp" in xl.conf makes it an S-expression', () => {
    changedHost(3);
    const [j] = JSON.parse(xl('list', '-l', 'vm01').stdout);
    expect(j.config.b_info).toMatchObject({ target_memkb: 1024 * 1024, max_memkb: 2048 * 1024 });
    expect(j.config.b_info.avail_vcpus).toHaveLength(2);
    expect(j.config.nics).toHaveLength(2);
    expect(JSON.parse(xl('list', '-l').stdout).map((x: { domid: number }) => x.domid)).toEqual([1]);
    writeFileSync(path.join(root, 'etc/xen/xl.conf'), 'output_format="sxp"\n');
    const out = xl('list', '-l', 'vm01').stdout;
    expect(out.startsWith('(domain\n\t(domid 1)\n\t(create_info)\n')).toBe(true);
    expect(parseXlListLong(out)[0]).toMatchObject({ form: 'sxp', targetKb: 1024 * 1024 });
  });

  it('4.5: libxl’s live record (target, NICs as attached); the vCPUs online only from 4.8', () => {
    changedHost(5);
    const [j] = JSON.parse(xl('list', '-l', 'vm01').stdout);
    expect(j.config.b_info.target_memkb).toBe(1536 * 1024);
    expect(j.config.nics.map((n: { mac: string }) => n.mac)).toEqual([MAC0, MAC1, NEW_MAC]);
    expect(j.config.b_info.avail_vcpus).toHaveLength(2);
    changedHost(8);
    expect(JSON.parse(xl('list', '-l', 'vm01').stdout)[0].config.b_info.avail_vcpus).toHaveLength(1);
  });
});

describe('xen-qos reads the running domain as each release shows it', () => {
  it.each([1, 2, 3, 4, 5, 17])('Xen 4.%i: the live memory target, vCPUs online and attached NICs', async (minor) => {
    changedHost(minor);
    const h = testHost(root, answer);
    const { facts: f } = await readDomain(h, 'xl', 'vm01', undefined);
    expect(f.memory).toBe(1536 * MiB);
    expect(f.maxMemory).toBe(2048 * MiB);
    expect(f.vcpus).toBe(1);
    expect(f.maxVcpus).toBe(4);
    expect(f.vifs.map((v) => [v.index, v.mac])).toEqual([
      [0, MAC0],
      [1, MAC1],
      [2, NEW_MAC],
    ]);
    // The rate netback has (xenstore), on the attached NIC: 1MB/s at 50 ms; 4.1 attaches without it.
    expect(f.vifs[2]?.credit).toEqual(minor === 1 ? undefined : { bytesPerInterval: 50_000, intervalUs: 50_000 });
    if (minor < 5) {
      expect(f.liveNotes?.[0]).toBe(
        `Xen 4.${minor}: xl list -l shows the configuration vm01 was created with; the live values are read from xl list, xl network-list and xenstore`,
      );
      expect(h.commands).toContain('xl network-list vm01');
      expect(h.commands).toContain('xenstore-read /local/domain/1/memory/target');
    } else expect(f.liveNotes).toBeUndefined();
  });

  it('says so when xenstore does not give the target, and shows what the domain holds, not the configured memory', async () => {
    changedHost(3);
    const noTarget = (argv: string[]): Answer =>
      argv[0] === 'xenstore-read' && argv.some((a) => a.endsWith('/memory/target'))
        ? { code: 1, stdout: '', stderr: "xenstore-read: couldn't read path\n" }
        : answer(argv);
    const { facts: f } = await readDomain(testHost(root, noTarget), 'xl', 'vm01', undefined);
    expect(f.memory).toBe(1536 * MiB);
    expect(f.liveNotes).toContain(
      'memory target: not readable (xenstore-read /local/domain/1/memory/target failed); the memory shown is what the domain holds now (xl list)',
    );
  });

  it('Xen 4.1 end to end: a memory change is read back from xenstore and xl list, not from list -l', async () => {
    changedHost(1);
    const r = await runPlaybook(
      'xen-qos',
      ['--root', root, 'vm01', '--toolstack', 'xl', '--memory', '1280', '--yes', '--json'],
      {
        sim,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.data.domain.memoryMiB).toBe(1536);
    expect(report.data.readBack.memory).toEqual({
      shown: "xenstore's memory target is 1280 MiB; the domain holds 1280 MiB (xl list)",
      done: true,
    });
    expect(readXl(sim)?.domains[1]?.memory).toBe(1280);
  });
});
