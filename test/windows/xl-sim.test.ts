import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIM_BIN } from '../helpers/playbook.js';
import { diskBackend, readXl, runXenstoreRead, runXl, seedXl, vdevNumber } from '../sim/xl.mjs';

let dir: string;
const xl = (...argv: string[]) => runXl('xl', argv, dir);
const xm = (...argv: string[]) => runXl('xm', argv, dir);

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-xl-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeCfg(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

function guestCfg(extra = '', disk = path.join(dir, 'win.img')): string {
  writeFileSync(disk, '');
  return writeCfg(
    'win.cfg',
    [
      'type = "hvm"',
      'name = "win7"',
      'memory = 4096',
      'maxmem = 4096',
      'vcpus = 2',
      `disk = [ 'format=raw, vdev=hda, access=rw, target=${disk}' ]`,
      "vif = [ 'bridge=xenbr0,model=e1000' ]",
      extra,
      '',
    ].join('\n'),
  );
}

describe('xl without a hypervisor', () => {
  it('cannot even start, as the real xl', () => {
    const r = xl('info');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot init xl context');
    expect(r.stderr).toContain('libxl_ctx_alloc: cannot open libxc handle');
  });
  it('xm says xend is not running', () => {
    expect(xm('list').stderr).toBe('Error: Unable to connect to xend: No such file or directory. Is xend running?\n');
    seedXl(dir);
    expect(xm('list').code).toBe(1);
    seedXl(dir, { xend: true });
    expect(xm('list').code).toBe(0);
  });
});

describe('xl info and xl list', () => {
  it('prints every field of xl info with the colon in column 24', () => {
    seedXl(dir, { info: { free_memory: 5000, xen_scheduler: 'credit' } });
    const r = xl('info');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const l of lines) expect(l.indexOf(':'), l).toBe(23);
    const keys = lines.map((l) => l.slice(0, 23).trim());
    expect(keys.slice(0, 4)).toEqual(['host', 'release', 'version', 'machine']);
    expect(keys.indexOf('virt_caps')).toBeLessThan(keys.indexOf('total_memory'));
    expect(keys.indexOf('free_memory')).toBe(keys.indexOf('total_memory') + 1);
    expect(keys.at(-1)).toBe('xend_config_format');
    expect(r.stdout).toContain('free_memory            : 5000\n');
    expect(r.stdout).toContain('xen_version            : 4.17.7\n');
    expect(r.stdout).toContain('xen_scheduler          : credit\n');
    expect(xl('info', 'free_memory').stdout).toBe('5000\n');
  });

  it('lists domains in the real columns', () => {
    seedXl(dir, { domains: [{ name: 'win7', memory: 4096, vcpus: 2, cpu_time: 12.34 }] });
    const r = xl('list');
    expect(r.stdout.split('\n')[0]).toBe('Name                                        ID   Mem VCPUs\tState\tTime(s)');
    expect(r.stdout.split('\n')[1]).toBe(`Domain-0${' '.repeat(32)}     0  2048     4     r-----       0.0`);
    expect(r.stdout.split('\n')[2]).toBe(`win7${' '.repeat(36)}     1  4096     2     -b----      12.3`);
    expect(xl('list', 'nope')).toMatchObject({ code: 1, stderr: 'nope is an invalid domain identifier (rc=-6)\n' });
    expect(xl('list', '7')).toMatchObject({ code: 1 });
  });

  it('prints the domain configuration as JSON with -l', () => {
    seedXl(dir, {
      domains: [
        {
          name: 'win7',
          memory: 2048,
          maxmem: 4096,
          vcpus: 2,
          maxvcpus: 4,
          vifs: [{ bridge: 'xenbr1', mac: '00:16:3e:00:00:01', rate: '10Mb/s' }],
          disks: [{ vdev: 'hda', target: '/dev/vg0/win7' }],
        },
      ],
    });
    const j = JSON.parse(xl('list', '-l', 'win7').stdout);
    expect(j).toHaveLength(1);
    expect(j[0].domid).toBe(1);
    expect(j[0].config.b_info).toMatchObject({
      max_vcpus: 4,
      avail_vcpus: [0, 1],
      max_memkb: 4194304,
      target_memkb: 2097152,
    });
    expect(j[0].config.disks[0]).toMatchObject({
      pdev_path: '/dev/vg0/win7',
      vdev: 'hda',
      backend: 'phy',
      readwrite: 1,
    });
    expect(j[0].config.nics[0]).toMatchObject({
      mac: '00:16:3e:00:00:01',
      bridge: 'xenbr1',
      rate_bytes_per_interval: 62500,
      rate_interval_usecs: 50000,
    });
  });
});

