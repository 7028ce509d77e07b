// What is on a block device an SR would take: lsblk, /proc/swaps and blkid -p, read.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isActiveSwap, probeDevice, readBlkid, readLsblk } from '../../src/playbooks/xcp-install/device.js';
import { simDir, simShell } from './shell.js';

describe('reading lsblk -nr -o NAME,TYPE,MOUNTPOINT', () => {
  it('counts partitions as contents, holders as in use, and every mount (\\x20 is a space)', () => {
    const out = 'sdb disk \nsdb1 part /mnt/old\\x20data\nsdb2 part \nvg-lv lvm /srv\n';
    expect(readLsblk('/dev/sdb', out)).toEqual({
      mounted: ['sdb1 on /mnt/old data', 'vg-lv on /srv'],
      inUse: ['lvm vg-lv on top of it'],
      contents: ['partition sdb1', 'partition sdb2'],
    });
    expect(readLsblk('/dev/sdc', 'sdc disk /media/usb\n').mounted).toEqual(['/dev/sdc on /media/usb']);
    expect(readLsblk('/dev/sdd', 'sdd disk \n')).toEqual({ mounted: [], inUse: [], contents: [] });
  });
});

describe('reading blkid -p -o export', () => {
  it('names a partition table, an LVM label, swap and filesystems', () => {
    expect(readBlkid('DEVNAME=/dev/sdb\nPTUUID=1234\nPTTYPE=gpt\n')).toEqual(['a partition table (gpt)']);
    expect(readBlkid('TYPE=LVM2_member\n')).toEqual(['an LVM physical volume']);
    expect(readBlkid('TYPE=swap\n')).toEqual(['swap space']);
    expect(readBlkid('UUID=x\nTYPE=ext4\nUSAGE=filesystem\n')).toEqual(['a filesystem (ext4)']);
    expect(readBlkid('')).toEqual([]);
  });

  it('finds the resolved device among the active swap areas', () => {
    const swaps =
      'Filename\tType\tSize\tUsed\tPriority\n/dev/sdb2                               partition\t1048572\t0\t-2\n';
    expect(isActiveSwap(swaps, '/dev/sdb2')).toBe(true);
    expect(isActiveSwap(swaps, '/dev/sdb')).toBe(false);
  });
});

describe('probeDevice', () => {
  let sim: ReturnType<typeof simDir>;
  beforeEach(() => {
    sim = simDir();
  });
  afterEach(() => sim.cleanup());

  it('stops at test -b for a path that is no block device', async () => {
    const { $, calls } = simShell(sim.dir, { 'test -b /dev/nope': { code: 1 } });
    expect(await probeDevice($, '/dev/nope')).toEqual({ block: false, mounted: [], inUse: [], contents: [] });
    expect(calls).toHaveLength(1);
  });

  it('puts together lsblk, active swap (by the resolved path) and blkid', async () => {
    const dev = '/dev/disk/by-id/ata-X';
    const { $ } = simShell(sim.dir, {
      [`test -b ${dev}`]: {},
      [`lsblk -nr -o NAME,TYPE,MOUNTPOINT ${dev}`]: { stdout: 'sdb disk \n' },
      'cat /proc/swaps': { stdout: 'Filename Type Size Used Priority\n/dev/sdb partition 1 0 -2\n' },
      [`readlink -f -- ${dev}`]: { stdout: '/dev/sdb\n' },
      [`blkid -p -o export ${dev}`]: { stdout: 'TYPE=swap\n' },
    });
    expect(await probeDevice($, dev)).toEqual({
      block: true,
      mounted: [],
      inUse: ['active swap'],
      contents: ['swap space'],
    });
  });
});
