import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  modelPygrub,
  formatListing,
  parseListing,
  parseXenVersion,
  rewriteForPygrub,
  grubSplit,
  pySplitWs,
  CURRENT,
  type ConfigKind,
} from 'xen-runbooks/grub';
import { tool } from '../helpers/tools.js';
import {
  GPT_CFG,
  ROOT_ONLY_CFG,
  UBUNTU_1204_CFG,
  bootImage,
  legacyNamed,
  tempDir,
  bzImage,
  initrd,
  type Tree,
} from '../fixtures/images.js';

const OLD = parseXenVersion('old');
const P1 = 1048576;
let dir: string;
let pygrub: string;
let n = 0;

/** Xen's own pygrub -l on an image whose /boot holds `files`: its listing and its warnings. */
async function realPygrub(files: Tree): Promise<{ listing: string; warnings: string[] }> {
  const img = path.join(dir, `p${n++}.img`);
  await bootImage(img, files);
  const r = spawnSync(pygrub, ['-l', '-n', `--offset=${P1}`, img], { encoding: 'utf8' });
  rmSync(img);
  const warnings = r.stderr
    .split('\n')
    .map((l) => /^WARNING:root:(.*)$/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x));
  return { listing: r.stdout, warnings };
}

async function bootFiles(cfgPath: string, cfg: string, extra: Tree = {}): Promise<Tree> {
  return {
    [cfgPath]: cfg,
    'vmlinuz-3.2.0-23-generic': await bzImage(),
    'initrd.img-3.2.0-23-generic': await initrd('x'),
    ...extra,
  };
}