describe('xl create', () => {
  it('creates the domain, takes its memory from the free memory, prints only the parsing line', () => {
    seedXl(dir, { info: { free_memory: 10000 } });
    const f = guestCfg();
    const r = xl('create', f);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: `Parsing config from ${f}\n` });
    const s = readXl(dir);
    const d = s?.domains.find((x) => x.name === 'win7');
    // Between two commands a new guest waits for work, as the real idle guest: blocked, not running.
    expect(d).toMatchObject({ domid: 1, type: 'hvm', memory: 4096, maxmem: 4096, vcpus: 2, state: '-b----' });
    expect(xl('list', 'win7').stdout.split('\n')[1]).toBe(
      `win7${' '.repeat(36)}     1  4096     2     -b----       0.0`,
    );
    expect(d?.vifs[0]).toMatchObject({ devid: 0, bridge: 'xenbr0', model: 'e1000' });
    expect(d?.vifs[0]?.mac).toMatch(/^00:16:3e(:[0-9a-f]{2}){3}$/);
    expect(s?.info.free_memory).toBeLessThan(10000 - 4096);
    expect(xl('list').stdout).toContain('win7');
    expect(xl('create', f).stderr).toContain('Domain with name "win7" already exists.');
  });

  it('fails like libxl when a disk file is missing, and creates nothing', () => {
    seedXl(dir);
    const f = guestCfg();
    rmSync(path.join(dir, 'win.img'));
    const r = xl('create', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `libxl__device_disk_set_backend: Disk vdev=hda failed to stat: ${path.join(dir, 'win.img')}: No such file or directory`,
    );
    expect(r.stderr).toContain('Unable to set disk defaults for disk 0');
    expect(readXl(dir)?.domains).toHaveLength(1);
  });

  it('fails when memory is short, or balloons Domain-0 down when autoballoon is on', () => {
    seedXl(dir, { info: { free_memory: 2000 } });
    const f = guestCfg();
    const r = xl('create', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory");
    expect(readXl(dir)?.domains).toHaveLength(1);
    seedXl(dir, { info: { free_memory: 2000 }, autoballoon: true, dom0: { memory: 8192 } });
    expect(xl('create', f).code).toBe(0);
    expect(readXl(dir)?.domains[0]?.memory).toBeLessThan(8192);
    seedXl(dir, { info: { free_memory: 100 }, autoballoon: true, dom0: { memory: 1024 } });
    expect(xl('create', f)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('failed to free memory for the domain'),
    });
  });

  it('reports syntax errors and Python as xl does', () => {
    seedXl(dir);
    // libxlutil warns when its scanner meets one of +-.():, not on `import` (the data of test/fixtures/oracle/libxlu/).
    const f = writeCfg('py.cfg', 'import os\nname = os.uname()[1]\n');
    const r = xl('create', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${f}:1: config parsing error near \`os': expected '=' after import`);
    expect(r.stderr).toContain('warning: Config file looks like it contains Python code.');
    expect(r.stderr).toContain('Failed to parse config: Invalid argument');
    expect(xl('create', path.join(dir, 'none.cfg')).stderr).toBe(
      `Failed to read config file: ${path.join(dir, 'none.cfg')}: No such file or directory\n`,
    );
  });

  it('warns about xend keys and refuses contradictions', () => {
    seedXl(dir);
    const f = guestCfg('kernel = "/usr/lib/xen/boot/hvmloader"\ndevice_model = "/usr/lib/xen/bin/qemu-dm"');
    const r = xl('create', f);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('WARNING: you seem to be using "kernel" directive to override HVM guest firmware.');
    expect(r.stderr).toContain('WARNING: ignoring device_model directive.');
    const g = guestCfg('builder = "linux"');
    expect(xl('create', g)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Contradicting "builder" and "type" options specified.'),
    });
    const h = guestCfg('maxvcpus = 1');
    expect(xl('create', h).stderr).toContain('xl: maxvcpus < vcpus');
  });

  it('refuses an HVM guest on a hypervisor without HVM', () => {
    seedXl(dir, { info: { virt_caps: 'pv pv_directio shadow' } });
    expect(xl('create', guestCfg()).code).toBe(1);
  });

  it('prints the configuration and creates nothing with -n', () => {
    seedXl(dir);
    const r = xl('create', '-n', guestCfg());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).c_info.name).toBe('win7');
    expect(readXl(dir)?.domains).toHaveLength(1);
  });
});

describe('destroy and shutdown', () => {
  it('destroys a guest and gives its memory back; refuses Domain-0', () => {
    seedXl(dir, { info: { free_memory: 1000 }, domains: [{ name: 'w', memory: 2048 }] });
    expect(xl('destroy', '0')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Not destroying domain 0; use -f to force.'),
    });
    expect(xl('destroy', 'w').code).toBe(0);
    expect(readXl(dir)?.info.free_memory).toBe(3048);
  });

  it('cannot shut down a guest without PV drivers unless -F sends the ACPI power button', () => {
    seedXl(dir, { domains: [{ name: 'w' }, { name: 'pv', pvDrivers: true }] });
    const r = xl('shutdown', 'w');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Shutting down domain 1\nPV control interface not available: external graceful shutdown not possible.\nUse "-F" to fallback to ACPI power event.\nshutdown failed (rc=-10)\n',
    );
    expect(xl('shutdown', '-F', 'w').stderr).toContain('sending ACPI power button event');
    expect(xl('shutdown', '-w', 'pv').stderr).toContain('Domain 2 has been destroyed');
    expect(readXl(dir)?.domains).toHaveLength(1);
  });
});

