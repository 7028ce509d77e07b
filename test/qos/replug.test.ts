import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepError } from '../../src/engine/errors.js';
import { attachSpec, domRef, oldRateParam, replug } from '../../src/playbooks/xen-qos/replug.js';
import { parseRate, type VifFacts } from '../../src/xen/qos.js';
import { xlRunning } from './facts.js';
import { testHost, type Answer } from './host.js';

const MAC = '00:16:3e:2b:11:83';
const vif: VifFacts = {
  index: 1,
  mac: MAC,
  credit: { bytesPerInterval: 625_000, intervalUs: 50_000 },
  params: { mac: MAC, bridge: 'xenbr1', type: 'vif' },
};
const rate = parseRate('8Mb/s@50ms');

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-replug-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A host whose network-attach answers `attach` (in turn) and whose network-list shows the vif as `devid`. */
function host(attach: number[], devid: number | undefined) {
  const codes = [...attach];
  const warnings: string[] = [];
  const report: Record<string, unknown> = {};
  const h = testHost(root, ([, sub]): Answer => {
    if (sub === 'network-attach') {
      const code = codes.shift() ?? 0;
      return { code, stdout: '', stderr: code ? 'libxl: error: device add failed' : '' };
    }
    if (sub === 'network-list') {
      const row = devid === undefined ? '' : `${devid}   0     ${MAC}  3 4  -1  /x\n`;
      return {
        code: 0,
        stdout: `Idx BE Mac Addr.         handle state evt-ch tx-/rx-ring-ref BE-path\n${row}`,
        stderr: '',
      };
    }
    return { code: 0, stdout: '', stderr: '' };
  });
  const ctx = { ...h, log: { info: () => {}, warn: (t: string) => warnings.push(t), detail: () => {} }, report };
  return { ctx, commands: h.commands, warnings, report };
}

describe('attachSpec', () => {
  it('attaches with the same MAC and parameters, the devid where xl takes it, and the new rate', () => {
    expect(attachSpec({ guestType: 'pv' }, vif, rate, true)).toEqual({
      spec: [`mac=${MAC}`, 'bridge=xenbr1', 'type=vif', 'devid=1', 'rate=8Mb/s@50ms'],
      original: [`mac=${MAC}`, 'bridge=xenbr1', 'type=vif', 'rate=12500000B/s@50000us'],
      sameDevid: ['devid=1'],
    });
  });

  it('lets libxl choose the type of a NIC hot-plugged into an HVM guest; no devid before Xen 4.9', () => {
    const s = attachSpec({ guestType: 'hvm' }, vif, rate, false);
    expect(s.spec).toEqual([`mac=${MAC}`, 'bridge=xenbr1', 'rate=8Mb/s@50ms']);
    expect(s.sameDevid).toEqual([]);
  });

  it('writes the old limit back only when it is a whole number of bytes per second', () => {
    expect(oldRateParam({ ...vif, credit: { bytesPerInterval: 1, intervalUs: 3 } })).toEqual({});
    expect(oldRateParam({ ...vif, credit: undefined })).toEqual({});
  });

  it('domRef: the domid when running, else the name', () => {
    expect(domRef({ domid: 0, name: 'Domain-0' })).toBe('0');
    expect(domRef({ name: 'vm01' })).toBe('vm01');
  });
});

describe('replug', () => {
  const f = xlRunning({ domid: 7 });

  it('detaches, attaches with the rate, and says nothing when the devid is kept', async () => {
    const h = host([0], 1);
    await replug(h.ctx, f, vif, rate, true);
    expect(h.commands).toEqual([
      'xl network-detach 7 1',
      `xl network-attach 7 mac=${MAC} bridge=xenbr1 type=vif devid=1 rate=8Mb/s@50ms`,
      'xl network-list 7',
    ]);
    expect(h.warnings).toEqual([]);
  });

  it('reports a new devid', async () => {
    const h = host([0], 3);
    await replug(h.ctx, f, vif, rate, false);
    expect(h.warnings).toEqual([`vif 1 (${MAC}) came back as devid 3: this release cannot keep the devid`]);
    expect(h.report.vifDevid).toEqual({ was: 1, now: 3 });
  });

  it('attaches the interface back as it was when the attach with the rate fails', async () => {
    const h = host([1, 0], 1);
    await expect(replug(h.ctx, f, vif, rate, true)).rejects.toThrow(
      /network-attach with rate=8Mb\/s@50ms failed: libxl: error: device add failed; vif 1 was attached again without the new rate$/,
    );
    expect(h.commands[2]).toBe(
      `xl network-attach 7 mac=${MAC} bridge=xenbr1 type=vif rate=12500000B/s@50000us devid=1`,
    );
  });

  it('says how to attach it by hand when it could not be put back', async () => {
    const h = host([1, 1, 1], undefined);
    const r = replug(h.ctx, f, vif, rate, true);
    await expect(r).rejects.toThrow(StepError);
    await expect(r).rejects.toThrow(
      `vif 1 is DETACHED, attach it by hand: xl network-attach 7 mac=${MAC} bridge=xenbr1 type=vif rate=12500000B/s@50000us`,
    );
    // Without devid too, which every release takes.
    expect(h.commands.filter((c) => c.includes('network-attach'))).toHaveLength(3);
  });
});
