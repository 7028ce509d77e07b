import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/playbook.js';
import { XlConfig } from '../../src/xen/xlcfg.js';
import {
  configDisks,
  configVifs,
  parseRate,
  rewriteConfig,
  setSpecKey,
  storedFromConfig,
  type ConfigChanges,
} from '../../src/xen/qos.js';

const fixture = (name: string) => readFileSync(path.join(ROOT, 'test/fixtures/qos', name), 'utf8');
const MiB = 1024 ** 2;

/** The changes the golden files were made with (the playbook's --persist for the same requests). */
const XL_CHANGES: ConfigChanges = {
  weight: 512,
  cap: 200,
  vcpus: 3,
  memory: 1536,
  vifRate: { index: 0, mac: '00:16:3e:2b:11:83', rate: '8Mb/s@50ms' },
};
const ORACLE_CHANGES: ConfigChanges = {
  weight: 100,
  vifRate: { index: 0, mac: '00:16:3e:2b:11:83', rate: '8Mb/s@50ms' },
  inbound: { mac: '00:16:3e:2b:11:83', params: 'rate=8mbit,latency=50ms' },
  ionice: { vdev: 'xvda', params: 'sched=real-time,prio=2' },
};

/** Lines of `after` that are not in `before`, and the other way round. */
function changedLines(before: string, after: string): { added: string[]; removed: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { added: b.filter((l) => !a.includes(l)), removed: a.filter((l) => !b.includes(l)) };
}

describe('golden rewrites of domain configuration files', () => {
  it('xl: writes weight, cap, vCPUs, memory and the VIF rate, and nothing else', () => {
    const before = fixture('vm01.cfg');
    const after = rewriteConfig(before, XL_CHANGES, 'vm01.cfg');
    expect(after).toBe(fixture('vm01.persist.cfg'));
    const { added, removed } = changedLines(before, after);
    expect(removed).toEqual(['memory = 1024', 'vcpus = 2', "vif = [ 'mac=00:16:3e:2b:11:83,bridge=xenbr0',"]);
    expect(added).toEqual([
      'memory = 1536',
      'vcpus = 3',
      "vif = [ 'mac=00:16:3e:2b:11:83,bridge=xenbr0,rate=8Mb/s@50ms',",
      'cpu_weight = 512',
      'cap = 200',
    ]);
  });

  it('xm / Oracle VM: writes vif rate=, vif_other_config and disk_other_config beside the existing entries', () => {
    const before = fixture('vm02.cfg');
    const after = rewriteConfig(before, ORACLE_CHANGES, 'vm.cfg');
    expect(after).toBe(fixture('vm02.persist.cfg'));
    const cfg = XlConfig.parse(after);
    expect(cfg.get('vif_other_config')).toEqual([['00:16:3e:2b:11:83', 'tbf', 'rate=8mbit,latency=50ms']]);
    expect(cfg.get('disk_other_config')).toEqual([
      ['xvdb', 'ionice', 'sched=best-effort,prio=5'],
      ['xvda', 'ionice', 'sched=real-time,prio=2'],
    ]);
    // The other keys Oracle VM wrote stay as they were (memory stays a string).
    expect(cfg.get('memory')).toBe('1024');
    expect(cfg.get('vfb')).toEqual(['type=vnc,vncunused=1,vnclisten=0.0.0.0,vncpasswd=oracle']);
  });

  it('a second rewrite with the same values changes nothing', () => {
    for (const [name, changes] of [
      ['vm01.persist.cfg', XL_CHANGES],
      ['vm02.persist.cfg', ORACLE_CHANGES],
    ] as const) {
      const text = fixture(name);
      expect(rewriteConfig(text, changes)).toBe(text);
    }
  });

  it('replaces an existing entry instead of adding a second one', () => {
    const once = fixture('vm02.persist.cfg');
    const again = rewriteConfig(once, {
      inbound: { mac: '00:16:3E:2B:11:83', params: 'rate=2mbit,latency=20ms' },
      ionice: { vdev: 'xvdb', params: 'sched=idle' },
    });
    const cfg = XlConfig.parse(again);
    expect(cfg.get('vif_other_config')).toEqual([['00:16:3e:2b:11:83', 'tbf', 'rate=2mbit,latency=20ms']]);
    expect(cfg.get('disk_other_config')).toEqual([
      ['xvdb', 'ionice', 'sched=idle'],
      ['xvda', 'ionice', 'sched=real-time,prio=2'],
    ]);
  });

  it('replaces a VIF rate already written, in place', () => {
    const text = rewriteConfig(fixture('vm01.cfg'), {
      vifRate: { index: 1, mac: '00:16:3e:2b:11:84', rate: '1MB/s' },
    });
    expect(changedLines(fixture('vm01.cfg'), text).added).toEqual([
      "        'mac=00:16:3e:2b:11:84, bridge=xenbr1, rate=1MB/s' ]",
    ]);
  });

  it('refuses to limit a VIF the file does not list', () => {
    expect(() =>
      rewriteConfig(
        fixture('vm01.cfg'),
        { vifRate: { index: 3, mac: '00:16:3e:00:00:09', rate: '1MB/s' } },
        'vm01.cfg',
      ),
    ).toThrow(/vm01.cfg has no vif line for interface 3/);
  });
});

