// Options of xcp-install that go together, and values xe could not carry.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import type { XcpOptions } from '../../src/playbooks/xcp-install/state.js';
import { checkOptions } from '../../src/playbooks/xcp-install/validate.js';

const base: XcpOptions = {
  'sr-type': 'lvm',
  'sr-name': 'Local storage',
  force: false,
  'pool-user': 'root',
  template: 'CentOS 5 (64-bit)',
  'network-bridge': 'xenbr0',
};
const check =
  (o: Partial<XcpOptions>, given: string[] = []) =>
  () =>
    checkOptions({ ...base, ...o }, new Set([...given, ...Object.keys(o)]));

describe('checkOptions', () => {
  it('accepts nothing asked, a device, an NFS export, a VM with its settings', () => {
    expect(check({})).not.toThrow();
    expect(check({ 'sr-device': '/dev/sdb', force: true })).not.toThrow();
    expect(check({ 'sr-type': 'nfs', 'nfs-server': 'nas', 'nfs-path': '/export/vms' })).not.toThrow();
    expect(check({ 'vm-name': 'web01', template: 'CentOS 7', memory: 2 ** 31, vcpus: 2 })).not.toThrow();
    expect(check({ 'join-pool': '192.0.2.10', 'pool-user': 'admin', 'pool-password-file': '-' })).not.toThrow();
  });

  it.each([
    [{ 'sr-type': 'nfs', 'nfs-server': 'nas' }, /--sr-type nfs needs --nfs-server and --nfs-path/],
    [{ 'sr-type': 'nfs', 'nfs-server': 'nas', 'nfs-path': '/x', 'sr-device': '/dev/sdb' }, /exclude each other/],
    [{ 'sr-type': 'nfs', 'nfs-server': 'nas', 'nfs-path': 'export' }, /--nfs-path: 'export' is not an absolute path/],
    [{ 'nfs-server': 'nas' }, /--nfs-server and --nfs-path go with --sr-type nfs/],
    [{ 'sr-type': 'ext' }, /--sr-type ext needs --sr-device/],
    [{ 'sr-device': 'sdb' }, /--sr-device: 'sdb' is not a device path under \/dev/],
    [{ force: true }, /--force goes with --sr-device/],
    [{ template: 'CentOS 7' }, /--template goes with --vm-name/],
    [{ vcpus: 2 }, /--vcpus goes with --vm-name/],
    [{ 'vm-name': '  ' }, /--vm-name: the name is empty/],
    [{ 'sr-name': '' }, /--sr-name: the name is empty/],
    [{ 'vm-name': 'a\nb' }, /--vm-name: a value with a line break/],
    [{ 'pool-password-file': 'pw' }, /--pool-password-file goes with --join-pool/],
    [{ 'pool-user': 'admin' }, /--pool-user goes with --join-pool/],
  ] as [Partial<XcpOptions>, RegExp][])('refuses %j', (o, message) => {
    expect(check(o)).toThrow(UsageError);
    expect(check(o)).toThrow(message);
  });

  it('lets --sr-type lvm, the default, go without --sr-device when it was not given', () => {
    expect(() => checkOptions({ ...base }, new Set())).not.toThrow();
    expect(() => checkOptions({ ...base }, new Set(['sr-type']))).toThrow(/--sr-type lvm needs --sr-device/);
  });
});