describe('schedulers', () => {
  it('prints the credit2 table and sets weight and cap within bounds', () => {
    seedXl(dir, { domains: [{ name: 'w', vcpus: 2 }] });
    expect(xl('sched-credit2').stdout).toBe(
      'Cpupool Pool-0: ratelimit=1000us\nName                                ID Weight  Cap\nDomain-0                             0    256    0\nw                                    1    256    0\n',
    );
    expect(xl('sched-credit2', '-d', 'w', '-w', '512', '-c', '150').code).toBe(0);
    expect(xl('sched-credit2', '-d', 'w').stdout.split('\n')[1]).toBe(
      'w                                    1    512  150',
    );
    const bad = xl('sched-credit2', '-d', 'w', '-w', '70000');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Cpu weight out of range, valid values are within range from 1 to 65535');
    expect(xl('sched-credit2', '-d', 'w', '-c', '201').stderr).toContain('valid range is from 0 to 200');
    expect(xl('sched-credit2', '-w', '5').stderr).toBe('Must specify a domain.\n');
  });

  it('refuses the other scheduler as xl does', () => {
    seedXl(dir, { domains: [{ name: 'w' }] });
    expect(xl('sched-credit')).toMatchObject({ code: 0, stdout: '' });
    const view = xl('sched-credit', '-d', 'w');
    expect(view.code).toBe(1);
    expect(view.stderr).toBe('libxl_domain_sched_params_get returned credit2 not credit.\n');
    const set = xl('sched-credit', '-d', 'w', '-w', '512');
    expect(set.code).toBe(1);
    expect(set.stderr).toContain('Getting domain sched credit: Invalid argument');
    expect(readXl(dir)?.domains[1]?.weight).toBe(256);
    seedXl(dir, { info: { xen_scheduler: 'credit' }, domains: [{ name: 'w' }] });
    expect(xl('sched-credit').stdout.split('\n')[0]).toBe(
      'Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us',
    );
    expect(xl('sched-credit', '-d', 'w', '-w', '512').code).toBe(0);
    expect(xl('sched-credit2', '-d', 'w', '-w', '512').code).toBe(1);
  });
});

describe('vCPUs and memory', () => {
  it('sets vCPUs up to the boot maximum', () => {
    seedXl(dir, { info: { nr_cpus: 8 }, domains: [{ name: 'w', type: 'pv', vcpus: 2, maxvcpus: 4 }] });
    expect(xl('vcpu-set', 'w', '4').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.vcpus).toBe(4);
    const r = xl('vcpu-set', 'w', '6');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Requested 6 VCPUs, however maxcpus is 4!');
    expect(r.stderr).toContain('libxl_set_vcpuonline failed domid=1 max_vcpus=6, rc: -3');
    expect(xl('vcpu-set', 'w', '16').stderr).toContain(
      'You are overcommmitting! You have 8 physical CPUs and want 16 vCPUs!',
    );
    expect(xl('vcpu-set', 'w', 'x').stderr).toBe('Error: Invalid argument.\n');
  });

  it('sets memory up to maxmem, and maxmem not below the current memory', () => {
    seedXl(dir, { domains: [{ name: 'w', memory: 2048, maxmem: 4096, pvDrivers: true }] });
    expect(xl('mem-set', 'w', '3g').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.memory).toBe(3072);
    const r = xl('mem-set', 'w', '5000');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('memory_dynamic_max must be less than or equal to memory_static_max');
    expect(r.stderr).toContain('cannot set domid 1 dynamic max memory to : 5000');
    expect(xl('mem-set', 'w', '2gb').stderr).toBe('invalid memory size: 2gb\n');
    expect(xl('mem-max', 'w', '1024').stderr).toContain('cannot set domid 1 static max memory to : 1024');
    expect(xl('mem-max', 'w', '8192m').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.maxmem).toBe(8192);
  });
});

describe('network and block devices', () => {
  it('lists, attaches with a rate and detaches vifs', () => {
    seedXl(dir, { domains: [{ name: 'w', vifs: [{ mac: '00:16:3e:aa:bb:cc' }] }] });
    const list = xl('network-list', 'w').stdout.split('\n');
    expect(list[0]).toBe(
      'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ',
    );
    // xl shows the frontend's keys: an HVM guest without PV drivers never connects a netfront, so
    // the state libxl wrote stays (1, Initialising) and there is no event channel nor ring.
    expect(list[1]).toBe(
      '0   0  00:16:3e:aa:bb:cc     0     1     -1    -1/-1          /local/domain/0/backend/vif/1/0',
    );
    expect(xl('network-attach', 'w', 'bridge=xenbr1', 'rate=5Mb/s@20ms').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.vifs[1]).toMatchObject({ devid: 1, bridge: 'xenbr1', rate: '5Mb/s@20ms' });
    expect(xl('network-attach', 'w', 'rate=fast').stderr).toBe(
      "command line: config parsing error in vif: invalid rate in `fast'\n",
    );
    expect(xl('network-attach', 'w', 'colour=red').stderr).toBe("unrecognized argument `colour=red'\n");
    expect(xl('network-detach', 'w', '00:16:3e:aa:bb:cc').code).toBe(0);
    expect(xl('network-detach', 'w', '7')).toMatchObject({ code: 1, stderr: 'Unknown device 7.\n' });
    expect(readXl(dir)?.domains[1]?.vifs.map((v) => v.devid)).toEqual([1]);
  });

  it('lists block devices by device number', () => {
    seedXl(dir, {
      domains: [
        {
          name: 'w',
          disks: [
            { vdev: 'hda', target: '/srv/a.img' },
            { vdev: 'hdc', target: '/srv/w.iso', devtype: 'cdrom' },
          ],
        },
      ],
    });
    const lines = xl('block-list', 'w').stdout.trimEnd().split('\n');
    expect(lines[0]?.trimEnd()).toBe('Vdev  BE  handle state evt-ch ring-ref BE-path');
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['768', '5632']);
    expect([vdevNumber('xvda'), vdevNumber('xvdb'), vdevNumber('hdb'), vdevNumber('sda')]).toEqual([
      51712, 51728, 832, 2048,
    ]);
  });
});