describe('what a config file says the next start uses', () => {
  it('reads xl keys, VIF rates and disks', () => {
    const cfg = XlConfig.parse(fixture('vm01.persist.cfg'));
    const stored = storedFromConfig(cfg);
    expect(stored).toMatchObject({
      weight: 512,
      cap: 200,
      vcpus: 3,
      maxVcpus: 4,
      memory: 1536 * MiB,
      maxMemory: 2048 * MiB,
    });
    expect(stored.vifCredit?.[0]).toEqual({ bytesPerInterval: 50_000, intervalUs: 50_000 });
    expect(stored.vifCredit?.[1]).toEqual({ bytesPerInterval: 625_000, intervalUs: 50_000 });
    expect(configVifs(cfg).map((v) => [v.index, v.mac, v.params])).toEqual([
      [0, '00:16:3e:2b:11:83', { mac: '00:16:3e:2b:11:83', bridge: 'xenbr0' }],
      [1, '00:16:3e:2b:11:84', { mac: '00:16:3e:2b:11:84', bridge: 'xenbr1' }],
    ]);
    expect(configDisks(cfg).map((d) => d.vdev)).toEqual(['xvda', 'xvdb']);
  });

  it('reads Oracle VM keys: memory as a string, legacy disk specs, the other_config lists', () => {
    const stored = storedFromConfig(XlConfig.parse(fixture('vm02.persist.cfg')));
    expect(stored).toMatchObject({
      weight: 100,
      cap: 0,
      vcpus: 2,
      maxVcpus: 2,
      memory: 1024 * MiB,
      maxMemory: 2048 * MiB,
    });
    expect(stored.inbound).toEqual({ '00:16:3e:2b:11:83': 'rate=8mbit,latency=50ms' });
    expect(stored.ionice).toEqual({ xvdb: 'sched=best-effort,prio=5', xvda: 'sched=real-time,prio=2' });
    expect(configDisks(XlConfig.parse(fixture('vm02.cfg'))).map((d) => d.vdev)).toEqual(['xvda', 'xvdb']);
  });

  it('defaults weight and cap to the scheduler defaults when the file is silent', () => {
    const stored = storedFromConfig(XlConfig.parse(fixture('vm01.cfg')));
    expect([stored.weight, stored.cap]).toEqual([256, 0]);
    expect(stored.vifCredit?.[0]).toBeUndefined();
    expect(stored.vifCredit?.[1]).toEqual({
      bytesPerInterval: parseRate('100Mb/s').bytesPerInterval,
      intervalUs: 50_000,
    });
  });
});

describe("xend's keys (xm)", () => {
  it('writes cpu_cap, and fewer vCPUs at start as the vcpu_avail bitmask (vcpus stays the maximum)', () => {
    const before = fixture('vm02.cfg');
    const after = rewriteConfig(before, { cap: 50, vcpus: 1 }, 'vm.cfg', 'xm');
    expect(changedLines(before, after)).toEqual({ added: ['cpu_cap = 50', 'vcpu_avail = 1'], removed: [] });
    const stored = storedFromConfig(XlConfig.parse(after), 'xm');
    expect(stored).toMatchObject({ cap: 50, vcpus: 1, maxVcpus: 2 });
    // xl would read neither key.
    expect(storedFromConfig(XlConfig.parse(after), 'xl')).toMatchObject({ cap: 0, vcpus: 2 });
  });

  it('raises the maximum with vcpus and drops vcpu_avail when all are online', () => {
    const once = rewriteConfig(fixture('vm02.cfg'), { vcpus: 1 }, 'vm.cfg', 'xm');
    const raised = rewriteConfig(once, { vcpus: 4, maxVcpus: 4 }, 'vm.cfg', 'xm');
    const cfg = XlConfig.parse(raised);
    expect(cfg.get('vcpus')).toBe(4);
    expect(cfg.has('vcpu_avail')).toBe(false);
    expect(rewriteConfig(raised, { vcpus: 4, maxVcpus: 4 }, 'vm.cfg', 'xm')).toBe(raised);
    expect(rewriteConfig(once, { vcpus: 3, maxVcpus: 4 }, 'vm.cfg', 'xm')).toMatch(/^vcpu_avail = 7$/m);
  });
});

describe('vif spec editing', () => {
  it('keeps the separator style and every other byte', () => {
    expect(setSpecKey('mac=00:16:3e:00:00:01,bridge=xenbr0', 'rate', '1MB/s')).toBe(
      'mac=00:16:3e:00:00:01,bridge=xenbr0,rate=1MB/s',
    );
    expect(setSpecKey('mac=00:16:3e:00:00:01, bridge=xenbr0', 'rate', '1MB/s')).toBe(
      'mac=00:16:3e:00:00:01, bridge=xenbr0, rate=1MB/s',
    );
    expect(setSpecKey('bridge=xenbr0, rate=8Mb/s, model=e1000', 'rate', '1MB/s')).toBe(
      'bridge=xenbr0, rate=1MB/s, model=e1000',
    );
    expect(setSpecKey('', 'rate', '1MB/s')).toBe('rate=1MB/s');
  });
});
