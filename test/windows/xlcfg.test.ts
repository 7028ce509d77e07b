import { beforeAll, describe, expect, it } from 'vitest';
import {
  XlConfig,
  XlConfigError,
  formatDiskSpec,
  formatValue,
  formatVifSpec,
  legacyDiskSyntax,
  modernizeDiskSpec,
  parseDiskSpec,
  parseMemSize,
  parseVifRate,
  parseVifSpec,
  sameValue,
  type DiskSpec,
  type XlValue,
} from '../../src/xen/xlcfg.js';
import { pythonReads, xenPython, xlu } from './oracle.js';

/** How libxlutil sees a value: every atom a string. */
const asXl = (v: XlValue): unknown => (Array.isArray(v) ? v.map(asXl) : String(v));

const valuesOf = (cfg: XlConfig) => Object.fromEntries(cfg.keys().map((k) => [k, asXl(cfg.get(k) as XlValue)]));

const VALID = [
  'type = "hvm"\nname = \'win7\'\nmemory = 4096\n',
  '# comment only\n\n\n',
  '',
  'a = 1',
  'a = 1;b = 2 ; c="x" # trailing\n;;\n',
  'disk = [ \'format=raw, vdev=hda, access=rw, target=/srv/a b,c.img\',\n  # a comment inside\n  "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/w.iso", ]\n',
  'vif = [ \'\' ]\nusbdevice = ["tablet"]\nviridian = [ "defaults" ]\n',
  'nested = [ [ 1, "a" ], [], [[ "deep" ]] ]\n',
  'l = [ 1 ]\nl += [ 2, 3 ]\ns = "ab"\ns += "cd"\nn = 1\nn += 2\n',
  'k = 1\nk = 2\n',
  "esc = 'it\\'s \\\\ \"q\" \\n \\t end'\n",
  'unicode = "Gäste – 日本"\n',
  'hex = 0x10\noct = 017\nodd = 12abc\n',
  'a.b_c9 = "dotted"\n',
  'empty = ""\nemptylist = []\n',
  'x =\t"tab"\t# c\n',
  'l = [\n\n1\n\n,\n\n2\n\n]\n',
  'a += "no previous"\n',
];

const INVALID = [
  'ABC = 1\n',
  '_x = 1\n',
  'a = 1 b = 2\n',
  'a =\n1\n',
  'a = [,]\n',
  'a = abc\n',
  "a = 'unterminated\n",
  'a = "x\\x41"\n',
  'a = "\\0"\n',
  'a = "\\q"\n',
  'a = 1.5\n',
  'a = -3\n',
  'a = 0X10\n',
  'a = 1\r\n',
  'import os\n',
  'a = [1\n',
  'a = "x"\na += [1]\n',
  'a = [1] [2]\n',
];

