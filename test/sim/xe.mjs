// @ts-check
/**
 * A simulator of `xe`, the XenAPI command line, for tests: no hypervisor, no xapi; the pool, hosts,
 * VMs, devices and storage live in one JSON file, `$XR_SIM_DIR/xe.json`.
 *
 * What it reproduces from xapi's sources (xe-cli/newcli.ml, xapi-cli-server/cli_printer.ml,
 * cli_operations.ml, cli_util.ml, xapi_cli.ml, cli_frontend.ml, records.ml, idl/datamodel_errors.ml),
 * read at the tags of ERA_TAGS below — master/1.3.2 (XCP 1.5), v1.249.0 (XCP-ng 8.2), v26.1.4
 * (XCP-ng 8.3) — and sm's XE_SR_ERRORCODES.xml. Each behaviour below names its file and function;
 * where the eras differ the simulator answers as the state's era (state.flavour, state.release).
 * - the client joins its arguments with newlines and the server splits them again, so a value with a
 *   line break becomes two parameters (a parameter without `=` gets an empty value);
 * - `--flag` is `flag=true`; `key=value` splits at the first `=`; `-s/-u/-pw/-pwf/-p` and
 *   `server= username= password= port=` are the client's own and never reach the server;
 * - records: `key (TAG): value`, colons aligned, first key padded right, others left, each record
 *   followed by two empty lines; maps `k: v; k2: v2`, sets `a; b`, null references `<not in database>`;
 * - `--minimal`: first field of each record (or the listed values) joined by `,`, with `\,` and `\\`;
 * - `<class>-list` filters (`field=value`, `map:key=value`, `set:contains=value`), `params=a,b|all`
 *   (printed in the record's own field order), the classes' default columns;
 * - `<class>-param-list/-get/-set/-add/-remove/-clear` on the RW/MRW/SRW rules;
 * - VM operations select VMs like `do_vm_op`: every parameter that is not the operation's own is a
 *   filter, templates are never selected, several matches need `--multiple`;
 * - errors: xapi errors as their documentation sentence and `name: value` lines, CLI failures as
 *   `Error: …`, undocumented ones as `Error code:`/`Error parameters:`, all on stderr with status 1
 *   (pool-join's "cannot contact" report goes to stdout with status 0, as in xapi);
 * - `xe` without a running xapi: `Error: Connection refused (calling connect )`.
 *
 * State file (`version: 1`), see createState() for a complete example:
 *   { version, flavour: 'xcp-ng'|'legacy', release?: '8.3' (XCP-ng; absent: 8.2), xapi: boolean, seed, next, clock,
 *     drivers: string[]            SR types the storage manager knows (sr-create checks it)
 *     nfsExports: string[]|null    'server:/path' an NFS SR may use (null: any)
 *     masters: { ADDRESS: { username, password, objects } }   pools this host may join
 *     objects: { pool|host|vm|vif|vbd|vdi|sr|pbd|network|pif|sm: { UUID: { field: value } } } }
 * Field values: strings, maps as objects, sets as arrays, references as a uuid or null.
 * UUIDs, MACs and times are derived from `seed` and a counter: the same commands on the same state
 * give the same file.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

export const STATE_FILE = 'xe.json';
export const CALLS_FILE = 'calls.jsonl';
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const NOT_IN_DATABASE = '<not in database>';

/* ================================================================== schema */

/**
 * @typedef {'RO'|'RW'|'MRO'|'MRW'|'SRO'|'SRW'} Tag
 * @typedef {{ name: string, tag: Tag, ref?: string, get?: (o: any, db: Db) => any, set?: (o: any, v: string, db: Db) => void, ci?: boolean, since?: '8.2' }} Field
 * @typedef {{ api: string, fields: Field[], list: string[], filters?: [string, string][] }} ClassDef
 */

/** @param {string} name @param {Tag} tag @param {Partial<Field>} [extra] @returns {Field} */
const f = (name, tag, extra = {}) => ({ name, tag, ...extra });

/**
 * The memory fields (records.ml: set_memory_* through Client.VM.set_memory_*). The static limits
 * need a halted VM (xapi_vm_lifecycle.ml allowed_power_states `changing_static_range → Halted;
 * all eras); every set keeps static-min ≤ dynamic-min ≤ dynamic-max ≤ static-max
 * (xapi_vm_memory_constraints.ml assert_valid; see assertMemoryOrder for the error per era).
 */
const memoryField = (/** @type {string} */ name) =>
  f(name, 'RW', {
    set: (o, v, db) => {
      const n = bytes(name, v);
      const next = { ...o, [name]: String(n) };
      if (name.startsWith('memory-static')) requireHalted(db, o);
      assertMemoryOrder(next);
      o[name] = String(n);
    },
  });

/**
 * VCPUs-max and VCPUs-at-startup (xapi_vm.ml set_VCPUs_max / set_VCPUs_at_startup, and
 * message_forwarding.ml, which wraps them):
 * - VCPUs-max: with_vm_operation `changing_VCPUs, allowed only while Halted (xapi_vm_lifecycle.ml
 *   allowed_power_states), in every era: VM_BAD_POWER_STATE [vm; halted; actual];
 * - VCPUs-at-startup: master/1.3.2 wraps it in the same `changing_VCPUs operation (halted only);
 *   v1.249.0 and v26.1.4 call Local.VM.set_VCPUs_at_startup directly: it changes on a running VM
 *   too (taking effect at the next start), and refuses dom0 with OPERATION_NOT_ALLOWED;
 * - both: INVALID_VALUE ["VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max"; value]
 *   when value < 1, or max < at-startup.
 */
const vcpuField = (/** @type {string} */ name) =>
  f(name, 'RW', {
    set: (o, v, db) => {
      const n = integer(name, v);
      if (name === 'VCPUs-max' || currentEra === 'xcp-1.5') requireHalted(db, o);
      else if (o['is-control-domain'] === 'true' && o['dom-id'] === '0') {
        throw apiError('OPERATION_NOT_ALLOWED', ['set_VCPUs_at_startup is not allowed on dom0']);
      }
      const max = name === 'VCPUs-max' ? n : Number(o['VCPUs-max']);
      const start = name === 'VCPUs-at-startup' ? n : Number(o['VCPUs-at-startup']);
      if (n < 1 || start > max) {
        throw apiError('INVALID_VALUE', ['VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', String(n)]);
      }
      o[name] = String(n);
    },
  });

/**
 * The classes as records.ml defines them (v1.249.0: field names, order and RO/RW/map/set kind),
 * trimmed to the fields the runbooks and tests touch; `list` is each class's default columns from
 * cli_operations.ml gen_cmds (make_param_funs … def_list_params), the same at master/1.3.2 for
 * these classes.
 * @type {Record<string, ClassDef>}
 */