describe('PV frontends: what xl network-list and block-list read', () => {
  function pvCfg(disk: string): string {
    writeFileSync(path.join(dir, 'pv.img'), '');
    return writeCfg(
      'pv.cfg',
      [
        'name = "pv"',
        'kernel = "/boot/vmlinuz"',
        'memory = 128',
        `disk = [ '${disk}' ]`,
        "vif = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0' ]",
        '',
      ].join('\n'),
    );
  }

  it('a guest xl create starts: state 1 (Initialising), no event channel, no ring; netback waits', () => {
    seedXl(dir);
    const f = pvCfg(`file:${path.join(dir, 'pv.img')},xvda,w`);
    expect(xl('create', f).code).toBe(0);
    expect(xl('network-list', 'pv').stdout.split('\n')[1]).toBe(
      '0   0  00:16:3e:00:00:01     0     1     -1    -1/-1          /local/domain/0/backend/vif/1/0',
    );
    expect(xl('block-list', 'pv').stdout.split('\n')[1]).toBe(
      '51712 0   1      1     -1     -1       /local/domain/0/backend/vbd/1/51712',
    );
    const xs = spawnSync(path.join(SIM_BIN, 'xenstore-read'), ['/local/domain/0/backend/vif/1/0/state'], {
      env: { ...process.env, XR_SIM_DIR: dir },
      encoding: 'utf8',
    });
    expect(xs.stdout).toBe('2\n');
  });

  it('a seeded PV guest has connected frontends unless told otherwise', () => {
    const pv = {
      type: 'pv' as const,
      vifs: [{ mac: '00:16:3e:00:00:01' }],
      disks: [{ vdev: 'xvda', target: '/srv/a.img' }],
    };
    seedXl(dir, {
      domains: [
        { name: 'up', ...pv },
        { name: 'bare', frontends: false, ...pv },
      ],
    });
    expect(xl('network-list', 'up').stdout.split('\n')[1]).toBe(
      '0   0  00:16:3e:00:00:01     0     4     20   768/769         /local/domain/0/backend/vif/1/0',
    );
    expect(xl('block-list', 'up').stdout.split('\n')[1]).toBe(
      '51712 0   1      4     30     8        /local/domain/0/backend/vbd/1/51712',
    );
    expect(xl('network-list', 'bare').stdout.split('\n')[1]).toMatch(
      /^0 {3}0 {2}00:16:3e:00:00:01 {5}0 {5}1 {5}-1 {4}-1\/-1 /,
    );
    expect(xl('block-list', 'bare').stdout.split('\n')[1]).toMatch(/^51712 0 {3}2 {6}1 {5}-1 {5}-1 /);
  });
});

describe("libxl's disk backend (libxl__device_disk_set_backend, 4.17)", () => {
  const file = (): 'file' => 'file';
  it('raw files and block devices are phy; other formats, HVM CD-ROMs and empty drives qdisk', () => {
    expect(diskBackend({ vdev: 'xvda', target: '/srv/a.img' }, 'pv', file)).toEqual({ backend: 'phy' });
    expect(diskBackend({ vdev: 'xvda', target: '/dev/vg/a' }, 'pv', () => 'block')).toEqual({ backend: 'phy' });
    expect(diskBackend({ vdev: 'xvda', target: '/srv/a.q', format: 'qcow2' }, 'pv', file)).toEqual({
      backend: 'qdisk',
    });
    expect(diskBackend({ vdev: 'hdc', target: '/srv/w.iso', devtype: 'cdrom' }, 'hvm', file)).toEqual({
      backend: 'qdisk',
    });
    expect(diskBackend({ vdev: 'xvdc', target: '/srv/w.iso', devtype: 'cdrom' }, 'pv', file)).toEqual({
      backend: 'phy',
    });
    expect(diskBackend({ vdev: 'hdc', devtype: 'cdrom' }, 'hvm', () => 'missing')).toEqual({ backend: 'qdisk' });
    // A path that is neither a file nor a block device: phy is unsuitable, qdisk takes it.
    expect(diskBackend({ vdev: 'xvda', target: '/srv' }, 'pv', () => 'other')).toEqual({ backend: 'qdisk' });
    // script= means phy without a stat; colo rules phy out.
    expect(diskBackend({ vdev: 'xvda', target: 'iqn.x', script: 'block-iscsi' }, 'pv', () => 'missing')).toEqual({
      backend: 'phy',
    });
    expect(diskBackend({ vdev: 'xvda', target: '/srv/a.img', colo: '' }, 'pv', file)).toEqual({ backend: 'qdisk' });
  });

  it('refuses what no backend takes, with libxl’s words', () => {
    expect(
      diskBackend({ vdev: 'xvda', target: '/srv/a.q', format: 'qcow2', backendtype: 'phy' }, 'pv', file),
    ).toMatchObject({
      error: 'no suitable backend for disk xvda',
    });
    expect(
      diskBackend({ vdev: 'hdc', target: '/srv/w.iso', devtype: 'cdrom', backendtype: 'phy' }, 'hvm', file),
    ).toMatchObject({
      error: 'Backend for CD devices on HVM guests must be Qdisk',
    });
    expect(diskBackend({ vdev: 'xvda', target: '/srv/none.img' }, 'pv', () => 'missing')).toMatchObject({
      error: 'Disk vdev=xvda failed to stat: /srv/none.img: No such file or directory',
    });
    expect(diskBackend({ vdev: 'xvda', target: '/srv/a.img', backendtype: 'tap' }, 'pv', file)).toMatchObject({
      error: 'no suitable backend for disk xvda',
    });
  });

  it('xl create records the choice: list -l and block-list show it, create -n leaves it out', () => {
    seedXl(dir);
    writeFileSync(path.join(dir, 'a.img'), '');
    writeFileSync(path.join(dir, 'b.qcow2'), '');
    const f = writeCfg(
      'two.cfg',
      [
        'name = "two"',
        'kernel = "/boot/vmlinuz"',
        `disk = [ 'file:${path.join(dir, 'a.img')},xvda,w', '${path.join(dir, 'b.qcow2')},qcow2,xvdb,w' ]`,
        '',
      ].join('\n'),
    );
    const dry = JSON.parse(xl('create', '-n', f).stdout);
    expect(dry.disks.map((x: Record<string, unknown>) => 'backend' in x)).toEqual([false, false]);
    expect(xl('create', f).code).toBe(0);
    const j = JSON.parse(xl('list', '-l', 'two').stdout);
    expect(j[0].config.disks.map((x: { backend: string }) => x.backend)).toEqual(['phy', 'qdisk']);
    const rows = xl('block-list', 'two').stdout.trimEnd().split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s+/).pop())).toEqual([
      '/local/domain/0/backend/vbd/1/51712',
      '/local/domain/0/backend/qdisk/1/51728',
    ]);
  });

  it('xl create fails as libxl does when no backend fits, and creates nothing', () => {
    seedXl(dir);
    writeFileSync(path.join(dir, 'b.qcow2'), '');
    const f = writeCfg(
      'bad.cfg',
      [
        'name = "bad"',
        'kernel = "/boot/vmlinuz"',
        `disk = [ '${path.join(dir, 'b.qcow2')},qcow2,xvda,w,backendtype=phy' ]`,
        '',
      ].join('\n'),
    );
    const r = xl('create', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('libxl__device_disk_set_backend: no suitable backend for disk xvda');
    expect(r.stderr).toContain('Unable to set disk defaults for disk 0');
    expect(readXl(dir)?.domains).toHaveLength(1);
  });
});

