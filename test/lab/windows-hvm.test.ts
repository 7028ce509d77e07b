/**
 * windows-hvm over ssh against a real Xen 4.17 host, the lab's default boot (dom0_mem=1024M):
 * with --start, the guest it writes really starts as an HVM domain and boots from its CD; and
 * since autoballoon "auto" stays off, a guest bigger than Xen's free memory is refused by the
 * preflight, and `xl create` of such a guest really fails.
 *
 * Under QEMU's software emulation an HVM guest needs `tsc_mode = "native"` (the default TSC
 * emulation faults on RDTSCP there): the administrator's line, kept by the playbook's in-place
 * update of an existing config.
 *
 * Then the collection's windows_hvm module under ansible-playbook, the lab host through its ssh
 * config: check mode plans a guest and writes nothing; the oversized guest fails as bad input with
 * the playbook's words, read from the real `xl info`.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { markerIso } from 'xen-runbooks/lab';
import { labTask } from './ansible.js';
import { buildIso, dom0MiB, oversizedGuestMiB, startLab, windowsHvm, type Lab } from './lab.js';

let lab: Lab;

beforeAll(async () => {
  // The oversized HVM guest fails in the domain builder, before any device model starts.
  lab = await startLab({ hvm: true });
}, 1_800_000);

afterAll(async () => {
  await lab?.stop(['big2', HVM]);
}, 120_000);

const HVM = 'hvm1';
const HVM_MARKER = 'XR-HVM-UP';

describe('windows-hvm on a real Xen 4.17 host, over --host', () => {
  test('--start: the guest it writes starts as an HVM domain and boots from its CD (the boot sector writes to port 0xE9, then powers off)', async () => {
    await lab.clear(HVM); // an earlier attempt's (vitest.config.ts: retry)
    markerIso(path.join(lab.share, 'hvm1.iso'), HVM_MARKER);
    // A config the administrator started, with the one line emulation needs.
    await lab.ssh(`cat > /etc/xen/${HVM}.cfg`, `name = "${HVM}"\ntsc_mode = "native"\n`);
    const r = await windowsHvm(lab, { name: HVM, iso: '/mnt/lab/hvm1.iso', memory: 512 }, '--start', '--json');
    expect(r.code, r.stderr).toBe(0);
    const cfg = await lab.runIdempotent(`cat /etc/xen/${HVM}.cfg`);
    expect(cfg).toMatch(/^type\s*=\s*"hvm"/m);
    expect(cfg).toMatch(/^tsc_mode\s*=\s*"native"/m);
    expect(cfg).toContain('/mnt/lab/hvm1.iso');
    const domid = Number(/started \(domain (\d+)\)/.exec(r.stdout + r.stderr)?.[1]);
    expect(domid).toBeGreaterThan(0);

    // hvmloader (HVM guests only) and then the CD's boot sector, in Xen's log under this domain.
    await lab.waitUntil(`xl dmesg | grep -qF '(d${domid}) ${HVM_MARKER}'`, 300_000);
    const log = await lab.runIdempotent('xl dmesg');
    expect(log).toContain(`(d${domid}) HVM Loader`);
    expect(log).toContain(`(d${domid}) ${HVM_MARKER}`);
    // Its only vCPU halted with interrupts off: Xen powered it off, and xl destroyed it.
    await lab.waitUntil(`! xl list ${HVM}`, 60_000);
    expect((await lab.ssh(`xl list ${HVM}`)).code).not.toBe(0);
  }, 900_000);

  test('with dom0_mem (autoballoon "auto" stays off): a guest bigger than free_memory is refused by the preflight, and xl create really fails', async () => {
    const info = await lab.runIdempotent('xl info');
    expect(info).toMatch(/^xen_commandline\s*:.*\bdom0_mem=/m);
    const free = Number(/^free_memory\s*:\s*(\d+)/m.exec(info)![1]);
    const dom0Before = await dom0MiB(lab);
    buildIso(path.join(lab.share, 'win.iso'));
    // The same kind of guest as on the boot without dom0_mem (credit-no-dom0-mem.test.ts): bigger than Xen's free memory.
    const memory = oversizedGuestMiB(free);
    const r = await windowsHvm(lab, { name: 'big2', iso: '/mnt/lab/win.iso', memory });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--memory ${memory}M: the guest needs`);
    expect(r.stderr).toContain('sets dom0_mem=, so xl leaves dom0 alone');
    expect((await lab.ssh('test -e /etc/xen/big2.cfg')).code).not.toBe(0);

    // The guest as windows-hvm would write it, that big: the real xl cannot find the memory.
    const cfg = [
      'name = "big2"',
      'type = "hvm"',
      `memory = ${memory}`,
      'vcpus = 1',
      `disk = [ 'file:/var/lib/xen/big2.img,hda,w', 'file:/mnt/lab/win.iso,hdc:cdrom,r' ]`,
      'boot = "dc"',
      'vnc = 0',
      'tsc_mode = "native"',
      '',
    ].join('\n');
    await lab.ssh('truncate -s 1G /var/lib/xen/big2.img; cat > /tmp/big2.cfg', cfg);
    const created = await lab.ssh('xl create /tmp/big2.cfg');
    expect(created.code).not.toBe(0);
    expect((await lab.ssh('xl list big2')).code).not.toBe(0);
    expect(await dom0MiB(lab)).toBe(dom0Before);
  }, 1_800_000);

  test('through Ansible (xen_runbooks.xen.windows_hvm): check mode writes nothing; the oversized guest fails as bad input', async () => {
    buildIso(path.join(lab.share, 'win.iso'));
    const task = { name: 'ans1', iso: '/mnt/lab/win.iso', disk: '/var/lib/xen/ans1.img', disk_size: 1, vcpus: 1 };
    const planned = await labTask(lab, 'windows_hvm', { ...task, memory: 512 }, ['--check', '--diff']);
    expect(planned.code, planned.stdout + planned.stderr).toBe(0);
    expect(planned.results.xenlab.changed).toBe(true);
    // The config it would write, as the default callback prints a "prepared" diff.
    expect(planned.stdout).toMatch(/^\+type = "hvm"$/m);
    expect((await lab.ssh('test -e /etc/xen/ans1.cfg || test -e /var/lib/xen/ans1.img')).code).not.toBe(0);

    const free = Number(/^free_memory\s*:\s*(\d+)/m.exec(await lab.runIdempotent('xl info'))![1]);
    const memory = oversizedGuestMiB(free);
    const refused = await labTask(lab, 'windows_hvm', { ...task, memory });
    expect(refused.code).not.toBe(0);
    // The tree callback keeps the result without its failed flag: the recap says it failed.
    expect(refused.recap.xenlab).toMatchObject({ failed: 1, changed: 0 });
    expect(refused.results.xenlab.rc).toBe(2);
    expect(refused.results.xenlab.msg).toContain(`bad input: --memory ${memory}M: the guest needs`);
    expect((await lab.ssh('test -e /etc/xen/ans1.cfg')).code).not.toBe(0);
  }, 900_000);
});
