import { describe, expect, it } from 'vitest';
import type { Planned } from '../../src/playbooks/xen-qos/plan.js';
import {
  describeFacts,
  describeRequest,
  domainReport,
  planSummary,
  requestsReport,
  xeQosText,
} from '../../src/playbooks/xen-qos/report.js';
import { decide } from '../../src/xen/qos.js';
import { MiB, xeHalted, xlRunning } from './facts.js';

const planned = (kind: Parameters<typeof decide>[0], option: string, value: string, running = true): Planned => ({
  option,
  value,
  decision: decide(kind, 'xl', running ? 'running' : 'halted', false),
});

describe('describeFacts: the domain in lines', () => {
  it('says what the domain is, then what it has', () => {
    const f = xlRunning({
      vifs: [{ index: 0, mac: '00:16:3e:00:00:01', credit: { bytesPerInterval: 50_000, intervalUs: 50_000 } }],
      disks: [{ vdev: 'xvda' }],
    });
    expect(describeFacts(f)).toEqual([
      'vm01: running as domain 3 (pv), managed by xl',
      'host: 4 CPUs, scheduler credit2',
      'CPU: weight 256, cap 0',
      'vCPUs: 2, boot maximum 4',
      'memory: 1024 MiB, boot maximum 2048 MiB, balloon driver present',
      'vif 0 00:16:3e:00:00:01: 50 000 bytes every 50 ms (1 000 000 bytes/s)',
      'disk xvda',
      'config file: /etc/xen/vm01.cfg',
    ]);
  });

  it('says "no maximum set" for a halted xl domain without maxvcpus or maxmem, and xe limits in kbps', () => {
    const halted = describeFacts(
      xlRunning({ state: 'halted', domid: undefined, maxVcpus: Infinity, maxMemory: Infinity }),
    );
    expect(halted[0]).toBe('vm01: halted (pv), managed by xl');
    expect(halted).toContain('vCPUs: 2, boot maximum no maximum set');
    const xe = describeFacts(
      xeHalted({
        vifs: [{ index: 0, mac: '', qosType: 'ratelimit', kbps: 977, timesliceUs: 20_000 }],
        disks: [{ vdev: 'xvda', ioClass: 'rt', ioPriority: 2 }],
      }),
    );
    expect(xe).toContain('vif 0 (no fixed MAC): kbps=977, timeslice_us=20000');
    expect(xe).toContain('disk xvda: ionice real-time 2');
  });
});

describe('the --json report', () => {
  it('domainReport gives infinite maxima as null and memory in MiB', () => {
    expect(domainReport(xlRunning({ maxMemory: Infinity, memory: 512 * MiB }))).toMatchObject({
      name: 'vm01',
      memoryMiB: 512,
      maxMemoryMiB: null,
      maxVcpus: 4,
      configPath: '/etc/xen/vm01.cfg',
    });
  });

  it('requestsReport and planSummary count the requests by when they take effect', () => {
    const plan = [
      planned('cpu-weight', '--cpu-weight', '512'),
      planned('vcpus', '--vcpus', '3'),
      planned('vcpus-above-max', '--vcpus', '8', false),
    ];
    expect(requestsReport(plan).map((r) => [r.kind, r.effect, r.lostOnRestart])).toEqual([
      ['cpu-weight', 'live', true],
      ['vcpus', 'live', true],
      ['vcpus-above-max', 'start', false],
    ]);
    expect(planSummary(plan)).toBe('2 live, 1 at next start');
    expect(planSummary([])).toBe('');
    expect(describeRequest(plan[0]!)).toMatch(
      /^--cpu-weight 512: applies live \(xl sched-credit .*a restart would lose it/,
    );
  });

  it('xeQosText names the timeslice only when there is one', () => {
    expect(xeQosText({ kbps: 977 })).toBe('kbps=977');
    expect(xeQosText({ kbps: 977, timesliceUs: 20_000 })).toBe('kbps=977, timeslice_us=20000');
  });
});