describe('xm', () => {
  it('speaks xend: its own list columns and create output', () => {
    seedXl(dir, { xend: true });
    const f = guestCfg().replace('win.cfg', 'win.cfg');
    writeFileSync(f, readFileSync(f, 'utf8').replace('type = "hvm"', "builder = 'hvm'"));
    const r = xm('create', f);
    expect(r).toMatchObject({ code: 0, stdout: `Using config file "${f}".\nStarted domain win7 (id=1)\n` });
    expect(xm('list').stdout.split('\n')[0]).toBe(
      'Name                                        ID   Mem VCPUs      State   Time(s)',
    );
    // xend's sched-credit2 (4.1 onwards) takes -d and -w only.
    expect(xm('sched-credit2', '-d', '0', '-w', '512').code).toBe(0);
    expect(xm('sched-credit2', '-d', '0', '-c', '50')).toMatchObject({
      code: 1,
      stderr: 'Error: option -c not recognized\n',
    });
    seedXl(dir, { xend: true, info: { xen_scheduler: 'credit' } });
    expect(xm('sched-credit2', '-d', '0').stderr).toBe('Error: Xen is running with the credit scheduler\n');
  });

  it('refuses as xend does (xm/main.py, XendDomain.py, XendConfig.py, RELEASE-4.1.0 … 4.4.0)', () => {
    seedXl(dir, {
      xend: true,
      info: { xen_scheduler: 'credit', xen_minor: 1 },
      domains: [{ name: 'vm02', type: 'pv', memory: 512, maxmem: 1024, vcpus: 2, maxvcpus: 2 }],
    });
    // sched-credit: xend's row, then its range checks, each "Error: …", the usage on stdout, exit 1.
    // '%-33s %4s %6s %4s' header, '%(name)-32s %(domid)5s %(weight)6d %(cap)4d' row.
    expect(xm('sched-credit', '-d', 'vm02').stdout).toBe(
      `${'Name'.padEnd(33)} ${'ID'.padStart(4)} ${'Weight'.padStart(6)} ${'Cap'.padStart(4)}\n` +
        `${'vm02'.padEnd(32)} ${'1'.padStart(5)} ${'256'.padStart(6)} ${'0'.padStart(4)}\n`,
    );
    const w = xm('sched-credit', '-d', 'vm02', '-w', '70000');
    expect(w).toMatchObject({
      code: 1,
      stderr: 'Error: Cpu weight out of range, valid values are within range from 1 to 65535\n',
    });
    expect(w.stdout).toBe(
      'Usage: xm sched-credit [-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]\n\nGet/set credit scheduler parameters.\n' +
        `  ${'-d DOMAIN, --domain=DOMAIN'.padEnd(30)} ${'Domain to modify'.padEnd(43)}\n` +
        `  ${'-w WEIGHT, --weight=WEIGHT'.padEnd(30)} ${'Weight (int)'.padEnd(43)}\n` +
        `  ${'-c CAP, --cap=CAP'.padEnd(30)} ${'Cap (int)'.padEnd(43)}\n\n`,
    );
    expect(xm('sched-credit', '-d', 'vm02', '-c', '300').stderr).toBe(
      'Error: Cpu cap out of range, valid range is from 0 to 200 for specified number of vcpus\n',
    );
    // mem-set above the static maximum: XendConfig._memory_sanity_check.
    expect(xm('mem-set', 'vm02', '2048')).toMatchObject({
      code: 1,
      stderr: 'Error: memory_dynamic_max must be less than or equal to memory_static_max\n',
    });
    // network-attach takes type mac bridge ip script backend vifname rate model accel: no devid.
    const a = xm('network-attach', 'vm02', 'bridge=xenbr0', 'devid=3');
    expect(a).toMatchObject({ code: 1, stderr: 'Error: Invalid argument: devid=3\n' });
    expect(a.stdout.startsWith('Usage: xm network-attach <Domain> [type=<type>]')).toBe(true);
    expect(xm('network-attach', 'vm02', 'bridge=').stderr).toBe('Error: Invalid argument: bridge=\n');
    expect(xm('network-attach', 'vm02', 'bridge=xenbr0', 'rate=1MB/s').code).toBe(0);
    // On a credit2 host, xm sched-credit checks the scheduler first.
    seedXl(dir, { xend: true, info: { xen_scheduler: 'credit2' } });
    expect(xm('sched-credit', '-d', '0')).toMatchObject({
      code: 1,
      stderr: 'Error: Xen is running with the credit2 scheduler\n',
    });
  });
});

