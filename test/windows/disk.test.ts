// The guest's disk on the host: mounted or swap, another guest's, or already holding data.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootTransport } from 'xen-runbooks/engine';
import { localCommands } from 'xen-runbooks/disk';
import { contentOf, hostUseOf, otherGuestWith } from 'xen-runbooks/playbooks/windows-hvm/disk';

let root: string;
const put = (p: string, data: string | Buffer) => {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), data);
};
beforeAll(() => {
  root = path.join(os.tmpdir(), `xr-win-disk-${process.pid}`);
  put('/proc/mounts', '/dev/mapper/vg0-root / ext4 rw 0 0\n/dev/dm-4 /srv ext4 rw 0 0\n');
  put(
    '/proc/swaps',
    'Filename\tType\tSize\tUsed\tPriority\n/dev/dm-5                               partition\t1048572\t0\t-2\n',
  );
  put('/etc/xen/win7.cfg', "disk = [ 'phy:/dev/vg0/win7,hda,w' ]\n");
  put('/etc/xen/linux.cfg', "disk = [ 'phy:/dev/vg0/shared,xvda,w' ]\n");
  put('/etc/xen/notes.txt', "disk = [ 'phy:/dev/vg0/notes,xvda,w' ]\n");
  put('/etc/xen/broken.cfg', 'disk = [ unclosed\n');
  const mbr = Buffer.alloc(1024 * 1024);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  mbr[446 + 4] = 0x07;
  mbr.writeUInt32LE(2048, 446 + 8);
  mbr.writeUInt32LE(100000, 446 + 12);
  put('/srv/xen/used.img', mbr);
  put('/srv/xen/blank.img', Buffer.alloc(2 * 1024 * 1024));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
const host = () => new RootTransport(root);

describe('the disk on the host', () => {
  it('mounted or swap, by its name or by the device it resolves to', async () => {
    expect(await hostUseOf(host(), '/dev/vg0/data', '/dev/dm-4')).toBe('mounted on /srv');
    expect(await hostUseOf(host(), '/dev/dm-5', '/dev/dm-5')).toBe('swap');
    expect(await hostUseOf(host(), '/dev/vg0/win7', '/dev/dm-9')).toBeUndefined();
  });

  it("another guest's .cfg naming the disk; this guest's own file and other files do not count", async () => {
    expect(await otherGuestWith(host(), '/etc/xen', 'win7', '/dev/vg0/shared')).toBe('/etc/xen/linux.cfg');
    expect(await otherGuestWith(host(), '/etc/xen', 'win7', '/dev/vg0/win7')).toBeUndefined();
    expect(await otherGuestWith(host(), '/etc/xen', 'other', '/dev/vg0/win7')).toBe('/etc/xen/win7.cfg');
    expect(await otherGuestWith(host(), '/etc/xen', 'win7', '/dev/vg0/notes')).toBeUndefined();
    expect(await otherGuestWith(host(), '/etc/none', 'win7', '/dev/vg0/win7')).toBeUndefined();
  });

  it('what its first MiB holds: a partition table, or nothing', async () => {
    const run = { host: host(), $: localCommands() };
    expect(await contentOf(run, '/srv/xen/used.img')).toMatch(/partition table/i);
    expect(await contentOf(run, '/srv/xen/blank.img')).toBeUndefined();
  });
});
