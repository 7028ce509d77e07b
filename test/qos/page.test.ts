import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/playbook.js';
import { XlConfig } from '../../src/xen/xlcfg.js';
import { MODEL, parseRate, toTbfParams, toXeKbps } from '../../src/xen/qos.js';

const page = readFileSync(path.join(ROOT, 'content/docs/runbooks/xen-qos.mdx'), 'utf8');
const reference = readFileSync(path.join(ROOT, 'content/docs/reference/qos-live-or-restart.mdx'), 'utf8');
const component = readFileSync(path.join(ROOT, 'src/components/QosModelTable.astro'), 'utf8');

describe('the runbook page says what the code does', () => {
  it('defines every shell variable its commands use before the first use', () => {
    for (const v of ['VM', 'VIF', 'VBD']) {
      const defined = page.indexOf(`${v}=$(xe `);
      const used = page.search(new RegExp(`\\$${v}\\b`));
      expect(defined, v).toBeGreaterThan(-1);
      expect(used, v).toBeGreaterThan(defined);
    }
  });

  // RELEASE-4.1.x tools/libxl/xl_cmdimpl.c parse_config_data: "the rate parameter for vifs is
  // currently not supported"; parse_vif_rate from RELEASE-4.2.0.
  it('says xl 4.1 applies rate= nowhere, not at the next start either', () => {
    expect(page).toContain('the rate parameter for vifs is currently not supported');
    expect(page).toContain('xl\nreads it from Xen 4.2');
    expect(page).not.toMatch(/xl 4\.1[^.]*only the next start applies it/);
  });

  it('says how to take every limit off again', () => {
    expect(page).toContain('xenstore-rm /local/domain/0/backend/vif/$(xl domid vm01)/0/rate');
    expect(page).toContain('xe vif-param-clear uuid=$VIF param-name=qos_algorithm_params');
    expect(page).toContain('xe vbd-param-clear uuid=$VBD param-name=qos_algorithm_params');
    expect(page).toContain('xe vm-param-remove uuid=$VM param-name=VCPUs-params param-key=weight');
  });

  it('shows the model table, drawn from the model itself, on the reference page it links to', () => {
    expect(page).toContain('](/reference/qos-live-or-restart/)');
    expect(reference).toContain('<QosModelTable />');
    expect(component).toMatch(/import \{ TOOLSTACKS, modelTable, type Toolstack \} from '\.\.\/xen\/qos\.ts'/);
    // The component marks every cell with the model's effect, for the browser test and for readers of the HTML.
    expect(component).toContain('data-effect={row.cells.running.effect}');
    expect(component).toContain('data-effect={row.cells.halted.effect}');
    expect(Object.keys(MODEL)).toHaveLength(10);
  });

  it('gives the Oracle VM forms exactly as the playbook writes them into vm.cfg', () => {
    const golden = XlConfig.parse(readFileSync(path.join(ROOT, 'test/fixtures/qos/vm02.persist.cfg'), 'utf8'));
    const literal = (key: string) => {
      const m = new RegExp(`\`(${key} = \\[\\[[^\`]*\\]\\])\``).exec(page);
      expect(m, key).not.toBeNull();
      return XlConfig.parse(`${m?.[1] ?? ''}\n`).get(key);
    };
    expect(literal('vif_other_config')).toEqual(golden.get('vif_other_config'));
    // The golden file keeps an older entry for xvdb; the page shows the one the playbook added.
    const disks = golden.get('disk_other_config') as string[][];
    expect(literal('disk_other_config')).toEqual(disks.filter((e) => e[0] === 'xvda'));
  });

  it('quotes the xe conversion and the tc form the code computes', () => {
    const rate = parseRate('8Mb/s@50ms');
    expect(page).toContain(`qos_algorithm_params:kbps=${toXeKbps(rate).kbps}`);
    expect(toTbfParams(rate)).toBe('rate=8mbit,latency=50ms');
    expect(page).toContain("'rate=8mbit,latency=50ms'");
  });

  it('says what xl really does: live rate through xenstore, devid from 4.9, no limit on an emulated NIC, reboot keeps', () => {
    expect(page).toContain('xenstore-write /local/domain/0/backend/vif/$(xl domid vm01)/0/rate 50000,50000');
    expect(page).toContain('xl takes `devid=` on `network-attach` only from Xen 4.9');
    expect(page).toContain("sends through QEMU's emulated card");
    expect(page).toContain('`xl config-update DOMAIN FILE`');
    expect(page).toMatch(/from 4\.8 also the vCPUs online, from 4\.9 also the scheduler weight and\s+cap/);
    expect(page).not.toMatch(/restarts the domain\s+from the configuration it was created with/);
    expect(page).toContain('fewer is only written as `cpu/N/availability`');
    expect(page).toContain('`/etc/ovs-release`');
  });
});