describe('cpupools', () => {
  const pools = [
    { name: 'Pool-0', sched: 'credit2', cpus: 2 },
    { name: 'credit', sched: 'credit', cpus: 2 },
  ];

  it('cpupool-list and list -c print the pools as xl_cpupool.c and xl_info.c do', () => {
    seedXl(dir, { info: { nr_cpus: 4 }, cpupools: pools, domains: [{ name: 'vm1', type: 'pv', pool: 'credit' }] });
    expect(xl('cpupool-list').stdout).toBe(
      'Name               CPUs   Sched     Active   Domain count\n' +
        'Pool-0               2   credit2       y          1\n' +
        'credit               2    credit       y          1\n',
    );
    expect(xl('cpupool-list', 'nope')).toMatchObject({ code: 1, stderr: "Pool 'nope' does not exist\n" });
    const listed = xl('list', '-c', 'vm1').stdout.split('\n');
    expect(listed[0]).toMatch(/Time\(s\) {9}Cpupool$/);
    expect(listed[1]).toMatch(/0\.0 {10}credit$/);
  });

  it("sched-credit works on a domain in a credit pool of a credit2 host, and lists each pool's domains", () => {
    seedXl(dir, { info: { nr_cpus: 4 }, cpupools: pools, domains: [{ name: 'vm1', type: 'pv', pool: 'credit' }] });
    expect(xl('sched-credit', '-d', 'vm1', '-w', '512').code).toBe(0);
    expect(xl('sched-credit2', '-d', 'vm1')).toMatchObject({
      code: 1,
      stderr: 'libxl_domain_sched_params_get returned credit not credit2.\n',
    });
    const all = xl('sched-credit').stdout.split('\n');
    expect(all[0]).toMatch(/^Cpupool credit: tslice=/);
    expect(
      all
        .slice(2)
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['vm1']);
  });

  it('xl create puts a guest in its pool=, and refuses a pool that does not exist', () => {
    seedXl(dir, { info: { nr_cpus: 4 }, cpupools: pools });
    const f = guestCfg('pool = "credit"');
    expect(xl('create', f).code).toBe(0);
    expect(readXl(dir)?.domains.find((d) => d.name === 'win7')?.pool).toBe('credit');
    xl('destroy', 'win7');
    const bad = guestCfg('pool = "fast"');
    expect(xl('create', bad)).toMatchObject({ code: 1 });
    expect(xl('create', bad).stderr).toContain('Illegal pool specified: fast');
  });
});

describe('xm network-list', () => {
  // xm/main.py xm_network_list (RELEASE-4.1.0) prints the frontend's keys with parse_dev_info's
  // defaults: state 1 and -1 refs until a netfront connects.
  const seeded = (frontends: boolean) =>
    seedXl(dir, {
      xend: true,
      domains: [
        {
          name: 'win7',
          type: 'hvm',
          frontends,
          vifs: [{ devid: 0, mac: '00:16:3e:00:00:01', bridge: 'xenbr0' }],
        },
      ],
    });

  it("shows the frontend's keys in xend's layout", () => {
    seeded(false);
    const out = xm('network-list', 'win7').stdout.split('\n');
    expect(out[0]).toBe('Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path');
    expect(out[1]).toBe(
      `0   0  00:16:3e:00:00:01    0     1      -1    -1   /-1      /local/domain/0/backend/vif/1/0  `,
    );
    expect(out[1]!.trim().split(/\s+/)[4]).toBe('1');
  });

  it('shows state 4 once the netfront connected', () => {
    seeded(true);
    expect(xm('network-list', 'win7').stdout.split('\n')[1]!.trim().split(/\s+/)[4]).toBe('4');
  });
});

