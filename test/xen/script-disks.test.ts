/**
 * Disks whose target goes through a block script: `drbd:`, `iscsi:`, `nbd:`, `enbd:`. libxlutil
 * reads `drbd:res0,xvda,w` as target res0, vdev xvda, script block-drbd (libxlu_disk_l.l, the rule
 * `(iscsi|e?nbd|drbd):/.*`, in every release from RELEASE-4.2.0), and xl starts the domain with
 * them; xen-qos must see those disks as xl does, or `--disk xvda` finds nothing to act on.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDomain } from '../../src/playbooks/xen-qos/read-domain.js';
import { configDisks } from '../../src/xen/qos.js';
import { XlConfig, legacyDiskSyntax, modernizeDiskSpec, parseDiskSpec, readDiskSpec } from '../../src/xen/xlcfg.js';
import { seedXl } from '../sim/xl.mjs';
import { simulated, testHost } from '../qos/host.js';

const CONFIG = `name = "vm03"
type = "pv"
memory = 1024
vcpus = 2
disk = [ 'drbd:res0,xvda,w',
         'iscsi:iqn.2001-05.com.example:storage.disk1,xvdb,w',
         'nbd:192.168.0.5 20004,xvdc,r',
         'enbd:storage1:7000,xvdd,w',
         'format=raw, vdev=xvde, access=rw, target=/dev/vg0/vm03-swap' ]
`;

describe('block-script disk prefixes', () => {
  it('are read as libxlutil reads them: the target, the vdev, script=block-NAME', () => {
    expect(readDiskSpec('drbd:res0,xvda,w').disk).toMatchObject({
      pdevPath: 'res0',
      vdev: 'xvda',
      script: 'block-drbd',
      format: 'raw',
      readwrite: true,
    });
    expect(parseDiskSpec('iscsi:iqn.2001-05.com.example:storage.disk1,xvdb,w')).toEqual({
      script: 'block-iscsi',
      target: 'iqn.2001-05.com.example:storage.disk1',
      vdev: 'xvdb',
      access: 'w',
    });
    expect(parseDiskSpec('nbd:192.168.0.5 20004,xvdc,r')).toMatchObject({
      script: 'block-nbd',
      vdev: 'xvdc',
      access: 'r',
    });
    expect(parseDiskSpec('enbd:storage1:7000,xvdd')).toMatchObject({ script: 'block-enbd', target: 'storage1:7000' });
  });

  it('are flagged as xend syntax and modernized to script=, which reads the same', () => {
    expect(legacyDiskSyntax('drbd:res0,xvda,w')).toBe('drbd: prefix');
    const modern = modernizeDiskSpec('drbd:res0,xvda,w');
    expect(modern).toBe('format=raw, vdev=xvda, access=rw, script=block-drbd, target=res0');
    expect(readDiskSpec(modern).disk).toEqual(readDiskSpec('drbd:res0,xvda,w').disk);
    expect(legacyDiskSyntax(modern)).toBeUndefined();
  });

  it('a second script (script= and a prefix) is refused, as xl refuses it', () => {
    expect(() => parseDiskSpec('script=block-drbd,drbd:res0,xvda,w')).toThrow(/script respecified/);
  });

  it('every disk of the config is kept, at every release that reads disks', () => {
    const cfg = XlConfig.parse(CONFIG);
    for (const minor of [2, 5, 9, 13, 17, 22]) {
      expect(configDisks(cfg, { major: 4, minor }).map((d) => d.vdev)).toEqual([
        'xvda',
        'xvdb',
        'xvdc',
        'xvdd',
        'xvde',
      ]);
    }
  });
});

describe('xen-qos reads a domain with such disks', () => {
  let sim: string;
  let root: string;
  beforeEach(() => {
    sim = mkdtempSync(path.join(os.tmpdir(), 'xr-script-disks-sim-'));
    root = mkdtempSync(path.join(os.tmpdir(), 'xr-script-disks-root-'));
  });
  afterEach(() => {
    rmSync(sim, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps the drbd:, iscsi:, nbd: and enbd: disks of a halted domain (its config file)', async () => {
    for (const minor of [4, 17]) {
      seedXl(sim, { info: { nr_cpus: 4, xen_major: 4, xen_minor: minor } });
      mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
      writeFileSync(path.join(root, 'etc/xen/vm03.cfg'), CONFIG);
      const { facts } = await readDomain(testHost(root, simulated(sim)), 'xl', 'vm03', undefined);
      expect(facts.state).toBe('halted');
      expect(facts.disks).toEqual([
        { vdev: 'xvda' },
        { vdev: 'xvdb' },
        { vdev: 'xvdc' },
        { vdev: 'xvdd' },
        { vdev: 'xvde' },
      ]);
    }
  });
});
