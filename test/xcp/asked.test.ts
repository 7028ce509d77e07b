// What the options ask for beyond the installation, and when the VM's settings steps apply.
import { describe, expect, it } from 'vitest';
import {
  anythingAsked,
  otherConfigAsked,
  resourcesAsked,
  storageAsked,
} from '../../src/playbooks/xcp-install/asked.js';
import type { State, XcpOptions } from '../../src/playbooks/xcp-install/state.js';

const opts = (o: Partial<XcpOptions> = {}): XcpOptions => ({
  'sr-type': 'lvm',
  'sr-name': 'Local storage',
  force: false,
  'pool-user': 'root',
  template: 'CentOS 7',
  'network-bridge': 'xenbr0',
  ...o,
});
const up: State = { xapi: true, packagesPending: false, platform: { kind: 'xcp-ng', name: 'XCP-ng', version: '8.2' } };
const legacy: State = { ...up, platform: { kind: 'legacy', name: 'Ubuntu 12.04', version: '12.04' } };

describe('asked', () => {
  it('asks for storage with a device or NFS; for the preflight with storage, a pool or a VM', () => {
    expect(storageAsked(opts())).toBe(false);
    expect(storageAsked(opts({ 'sr-device': '/dev/sdb' }))).toBe(true);
    expect(storageAsked(opts({ 'sr-type': 'nfs' }))).toBe(true);
    expect(anythingAsked(opts())).toBe(false);
    expect(anythingAsked(opts({ 'join-pool': 'm' }))).toBe(true);
    expect(anythingAsked(opts({ 'vm-name': 'v' }))).toBe(true);
  });

  it("sets the VM's memory and vCPUs only when asked, once xapi answers", () => {
    expect(resourcesAsked({ opts: opts(), state: up })).toBe('no --vm-name given');
    expect(resourcesAsked({ opts: opts({ 'vm-name': 'v' }), state: up })).toMatch(/the template's values stay/);
    expect(resourcesAsked({ opts: opts({ 'vm-name': 'v', vcpus: 2 }), state: up })).toBe(true);
    expect(resourcesAsked({ opts: opts({ 'vm-name': 'v', memory: 1 }), state: { ...up, xapi: false } })).toMatch(
      /xapi does not answer yet/,
    );
  });

  it('sets other-config for an installer repository, and always on XCP 1.x (the console)', () => {
    expect(otherConfigAsked({ opts: opts({ 'vm-name': 'v' }), state: up })).toBe('no --install-repository given');
    expect(otherConfigAsked({ opts: opts({ 'vm-name': 'v' }), state: legacy })).toBe(true);
    expect(otherConfigAsked({ opts: opts({ 'vm-name': 'v', 'install-repository': 'http://m' }), state: up })).toBe(
      true,
    );
    expect(otherConfigAsked({ opts: opts({ 'install-repository': 'http://m' }), state: up })).toBe(
      'no --vm-name given',
    );
  });
});
