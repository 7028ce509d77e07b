// The parts of pygrub-fix over ssh that need no connection: what the dom0's in-use script
// prints, read back into users; stat -c lines; which tools a run needs there.
import { describe, expect, it } from 'vitest';
import { devMajorMinor, parseSnapshot, parseStatLine, usersIn } from 'xen-runbooks/disk';
import { remoteTools } from 'xen-runbooks/playbooks/pygrub-fix/remote-tools';

// The image: a regular file (raw mode 81a4), st_dev 2049 (8:1), inode 5678.
const IMAGE = parseStatLine('81a4|2147483648|2049|5678|0|0');

const SNAPSHOT = [
  '==xl',
  '[]',
  '==rc 0',
  '==xm',
  '==rc 127',
  '==fds',
  '/proc/100/fd/3|81a4|2147483648|2049|5678|0|0', // flock, the run's own lock holder
  '/proc/101/fd/3|81a4|2147483648|2049|5678|0|0', // its child (sh, then cat)
  '/proc/200/fd/4|81a4|2147483648|2049|5678|0|0', // qemu, a real user, twice
  '/proc/200/fd/9|81a4|2147483648|2049|5678|0|0',
  '/proc/300/fd/1|2190|0|13|99|0|0', // a pipe
  '==locks',
  '1: FLOCK  ADVISORY  WRITE 100 08:01:5678 0 EOF',
  '2: FLOCK  ADVISORY  WRITE 400 08:01:9999 0 EOF',
  '==stat',
  '100 (flock) S 1 100 100 0 -1',
  '101 (sh) S 100 100 100 0 -1',
  '200 (qemu-system-i38) S 1 200 200 0 -1',
  '300 (a (weird) name) S 1 300 300 0 -1',
  '==loops',
  '/dev/loop0|81a4|2147483648|2049|5678|0|0',
  '/dev/loop1|81a4|10|2049|1111|0|0',
  '==mountinfo',
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '==holders',
  '==end',
  '',
].join('\n');

describe("the dom0's in-use script, read back", () => {
  it('parses every section: toolstacks with their exit status, fds, locks, processes, loops, mounts', () => {
    const s = parseSnapshot(SNAPSHOT);
    expect(s.toolstacks).toEqual([
      { tool: 'xl', out: '[]', code: 0 },
      { tool: 'xm', out: '', code: 127 },
    ]);
    expect(s.fds.map((f) => f.pid)).toEqual([100, 101, 200, 200, 300]);
    expect(s.locks).toEqual([
      { pid: 100, key: '8:1:5678' },
      { pid: 400, key: '8:1:9999' },
    ]);
    expect(s.procs.get(300)).toEqual([1, 'a (weird) name']);
    expect(s.mounted.has('8:1')).toBe(true);
  });

  it('names the loop device and the process using the image, once each, and not the lock holder or its child', () => {
    expect(IMAGE).toBeDefined();
    expect(usersIn(parseSnapshot(SNAPSHOT), IMAGE as NonNullable<typeof IMAGE>)).toEqual([
      'it is attached to /dev/loop0 (its backing file, by device and inode)',
      'process 200 (qemu-system-i38) has it open',
    ]);
  });

  it('a block device: by the device it is, mounted or held by device-mapper', () => {
    const dev = parseStatLine('61b0|0|5|321|fd|3');
    expect(dev).toMatchObject({ type: 'block', rdev: '253:3' });
    const snap = SNAPSHOT.replace('==holders', '22 1 253:3 / /mnt rw - ext4 /dev/dm-3 rw\n==holders\ndm-7');
    expect(usersIn(parseSnapshot(snap), dev as NonNullable<typeof dev>)).toEqual([
      'the kernel holds the device: it is mounted',
      'the kernel holds the device: dm-7 sits on it',
    ]);
  });

  it('an unfinished script is an error, not "nobody uses it"', () => {
    expect(() => parseSnapshot(SNAPSHOT.replace('==end\n', ''))).toThrow(/did not finish/);
  });

  it('st_dev in decimal as /proc/locks prints it: major:minor', () => {
    expect(devMajorMinor('2049')).toBe('8:1');
    expect(devMajorMinor(String((259n << 8n) | 3n))).toBe('259:3');
  });
});

describe('stat -c lines', () => {
  it('a file, a directory, a block device; anything else is no answer', () => {
    expect(parseStatLine('81a4|512|2049|12|0|0')).toEqual({ type: 'file', size: 512, dev: '2049', ino: '12' });
    expect(parseStatLine('41ed|4096|2049|2|0|0')?.type).toBe('dir');
    expect(parseStatLine('missing')).toBeUndefined();
  });
});

describe('what a run needs on the dom0', () => {
  it('a dry run reads only; a write adds stdbuf and e2undo; --strategy activate adds sfdisk', () => {
    const read = remoteTools({ write: false, activate: true });
    expect(read).toContain('flock');
    expect(read).toContain('debugfs');
    expect(read).not.toContain('stdbuf');
    expect(read).not.toContain('sfdisk');
    const write = remoteTools({ write: true, activate: false });
    expect(write).toEqual(expect.arrayContaining(['stdbuf', 'e2undo']));
    expect(write).not.toContain('sfdisk');
    expect(remoteTools({ write: true, activate: true })).toContain('sfdisk');
  });
});