beforeAll(async () => {
  pygrub = tool('pygrub');
  tool('mke2fs');
  tool('sfdisk');
  dir = tempDir('xr-grub-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LEGACY_MENU = `default 0
timeout 5
hiddenmenu
title Ubuntu 10.04, kernel 2.6.32-21-server
	root (hd0,0)
	kernel /vmlinuz-2.6.32-21-server root=/dev/xvda2 ro console=hvc0
	initrd /initrd.img-2.6.32-21-server
title Ubuntu 10.04, kernel 2.6.32-21-server (recovery mode)
	root (hd0,0)
	kernel /vmlinuz-2.6.32-21-server root=/dev/xvda2 ro single
	initrd /initrd.img-2.6.32-21-server
`;

const CASES: { name: string; kind: ConfigKind; path: string; cfg: string }[] = [
  { name: 'the incident (Ubuntu 12.04 grub.cfg)', kind: 'grub2', path: 'grub/grub.cfg', cfg: UBUNTU_1204_CFG },
  {
    name: 'the incident with legacy partition numbers',
    kind: 'grub2',
    path: 'grub/grub.cfg',
    cfg: legacyNamed(UBUNTU_1204_CFG),
  },
  { name: 'a GRUB 2.02 config with search hints', kind: 'grub2', path: 'grub/grub.cfg', cfg: GPT_CFG },
  { name: 'device paths on linux lines', kind: 'grub2', path: 'grub/grub.cfg', cfg: ROOT_ONLY_CFG },
  { name: 'a GRUB legacy menu.lst', kind: 'grub-legacy', path: 'grub/menu.lst', cfg: LEGACY_MENU },
];

describe("the model agrees with Xen 4.17's real pygrub", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const real = await realPygrub(await bootFiles(c.path, c.cfg));
      const model = modelPygrub(c.cfg, c.kind, CURRENT);
      expect(model.error).toBeNull();
      expect(real.listing).not.toBe('');
      expect(formatListing(model.images)).toBe(real.listing);
      expect(model.warnings.map((w) => w.text)).toEqual(real.warnings);
    });
  }

  it('a device no pygrub parses: both give up on the partition', async () => {
    const cfg = "menuentry 'x' {\n\tlinux (lvm/vg-boot)/vmlinuz-3.2.0-23-generic ro\n}\n";
    const real = await realPygrub(await bootFiles('grub/grub.cfg', cfg));
    const model = modelPygrub(cfg, 'grub2', CURRENT);
    expect(real.listing).toBe('');
    expect(model.error?.exception).toBe("ValueError: invalid literal for int() with base 10: 'm/vg-boot'");
  });
});

describe('old pygrub, as modelled', () => {
  it("fails on the incident's config exactly as the story's traceback says", () => {
    const m = modelPygrub(UBUNTU_1204_CFG, 'grub2', OLD);
    expect(m.error?.exception).toBe("ValueError: invalid literal for int() with base 10: 'msdos1'");
    expect(UBUNTU_1204_CFG.split('\n')[(m.error?.line ?? 0) - 1]).toBe("\tset root='(hd0,msdos1)'");
    // Every set root inside a menuentry, none of the top-level ones; and the submenu's closing
    // brace, which 4.0.1 does not know (submenus came with 4.1.3 / 4.2.0).
    const lines = UBUNTU_1204_CFG.split('\n');
    expect(m.allErrors.filter((e) => e.cause === 'partition').map((e) => lines[e.line - 1])).toEqual(
      Array(6).fill("\tset root='(hd0,msdos1)'"),
    );
    const brace = m.allErrors.filter((e) => e.cause === 'syntax');
    expect(brace.map((e) => [lines[e.line - 1], e.msg])).toEqual([
      ['}', 'syntax error: closing brace without menuentry'],
    ]);
    const warned = new Set(m.warnings.map((w) => w.text));
    for (const w of [
      'Unknown directive load_video',
      'Unknown directive terminal_output',
      'Unknown directive else',
      'Unknown directive export',
      'Unknown image directive recordfail',
    ]) {
      expect(warned).toContain(w);
    }
  });

  it('the same config with legacy numbers: 4.0.1 still stops at the submenu, 4.0.2 … 4.1.2 too, 4.1.3 reads it', () => {
    const legacy = legacyNamed(UBUNTU_1204_CFG);
    for (const r of ['4.0.1', '4.1.2']) {
      const m = modelPygrub(legacy, 'grub2', parseXenVersion(r));
      expect(m.error?.msg, r).toBe('syntax error: closing brace without menuentry');
    }
    const m = modelPygrub(legacy, 'grub2', parseXenVersion('4.1.3'));
    expect(m.error).toBeNull();
    expect(m.images.map((i) => i.root)).toEqual(Array(6).fill('d0p0'));
  });

  it('a variable default: old pygrub raises, the current one falls back to 0', () => {
    const cfg = 'set default="${saved_entry}"\nmenuentry \'a\' {\n\tlinux /vmlinuz\n}\n';
    expect(modelPygrub(cfg, 'grub2', OLD).error).toMatchObject({ cause: 'default', line: 1 });
    const now = modelPygrub(cfg, 'grub2', CURRENT);
    expect(now.error).toBeNull();
    expect(now.default).toBe(0);
  });
});

describe('rewrite', () => {
  it('changes only the six set root lines of the incident, msdos1 → 0, and the submenu, and grub-script-check accepts it', () => {
    const r = rewriteForPygrub(UBUNTU_1204_CFG, OLD);
    expect(r.changes.filter((c) => c.id === 'grub2-partition-name').map((c) => c.after)).toEqual(
      Array(6).fill("\tset root='(hd0,0)'"),
    );
    expect(r.changes.filter((c) => c.id === 'grub2-submenu').map((c) => c.after)).toEqual([
      '#submenu "Previous Linux versions" {',
      '#}',
    ]);
    expect(r.unresolved).toEqual([]);
    expect(r.text).toBe(
      UBUNTU_1204_CFG.split('\n')
        .map((l, i) =>
          r.changes.some((c) => c.line === i + 1) ? (/^(submenu|\})/.test(l) ? `#${l}` : l.replace('msdos1', '0')) : l,
        )
        .join('\n'),
    );
    // The top-level set root and every other line stay byte-identical.
    expect(r.text).toContain("\ninsmod ext2\nset root='(hd0,msdos1)'\n");
    const f = path.join(dir, 'rewritten.cfg');
    writeFileSync(f, r.text);
    execFileSync(tool('grub-script-check'), [f]);
    expect(modelPygrub(r.text, 'grub2', OLD).error).toBeNull();
    expect(formatListing(modelPygrub(r.text, 'grub2', CURRENT).images)).toBe(
      formatListing(modelPygrub(legacyNamed(UBUNTU_1204_CFG), 'grub2', CURRENT).images),
    );
  });

  it('counts from 0: msdos5 → 4, gpt2 → 1; parenthesised or not; device paths on linux and initrd lines', () => {
    const cfg = [
      "menuentry 'a' {",
      "\tset root='hd0,msdos5'",
      '\tlinux (hd0,msdos5)/vmlinuz root=/dev/xvda5',
      '\tinitrd (hd0,msdos5)/initrd.img',
      '}',
      "menuentry 'b' {",
      '\tset root=(hd1,gpt2)',
      '\tsearch --no-floppy --fs-uuid --set=root --hint-bios=hd1,gpt2 abcd',
      '\tlinux /vmlinuz root=(hd0,msdos1)',
      '}',
      '',
    ].join('\n');
    const r = rewriteForPygrub(cfg, OLD);
    expect(r.text.split('\n')).toEqual([
      "menuentry 'a' {",
      "\tset root='hd0,4'",
      '\tlinux (hd0,4)/vmlinuz root=/dev/xvda5',
      '\tinitrd (hd0,4)/initrd.img',
      '}',
      "menuentry 'b' {",
      '\tset root=(hd1,1)',
      '\tsearch --no-floppy --fs-uuid --set=root --hint-bios=hd1,gpt2 abcd',
      '\tlinux /vmlinuz root=(hd0,msdos1)',
      '}',
      '',
    ]);
  });

  it('keeps CRLF line endings and rewrites a variable default to 0', () => {
    const cfg =
      "set default=\"${next_entry}\"\r\nmenuentry 'a' {\r\n\tset root='(hd0,msdos1)'\r\n\tlinux /vmlinuz\r\n}\r\n";
    const r = rewriteForPygrub(cfg, OLD);
    expect(r.text).toBe("set default=\"0\"\r\nmenuentry 'a' {\r\n\tset root='(hd0,0)'\r\n\tlinux /vmlinuz\r\n}\r\n");
    expect(r.changes.map((c) => c.id)).toEqual(['grub2-default-variable', 'grub2-partition-name']);
  });

  it('nothing to rewrite for the current pygrub', () => {
    const r = rewriteForPygrub(UBUNTU_1204_CFG, CURRENT);
    expect(r.changes).toEqual([]);
    expect(r.text).toBe(UBUNTU_1204_CFG);
  });

  it('leaves what it cannot fix for another way out', () => {
    const r = rewriteForPygrub("menuentry 'x' {\n\tlinux ($root)/vmlinuz\n}\n", OLD);
    expect(r.changes).toEqual([]);
    expect(r.unresolved[0]?.cause).toBe('disk');
  });
});

describe("Python's splitting, as GrubConf.py relies on it", () => {
  it('grub_split picks = or whitespace by which comes first', () => {
    expect(grubSplit("root='(hd0,msdos1)'", 2)).toEqual(['root', "'(hd0,msdos1)'"]);
    expect(grubSplit('linux\t/vmlinuz root=/dev/xvda1 ro', 1)).toEqual(['linux', '/vmlinuz root=/dev/xvda1 ro']);
    expect(pySplitWs('  a   b  c ', 1)).toEqual(['a', 'b  c ']);
    expect(parseListing('title: x\n  root: d0p0\n  kernel: /k\n  args: None\n  initrd: /i\n')).toEqual([
      { title: 'x', root: 'd0p0', kernel: '/k', args: 'None', initrd: '/i' },
    ]);
  });
});
