import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/engine/errors.js';
import {
  escapeMinimal,
  parseMinimal,
  parseRecords,
  parseXeError,
  parseXeMap,
  parseXeSet,
  refOrUndefined,
  xeArgs,
} from '../../src/xen/xe.js';

// Output written by hand from xapi's cli_printer.ml rules: keys padded to 4 + the longest key,
// the first on the right, the others on the left; two empty lines after each record.
const VM_LIST = [
  'uuid ( RO)           : 0b6d4d1c-5ad2-4c3f-8a4e-3c2f6f9a1b01',
  '     name-label ( RW): Control domain on host: xcp-ng-01',
  '    power-state ( RO): running',
  '',
  '',
  'uuid ( RO)           : 7749899f-1c7b-465f-9123-4e0dc59077b0',
  '     name-label ( RW): web, with a comma',
  '    power-state ( RO): halted',
  '',
  '',
  '',
].join('\n');

const PARAM_LIST = [
  'uuid ( RO)                   : 7749899f-1c7b-465f-9123-4e0dc59077b0',
  '             name-label ( RW): vm01',
  '       name-description ( RW): first line',
  'second line',
  '',
  'after an empty line',
  '           other-config (MRW): install-repository: http://mirror/centos/5/os/x86_64; disable_pv_vnc: 1',
  '           VCPUs-params (MRW): ',
  '     allowed-VIF-devices (SRO): 1; 2; 3',
  '            resident-on ( RO): <not in database>',
  '             PV-drivers (MRO) [DEPRECATED]: ',
  '',
  '',
].join('\n');

describe('--minimal', () => {
  it('splits at unescaped commas and unescapes \\, and \\\\', () => {
    expect(parseMinimal('a\\,b,c\\\\d,e\n')).toEqual(['a,b', 'c\\d', 'e']);
    expect(parseMinimal('one\n')).toEqual(['one']);
  });
  it('reads an empty line as nothing found', () => {
    expect(parseMinimal('\n')).toEqual([]);
    expect(parseMinimal('')).toEqual([]);
  });
  it('keeps empty values between commas', () => {
    expect(parseMinimal('a,,b\n')).toEqual(['a', '', 'b']);
  });
  it('round-trips any value through escapeMinimal', () => {
    const values = ['plain', 'a,b', 'back\\slash', '\\,', 'trailing\\', ',lead', ''];
    expect(parseMinimal(`${values.map(escapeMinimal).join(',')}\n`)).toEqual(values);
  });
});

describe('records', () => {
  it('reads a listing of several records', () => {
    const rs = parseRecords(VM_LIST);
    expect(rs).toHaveLength(2);
    expect(rs[1]?.get('name-label')).toBe('web, with a comma');
    expect(rs[1]?.get('power-state')).toBe('halted');
    expect(rs[0]?.fields.get('name-label')?.tag).toBe('RW');
    expect(rs[0]?.fields.get('uuid')?.tag).toBe('RO');
  });
  it('reads maps, sets, empty maps, null references, deprecated fields and multi-line values', () => {
    const [r] = parseRecords(PARAM_LIST);
    expect(r).toBeDefined();
    expect(r?.get('name-description')).toBe('first line\nsecond line\n\nafter an empty line');
    expect(r?.map('other-config')).toEqual({
      'install-repository': 'http://mirror/centos/5/os/x86_64',
      disable_pv_vnc: '1',
    });
    expect(r?.map('VCPUs-params')).toEqual({});
    expect(r?.set('allowed-VIF-devices')).toEqual(['1', '2', '3']);
    expect(r?.fields.get('allowed-VIF-devices')?.tag).toBe('SRO');
    expect(refOrUndefined(r?.get('resident-on'))).toBeUndefined();
    expect(r?.fields.get('PV-drivers')?.deprecated).toBe(true);
  });
  it('reads an empty listing as no records', () => {
    expect(parseRecords('')).toEqual([]);
  });
  it('refuses text that is not a listing', () => {
    expect(() => parseRecords('The uuid you supplied was invalid.\n')).toThrow(/not xe record output/);
  });
  it('parses map and set values on their own', () => {
    expect(parseXeMap('weight: 512; cap: 50')).toEqual({ weight: '512', cap: '50' });
    expect(parseXeMap('')).toEqual({});
    expect(parseXeSet('a; b')).toEqual(['a', 'b']);
    expect(parseXeSet(' ')).toEqual([]);
  });
});

describe('arguments', () => {
  it('builds key=value arguments, maps as name:key=value, flags last', () => {
    expect(
      xeArgs('vm-param-set', { uuid: 'u1', 'other-config': { 'install-repository': 'http://x', disable_pv_vnc: 1 } }),
    ).toEqual(['vm-param-set', 'uuid=u1', 'other-config:install-repository=http://x', 'other-config:disable_pv_vnc=1']);
    expect(xeArgs('vm-list', { 'name-label': 'a b', params: 'uuid', skipped: undefined }, ['minimal'])).toEqual([
      'vm-list',
      'name-label=a b',
      'params=uuid',
      '--minimal',
    ]);
  });
  it('keeps hostile values inside their own argument', () => {
    for (const v of ['a; rm -rf /', '$(reboot)', `it's "quoted"`, '-x', '--minimal', 'a=b']) {
      expect(xeArgs('vm-install', { 'new-name-label': v })[1]).toBe(`new-name-label=${v}`);
    }
  });
  it('refuses values xe would split at a line break', () => {
    expect(() => xeArgs('vm-install', { 'new-name-label': 'a\nsr-uuid=x' })).toThrow(UsageError);
    expect(() => xeArgs('vm-install', { 'new-name-label': 'a\r' })).toThrow(/line break/);
    expect(() => xeArgs('vm-param-set', { 'other-config': { k: 'v\n' } })).toThrow(UsageError);
  });
  it('refuses names that are not xe parameter names', () => {
    expect(() => xeArgs('vm-list', { 'bad name': 'x' })).toThrow(TypeError);
    expect(() => xeArgs('vm list')).toThrow(TypeError);
  });
});

