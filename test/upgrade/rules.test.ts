// The release rules: each fires on the releases and toolstacks its source says, and not on the others.
import { describe, expect, it } from 'vitest';
import { XlConfig } from 'xen-runbooks/xen/xlcfg';
import { parseXenVersion } from 'xen-runbooks/grub';
import { RULES, configReasons } from 'xen-runbooks/playbooks/xen-upgrade-check/release-rules';
import type { TargetToolstack } from 'xen-runbooks/playbooks/xen-upgrade-check/target';

function ids(text: string, release: string, toolstack: TargetToolstack = 'xl'): string[] {
  const input = { cfg: XlConfig.parse(text), version: parseXenVersion(release), toolstack };
  return [...configReasons(input, 'config'), ...configReasons(input, 'resources')]
    .filter((r) => r.severity !== 'note' || !r.id.startsWith('deprecated-'))
    .map((r) => `${r.id}:${r.severity}`);
}

describe('the rules, release by release', () => {
  it("builder = 'linux': xl refuses it from 4.10.0, reads it as PV before, xend is fine", () => {
    const cfg = "builder = 'linux'\nkernel = '/k'\n";
    expect(ids(cfg, '4.10.0')).toEqual(['builder-invalid:blocks']);
    expect(ids(cfg, '4.17')).toEqual(['builder-invalid:blocks']);
    expect(ids(cfg, '4.9.0')).toEqual([]);
    expect(ids(cfg, '4.0.1', 'xm')).toEqual([]);
    // "generic" and any prefix of "hvm" (strncmp with strlen(buf)) are accepted.
    expect(ids("builder = 'generic'", '4.17')).toEqual([]);
    expect(ids("builder = 'hv'", '4.17')).toEqual([]);
  });

  it('type = "hvm": unread by xl before 4.10 and by xend (built as PV), read from 4.10', () => {
    expect(ids('type = "hvm"', '4.4')).toEqual(['type-unread:blocks']);
    expect(ids('type = "hvm"', '4.0.1', 'xm')).toEqual(['type-unread:blocks']);
    expect(ids('type = "hvm"', '4.10')).toEqual([]);
    expect(ids('type = "hvm"\nbuilder = "hvm"', '4.4')).toEqual([]);
    expect(ids('type = "pv"', '4.4')).toEqual([]);
    expect(ids('type = "bogus"', '4.17')).toEqual(['type-invalid:blocks']);
    expect(ids('type = "pv"\nbuilder = "hvm"', '4.17')).toEqual(['builder-type-contradict:blocks']);
  });

  it('bootloader under xl 4.0.x: no bootloader support; a bare name under xm and xl 4.1', () => {
    expect(ids('bootloader = "/usr/bin/pygrub"', '4.0.1')).toEqual(['bootloader-xl-4.0:blocks']);
    expect(ids('bootloader = "/usr/bin/pygrub"', '4.0.1', 'xm')).toEqual([]);
    expect(ids('bootloader = "pygrub"', '4.0.1', 'xm')).toEqual([]);
    expect(ids('bootloader = "pvgrub-wrapper"', '4.0.1', 'xm')).toEqual(['bootloader-relative:blocks']);
    expect(ids('bootloader = "pygrub"', '4.1.2')).toEqual(['bootloader-relative:unknown']);
    expect(ids('bootloader = "pygrub"', '4.2')).toEqual([]);
  });

  it('the device model and firmware: rombios refused with qemu-xen from 4.7, qemu-xen-traditional gone in 4.21', () => {
    const hvm = 'builder = "hvm"\n';
    expect(ids(`${hvm}bios = "rombios"`, '4.6')).toEqual([]);
    expect(ids(`${hvm}bios = "rombios"`, '4.7')).toEqual(['rombios-qemu-xen:blocks']);
    expect(ids(`${hvm}bios = "rombios"\ndevice_model_version = "qemu-xen-traditional"`, '4.17')).toEqual([]);
    expect(ids(`${hvm}bios = "rombios"\ndevice_model_version = "qemu-xen-traditional"`, '4.21')).toEqual([
      'qemu-traditional-removed:blocks',
      'rombios-qemu-xen:blocks',
    ]);
  });

  it('memory, vCPUs and the scheduler', () => {
    expect(ids('builder = "hvm"\nvcpus = 129', '4.17')).toEqual(['hvm-vcpus:blocks']);
    expect(ids('vcpus = 129\nkernel = "/k"', '4.17')).toEqual([]);
    expect(ids('memory = 512\nmaxmem = 1024\nmaxvcpus = 4', '4.0.1')).toEqual([
      'xl-4.0-unread:note',
      'xl-4.0-unread:note',
    ]);
    expect(ids('memory = 512\nmaxmem = 1024', '4.1')).toEqual([]);
    expect(ids('cpu_weight = 512\ncap = 50', '4.1')).toEqual(['sched-unread:note', 'sched-unread:note']);
    expect(ids('cpu_weight = 512\ncap = 50', '4.2')).toEqual([]);
  });

  it('disk and vif forms xl cannot parse', () => {
    expect(ids("disk = ['format=raw, vdev=xvda, access=rw, target=/x.img']", '4.17')).toEqual([]);
    expect(ids("disk = ['format=qcow9, vdev=xvda, target=/x.img']", '4.17')).toEqual(['disk-spec:blocks']);
    expect(ids("vif = ['bridge=xenbr0, rate=10Mb/s']", '4.17')).toEqual([]);
    expect(ids("vif = ['bridge=xenbr0, rate=ten']", '4.17')).toEqual(['vif-rate:blocks']);
  });

  it('every rule names a source: a file and a release tag, or the project module that models one', () => {
    for (const r of RULES) expect(r.source, r.id).toMatch(/RELEASE-\d|src\/xen\/xlcfg\.ts|hvm_info_table/);
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  });
});

describe('xend-era keys xl ignores: notes, the guest starts', () => {
  it('device_model= and kernel = hvmloader under xl', () => {
    const text = 'builder = "hvm"\nkernel = "/usr/lib/xen/boot/hvmloader"\ndevice_model = "/usr/lib/xen/bin/qemu-dm"\n';
    const input = { cfg: XlConfig.parse(text), version: parseXenVersion('4.17'), toolstack: 'xl' as const };
    const notes = configReasons(input, 'config');
    expect(notes.map((r) => `${r.id}:${r.severity}`)).toEqual([
      'deprecated-builder:note',
      'deprecated-kernel:note',
      'deprecated-device_model:note',
    ]);
  });
});