export const CLASSES = {
  pool: {
    api: 'pool',
    list: ['uuid', 'name-label', 'name-description', 'master', 'default-SR'],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RW'),
      f('name-description', 'RW'),
      f('master', 'RO', { ref: 'host' }),
      f('default-SR', 'RW', {
        ref: 'sr',
        set: (o, v, db) => {
          o['default-SR'] = lookup(db, 'sr', v).uuid;
        },
      }),
      f('crash-dump-SR', 'RW', { ref: 'sr', set: (o, v, db) => void (o['crash-dump-SR'] = lookup(db, 'sr', v).uuid) }),
      f('suspend-image-SR', 'RW', {
        ref: 'sr',
        set: (o, v, db) => void (o['suspend-image-SR'] = lookup(db, 'sr', v).uuid),
      }),
      f('supported-sr-types', 'SRO', { get: (_o, db) => [...db.state.drivers] }),
      f('other-config', 'MRW'),
      f('ha-enabled', 'RO'),
      f('tags', 'SRW'),
    ],
  },
  host: {
    api: 'host',
    list: ['uuid', 'name-label', 'name-description'],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RW'),
      f('name-description', 'RW'),
      f('enabled', 'RO'),
      f('API-version-major', 'RO'),
      f('API-version-minor', 'RO'),
      f('software-version', 'MRO'),
      f('address', 'RO'),
      f('hostname', 'RO'),
      f('other-config', 'MRW'),
      f('memory-total', 'RO'),
      f('memory-free', 'RO', {
        get: (o, db) => {
          const used = all(db, 'vm')
            .filter((v) => v['resident-on'] === o.uuid && v['power-state'] === 'running')
            .reduce((s, v) => s + Number(v['memory-dynamic-max']), 0);
          return String(Math.max(0, Number(o['memory-total']) - used));
        },
      }),
      f('resident-vms', 'SRO', {
        get: (o, db) =>
          all(db, 'vm')
            .filter((v) => v['resident-on'] === o.uuid)
            .map((v) => v.uuid),
      }),
      f('tags', 'SRW'),
    ],
  },
  vm: {
    api: 'VM',
    list: ['name-label', 'uuid', 'power-state'],
    filters: [['is-a-template', 'false']],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RW'),
      f('name-description', 'RW'),
      f('user-version', 'RW'),
      f('is-a-template', 'RW'),
      f('is-default-template', 'RW'),
      f('is-a-snapshot', 'RO'),
      f('is-control-domain', 'RO'),
      f('power-state', 'RO'),
      f('memory-actual', 'RO', {
        get: (o) => (o['power-state'] === 'running' ? o['memory-dynamic-max'] : '0'),
      }),
      f('memory-target', 'RO', {
        get: (o) => (o['power-state'] === 'running' ? o['memory-dynamic-max'] : '0'),
      }),
      memoryField('memory-static-max'),
      memoryField('memory-dynamic-max'),
      memoryField('memory-dynamic-min'),
      memoryField('memory-static-min'),
      f('suspend-VDI-uuid', 'RW', { ref: 'vdi' }),
      f('suspend-SR-uuid', 'RW', { ref: 'sr' }),
      f('VCPUs-params', 'MRW'),
      vcpuField('VCPUs-max'),
      vcpuField('VCPUs-at-startup'),
      f('actions-after-shutdown', 'RW'),
      f('actions-after-reboot', 'RW'),
      f('actions-after-crash', 'RW'),
      f('console-uuids', 'SRO', { get: () => [] }),
      f('platform', 'MRW'),
      f('allowed-operations', 'SRO', { get: (o) => allowedOperations(o) }),
      f('current-operations', 'MRO', { get: () => ({}) }),
      f('blocked-operations', 'MRW'),
      f('allowed-VBD-devices', 'SRO', { get: (o, db) => freeDevices(db, 'vbd', o.uuid, 'userdevice', 16) }),
      f('allowed-VIF-devices', 'SRO', { get: (o, db) => freeDevices(db, 'vif', o.uuid, 'device', 7) }),
      f('possible-hosts', 'RO', {
        get: (_o, db) =>
          all(db, 'host')
            .map((h) => h.uuid)
            .join('; '),
      }),
      f('HVM-boot-policy', 'RW'),
      f('HVM-boot-params', 'MRW'),
      f('HVM-shadow-multiplier', 'RW'),
      f('PV-kernel', 'RW'),
      f('PV-ramdisk', 'RW'),
      f('PV-args', 'RW'),
      f('PV-legacy-args', 'RW'),
      f('PV-bootloader', 'RW'),
      f('PV-bootloader-args', 'RW'),
      f('last-boot-CPU-flags', 'RO'),
      f('last-boot-record', 'RO'),
      f('resident-on', 'RO', { ref: 'host' }),
      f('affinity', 'RW', { ref: 'host' }),
      f('other-config', 'MRW'),
      f('dom-id', 'RO'),
      f('recommendations', 'RO'),
      f('xenstore-data', 'MRW'),
      f('ha-always-run', 'RW'),
      f('ha-restart-priority', 'RW'),
      f('blobs', 'RO'),
      f('start-time', 'RO'),
      f('install-time', 'RO'),
      f('VCPUs-number', 'RO'),
      f('VCPUs-utilisation', 'MRO', {
        get: (o) =>
          o['power-state'] === 'running'
            ? Object.fromEntries(Array.from({ length: Number(o['VCPUs-number']) }, (_, i) => [String(i), '0.000']))
            : {},
      }),
      f('os-version', 'MRO'),
      f('PV-drivers-version', 'MRO'),
      f('PV-drivers-up-to-date', 'RO'),
      f('memory', 'MRO'),
      f('disks', 'MRO'),
      f('networks', 'MRO'),
      f('other', 'MRO'),
      f('live', 'RO'),
      f('guest-metrics-last-updated', 'RO'),
      f('cooperative', 'RO'),
      f('tags', 'SRW'),
      f('appliance', 'RW'),
      f('start-delay', 'RW'),
      f('shutdown-delay', 'RW'),
      f('order', 'RW'),
      f('version', 'RO'),
      f('generation-id', 'RO'),
      f('hardware-platform-version', 'RW'),
      f('has-vendor-device', 'RW'),
      f('requires-reboot', 'RO'),
    ],
  },
  vif: {
    api: 'VIF',
    list: ['uuid', 'device', 'vm-uuid', 'network-uuid'],
    fields: [
      f('uuid', 'RO'),
      f('vm-uuid', 'RO', { ref: 'vm' }),
      f('vm-name-label', 'RO', { get: (o, db) => nameOf(db, 'vm', o['vm-uuid']) }),
      f('allowed-operations', 'SRO', { get: (o) => (o['currently-attached'] === 'true' ? ['unplug'] : ['plug']) }),
      f('current-operations', 'MRO', { get: () => ({}) }),
      f('device', 'RO'),
      f('MAC', 'RO'),
      f('MAC-autogenerated', 'RO'),
      f('MTU', 'RO'),
      f('currently-attached', 'RO'),
      f('qos_algorithm_type', 'RW'),
      f('qos_algorithm_params', 'MRW'),
      // Always empty: xapi_vif_helpers.ml create passes ~qos_supported_algorithms:[] (every era).
      f('qos_supported_algorithms', 'SRO', { get: () => [] }),
      f('other-config', 'MRW'),
      f('network-uuid', 'RO', { ref: 'network' }),
      f('network-name-label', 'RO', { get: (o, db) => nameOf(db, 'network', o['network-uuid']) }),
      f('io_read_kbs', 'RO'),
      f('io_write_kbs', 'RO'),
      f('locking-mode', 'RW'),
      f('ipv4-allowed', 'SRW'),
      f('ipv6-allowed', 'SRW'),
    ],
  },
  vbd: {
    api: 'VBD',
    list: ['uuid', 'vm-uuid', 'vm-name-label', 'vdi-uuid', 'device', 'empty'],
    fields: [
      f('uuid', 'RO'),
      f('vm-uuid', 'RO', { ref: 'vm' }),
      f('vm-name-label', 'RO', { get: (o, db) => nameOf(db, 'vm', o['vm-uuid']) }),
      f('vdi-uuid', 'RO', { ref: 'vdi' }),
      f('vdi-name-label', 'RO', { get: (o, db) => nameOf(db, 'vdi', o['vdi-uuid']) }),
      f('allowed-operations', 'SRO', { get: (o) => (o['currently-attached'] === 'true' ? ['unplug'] : ['plug']) }),
      f('current-operations', 'MRO', { get: () => ({}) }),
      f('empty', 'RO'),
      f('device', 'RO'),
      f('userdevice', 'RW'),
      f('bootable', 'RW'),
      f('mode', 'RW'),
      f('type', 'RW'),
      f('unpluggable', 'RW'),
      f('currently-attached', 'RO'),
      f('attachable', 'RO'),
      f('storage-lock', 'RO'),
      f('status-code', 'RO'),
      f('status-detail', 'RO'),
      f('qos_algorithm_type', 'RW'),
      f('qos_algorithm_params', 'MRW'),
      // Always empty: xapi_vbd_helpers.ml create passes ~qos_supported_algorithms:[] (every era).
      f('qos_supported_algorithms', 'SRO', { get: () => [] }),
      f('other-config', 'MRW'),
      f('io_read_kbs', 'RO'),
      f('io_write_kbs', 'RO'),
    ],
  },
  vdi: {
    api: 'VDI',
    list: ['uuid', 'name-label', 'name-description', 'virtual-size', 'read-only', 'sharable', 'sr-uuid'],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RW'),
      f('name-description', 'RW'),
      f('is-a-snapshot', 'RO'),
      f('sr-uuid', 'RO', { ref: 'sr' }),
      f('sr-name-label', 'RO', { get: (o, db) => nameOf(db, 'sr', o['sr-uuid']) }),
      f('vbd-uuids', 'SRO', {
        get: (o, db) =>
          all(db, 'vbd')
            .filter((b) => b['vdi-uuid'] === o.uuid)
            .map((b) => b.uuid),
      }),
      f('virtual-size', 'RO'),
      f('physical-utilisation', 'RO'),
      f('location', 'RO'),
      f('type', 'RO'),
      f('sharable', 'RO'),
      f('read-only', 'RO'),
      f('managed', 'RO'),
      f('other-config', 'MRW'),
      f('sm-config', 'MRO'),
      f('on-boot', 'RW'),
      f('allow-caching', 'RW'),
      f('tags', 'SRW'),
    ],
  },
  sr: {
    api: 'SR',
    list: ['uuid', 'name-label', 'name-description', 'host', 'type', 'content-type'],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RW'),
      f('name-description', 'RW'),
      f('host', 'RO', {
        get: (o, db) => {
          if (o.shared === 'true') return '<shared>';
          const pbd = all(db, 'pbd').find((p) => p['sr-uuid'] === o.uuid);
          return pbd ? nameOf(db, 'host', pbd['host-uuid']) : NOT_IN_DATABASE;
        },
      }),
      f('allowed-operations', 'SRO', { get: () => ['unplug', 'plug', 'vdi_create', 'scan', 'destroy', 'forget'] }),
      f('current-operations', 'MRO', { get: () => ({}) }),
      f('VDIs', 'SRO', {
        get: (o, db) =>
          all(db, 'vdi')
            .filter((v) => v['sr-uuid'] === o.uuid)
            .map((v) => v.uuid),
      }),
      f('PBDs', 'SRO', {
        get: (o, db) =>
          all(db, 'pbd')
            .filter((p) => p['sr-uuid'] === o.uuid)
            .map((p) => p.uuid),
      }),
      f('virtual-allocation', 'RO', {
        get: (o, db) =>
          String(
            all(db, 'vdi')
              .filter((v) => v['sr-uuid'] === o.uuid)
              .reduce((s, v) => s + Number(v['virtual-size']), 0),
          ),
      }),
      f('physical-utilisation', 'RO'),
      f('physical-size', 'RO'),
      f('type', 'RO'),
      f('content-type', 'RO'),
      f('shared', 'RW'),
      f('introduced-by', 'RO'),
      // records.ml sr_record: is-tools-sr since v1.249.0 (absent at master/1.3.2).
      f('is-tools-sr', 'RO', { since: '8.2' }),
      f('other-config', 'MRW'),
      f('sm-config', 'MRO'),
      f('blobs', 'RO'),
      f('local-cache-enabled', 'RO'),
      f('tags', 'SRW'),
      f('clustered', 'RO'),
    ],
  },
  pbd: {
    api: 'PBD',
    list: ['uuid', 'host-uuid', 'sr-uuid', 'device-config', 'currently-attached'],
    fields: [
      f('uuid', 'RO'),
      f('host-uuid', 'RO', { ref: 'host' }),
      f('host-name-label', 'RO', { get: (o, db) => nameOf(db, 'host', o['host-uuid']) }),
      f('sr-uuid', 'RO', { ref: 'sr' }),
      f('sr-name-label', 'RO', { get: (o, db) => nameOf(db, 'sr', o['sr-uuid']) }),
      f('device-config', 'MRO'),
      f('currently-attached', 'RO'),
      f('other-config', 'MRW'),
    ],
  },
  network: {
    api: 'network',
    list: ['uuid', 'name-label', 'name-description', 'bridge'],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RW'),
      f('name-description', 'RW'),
      f('VIF-uuids', 'SRO', {
        get: (o, db) =>
          all(db, 'vif')
            .filter((v) => v['network-uuid'] === o.uuid)
            .map((v) => v.uuid),
      }),
      f('PIF-uuids', 'SRO', {
        get: (o, db) =>
          all(db, 'pif')
            .filter((p) => p['network-uuid'] === o.uuid)
            .map((p) => p.uuid),
      }),
      f('MTU', 'RW'),
      f('bridge', 'RO'),
      f('managed', 'RO'),
      f('other-config', 'MRW'),
      f('blobs', 'RO'),
      f('tags', 'SRW'),
      f('default-locking-mode', 'RW'),
    ],
  },
  pif: {
    api: 'PIF',
    // gen_cmds names "mac", which matches no field (the field is MAC): pif-list prints no MAC.
    list: ['uuid', 'device', 'VLAN', 'mac', 'network-uuid', 'currently-attached'],
    fields: [
      f('uuid', 'RO'),
      f('device', 'RO'),
      f('MAC', 'RO'),
      f('physical', 'RO'),
      f('managed', 'RO'),
      f('currently-attached', 'RO'),
      f('MTU', 'RO'),
      f('VLAN', 'RO'),
      f('network-uuid', 'RO', { ref: 'network' }),
      f('network-name-label', 'RO', { get: (o, db) => nameOf(db, 'network', o['network-uuid']) }),
      f('host-uuid', 'RO', { ref: 'host' }),
      f('host-name-label', 'RO', { get: (o, db) => nameOf(db, 'host', o['host-uuid']) }),
      f('IP-configuration-mode', 'RO'),
      f('IP', 'RO'),
      f('netmask', 'RO'),
      f('gateway', 'RO'),
      f('DNS', 'RO'),
      f('management', 'RO'),
      f('other-config', 'MRW'),
    ],
  },
  sm: {
    api: 'SM',
    list: ['uuid', 'type', 'name-label', 'name-description', 'vendor', 'copyright', 'configuration'],
    fields: [
      f('uuid', 'RO'),
      f('name-label', 'RO'),
      f('name-description', 'RO'),
      f('type', 'RO'),
      f('vendor', 'RO'),
      f('copyright', 'RO'),
      f('required-api-version', 'RO'),
      f('capabilities', 'SRO'),
      f('configuration', 'MRO'),
      f('driver-filename', 'RO'),
    ],
  },
};

/**
 * CLI aliases: `template-list` is the VM class seen through other default filters
 * (cli_operations.ml gen_cmds: the "template" class, def_filters is-a-template=true and
 * is-a-snapshot=false, default columns name-label, name-description, uuid; v1.249.0).
 */
const ALIASES = {
  template: {
    cls: 'vm',
    list: ['name-label', 'name-description', 'uuid'],
    filters: /** @type {[string, string][]} */ ([
      ['is-a-template', 'true'],
      ['is-a-snapshot', 'false'],
    ]),
  },
};

/**
 * cli_operations.ml stdparams (v1.249.0; master/1.3.2 has no "trace"): never filters, never fields.
 */
const STDPARAMS = [
  'server',
  'password',
  'port',
  'username',
  'minimal',
  'force',
  'multiple',
  'all',
  'message-priority',
  'trace',
];

/* ================================================================== errors */

/**
 * The xapi each flavour runs and the tag its behaviour was read at (xapi-project/xen-api):
 * - 'xcp-1.5': XCP 1.5 / Ubuntu 12.04's xcp-xapi, tag master/1.3.2 (2012-01-19; ocaml/xapi/*.ml,
 *   errors in ocaml/idl/datamodel.ml), cross-checked against f149e82cc9 (2012-06-30);
 * - '8.2': XCP-ng 8.2, tag v1.249.0 (ocaml/xapi-cli-server/*.ml, ocaml/idl/datamodel_errors.ml;
 *   xcp-ng-rpms/xapi branch 8.2 builds 1.249.41 with the same texts);
 * - '8.3': XCP-ng 8.3, tag v26.1.4 (xcp-ng-rpms/xapi branch 8.3, SPECS/xapi.spec Version 26.1.4).
 * @typedef {'xcp-1.5'|'8.2'|'8.3'} Era
 */
export const ERA_TAGS = { 'xcp-1.5': 'master/1.3.2', 8.2: 'v1.249.0', 8.3: 'v26.1.4' };

/** @returns {Era} */
export function eraOf(/** @type {{ flavour: string, release?: string }} */ state) {
  if (state.flavour === 'legacy') return 'xcp-1.5';
  return state.release === '8.3' ? '8.3' : '8.2';
}

/**
 * Documentation sentences of xapi errors and their parameter names, per era: `error Api_errors.X
 * [params] ~doc:"…"` in datamodel.ml (master/1.3.2) or datamodel_errors.ml (v1.249.0, v26.1.4).
 * An era without a sentence has no documentation for the code: xe prints `Error code:` then.
 * @type {Record<string, { params: string[], doc: Partial<Record<Era, string>> }>}
 */
const API_ERRORS = {
  UUID_INVALID: {
    params: ['type', 'uuid'],
    doc: {
      'xcp-1.5': 'The uuid you supplied was invalid.',
      8.2: 'The uuid you supplied was invalid.',
      8.3: 'The uuid you supplied was invalid.',
    },
  },
  SR_UNKNOWN_DRIVER: {
    params: ['driver'],
    doc: {
      'xcp-1.5': 'The SR could not be connected because the driver was not recognised.',
      8.2: 'The SR could not be connected because the driver was not recognised.',
      8.3: 'The SR could not be connected because the driver was not recognised.',
    },
  },
  // 2012: two spaces after "running."; v1.249.0 and later: one.
  VM_BAD_POWER_STATE: {
    params: ['vm', 'expected', 'actual'],
    doc: {
      'xcp-1.5':
        "You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running.  The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.",
      8.2: "You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.",
      8.3: "You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.",
    },
  },
  INVALID_VALUE: {
    params: ['field', 'value'],
    doc: {
      'xcp-1.5': 'The value given is invalid',
      8.2: 'The value given is invalid',
      8.3: 'The value given is invalid',
    },
  },
  OPERATION_NOT_ALLOWED: {
    params: ['reason'],
    doc: {
      'xcp-1.5': 'You attempted an operation that was not allowed.',
      8.2: 'You attempted an operation that was not allowed.',
      8.3: 'You attempted an operation that was not allowed.',
    },
  },
  // master/1.3.2 raises it (xapi_vm_memory_constraints.ml) but datamodel.ml does not document it.
  MEMORY_CONSTRAINT_VIOLATION: {
    params: ['constraint'],
    doc: {
      8.2: 'The dynamic memory range does not satisfy the following constraint.',
      8.3: 'The dynamic memory range does not satisfy the following constraint.',
    },
  },
  // Since v1.230 the order check (Vm_memory_constraints.assert_valid) raises this one, without parameters.
  MEMORY_CONSTRAINT_VIOLATION_ORDER: {
    params: [],
    doc: {
      8.2: 'The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.',
      8.3: 'The dynamic memory range violates constraint static_min <= dynamic_min <= dynamic_max <= static_max.',
    },
  },
  DEVICE_ALREADY_ATTACHED: {
    params: ['device'],
    doc: {
      'xcp-1.5': 'The device is already attached to a VM',
      8.2: 'The device is already attached to a VM',
      8.3: 'The device is already attached to a VM',
    },
  },
  DEVICE_ALREADY_DETACHED: {
    params: ['device'],
    doc: {
      'xcp-1.5': 'The device is not currently attached',
      8.2: 'The device is not currently attached',
      8.3: 'The device is not currently attached',
    },
  },
  DEVICE_ALREADY_EXISTS: {
    params: ['device'],
    doc: {
      'xcp-1.5': 'A device with the name given already exists on the selected VM',
      8.2: 'A device with the name given already exists on the selected VM',
      8.3: 'A device with the name given already exists on the selected VM',
    },
  },
  INVALID_DEVICE: {
    params: ['device'],
    doc: {
      'xcp-1.5': 'The device name is invalid',
      8.2: 'The device name is invalid',
      8.3: 'The device name is invalid',
    },
  },
  MAC_INVALID: {
    params: ['MAC'],
    doc: {
      'xcp-1.5': 'The MAC address specified is not valid.',
      8.2: 'The MAC address specified is not valid.',
      8.3: 'The MAC address specified is not valid.',
    },
  },
  // "host" in 2012; "server" since the rebranding of the texts (v1.249.0 and later).
  JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS: {
    params: [],
    doc: {
      'xcp-1.5': 'The host joining the pool cannot contain any shared storage.',
      8.2: 'The server joining the pool cannot contain any shared storage.',
      8.3: 'The server joining the pool cannot contain any shared storage.',
    },
  },
  JOINING_HOST_CANNOT_HAVE_RUNNING_VMS: {
    params: [],
    doc: {
      'xcp-1.5': 'The host joining the pool cannot have any running VMs.',
      8.2: 'The server joining the pool cannot have any running VMs.',
      8.3: 'The server joining the pool cannot have any running VMs.',
    },
  },
  // "master" until v1.249.x; "coordinator" at v26.1.4.
  JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS: {
    params: [],
    doc: {
      'xcp-1.5': 'The host joining the pool cannot already be a master of another pool.',
      8.2: 'The server joining the pool cannot already be a master of another pool.',
      8.3: 'The server joining the pool cannot already be a coordinator of another pool.',
    },
  },
  HOST_IS_SLAVE: {
    params: ['Master IP address'],
    doc: {
      'xcp-1.5': 'You cannot make regular API calls directly on a slave. Please pass API calls via the master host.',
      8.2: 'You cannot make regular API calls directly on a slave. Please pass API calls via the master host.',
      8.3: 'You cannot make regular API calls directly on a supporter. Please pass API calls via the coordinator host.',
    },
  },
};

