// What xcp-install says when its steps have run: the reboot, and how to reach the VM's console.
import { describe, expect, it } from 'vitest';
import { finish } from '../../src/playbooks/xcp-install/report.js';
import type { State } from '../../src/playbooks/xcp-install/state.js';
import { fakeHost, memoryLog } from './shell.js';

function ctx(state: Partial<State>, report: Record<string, unknown> = {}, o: { ssh?: boolean; dryRun?: boolean } = {}) {
  return {
    host: o.ssh ? fakeHost({}, 'ssh', 'ssh root@xcp1') : fakeHost(),
    report,
    dryRun: o.dryRun ?? false,
    log: memoryLog(),
    state: { xapi: true, packagesPending: false, ...state },
    opts: { 'vm-name': 'web01' },
  };
}

describe('finish', () => {
  it('asks for the reboot into Xen, naming the host over ssh, but not on a dry run', () => {
    const c = ctx({}, { rebootRequired: true }, { ssh: true });
    finish(c);
    expect(c.log.lines).toEqual([
      'warn: reboot on root@xcp1 into Xen, then run this playbook again with the same options',
    ]);
    const dry = ctx({}, { rebootRequired: true }, { dryRun: true });
    finish(dry);
    expect(dry.log.lines).toEqual([]);
  });

  it('names the running VM, its domain and its console, in the log and the report', () => {
    const c = ctx({ vm: 'uuid-1', domid: '7', platform: { kind: 'xcp-ng', name: 'XCP-ng', version: '8.2' } });
    finish(c);
    expect(c.report.vm).toEqual({ uuid: 'uuid-1', name: 'web01', domid: 7, console: 'xe console uuid=uuid-1' });
    expect(c.log.lines).toEqual([
      'info: VM "web01" runs as domain 7. Its console: xe console uuid=uuid-1   (Ctrl+] leaves it)',
    ]);
    const legacy = ctx({
      vm: 'u',
      domid: '2',
      xenVersion: '4.1',
      platform: { kind: 'legacy', name: 'Ubuntu', version: '12.04' },
    });
    finish(legacy);
    expect(legacy.report.vm).toMatchObject({ console: '/usr/lib/xen-4.1/bin/xenconsole 2' });
  });

  it('says nothing of a VM that does not run', () => {
    const c = ctx({ vm: 'uuid-1' });
    finish(c);
    expect(c.report.vm).toBeUndefined();
    expect(c.log.lines).toEqual([]);
  });
});
