import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tool } from '../helpers/tools.js';
import { XlConfig } from '../../src/xen/xlcfg.js';
import {
  cpuVirt,
  diskSignature,
  exampleGuest,
  grub2DefaultEntry,
  grub2Reference,
  grubDefaultValue,
  hvmMemoryNeedMiB,
  isLegacyXenEntry,
  legacyDefaultIndex,
  maskPasswords,
  mergeConfig,
  parseGrub2Menu,
  parseGrubLegacy,
  renderConfig,
  setGrubDefault,
  setLegacyDefault,
  xenHasHvm,
  xenMac,
  type HvmGuest,
} from '../../src/xen/hvmconfig.js';
import { FIXTURES, UUID, pygrubReads, sourcedGrubDefault } from './host.js';
import { xenPython } from './oracle.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'xr-hvmconfig-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fixture = (p: string) => readFileSync(path.join(FIXTURES, p), 'utf8');

const GUEST: HvmGuest = {
  name: 'win7',
  memory: 4096,
  maxmem: 4096,
  vcpus: 2,
  disk: '/srv/xen/win7.img',
  diskIsBlockDevice: false,
  iso: '/srv/iso/win7.iso',
  bridge: 'xenbr0',
  mac: '00:16:3e:5a:01:02',
  vncListen: '127.0.0.1',
  vncDisplay: undefined,
  vncPassword: undefined,
  boot: 'dc',
};

describe('GRUB legacy', () => {
  beforeAll(() => {
    xenPython();
  });

  it.each(['centos6-no-xen.conf', 'centos6-xen-second.conf', 'centos6-xen-default.conf', 'debian6-menu.lst'])(
    'reads %s as pygrub does: titles, kernels, default',
    (f) => {
      const text = fixture(`grub-legacy/${f}`);
      const menu = parseGrubLegacy(text);
      const seen = pygrubReads(xenPython(), path.join(FIXTURES, 'grub-legacy', f));
      expect(menu.entries.map((e) => [e.title, e.kernel?.split(/\s+/)[0]])).toEqual(
        seen.images.map((i) => [i.title, i.kernel]),
      );
      expect(legacyDefaultIndex(menu)).toBe(seen.default);
    },
  );

  it('tells the Xen multiboot entry from a plain kernel', () => {
    const menu = parseGrubLegacy(fixture('grub-legacy/centos6-xen-second.conf'));
    expect(menu.entries.map(isLegacyXenEntry)).toEqual([false, true]);
    expect(menu.entries[1]?.modules).toHaveLength(2);
    expect(parseGrubLegacy(fixture('grub-legacy/centos6-no-xen.conf')).entries.some(isLegacyXenEntry)).toBe(false);
  });

  it('changes default= in the file’s own spelling', () => {
    expect(setLegacyDefault('timeout=5\ndefault=0\n', 1)).toBe('timeout=5\ndefault=1\n');
    expect(setLegacyDefault('default\t\t0\n', 2)).toBe('default\t\t2\n');
    expect(setLegacyDefault('timeout 5\n', 3)).toBe('default=3\ntimeout 5\n');
    const f = path.join(tmp, 'menu.lst');
    writeFileSync(f, setLegacyDefault(fixture('grub-legacy/debian6-menu.lst'), 1));
    expect(pygrubReads(xenPython(), f).default).toBe(1);
  });
});