describe('XlConfig reads files as xl does', () => {
  beforeAll(() => {
    xenPython();
  });

  it('agrees with libxlutil on every key and value', () => {
    const { configs } = xlu({ configs: VALID });
    VALID.forEach((text, i) => {
      const real = configs[i];
      expect(real?.ok, `libxlutil rejects ${JSON.stringify(text)}: ${real?.report}`).toBe(true);
      expect(valuesOf(XlConfig.parse(text)), JSON.stringify(text)).toEqual(real?.values);
    });
  });

  it('refuses what libxlutil refuses', () => {
    const { configs } = xlu({ configs: INVALID });
    INVALID.forEach((text, i) => {
      expect(configs[i]?.ok, `libxlutil accepts ${JSON.stringify(text)}`).toBe(false);
      expect(() => XlConfig.parse(text), JSON.stringify(text)).toThrow(XlConfigError);
    });
  });

  it('says where the error is', () => {
    try {
      XlConfig.parse('a = 1\nb = 2\nc = oops\n', { source: 'win.cfg' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(XlConfigError);
      expect((e as XlConfigError).line).toBe(3);
      expect((e as XlConfigError).message).toMatch(/^win\.cfg:3:5: expected a value/);
    }
  });

  it('reads numbers as xl does (strtol base 0) and strings of digits as numbers on request', () => {
    const c = XlConfig.parse('a = 0x10\nb = 017\nc = "4096"\nd = 12abc\ne = [1]\n');
    // libxlutil keeps the text (xlu_cfg_get_string gives 0x10); xlu_cfg_get_long reads it.
    expect(c.get('a')).toBe('0x10');
    expect(c.getNumber('a')).toBe(16);
    expect(c.get('b')).toBe('017');
    expect(c.getNumber('b')).toBe(15);
    expect(c.get('c')).toBe('4096');
    expect(c.getNumber('c')).toBe(4096);
    expect(c.get('d')).toBe('12abc');
    expect(c.getNumber('d')).toBeUndefined();
    expect(c.getNumber('e')).toBeUndefined();
    expect(c.getNumber('missing')).toBeUndefined();
  });

  it('keeps going on Python code when asked, and lists what it skipped', () => {
    const text = [
      'import os, re',
      "arch_libdir = 'lib'",
      'arch = os.uname()[4]',
      "if os.uname()[0] == 'Linux' and re.search('64', arch):",
      "    arch_libdir = 'lib64'",
      'kernel = "/usr/lib/xen/boot/hvmloader"',
      "builder = 'hvm'",
      'memory = 512',
      '',
    ].join('\n');
    expect(() => XlConfig.parse(text)).toThrow(XlConfigError);
    const c = XlConfig.parse(text, { lenient: true });
    expect(c.issues.map((i) => i.line)).toEqual([1, 3, 4]);
    expect(c.issues[0]?.text).toBe('import os, re');
    expect(c.get('memory')).toBe(512);
    expect(c.get('builder')).toBe('hvm');
    expect(c.get('arch_libdir')).toBe('lib64');
  });
});

const VALUES: XlValue[] = [
  'plain',
  '',
  "it's",
  'say "hi"',
  'back\\slash',
  'two\nlines',
  'tab\there',
  'both \' and "',
  'Gäste – 日本',
  0,
  4096,
  [],
  ['a'],
  [
    'format=raw, vdev=hda, access=rw, target=/srv/a b,c.img',
    'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/x.iso',
  ],
  [1, 'two', [3, ['four']]],
  Array.from({ length: 12 }, (_, i) => `element number ${i}`),
];

describe('values are written so that they read back the same', () => {
  beforeAll(() => {
    xenPython();
  });

  it('libxlutil, XlConfig and Python all read the written value back', () => {
    const texts = VALUES.map((v) => `k = ${formatValue(v)}\n`);
    const { configs } = xlu({ configs: texts });
    VALUES.forEach((v, i) => {
      const text = texts[i] as string;
      expect(configs[i]?.ok, `${text}: ${configs[i]?.report}`).toBe(true);
      expect(configs[i]?.values.k, text).toEqual(asXl(v));
      expect(XlConfig.parse(text).get('k'), text).toEqual(v);
      expect(pythonReads(text).k, text).toEqual(v);
    });
  });

  it('writes long lists one element per line and short ones on one line', () => {
    expect(formatValue(['a', 'b'])).toBe("[ 'a', 'b' ]");
    expect(formatValue('x')).toBe('"x"');
    expect(formatValue(['x'], { quote: '"' })).toBe('[ "x" ]');
    const long = formatValue(VALUES[15] as XlValue);
    expect(long.split('\n')).toHaveLength(14);
    expect(long.split('\n')[1]).toBe("    'element number 0',");
  });

  it('refuses values xl cannot read', () => {
    expect(() => formatValue(-1)).toThrow(/non-negative/);
    expect(() => formatValue(1.5)).toThrow(/whole/);
    expect(() => formatValue('nul\0')).toThrow(/NUL/);
  });

  it('compares values as xl sees them', () => {
    expect(sameValue(4096, '4096')).toBe(true);
    expect(sameValue([1, 'a'], ['1', 'a'])).toBe(true);
    expect(sameValue([1], 1)).toBe(false);
    expect(sameValue(undefined, undefined)).toBe(true);
  });
});

const SAMPLE = `# Windows 7 guest
type = "hvm"   # HVM, not PV
name = 'win7'
memory = 2048
maxmem = 4096 # two values: pre-ballooned
vcpus = 2; acpi = 1
disk = [
    'format=raw, vdev=hda, access=rw, target=/srv/xen/win7.img',
    'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/iso/win7.iso',
]
vif = [ 'bridge=xenbr0,model=e1000' ]
extra = [ "a" ]
extra += [ "b" ]
# end
`;

describe('editing in place', () => {
  beforeAll(() => {
    xenPython();
  });

  it('replaces one value and leaves every other byte as it was', () => {
    const c = XlConfig.parse(SAMPLE);
    expect(c.set('memory', 4096)).toBe(true);
    expect(c.toString()).toBe(SAMPLE.replace('memory = 2048', 'memory = 4096'));
    expect(c.set('name', 'win7-lab')).toBe(true);
    expect(c.toString()).toContain("name = 'win7-lab'\n");
    expect(c.set('type', 'hvm')).toBe(false);
    expect(c.set('maxmem', '4096')).toBe(false);
    c.set('vcpus', 4);
    expect(c.toString()).toContain('vcpus = 4; acpi = 1\n');
    expect(c.toString()).toContain('type = "hvm"   # HVM, not PV\n');
  });

  it('keeps the layout of a multi-line list', () => {
    const c = XlConfig.parse(SAMPLE);
    c.set('disk', [
      'format=raw, vdev=hda, access=rw, target=/dev/vg0/win7',
      'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=',
    ]);
    const text = c.toString();
    expect(text).toContain(
      "disk = [\n    'format=raw, vdev=hda, access=rw, target=/dev/vg0/win7',\n    'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=',\n]\n",
    );
    expect(text.replace(/disk = \[[^\]]*\]\n/, '')).toBe(SAMPLE.replace(/disk = \[[^\]]*\]\n/, ''));
  });

  it('replaces an appended value with one statement', () => {
    const c = XlConfig.parse(SAMPLE);
    expect(c.get('extra')).toEqual(['a', 'b']);
    expect(c.set('extra', ['a', 'b'])).toBe(false);
    c.set('extra', ['c']);
    expect(c.get('extra')).toEqual(['c']);
    expect(c.statementText('extra')).toEqual(['extra = [ "c" ]']);
  });

  it('appends a new key at the end, with a newline before it when the file lacks one', () => {
    const c = XlConfig.parse('a = 1');
    c.set('viridian', 1);
    expect(c.toString()).toBe('a = 1\nviridian = 1\n');
    const d = XlConfig.parse('');
    d.set('usbdevice', ['tablet']);
    expect(d.toString()).toBe("usbdevice = [ 'tablet' ]\n");
    expect(() => d.set('Bad', 1)).toThrow(/lower case/);
  });

  it('deletes statements with their line, or only themselves on a shared line', () => {
    const c = XlConfig.parse(SAMPLE);
    c.delete('maxmem');
    expect(c.toString()).toBe(SAMPLE.replace('maxmem = 4096 # two values: pre-ballooned\n', ''));
    c.delete('acpi');
    expect(c.toString()).toContain('\nvcpus = 2\n');
    c.delete('extra');
    expect(c.has('extra')).toBe(false);
    expect(c.toString()).not.toContain('extra');
    expect(c.delete('nothing')).toBe(false);
    const d = XlConfig.parse('a = 1; b = 2; c = 3\n');
    d.delete('b');
    expect(d.toString()).toBe('a = 1; c = 3\n');
    d.delete('c');
    expect(d.toString()).toBe('a = 1\n');
  });

  it('comments statements out, multi-line ones line by line', () => {
    const c = XlConfig.parse(SAMPLE);
    expect(c.comment('disk')).toBe(true);
    expect(c.toString()).toContain("#disk = [\n#    'format=raw, vdev=hda");
    expect(c.toString()).toContain('#]\n');
    expect(c.has('disk')).toBe(false);
    c.comment('acpi');
    expect(c.toString()).toContain('#acpi = 1\nvcpus = 2\n');
    expect(c.comment('nothing')).toBe(false);
  });

  it('leaves a file libxlutil reads as intended', () => {
    const c = XlConfig.parse(SAMPLE);
    c.set('memory', 4096);
    c.delete('maxmem');
    c.comment('acpi');
    c.set('extra', ['it\'s "quoted"', ['nested']]);
    c.set('vnclisten', '0.0.0.0');
    const { configs } = xlu({ configs: [c.toString()] });
    expect(configs[0]?.ok).toBe(true);
    expect(configs[0]?.values).toEqual(valuesOf(XlConfig.parse(c.toString())));
    expect(configs[0]?.values.memory).toBe('4096');
    expect(configs[0]?.values).not.toHaveProperty('maxmem');
    expect(configs[0]?.values).not.toHaveProperty('acpi');
    expect(configs[0]?.values.extra).toEqual(['it\'s "quoted"', ['nested']]);
  });
});

