import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseListing } from 'xen-runbooks/grub';
import { detectKernel } from 'xen-runbooks/grub';
import { runPlaybook } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';
import {
  bootImage,
  buildImage,
  bzImage,
  gptImage,
  imageHash,
  initrd,
  lvmLabel,
  rootOnlyImage,
  sfdiskJson,
  tempDir,
  GiB,
  MiB,
  GPT_CFG,
  ROOT_ONLY_CFG,
  type Tree,
  type KernelCompression,
} from '../fixtures/images.js';
import { e2fsck, grubScriptCheck, guestFile, pygrubList } from './oracles.js';

/** One image per cause in the catalogue: the playbook must name it, and fix it or say why not. */
const P1 = 1048576;
let dir: string;
let n = 0;
const file = () => path.join(dir, `d${n++}.img`);

beforeAll(() => {
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck', 'pygrub', 'grub-script-check'] as const) tool(t);
  dir = tempDir('xr-diagnosis-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function diagnose(img: string, args: string[] = []) {
  const r = await runPlaybook('pygrub-fix', [img, '--dry-run', '--json', ...args]);
  // Every fixture's table, as the playbook reports it, is the one sfdisk reads.
  const table = r.json?.data?.table;
  if (table && table.sectorSize === 512) {
    const sf = await sfdiskJson(img);
    expect(
      table.partitions.map((p: { number: number; start: number; size: number; type: string }) => [
        p.number,
        p.start,
        p.size,
        p.type.toLowerCase(),
      ]),
    ).toEqual(
      (sf?.partitions ?? []).map((p) => [Number(/(\d+)$/.exec(p.node)?.[1]), p.start, p.size, p.type.toLowerCase()]),
    );
  }
  const findings: { id: string; severity: string; message: string; line?: number; path?: string }[] =
    r.json?.data?.findings ?? [];
  return { ...r, findings, ids: [...new Set(findings.map((f) => f.id))] };
}

const entry = (title: string, lines: string[]) =>
  [`menuentry '${title}' --class os {`, ...lines.map((l) => `\t${l}`), '}'].join('\n');
async function kernelFiles(extra: Tree = {}): Promise<Tree> {
  return { 'vmlinuz-5.10.0': await bzImage('gzip', '5.10.0'), 'initrd.img-5.10.0': await initrd('5.10.0'), ...extra };
}
const LINUX = ['linux /vmlinuz-5.10.0 root=/dev/xvda2 ro', 'initrd /initrd.img-5.10.0'];

/** Xen 4.17's pygrub -l, as entries without the root (which the rewrite renumbers on purpose). */
function listed(img: string) {
  return parseListing(pygrubList(img)).map(({ root: _root, ...rest }) => rest);
}

describe('GRUB 2 names and variables', () => {
  it('set default="${saved_entry}": old pygrub raises, the rewrite sets 0; pygrub lists the same kernels after', async () => {
    const img = file();
    const cfg = ['set default="${saved_entry}"', entry('Debian', ["set root='(hd0,msdos1)'", ...LINUX]), ''].join('\n');
    await bootImage(img, { 'grub/grub.cfg': cfg, ...(await kernelFiles()) });
    const d = await diagnose(img);
    expect(d.code).toBe(0);
    expect(d.ids).toEqual(['grub2-partition-name', 'grub2-default-variable']);
    expect(d.findings.find((f) => f.id === 'grub2-default-variable')).toMatchObject({ line: 1 });
    const before = listed(img);
    expect(before.length).toBe(1);
    const r = await runPlaybook('pygrub-fix', [img, '--yes']);
    expect(r.code).toBe(0);
    const now = guestFile(img, P1, '/grub/grub.cfg')?.toString() ?? '';
    expect(now.split('\n')[0]).toBe('set default="0"');
    expect(grubScriptCheck(now).ok).toBe(true);
    expect(listed(img)).toEqual(before);
    expect(e2fsck(img, P1).clean).toBe(true);
  });

  it('a variable in the kernel path: every pygrub looks it up literally', async () => {
    const img = file();
    await bootImage(img, {
      'grub/grub.cfg': entry('x', ['linux /vmlinuz-$kver root=/dev/xvda2', 'initrd /initrd.img-5.10.0']) + '\n',
      ...(await kernelFiles()),
    });
    const d = await diagnose(img, ['--xen-version', '4.17']);
    expect(d.ids).toEqual(['grub2-variable-path']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/Ways out:\n {2}\[grub2-variable-path\]/);
  });

  it('a device no pygrub parses ((lvm/…)): rewrite cannot, pv-grub can', async () => {
    const img = file();
    await bootImage(img, {
      'grub/grub.cfg': entry('x', ['linux (lvm/vg-boot)/vmlinuz-5.10.0 ro', 'initrd /initrd.img-5.10.0']) + '\n',
      ...(await kernelFiles()),
    });
    const d = await diagnose(img);
    expect(d.ids).toEqual(['grub2-device-unparseable']);
    expect(d.findings[0]?.message).toContain("ValueError: invalid literal for int() with base 10: 'm/vg-boot'");
    expect(d.code).toBe(1);
  });

  it('GPT: 4.0.x and 4.1.0 – 4.1.2 read only the first GPT entry (the BIOS boot partition): /boot on p2 is never opened', async () => {
    const img = file();
    await gptImage(img, { bytes: 4 * GiB });
    for (const xen of ['old', '4.1.2']) {
      const r = await runPlaybook('pygrub-fix', [img, '--yes', '--json', '--xen-version', xen]);
      expect(r.code, xen).toBe(1);
      const f = (r.json.data.findings as { id: string; message: string }[]).find((x) => x.id === 'boot-not-tried');
      expect(f?.message, xen).toContain(`offsets ${MiB}`);
      expect(r.json.data.pygrubOffsets, xen).toEqual({ status: 'ok', offsets: [MiB] });
    }
  });

  it('GPT on 4.1.3: gpt names read, ${next_entry} (known from 4.1.6) → 0, the --hint-bios lines untouched; pygrub lists the same kernels', async () => {
    const img = file();
    const b = await gptImage(img, { bytes: 4 * GiB });
    const p2 = b.parts.find((p) => p.number === 2)?.offset as number;
    const before = listed(img);
    expect(before.map((e) => e.kernel)).toEqual(['/vmlinuz-4.9.0-8-amd64']);
    const r = await runPlaybook('pygrub-fix', [img, '--yes', '--json', '--xen-version', '4.1.3']);
    expect(r.code).toBe(0);
    expect(r.json.data.boot).toMatchObject({ partition: 2, offset: 2 * MiB });
    const now = guestFile(img, p2, '/grub/grub.cfg')?.toString() ?? '';
    const was = GPT_CFG.split('\n');
    const changed = now.split('\n').flatMap((l, i) => (l === was[i] ? [] : [[was[i], l]]));
    expect(changed).toEqual([['   set default="${next_entry}"', '   set default="0"']]);
    expect(now).toContain('--hint-bios=hd0,gpt2');
    expect(grubScriptCheck(now).ok).toBe(true);
    expect(listed(img)).toEqual(before);
    expect(e2fsck(img, p2).clean).toBe(true);
  });

  it('a root-only ext4 guest (metadata_csum): device paths on linux/initrd lines rewritten, e2fsck clean', async () => {
    const img = file();
    await rootOnlyImage(img);
    const before = listed(img);
    const r = await runPlaybook('pygrub-fix', [img, '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.data.boot).toMatchObject({ partition: 1, filesystem: 'ext4', config: '/boot/grub/grub.cfg' });
    const now = guestFile(img, P1, '/boot/grub/grub.cfg')?.toString();
    expect(now).toBe(
      ROOT_ONLY_CFG.replace("set root='hd0,msdos1'", "set root='hd0,0'")
        .replace('linux (hd0,msdos1)/boot', 'linux (hd0,0)/boot')
        .replace('initrd (hd0,msdos1)/boot', 'initrd (hd0,0)/boot')
        .replace('set root=(hd0,msdos1)', 'set root=(hd0,0)'),
    );
    expect(listed(img)).toEqual(before);
    expect(e2fsck(img, P1).clean).toBe(true);
  });
});

describe('what is not in the config', () => {
  it('BootLoaderSpec: blscfg and no menuentry, entries in /loader/entries', async () => {
    const img = file();
    const cfg = 'set default="${saved_entry}"\ninsmod blscfg\nblscfg\n';
    await bootImage(img, {
      'grub2/grub.cfg': cfg,
      'loader/entries/6a9f-5.14.0.conf':
        'title Rocky Linux (5.14.0)\nversion 5.14.0\nlinux /vmlinuz-5.10.0\ninitrd /initrd.img-5.10.0\n',
      ...(await kernelFiles()),
    });
    const before = imageHash(img);
    const d = await diagnose(img, ['--xen-version', '4.17']);
    expect(d.ids).toEqual(['bls-config']);
    expect(d.findings[0]?.message).toMatch(/\(1 entry in loader\/entries\)/);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/GRUB_ENABLE_BLSCFG=false/);
    expect(imageHash(img)).toBe(before);
    expect(pygrubList(img)).toBe('');
  });

  it('no boot config at all', async () => {
    const img = file();
    await buildImage(img, {
      bytes: 512 * MiB,
      label: 'dos',
      partitions: [{ start: 2048, type: '83', fs: { type: 'ext4', files: await kernelFiles({ 'etc/fstab': '\n' }) } }],
    });
    const d = await diagnose(img);
    expect(d.ids).toEqual(['no-config']);
    expect(d.json.data.boot).toBeNull();
    expect(d.code).toBe(1);
  });

  it('a config with no kernel entry', async () => {
    const img = file();
    await bootImage(img, {
      'grub/grub.cfg': `set timeout=5\n${entry('Windows', ['chainloader +1'])}\n`,
      ...(await kernelFiles()),
    });
    expect((await diagnose(img, ['--xen-version', '4.17'])).ids).toEqual(['no-kernel-entry']);
  });

  it('a kernel and an initrd named but missing: an error for the default entry, a warning for the others', async () => {
    const img = file();
    const cfg = [
      entry('new', ['linux /vmlinuz-6.1.0 ro', 'initrd /initrd.img-6.1.0']),
      entry('old', ['linux /vmlinuz-5.10.0 ro', 'initrd /initrd.img-5.9.0']),
      '',
    ].join('\n');
    await bootImage(img, { 'grub/grub.cfg': cfg, ...(await kernelFiles()) });
    const d = await diagnose(img, ['--xen-version', '4.17']);
    expect(d.findings.map((f) => [f.id, f.severity, f.path])).toEqual([
      ['kernel-missing', 'error', '/vmlinuz-6.1.0'],
      ['initrd-missing', 'error', '/initrd.img-6.1.0'],
      ['initrd-missing', 'warning', '/initrd.img-5.9.0'],
    ]);
    expect(d.code).toBe(1);
  });

  it('grub.cfg and menu.lst both there: each release reads the first of its own search order (a warning)', async () => {
    const img = file();
    await bootImage(img, {
      'grub/grub.cfg': `${entry('x', LINUX)}\n`,
      'grub/menu.lst': 'default 0\ntitle x\n\troot (hd0,0)\n\tkernel /vmlinuz-5.10.0\n',
      ...(await kernelFiles()),
    });
    // 4.2.0 and later look for grub.cfg first; 4.0.x and 4.1.x for menu.lst.
    for (const [xen, read, hidden] of [
      ['4.17', '/grub/grub.cfg', '/grub/menu.lst'],
      ['4.1.6', '/grub/menu.lst', '/grub/grub.cfg'],
    ] as const) {
      const d = await diagnose(img, ['--xen-version', xen]);
      expect(d.ids, xen).toEqual(['hidden-config']);
      expect(d.json.data.boot.config, xen).toBe(read);
      expect(d.findings[0]?.message, xen).toContain(`${hidden} is never read`);
      expect(d.findings[0]?.severity).toBe('warning');
      expect(d.code).toBe(0);
    }
  });

  it('ext4: incompatible features an older dom0 libext2fs refuses are named with the e2fsprogs that brought them', async () => {
    const img = file();
    await bootImage(
      img,
      { 'grub/grub.cfg': `${entry('x', LINUX)}\n`, ...(await kernelFiles()) },
      { type: 'ext4', features: 'metadata_csum_seed,64bit' },
    );
    const d = await diagnose(img, ['--xen-version', '4.17']);
    expect(d.ids).toEqual(['ext-features']);
    expect(d.findings[0]?.message).toMatch(/64bit \(e2fsprogs 1\.42\), metadata_csum_seed \(e2fsprogs 1\.43\)/);
    expect(d.findings[0]?.message).toMatch(/e2fsprogs is older than 1\.43/);
  });

  it('ext4: orphan_file is a compatible feature a read-only open ignores: no finding', async () => {
    const img = file();
    await bootImage(
      img,
      { 'grub/grub.cfg': `${entry('x', LINUX)}\n`, ...(await kernelFiles()) },
      { type: 'ext4', features: 'orphan_file,^64bit,^metadata_csum_seed' },
    );
    const d = await diagnose(img, ['--xen-version', '4.17']);
    expect(d.json.data.boot).toMatchObject({ filesystem: 'ext4' });
    expect(d.ids).toEqual([]);
  });
});

describe('kernels the domain builder cannot decompress', () => {
  const methods: KernelCompression[] = ['gzip', 'bzip2', 'lzma', 'xz', 'lz4', 'zstd'];
  let img: string;
  beforeAll(async () => {
    img = file();
    const files: Tree = {};
    const entries: string[] = [];
    for (const m of methods) {
      files[`vmlinuz-${m}`] = await bzImage(m, `5.10.0-${m}`);
      entries.push(entry(m, [`linux /vmlinuz-${m} ro`, `initrd /initrd-${m}`]));
      files[`initrd-${m}`] = await initrd(m);
    }
    files['grub/grub.cfg'] = `${entries.join('\n')}\n`;
    await bootImage(img, files);
  });

  it('the magic bytes of each real compressor are recognised', async () => {
    for (const m of methods)
      expect(detectKernel(await bzImage(m))).toMatchObject({ format: 'bzImage', compression: m, protocol: '2.10' });
  });

  for (const [xen, flagged] of [
    // The xc_try_*_decode functions of each release's bzimageloader (see CHANGES in version.ts).
    ['4.0', ['xz', 'lz4', 'zstd']],
    ['4.1.4', ['xz', 'lz4', 'zstd']],
    ['4.1.5', ['lz4', 'zstd']],
    ['4.3', ['lz4', 'zstd']],
    ['4.4', ['zstd']],
    ['4.14', ['zstd']],
    ['4.15', []],
  ] as const) {
    it(`Xen ${xen}: ${flagged.join(', ') || 'nothing'} flagged`, async () => {
      const d = await diagnose(img, ['--xen-version', xen]);
      const got = d.findings.filter((f) => f.id === 'kernel-compression').map((f) => f.path);
      expect(got).toEqual(flagged.map((m) => `/vmlinuz-${m}`));
    });
  }
});

describe('where /boot is', () => {
  it('/boot on XFS v5 or btrfs: pygrub cannot read it', async () => {
    const img = file();
    const xfs = Buffer.alloc(512);
    xfs.write('XFSB', 0, 'latin1');
    xfs.writeUInt32BE(4096, 4);
    xfs.writeUInt16BE(0xb4a5, 100);
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 262144, type: '83', raw: [{ at: 0, data: xfs }] },
        { start: 264192, size: 262144, type: '83', raw: [{ at: 0x10040, data: Buffer.from('_BHRfS_M') }] },
        { start: 526336, type: '8e', raw: lvmLabel() },
      ],
    });
    const d = await diagnose(img);
    expect(d.findings.filter((f) => f.id === 'boot-fs-unreadable').map((f) => f.message)).toEqual([
      expect.stringMatching(/partition 1 .* XFS version 5/),
      expect.stringMatching(/partition 2 .* btrfs/),
    ]);
    expect(d.ids).toContain('root-in-lvm');
    expect(d.code).toBe(1);
  });

  it('no separate /boot and the root inside LVM', async () => {
    const img = file();
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [{ start: 2048, type: '8e', bootable: true, raw: lvmLabel() }],
    });
    const d = await diagnose(img);
    expect(d.ids).toEqual(['root-in-lvm']);
  });

  it('/boot on a logical partition: pygrub never looks there; pv-grub does, as (hd0,4)', async () => {
    const root = path.join(dir, 'host-logical');
    mkdirSync(path.join(root, 'usr/lib/xen/boot'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/xen/boot/pv-grub-x86_64.gz'), 'pv-grub');
    writeFileSync(path.join(root, 'vm.cfg'), 'name = "vm"\nbootloader = "pygrub"\ndisk = [ "file:/vm.img,xvda,w" ]\n');
    const img = path.join(root, 'vm.img');
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '82' },
        { start: 206848, type: '5' },
        {
          size: 262144,
          type: '83',
          fs: {
            type: 'ext2',
            files: {
              'grub/grub.cfg': `${entry('x', ["set root='(hd0,msdos5)'", ...LINUX])}\n`,
              ...(await kernelFiles()),
            },
          },
        },
      ],
    });
    const d = await diagnose(img);
    expect(d.ids).toEqual(['grub2-partition-name', 'boot-on-logical']);
    expect(d.json.data.boot).toMatchObject({ partition: 5 });
    expect(d.code).toBe(1);
    const r = await runPlaybook('pygrub-fix', [
      '/vm.img',
      '--root',
      root,
      '--strategy',
      'pvgrub',
      '--domain-config',
      '/vm.cfg',
      '--yes',
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, 'vm.cfg'), 'utf8')).toBe(
      'name = "vm"\n#bootloader = "pygrub"\nkernel = "/usr/lib/xen/boot/pv-grub-x86_64.gz"\nextra = "(hd0,4)/grub/grub.cfg"\ndisk = [ "file:/vm.img,xvda,w" ]\n',
    );
  });

  it('GPT on 4096-byte sectors: pygrub finds no partition', async () => {
    const img = file();
    await gptImage(img, { sectorSize: 4096, bytes: 4 * GiB });
    const d = await diagnose(img, ['--xen-version', '4.17']);
    expect(d.ids).toEqual(['4k-sectors']);
    expect(d.json.data.table.sectorSize).toBe(4096);
    expect(d.json.data.boot).toMatchObject({ partition: 2, offset: 2 * MiB });
    expect(pygrubList(img)).toBe('');
  });

  it('an MBR on 4096-byte sectors, read with --sector-size 4096', async () => {
    const img = file();
    await buildImage(img, {
      bytes: 1 * GiB,
      label: 'dos',
      sectorSize: 4096,
      partitions: [
        {
          start: 256,
          size: 32768,
          type: '83',
          bootable: true,
          fs: { type: 'ext2', files: { 'grub/grub.cfg': `${entry('x', LINUX)}\n`, ...(await kernelFiles()) } },
        },
        { start: 33024, type: '8e', raw: lvmLabel() },
      ],
    });
    const d = await diagnose(img, ['--sector-size', '4096', '--xen-version', '4.17']);
    expect(d.ids).toEqual(['4k-sectors']);
    expect(d.json.data.boot).toMatchObject({ partition: 1, offset: 256 * 4096 });
    expect(pygrubList(img)).toBe('');
  });

  it('--partition names the boot partition; one that does not exist is a usage error', async () => {
    const img = file();
    await bootImage(img, { 'grub/grub.cfg': `${entry('x', LINUX)}\n`, ...(await kernelFiles()) });
    expect((await diagnose(img, ['--partition', '1'])).json.data.boot).toMatchObject({ partition: 1 });
    const r = await runPlaybook('pygrub-fix', [img, '--partition', '3', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/there is no partition 3/);
  });
});