describe('GRUB 2', () => {
  const cfg = fixture('grub2/debian12-grub.cfg').replace('@DEFAULT@', '0');
  const menu = parseGrub2Menu(cfg);

  it('reads the menu: titles, ids, submenus, and which entries load Xen', () => {
    expect(menu.map((e) => [e.indexPath.join('>'), e.title, e.xen])).toEqual([
      ['0', 'Debian GNU/Linux', false],
      ['1>0', 'Debian GNU/Linux, with Linux 6.1.0-18-amd64', false],
      ['1>1', 'Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)', false],
      ['2', 'Debian GNU/Linux, with Xen hypervisor', true],
      ['3>0>0', 'Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-18-amd64', true],
    ]);
    expect(menu[3]).toMatchObject({
      id: `xen-gnulinux-simple-${UUID}`,
      hypervisor: '/boot/xen-4.17-amd64.gz',
      kernel: '/boot/vmlinuz-6.1.0-18-amd64',
    });
  });

  it('finds the default entry however GRUB_DEFAULT names it', () => {
    const title = (v: string | undefined, saved?: string) => grub2DefaultEntry(menu, v, saved)?.title;
    expect(title(undefined)).toBe('Debian GNU/Linux');
    expect(title('2')).toBe('Debian GNU/Linux, with Xen hypervisor');
    expect(title(`xen-gnulinux-simple-${UUID}`)).toBe('Debian GNU/Linux, with Xen hypervisor');
    expect(title('Debian GNU/Linux, with Xen hypervisor')).toBe('Debian GNU/Linux, with Xen hypervisor');
    expect(
      title('Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)'),
    ).toBe('Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)');
    expect(title('3>0>0')).toBe('Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-18-amd64');
    expect(title('saved', `xen-gnulinux-simple-${UUID}`)).toBe('Debian GNU/Linux, with Xen hypervisor');
    expect(title('9')).toBeUndefined();
    expect(grub2Reference(menu[3] as (typeof menu)[number])).toBe(`xen-gnulinux-simple-${UUID}`);
    expect(grub2Reference(menu[4] as (typeof menu)[number])).toBe(
      'Advanced options for Debian GNU/Linux (with Xen hypervisor)>Xen hypervisor, version 4.17-amd64>Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-18-amd64',
    );
  });

  it('writes GRUB_DEFAULT so that the shell grub-mkconfig runs reads it back', () => {
    const values = [
      `xen-gnulinux-simple-${UUID}`,
      'Debian GNU/Linux, with Xen hypervisor',
      'Sub menu>It\'s "quoted" $HOME `x`',
      'saved',
    ];
    for (const v of values) {
      const f = path.join(tmp, 'grub');
      const text = setGrubDefault(fixture('grub2/default-grub'), v);
      writeFileSync(f, text);
      expect(sourcedGrubDefault(f), v).toBe(v);
      expect(grubDefaultValue(text)).toBe(v);
    }
    expect(setGrubDefault('GRUB_TIMEOUT=5\n', '2')).toBe('GRUB_DEFAULT=2\nGRUB_TIMEOUT=5\n');
    expect(setGrubDefault('GRUB_DEFAULT=0\nGRUB_DEFAULT=1\n', '2')).toBe('GRUB_DEFAULT=0\nGRUB_DEFAULT=2\n');
  });

  it('the fixtures are GRUB scripts grub-script-check accepts', () => {
    const check = tool('grub-script-check');
    for (const f of ['debian12-grub.cfg', 'debian12-noxen-grub.cfg']) {
      const out = path.join(tmp, f);
      writeFileSync(out, fixture(`grub2/${f}`).replace('@DEFAULT@', '0'));
      execFileSync(check, [out]);
    }
  });
});

describe('disks', () => {
  const img = (name: string, build?: (f: string) => void) => {
    const f = path.join(tmp, name);
    execFileSync('truncate', ['-s', '32M', f]);
    build?.(f);
    const head = Buffer.alloc(1024 * 1024);
    const fd = readFileSync(f).subarray(0, head.length);
    return Buffer.from(fd);
  };

  it('tells blank disks from used ones, as sfdisk and mke2fs made them', () => {
    const sfdisk = tool('sfdisk');
    const mke2fs = tool('mke2fs');
    expect(diskSignature(img('blank'))).toBeUndefined();
    expect(diskSignature(img('mbr', (f) => execFileSync(sfdisk, ['-q', f], { input: 'label: dos\n,,7\n' })))).toBe(
      'an MBR partition table',
    );
    expect(diskSignature(img('gpt', (f) => execFileSync(sfdisk, ['-q', f], { input: 'label: gpt\n,,L\n' })))).toBe(
      'a GPT partition table',
    );
    expect(diskSignature(img('ext4', (f) => execFileSync(mke2fs, ['-q', '-F', '-t', 'ext4', f])))).toBe(
      'an ext2/3/4 filesystem',
    );
    const junk = Buffer.alloc(1024 * 1024);
    junk[700_000] = 1;
    expect(diskSignature(junk)).toBe('data (the first MiB is not blank)');
    const ntfs = Buffer.alloc(4096);
    ntfs.write('NTFS    ', 3, 'latin1');
    ntfs.writeUInt16LE(0xaa55, 510);
    expect(diskSignature(ntfs)).toBe('an NTFS filesystem');
  });
});