describe('deprecated xend keys under xl', () => {
  const XM = [
    "builder = 'hvm'",
    'kernel = "/usr/lib/xen/boot/hvmloader"',
    "device_model = '/usr/lib64/xen/bin/qemu-dm'",
    'stdvga = 1',
    'memory = 1024',
    "disk = [ 'file:/srv/xen/win.img,hda,w', 'phy:/dev/vg0/data,hdb,w', 'tap:aio:/srv/xen/d.img,hdd,w', 'file:/srv/iso/win.iso,hdc:cdrom,r' ]",
    'vncviewer = 0',
    '',
  ].join('\n');

  it('names each one with its modern form', () => {
    const d = XlConfig.parse(XM).deprecations('xl');
    const byKey = (k: string) => d.filter((x) => x.key === k);
    expect(byKey('builder')[0]).toMatchObject({ line: 1, found: "builder = 'hvm'", modern: 'type = "hvm"' });
    expect(byKey('kernel')[0]).toMatchObject({ line: 2, modern: '' });
    expect(byKey('kernel')[0]?.message).toMatch(/direct kernel boot/);
    expect(byKey('device_model')[0]).toMatchObject({ modern: 'device_model_version = "qemu-xen"' });
    expect(byKey('stdvga')[0]).toMatchObject({ modern: 'vga = "stdvga"' });
    expect(byKey('vncviewer')).toHaveLength(1);
    expect(byKey('disk').map((x) => [x.found, x.modern])).toEqual([
      ['file:/srv/xen/win.img,hda,w', 'format=raw, vdev=hda, access=rw, target=/srv/xen/win.img'],
      ['phy:/dev/vg0/data,hdb,w', 'format=raw, vdev=hdb, access=rw, target=/dev/vg0/data'],
      ['tap:aio:/srv/xen/d.img,hdd,w', 'format=raw, vdev=hdd, access=rw, target=/srv/xen/d.img'],
      ['file:/srv/iso/win.iso,hdc:cdrom,r', 'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/srv/iso/win.iso'],
    ]);
    expect(d.map((x) => x.line)).toEqual([...d.map((x) => x.line)].sort((a, b) => a - b));
  });

  it('says when builder= contradicts type=', () => {
    const d = XlConfig.parse('type = "pv"\nbuilder = "hvm"\n').deprecations();
    expect(d[0]?.message).toMatch(/Contradicting "builder" and "type"/);
  });

  it('finds nothing in a modern file, and nothing for xm', () => {
    expect(XlConfig.parse(SAMPLE).deprecations('xl')).toEqual([]);
    expect(XlConfig.parse(XM).deprecations('xm')).toEqual([]);
  });
});

