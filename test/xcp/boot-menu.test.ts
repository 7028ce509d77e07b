// The Xen entry of grub.cfg, GRUB_DEFAULT, and update-grub's result.
import { describe, expect, it } from 'vitest';
import { StepError } from '../../src/engine/errors.js';
import type { FileEdit } from '../../src/engine/files.js';
import {
  GRUB_CFG,
  GRUB_DEFAULTS,
  cfgDefault,
  setDefaultAndUpdateGrub,
  topLevelMenu,
  withGrubDefault,
  xenEntry,
} from '../../src/playbooks/xcp-install/boot-menu.js';
import { fakeHost, memoryLog, simDir, simShell } from './shell.js';

// As grub-mkconfig on Ubuntu 12.04 writes it with the Xen hypervisor installed (20_linux_xen).
const CFG = `set default="0"
menuentry 'Ubuntu, with Linux 3.2.0-23-generic' --class ubuntu {
	linux /boot/vmlinuz-3.2.0-23-generic root=UUID=abc ro
}
submenu "Previous Linux versions" {
	menuentry 'Ubuntu, with Xen hypervisor' { true }
}
menuentry 'Ubuntu GNU/Linux, with Xen 4.1-amd64 and Linux 3.2.0-23-generic (recovery mode)' {
	multiboot /boot/xen-4.1-amd64.gz
}
menuentry 'Ubuntu GNU/Linux, with Xen 4.1-amd64 and Linux 3.2.0-23-generic' --class xen {
	multiboot /boot/xen-4.1-amd64.gz placeholder
	if [ x"{" = x ]; then true; fi
}
menuentry "It's \\"quoted\\"" { true }
`;

describe('the boot menu', () => {
  it('lists top-level entries and submenus, not the entries inside a submenu', () => {
    expect(topLevelMenu(CFG)).toEqual([
      { kind: 'menuentry', title: 'Ubuntu, with Linux 3.2.0-23-generic' },
      { kind: 'submenu', title: 'Previous Linux versions' },
      { kind: 'menuentry', title: 'Ubuntu GNU/Linux, with Xen 4.1-amd64 and Linux 3.2.0-23-generic (recovery mode)' },
      { kind: 'menuentry', title: 'Ubuntu GNU/Linux, with Xen 4.1-amd64 and Linux 3.2.0-23-generic' },
      { kind: 'menuentry', title: `It's "quoted"` },
    ]);
    expect(topLevelMenu(`menuentry 'it'\\''s' {\n}\n`)).toEqual([{ kind: 'menuentry', title: "it's" }]);
  });

  it('picks the first Xen entry that is not recovery mode, with its Xen version', () => {
    expect(xenEntry(CFG)).toEqual({
      kind: 'menuentry',
      title: 'Ubuntu GNU/Linux, with Xen 4.1-amd64 and Linux 3.2.0-23-generic',
      xenVersion: '4.1',
    });
    expect(xenEntry("menuentry 'Ubuntu' {\n}\n")).toBeUndefined();
  });

  it('reads set default and writes GRUB_DEFAULT only when it differs', () => {
    expect(cfgDefault(CFG)).toBe('0');
    const text = 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n';
    const set = withGrubDefault(text, 'Xen entry');
    expect(set).toMatch(/^GRUB_DEFAULT="Xen entry"$/m);
    expect(set).toMatch(/^GRUB_TIMEOUT=5$/m);
    expect(withGrubDefault(set, 'Xen entry')).toBe(set);
  });
});

describe('update-grub', () => {
  it('writes the planned edit, runs update-grub, and fails unless grub.cfg then defaults to the title', async () => {
    const sim = simDir();
    try {
      const { $, calls } = simShell(sim.dir, { 'update-grub': {} });
      const applied: string[] = [];
      const host = fakeHost({ [GRUB_CFG]: 'set default="Xen"\n' });
      const edit: FileEdit = {
        path: GRUB_DEFAULTS,
        before: 'GRUB_DEFAULT=0\n',
        after: 'GRUB_DEFAULT="Xen"\n',
        changed: true,
        diff: '',
      };
      const ctx = { $, host, log: memoryLog(), applyEdit: async (e: FileEdit) => (applied.push(e.path), undefined) };
      await setDefaultAndUpdateGrub(ctx, edit, 'Xen');
      expect(applied).toEqual([GRUB_DEFAULTS]);
      // Nothing to write: update-grub alone.
      await setDefaultAndUpdateGrub(ctx, { ...edit, changed: false }, 'Xen');
      expect(applied).toEqual([GRUB_DEFAULTS]);
      expect(calls).toEqual([['update-grub'], ['update-grub']]);
      calls.length = 0;
      const e = await setDefaultAndUpdateGrub(ctx, edit, 'Other').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StepError);
      expect(String(e)).toMatch(/update-grub ran but \/boot\/grub\/grub.cfg does not default to "Other"/);
      expect(calls).toEqual([['update-grub']]);
    } finally {
      sim.cleanup();
    }
  });
});
