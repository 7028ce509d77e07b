import { describe, expect, it } from 'vitest';
import { domainScheduler, parseInfo, parseSchedParams, parseSxp, sxpAll, sxpGet } from '../../src/xen/qos.js';

describe('reading xl and xm output', () => {
  it('reads xl info', () => {
    const info = parseInfo(
      [
        'host                   : xen1',
        'release                : 6.1.0-18-amd64',
        'nr_cpus                : 8',
        'max_cpu_id             : 7',
        'xen_scheduler          : credit2',
        'xen_commandline        : placeholder dom0_mem=2048M,max:2048M',
      ].join('\n'),
    );
    expect(info.nr_cpus).toBe('8');
    expect(info.xen_scheduler).toBe('credit2');
    expect(info.xen_commandline).toBe('placeholder dom0_mem=2048M,max:2048M');
  });

  it('reads the weight and cap tables of xl sched-credit and sched-credit2', () => {
    expect(
      parseSchedParams(
        'Name                                ID Weight  Cap\nvm01                                 3    512  200\n',
      ),
    ).toEqual({ weight: 512, cap: 200 });
    // credit2 before Xen 4.10 had no cap column; with cpupools xl prints a pool line first.
    expect(parseSchedParams('Cpupool Pool-0: ratelimit=1000us\nName    ID Weight\nvm01     3    256\n')).toEqual({
      weight: 256,
    });
  });

  it("reads a domain's scheduler from its cpupool (xl list -c, xl cpupool-list), not from xl info", () => {
    // Layouts of xl_info.c list_domains (-c: the pool, %16s, last) and xl_cpupool.c main_cpupoollist.
    const listC =
      'Name                                        ID   Mem VCPUs\tState\tTime(s)         Cpupool\n' +
      'vm01                                         4    64     1     --p---       0.0          credit\n';
    const pools =
      'Name               CPUs   Sched     Active   Domain count\n' +
      'Pool-0               1  credit2       y          2\n' +
      'credit               1   credit       y          1\n';
    expect(domainScheduler(listC, pools)).toBe('credit');
    expect(domainScheduler(listC.replace(/credit\n$/, 'Pool-0\n'), pools)).toBe('credit2');
    expect(domainScheduler(listC, 'Name               CPUs   Sched     Active   Domain count\n')).toBeUndefined();
    expect(domainScheduler('', pools)).toBeUndefined();
  });

  it('reads xm sched-credit, old dictionary form and table form', () => {
    expect(parseSchedParams("{'cap': 50, 'weight': 100}\n")).toEqual({ weight: 100, cap: 50 });
    expect(
      parseSchedParams(
        'Name                                ID Weight  Cap\nmy vm                                 4    100    0\n',
      ),
    ).toEqual({ weight: 100, cap: 0 });
    expect(parseSchedParams('')).toBeUndefined();
  });

  it('reads xm list --long', () => {
    const [dom] = parseSxp(`(domain
    (domid 4)
    (vcpu_avail 3)
    (vcpus 4)
    (memory 1024)
    (maxmem 2048)
    (name vm02)
    (device
        (vif
            (bridge xenbr0)
            (mac 00:16:3e:2b:11:83)
            (rate 8Mb/s@50ms)
        )
    )
    (device (vbd (uname 'file:/OVS/running_pool/vm02/System.img') (dev xvda:disk) (mode w)))
    (state -b----)
)`);
    expect(dom).toBeDefined();
    expect(sxpGet(dom as never, 'domid')).toBe('4');
    expect(sxpGet(dom as never, 'maxmem')).toBe('2048');
    const devices = sxpAll(dom as never, 'device').map((d) => d[1]);
    expect(devices.map((d) => (Array.isArray(d) ? d[0] : d))).toEqual(['vif', 'vbd']);
    expect(sxpGet(devices[0] as never, 'rate')).toBe('8Mb/s@50ms');
    expect(sxpGet(devices[1] as never, 'uname')).toBe('file:/OVS/running_pool/vm02/System.img');
  });
});
