import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/playbook.js';
import { exampleGuest, hvmSettings, renderConfig } from '../../src/xen/hvmconfig.js';
import { GOLDEN } from './host.js';

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
    expect(component).toContain('renderConfig(exampleGuest(installed), toolstack)');
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

  it('tells the story and the two lessons', () => {
    expect(PAGE).toContain('TypeError: int argument required');
    expect(PAGE).toContain('rpmbuild -bb kernel.spec');
    expect(PAGE).toContain('kernel /xen.gz');
    expect(PAGE).toMatch(/## Memory must equal maxmem: populate-on-demand/);
    expect(PAGE).toMatch(/## VNC versus RDP/);
  });
});
