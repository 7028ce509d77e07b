// The storage repository: reused when there, refused when a device is unsafe, created with the lvm→ext fallback.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError, StepError } from '../../src/engine/errors.js';
import type { State, XcpOptions } from '../../src/playbooks/xcp-install/state.js';
import * as storage from '../../src/playbooks/xcp-install/storage.js';
import { facts } from '../../src/playbooks/xcp-install/xapi.js';
import { addSr, readXe, seedXe, writeXe } from '../sim/xe.mjs';
import { memoryLog, simDir, simShell, type Answer } from './shell.js';

const DEV = '/dev/disk/by-id/ata-DISK';
const opts = (o: Partial<XcpOptions> = {}): XcpOptions => ({
  'sr-type': 'lvm',
  'sr-name': 'Local storage',
  force: false,
  'pool-user': 'root',
  template: 'CentOS 7',
  'network-bridge': 'xenbr0',
  'sr-device': DEV,
  ...o,
});

/** The answers of a host where DEV is /dev/sdb: its lsblk lines and blkid output. */
function device(lsblk = 'sdb disk \n', blkid = '', block = true): Record<string, Answer> {
  return {
    [`test -b ${DEV}`]: { code: block ? 0 : 1 },
    [`lsblk -nr -o NAME,TYPE,MOUNTPOINT ${DEV}`]: { stdout: lsblk },
    'cat /proc/swaps': { stdout: 'Filename Type Size Used Priority\n' },
    [`readlink -f -- ${DEV}`]: { stdout: '/dev/sdb\n' },
    [`blkid -p -o export ${DEV}`]: { stdout: blkid, code: blkid ? 0 : 2 },
  };
}

let sim: ReturnType<typeof simDir>;
beforeEach(() => {
  sim = simDir();
});
afterEach(() => sim.cleanup());

async function context(o: Partial<XcpOptions> = {}, answers: Record<string, Answer> = device(), given: string[] = []) {
  const { $, calls } = simShell(sim.dir, answers);
  const state: State = { xapi: readXe(sim.dir).xapi, packagesPending: false };
  if (state.xapi) await facts({ $, state });
  const log = memoryLog();
  return { $, calls, state, log, opts: opts(o), given: new Set(given), host: undefined as never };
}

describe('where and what', () => {
  it('says where the SR is and what the preflight found', () => {
    expect(storage.location(opts())).toBe(DEV);
    expect(storage.location(opts({ 'sr-type': 'nfs', 'nfs-server': 'nas', 'nfs-path': '/vms' }))).toBe('nas:/vms');
    expect(storage.summary({ type: 'ext', note: ' (why)', contents: [] })).toBe('ext SR to create (why)');
    expect(storage.summary({ existing: 'u', existingName: 'Local', type: 'lvm', note: '', contents: [] })).toBe(
      'SR "Local" is there',
    );
  });
});

describe('plan', () => {
  it('refuses what is no block device, a mounted or held device, and data without --force', async () => {
    seedXe(sim.dir, { localStorage: false });
    await expect(storage.plan(await context({}, device('', '', false)))).rejects.toThrow(/is not a block device/);
    const mounted = await storage.plan(await context({}, device('sdb disk \nsdb1 part /boot\n'))).catch((x) => x);
    expect(mounted).toBeInstanceOf(RefusedError);
    expect(String(mounted)).toMatch(/is in use: mounted \(sdb1 on \/boot\)/);
    await expect(storage.plan(await context({}, device('sdb disk \nvg-lv lvm \n')))).rejects.toThrow(
      /is in use: lvm vg-lv on top of it/,
    );
    await expect(storage.plan(await context({}, device('sdb disk \n', 'TYPE=ext4\n')))).rejects.toThrow(
      /holds a filesystem \(ext4\): creating the SR destroys it/,
    );
    const forced = await storage.plan(await context({ force: true }, device('sdb disk \n', 'TYPE=ext4\n')));
    expect(forced).toEqual({ type: 'lvm', note: '', contents: ['a filesystem (ext4)'] });
  });

  it('reuses the SR already on the device, by any path to it', async () => {
    const seeded = seedXe(sim.dir, { localStorage: false });
    const sr = addSr(seeded.state, { name: 'Old', type: 'lvm', device: '/dev/sdb' });
    writeXe(sim.dir, seeded.state);
    const answers = { ...device(), [`readlink -f -- ${DEV} /dev/sdb`]: { stdout: '/dev/sdb\n/dev/sdb\n' } };
    const plan = await storage.plan(await context({}, answers));
    expect(plan).toMatchObject({ existing: sr, existingName: 'Old', existingType: 'lvm', type: 'lvm' });
  });

  it('falls back to ext where xapi has no lvm driver (XCP 1.5), unless --sr-type lvm was given', async () => {
    seedXe(sim.dir, { flavour: 'legacy' });
    const plan = await storage.plan(await context());
    expect(plan.type).toBe('ext');
    expect(plan.note).toMatch(/no such storage driver here/);
    const e = await storage.plan(await context({}, device(), ['sr-type'])).catch((x) => x);
    expect(e).toBeInstanceOf(StepError);
    expect(String(e)).toMatch(/this xapi has no lvm storage driver/);
  });

  it('finds an NFS SR by its export, and fails where xapi has no nfs driver', async () => {
    const nfs = opts({ 'sr-type': 'nfs', 'sr-device': undefined, 'nfs-server': 'nas', 'nfs-path': '/vms' });
    const seeded = seedXe(sim.dir);
    expect(await storage.plan(await context(nfs))).toEqual({ type: 'nfs', note: '', contents: [] });
    const sr = addSr(seeded.state, { name: 'NAS', type: 'nfs', server: 'nas', serverPath: '/vms' });
    writeXe(sim.dir, seeded.state);
    expect(await storage.plan(await context(nfs))).toMatchObject({ existing: sr, existingName: 'NAS' });
    seedXe(sim.dir, { drivers: ['ext', 'lvm'] });
    await expect(storage.plan(await context(nfs))).rejects.toThrow(/no nfs storage driver/);
  });
});

describe('create', () => {
  it('creates an ext SR when xapi answers SR_UNKNOWN_DRIVER for an lvm one nobody asked for', async () => {
    seedXe(sim.dir, { flavour: 'legacy' });
    const ctx = await context();
    const made = await storage.create(ctx, 'lvm');
    expect(made.type).toBe('ext');
    expect(ctx.log.lines).toEqual([
      'warn: xapi does not know the lvm driver (SR_UNKNOWN_DRIVER): creating an ext SR instead',
    ]);
    const creates = ctx.calls.filter((c) => c[1] === 'sr-create').map((c) => c.find((a) => a.startsWith('type=')));
    expect(creates).toEqual(['type=lvm', 'type=ext']);
    expect(readXe(sim.dir).objects.sr?.[made.uuid]?.type).toBe('ext');
    const asked = await context({}, device(), ['sr-type']);
    await expect(storage.create(asked, 'lvm')).rejects.toThrow(/SR_UNKNOWN_DRIVER|lvm/);
  });

  it('creates a shared NFS SR on the export', async () => {
    seedXe(sim.dir);
    const ctx = await context({ 'sr-type': 'nfs', 'sr-device': undefined, 'nfs-server': 'nas', 'nfs-path': '/vms' });
    const made = await storage.create(ctx, 'nfs');
    const sr = readXe(sim.dir).objects.sr?.[made.uuid];
    expect(sr).toMatchObject({ type: 'nfs', shared: 'true', 'name-label': 'Local storage' });
  });
});
