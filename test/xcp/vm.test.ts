// The first VM: its plan, memory and vCPUs, VIF, other-config and power, against the xe simulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError, StepError } from '../../src/engine/errors.js';
import type { State, XcpOptions } from '../../src/playbooks/xcp-install/state.js';
import * as vm from '../../src/playbooks/xcp-install/vm.js';
import { GiB, MiB, addVm, readXe, seedXe, writeXe } from '../sim/xe.mjs';
import { simDir, simShell } from './shell.js';

const opts = (o: Partial<XcpOptions> = {}): XcpOptions => ({
  'sr-type': 'lvm',
  'sr-name': 'Local storage',
  force: false,
  'pool-user': 'root',
  template: 'CentOS 7',
  'network-bridge': 'xenbr0',
  'vm-name': 'web01',
  ...o,
});
const state = (s: Partial<State> = {}): State => ({ xapi: true, packagesPending: false, ...s });

const resources = (r: Partial<vm.VmResources> = {}): vm.VmResources => ({
  power: 'halted',
  staticMin: 256 * MiB,
  staticMax: GiB,
  dynamicMin: GiB,
  dynamicMax: GiB,
  vcpusMax: 1,
  vcpusAtStartup: 1,
  ...r,
});

describe('memory and vCPUs, decided', () => {
  it('describes what was asked for', () => {
    expect(vm.describeResources(2 * GiB, 2)).toBe('memory 2048 MiB and 2 vCPUs');
    expect(vm.describeResources(undefined, 4)).toBe('4 vCPUs');
  });

  it('wants a fixed memory (static max = dynamic min = dynamic max) and max = at-startup vCPUs', () => {
    expect(vm.resourcesChange(resources(), GiB, 1)).toMatchObject({ memOk: true, cpuOk: true });
    expect(vm.resourcesChange(resources({ dynamicMin: 512 * MiB }), GiB, undefined).memOk).toBe(false);
    expect(vm.resourcesChange(resources({ vcpusMax: 2 }), undefined, 1).cpuOk).toBe(false);
    // The static minimum comes down to the memory asked for when above it.
    expect(vm.resourcesChange(resources({ staticMin: GiB }), 512 * MiB, undefined)).toMatchObject({
      memOk: false,
      staticMin: 512 * MiB,
    });
    expect(vm.resourcesChange(resources(), undefined, undefined)).toMatchObject({ memOk: true, cpuOk: true });
  });
});

describe('other-config and console', () => {
  it('asks for the installer repository, and on XCP 1.x for the text console', () => {
    expect(vm.wantedOtherConfig('http://mirror/os', false)).toEqual({ 'install-repository': 'http://mirror/os' });
    expect(vm.wantedOtherConfig(undefined, true)).toEqual({ disable_pv_vnc: '1' });
    expect(vm.otherConfigText({ a: '1', b: 'x y' })).toBe('other-config:a=1 other-config:b=x y');
  });

  it('names xenconsole of the booted Xen on XCP 1.x, xe console on XCP-ng', () => {
    expect(vm.consoleCommand({ legacy: true, xenVersion: '4.1', domid: '3', uuid: 'u' })).toBe(
      '/usr/lib/xen-4.1/bin/xenconsole 3',
    );
    expect(vm.consoleCommand({ legacy: true, domid: '3', uuid: 'u' })).toBe('/usr/lib/xen-4.1/bin/xenconsole 3');
    expect(vm.consoleCommand({ legacy: false, domid: '3', uuid: 'u' })).toBe('xe console uuid=u');
  });
});