/** What libxl would hold after parsing, from our map (the fields libxl_device_disk_gen_json prints). */
function asLibxl(p: DiskSpec): Record<string, unknown> {
  const cdrom = p.devtype === 'cdrom';
  const out: Record<string, unknown> = {};
  out.pdev_path = p.target ?? '';
  if (p.vdev !== undefined) out.vdev = p.vdev;
  if (p.backendtype !== undefined) out.backend = p.backendtype;
  out.format = p.format ?? (cdrom && !p.target ? 'empty' : 'raw');
  if (cdrom) {
    out.removable = 1;
    out.is_cdrom = 1;
  } else if (p.access !== 'ro' && p.access !== 'r') out.readwrite = 1;
  if ('discard' in p) out.discard_enable = 'True';
  if ('no-discard' in p) out.discard_enable = 'False';
  return out;
}

const DISKS = [
  'format=raw, vdev=xvda, access=rw, target=/dev/vg/guest-volume',
  'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso',
  'format=raw, vdev=xvda, access=rw, target=/srv/a b,c.img',
  'format=raw, vdev=xvda, access=rw, target=/x.img ',
  '/dev/vg/guest-volume,,hda',
  '/dev/vg/guest-volume,raw,hda,rw',
  '/root/image.iso,,hdc,cdrom',
  '/root/image.iso,,hdc,,cdrom',
  '/root/image.iso,raw,hdc,devtype=cdrom',
  ',,hdc,cdrom',
  'vdev=xvda, /p',
  'vdev=xvda,target=/p,format=raw',
  '/p,qcow2,xvda,w,backendtype=qdisk,discard',
  '/p,raw,xvda,rw,no-discard',
  'raw:/dev/vg/guest-volume,hda,w',
  'raw:/root/image.iso,hdc:cdrom,ro',
  'qcow2:/p,xvda,w',
  'file:/x.img,hda,w',
  'file:x.img,hda,w',
  'phy:/dev/vg/lv,xvda,w',
  'phy:sda1,xvda1,w',
  'tap:aio:/x,xvda,w',
  'tap:qcow2:/x.q,xvda,w',
  'aio:/x,xvda,w',
  'file:/x,ioemu:hda,w',
  'file:/x.iso,hdc:cdrom,r',
  'file:/x,hda:disk,w',
  ' /x , raw , xvda',
  '/x.iso,hdc:cdrom,r',
  ',hdc:cdrom,r',
  'phy:,hdc:cdrom,r',
  'file:,hdc:cdrom,r',
  ',hdc:cdrom',
  ',,hdc:cdrom,r',
  '/x.iso,raw,hdc:cdrom,r',
  '/x.iso,raw,hdc:floppy,r',
  ',hdc:floppy,r',
  'bogus=1,/x,,hda',
  'file:/x.img,hda,w!',
  '/x',
  'target=/x',
  'format=vmdk, vdev=xvda, target=/x',
];

