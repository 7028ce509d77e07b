import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMinimal, parseRecords, parseXeError } from '../../src/xen/xe.js';
import { SIM_BIN } from '../helpers/playbook.js';
import {
  GiB,
  MiB,
  addMaster,
  addSr,
  addVm,
  createState,
  readCalls,
  readXe,
  runXe,
  seedXe,
  wireParams,
  writeXe,
} from '../sim/xe.mjs';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-xe-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const xe = (...argv: string[]) => runXe(argv, { dir });
const ok = (...argv: string[]) => {
  const r = xe(...argv);
  expect(r.stderr, `xe ${argv.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
};

describe('the xe executable', () => {
  it('records each call and prints like xe', () => {
    seedXe(dir);
    const env = { ...process.env, XR_SIM_DIR: dir, PATH: `${SIM_BIN}:${process.env.PATH}` };
    const out = execFileSync('xe', ['network-list', 'bridge=xenbr0', 'params=bridge', '--minimal'], {
      env,
      encoding: 'utf8',
    });
    expect(out).toBe('xenbr0\n');
    const bad = spawnSync('xe', ['vm-param-get', 'uuid=nope', 'param-name=uuid'], { env, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('The uuid you supplied was invalid.\ntype: VM\nuuid: nope\n');
    expect(readCalls(dir)).toEqual([
      { cmd: 'xe', argv: ['network-list', 'bridge=xenbr0', 'params=bridge', '--minimal'] },
      { cmd: 'xe', argv: ['vm-param-get', 'uuid=nope', 'param-name=uuid'] },
    ]);
  });
  it('answers like xe without a running xapi', () => {
    seedXe(dir, { flavour: 'legacy', xapi: false });
    expect(xe('host-list')).toEqual({ code: 1, stdout: '', stderr: 'Error: Connection refused (calling connect )\n' });
  });
});

describe('output formats', () => {
  it('aligns the colons: first key padded right, the others left, 4 + longest key', () => {
    seedXe(dir, { localStorage: false, sr: { name: 'Local storage', type: 'ext', device: '/dev/sdb' } });
    const out = ok('sr-list', 'type=ext');
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^uuid \( RO\) {16}: [0-9a-f-]{36}$/);
    expect(lines[1]).toBe('          name-label ( RW): Local storage');
    expect(lines[2]).toBe('    name-description ( RW): ');
    expect(out.endsWith('content-type ( RO): user\n\n\n')).toBe(true);
  });
  it('prints maps as k: v; k2: v2 and sets as a; b', () => {
    const s = seedXe(dir, { vms: [{ name: 'web01', vcpusParams: { weight: '512', cap: '50' } }] });
    const uuid = s.vms.web01?.uuid as string;
    expect(ok('vm-param-get', `uuid=${uuid}`, 'param-name=VCPUs-params')).toBe('weight: 512; cap: 50\n');
    expect(ok('vm-param-get', `uuid=${uuid}`, 'param-name=VCPUs-params', 'param-key=cap')).toBe('50\n');
    expect(ok('vm-param-get', `uuid=${uuid}`, 'param-name=allowed-VIF-devices')).toBe('0; 1; 2; 3; 4; 5; 6\n');
    expect(ok('vm-param-get', `uuid=${uuid}`, 'param-name=resident-on')).toBe('<not in database>\n');
    expect(xe('vm-param-get', `uuid=${uuid}`, 'param-name=VCPUs-params', 'param-key=nope').stderr).toBe(
      'Error: Key nope not found in map\n',
    );
  });
  it('escapes commas and backslashes in --minimal and prints an empty line for no match', () => {
    seedXe(dir, { vms: [{ name: 'a,b' }, { name: 'c\\d' }] });
    expect(ok('vm-list', 'is-control-domain=false', 'params=name-label', '--minimal')).toBe('a\\,b,c\\\\d\n');
    expect(parseMinimal(ok('vm-list', 'is-control-domain=false', 'params=name-label', '--minimal'))).toEqual([
      'a,b',
      'c\\d',
    ]);
    expect(ok('vm-list', 'name-label=nothing', '--minimal')).toBe('\n');
  });
  it('prints params= in the record’s own order and ignores unknown names', () => {
    seedXe(dir, { vms: [{ name: 'web01', powerState: 'running' }] });
    const out = ok('vm-list', 'name-label=web01', 'params=power-state,nonsense,uuid');
    const [r] = parseRecords(out);
    expect([...(r?.fields.keys() ?? [])]).toEqual(['uuid', 'power-state']);
  });
  it('lists every field with params=all and the same with param-list, readable by parseRecords', () => {
    const s = seedXe(dir, { vms: [{ name: 'web01', otherConfig: { a: 'b' } }] });
    const uuid = s.vms.web01?.uuid as string;
    const [r] = parseRecords(ok('vm-param-list', `uuid=${uuid}`));
    expect(r?.map('other-config')).toEqual({ mac_seed: expect.stringMatching(/^[0-9a-f-]{36}$/), a: 'b' });
    expect(r?.fields.get('other-config')?.tag).toBe('MRW');
    expect(r?.fields.get('VCPUs-max')?.tag).toBe('RW');
    expect(r?.fields.get('dom-id')?.tag).toBe('RO');
    expect(parseRecords(ok('vm-list', `uuid=${uuid}`, 'params=all'))[0]?.fields.size).toBe(r?.fields.size);
  });
});

describe('arguments as xapi receives them', () => {
  it('splits at line breaks: a value with a newline becomes two parameters', () => {
    expect(wireParams(['vm-param-set', 'uuid=u', 'name-label=a\nsr-uuid=x', 'b=c\r']).params).toEqual([
      ['uuid', 'u'],
      ['name-label', 'a'],
      ['sr-uuid', 'x'],
      ['b', 'c'],
    ]);
    const s = seedXe(dir, { vms: [{ name: 'web01' }] });
    const r = xe('vm-param-set', `uuid=${s.vms.web01?.uuid}`, 'name-label=evil\nVCPUs-max=2');
    expect(r.code).toBe(0);
    const vm = readXe(dir).objects.vm?.[s.vms.web01?.uuid as string];
    expect(vm?.['name-label']).toBe('evil');
    expect(vm?.['VCPUs-max']).toBe('2');
  });
  it('keeps the client’s own options and --flags apart', () => {
    expect(wireParams(['vm-list', '-u', 'root', '-pw', 'x', 'password=y', '--minimal', 'params=uuid']).params).toEqual([
      ['minimal', 'true'],
      ['params', 'uuid'],
    ]);
  });
  it('reports unknown commands and missing parameters like xe', () => {
    seedXe(dir);
    expect(xe('vm-frobnicate').stderr).toBe("Unknown command: vm-frobnicate\nFor usage run: 'xe help'\n");
    expect(xe('vm-param-get', 'param-name=uuid').stderr).toBe(
      "Required parameter not found: uuid\nFor usage run: 'xe help'\n",
    );
    expect(xe('vm-list', 'colour=blue').stderr).toBe("Error: Unknown field 'colour'\n");
  });
});

describe('selection and --multiple', () => {
  it('needs --multiple when a VM operation matches several VMs', () => {
    seedXe(dir, { vms: [{ name: 'a' }, { name: 'b' }] });
    expect(xe('vm-start').stderr).toBe(
      'Error: Multiple matches VMs found. --multiple required to complete the operation\n',
    );
    expect(xe('vm-start', 'name-label=zzz').stderr).toBe('Error: No matching VMs found\n');
    // vm-start also selects control domains (xapi's include_control_vms): dom0 is running already.
    const r = xe('vm-start', '--multiple');
    expect(r.code).toBe(1);
    const dom0 = ok('vm-list', 'is-control-domain=true', '--minimal').trim();
    expect(r.stdout).toMatch(new RegExp(`^operation failed on ${dom0}: You attempted an operation on a VM`));
    expect(
      parseMinimal(ok('vm-list', 'power-state=running', 'is-control-domain=false', 'params=name-label', '--minimal')),
    ).toEqual(['a', 'b']);
  });
  it('filters on map keys and set members', () => {
    seedXe(dir, {
      vms: [
        { name: 'a', otherConfig: { role: 'web' } },
        { name: 'b', otherConfig: { role: 'db' } },
      ],
    });
    expect(parseMinimal(ok('vm-list', 'other-config:role=db', 'params=name-label', '--minimal'))).toEqual(['b']);
    const net = parseMinimal(ok('network-list', 'bridge=xenbr0', '--minimal'))[0] as string;
    expect(
      parseMinimal(
        ok('network-list', `PIF-uuids:contains=${ok('pif-list', 'device=eth0', '--minimal').trim()}`, '--minimal'),
      ),
    ).toEqual([net]);
  });
});

describe('parameters', () => {
  it('sets RW fields and map keys; refuses RO fields and set fields', () => {
    const s = seedXe(dir, { vms: [{ name: 'web01', vifs: [{}] }] });
    const vif = s.vms.web01?.vifs[0] as string;
    ok('vif-param-set', `uuid=${vif}`, 'qos_algorithm_type=ratelimit', 'qos_algorithm_params:kbps=1024');
    expect(ok('vif-param-get', `uuid=${vif}`, 'param-name=qos_algorithm_params')).toBe('kbps: 1024\n');
    expect(xe('vif-param-set', `uuid=${vif}`, 'MAC=aa:bb:cc:dd:ee:ff').stderr).toBe(
      "Error: Field 'MAC' is read-only.\n",
    );
    expect(xe('vif-param-set', `uuid=${vif}`, 'ipv4-allowed=1.2.3.4').stderr).toBe(
      "Error: Field 'ipv4-allowed' is a map or set. use the 'name:key=value' syntax.\n",
    );
    ok('vif-param-remove', `uuid=${vif}`, 'param-name=qos_algorithm_params', 'param-key=kbps');
    expect(ok('vif-param-get', `uuid=${vif}`, 'param-name=qos_algorithm_params')).toBe('\n');
  });
  it('sets the pool default SR only to an SR that exists', () => {
    const s = seedXe(dir, { sr: { name: 'Local storage', device: '/dev/sdb' } });
    expect(xe('pool-param-set', `uuid=${s.pool}`, 'default-SR=nope').stderr).toBe(
      'The uuid you supplied was invalid.\ntype: SR\nuuid: nope\n',
    );
    ok('pool-param-set', `uuid=${s.pool}`, `default-SR=${s.sr}`);
    expect(ok('pool-list', 'params=default-SR', '--minimal')).toBe(`${s.sr}\n`);
  });
});

describe('VM lifecycle and resources', () => {
  it('starts and shuts down, with dom-id, attached devices and power-state errors', () => {
    const s = seedXe(dir, { vms: [{ name: 'web01', vifs: [{}], vbds: [{}] }] });
    const vm = s.vms.web01?.uuid as string;
    expect(ok('vm-list', `uuid=${vm}`, 'params=dom-id', '--minimal')).toBe('-1\n');
    ok('vm-start', `uuid=${vm}`);
    expect(ok('vm-list', `uuid=${vm}`, 'params=dom-id', '--minimal')).toBe('1\n');
    expect(ok('vif-list', `vm-uuid=${vm}`, 'params=currently-attached', '--minimal')).toBe('true\n');
    const again = parseXeError(xe('vm-start', `uuid=${vm}`).stderr);
    expect(again).toMatchObject({
      code: 'VM_BAD_POWER_STATE',
      params: { expected: 'halted', actual: 'running', vm: `${vm} (web01)` },
    });
    ok('vm-shutdown', `uuid=${vm}`);
    expect(ok('vm-list', `uuid=${vm}`, 'params=power-state', '--minimal')).toBe('halted\n');
    expect(parseXeError(xe('vm-shutdown', `uuid=${vm}`).stderr).code).toBe('VM_BAD_POWER_STATE');
  });
  it('hotplugs vCPUs on a running VM up to VCPUs-max', () => {
    const s = seedXe(dir, { vms: [{ name: 'web01', powerState: 'running', vcpusMax: 4, vcpusAtStartup: 2 }] });
    const vm = s.vms.web01?.uuid as string;
    ok('vm-vcpu-hotplug', `uuid=${vm}`, 'new-vcpus=4');
    expect(ok('vm-list', `uuid=${vm}`, 'params=VCPUs-number', '--minimal')).toBe('4\n');
    expect(xe('vm-vcpu-hotplug', `uuid=${vm}`, 'new-vcpus=5').stderr).toBe(
      'The value given is invalid\nfield: VCPU values must satisfy: 0 < VCPUs ≤ VCPUs_max\nvalue: 5\n',
    );
    ok('vm-shutdown', `uuid=${vm}`);
    expect(parseXeError(xe('vm-vcpu-hotplug', `uuid=${vm}`, 'new-vcpus=2').stderr).params.expected).toBe('running');
    expect(xe('vm-param-set', `uuid=${vm}`, 'VCPUs-max=1').stderr).toMatch(
      /^The value given is invalid\nfield: VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max\n/,
    );
  });
  it('keeps static-min ≤ dynamic-min ≤ dynamic-max ≤ static-max', () => {
    const s = seedXe(dir, {
      vms: [
        {
          name: 'db',
          powerState: 'running',
          memory: { staticMin: 512 * MiB, dynamicMin: 1 * GiB, dynamicMax: 1 * GiB, staticMax: 2 * GiB },
        },
      ],
    });
    const vm = s.vms.db?.uuid as string;
    ok('vm-memory-dynamic-range-set', `uuid=${vm}`, 'min=1GiB', 'max=2GiB');
    expect(ok('vm-param-get', `uuid=${vm}`, 'param-name=memory-dynamic-max')).toBe(`${2 * GiB}\n`);
    // v1.249.0 (XCP-ng 8.2): MEMORY_CONSTRAINT_VIOLATION_ORDER, documented, without parameters.
    const bad = xe('vm-memory-dynamic-range-set', `uuid=${vm}`, 'min=1GiB', 'max=3GiB');
    expect(bad.stderr).toBe(
      'The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.\n',
    );
    expect(parseXeError(bad.stderr).code).toBe('MEMORY_CONSTRAINT_VIOLATION_ORDER');
    expect(parseXeError(xe('vm-memory-static-range-set', `uuid=${vm}`, 'min=256MiB', 'max=4GiB').stderr).code).toBe(
      'VM_BAD_POWER_STATE',
    );
    expect(xe('vm-memory-dynamic-range-set', `uuid=${vm}`, 'min=lots', 'max=2GiB').stderr).toMatch(
      /^Error: Failed to parse field 'min': expecting an integer \(possibly with suffix\)$/m,
    );
  });
  it('plugs and unplugs VIFs and VBDs of a running VM', () => {
    const s = seedXe(dir, { vms: [{ name: 'web01', powerState: 'running', vifs: [{}], vbds: [{}] }] });
    const vif = s.vms.web01?.vifs[0] as string;
    const vbd = s.vms.web01?.vbds[0] as string;
    ok('vif-unplug', `uuid=${vif}`);
    expect(parseXeError(xe('vif-unplug', `uuid=${vif}`).stderr).code).toBe('DEVICE_ALREADY_DETACHED');
    ok('vif-plug', `uuid=${vif}`);
    expect(parseXeError(xe('vbd-plug', `uuid=${vbd}`).stderr).code).toBe('DEVICE_ALREADY_ATTACHED');
    expect(ok('vbd-list', `uuid=${vbd}`, 'params=device', '--minimal')).toBe('xvda\n');
  });
});

describe('storage and installation', () => {
  it('refuses lvm where the driver is missing (XCP 1.5 on Ubuntu), creates ext', () => {
    seedXe(dir, { flavour: 'legacy' });
    expect(xe('sr-create', 'name-label=local storage', 'type=lvm', 'device-config:device=/dev/sdb')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'The SR could not be connected because the driver was not recognised.\ndriver: lvm\n',
    });
    const sr = ok(
      'sr-create',
      'name-label=local storage',
      'type=ext',
      'content-type=user',
      'device-config:device=/dev/sdb',
    ).trim();
    expect(ok('pbd-list', `sr-uuid=${sr}`, 'params=device-config', '--minimal')).toBe('device: /dev/sdb\n');
    expect(ok('pbd-list', 'device-config:device=/dev/sdb', 'params=sr-uuid', '--minimal')).toBe(`${sr}\n`);
    expect(ok('sm-list', 'type=lvm', '--minimal')).toBe('\n');
  });
  it('answers vm-install without an SR with vm_install_real’s text in every era', () => {
    // cli_operations.ml vm_install_real: the same text at master/1.3.2, v1.249.0 and v26.1.4.
    const text =
      'Error: Failed to find a valid default SR for the Pool. Please provide an sr-name-label or sr-uuid parameter.\n';
    seedXe(dir, { flavour: 'legacy' });
    expect(xe('vm-install', 'template=CentOS 5 (64-bit)', 'new-name-label=centos-test').stderr).toBe(text);
    seedXe(dir, { localStorage: false });
    expect(xe('vm-install', 'template=CentOS 7', 'new-name-label=c7').stderr).toBe(text);
    expect(parseXeError(text).code).toBe('DEFAULT_SR_NOT_FOUND');
    // A template without disks needs no SR (Xapi_templates disks = []): VM.clone.
    expect(xe('vm-install', 'template=Other install media', 'new-name-label=o').code).toBe(0);
  });
  it('installs from a template onto the SR, with its disk', () => {
    const s = seedXe(dir, { flavour: 'legacy', sr: { name: 'local storage', device: '/dev/sdb' } });
    const vm = ok('vm-install', 'template=CentOS 5 (64-bit)', 'new-name-label=centos-test', `sr-uuid=${s.sr}`).trim();
    expect(ok('vm-list', `uuid=${vm}`, 'params=name-label,is-a-template', '--minimal')).toBe('centos-test\n');
    const vdi = ok('vbd-list', `vm-uuid=${vm}`, 'params=vdi-uuid', '--minimal').trim();
    expect(ok('vdi-list', `uuid=${vdi}`, 'params=sr-uuid', '--minimal')).toBe(`${s.sr}\n`);
    expect(xe('vm-install', 'template=Nope', 'new-name-label=x', `sr-uuid=${s.sr}`).stderr).toBe(
      'Error: No templates matched\n',
    );
    expect(
      xe('vm-install', 'template=CentOS 5 (64-bit)', 'new-name-label=x', 'sr-name-label=local stroage').stderr,
    ).toBe('Error: No SR with that name-label found\n');
  });
  it('creates a VIF on a free device, refuses a taken one', () => {
    const s = seedXe(dir, {
      vms: [
        { name: 'web01', vifs: [{}] },
        { name: 'bare', otherConfig: { mac_seed: '' } },
      ],
    });
    const vm = s.vms.web01?.uuid as string;
    const net = ok('network-list', 'bridge=xenbr0', '--minimal').trim();
    expect(parseXeError(xe('vif-create', `vm-uuid=${vm}`, `network-uuid=${net}`, 'device=0').stderr).code).toBe(
      'DEVICE_ALREADY_EXISTS',
    );
    // xapi_vif_helpers.ml create: the device must be an integer, checked first; without a
    // mac_seed an empty MAC stays empty and is refused.
    expect(xe('vif-create', `vm-uuid=${vm}`, `network-uuid=${net}`, 'device=eth1').stderr).toBe(
      'The device name is invalid\ndevice: eth1\n',
    );
    const bare = s.vms.bare?.uuid as string;
    expect(xe('vif-create', `vm-uuid=${bare}`, `network-uuid=${net}`, 'device=0').stderr).toBe(
      'The MAC address specified is not valid.\nMAC: \n',
    );
    // A MAC is kept as written.
    const upper = ok(
      'vif-create',
      `vm-uuid=${bare}`,
      `network-uuid=${net}`,
      'device=0',
      'mac=AA:BB:CC:00:11:22',
    ).trim();
    expect(ok('vif-param-get', `uuid=${upper}`, 'param-name=MAC')).toBe('AA:BB:CC:00:11:22\n');
    const vif = ok('vif-create', `vm-uuid=${vm}`, `network-uuid=${net}`, 'device=1', 'mac=random').trim();
    expect(ok('vif-list', `uuid=${vif}`, 'params=MAC', '--minimal')).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}\n$/);
  });
});

describe('pools', () => {
  it('joins a pool with the right password; reports a wrong one and an unreachable master', () => {
    const state = createState();
    addMaster(state, '192.0.2.10', {
      password: 's3cret',
      poolName: 'production',
      nfs: { name: 'shared', server: '192.0.2.20', serverPath: '/export' },
    });
    writeXe(dir, state);
    expect(xe('pool-join', 'master-address=192.0.2.99', 'master-username=root', 'master-password=s3cret')).toEqual({
      code: 0,
      stdout:
        'Host cannot contact destination host: connection refused.\nCheck destination host has services running and accessible from this host.\n',
      stderr: '',
    });
    expect(xe('pool-join', 'master-address=192.0.2.10', 'master-username=root', 'master-password=nope').stderr).toBe(
      "Authentication failed\nFor usage run: 'xe help'\n",
    );
    expect(ok('pool-join', 'master-address=192.0.2.10', 'master-username=root', 'master-password=s3cret')).toBe(
      'Host agent will restart and attempt to join pool in 10. seconds...\n',
    );
    expect(ok('pool-list', 'params=name-label', '--minimal')).toBe('production\n');
    expect(parseMinimal(ok('host-list', 'params=address', '--minimal')).sort()).toEqual(['192.0.2.10', '192.0.2.2']);
    const shared = ok('sr-list', 'name-label=shared', '--minimal').trim();
    expect(parseMinimal(ok('pbd-list', `sr-uuid=${shared}`, '--minimal'))).toHaveLength(2);
    expect(parseMinimal(ok('network-list', 'bridge=xenbr0', '--minimal'))).toHaveLength(1);
  });
});

describe('as each xapi answers (XCP 1.5: master/1.3.2, XCP-ng 8.2: v1.249.0, 8.3: v26.1.4)', () => {
  it('starts an XCP-ng host with its Tools SR, the installer’s Local storage as default SR, and templates', () => {
    const s = seedXe(dir);
    const tools = ok('sr-list', 'is-tools-sr=true', '--minimal').trim();
    expect(ok('sr-param-get', `uuid=${tools}`, 'param-name=name-label')).toBe('XCP-ng Tools\n');
    for (const [field, value] of [
      ['type', 'iso'],
      ['content-type', 'iso'],
      ['shared', 'true'],
    ])
      expect(ok('sr-param-get', `uuid=${tools}`, `param-name=${field}`)).toBe(`${value}\n`);
    expect(ok('sr-param-get', `uuid=${tools}`, 'param-name=other-config', 'param-key=xenserver_tools_sr')).toBe(
      'true\n',
    );
    expect(parseMinimal(ok('pbd-list', `sr-uuid=${tools}`, 'params=host-uuid', '--minimal'))).toEqual([s.host]);
    const local = ok('sr-list', 'name-label=Local storage', '--minimal').trim();
    expect(ok('pool-param-get', `uuid=${s.pool}`, 'param-name=default-SR')).toBe(`${local}\n`);
    expect(ok('template-list', 'name-label=Other install media', 'params=is-a-template', '--minimal')).toBe('true\n');
    expect(parseMinimal(ok('sr-list', 'shared=true', '--minimal'))).toEqual([tools]);
  });
  it('starts XCP 1.5 with "XenServer Tools" marked in other-config only, and no local SR', () => {
    seedXe(dir, { flavour: 'legacy' });
    const tools = ok('sr-list', 'name-label=XenServer Tools', '--minimal').trim();
    expect(ok('sr-param-get', `uuid=${tools}`, 'param-name=other-config', 'param-key=xenserver_tools_sr')).toBe(
      'true\n',
    );
    expect(ok('sr-param-list', `uuid=${tools}`)).not.toContain('is-tools-sr');
    expect(parseMinimal(ok('sr-list', '--minimal'))).toEqual([tools]);
  });
  it('joins a pool with only the Tools SR shared; refuses other shared storage in each era’s words', () => {
    const state = createState();
    addMaster(state, '192.0.2.10', { password: 's3cret' });
    writeXe(dir, state);
    const join = ['pool-join', 'master-address=192.0.2.10', 'master-username=root', 'master-password=s3cret'];
    expect(ok(...join)).toBe('Host agent will restart and attempt to join pool in 10. seconds...\n');
    // One Tools SR in the pool, with a PBD on each host.
    const tools = parseMinimal(ok('sr-list', 'is-tools-sr=true', '--minimal'));
    expect(tools).toHaveLength(1);
    expect(parseMinimal(ok('pbd-list', `sr-uuid=${tools[0]}`, '--minimal'))).toHaveLength(2);
    const words = {
      legacy: 'The host joining the pool cannot contain any shared storage.\n',
      '8.2': 'The server joining the pool cannot contain any shared storage.\n',
    };
    for (const [flavour, text] of Object.entries(words)) {
      const st = createState(flavour === 'legacy' ? { flavour: 'legacy' } : {});
      addSr(st, { name: 'nfs', type: 'nfs', server: '192.0.2.20', serverPath: '/x' });
      addMaster(st, '192.0.2.10', { password: 's3cret' });
      writeXe(dir, st);
      const r = xe(...join);
      expect(r.stderr).toBe(text);
      expect(parseXeError(r.stderr).code).toBe('JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS');
    }
  });
  it('counts only running VMs against a join (paused and suspended pass), as assert_no_running_vms_on_me', () => {
    const state = createState();
    addVm(state, { name: 'p', powerState: 'paused' });
    addMaster(state, '192.0.2.10', { password: 's3cret' });
    writeXe(dir, state);
    expect(xe('pool-join', 'master-address=192.0.2.10', 'master-username=root', 'master-password=s3cret').code).toBe(0);
    const st = createState({ release: '8.3' });
    addVm(st, { name: 'r', powerState: 'running' });
    addMaster(st, '192.0.2.10', { password: 's3cret' });
    writeXe(dir, st);
    const r = xe('pool-join', 'master-address=192.0.2.10', 'master-username=root', 'master-password=s3cret');
    expect(r.stderr).toBe('The server joining the pool cannot have any running VMs.\n');
  });
  it('prints the memory order error as each era: by code in 2012, documented since', () => {
    for (const [flavour, expected] of [
      [
        'legacy',
        'Error code: MEMORY_CONSTRAINT_VIOLATION\nError parameters: Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max\n',
      ],
      [
        'xcp-ng',
        'The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.\n',
      ],
    ] as const) {
      const s = seedXe(dir, { flavour, vms: [{ name: 'v', memory: 1 * GiB }] });
      const r = xe('vm-memory-dynamic-range-set', `uuid=${s.vms.v?.uuid}`, 'min=1GiB', 'max=2GiB');
      expect(r.stderr).toBe(expected);
      const e = parseXeError(r.stderr);
      expect(e.code).toMatch(/^MEMORY_CONSTRAINT_VIOLATION/);
      expect(e.hint).toContain('static-min ≤ dynamic-min');
    }
  });
  it('changes VCPUs-at-startup of a running VM today, not in 2012; VCPUs-max only halted', () => {
    const s = seedXe(dir, { vms: [{ name: 'v', powerState: 'running', vcpusMax: 4, vcpusAtStartup: 2 }] });
    const vm = s.vms.v?.uuid as string;
    ok('vm-param-set', `uuid=${vm}`, 'VCPUs-at-startup=3');
    expect(ok('vm-param-get', `uuid=${vm}`, 'param-name=VCPUs-at-startup')).toBe('3\n');
    expect(parseXeError(xe('vm-param-set', `uuid=${vm}`, 'VCPUs-max=8').stderr).code).toBe('VM_BAD_POWER_STATE');
    const l = seedXe(dir, { flavour: 'legacy', vms: [{ name: 'v', powerState: 'running', vcpusMax: 4 }] });
    const r = xe('vm-param-set', `uuid=${l.vms.v?.uuid}`, 'VCPUs-at-startup=3');
    // master/1.3.2's sentence has two spaces after "running.".
    expect(r.stderr).toContain('already running.  The parameters');
    expect(parseXeError(r.stderr).params.actual).toBe('running');
  });
  it('answers NFS sr-create without server or serverpath with sm’s codes 102 and 101', () => {
    seedXe(dir);
    const noServer = xe('sr-create', 'name-label=n', 'type=nfs', 'shared=true', 'device-config:serverpath=/x');
    expect(noServer.stderr).toBe(
      'Error code: SR_BACKEND_FAILURE_102\nError parameters: , The request is missing the server parameter, \n',
    );
    expect(parseXeError(noServer.stderr).hint).toContain('device-config:server');
    const noPath = xe('sr-create', 'name-label=n', 'type=nfs', 'shared=true', 'device-config:server=192.0.2.20');
    expect(parseXeError(noPath.stderr).code).toBe('SR_BACKEND_FAILURE_101');
    expect(parseXeError(noPath.stderr).hint).toContain('serverpath');
  });
  it('leaves qos_supported_algorithms empty on VIFs and VBDs', () => {
    const s = seedXe(dir, { vms: [{ name: 'v', vifs: [{}], vbds: [{}] }] });
    expect(ok('vif-param-get', `uuid=${s.vms.v?.vifs[0]}`, 'param-name=qos_supported_algorithms')).toBe('\n');
    expect(ok('vbd-param-get', `uuid=${s.vms.v?.vbds[0]}`, 'param-name=qos_supported_algorithms')).toBe('\n');
  });
  it('reads memory sizes as each era’s Record_util.bytes_of_string', () => {
    const s = seedXe(dir, { vms: [{ name: 'v', memory: 1 * GiB }] });
    const vm = s.vms.v?.uuid as string;
    expect(xe('vm-memory-dynamic-range-set', `uuid=${vm}`, 'min=512M', 'max=1GiB').stderr).toBe(
      "Error: Failed to parse field 'min': Unknown suffix: 'M' (try KiB, MiB, GiB or TiB)\n",
    );
    const t = seedXe(dir, { release: '8.3', vms: [{ name: 'v', memory: 1 * GiB }] });
    const vm3 = t.vms.v?.uuid as string;
    ok('vm-memory-dynamic-range-set', `uuid=${vm3}`, 'min=512M', 'max=1g');
    expect(ok('vm-param-get', `uuid=${vm3}`, 'param-name=memory-dynamic-min')).toBe(`${512 * MiB}\n`);
    expect(xe('vm-memory-dynamic-range-set', `uuid=${vm3}`, 'min=lots', 'max=1g').stderr).toBe(
      "Error: Failed to parse field 'min': expecting an integer (possibly with suffix KiB, MiB, GiB, TiB), got 'lots'\n",
    );
  });
  it('says coordinator at 8.3 where 8.2 said master', () => {
    const text = {
      '8.2': 'The server joining the pool cannot already be a master of another pool.',
      '8.3': 'The server joining the pool cannot already be a coordinator of another pool.',
    };
    for (const release of ['8.2', '8.3'] as const) {
      const st = createState({ release });
      st.objects.host = { ...st.objects.host, extra: { uuid: 'extra', 'name-label': 'h2' } };
      addMaster(st, '192.0.2.10', { password: 's3cret' });
      writeXe(dir, st);
      const r = xe('pool-join', 'master-address=192.0.2.10', 'master-username=root', 'master-password=s3cret');
      expect(r.stderr).toBe(`${text[release]}\n`);
      expect(parseXeError(r.stderr).code).toBe('JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS');
    }
  });
});

describe('determinism', () => {
  it('gives the same state for the same commands', () => {
    const run = (d: string) => {
      seedXe(d, { flavour: 'legacy' });
      const sr = runXe(['sr-create', 'name-label=s', 'type=ext', 'device-config:device=/dev/sdb'], {
        dir: d,
      }).stdout.trim();
      runXe(['vm-install', 'template=CentOS 5 (64-bit)', 'new-name-label=v', `sr-uuid=${sr}`], { dir: d });
      return readXe(d);
    };
    const other = mkdtempSync(path.join(os.tmpdir(), 'xr-xe-'));
    try {
      expect(run(dir)).toEqual(run(other));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
