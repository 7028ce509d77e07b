// This host and its pool as xapi sees them, through the xe simulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepError } from '../../src/engine/errors.js';
import type { State } from '../../src/playbooks/xcp-install/state.js';
import { facts, otherConfig, probe, srLabel, thePool, thisHost } from '../../src/playbooks/xcp-install/xapi.js';
import { addVm, readXe, seedXe, writeXe } from '../sim/xe.mjs';
import { simDir, simShell } from './shell.js';

let sim: ReturnType<typeof simDir>;
beforeEach(() => {
  sim = simDir();
});
afterEach(() => sim.cleanup());

describe('xapi', () => {
  it('answers with the hosts, or not with the reason xe gave', async () => {
    const seeded = seedXe(sim.dir);
    const { $ } = simShell(sim.dir);
    expect(await probe($)).toEqual({ up: true, hosts: [seeded.host] });
    seedXe(sim.dir, { xapi: false });
    const down = await probe($);
    expect(down).toMatchObject({ up: false, hosts: [], installed: true });
    expect(down.error).toBeInstanceOf(StepError);
    expect(down.error?.message).toMatch(/Connection refused/);
  });

  it('reads this host and its pool into the state, once unless asked again', async () => {
    const seeded = seedXe(sim.dir, { hostName: 'xcp1' });
    const { $, calls } = simShell(sim.dir);
    const state: State = { xapi: true, packagesPending: false };
    await facts({ $, state });
    expect(state).toMatchObject({ host: seeded.host, hostName: 'xcp1' });
    expect(state.pool).toEqual({ uuid: seeded.pool, name: '', master: seeded.host, defaultSr: seeded.sr });
    const n = calls.length;
    await facts({ $, state });
    expect(calls).toHaveLength(n);
    await facts({ $, state }, true);
    expect(calls.length).toBeGreaterThan(n);
  });

  it('tells this host among several by its name, and fails when none has it', async () => {
    const seeded = seedXe(sim.dir, { hostName: 'xcp1', masters: { '192.0.2.10': { password: 'pw' } } });
    const { $: join } = simShell(sim.dir);
    await join`sh -c ${'xe pool-join master-address=192.0.2.10 master-username=root master-password=pw'}`;
    expect(Object.keys(readXe(sim.dir).objects.host ?? {})).toHaveLength(2);
    const { $ } = simShell(sim.dir, { 'uname -n': { stdout: 'xcp1.example.org\n' } });
    expect((await thisHost($)).get('uuid')).toBe(seeded.host);
    const { $: other } = simShell(sim.dir, { 'uname -n': { stdout: 'elsewhere\n' } });
    await expect(thisHost(other)).rejects.toThrow(/cannot tell which of the pool's 2 hosts is this one/);
  });

  it("reads a VM's other-config key, undefined when the map has no such key", async () => {
    const seeded = seedXe(sim.dir);
    const uuid = addVm(seeded.state, { name: 'web01', otherConfig: { 'install-repository': 'http://m/os' } });
    writeXe(sim.dir, seeded.state);
    const { $ } = simShell(sim.dir);
    expect(await otherConfig($, uuid, 'install-repository')).toBe('http://m/os');
    expect(await otherConfig($, uuid, 'disable_pv_vnc')).toBeUndefined();
    await expect(otherConfig($, 'no-such-uuid', 'x')).rejects.toThrow();
  });

  it("names the pool's default SR, or none", async () => {
    seedXe(sim.dir);
    const { $ } = simShell(sim.dir);
    const pool = await thePool($);
    expect(await srLabel($, pool.defaultSr)).toBe('"Local storage"');
    expect(await srLabel($, undefined)).toBe('none');
  });
});
