/**
 * The storage repository: one already there to reuse (whatever its name), or the one to create,
 * with the refusals that keep a device's data safe, and its creation with xe sr-create.
 */
import { fail, refuse } from '../../engine/errors.js';
import { XeError, xe, xeArgs, xeGet, xeList, xeRecords } from '../../xen/xe.js';
import { probeDevice } from './device.js';
import type { XcpContext, XcpOptions } from './state.js';
import { need } from './step-data.js';

export interface StoragePlan {
  /** The SR already there (on this device, or on this NFS export): reused. */
  existing?: string;
  existingName?: string | undefined;
  existingType?: string | undefined;
  /** The SR type to create (or the existing one's). */
  type: string;
  /** Why the type differs from --sr-type, for the message. */
  note: string;
  /** What --force lets the SR overwrite. */
  contents: string[];
}

/** What the preflight says of the plan. */
export const summary = (s: StoragePlan): string =>
  s.existing ? `SR "${s.existingName}" is there` : `${s.type} SR to create${s.note}`;

/** Where the SR is: the NFS export or the device. */
export function location(o: XcpOptions): string {
  return o['sr-type'] === 'nfs' ? `${o['nfs-server']}:${o['nfs-path']}` : (o['sr-device'] ?? '');
}

/** An NFS SR already on this export, or what creating one needs. */
async function nfsPlan(ctx: XcpContext): Promise<StoragePlan> {
  const selectors = {
    'device-config:server': need(ctx.opts['nfs-server'], 'nfs-server'),
    'device-config:serverpath': need(ctx.opts['nfs-path'], 'nfs-path'),
  };
  if (ctx.state.xapi) {
    const [sr] = await xeList(ctx.$, 'pbd', selectors, 'sr-uuid');
    if (sr) {
      const existingName = await xeGet(ctx.$, 'sr', sr, 'name-label');
      return { existing: sr, existingName, existingType: 'nfs', type: 'nfs', note: '', contents: [] };
    }
    if ((await xeList(ctx.$, 'sm', { type: 'nfs' })).length === 0)
      throw fail('this xapi has no nfs storage driver (xe sm-list)');
  }
  return { type: 'nfs', note: '', contents: [] };
}

/** An SR of this host already on this device, by any path to it (a /dev/disk/by-id link or its target). */
async function srOnDevice(ctx: XcpContext, device: string): Promise<StoragePlan | undefined> {
  const pbds = await xeRecords(ctx.$, 'pbd', { 'host-uuid': need(ctx.state.host, 'host') }, [
    'uuid',
    'sr-uuid',
    'device-config',
  ]);
  const withDevice = pbds.filter((p) => p.map('device-config').device);
  if (!withDevice.length) return undefined;
  const paths = [device, ...withDevice.map((p) => p.map('device-config').device ?? '')];
  const real = (await ctx.$({ nothrow: true })`readlink -f -- ${paths}`).stdout.split('\n');
  const pbd = withDevice.find(
    (p, i) => p.map('device-config').device === device || (real[0] && real[i + 1] === real[0]),
  );
  const sr = pbd?.get('sr-uuid');
  if (!sr) return undefined;
  const [rec] = await xeRecords(ctx.$, 'sr', { uuid: sr }, ['uuid', 'name-label', 'type']);
  return {
    existing: sr,
    existingName: rec?.get('name-label') ?? sr,
    existingType: rec?.get('type'),
    type: rec?.get('type') ?? '',
    note: '',
    contents: [],
  };
}

/**
 * The storage: an SR already there, or the one to create. Refuses a path that is not a block
 * device, a device that is mounted or in use, and one holding data unless --force; falls back from
 * lvm to ext when xapi has no lvm driver and --sr-type was not given.
 */
export async function plan(ctx: XcpContext): Promise<StoragePlan> {
  const o = ctx.opts;
  if (o['sr-type'] === 'nfs') return nfsPlan(ctx);
  const device = need(o['sr-device'], 'sr-device');
  if (ctx.state.xapi) {
    const existing = await srOnDevice(ctx, device);
    if (existing) return existing;
  }
  const dev = await probeDevice(ctx.$, device);
  if (!dev.block)
    throw refuse(
      `${device} is not a block device on this host`,
      'list the disks with lsblk; prefer /dev/disk/by-id/… paths',
    );
  if (dev.mounted.length)
    throw refuse(
      `${device} is in use: mounted (${dev.mounted.join('; ')})`,
      'an SR takes the whole device: pick an unused one',
    );
  if (dev.inUse.length)
    throw refuse(`${device} is in use: ${dev.inUse.join('; ')}`, 'an SR takes the whole device: pick an unused one');
  if (dev.contents.length && !o.force) {
    throw refuse(
      `${device} holds ${dev.contents.join(', ')}: creating the SR destroys it`,
      `look with: blkid -p ${device}; lsblk ${device}. If it may go, run again with --force`,
    );
  }
  let type: string = o['sr-type'];
  let note = '';
  if (type === 'lvm' && ctx.state.xapi && (await xeList(ctx.$, 'sm', { type: 'lvm' })).length === 0) {
    if (ctx.given.has('sr-type')) {
      throw fail(
        'this xapi has no lvm storage driver (xe sr-create would answer SR_UNKNOWN_DRIVER, driver: lvm)',
        'XCP 1.5 on Ubuntu ships no LVM driver: run again with --sr-type ext',
      );
    }
    type = 'ext';
    note = ' (lvm: no such storage driver here, as on XCP 1.5 for Ubuntu; ext instead)';
  }
  return { type, note, contents: dev.contents };
}

/** xe sr-create of this type (nfs: shared, on the export; else local, on the device); its uuid. */
async function srCreate(ctx: XcpContext, type: string): Promise<string> {
  const o = ctx.opts;
  const nfs = type === 'nfs';
  const args = xeArgs('sr-create', {
    'host-uuid': need(ctx.state.host, 'host'),
    'name-label': o['sr-name'],
    shared: nfs,
    type,
    'content-type': 'user',
    'device-config': nfs
      ? { server: need(o['nfs-server'], 'nfs-server'), serverpath: need(o['nfs-path'], 'nfs-path') }
      : { device: need(o['sr-device'], 'sr-device') },
  });
  return (await xe(ctx.$, args)).trim();
}

/**
 * Create the SR. When xapi answers SR_UNKNOWN_DRIVER for lvm (XCP 1.5 on Ubuntu) and the type was
 * not asked for, ext instead.
 */
export async function create(ctx: XcpContext, type: string): Promise<{ uuid: string; type: string }> {
  try {
    return { uuid: await srCreate(ctx, type), type };
  } catch (e) {
    if (!(e instanceof XeError && e.code === 'SR_UNKNOWN_DRIVER' && type === 'lvm' && !ctx.given.has('sr-type')))
      throw e;
    ctx.log.warn('xapi does not know the lvm driver (SR_UNKNOWN_DRIVER): creating an ext SR instead');
    return { uuid: await srCreate(ctx, 'ext'), type: 'ext' };
  }
}
