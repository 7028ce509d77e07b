/** The image pygrub-fix works on: what it is, a lock against a second run, and who else uses it. */
import { refuse, usage, type CommandFn } from '../../engine/index.js';
import {
  blockDeviceBusy,
  diskHost,
  isRemote,
  remoteImageUsers,
  statFollow,
  type DiskHost,
  domainsUsing,
  ImageBusyError,
  lockImage,
  loopDevicesOf,
  processesHolding,
  withoutLockers,
  type ImageLock,
} from '../../disk/index.js';

export type ImageKind = 'image file' | 'block device';

/** A regular file or a block device; anything else is bad input (exit 2). `given` is the name the user typed. */
export async function imageKind(image: string, given: string, host?: DiskHost): Promise<ImageKind> {
  const st = await statFollow(diskHost(host), image);
  const where = isRemote(host) ? ` on ${host?.label}` : '';
  if (!st) throw usage(`${given}: no such file or device${where}`);
  if (st.type !== 'file' && st.type !== 'block')
    throw usage(`${given} is neither a regular file nor a block device${where}`);
  return st.type === 'block' ? 'block device' : 'image file';
}

/** The run's lock on the image (shared under --dry-run); another run holding it past 5 s is a refusal. */
export async function lockOrRefuse(image: string, exclusive: boolean, host?: DiskHost): Promise<ImageLock> {
  try {
    return await lockImage(image, { exclusive, waitSeconds: 5, ...(host ? { host } : {}) });
  } catch (e) {
    if (e instanceof ImageBusyError)
      throw refuse(e.message, 'another pygrub-fix run is working on this image: let it finish, then run again');
    throw e;
  }
}

/**
 * Everything that uses the image, one sentence each: running domains (xl/xm list -l), loop
 * devices, processes with it open (not this run's LOCK, nor the runs that coordinate through the
 * lock), and for a block device the kernel's exclusive hold. `notes` say what could not be asked.
 */
export async function imageUsers(
  $: CommandFn,
  image: string,
  kind: ImageKind,
  lock: ImageLock,
  host?: DiskHost,
): Promise<{ users: string[]; notes: string[] }> {
  if (host && isRemote(host)) {
    const id = await statFollow(host, image);
    if (!id) throw usage(`${image}: no such file or device on ${host.label}`);
    return remoteImageUsers(host, image, id);
  }
  const users: string[] = [];
  // The toolstacks and the loop devices are asked first, and /proc is read while they answer: the
  // run waits for the slowest of them, not for the sum.
  const domains = domainsUsing($, image);
  const loops = loopDevicesOf($, image);
  const holding = processesHolding(image);
  const [{ uses, notes }, loopList, holders] = await Promise.all([domains, loops, holding]);
  for (const u of uses) users.push(`domain ${u.domain} has it as a disk (${u.tool} list -l: ${u.target})`);
  for (const loop of loopList) users.push(`it is attached to ${loop} (its backing file, by device and inode)`);
  const others = holders.filter((p) => !lock.pids.includes(p.pid));
  for (const p of await withoutLockers(image, others)) users.push(`process ${p.pid} (${p.command}) has it open`);
  if (kind === 'block device' && (await blockDeviceBusy(image)))
    users.push('the kernel holds the device (an exclusive open fails: mounted or in use)');
  return { users, notes };
}

/** --domain-config checked against IMAGE (kept beside the image's other checks for the playbook's imports). */
export { checkDomainConfig } from './domain-config.js';