describe('the executables', () => {
  it('run from test/sim/bin with XR_SIM_DIR and record each call', () => {
    seedXl(dir);
    const env = { ...process.env, XR_SIM_DIR: dir, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}` };
    expect(execFileSync('xl', ['list'], { env, encoding: 'utf8' })).toContain('Domain-0');
    const bad = spawnSync('xl', ['list', 'nope'], { env, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    const calls = readFileSync(path.join(dir, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(calls).toEqual([
      { cmd: 'xl', argv: ['list'] },
      { cmd: 'xl', argv: ['list', 'nope'] },
    ]);
  });
});

describe('the release the host claims (xl info xen_major, xen_minor) decides what xl does', () => {
  const release = (minor: number, extra: Parameters<typeof seedXl>[1] = {}) =>
    seedXl(dir, {
      info: { xen_major: 4, xen_minor: minor, xen_extra: '.0', ...(extra.info ?? {}) },
      domains: extra.domains ?? [
        { name: 'pv', type: 'pv', vcpus: 2, maxvcpus: 4, pvDrivers: true, vifs: [{ mac: '00:16:3e:00:00:01' }] },
        { name: 'win', type: 'hvm', vcpus: 2, maxvcpus: 4, vifs: [{ mac: '00:16:3e:00:00:02', model: 'e1000' }] },
      ],
      ...(extra.dom0 ? { dom0: extra.dom0 } : {}),
    });

  it('network-attach takes devid= from 4.9 only; before, the next free devid is taken', () => {
    release(8);
    expect(xl('network-detach', 'pv', '0').code).toBe(0);
    expect(xl('network-attach', 'pv', 'devid=0', 'mac=00:16:3e:00:00:01')).toMatchObject({
      code: 1,
      stderr: "unrecognized argument `devid=0'\n",
    });
    release(9);
    expect(xl('network-detach', 'pv', '0').code).toBe(0);
    expect(xl('network-attach', 'pv', 'devid=0', 'mac=00:16:3e:00:00:01').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.vifs.map((v) => v.devid)).toEqual([0]);
  });

  it('network-attach drops rate= on 4.1 and passes it to netback from 4.2', () => {
    release(1);
    expect(xl('network-attach', 'pv', 'rate=1MB/s').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.vifs[1]?.rate).toBeUndefined();
    release(2);
    expect(xl('network-attach', 'pv', 'rate=1MB/s').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.vifs[1]?.rate).toBe('1MB/s');
  });

  it('sched-credit2 has a cap from 4.10; list -l carries the live scheduler parameters from 4.9', () => {
    release(8);
    xl('sched-credit2', '-d', 'pv', '-w', '512');
    // 4.8: sched_params are the stored configuration's (none here), not the live weight.
    expect(JSON.parse(xl('list', '-l', 'pv').stdout)[0].config.b_info.sched_params).toBeUndefined();
    release(9);
    xl('sched-credit2', '-d', 'pv', '-w', '512');
    expect(JSON.parse(xl('list', '-l', 'pv').stdout)[0].config.b_info.sched_params).toMatchObject({ weight: 512 });
    expect(xl('sched-credit2', '-d', 'pv', '-c', '50')).toMatchObject({
      code: 2,
      stderr: "option `c' not supported.\n",
    });
    expect(xl('sched-credit2', '-d', 'pv').stdout.split('\n')[0]?.trimEnd()).toBe(
      'Name                                ID Weight',
    );
    release(17);
    expect(xl('sched-credit2', '-d', 'pv', '-c', '50').code).toBe(0);
    expect(JSON.parse(xl('list', '-l', 'pv').stdout)[0].config.b_info.sched_params).toMatchObject({ cap: 50 });
  });

  it('vcpu-set lowers a PV guest live; an HVM guest keeps its vCPUs (only availability is written)', () => {
    release(17);
    expect(xl('vcpu-set', 'pv', '1').code).toBe(0);
    expect(xl('vcpu-set', 'win', '1').code).toBe(0);
    expect(xl('vcpu-set', 'win', '3').code).toBe(0);
    const [, pv, win] = readXl(dir)?.domains ?? [];
    expect(pv?.vcpus).toBe(1);
    // A hot-added vCPU runs only once the guest's OS brings it up: xl list's VCPUs stays, xenstore says online.
    expect(win?.vcpus).toBe(2);
    expect(xl('list', 'win').stdout.split('\n')[1]?.trim().split(/\s+/)[3]).toBe('2');
    expect(runXenstoreRead(['/local/domain/2/cpu/2/availability'], dir).stdout).toBe('online\n');
    expect(runXenstoreRead(['/local/domain/2/cpu/3/availability'], dir).stdout).toBe('offline\n');
    release(17, { domains: [{ name: 'win', type: 'hvm', vcpus: 2, maxvcpus: 4, guestOnlinesVcpus: true }] });
    expect(xl('vcpu-set', 'win', '3').code).toBe(0);
    expect(xl('vcpu-set', 'win', '2').code).toBe(0);
    expect(readXl(dir)?.domains[1]?.vcpus).toBe(3);
  });

  it('a new vif of a running HVM guest is PV only from 4.10 (libxl sets nictype vif when hot-plugging)', () => {
    release(9);
    xl('network-attach', 'win', 'bridge=xenbr0');
    expect(JSON.parse(xl('list', '-l', 'win').stdout)[0].config.nics[1].nictype).toBe('vif_ioemu');
    release(10);
    xl('network-attach', 'win', 'bridge=xenbr0');
    expect(JSON.parse(xl('list', '-l', 'win').stdout)[0].config.nics[1].nictype).toBe('vif');
  });

  it('autoballoon: on by default up to 4.2; "auto" from 4.3 reads dom0_mem= on Xen’s command line', () => {
    const cfg = guestCfg();
    const tight = { free_memory: 1000, xen_commandline: 'dom0_mem=4096M' };
    release(2, { info: tight, dom0: { memory: 14000 } });
    expect(xl('create', '-q', cfg).code).toBe(0);
    release(3, { info: tight, dom0: { memory: 14000 } });
    expect(xl('create', '-q', cfg).stderr).toContain('xc_dom_boot_mem_init');
    release(17, { info: { ...tight, xen_commandline: 'placeholder' }, dom0: { memory: 14000 } });
    expect(xl('create', '-q', cfg).code).toBe(0);
    expect(readXl(dir)?.domains[0]?.memory).toBeLessThan(14000);
  });
});