describe('against the simulator', () => {
  let sim: ReturnType<typeof simDir>;
  beforeEach(() => {
    sim = simDir();
  });
  afterEach(() => sim.cleanup());

  it('plans the installation on the pool default SR, or finds the VM by name', async () => {
    const seeded = seedXe(sim.dir);
    const { $ } = simShell(sim.dir);
    const plan = await vm.plan({ $, opts: opts(), state: state() });
    expect(plan.existing).toBeUndefined();
    expect(plan.sr).toBe(seeded.sr);
    expect(plan.network).toMatch(/^[0-9a-f-]{36}$/);
    expect(vm.summary(plan, opts())).toBe('VM to install from "CentOS 7"');
    const uuid = addVm(seeded.state, { name: 'web01' });
    writeXe(sim.dir, seeded.state);
    const found = await vm.plan({ $, opts: opts(), state: state() });
    expect(found.existing).toBe(uuid);
    expect(vm.summary(found, opts())).toBe('VM "web01" is there');
  });

  it('refuses two VMs of that name; fails on a missing bridge, template or SR', async () => {
    const seeded = seedXe(sim.dir, { localStorage: false });
    const { $ } = simShell(sim.dir);
    await expect(vm.plan({ $, opts: opts({ 'network-bridge': 'xenbr9' }), state: state() })).rejects.toThrow(
      /no network on bridge xenbr9/,
    );
    await expect(vm.plan({ $, opts: opts({ template: 'CentOS 9' }), state: state() })).rejects.toThrow(
      /no template named "CentOS 9"/,
    );
    const noSr = await vm.plan({ $, opts: opts(), state: state() }).catch((x: unknown) => x);
    expect(noSr).toBeInstanceOf(StepError);
    expect(String(noSr)).toMatch(/there is no SR to install the VM on/);
    // Storage asked for, or a pool join to come: the SR is not there yet, and that is fine.
    expect((await vm.plan({ $, opts: opts({ 'sr-device': '/dev/sdb' }), state: state() })).sr).toBeUndefined();
    expect((await vm.plan({ $, opts: opts(), state: state() }, { joining: true })).sr).toBeUndefined();
    addVm(seeded.state, { name: 'web01' });
    addVm(seeded.state, { name: 'web01' });
    writeXe(sim.dir, seeded.state);
    const two = await vm.plan({ $, opts: opts(), state: state() }).catch((x: unknown) => x);
    expect(two).toBeInstanceOf(RefusedError);
    expect(String(two)).toMatch(/2 VMs are named "web01"/);
  });

  it('sets memory and vCPUs of a halted VM, raising VCPUs-max before VCPUs-at-startup', async () => {
    const seeded = seedXe(sim.dir, { vms: [{ name: 'web01', memory: GiB, vcpusMax: 1 }] });
    const uuid = seeded.vms.web01?.uuid ?? '';
    const { $, calls } = simShell(sim.dir);
    const before = await vm.readResources($, uuid);
    expect(before).toMatchObject({ power: 'halted', staticMax: GiB, vcpusMax: 1, vcpusAtStartup: 1 });
    const todo = vm.resourcesChange(before, 2 * GiB, 4);
    calls.length = 0;
    await vm.setResources($, uuid, todo, 2 * GiB, 4);
    expect(calls.map((c) => (c[1] === 'vm-param-set' ? c[3] : c[1]))).toEqual([
      'vm-memory-limits-set',
      'VCPUs-max=4',
      'VCPUs-at-startup=4',
    ]);
    const after = await vm.readResources($, uuid);
    expect(vm.resourcesChange(after, 2 * GiB, 4)).toMatchObject({ memOk: true, cpuOk: true });
    // Fewer vCPUs: at-startup comes down first.
    calls.length = 0;
    await vm.setResources($, uuid, vm.resourcesChange(after, undefined, 2), undefined, 2);
    expect(calls.map((c) => c[3])).toEqual(['VCPUs-at-startup=2', 'VCPUs-max=2']);
    expect(readXe(sim.dir).objects.vm?.[uuid]?.['VCPUs-max']).toBe('2');
  });

  it('creates the VIF on the network once, and sets only the other-config keys that differ', async () => {
    const seeded = seedXe(sim.dir, { vms: [{ name: 'web01', otherConfig: { 'install-repository': 'http://m/os' } }] });
    const uuid = seeded.vms.web01?.uuid ?? '';
    const { $ } = simShell(sim.dir);
    const { network } = await vm.plan({ $, opts: opts(), state: state() });
    expect(await vm.vifOnNetwork($, uuid, network)).toBeUndefined();
    const free = await vm.freeVifDevice($, uuid);
    expect(free).toEqual({ device: '0', running: false });
    const vif = await vm.createVif({ $, state: state({ vm: uuid, network }) }, free);
    expect(vif).toMatch(/^[0-9a-f-]{36}$/);
    expect(await vm.vifOnNetwork($, uuid, network)).toBe('0');
    const wanted = vm.wantedOtherConfig('http://m/os', true);
    expect(await vm.otherConfigTodo($, uuid, wanted)).toEqual({ disable_pv_vnc: '1' });
  });

  it('reads the power state, and the domain id of a running VM', async () => {
    const seeded = seedXe(sim.dir, { vms: [{ name: 'web01', powerState: 'running' }] });
    const uuid = seeded.vms.web01?.uuid ?? '';
    const { $ } = simShell(sim.dir);
    expect(await vm.powerState($, uuid)).toBe('running');
    expect(Number(await vm.domainId($, uuid))).toBeGreaterThan(0);
    const installed = await vm.install($, 'CentOS 7', 'db01', seeded.sr);
    expect(await vm.powerState($, installed)).toBe('halted');
  });
});