describe('errors', () => {
  it('reads a documented xapi error with its parameters and a hint', () => {
    const e = parseXeError('The SR could not be connected because the driver was not recognised.\ndriver: lvm\n');
    expect(e.code).toBe('SR_UNKNOWN_DRIVER');
    expect(e.params).toEqual({ driver: 'lvm' });
    expect(e.hint).toMatch(/no 'lvm' storage driver.*ext/);
  });
  it('reads UUID_INVALID', () => {
    const e = parseXeError('The uuid you supplied was invalid.\ntype: VM\nuuid: nope\n');
    expect(e).toMatchObject({ code: 'UUID_INVALID', params: { type: 'VM', uuid: 'nope' } });
    expect(e.hint).toMatch(/xe vm-list/);
  });
  it('knows both wordings of the missing default SR', () => {
    expect(parseXeError('Error: No SR specified and Pool default SR is null\n').code).toBe('DEFAULT_SR_NOT_FOUND');
    const modern = parseXeError(
      'Error: Failed to find a valid default SR for the Pool. Please provide an sr-name-label or sr-uuid parameter.\n',
    );
    expect(modern.code).toBe('DEFAULT_SR_NOT_FOUND');
    expect(modern.hint).toMatch(/pool-param-set .*default-SR=/);
  });
  it('says what to do when xapi does not answer', () => {
    const e = parseXeError('Error: Connection refused (calling connect )\n');
    expect(e.code).toBe('XAPI_UNREACHABLE');
    expect(e.hint).toMatch(/xe-toolstack-restart/);
  });
  it('reads errors xapi has no documentation for', () => {
    const e = parseXeError(
      'Error code: SR_BACKEND_FAILURE_73\nError parameters: , NFS mount error [opterr=mount failed with return code 32], \n',
    );
    expect(e.code).toBe('SR_BACKEND_FAILURE_73');
    expect(e.summary).toBe('SR_BACKEND_FAILURE_73: NFS mount error [opterr=mount failed with return code 32]');
    expect(e.hint).toMatch(/SMlog/);
  });
  it('reads parameter errors without the usage pointer', () => {
    expect(parseXeError("Unknown command: vm-frobnicate\nFor usage run: 'xe help'\n")).toMatchObject({
      code: 'UNKNOWN_COMMAND',
      summary: 'Unknown command: vm-frobnicate',
    });
    expect(parseXeError("Authentication failed\nFor usage run: 'xe help'\n").code).toBe(
      'SESSION_AUTHENTICATION_FAILED',
    );
  });
  it("reads pool-join's report on stdout", () => {
    const e = parseXeError(
      '',
      'Host cannot contact destination host: connection refused.\nCheck destination host has services running and accessible from this host.\n',
    );
    expect(e.code).toBe('POOL_JOINING_HOST_CONNECTION_FAILED');
  });
  it.each([
    // datamodel.ml at master/1.3.2, datamodel_errors.ml at v1.249.0 and v26.1.4
    ['The host joining the pool cannot contain any shared storage.', 'JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS'],
    ['The server joining the pool cannot contain any shared storage.', 'JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS'],
    ['The host joining the pool cannot have any running VMs.', 'JOINING_HOST_CANNOT_HAVE_RUNNING_VMS'],
    ['The server joining the pool cannot have any running VMs.', 'JOINING_HOST_CANNOT_HAVE_RUNNING_VMS'],
    [
      'The server joining the pool cannot already be a coordinator of another pool.',
      'JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS',
    ],
    [
      'The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.',
      'MEMORY_CONSTRAINT_VIOLATION_ORDER',
    ],
    [
      'You cannot make regular API calls directly on a supporter. Please pass API calls via the coordinator host.\nMaster IP address: 192.0.2.10',
      'HOST_IS_SLAVE',
    ],
  ])('recognises each era’s sentence: %s', (text, code) => {
    const e = parseXeError(`${text}\n`);
    expect(e.code).toBe(code);
    expect(e.hint).toBeTruthy();
  });
  it('classifies by the code where xe prints one, with the same hint as the sentence', () => {
    // master/1.3.2 does not document MEMORY_CONSTRAINT_VIOLATION: xe prints its code.
    const old = parseXeError(
      'Error code: MEMORY_CONSTRAINT_VIOLATION\nError parameters: Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max\n',
    );
    expect(old.code).toBe('MEMORY_CONSTRAINT_VIOLATION');
    expect(old.hint).toBe(
      parseXeError('The dynamic memory range does not satisfy the following constraint.\nconstraint: x\n').hint,
    );
    // sm's codes: XE_SR_ERRORCODES.xml ConfigServerMissing = 102, ConfigServerPathMissing = 101.
    const server = parseXeError(
      'Error code: SR_BACKEND_FAILURE_102\nError parameters: , The request is missing the server parameter, \n',
    );
    expect(server.hint).toMatch(/device-config:server .*SMlog/);
    expect(parseXeError('Error code: SR_BACKEND_FAILURE_101\nError parameters: , x, \n').hint).toMatch(/serverpath/);
  });
  it('keeps an unknown error as it was printed', () => {
    expect(parseXeError('Error: something new\n')).toMatchObject({
      code: 'CLI_FAILURE',
      summary: 'Error: something new',
    });
  });
});
