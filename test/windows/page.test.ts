import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/playbook.js';
import { exampleGuest, hvmSettings, renderConfig } from '../../src/xen/hvmconfig.js';
import { GOLDEN } from './host.js';
import { PAGE_GUEST, PASSWORD_LINE, pageConfig } from '../../src/site/hvm-example.js';

const PAGE = readFileSync(path.join(ROOT, 'content/docs/runbooks/windows-hvm.mdx'), 'utf8');
const componentExample = () => exampleGuest();

describe('the runbook page explains the configuration the playbook writes', () => {
  it.each(['xl', 'xm'] as const)('every key of the %s file is explained on the page', (ts) => {
    const g = componentExample();
    const keys = [
      ...new Set([...hvmSettings(g, ts), ...hvmSettings({ ...g, vncDisplay: undefined }, ts)].map((s) => s.key)),
    ];
    const missing = keys.filter((k) => !PAGE.includes(`\`${k}\``) && !PAGE.includes(`\`${k} =`));
    expect(missing).toEqual([]);
  });

  it('renders with the component the page uses', () => {
    const component = readFileSync(path.join(ROOT, 'src/components/HvmConfig.astro'), 'utf8');
    expect(component).toContain('pageConfig(toolstack, installed)');
    expect(PAGE).toContain('<HvmConfig toolstack="xl" />');
    expect(PAGE).toContain('<HvmConfig toolstack="xm" />');
  });

  it('shows the same file as the golden one, but for the masked password', () => {
    for (const ts of ['xl', 'xm'] as const) {
      const golden = readFileSync(path.join(GOLDEN, ts, 'win7.cfg'), 'utf8');
      expect(renderConfig(componentExample(), ts)).toBe(
        golden.replace('vncpasswd = "s3cret"', 'vncpasswd = "********"'),
      );
    }
  });

  it("shows the playbook's file for today's guest, the password line a comment a reader cannot copy as a password", () => {
    for (const ts of ['xl', 'xm'] as const) {
      const golden = readFileSync(path.join(GOLDEN, ts, 'win7.cfg'), 'utf8');
      const shown = pageConfig(ts);
      expect(shown).not.toMatch(/^vncpasswd\s*=/m);
      expect(shown).not.toContain('********');
      expect(shown).toContain(PASSWORD_LINE);
      // The same file but for the names (a longer path may move a list onto several lines).
      const flat = (t: string) => t.replace(/\s+/g, '').replace(/,\]/g, ']');
      expect(flat(shown)).toBe(
        flat(
          golden
            .replace('vncpasswd = "s3cret"', PASSWORD_LINE)
            .replaceAll('/srv/xen/win7.img', PAGE_GUEST.disk)
            .replaceAll('/srv/iso/win7.iso', PAGE_GUEST.iso)
            .replaceAll('win7', PAGE_GUEST.name),
        ),
      );
    }
    expect(PAGE).toContain(PAGE_GUEST.passwordFile);
  });

  it('judges free memory as xl does: autoballoon, xl.conf, dom0_mem= and the 128 MiB floor', async () => {
    const { MIN_DOM0_MIB } = await import('../../src/xen/autoballoon.js');
    expect(PAGE).toContain('autoballoon');
    expect(PAGE).toContain('`xen_commandline`) sets `dom0_mem=`');
    expect(PAGE).toContain(`never below ${MIN_DOM0_MIB} MiB`);
  });

  it('names the viridian groups libxl turns on for "defaults", without the TLB flush hypercall', () => {
    expect(PAGE).toContain('`base`, `freq`, `time_ref_count`, `apic_assist`');
    expect(PAGE).not.toMatch(/APIC assist, TLB flush/);
  });

  it('tells the story and the two lessons', () => {
    expect(PAGE).toContain('TypeError: int argument required');
    expect(PAGE).toContain('rpmbuild -bb kernel.spec');
    expect(PAGE).toContain('kernel /xen.gz');
    expect(PAGE).toMatch(/## Memory must equal maxmem: populate-on-demand/);
    expect(PAGE).toMatch(/## VNC versus RDP/);
  });
});