describe('xenstore in dom0: a vif backend’s state and rate', () => {
  const XS = [SIM_BIN, 'xenstore-read'].join('/');
  const XW = [SIM_BIN, 'xenstore-write'].join('/');
  const run = (bin: string, ...argv: string[]) =>
    spawnSync(bin, argv, { env: { ...process.env, XR_SIM_DIR: dir }, encoding: 'utf8' });
  const seed = (release: string) =>
    seedXl(dir, {
      info: { release },
      domains: [
        { name: 'pv', type: 'pv', pvDrivers: true, vifs: [{ mac: '00:16:3e:00:00:01', rate: '1MB/s' }] },
        { name: 'win', type: 'hvm', vifs: [{ mac: '00:16:3e:00:00:02' }] },
      ],
    });

  it('reads the rate libxl wrote as bytes,usecs and the backend state (4 connected, 2 waiting)', () => {
    seed('6.1.0-18-amd64');
    expect(run(XS, '/local/domain/0/backend/vif/1/0/rate').stdout).toBe('50000,50000\n');
    expect(run(XS, '/local/domain/0/backend/vif/1/0/state').stdout).toBe('4\n');
    expect(run(XS, '/local/domain/0/backend/vif/2/0/state').stdout).toBe('2\n');
    expect(run(XS, '/local/domain/0/backend/vif/2/0/rate').status).toBe(1);
  });

  it('a written rate is enforced at once where netback watches it (Linux 4.2+), not on older dom0 kernels', () => {
    seed('6.1.0-18-amd64');
    expect(run(XW, '/local/domain/0/backend/vif/1/0/rate', '25000,50000').status).toBe(0);
    expect(readXl(dir)?.domains[1]?.vifs[0]).toMatchObject({ enforced: '25000,50000', rate: '1MB/s' });
    seed('3.2.0-4-amd64');
    expect(run(XW, '/local/domain/0/backend/vif/1/0/rate', '25000,50000').status).toBe(0);
    expect(readXl(dir)?.domains[1]?.vifs[0]?.enforced).toBeUndefined();
  });
});

describe('xl reboot builds the domain again as reload_domain_config does', () => {
  const seed = (minor: number) =>
    seedXl(dir, {
      info: { xen_major: 4, xen_minor: minor, release: '6.1.0-18-amd64' },
      domains: [
        {
          name: 'pv',
          type: 'pv',
          memory: 1024,
          maxmem: 2048,
          vcpus: 2,
          maxvcpus: 4,
          pvDrivers: true,
          vifs: [{ mac: '00:16:3e:00:00:01' }],
          config: { memory: 1024, maxmem: 2048, vcpus: 2, maxvcpus: 4, vif: ['mac=00:16:3e:00:00:01,bridge=xenbr0'] },
        },
      ],
    });
  const change = () => {
    xl('sched-credit2', '-d', 'pv', '-w', '512');
    xl('vcpu-set', 'pv', '3');
    xl('mem-set', 'pv', '1536m');
  };
  const XW = path.join(SIM_BIN, 'xenstore-write');

  it('4.17 keeps weight, vCPUs and memory, under a new domid; a xenstore rate is not kept', () => {
    seed(17);
    change();
    spawnSync(XW, ['/local/domain/0/backend/vif/1/0/rate', '25000,50000'], {
      env: { ...process.env, XR_SIM_DIR: dir },
    });
    expect(readXl(dir)?.domains[1]?.vifs[0]?.enforced).toBe('25000,50000');
    expect(xl('reboot', 'pv').code).toBe(0);
    expect(readXl(dir)?.domains[1]).toMatchObject({ domid: 2, weight: 512, vcpus: 3, memory: 1536 });
    expect(readXl(dir)?.domains[1]?.vifs[0]?.enforced).toBeUndefined();
  });

  it('4.4 builds it again from the configuration it was created with; config-update replaces that', () => {
    seed(4);
    change();
    expect(xl('reboot', 'pv').code).toBe(0);
    expect(readXl(dir)?.domains[1]).toMatchObject({ weight: 256, vcpus: 2, memory: 1024 });
    change();
    const f = writeCfg(
      'pv.cfg',
      'name = "pv"\nmemory = 1536\nmaxmem = 2048\nvcpus = 3\nmaxvcpus = 4\ncpu_weight = 512\n',
    );
    expect(xl('config-update', 'pv', f).code).toBe(0);
    expect(xl('reboot', 'pv').code).toBe(0);
    expect(readXl(dir)?.domains[1]).toMatchObject({ weight: 512, vcpus: 3, memory: 1536 });
  });
});