/** The era the running command answers in (set by runXe; the seeding helpers never raise). */
/** @type {Era} */
let currentEra = '8.2';

class XeExit extends Error {
  /** @param {number} code @param {string} stderr @param {string} [stdout] */
  constructor(code, stderr, stdout = '') {
    super(stderr);
    this.code = code;
    this.stderr = stderr;
    this.stdout = stdout;
    /** The xapi error code, when the failure is one. */
    this.apiCode = '';
    /** Keep the changes made before the failure (--multiple: the other objects were changed). */
    this.commit = false;
  }
}

/**
 * A xapi error as xe prints it (xapi_cli.ml exception_handler → Cli_util.server_error, newcli.ml):
 * documented in this era: its sentence, then one `name: value` line per parameter (pp_params:
 * `<extra>` / `<unknown>` when the counts differ; references as `uuid (name)`, ref_convert);
 * undocumented: `Error code: CODE` and `Error parameters: a, b` (newcli's Command (Error …)).
 */
function apiError(/** @type {keyof typeof API_ERRORS} */ code, /** @type {string[]} */ params = []) {
  const e = API_ERRORS[code];
  const doc = e?.doc[currentEra];
  if (!e || doc === undefined) {
    const err = undocumentedError(code, params);
    err.apiCode = code;
    return err;
  }
  const lines = [doc];
  const names = e.params;
  const n = Math.max(names.length, params.length);
  for (let i = 0; i < n; i++) lines.push(`${names[i] ?? '<extra>'}: ${params[i] ?? '<unknown>'}`);
  const err = new XeExit(1, `${lines.join('\n')}\n`);
  err.apiCode = code;
  return err;
}

/** An error xapi has no documentation for: newcli.ml prints `Error code:` and `Error parameters:` (", "-joined). */
function undocumentedError(/** @type {string} */ code, /** @type {string[]} */ params) {
  const err = new XeExit(1, `Error code: ${code}\nError parameters: ${params.join(', ')}\n`);
  err.apiCode = code;
  return err;
}

/**
 * A CLI failure: cli_operations.ml's own `failwith` raises Cli_util.Cli_failure, and records.ml /
 * record_util.ml raise Record_failure; xapi_cli.ml exception_handler prints both as `Error: …` on
 * stderr (other_error), exit 1. Every era.
 */
const cliFailure = (/** @type {string} */ msg) => new XeExit(1, `Error: ${msg}\n`);
/**
 * A parameter error (xapi_cli.ml param_error: Unknown_command, Cli_frontend.ParseError /
 * ParamNotFound, authentication): `Label: detail` then newcli's usage pointer. Every era.
 */
const paramError = (/** @type {string} */ msg) => new XeExit(1, `${msg}\nFor usage run: 'xe help'\n`);

/* ================================================================== state */

/**
 * @typedef {Record<string, any>} Obj
 * @typedef {{ version: number, flavour: 'xcp-ng'|'legacy', xapi: boolean, seed: string, next: number, clock: number,
 *   drivers: string[], nfsExports: string[] | null, masters: Record<string, { username: string, password: string, objects: Record<string, Record<string, Obj>> }>,
 *   objects: Record<string, Record<string, Obj>> }} State
 * @typedef {{ state: State }} Db
 */

function hash(/** @type {string} */ s) {
  return createHash('sha1').update(s).digest('hex');
}

