/** The options of xcp-install that go together, and the values xe could not carry. */
import { usage } from '../../engine/errors.js';
import { assertXeValue } from '../../xen/xe.js';
import type { XcpOptions } from './state.js';

/** Options that mean something only with --vm-name. */
const VM_OPTIONS = ['template', 'install-repository', 'memory', 'vcpus'] as const;

/** Options whose values go to xe: no line breaks (xapi splits its arguments at them). */
const XE_VALUES = [
  'vm-name',
  'sr-name',
  'template',
  'install-repository',
  'network-bridge',
  'nfs-server',
  'nfs-path',
  'join-pool',
  'pool-user',
  'sr-device',
] as const;

/** Throws a usage error for options that exclude or need each other, or values xe cannot carry. */
export function checkOptions(o: XcpOptions, given: ReadonlySet<string>): void {
  if (o['sr-type'] === 'nfs') {
    if (!o['nfs-server'] || !o['nfs-path']) throw usage('--sr-type nfs needs --nfs-server and --nfs-path');
    if (o['sr-device']) throw usage('--sr-device and --sr-type nfs exclude each other');
    if (!o['nfs-path'].startsWith('/')) throw usage(`--nfs-path: '${o['nfs-path']}' is not an absolute path`);
  } else {
    if (o['nfs-server'] || o['nfs-path']) throw usage('--nfs-server and --nfs-path go with --sr-type nfs');
    if (given.has('sr-type') && !o['sr-device']) throw usage(`--sr-type ${o['sr-type']} needs --sr-device`);
  }
  if (o['sr-device'] && !o['sr-device'].startsWith('/dev/')) {
    throw usage(`--sr-device: '${o['sr-device']}' is not a device path under /dev`);
  }
  if (o.force && !o['sr-device']) throw usage('--force goes with --sr-device');
  for (const k of VM_OPTIONS) if (given.has(k) && !o['vm-name']) throw usage(`--${k} goes with --vm-name`);
  if (o['vm-name'] !== undefined && o['vm-name'].trim() === '') throw usage('--vm-name: the name is empty');
  if (o['sr-name'].trim() === '') throw usage('--sr-name: the name is empty');
  for (const k of XE_VALUES) {
    const v = o[k];
    if (typeof v === 'string') assertXeValue(`--${k}`, v);
  }
  if (o['pool-password-file'] && !o['join-pool']) throw usage('--pool-password-file goes with --join-pool');
  if (given.has('pool-user') && !o['join-pool']) throw usage('--pool-user goes with --join-pool');
}