describe('disk specs', () => {
  beforeAll(() => {
    xenPython();
  });

  it('are read as libxlutil reads them, and refused when it refuses them', () => {
    const { disks } = xlu({ disks: DISKS });
    DISKS.forEach((spec, i) => {
      const real = disks[i];
      if (!real?.ok) {
        expect(() => parseDiskSpec(spec), `${spec}: libxlutil says ${real?.report}`).toThrow(
          /config parsing error in disk specification/,
        );
        return;
      }
      expect(asLibxl(parseDiskSpec(spec)), spec).toEqual(real.disk);
    });
  });

  it('are modernized to a spec libxlutil reads the same way, target= last', () => {
    const ok = DISKS.filter((s) => {
      try {
        parseDiskSpec(s);
        return true;
      } catch {
        return false;
      }
    });
    const modern = ok.map((s) => modernizeDiskSpec(s));
    const { disks } = xlu({ disks: [...ok, ...modern] });
    ok.forEach((spec, i) => {
      const before = disks[i];
      const after = disks[ok.length + i];
      expect(after?.ok, `${modern[i]}: ${after?.report}`).toBe(true);
      expect(after?.disk, `${spec} -> ${modern[i]}`).toEqual(before?.disk);
      expect(modern[i]).toMatch(/(^|, )target=[^]*$/);
      expect(legacyDiskSyntax(modern[i] as string)).toBeUndefined();
    });
  });

  it('formats a map with target= last and refuses commas elsewhere', () => {
    expect(formatDiskSpec({ target: '/a,b', access: 'rw', vdev: 'xvda', format: 'raw' })).toBe(
      'format=raw, vdev=xvda, access=rw, target=/a,b',
    );
    expect(formatDiskSpec({ vdev: 'xvda', discard: '', target: '/x' })).toBe('vdev=xvda, discard, target=/x');
    expect(() => formatDiskSpec({ vdev: 'a,b', target: '/x' })).toThrow(/comma/);
  });

  it('names the legacy syntax', () => {
    expect(legacyDiskSyntax('file:/x,hda,w')).toBe('file: prefix');
    expect(legacyDiskSyntax('tap:aio:/x,hda,w')).toBe('tap:aio: prefix');
    expect(legacyDiskSyntax('phy:/dev/sdb,xvdb,w')).toBe('phy: prefix');
    expect(legacyDiskSyntax('format=raw, vdev=xvda, target=/x')).toBeUndefined();
    expect(legacyDiskSyntax('/x,,hda')).toBeUndefined();
  });
});

