// The memory a new guest can get: Xen's free memory, plus dom0's when the toolstack balloons it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootTransport } from 'xen-runbooks/engine';
import { memoryOnHand, notEnoughMemory, takenFromDom0 } from 'xen-runbooks/playbooks/windows-hvm/memory';
import { fakeCommands } from '../helpers/fake-commands.js';

let root: string;
let n = 0;
function tree(files: Record<string, string>): RootTransport {
  const dir = path.join(root, `h${n++}`);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), text);
  }
  mkdirSync(dir, { recursive: true });
  return new RootTransport(dir);
}
beforeAll(() => {
  root = path.join(os.tmpdir(), `xr-win-mem-${process.pid}`);
  mkdirSync(root, { recursive: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dom0List = 'Name ID Mem VCPUs State Time(s)\nDomain-0 0 4096 2 r----- 1.0\n';
const info = (free: number, commandline = 'placeholder') => ({
  free_memory: String(free),
  xen_major: '4',
  xen_minor: '17',
  xen_commandline: commandline,
});

describe('memoryOnHand', () => {
  it('xl with autoballoon on: free memory plus dom0 down to 128 MiB', async () => {
    const seen: string[][] = [];
    const m = await memoryOnHand(
      { host: tree({ '/etc/xen/xl.conf': 'autoballoon="on"\n' }), $: fakeCommands(() => ({ stdout: dom0List }), seen) },
      'xl',
      info(1000),
    );
    expect(m).toMatchObject({ free: 1000, floor: 128, dom0: 4096, available: 1000 + 4096 - 128 });
    expect(m.balloon?.on).toBe(true);
    expect(seen).toEqual([['xl', 'list', '0']]);
  });

  it('xl with autoballoon "auto" and dom0_mem= on the command line: only the free memory, dom0 not asked', async () => {
    const seen: string[][] = [];
    const m = await memoryOnHand(
      { host: tree({}), $: fakeCommands(() => ({ stdout: dom0List }), seen) },
      'xl',
      info(1000, 'placeholder dom0_mem=2048M,max:2048M'),
    );
    expect(m).toMatchObject({ free: 1000, available: 1000, dom0: undefined });
    expect(m.balloon?.on).toBe(false);
    expect(seen).toEqual([]);
  });

  it("xm: xend's dom0-min-mem is the floor", async () => {
    const m = await memoryOnHand(
      {
        host: tree({ '/etc/xen/xend-config.sxp': '(enable-dom0-ballooning yes)\n(dom0-min-mem 196)\n' }),
        $: fakeCommands(() => ({ stdout: dom0List })),
      },
      'xm',
      info(500),
    );
    expect(m).toMatchObject({ floor: 196, dom0: 4096, available: 500 + 4096 - 196 });
  });
});

describe('the words', () => {
  const base = {
    free: 1000,
    floor: 128,
    dom0: 4096,
    available: 4968,
    balloon: { on: true, why: 'xl.conf says autoballoon on' },
  };

  it('not enough: what the guest needs and where the memory would come from', () => {
    expect(notEnoughMemory(8192, 8300, info(1000), base)).toBe(
      '--memory 8192M: the guest needs 8300 MiB (memory, maxmem overhead and video) and Xen has 1000 MiB free and dom0 can give 3968 MiB more (down to 128 MiB)',
    );
    const off = {
      ...base,
      dom0: undefined,
      available: 1000,
      balloon: { on: false, why: 'xl.conf says autoballoon off' },
    };
    expect(notEnoughMemory(8192, 8300, info(1000), off)).toMatch(
      /and Xen has 1000 MiB free \(xl\.conf says autoballoon off\)$/,
    );
  });

  it('taken from dom0 only when the free memory is not enough', () => {
    expect(takenFromDom0('xl', 2000, base)).toBe('; xl create will take 1000 MiB from dom0 (4096 MiB now)');
    expect(takenFromDom0('xl', 500, base)).toBe('');
    expect(takenFromDom0('xm', 2000, { ...base, available: 1000 })).toBe('');
  });
});
