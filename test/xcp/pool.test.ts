// Joining a pool: what xapi would refuse, checked before anything changes, and the join itself.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/engine/errors.js';
import { joinPlan, isToolsSr, join } from '../../src/playbooks/xcp-install/pool.js';
import type { State, XcpOptions } from '../../src/playbooks/xcp-install/state.js';
import { facts } from '../../src/playbooks/xcp-install/xapi.js';
import { xeRecords } from '../../src/xen/xe.js';
import { addSr, addVm, readCalls, seedXe, writeXe } from '../sim/xe.mjs';
import { simDir, simShell } from './shell.js';

const MASTER = '192.0.2.10';
const opts = (o: Partial<XcpOptions> = {}): XcpOptions => ({
  'sr-type': 'lvm',
  'sr-name': 'Local storage',
  force: false,
  'pool-user': 'root',
  template: 'CentOS 7',
  'network-bridge': 'xenbr0',
  'join-pool': MASTER,
  ...o,
});

let sim: ReturnType<typeof simDir>;
beforeEach(() => {
  sim = simDir();
});
afterEach(() => sim.cleanup());

/** The context joinPlan sees, with this host and its pool read as the preflight reads them. */
async function context(o: Partial<XcpOptions> = {}) {
  // After a join the pool has two hosts: this one is told by its name (seedXe's default host name).
  const { $, calls } = simShell(sim.dir, { 'uname -n': { stdout: 'xcp-ng-01\n' } });
  const state: State = { xapi: true, packagesPending: false };
  await facts({ $, state });
  return { $, calls, state, opts: opts(o) };
}

describe('the Tools SR', () => {
  it.each(['xcp-ng', 'legacy'] as const)('is known on %s (is-tools-sr, or other-config in 2012)', async (flavour) => {
    seedXe(sim.dir, { flavour });
    const { $ } = simShell(sim.dir);
    const srs = await xeRecords($, 'sr', { shared: 'true' });
    expect(srs.length).toBeGreaterThan(0);
    expect(srs.every(isToolsSr)).toBe(true);
  });
});

describe('joinPlan', () => {
  it('plans the join of a lone host with no running VM and no shared storage', async () => {
    seedXe(sim.dir, { masters: { [MASTER]: { password: 'pw' } } });
    const ctx = await context();
    expect(await joinPlan(ctx)).toEqual({ member: false, message: `to join the pool whose master is ${MASTER}` });
  });

  it('refuses joining its own pool, and a host with a running VM or shared storage', async () => {
    const seeded = seedXe(sim.dir, { address: '192.0.2.2' });
    await expect(joinPlan(await context({ 'join-pool': '192.0.2.2' }))).rejects.toThrow(
      /192\.0\.2\.2 is this host: a host cannot join its own pool/,
    );
    addVm(seeded.state, { name: 'busy', powerState: 'running' });
    writeXe(sim.dir, seeded.state);
    const running = await joinPlan(await context()).catch((x: unknown) => x);
    expect(running).toBeInstanceOf(RefusedError);
    expect(String(running)).toMatch(/1 VM is running on this host \(busy\)/);
    const fresh = seedXe(sim.dir);
    addSr(fresh.state, { name: 'nas', type: 'nfs', server: 'nas', serverPath: '/vms' });
    writeXe(sim.dir, fresh.state);
    await expect(joinPlan(await context())).rejects.toThrow(/this host has shared storage \(nas\)/);
  });

  it('joins with the password on standard input, waits for the new master, then is a member', async () => {
    seedXe(sim.dir, { masters: { [MASTER]: { password: 'pw', poolName: 'prod' } } });
    const ctx = await context();
    const pool = await join(ctx, MASTER, 'root', 'pw');
    expect(pool.name).toBe('prod');
    expect(pool.master).not.toBe(ctx.state.host);
    // The password reached xe as its own argument, never on the command line the playbook ran.
    const joinCall = readCalls(sim.dir).find((c) => c.argv[0] === 'pool-join');
    expect(joinCall?.argv).toContain('master-password=pw');
    expect(ctx.calls.find((c) => c[0] === 'sh')?.join(' ')).not.toContain('pw ');
    await facts(ctx, true);
    expect(await joinPlan(ctx)).toMatchObject({
      member: true,
      message: expect.stringMatching(/member of pool "prod"/),
    });
  });

  it('reports a wrong password as xapi does, and changes nothing', async () => {
    seedXe(sim.dir, { masters: { [MASTER]: { password: 'pw' } } });
    const ctx = await context();
    await expect(join(ctx, MASTER, 'root', 'wrong')).rejects.toThrow(/pool-join failed/);
    await facts(ctx, true);
    expect((await joinPlan(ctx)).member).toBe(false);
  });
});
