// What windows-hvm reads on the host, on a --root tree and a command runner that answers as xl does.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport, RootTransport, StepError } from 'xen-runbooks/engine';
import {
  dom0Capable,
  dom0MemoryMiB,
  domidOf,
  runsOnXen,
  statFollow,
  xenInfo,
  xendDeviceModel,
  xenVersionText,
} from 'xen-runbooks/playbooks/windows-hvm/host';
import type { WindowsHvmState } from 'xen-runbooks/playbooks/windows-hvm/state';
import { fakeCommands } from '../helpers/fake-commands.js';

let root: string;
const put = (p: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), text);
};
beforeAll(() => {
  root = path.join(os.tmpdir(), `xr-win-hostread-${process.pid}`);
  put('/boot/config-6.1.0-18-amd64', 'CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\n');
  put('/boot/config-2.6.32-220.el6.x86_64', 'CONFIG_XEN=y\n# CONFIG_XEN_DOM0 is not set\n');
  put('/dev/dm-3', 'lv');
  mkdirSync(path.join(root, 'dev/vg0'), { recursive: true });
  symlinkSync('../dm-3', path.join(root, 'dev/vg0/win7'));
  symlinkSync('loop-b', path.join(root, 'dev/loop-a'));
  symlinkSync('loop-a', path.join(root, 'dev/loop-b'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
const host = () => new RootTransport(root);
const state = (): WindowsHvmState => ({ dom0: false, existingDisks: [], diskIsBlockDevice: false });

describe('xl info', () => {
  it('asked once per run, as a map', async () => {
    const seen: string[][] = [];
    const $ = fakeCommands(() => ({ stdout: 'host : h\nxen_major : 4\nxen_minor : 17\nxen_extra : .3\n' }), seen);
    const s = state();
    const info = await xenInfo({ host: host(), $ }, 'xl', s);
    expect(info).toMatchObject({ host: 'h', xen_major: '4' });
    await xenInfo({ host: host(), $ }, 'xl', s);
    expect(seen).toEqual([['xl', 'info']]);
    expect(xenVersionText(info ?? {})).toBe('4.17.3');
    expect(xenVersionText({ xen_version: '4.1.3' })).toBe('4.1.3');
  });

  it('a toolstack that cannot reach Xen: undefined, and the last line of what it said', async () => {
    const s = state();
    const $ = fakeCommands(() => ({ exitCode: 1, stderr: 'xc: error\nxl: cannot init xl context\n' }));
    expect(await xenInfo({ host: host(), $ }, 'xm', s)).toBeUndefined();
    expect(s.xenInfo?.error).toBe('xl: cannot init xl context');
    const quiet = state();
    await xenInfo({ host: host(), $: fakeCommands(() => ({ exitCode: 3 })) }, 'xl', quiet);
    expect(quiet.xenInfo?.error).toBe('exit 3');
  });
});

describe('dom0', () => {
  it('on Xen by /proc/xen/capabilities or /sys/hypervisor/type', async () => {
    expect(await runsOnXen(host())).toBe(false);
    put('/sys/hypervisor/type', 'xen\n');
    expect(await runsOnXen(host())).toBe(true);
  });

  it('a kernel built for dom0, one that is not, and one whose config is not there', async () => {
    expect(await dom0Capable(host(), '6.1.0-18-amd64')).toBe(true);
    expect(await dom0Capable(host(), '2.6.32-220.el6.x86_64')).toBe(false);
    expect(await dom0Capable(host(), '5.0.0')).toBeUndefined();
  });

  it("dom0's memory from xl list 0, and a domain id from xl list NAME", async () => {
    const listing =
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\nDomain-0                                     0  2048     2     r-----      12.3\n';
    expect(
      await dom0MemoryMiB(
        fakeCommands(() => ({ stdout: listing })),
        'xl',
      ),
    ).toBe(2048);
    expect(
      await dom0MemoryMiB(
        fakeCommands(() => ({ exitCode: 1 })),
        'xl',
      ),
    ).toBeUndefined();
    expect(
      domidOf(
        listing.replace(
          'Domain-0                                     0',
          'win7                                         5',
        ),
      ),
    ).toBe('5');
    expect(domidOf('')).toBeUndefined();
  });
});

describe('files', () => {
  it('links are followed to the device (LVs are links to /dev/dm-N); a loop of links fails', async () => {
    const local = new LocalTransport();
    const r = await statFollow(local, path.join(root, 'dev/vg0/win7'));
    expect(r.path).toBe(path.join(root, 'dev/dm-3'));
    expect(r.stat?.type).toBe('file');
    expect((await statFollow(local, path.join(root, 'dev/none'))).stat).toBeUndefined();
    await expect(statFollow(local, path.join(root, 'dev/loop-a'))).rejects.toThrow(/too many symbolic links from/);
    await expect(statFollow(local, path.join(root, 'dev/loop-a'))).rejects.toBeInstanceOf(StepError);
  });

  it("xend's qemu-dm: /usr/lib64 when there, else /usr/lib", async () => {
    expect(await xendDeviceModel(host())).toBe('/usr/lib/xen/bin/qemu-dm');
    put('/usr/lib64/xen/bin/qemu-dm', '');
    expect(await xendDeviceModel(host())).toBe('/usr/lib64/xen/bin/qemu-dm');
  });
});