/** The next UUID of this state (deterministic). */
export function newUuid(/** @type {State} */ state) {
  const h = hash(`${state.seed}:uuid:${state.next++}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16] ?? '0', 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function newMac(/** @type {State} */ state) {
  const h = hash(`${state.seed}:mac:${state.next++}`);
  // Locally administered, unicast, as xapi's random_mac_local.
  const first = ((parseInt(h.slice(0, 2), 16) & 0xfc) | 0x02).toString(16).padStart(2, '0');
  return [first, h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10, 12)].join(':');
}

function now(/** @type {State} */ state) {
  const t = new Date(Date.UTC(2024, 0, 1) + state.clock++ * 1000);
  return t
    .toISOString()
    .replace(/[-]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function all(/** @type {Db} */ db, /** @type {string} */ cls) {
  return Object.values(db.state.objects[cls] ?? {});
}

function nameOf(/** @type {Db} */ db, /** @type {string} */ cls, /** @type {string|null|undefined} */ uuid) {
  if (!uuid) return NOT_IN_DATABASE;
  return db.state.objects[cls]?.[uuid]?.['name-label'] ?? NOT_IN_DATABASE;
}

/** Object by uuid, or UUID_INVALID [class; uuid] as the database's get_by_uuid raises it (db_cache; every era). */
function lookup(/** @type {Db} */ db, /** @type {string} */ cls, /** @type {string} */ uuid) {
  const o = db.state.objects[cls]?.[uuid];
  if (!o) throw apiError('UUID_INVALID', [CLASSES[cls]?.api ?? cls, uuid]);
  return o;
}

function insert(/** @type {State} */ state, /** @type {string} */ cls, /** @type {Obj} */ fields) {
  const def = CLASSES[cls];
  if (!def) throw new Error(`no class ${cls}`);
  const uuid = fields.uuid ?? newUuid(state);
  /** @type {Obj} */
  const o = { uuid };
  for (const fd of def.fields) {
    if (fd.get || fd.name === 'uuid') continue;
    o[fd.name] = fd.name in fields ? fields[fd.name] : (DEFAULTS[cls]?.[fd.name] ?? defaultFor(fd));
  }
  for (const [k, v] of Object.entries(fields)) if (!(k in o)) o[k] = v;
  (state.objects[cls] ??= {})[uuid] = o;
  return o;
}

function defaultFor(/** @type {Field} */ fd) {
  if (fd.ref) return null;
  if (fd.tag === 'MRO' || fd.tag === 'MRW') return {};
  if (fd.tag === 'SRO' || fd.tag === 'SRW') return [];
  return '';
}

/** @type {Record<string, Obj>} */
const DEFAULTS = {
  vm: {
    'user-version': '1',
    'is-a-template': 'false',
    'is-default-template': 'false',
    'is-a-snapshot': 'false',
    'is-control-domain': 'false',
    'power-state': 'halted',
    'memory-static-max': String(256 * MiB),
    'memory-dynamic-max': String(256 * MiB),
    'memory-dynamic-min': String(256 * MiB),
    'memory-static-min': String(128 * MiB),
    'VCPUs-max': '1',
    'VCPUs-at-startup': '1',
    'actions-after-shutdown': 'destroy',
    'actions-after-reboot': 'restart',
    'actions-after-crash': 'restart',
    'HVM-shadow-multiplier': '1.000',
    'dom-id': '-1',
    'VCPUs-number': '0',
    'ha-always-run': 'false',
    'ha-restart-priority': '',
    'PV-drivers-up-to-date': '<not in database>',
    live: '<not in database>',
    'guest-metrics-last-updated': '<not in database>',
    cooperative: 'true',
    'start-delay': '0',
    'shutdown-delay': '0',
    order: '0',
    version: '0',
    'generation-id': '',
    'hardware-platform-version': '0',
    'has-vendor-device': 'false',
    'requires-reboot': 'false',
    'start-time': '19700101T00:00:00Z',
    'install-time': '19700101T00:00:00Z',
    'last-boot-CPU-flags': '',
    'last-boot-record': '',
    recommendations: '',
    blobs: '',
    'PV-legacy-args': '',
  },
  vif: {
    'MAC-autogenerated': 'true',
    MTU: '1500',
    'currently-attached': 'false',
    qos_algorithm_type: '',
    io_read_kbs: '0.000',
    io_write_kbs: '0.000',
    'locking-mode': 'network_default',
  },
  vbd: {
    empty: 'false',
    bootable: 'false',
    mode: 'RW',
    type: 'Disk',
    unpluggable: 'true',
    'currently-attached': 'false',
    attachable: '<expensive field>',
    'storage-lock': 'false',
    'status-code': '0',
    qos_algorithm_type: '',
    io_read_kbs: '0.000',
    io_write_kbs: '0.000',
  },
  vdi: {
    'is-a-snapshot': 'false',
    'physical-utilisation': '0',
    type: 'User',
    sharable: 'false',
    'read-only': 'false',
    managed: 'true',
    'on-boot': 'persist',
    'allow-caching': 'false',
  },
  sr: {
    'physical-utilisation': '0',
    'physical-size': '0',
    shared: 'false',
    'introduced-by': '<not in database>',
    'is-tools-sr': 'false',
    blobs: '',
    'local-cache-enabled': 'false',
    clustered: 'false',
  },
  pbd: { 'currently-attached': 'true' },
  network: { MTU: '1500', managed: 'true', blobs: '', 'default-locking-mode': 'unlocked' },
  pif: { physical: 'true', managed: 'true', 'currently-attached': 'true', MTU: '1500', VLAN: '-1' },
  host: { enabled: 'true', 'API-version-major': '2', 'API-version-minor': '15', 'memory-total': String(32 * GiB) },
  pool: { 'ha-enabled': 'false' },
};

/* ================================================================== seeding */

const SM_DRIVERS = {
  ext: 'Local EXT3 VHD',
  lvm: 'Local LVM',
  nfs: 'NFS VHD',
  iso: 'ISO',
  udev: 'Local Devices',
  file: 'Local Path VHD',
};

/**
 * The disks a template provisions, as xapi keeps them in other-config:disks (xapi_templates.ml
 * disk_of_xml: <provision><disk device size sr bootable type/></provision>; every era).
 */
export function provisionXml(/** @type {{ device: string, size: number, bootable?: boolean }[]} */ disks) {
  const items = disks
    .map(
      (d) =>
        `<disk device="${d.device}" size="${d.size}" sr="" bootable="${d.bootable ? 'true' : 'false'}" type="system"/>`,
    )
    .join('');
  return `<provision>${items}</provision>`;
}

/**
 * A fresh state as a host starts: a pool with one host (its control domain running), the bridged
 * network xenbr0 on eth0, the host-internal management network, the storage drivers, the Tools SR,
 * the templates, and on XCP-ng the local SR the installer leaves.
 * flavour 'legacy': XCP 1.5 on Ubuntu 12.04 (xapi master/1.3.2; no lvm driver); 'xcp-ng': XCP-ng
 * 8.2 (xapi v1.249.0), or 8.3 with release '8.3' (xapi v26.1.4).
 * - The Tools SR (dbsync_master.ml create_tools_sr): master/1.3.2 creates it at every start, named
 *   Xapi_globs.miami_tools_sr_name "XenServer Tools", marked only in other-config; v1.249.0 and
 *   later only when xapi.conf says create-tools-sr = true, which XCP-ng sets (xcp-ng-rpms/xapi
 *   8.2: SOURCES/00-XCP-ng-create-tools-sr.conf; 8.3: 0001-xcp-ng-configure-xapi.conf-to-meet-our-
 *   needs.patch), named Xapi_globs.tools_sr_name () = PRODUCT_BRAND ^ " Tools" ("XCP-ng Tools"),
 *   described "… ISOs", is_tools_sr = true. Both: type iso, content-type iso, shared, a PBD per
 *   host with device-config location (and path since v1.249.0) = the tools ISO directory.
 * - The local SR: XCP-ng's installer (host-installer, not in the mirrors read) creates "Local
 *   storage" on the rest of the disk and makes it the pool's default SR; `localStorage: false` is
 *   a host installed without one. Ubuntu's xcp-xapi creates no SR.
 * - Templates: XCP-ng's come from the guest-templates-json package, not from xapi (only "Other
 *   install media" is named in xen-api, ocaml/quicktest/qt.ml). Names and disks as there:
 *   xenserver/guest-templates-json json/centos-7.json "CentOS 7" (base-el-7.json: one 10G disk),
 *   json/other-install-media.json "Other install media" (no disk), and XCP-ng's own
 *   xcp-ng-rpms/guest-templates-json SOURCES/debian-12.json "Debian Bookworm 12" (10G). The
 *   legacy "CentOS 5 (64-bit)" is the name of json/centos-5-64bit.json, the template of that era
 *   (XCP 1.5's own template list was built by a part of xapi not in xen-api's tree). Template
 *   memory here is a round 512 MiB, not the packages' values.
 * @param {{ flavour?: 'xcp-ng'|'legacy', release?: '8.2'|'8.3', seed?: string, xapi?: boolean, hostName?: string,
 *   address?: string, drivers?: string[], nfsExports?: string[] | null, localStorage?: boolean }} [opts]
 * @returns {State}
 */
export function createState(opts = {}) {
  const flavour = opts.flavour ?? 'xcp-ng';
  /** @type {State} */
  const state = {
    version: 1,
    flavour,
    ...(flavour === 'xcp-ng' && opts.release === '8.3' ? { release: '8.3' } : {}),
    xapi: opts.xapi ?? true,
    seed: opts.seed ?? 'xe-sim',
    next: 0,
    clock: 0,
    drivers:
      opts.drivers ??
      (flavour === 'legacy' ? ['ext', 'nfs', 'iso', 'udev', 'file'] : ['ext', 'lvm', 'nfs', 'iso', 'udev', 'file']),
    nfsExports: opts.nfsExports ?? null,
    masters: {},
    objects: {},
  };
  const hostName = opts.hostName ?? (flavour === 'legacy' ? 'xcp-precise' : 'xcp-ng-01');
  const address = opts.address ?? '192.0.2.2';
  const software =
    flavour === 'legacy'
      ? {
          product_version: '1.5.0',
          product_brand: 'XCP',
          platform_name: 'XCP',
          platform_version: '1.5.0',
          xapi: '1.3',
          xen: '4.1.2',
          hostname: hostName,
        }
      : opts.release === '8.3'
        ? {
            product_version: '8.3.0',
            product_version_text: '8.3',
            product_brand: 'XCP-ng',
            platform_name: 'XCP',
            platform_version: '3.4.0',
            xapi: '26.1',
            xen: '4.17.5',
            hostname: hostName,
          }
        : {
            product_version: '8.2.1',
            product_version_text: '8.2',
            product_brand: 'XCP-ng',
            platform_name: 'XCP',
            platform_version: '3.2.1',
            xapi: '1.249',
            xen: '4.13.5',
            hostname: hostName,
          };
  // API version (dbsync_slave.ml sets it at start): master/1.3.2 Xapi_globs 1.10; v1.249.0
  // datamodel_common.ml 2.15; v26.1.4 api_version.ml 2.21.
  const api = flavour === 'legacy' ? ['1', '10'] : opts.release === '8.3' ? ['2', '21'] : ['2', '15'];
  const host = insert(state, 'host', {
    'API-version-major': api[0],
    'API-version-minor': api[1],
    'name-label': hostName,
    'name-description': 'Default install',
    address,
    hostname: hostName,
    'software-version': software,
  });
  insert(state, 'pool', {
    'name-label': '',
    master: host.uuid,
    'default-SR': null,
    'crash-dump-SR': null,
    'suspend-image-SR': null,
  });
  insert(state, 'vm', {
    'name-label': `Control domain on host: ${hostName}`,
    'name-description': 'The domain which manages physical devices and manages other domains',
    'is-control-domain': 'true',
    'power-state': 'running',
    'dom-id': '0',
    'resident-on': host.uuid,
    'VCPUs-max': '4',
    'VCPUs-at-startup': '4',
    'VCPUs-number': '4',
    'memory-static-max': String(4 * GiB),
    'memory-dynamic-max': String(4 * GiB),
    'memory-dynamic-min': String(4 * GiB),
    'memory-static-min': String(4 * GiB),
  });
  const net = insert(state, 'network', {
    'name-label': 'Pool-wide network associated with eth0',
    bridge: 'xenbr0',
  });
  insert(state, 'pif', {
    device: 'eth0',
    MAC: newMac(state),
    'network-uuid': net.uuid,
    'host-uuid': host.uuid,
    'IP-configuration-mode': 'Static',
    IP: address,
    netmask: '255.255.255.0',
    gateway: '192.0.2.1',
    management: 'true',
  });
  insert(state, 'network', {
    'name-label': 'Host internal management network',
    'name-description':
      'Network on which guests will be assigned a private link-local IP address which can be used to talk XenAPI',
    bridge: 'xenapi',
    'other-config': { is_guest_installer_network: 'true', is_host_internal_management_network: 'true' },
  });
  for (const type of Object.keys(SM_DRIVERS)) {
    if (!state.drivers.includes(type)) continue;
    insert(state, 'sm', {
      'name-label': SM_DRIVERS[/** @type {keyof typeof SM_DRIVERS} */ (type)],
      type,
      vendor: 'Citrix Systems Inc',
      copyright: '(C) 2008 Citrix Systems Inc',
      'required-api-version': '1.0',
    });
  }
  const templates =
    flavour === 'legacy'
      ? [{ name: 'CentOS 5 (64-bit)', disks: [{ device: '0', size: 8 * GiB, bootable: true }] }]
      : [
          { name: 'CentOS 7', disks: [{ device: '0', size: 10 * GiB, bootable: true }] },
          { name: 'Debian Bookworm 12', disks: [{ device: '0', size: 10 * GiB, bootable: true }] },
          { name: 'Other install media', disks: [] },
        ];
  for (const t of templates) addTemplate(state, t);
  addToolsSr(state);
  if (flavour === 'xcp-ng' && opts.localStorage !== false) {
    addSr(state, { name: 'Local storage', type: 'lvm', device: '/dev/sda3', makeDefault: true });
  }
  return state;
}

/** The Tools SR as dbsync_master.ml create_tools_sr leaves it (see createState). */
function addToolsSr(/** @type {State} */ state) {
  const legacy = state.flavour === 'legacy';
  const name = legacy ? 'XenServer Tools' : 'XCP-ng Tools';
  const description = `${name} ISOs`;
  // Xapi_globs.tools_sr_dir: "/opt/xensource/packages/iso" (v1.249.0); master/1.3.2 Fhs.sharedir
  // ^ "/packages/iso" with SHAREDIR=/opt/xensource in its Makefile.
  const dir = '/opt/xensource/packages/iso';
  const sr = insert(state, 'sr', {
    'name-label': name,
    'name-description': description,
    type: 'iso',
    'content-type': 'iso',
    shared: 'true',
    'is-tools-sr': legacy ? 'false' : 'true',
    'other-config': {
      xensource_internal: 'true',
      xenserver_tools_sr: 'true',
      'i18n-key': 'xenserver-tools',
      'i18n-original-value-name_label': name,
      'i18n-original-value-name_description': description,
    },
  });
  // master/1.3.2: ["location"; "legacy_mode"]; v1.249.0: Xapi_globs.tools_sr_pbd_device_config.
  const config = legacy ? { location: dir, legacy_mode: 'true' } : { path: dir, location: dir, legacy_mode: 'true' };
  for (const h of Object.values(state.objects.host ?? {}))
    insert(state, 'pbd', { 'host-uuid': h.uuid, 'sr-uuid': sr.uuid, 'device-config': { ...config } });
  return sr.uuid;
}

/**
 * A template (is-a-template, default template), with the disks it provisions. The description and
 * PV-bootloader eliloader follow XenServer's Linux templates; XCP-ng's template package itself is
 * not in the mirrors read (see createState).
 */
export function addTemplate(
  /** @type {State} */ state,
  /** @type {{ name: string, disks?: { device: string, size: number, bootable?: boolean }[], memory?: number }} */ t,
) {
  const memory = t.memory ?? 512 * MiB;
  return insert(state, 'vm', {
    'name-label': t.name,
    'name-description': `Template that allows VM installation from Xen-aware ${t.name} distributions.`,
    'is-a-template': 'true',
    'is-default-template': 'true',
    'memory-static-max': String(memory),
    'memory-dynamic-max': String(memory),
    'memory-dynamic-min': String(memory),
    'memory-static-min': String(256 * MiB),
    'PV-bootloader': 'eliloader',
    'other-config': {
      default_template: 'true',
      'install-methods': 'cdrom,nfs,http,ftp',
      ...(t.disks?.length ? { disks: provisionXml(t.disks) } : {}),
    },
  }).uuid;
}

function thisHost(/** @type {State} */ state) {
  const h = Object.values(state.objects.host ?? {})[0];
  if (!h) throw new Error('the state has no host');
  return h;
}

function thePool(/** @type {State} */ state) {
  const p = Object.values(state.objects.pool ?? {})[0];
  if (!p) throw new Error('the state has no pool');
  return p;
}

/** The network on a bridge (seeding helper). */
export function networkByBridge(/** @type {State} */ state, /** @type {string} */ bridge) {
  const n = Object.values(state.objects.network ?? {}).find((x) => x.bridge === bridge);
  if (!n) throw new Error(`no network on bridge ${bridge}`);
  return n.uuid;
}

/**
 * A storage repository with its PBD on this host (or on every host when shared).
 * @param {State} state
 * @param {{ name: string, type?: string, device?: string, server?: string, serverPath?: string, shared?: boolean,
 *   contentType?: string, size?: number, makeDefault?: boolean }} o
 */
export function addSr(state, o) {
  const type = o.type ?? 'ext';
  const shared = o.shared ?? type === 'nfs';
  const sr = insert(state, 'sr', {
    'name-label': o.name,
    type,
    'content-type': o.contentType ?? 'user',
    shared: String(shared),
    'physical-size': String(o.size ?? 0),
    'sm-config': type === 'ext' || type === 'nfs' ? { devserial: '' } : {},
  });
  /** @type {Record<string, string>} */
  const config =
    type === 'nfs' ? { server: o.server ?? '', serverpath: o.serverPath ?? '' } : o.device ? { device: o.device } : {};
  const hosts = shared ? Object.values(state.objects.host ?? {}) : [thisHost(state)];
  for (const h of hosts)
    insert(state, 'pbd', { 'host-uuid': h.uuid, 'sr-uuid': sr.uuid, 'device-config': { ...config } });
  if (o.makeDefault) thePool(state)['default-SR'] = sr.uuid;
  return sr.uuid;
}

/** A virtual disk on an SR. */
export function addVdi(
  /** @type {State} */ state,
  /** @type {string} */ sr,
  /** @type {{ name?: string, size?: number }} */ o = {},
) {
  const uuid = newUuid(state);
  return insert(state, 'vdi', {
    uuid,
    'name-label': o.name ?? '',
    'sr-uuid': sr,
    'virtual-size': String(o.size ?? 8 * GiB),
    location: uuid,
  }).uuid;
}

/**
 * A VM (not a template). Running VMs get a dom-id, sit on this host and count their vCPUs.
 * @param {State} state
 * @param {{ name: string, powerState?: 'halted'|'running'|'paused'|'suspended', vcpusMax?: number, vcpusAtStartup?: number,
 *   memory?: { staticMin?: number, dynamicMin?: number, dynamicMax?: number, staticMax?: number } | number,
 *   otherConfig?: Record<string, string>, vcpusParams?: Record<string, string> }} o
 */
export function addVm(state, o) {
  const m =
    typeof o.memory === 'number'
      ? { staticMax: o.memory, dynamicMax: o.memory, dynamicMin: o.memory }
      : (o.memory ?? {});
  const staticMax = m.staticMax ?? 1 * GiB;
  const vm = insert(state, 'vm', {
    'name-label': o.name,
    'memory-static-max': String(staticMax),
    'memory-dynamic-max': String(m.dynamicMax ?? staticMax),
    'memory-dynamic-min': String(m.dynamicMin ?? m.dynamicMax ?? staticMax),
    'memory-static-min': String(m.staticMin ?? Math.min(256 * MiB, staticMax)),
    'VCPUs-max': String(o.vcpusMax ?? 1),
    'VCPUs-at-startup': String(o.vcpusAtStartup ?? o.vcpusMax ?? 1),
    'VCPUs-params': o.vcpusParams ?? {},
    // xapi_vm.ml create adds other-config:mac_seed to every VM it creates (v1.249.0; clone and
    // import too): VIFs created without a MAC get one derived from it.
    'other-config': { mac_seed: newUuid(state), ...(o.otherConfig ?? {}) },
  });
  const power = o.powerState ?? 'halted';
  if (power !== 'halted') bootVm(state, vm, power);
  return vm.uuid;
}

/** A VIF on a network (given by bridge name or network uuid). */
export function addVif(
  /** @type {State} */ state,
  /** @type {string} */ vm,
  /** @type {{ network?: string, device?: string, mac?: string }} */ o = {},
) {
  const net =
    o.network && state.objects.network?.[o.network] ? o.network : networkByBridge(state, o.network ?? 'xenbr0');
  const v = state.objects.vm?.[vm];
  if (!v) throw new Error(`no VM ${vm}`);
  return insert(state, 'vif', {
    'vm-uuid': vm,
    'network-uuid': net,
    device: o.device ?? freeDevices({ state }, 'vif', vm, 'device', 7)[0] ?? '0',
    MAC: o.mac ?? newMac(state),
    'MAC-autogenerated': o.mac ? 'false' : 'true',
    'currently-attached': v['power-state'] === 'running' ? 'true' : 'false',
  }).uuid;
}

/** A VBD linking a VM to a VDI (created on `sr` when no vdi is given). */
export function addVbd(
  /** @type {State} */ state,
  /** @type {string} */ vm,
  /** @type {{ vdi?: string, sr?: string, size?: number, userdevice?: string, bootable?: boolean, mode?: 'RW'|'RO', type?: 'Disk'|'CD' }} */ o = {},
) {
  const v = state.objects.vm?.[vm];
  if (!v) throw new Error(`no VM ${vm}`);
  let vdi = o.vdi;
  if (!vdi) {
    const srs = Object.values(state.objects.sr ?? {});
    const def = thePool(state)['default-SR'];
    const sr = o.sr ?? (def && state.objects.sr?.[def] ? def : srs.find((x) => x['content-type'] !== 'iso')?.uuid);
    if (!sr) throw new Error('addVbd needs an SR: add one with addSr()');
    vdi = addVdi(state, sr, { name: `${v['name-label']} disk`, ...(o.size ? { size: o.size } : {}) });
  }
  const userdevice = o.userdevice ?? freeDevices({ state }, 'vbd', vm, 'userdevice', 16)[0] ?? '0';
  const running = v['power-state'] === 'running';
  return insert(state, 'vbd', {
    'vm-uuid': vm,
    'vdi-uuid': vdi,
    userdevice,
    device: running ? `xvd${String.fromCharCode(97 + Number(userdevice))}` : '',
    bootable: String(o.bootable ?? userdevice === '0'),
    mode: o.mode ?? 'RW',
    type: o.type ?? 'Disk',
    'currently-attached': String(running),
    'other-config': { owner: '' },
  }).uuid;
}

/**
 * A pool this host may join: `xe pool-join master-address=ADDRESS master-username=… master-password=…`.
 * @param {State} state
 * @param {string} address
 * @param {{ username?: string, password: string, poolName?: string, hostName?: string,
 *   nfs?: { name: string, server: string, serverPath: string, makeDefault?: boolean } }} o
 */
export function addMaster(state, address, o) {
  const remote = createState({
    flavour: state.flavour,
    seed: `${state.seed}:${address}`,
    hostName: o.hostName ?? 'xcp-ng-master',
    address,
    ...(state.release ? { release: state.release } : {}),
    localStorage: false,
  });
  thePool(remote)['name-label'] = o.poolName ?? 'pool';
  for (const cls of ['vm', 'sm', 'pif']) delete remote.objects[cls];
  if (o.nfs) {
    addSr(remote, {
      name: o.nfs.name,
      type: 'nfs',
      server: o.nfs.server,
      serverPath: o.nfs.serverPath,
      makeDefault: o.nfs.makeDefault ?? true,
    });
  }
  state.masters[address] = { username: o.username ?? 'root', password: o.password, objects: remote.objects };
  return { pool: thePool(remote).uuid, host: thisHost(remote).uuid };
}

/* ================================================================== file */

export function statePath(/** @type {string} */ dir) {
  return path.join(dir, STATE_FILE);
}

/** @returns {State} */
export function readXe(/** @type {string} */ dir) {
  return JSON.parse(readFileSync(statePath(dir), 'utf8'));
}

export function writeXe(/** @type {string} */ dir, /** @type {State} */ state) {
  mkdirSync(dir, { recursive: true });
  const file = statePath(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/**
 * Seed `dir/xe.json` and return the uuids tests need.
 *   seedXe(dir)                                      one XCP-ng 8.2 host as installed: Tools SR, Local storage
 *   seedXe(dir, { localStorage: false })             the same without the installer's local SR
 *   seedXe(dir, { flavour: 'legacy', xapi: false })  XCP 1.5 on Ubuntu 12.04, xapi not running yet
 *   seedXe(dir, { sr: { name: 'Local storage', type: 'ext', device: '/dev/sdb', makeDefault: true },
 *                 vms: [{ name: 'web01', powerState: 'running', vcpusMax: 4, vcpusAtStartup: 2,
 *                         vifs: [{ network: 'xenbr0' }], vbds: [{ size: 8 * GiB }] }] })
 *   seedXe(dir, state)                               a state built with createState()/addVm()/…
 * @param {string} dir
 * @param {State | { flavour?: 'xcp-ng'|'legacy', seed?: string, xapi?: boolean, drivers?: string[], nfsExports?: string[] | null,
 *   hostName?: string, address?: string,
 *   sr?: Parameters<typeof addSr>[1],
 *   vms?: (Parameters<typeof addVm>[1] & { vifs?: Parameters<typeof addVif>[2][], vbds?: Parameters<typeof addVbd>[2][] })[],
 *   masters?: Record<string, Parameters<typeof addMaster>[2]> }} [spec]
 */
export function seedXe(dir, spec = {}) {
  /** @type {State} */
  let state;
  /** @type {string | undefined} */
  let sr;
  /** @type {Record<string, { uuid: string, vifs: string[], vbds: string[] }>} */
  const vms = {};
  if ('objects' in spec) {
    state = /** @type {State} */ (spec);
  } else {
    const { sr: srSpec, vms: vmSpecs, masters, ...opts } = spec;
    state = createState(opts);
    if (srSpec) sr = addSr(state, srSpec);
    for (const v of vmSpecs ?? []) {
      const { vifs = [], vbds = [], ...vmOpts } = v;
      const uuid = addVm(state, vmOpts);
      const vbdIds = vbds.map((b) => {
        if (!b.vdi && !b.sr && !sr) {
          const def = thePool(state)['default-SR'];
          sr = def ?? addSr(state, { name: 'Local storage', type: 'ext', device: '/dev/sdb' });
        }
        return addVbd(state, uuid, { ...(sr ? { sr } : {}), ...b });
      });
      vms[v.name] = { uuid, vifs: vifs.map((x) => addVif(state, uuid, x)), vbds: vbdIds };
    }
    for (const [address, m] of Object.entries(masters ?? {})) addMaster(state, address, m);
  }
  writeXe(dir, state);
  // sr: the SR the seed created, else the pool's default SR (the installer's Local storage).
  const def = thePool(state)['default-SR'];
  return { state, pool: thePool(state).uuid, host: thisHost(state).uuid, sr: sr ?? def ?? undefined, vms };
}

/** The calls recorded in dir/calls.jsonl (xe and the recording stand-ins). */
export function readCalls(/** @type {string} */ dir) {
  let text = '';
  try {
    text = readFileSync(path.join(dir, CALLS_FILE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => /** @type {{ cmd: string, argv: string[] }} */ (JSON.parse(l)));
}

/* ================================================================== values and printing */

/** @param {Field} fd @param {Obj} o @param {Db} db @returns {string} */
function printValue(fd, o, db) {
  const v = fd.get ? fd.get(o, db) : o[fd.name];
  if (v === null || v === undefined) return fd.ref ? NOT_IN_DATABASE : '';
  if (Array.isArray(v)) return v.join('; ');
  if (typeof v === 'object') {
    return Object.entries(v)
      .map(([k, x]) => `${k}: ${x}`)
      .join('; ');
  }
  return String(v);
}

function tagText(/** @type {Tag} */ tag) {
  return tag.length === 2 ? ` ${tag}` : tag;
}

/**
 * cli_printer.ml multi_line_record (master/1.3.2, v1.249.0, v26.1.4): first key padded right (pad_rhs),
 * the others left (pad_string), to 4 + the longest key; `key: value` lines.
 */
function multiLineRecord(/** @type {[string, string][]} */ r) {
  const maxlen = 4 + Math.max(0, ...r.map(([k]) => k.length));
  return `${r.map(([k, v], i) => `${i === 0 ? k.padEnd(maxlen) : k.padStart(maxlen)}: ${v}`).join('\n')}\n`;
}

function escapeCommas(/** @type {string} */ s) {
  return s.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

/**
 * Collects output as cli_printer.ml make_printer does: PTable records each followed by an empty
 * line (Print adds the second), PList one value a line, PMsg a line; with --minimal
 * (multi_line_xapi_minimal) each table or list becomes one comma-joined group (escape_commas),
 * groups prepended to a buffer, and minimal_flush prints them joined by `,` — an empty line when
 * nothing matched. Every era.
 */
class Printer {
  constructor(/** @type {boolean} */ minimal) {
    this.minimal = minimal;
    this.out = '';
    /** @type {string[]} */
    this.buffer = [];
  }
  /** A table of records: [[key-with-tag, value], …]. */
  table(/** @type {[string, string][][]} */ rs) {
    if (this.minimal) {
      if (rs.length > 0 && (rs[0]?.length ?? 0) > 0)
        this.buffer.unshift(rs.map((r) => escapeCommas(r[0]?.[1] ?? '')).join(','));
      return;
    }
    for (const r of rs) this.out += `${multiLineRecord(r)}\n\n`;
  }
  list(/** @type {string[]} */ ss) {
    if (this.minimal) this.buffer.unshift(ss.map(escapeCommas).join(','));
    else for (const s of ss) this.out += `${s}\n`;
  }
  msg(/** @type {string} */ s) {
    if (!this.minimal) this.out += `${s}\n`;
  }
  flush() {
    if (this.minimal) this.out += `${this.buffer.join(',')}\n`;
    return this.out;
  }
}

/**
 * records.ml print_field: `name (TAG)`, TAG from the field's setters (RO/RW, MRO/MRW for maps,
 * SRO/SRW for sets; two-letter tags padded with a space); map values `k: v; k2: v2`
 * (Record_util.s2sm_to_string "; "), sets `a; b`, a null reference `<not in database>`.
 * @param {Obj} o @param {Field[]} fields @param {Db} db @returns {[string, string][]}
 */
function recordRows(o, fields, db) {
  return fields.map((fd) => [`${fd.name} (${tagText(fd.tag)})`, printValue(fd, o, db)]);
}

/* ================================================================== parameters */

/**
 * What xapi receives: the client keeps its own options (newcli.ml parse_args: server, port,
 * username, password, passwordfile, nossl, debug, debugonfail and the switches -s -p -u -pw -pwf
 * -h --nossl --debug --debug-on-fail; --traceparent at v26.1.4), joins the rest with newlines, and
 * the server splits at newlines (xapi_cli.ml parse_session_and_args, zap_cr drops a trailing CR)
 * and parses each `key=value` / `--flag` / `-switch value` (cli_frontend.ml parse_commandline and
 * switch_map). Every era.
 * @param {string[]} argv
 */
export function wireParams(argv) {
  const clientKeys = new Set([
    'server',
    'port',
    'username',
    'password',
    'passwordfile',
    'nossl',
    'debug',
    'debugonfail',
    'traceparent',
  ]);
  const switches = new Set(['-s', '-p', '-u', '-pw', '-pwf', '-h', '--traceparent']);
  /** @type {string[]} */
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (switches.has(a) && i + 1 < argv.length) {
      i++;
      continue;
    }
    if (a === '--nossl' || a === '--debug' || a === '--debug-on-fail') continue;
    const eq = a.indexOf('=');
    if (eq > 0 && clientKeys.has(a.slice(0, eq))) continue;
    rest.push(a);
  }
  const wire = rest
    .join('\n')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
  const cmd = wire.shift() ?? '';
  /** @type {[string, string][]} */
  const params = [];
  for (let i = 0; i < wire.length; i++) {
    const p = /** @type {string} */ (wire[i]);
    if (p.startsWith('--')) params.push([p.slice(2), 'true']);
    else if (p.startsWith('-')) {
      if (i + 1 >= wire.length) throw paramError('Syntax error: ');
      const sw = { '-u': 'username', '-pw': 'password', '-p': 'port', '-s': 'server' }[p] ?? p;
      params.push([sw, /** @type {string} */ (wire[++i])]);
    } else {
      const eq = p.indexOf('=');
      params.push(eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)]);
    }
  }
  return { cmd, params };
}

/** The parsed parameters; `req` raises ParamNotFound (cli_frontend.ml get_reqd_param): "Required parameter not found: K". */
class Params {
  constructor(/** @type {[string, string][]} */ list) {
    this.list = list;
  }
  has(/** @type {string} */ k) {
    return this.list.some(([n]) => n === k);
  }
  get(/** @type {string} */ k) {
    const hit = this.list.find(([n]) => n === k);
    return hit ? hit[1] : undefined;
  }
  req(/** @type {string} */ k) {
    const v = this.get(k);
    if (v === undefined) throw paramError(`Required parameter not found: ${k}`);
    return v;
  }
  bool(/** @type {string} */ k) {
    const v = this.get(k);
    return v !== undefined && /^(true|yes|on|1)$/i.test(v);
  }
  /** `name:key=value` parameters of one map. */
  map(/** @type {string} */ name) {
    /** @type {Record<string, string>} */
    const out = {};
    for (const [k, v] of this.list) if (k.startsWith(`${name}:`)) out[k.slice(name.length + 1)] = v;
    return out;
  }
}

/**
 * records.ml safe_i64_of_string (master/1.3.2 ocaml/client_records, v1.249.0 and v26.1.4
 * ocaml/xapi-cli-server): Int64.of_string, else Record_failure "Failed to parse parameter 'F':
 * expecting an integer", printed `Error: …` (xapi_cli.ml exception_handler).
 */
function integer(/** @type {string} */ name, /** @type {string} */ v) {
  if (!/^[-+]?\d+$/.test(v)) throw cliFailure(`Failed to parse parameter '${name}': expecting an integer`);
  return Number(v);
}

/**
 * Record_util.bytes_of_string FIELD:
 * - master/1.3.2 and v1.249.0: digits, optionally followed by one of bytes, KiB, MiB, GiB, TiB
 *   (case as written); "Failed to parse field 'F': expecting an integer (possibly with suffix)",
 *   or "… Unknown suffix: 'S' (try KiB, MiB, GiB or TiB)";
 * - v26.1.4: "%Ld %s" with the suffix in any case, b/bytes, k/kb/kib, m/mb/mib, g/gb/gib,
 *   t/tb/tib (all powers of 1024); "Failed to parse field 'F': expecting an integer (possibly with
 *   suffix KiB, MiB, GiB, TiB), got 'V'".
 */
function bytes(/** @type {string} */ name, /** @type {string} */ v) {
  if (currentEra === '8.3') {
    const m = /^\s*([-+]?\d+)\s*([A-Za-z]*)$/.exec(v);
    const unit = (m?.[2] ?? '').toLowerCase();
    const pow = {
      '': 0,
      b: 0,
      bytes: 0,
      k: 1,
      kb: 1,
      kib: 1,
      m: 2,
      mb: 2,
      mib: 2,
      g: 3,
      gb: 3,
      gib: 3,
      t: 4,
      tb: 4,
      tib: 4,
    }[unit];
    if (!m || pow === undefined || Number(m[1]) < 0) {
      throw cliFailure(
        `Failed to parse field '${name}': expecting an integer (possibly with suffix KiB, MiB, GiB, TiB), got '${v}'`,
      );
    }
    return Number(m[1]) * 1024 ** pow;
  }
  const bad = () => cliFailure(`Failed to parse field '${name}': expecting an integer (possibly with suffix)`);
  const suffix = v.replace(/[\s\d]+/g, ' ').trim();
  if (suffix === '') {
    if (!/^\d+$/.test(v)) throw bad();
    return Number(v);
  }
  if (suffix.includes(' ')) throw bad();
  const digits = v.replace(/\D+/g, ' ').trim();
  if (digits === '' || digits.includes(' ')) throw bad();
  const factor = { bytes: 1, KiB: 1024, MiB, GiB, TiB: 1024 * GiB }[suffix];
  if (factor === undefined)
    throw cliFailure(`Failed to parse field '${name}': Unknown suffix: '${suffix}' (try KiB, MiB, GiB or TiB)`);
  return Number(digits) * factor;
}

/**
 * Vm_memory_constraints.assert_valid (xapi_vm_memory_constraints.ml): master/1.3.2 raises
 * MEMORY_CONSTRAINT_VIOLATION ["Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤
 * static_max"], undocumented there (xe prints `Error code:`); v1.249.0 and v26.1.4 raise
 * MEMORY_CONSTRAINT_VIOLATION_ORDER without parameters.
 */
function assertMemoryOrder(/** @type {Obj} */ o) {
  const sMin = Number(o['memory-static-min']);
  const dMin = Number(o['memory-dynamic-min']);
  const dMax = Number(o['memory-dynamic-max']);
  const sMax = Number(o['memory-static-max']);
  if (!(sMin <= dMin && dMin <= dMax && dMax <= sMax)) {
    if (currentEra === 'xcp-1.5') {
      throw apiError('MEMORY_CONSTRAINT_VIOLATION', [
        'Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max',
      ]);
    }
    throw apiError('MEMORY_CONSTRAINT_VIOLATION_ORDER');
  }
}

/** A VM reference as xe prints it: cli_util.ml ref_convert, `uuid (name-label)`. */
function vmHandle(/** @type {Obj} */ vm) {
  return `${vm.uuid} (${vm['name-label']})`;
}

/**
 * xapi_vm_lifecycle.ml check_operation_error → report_power_state_error: VM_BAD_POWER_STATE
 * [vm; the allowed states joined ", " (Record_util.power_to_string: lower case); actual]. Templates
 * are halted. Every era.
 */
function requireHalted(/** @type {Db} */ _db, /** @type {Obj} */ vm) {
  if (vm['is-a-template'] === 'true') return;
  if (vm['power-state'] !== 'halted') throw apiError('VM_BAD_POWER_STATE', [vmHandle(vm), 'halted', vm['power-state']]);
}

function requireRunning(/** @type {Obj} */ vm) {
  if (vm['power-state'] !== 'running')
    throw apiError('VM_BAD_POWER_STATE', [vmHandle(vm), 'running', vm['power-state']]);
}

/**
 * allowed-operations, a subset of xapi_vm_lifecycle.ml update_allowed_operations (v1.249.0) for
 * the states the simulator has: what allowed_power_states admits in each power state.
 */
function allowedOperations(/** @type {Obj} */ o) {
  if (o['is-a-template'] === 'true')
    return ['changing_memory_limits', 'changing_VCPUs', 'clone', 'copy', 'export', 'provision'];
  if (o['power-state'] === 'running')
    return [
      'changing_dynamic_range',
      'changing_VCPUs_live',
      'clean_shutdown',
      'hard_shutdown',
      'clean_reboot',
      'hard_reboot',
      'pause',
      'suspend',
    ];
  return [
    'changing_dynamic_range',
    'changing_static_range',
    'changing_memory_limits',
    'changing_VCPUs',
    'clone',
    'copy',
    'destroy',
    'export',
    'start',
    'start_on',
  ];
}

function freeDevices(
  /** @type {Db} */ db,
  /** @type {string} */ cls,
  /** @type {string} */ vm,
  /** @type {string} */ field,
  /** @type {number} */ n,
) {
  const used = new Set(
    all(db, cls)
      .filter((x) => x['vm-uuid'] === vm)
      .map((x) => x[field]),
  );
  return Array.from({ length: n }, (_, i) => String(i)).filter((d) => !used.has(d));
}

/**
 * A started VM (xapi_xenops.ml after VM.start): dom-id, resident-on, VCPUs-number from
 * VCPUs-at-startup (VM_metrics), start-time, its VIFs and VBDs attached (a VBD gets its xvdX
 * device). A simplification: no memory or placement checks.
 */
function bootVm(/** @type {State} */ state, /** @type {Obj} */ vm, /** @type {string} */ power = 'running') {
  const db = { state };
  const domids = all(db, 'vm')
    .map((v) => Number(v['dom-id']))
    .filter((n) => n >= 0);
  vm['power-state'] = power;
  vm['dom-id'] = String(Math.max(0, ...domids) + 1);
  vm['resident-on'] = thisHost(state).uuid;
  vm['VCPUs-number'] = vm['VCPUs-at-startup'];
  vm['start-time'] = now(state);
  for (const cls of ['vif', 'vbd']) {
    for (const d of all(db, cls)) {
      if (d['vm-uuid'] !== vm.uuid) continue;
      d['currently-attached'] = 'true';
      if (cls === 'vbd') d.device = `xvd${String.fromCharCode(97 + Number(d.userdevice))}`;
    }
  }
}

function haltVm(/** @type {State} */ state, /** @type {Obj} */ vm) {
  const db = { state };
  vm['power-state'] = 'halted';
  vm['dom-id'] = '-1';
  vm['resident-on'] = null;
  vm['VCPUs-number'] = '0';
  for (const cls of ['vif', 'vbd'])
    for (const d of all(db, cls)) if (d['vm-uuid'] === vm.uuid) d['currently-attached'] = 'false';
}

/* ================================================================== selection */

/** The fields this era's records.ml prints (a field with `since` is absent from older xapi). */
function eraFields(/** @type {ClassDef} */ def) {
  return def.fields.filter((fd) => !(fd.since && currentEra === 'xcp-1.5'));
}

/** What kind of field a filter or a param-set key names (cli_operations.get_field_type). */
function fieldType(/** @type {ClassDef} */ def, /** @type {string} */ name) {
  const exact = eraFields(def).find((x) => x.name === name);
  if (exact) return { kind: 'normal', field: exact };
  const colon = name.indexOf(':');
  if (colon > 0) {
    const real = eraFields(def).find((x) => x.name === name.slice(0, colon));
    if (!real) throw cliFailure(`Unknown field '${name}'`);
    if (real.tag.startsWith('S')) return { kind: 'set', field: real, key: name.slice(colon + 1) };
    if (real.tag.startsWith('M')) return { kind: 'map', field: real, key: name.slice(colon + 1) };
    throw cliFailure(`Field '${real.name}' is not a set or map`);
  }
  throw cliFailure(`Unknown field '${name}'`);
}

/**
 * cli_operations.ml filter_records_on_fields (master/1.3.2, v1.249.0): `field=value` on the printed
 * value, `map:key=value` (filter_records_on_map_param), `set:contains=value`
 * (filter_records_on_set_param: "Invalid syntax for set filtering (should be set-param:contains=key)");
 * exact match (fields marked case_insensitive aside). Not reproduced: the old `map-name-key=value`
 * form of get_field_type.
 */
function filter(
  /** @type {Db} */ db,
  /** @type {ClassDef} */ def,
  /** @type {Obj[]} */ objs,
  /** @type {[string, string][]} */ filters,
) {
  let out = objs;
  for (const [k, v] of filters) {
    if (out.length === 0) return out;
    const t = fieldType(def, k);
    if (t.kind === 'normal') out = out.filter((o) => printValue(t.field, o, db) === v);
    else if (t.kind === 'map') {
      out = out.filter((o) => {
        const m = t.field.get ? t.field.get(o, db) : o[t.field.name];
        return m && Object.prototype.hasOwnProperty.call(m, t.key) && m[t.key] === v;
      });
    } else {
      if (t.key !== 'contains') throw cliFailure('Invalid syntax for set filtering (should be set-param:contains=key)');
      out = out.filter((o) => {
        const s = t.field.get ? t.field.get(o, db) : o[t.field.name];
        return Array.isArray(s) && s.includes(v);
      });
    }
  }
  return out;
}

/**
 * cli_operations.ml select_vms + do_vm_op (v1.249.0; the same at master/1.3.2): is-control-domain=false
 * and is-a-template=false unless the command includes them, `vm=` matches uuid or name-label, every
 * other parameter but stdparams and the operation's own is a filter; "No matching VMs found";
 * several matches need --multiple ("Multiple matches VMs found. --multiple required to complete
 * the operation") or are refused ("… Operation can only be performed on one VM at a time").
 */
function selectVms(
  /** @type {Db} */ db,
  /** @type {Params} */ p,
  /** @type {string[]} */ own,
  /** @type {{ controlDomains?: boolean, templates?: boolean, multiple?: boolean }} */ opts = {},
) {
  /** @type {[string, string][]} */
  const filters = [];
  if (!opts.controlDomains) filters.push(['is-control-domain', 'false']);
  if (!opts.templates) filters.push(['is-a-template', 'false']);
  let objs = all(db, 'vm');
  const byName = p.get('vm');
  if (byName !== undefined) objs = objs.filter((o) => o.uuid === byName || o['name-label'] === byName);
  for (const [k, v] of p.list) {
    const stem = k.split(':')[0] ?? k;
    if (k === 'vm' || STDPARAMS.includes(stem) || own.includes(stem)) continue;
    filters.push([k, v]);
  }
  const vms = filter(db, CLASSES.vm, objs, filters);
  if (vms.length === 0) throw cliFailure('No matching VMs found');
  if (vms.length > 1) {
    if (opts.multiple === false)
      throw cliFailure('Multiple matches VMs found. Operation can only be performed on one VM at a time');
    if (!p.bool('multiple'))
      throw cliFailure('Multiple matches VMs found. --multiple required to complete the operation');
  }
  return vms;
}

/**
 * cli_operations.ml do_multiple → Multiple_failure → xapi_cli.ml multiple_error: every failure as
 * "operation failed on UUID: …" on stdout, status 1; the other VMs keep their change. Every era.
 */
function doMultiple(/** @type {Obj[]} */ vms, /** @type {(vm: Obj) => void} */ op) {
  /** @type {string[]} */
  const fails = [];
  for (const vm of vms) {
    try {
      op(vm);
    } catch (e) {
      if (!(e instanceof XeExit)) throw e;
      fails.unshift(`operation failed on ${vm.uuid}: ${e.stderr.replace(/^Error: /, '').trimEnd()}`);
    }
  }
  if (vms.length > 1 && fails.length) {
    const e = new XeExit(1, '', `${fails.join('\n')}\n`);
    e.commit = true;
    throw e;
  }
  if (fails.length) throw new XeExit(1, `${fails[0]?.replace(/^operation failed on \S+: /, '')}\n`);
}

/* ================================================================== commands */

/** @typedef {(db: Db, p: Params, out: Printer) => void} Command */

/** @type {Record<string, Command>} */
const COMMANDS = {};

/**
 * The per-class commands of cli_operations.ml make_param_funs (v1.249.0; master/1.3.2 alike):
 * - CLASS-list: def_filters, then every parameter but params/stdparams/database:* as a filter;
 *   --all lists every record unfiltered; params=a,b (select_fields, record order) or all, else
 *   the class's default columns;
 * - param-list: every field; param-get: the value, or a map key ("Key K not found in map");
 *   an unknown field: records.ml CLI_failed_to_find_param → "Missing parameter" undocumented;
 * - param-set: `field=value` (RW; "Field 'F' is read-only."; a map/set named bare: "Field 'F' is
 *   a map or set. use the 'name:key=value' syntax."), `map:key=value` (MRW; "Map field 'F' is
 *   read-only."), a set: "Cannot param-set on set fields";
 * - param-add / -remove / -clear on SRW/MRW (and RW for clear), with their failure texts.
 */
function classCommands(
  /** @type {string} */ cliName,
  /** @type {string} */ cls,
  /** @type {{ list: string[], filters?: [string, string][] }} */ view,
) {
  const def = /** @type {ClassDef} */ (CLASSES[cls]);
  COMMANDS[`${cliName}-list`] = (db, p, out) => {
    /** @type {[string, string][]} */
    const filters = [...(view.filters ?? [])];
    for (const [k, v] of p.list)
      if (k !== 'params' && !STDPARAMS.includes(k) && !k.startsWith('database:')) filters.push([k, v]);
    const objs = p.bool('all') ? all(db, cls) : filter(db, def, all(db, cls), filters);
    const chosen = p.get('params');
    const names = chosen === undefined ? view.list : chosen === 'all' ? [] : chosen.split(',');
    const fields = names.length ? eraFields(def).filter((x) => names.includes(x.name)) : eraFields(def);
    out.table(objs.map((o) => recordRows(o, fields, db)));
  };
  if (cliName !== cls) return;
  COMMANDS[`${cls}-param-list`] = (db, p, out) => {
    const o = lookup(db, cls, p.req('uuid'));
    out.table([recordRows(o, eraFields(def), db)]);
  };
  COMMANDS[`${cls}-param-get`] = (db, p, out) => {
    const o = lookup(db, cls, p.req('uuid'));
    const name = p.req('param-name');
    const fd = eraFields(def).find((x) => x.name === name);
    if (!fd) throw undocumentedError('Missing parameter', [name]);
    const key = p.get('param-key');
    if (key !== undefined && fd.tag.startsWith('M')) {
      const m = (fd.get ? fd.get(o, db) : o[fd.name]) ?? {};
      if (!Object.prototype.hasOwnProperty.call(m, key)) throw cliFailure(`Key ${key} not found in map`);
      out.list([m[key]]);
      return;
    }
    out.list([printValue(fd, o, db)]);
  };
  COMMANDS[`${cls}-param-set`] = (db, p) => {
    const o = lookup(db, cls, p.req('uuid'));
    for (const [k, v] of p.list) {
      if (k === 'uuid' || STDPARAMS.includes(k)) continue;
      const t = fieldType(def, k);
      if (t.kind === 'map') {
        if (t.field.tag !== 'MRW') throw cliFailure(`Map field '${t.field.name}' is read-only.`);
        o[t.field.name] = { ...(o[t.field.name] ?? {}), [t.key]: v };
      } else if (t.kind === 'set') {
        throw cliFailure('Cannot param-set on set fields');
      } else {
        const fd = t.field;
        if (fd.tag === 'MRW' || fd.tag === 'SRW')
          throw cliFailure(`Field '${k}' is a map or set. use the 'name:key=value' syntax.`);
        if (fd.tag !== 'RW') throw cliFailure(`Field '${k}' is read-only.`);
        if (fd.set) fd.set(o, v, db);
        else if (fd.ref) o[fd.name] = v === '' ? null : lookup(db, fd.ref, v).uuid;
        else o[fd.name] = v;
      }
    }
  };
  COMMANDS[`${cls}-param-add`] = (db, p) => {
    const o = lookup(db, cls, p.req('uuid'));
    const name = p.req('param-name');
    const fd = eraFields(def).find((x) => x.name === name);
    if (!fd) throw undocumentedError('Missing parameter', [name]);
    if (fd.tag === 'SRW') {
      const key = p.get('param-key');
      if (key === undefined)
        throw cliFailure('When adding a key to a set, use the syntax: *-param-add param-name=<name> param-key=<key>');
      if (!o[name].includes(key)) o[name] = [...o[name], key];
    } else if (fd.tag === 'MRW') {
      for (const [k, v] of p.list) {
        if (['uuid', 'param-name', 'param-key', ...STDPARAMS].includes(k)) continue;
        o[name] = { ...o[name], [k]: v };
      }
    } else if (fd.tag === 'SRO' || fd.tag === 'MRO') throw cliFailure('Parameter is read-only');
    else throw cliFailure('Can only add to parameters of type Set or Map');
  };
  COMMANDS[`${cls}-param-remove`] = (db, p) => {
    const o = lookup(db, cls, p.req('uuid'));
    const name = p.req('param-name');
    const key = p.req('param-key');
    const fd = eraFields(def).find((x) => x.name === name);
    if (!fd) throw undocumentedError('Missing parameter', [name]);
    if (fd.tag === 'SRW') {
      // master/1.3.2: "Key is not in the set"; v1.249.0 and later name the key.
      if (!o[name].includes(key))
        throw cliFailure(currentEra === 'xcp-1.5' ? 'Key is not in the set' : `Key ${key} is not in the set`);
      o[name] = o[name].filter((/** @type {string} */ x) => x !== key);
    } else if (fd.tag === 'MRW') {
      if (!Object.prototype.hasOwnProperty.call(o[name], key))
        throw cliFailure(currentEra === 'xcp-1.5' ? 'Key is not in map' : `Key ${key} is not in map`);
      const { [key]: _gone, ...rest } = o[name];
      o[name] = rest;
    } else if (fd.tag === 'MRO' && currentEra !== 'xcp-1.5') {
      // v1.249.0: { get_map = Some _; remove_from_map = None }; master/1.3.2 has no such case.
      throw cliFailure('Cannot remove parameters from read-only map');
    } else throw cliFailure('Can only remove from parameters of type Set or Map');
  };
  COMMANDS[`${cls}-param-clear`] = (db, p) => {
    const o = lookup(db, cls, p.req('uuid'));
    const name = p.req('param-name');
    const fd = eraFields(def).find((x) => x.name === name);
    if (!fd) throw undocumentedError('Missing parameter', [name]);
    if (fd.tag === 'SRW') o[name] = [];
    else if (fd.tag === 'MRW') o[name] = {};
    else if (fd.tag === 'RW') {
      if (fd.set) fd.set(o, '', db);
      else o[name] = fd.ref ? null : '';
    } else throw cliFailure('Can only clear RW parameters');
  };
}

for (const cls of Object.keys(CLASSES)) classCommands(cls, cls, /** @type {ClassDef} */ (CLASSES[cls]));
classCommands('template', 'vm', ALIASES.template);

/* ---------------------------------------------------------------- VM lifecycle */

/** cli_operations.ml vm_start → do_vm_op ~include_control_vms (own: on, paused, progress); VM.start needs Halted. */
COMMANDS['vm-start'] = (db, p) => {
  const vms = selectVms(db, p, ['on', 'paused', 'progress'], { controlDomains: true });
  doMultiple(vms, (vm) => {
    if (vm['power-state'] !== 'halted')
      throw apiError('VM_BAD_POWER_STATE', [vmHandle(vm), 'halted', vm['power-state']]);
    bootVm(db.state, vm, p.bool('paused') ? 'paused' : 'running');
  });
};

/**
 * cli_operations.ml vm_shutdown / vm_reboot (v1.249.0): --force means VM.hard_shutdown /
 * hard_reboot, else clean_shutdown / clean_reboot; xapi_vm_lifecycle.ml allowed_power_states:
 * clean_* need Running, hard_shutdown Paused, Suspended or Running, hard_reboot Paused or Running
 * (VM_BAD_POWER_STATE lists them ", "-joined).
 */
COMMANDS['vm-shutdown'] = (db, p) => {
  const vms = selectVms(db, p, ['progress']);
  const allowed = p.bool('force') ? ['paused', 'suspended', 'running'] : ['running'];
  doMultiple(vms, (vm) => {
    if (!allowed.includes(vm['power-state'])) {
      throw apiError('VM_BAD_POWER_STATE', [vmHandle(vm), allowed.join(', '), vm['power-state']]);
    }
    haltVm(db.state, vm);
  });
};

COMMANDS['vm-reboot'] = (db, p) => {
  const vms = selectVms(db, p, []);
  const allowed = p.bool('force') ? ['paused', 'running'] : ['running'];
  doMultiple(vms, (vm) => {
    if (!allowed.includes(vm['power-state'])) {
      throw apiError('VM_BAD_POWER_STATE', [vmHandle(vm), allowed.join(', '), vm['power-state']]);
    }
    haltVm(db.state, vm);
    bootVm(db.state, vm);
  });
};

/**
 * cli_operations.ml vm_vcpu_hotplug → VM.set_VCPUs_number_live (xapi_vm.ml) → xapi_xenops.ml
 * set_vcpus: a running VM only, 1 ≤ n ≤ VCPUs-max (xenopsd Invalid_vcpus → INVALID_VALUE ["VCPU values
 * must satisfy: 0 < VCPUs ≤ VCPUs_max"; n]); xapi then records n as VCPUs_at_startup too
 * (Db.VM.set_VCPUs_at_startup), v1.249.0 and v26.1.4. A non-integer: "Failed to parse parameter
 * 'new-vcpus': expecting an integer".
 */
COMMANDS['vm-vcpu-hotplug'] = (db, p) => {
  const raw = p.req('new-vcpus');
  if (!/^-?\d+$/.test(raw.trim())) throw cliFailure("Failed to parse parameter 'new-vcpus': expecting an integer");
  const n = Number(raw);
  const vms = selectVms(db, p, ['new-vcpus']);
  doMultiple(vms, (vm) => {
    requireRunning(vm);
    if (n < 1 || n > Number(vm['VCPUs-max'])) {
      throw apiError('INVALID_VALUE', ['VCPU values must satisfy: 0 < VCPUs ≤ VCPUs_max', String(n)]);
    }
    vm['VCPUs-number'] = String(n);
    vm['VCPUs-at-startup'] = String(n);
  });
};

/**
 * cli_operations.ml vm_memory_dynamic_range_set / _static_range_set / _limits_set: do_vm_op
 * ~include_control_vms ~include_template_vms, sizes by Record_util.bytes_of_string; the static
 * setters need Halted (`changing_static_range / `changing_memory_limits), the dynamic range may
 * change live (`changing_dynamic_range: Halted or Running); the order check of assertMemoryOrder.
 * @param {string[]} keys the four limits this command sets
 */
function memorySetter(keys, /** @type {boolean} */ haltedOnly) {
  /** @type {Command} */
  return (db, p) => {
    /** @type {Record<string, number>} */
    const values = {};
    for (const k of keys) values[k] = bytes(k, p.req(k));
    const vms = selectVms(db, p, keys, { controlDomains: true, templates: true });
    doMultiple(vms, (vm) => {
      if (haltedOnly) requireHalted(db, vm);
      const next = { ...vm };
      if ('min' in values) {
        next[haltedOnly ? 'memory-static-min' : 'memory-dynamic-min'] = String(values.min);
        next[haltedOnly ? 'memory-static-max' : 'memory-dynamic-max'] = String(values.max);
      } else {
        for (const [k, v] of Object.entries(values)) next[`memory-${k}`] = String(v);
      }
      assertMemoryOrder(next);
      for (const k of ['memory-static-min', 'memory-dynamic-min', 'memory-dynamic-max', 'memory-static-max'])
        vm[k] = next[k];
    });
  };
}
COMMANDS['vm-memory-dynamic-range-set'] = memorySetter(['min', 'max'], false);
COMMANDS['vm-memory-static-range-set'] = memorySetter(['min', 'max'], true);
COMMANDS['vm-memory-limits-set'] = memorySetter(['static-min', 'static-max', 'dynamic-min', 'dynamic-max'], true);

/**
 * cli_operations.ml vm_install → vm_install_real (master/1.3.2, v1.249.0, v26.1.4 alike): the
 * template by template-uuid ("Cannot find template"), template-name(-label) or template ("No
 * templates matched", "More than one matching template found"; never a snapshot), else "Template
 * must be specified by parameter …"; "Can only install from templates"; the SR by sr-uuid and/or
 * sr-name-label ("No SR with that name-label found", "Multiple SRs with that name-label found",
 * "SR specified via sr-uuid doesn't have the name specified via sr-name-label"), else the pool's
 * default SR; VM.copy (an SR given) or VM.clone, description "Installed via xe CLI", then
 * rewrite_provisioning_xml + VM.provision creates the template's disks on that SR. Prints the uuid.
 */
COMMANDS['vm-install'] = (db, p, out) => {
  const state = db.state;
  const templates = all(db, 'vm').filter((v) => v['is-a-template'] === 'true' && v['is-control-domain'] === 'false');
  /** @type {Obj} */
  let template;
  const byName = (/** @type {string} */ name) => {
    const hits = templates.filter((t) => t['name-label'] === name);
    if (hits.length === 0) throw cliFailure('No templates matched');
    if (hits.length > 1) throw cliFailure('More than one matching template found');
    return /** @type {Obj} */ (hits[0]);
  };
  const tu = p.get('template-uuid');
  const tn = p.get('template-name-label') ?? p.get('template-name');
  const t = p.get('template');
  if (tu !== undefined) {
    const o = state.objects.vm?.[tu];
    if (!o) throw cliFailure('Cannot find template');
    template = o;
  } else if (tn !== undefined) template = byName(tn);
  else if (t !== undefined) template = state.objects.vm?.[t] ?? byName(t);
  else
    throw cliFailure(
      "Template must be specified by parameter 'template-uuid', 'template-name', 'template-name-label' or 'template'",
    );
  if (template['is-a-template'] !== 'true') throw cliFailure('Can only install from templates');
  const name = p.req('new-name-label');
  /** @type {string | undefined} */
  let sr;
  const srUuid = p.get('sr-uuid');
  if (srUuid !== undefined) sr = lookup(db, 'sr', srUuid).uuid;
  const srName = p.get('sr-name-label');
  if (srName !== undefined) {
    const hits = all(db, 'sr').filter((s) => s['name-label'] === srName);
    if (hits.length === 0) throw cliFailure('No SR with that name-label found');
    if (sr !== undefined) {
      if (!hits.some((h) => h.uuid === sr))
        throw cliFailure("SR specified via sr-uuid doesn't have the name specified via sr-name-label");
    } else if (hits.length > 1) throw cliFailure('Multiple SRs with that name-label found');
    else sr = hits[0]?.uuid;
  }
  const disksXml = template['other-config']?.disks;
  let provisionSr = sr;
  if (!provisionSr) {
    const def = thePool(state)['default-SR'];
    if (def && state.objects.sr?.[def]) provisionSr = def;
    else if (disksXml) {
      // cli_operations.ml vm_install_real, the same text at master/1.3.2, v1.249.0 and v26.1.4:
      // only when the template provisions disks (Xapi_templates.get_template_record disks <> []).
      // "No SR specified and Pool default SR is null" is vm_import's, not vm-install's.
      throw cliFailure(
        'Failed to find a valid default SR for the Pool. Please provide an sr-name-label or sr-uuid parameter.',
      );
    }
  }
  const { disks: _disks, default_template: _dt, ...otherConfig } = template['other-config'] ?? {};
  const vm = insert(state, 'vm', {
    ...Object.fromEntries(Object.entries(template).filter(([k]) => k !== 'uuid')),
    'name-label': name,
    'name-description': 'Installed via xe CLI',
    'is-a-template': 'false',
    'is-default-template': 'false',
    'other-config': { ...otherConfig, mac_seed: newUuid(state) },
    'suspend-SR-uuid': sr ?? null,
    'install-time': now(state),
    'power-state': 'halted',
    'dom-id': '-1',
    'resident-on': null,
  });
  for (const m of String(disksXml ?? '').matchAll(/<disk ([^>]*)\/>/g)) {
    const attrs = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    const vdi = addVdi(state, /** @type {string} */ (provisionSr), {
      name: `${name} ${attrs.device}`,
      size: Number(attrs.size),
    });
    insert(state, 'vbd', {
      'vm-uuid': vm.uuid,
      'vdi-uuid': vdi,
      userdevice: attrs.device,
      bootable: attrs.bootable ?? 'false',
      'other-config': { owner: '' },
    });
  }
  out.list([vm.uuid]);
};

/* ---------------------------------------------------------------- devices */

/**
 * cli_operations.ml vif_create → VIF.create (xapi_vif_helpers.ml create), the same at master/1.3.2,
 * v1.249.0 and v26.1.4: `mac=random` becomes Record_util.random_mac_local (a given MAC, so
 * MAC-autogenerated false); an empty MAC is generated from the VM's other-config:mac_seed (gen_mac,
 * MAC-autogenerated true) and stays empty without one; then, in this order: INVALID_DEVICE when
 * the device is not an integer (valid_device: int_of_string), MAC_INVALID unless six `:`-separated
 * pairs of hex digits (Helpers.is_valid_MAC; kept as written, case included), DEVICE_ALREADY_EXISTS.
 * The MTU is the network's. Prints the new uuid.
 */
COMMANDS['vif-create'] = (db, p, out) => {
  const device = p.req('device');
  const networkUuid = p.req('network-uuid');
  const vm = lookup(db, 'vm', p.req('vm-uuid'));
  const net = lookup(db, 'network', networkUuid);
  let mac = p.get('mac') ?? '';
  let auto = false;
  if (mac === 'random') mac = newMac(db.state);
  if (!/^[-+]?(\d[\d_]*|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)$/.test(device))
    throw apiError('INVALID_DEVICE', [device]);
  if (mac === '' && vm['other-config']?.mac_seed) {
    mac = newMac(db.state);
    auto = true;
  }
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw apiError('MAC_INVALID', [mac]);
  if (all(db, 'vif').some((v) => v['vm-uuid'] === vm.uuid && v.device === device))
    throw apiError('DEVICE_ALREADY_EXISTS', [device]);
  const vif = insert(db.state, 'vif', {
    'vm-uuid': vm.uuid,
    'network-uuid': net.uuid,
    device,
    MAC: mac,
    'MAC-autogenerated': String(auto),
    MTU: net.MTU ?? '1500',
  });
  out.list([vif.uuid]);
};

/**
 * vif-/vbd-plug, -unplug, -destroy (cli_operations.ml → VIF/VBD.plug, unplug, destroy): plug and
 * unplug need a running VM (xapi_vif_helpers / xapi_vbd_helpers valid_operations:
 * VM_BAD_POWER_STATE), plugging an attached device DEVICE_ALREADY_ATTACHED, unplugging a detached
 * one DEVICE_ALREADY_DETACHED, destroying an attached one DEVICE_ALREADY_ATTACHED. Every era.
 */
for (const cls of ['vif', 'vbd']) {
  COMMANDS[`${cls}-plug`] = (db, p) => {
    const d = lookup(db, cls, p.req('uuid'));
    const vm = lookup(db, 'vm', d['vm-uuid']);
    requireRunning(vm);
    if (d['currently-attached'] === 'true') throw apiError('DEVICE_ALREADY_ATTACHED', [d.uuid]);
    d['currently-attached'] = 'true';
    if (cls === 'vbd') d.device = `xvd${String.fromCharCode(97 + Number(d.userdevice))}`;
  };
  COMMANDS[`${cls}-unplug`] = (db, p) => {
    const d = lookup(db, cls, p.req('uuid'));
    const vm = lookup(db, 'vm', d['vm-uuid']);
    requireRunning(vm);
    if (d['currently-attached'] !== 'true') throw apiError('DEVICE_ALREADY_DETACHED', [d.uuid]);
    d['currently-attached'] = 'false';
  };
  COMMANDS[`${cls}-destroy`] = (db, p) => {
    const d = lookup(db, cls, p.req('uuid'));
    if (d['currently-attached'] === 'true') throw apiError('DEVICE_ALREADY_ATTACHED', [d.uuid]);
    delete db.state.objects[cls]?.[d.uuid];
  };
}

/* ---------------------------------------------------------------- storage */

/**
 * cli_operations.ml sr_create → SR.create (xapi_sr.ml): host-uuid or the master; type must be a
 * driver the storage manager registered (SR_UNKNOWN_DRIVER [type]); device-config:* and sm-config:*
 * maps; shared=true gives a PBD on every host (create_storage); prints the uuid. Every era.
 */
COMMANDS['sr-create'] = (db, p, out) => {
  const state = db.state;
  const name = p.req('name-label');
  const type = p.req('type');
  const shared = p.bool('shared');
  const host =
    p.get('host-uuid') !== undefined
      ? lookup(db, 'host', /** @type {string} */ (p.get('host-uuid')))
      : lookup(db, 'host', thePool(state).master);
  if (!state.drivers.includes(type)) throw apiError('SR_UNKNOWN_DRIVER', [type]);
  const config = p.map('device-config');
  // Storage backend failures reach xe as SR_BACKEND_FAILURE_<value> ["", description, ""], which no
  // datamodel documents (xe prints `Error code:`); the values and descriptions are sm's
  // XE_SR_ERRORCODES.xml (xapi-project/sm v2.30.8-12-xcpng for XCP-ng 8.2, v3.2.12 for 8.3: the same).
  // The 2012 sm is not in the mirrors; the legacy flavour answers with the same codes.
  if (type === 'ext' || type === 'lvm') {
    // EXTSR.py / LVMSR.py load: ConfigDeviceMissing = 90.
    if (!config.device)
      throw undocumentedError('SR_BACKEND_FAILURE_90', ['', 'The request is missing the device parameter', '']);
  }
  if (type === 'nfs') {
    // NFSSR.py load: ConfigServerMissing = 102; create → validate_remotepath: ConfigServerPathMissing = 101.
    if (!config.server)
      throw undocumentedError('SR_BACKEND_FAILURE_102', ['', 'The request is missing the server parameter', '']);
    if (!config.serverpath)
      throw undocumentedError('SR_BACKEND_FAILURE_101', ['', 'The request is missing the serverpath parameter', '']);
    // NFSSR.py mount_remotepath: XenError('NFSMount', opterr=…) = 73, "NFS mount error [opterr=…]" (xs_errors.py).
    if (state.nfsExports && !state.nfsExports.includes(`${config.server}:${config.serverpath}`)) {
      throw undocumentedError('SR_BACKEND_FAILURE_73', [
        '',
        'NFS mount error [opterr=mount failed with return code 32]',
        '',
      ]);
    }
  }
  const sr = insert(state, 'sr', {
    'name-label': name,
    'name-description': p.get('name-description') ?? '',
    type,
    'content-type': p.get('content-type') ?? '',
    shared: String(shared),
    'physical-size': p.get('physical-size') ?? '0',
    'sm-config': p.map('sm-config'),
  });
  const hosts = shared ? all(db, 'host') : [host];
  for (const h of hosts)
    insert(state, 'pbd', { 'host-uuid': h.uuid, 'sr-uuid': sr.uuid, 'device-config': { ...config } });
  out.list([sr.uuid]);
};

/* ---------------------------------------------------------------- pool */

/**
 * cli_operations.ml pool_join (master/1.3.2, v1.249.0, v26.1.4): JOINING_HOST_CONNECTION_FAILED is
 * printed on stdout as "Host cannot contact destination host: connection refused." / "Check
 * destination host has services running and accessible from this host." with status 0; a refused
 * login is SESSION_AUTHENTICATION_FAILED, which xapi_cli.ml prints as the param_error
 * "Authentication failed"; success prints "Host agent will restart and attempt to join pool in
 * 10. seconds..." (string_of_float Constants.fuse_time). xapi_pool.ml join → pre_join_checks below.
 */
COMMANDS['pool-join'] = (db, p, out) => {
  const state = db.state;
  const address = p.req('master-address');
  const username = p.req('master-username');
  const password = p.req('master-password');
  const master = state.masters[address];
  if (!master) {
    out.list([
      'Host cannot contact destination host: connection refused.',
      'Check destination host has services running and accessible from this host.',
    ]);
    return;
  }
  if (master.username !== username || master.password !== password) throw paramError('Authentication failed');
  const me = thisHost(state);
  const pool = thePool(state);
  // xapi_pool.ml pre_join_checks, in its order: assert_i_know_of_no_other_hosts,
  // assert_no_running_vms_on_me (power_state = `Running only: paused and suspended VMs pass; the
  // control domain is skipped), assert_no_shared_srs_on_me (below).
  if (all(db, 'host').length > 1) throw apiError('JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS');
  if (all(db, 'vm').some((v) => v['is-control-domain'] !== 'true' && v['power-state'] === 'running')) {
    throw apiError('JOINING_HOST_CANNOT_HAVE_RUNNING_VMS');
  }
  // assert_no_shared_srs_on_me: shared SRs other than the Tools SR. Which SR is the Tools SR:
  // master/1.3.2 Helpers.is_tools_sr (other-config has xenserver_tools_sr or xensource_internal);
  // v1.249.0 and v26.1.4 the SR.is_tools_sr field.
  const toolsSr = (/** @type {Obj} */ s) =>
    currentEra === 'xcp-1.5'
      ? Object.hasOwn(s['other-config'] ?? {}, 'xenserver_tools_sr') ||
        Object.hasOwn(s['other-config'] ?? {}, 'xensource_internal')
      : s['is-tools-sr'] === 'true';
  if (all(db, 'sr').some((s) => s.shared === 'true' && !toolsSr(s)))
    throw apiError('JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS');
  // The joining host takes the pool's database; its own Tools SR is not carried over: the pool has
  // one (dbsync_master.ml create_tools_sr: "Let there be only one Tools SR"), which gets a PBD here.
  for (const s of all(db, 'sr').filter(toolsSr)) {
    for (const p of all(db, 'pbd')) if (p['sr-uuid'] === s.uuid) delete state.objects.pbd?.[p.uuid];
    delete state.objects.sr?.[s.uuid];
  }
  delete state.objects.pool?.[pool.uuid];
  /** @type {Record<string, string>} this host's network → the pool's network on the same bridge */
  const remap = {};
  for (const [cls, objs] of Object.entries(master.objects)) {
    for (const [uuid, o] of Object.entries(objs)) {
      if (cls === 'network') {
        const mine = all(db, 'network').find((n) => n.bridge === o.bridge);
        if (mine) {
          remap[mine.uuid] = uuid;
          delete state.objects.network?.[mine.uuid];
        }
      }
      (state.objects[cls] ??= {})[uuid] = JSON.parse(JSON.stringify(o));
    }
  }
  for (const d of [...all(db, 'pif'), ...all(db, 'vif')]) {
    const to = remap[d['network-uuid']];
    if (to) d['network-uuid'] = to;
  }
  // Shared SRs of the pool get a PBD on the new member.
  for (const sr of all(db, 'sr').filter((s) => s.shared === 'true')) {
    const tmpl = all(db, 'pbd').find((x) => x['sr-uuid'] === sr.uuid);
    if (tmpl && !all(db, 'pbd').some((x) => x['sr-uuid'] === sr.uuid && x['host-uuid'] === me.uuid)) {
      insert(state, 'pbd', { 'host-uuid': me.uuid, 'sr-uuid': sr.uuid, 'device-config': { ...tmpl['device-config'] } });
    }
  }
  delete state.masters[address];
  out.list(['Host agent will restart and attempt to join pool in 10. seconds...']);
};

/* ================================================================== entry points */

/**
 * Run one xe command on the state in `dir` (in-process; bin/xe calls this).
 * @param {string[]} argv
 * @param {{ dir: string }} opts
 * @returns {{ code: number, stdout: string, stderr: string }}
 */
export function runXe(argv, opts) {
  // newcli.ml usage (v26.1.4 text, with --traceparent) for no command or -help/--help; without a
  // running xapi the client's connect fails: "Error: Connection refused (calling connect )".
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-help')) {
    return {
      code: 0,
      stdout: '',
      stderr:
        'Usage: xe <cmd> [-s server] [-p port] ([-u username] [-pw password] or [-pwf <password file>]) [--traceparent traceparent] <other arguments>\n\nA full list of commands can be obtained by running \n\txe help -s <server> -p <port>\n',
    };
  }
  /** @type {State} */
  let state;
  try {
    state = readXe(opts.dir);
  } catch (e) {
    return {
      code: 1,
      stdout: '',
      stderr: `xe simulator: no state in ${statePath(opts.dir)} (seed it with seedXe): ${/** @type {Error} */ (e).message}\n`,
    };
  }
  if (!state.xapi) return { code: 1, stdout: '', stderr: 'Error: Connection refused (calling connect )\n' };
  currentEra = eraOf(state);
  const db = { state };
  try {
    const { cmd, params } = wireParams(argv);
    if (cmd.includes('=')) throw paramError('Syntax error: command name is missing');
    const run = COMMANDS[cmd];
    if (!run) throw paramError(`Unknown command: ${cmd}`);
    const p = new Params(params);
    const printer = new Printer(p.bool('minimal'));
    run(db, p, printer);
    writeXe(opts.dir, state);
    return { code: 0, stdout: printer.flush(), stderr: '' };
  } catch (e) {
    if (e instanceof XeExit) {
      // A failed operation changes nothing, except what --multiple did to the other objects.
      if (e.commit) writeXe(opts.dir, state);
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
    throw e;
  }
}

/** bin/xe: record the call, run it, print, exit. */
export function main() {
  const dir = process.env.XR_SIM_DIR;
  if (!dir) {
    process.stderr.write('xe simulator: XR_SIM_DIR is not set\n');
    process.exit(70);
  }
  const argv = process.argv.slice(2);
  mkdirSync(dir, { recursive: true });
  appendFileSync(path.join(dir, CALLS_FILE), `${JSON.stringify({ cmd: 'xe', argv })}\n`);
  const r = runXe(argv, { dir });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.code;
}