const RATES = [
  '10Mb/s',
  '10MB/s@20ms',
  '100Kb/s@1s',
  '1Gb/s@50us',
  '5B/s',
  '5b/s',
  '010Mb/s',
  '1Mb/s@5',
  '1Mb/s@5m',
  'x',
  '',
  '@20ms',
  '10mb/s',
  '0Mb/s',
  '10Mb/s@0ms',
  '10Mb/s@20xs',
  '5000000000B/s',
];

describe('vif specs and rates', () => {
  beforeAll(() => {
    xenPython();
  });

  it('computes rates as libxlutil does', () => {
    const { rates } = xlu({ rates: RATES });
    RATES.forEach((rate, i) => {
      const real = rates[i];
      if (!real?.ok) {
        expect(() => parseVifRate(rate), `${rate}: libxlutil says ${real?.report}`).toThrow(
          /config parsing error in vif/,
        );
        return;
      }
      const r = parseVifRate(rate);
      // libxl leaves out fields at their default (0) when it prints JSON.
      expect([r.bytesPerInterval, r.intervalUsecs], rate).toEqual([
        real.bytesPerInterval ?? 0,
        real.intervalUsecs ?? 0,
      ]);
    });
  });

  it('reads and writes vif specs as ordered maps', () => {
    const spec = 'bridge=xenbr0,mac=00:16:3e:12:34:56,model=e1000,rate=10Mb/s@20ms';
    const p = parseVifSpec(spec);
    expect(p).toEqual({ bridge: 'xenbr0', mac: '00:16:3e:12:34:56', model: 'e1000', rate: '10Mb/s@20ms' });
    expect(formatVifSpec(p)).toBe(spec);
    expect(parseVifSpec('')).toEqual({});
    expect(parseVifSpec(' bridge=xenbr1 , model=rtl8139 ')).toEqual({ bridge: 'xenbr1', model: 'rtl8139' });
    expect(() => parseVifSpec('bridge')).toThrow(/key=value/);
    expect(() => formatVifSpec({ ip: '1,2' })).toThrow(/comma/);
  });

  it('reads memory sizes as xl mem-set does', () => {
    expect(parseMemSize('2048')).toBe(2048 * 1024);
    expect(parseMemSize('2048m')).toBe(2048 * 1024);
    expect(parseMemSize('2g')).toBe(2 * 1024 * 1024);
    expect(parseMemSize('512k')).toBe(512);
    expect(parseMemSize('1048576b')).toBe(1024);
    expect(parseMemSize('1t')).toBe(1024 ** 3);
    expect(parseMemSize('2gb')).toBeUndefined();
    expect(parseMemSize('x')).toBeUndefined();
  });
});