describe('the guest configuration', () => {
  it('merging the settings into the file they came from changes nothing', () => {
    for (const ts of ['xl', 'xm'] as const) {
      const cfg = XlConfig.parse(renderConfig(GUEST, ts));
      const r = mergeConfig(cfg, GUEST, ts);
      expect(r.changed, ts).toEqual([]);
      expect(r.text).toBe(renderConfig(GUEST, ts));
    }
  });

  it('turning an xl file into an xm one removes what xend does not know', () => {
    const r = mergeConfig(XlConfig.parse(renderConfig(GUEST, 'xl')), GUEST, 'xm');
    const after = XlConfig.parse(r.text);
    expect(after.has('type')).toBe(false);
    expect(after.has('vga')).toBe(false);
    expect(after.has('device_model_version')).toBe(false);
    expect(after.get('builder')).toBe('hvm');
    expect(r.changed).toEqual(
      expect.arrayContaining(['type', 'vga', 'builder', 'kernel', 'device_model', 'stdvga', 'disk']),
    );
  });

  it('vncunused replaces a fixed display; a password is never removed, and never shown', () => {
    const withPw = XlConfig.parse(renderConfig({ ...GUEST, vncPassword: 'pw', vncDisplay: 3 }, 'xl'));
    const r = mergeConfig(withPw, GUEST, 'xl');
    const after = XlConfig.parse(r.text);
    expect(after.get('vncpasswd')).toBe('pw');
    expect(after.has('vncdisplay')).toBe(false);
    expect(after.get('vncunused')).toBe(1);
    expect(maskPasswords("+vncpasswd = \"pw\"\n vncpasswd='it\\'s'\n-vnc = 1\n")).toBe(
      '+vncpasswd = "********"\n vncpasswd=\'********\'\n-vnc = 1\n',
    );
  });

  it('counts the memory Xen needs as libxl does: memory, shadow pool, HVM extras, 2 MiB steps', () => {
    // 4096 MiB, 2 vCPUs: 4194304 + 4 × (512 + 8192) + 2048 KiB = 4231168 KiB = 4132 MiB.
    expect(hvmMemoryNeedMiB(4096, 4096, 2)).toBe(4132);
    expect(hvmMemoryNeedMiB(2048, 8192, 4)).toBe(2048 + 68 + 2);
    expect(hvmMemoryNeedMiB(1000, 1000, 1) % 2).toBe(0);
    // 4.17 (libxl__get_required_paging_memory): one page per MiB of maxmem with HAP, two with shadow paging.
    const at = (minor: number, hap: boolean) => ({ xen: { major: 4, minor }, hap });
    expect(hvmMemoryNeedMiB(4096, 4096, 2, at(17, true))).toBe(4096 + 2 + 16 + 2);
    expect(hvmMemoryNeedMiB(4096, 4096, 2, at(17, false))).toBe(4132);
    expect(hvmMemoryNeedMiB(4096, 4096, 2, at(16, true))).toBe(4132);
    expect(hvmMemoryNeedMiB(2048, 8192, 4, at(20, true))).toBe(2048 + 36 + 2);
  });

  it('reads the CPU flags and what Xen says about HVM', () => {
    expect(cpuVirt(fixture('cpuinfo/intel-vmx'))).toMatchObject({ flag: 'vmx', cpus: 4, underHypervisor: false });
    expect(cpuVirt(fixture('cpuinfo/amd-svm'))).toMatchObject({ flag: 'svm', cpus: 2 });
    expect(cpuVirt(fixture('cpuinfo/no-virt'))).toMatchObject({ flag: undefined, cpus: 2 });
    expect(cpuVirt(fixture('cpuinfo/xen-dom0'))).toMatchObject({ flag: undefined, underHypervisor: true });
    expect(xenHasHvm({ virt_caps: 'pv hvm hap shadow' })).toBe(true);
    expect(xenHasHvm({ virt_caps: 'pv shadow', xen_caps: 'xen-3.0-x86_64 hvm-3.0-x86_32' })).toBe(false);
    expect(xenHasHvm({ xen_caps: 'xen-3.0-x86_64 hvm-3.0-x86_32' })).toBe(true);
  });

  it('makes MAC addresses in Xen’s range, unicast', () => {
    expect(xenMac(Uint8Array.from([0xff, 0x01, 0xab]))).toBe('00:16:3e:7f:01:ab');
  });
});

describe('viridian', () => {
  it('names the groups libxl enables for "defaults" (libxl_x86.c hvm_set_viridian_features), and not the TLB flush', () => {
    const text = renderConfig(exampleGuest(), 'xl');
    expect(text).toContain('"defaults": base, freq, time_ref_count, apic_assist,');
    expect(text).toContain('crash_ctl, no_vp_limit, cpu_hotplug (not the TLB flush hypercall)');
    expect(text).not.toMatch(/TLB flushes\)/);
  });
});
