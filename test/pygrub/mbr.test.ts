// The MBR's active flag for Xen 4.0.x: listing, flag, backup once, sfdisk checked byte by byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StepError } from 'xen-runbooks/engine';
import * as mbr from 'xen-runbooks/playbooks/pygrub-fix/mbr';
import { $, buildImage, MiB, tempDir } from '../fixtures/images.js';
import { tool } from '../helpers/tools.js';
import { fakeCommands } from '../helpers/fake-commands.js';

let dir: string;
beforeAll(() => {
  tool('sfdisk');
  dir = tempDir('xr-mbr-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sector with two primary partitions: type 83 at 2048 (active), type 8e at 264192. */
function twoPartitions(): Buffer {
  const s = Buffer.alloc(512);
  s[446] = 0x80;
  s[446 + 4] = 0x83;
  s.writeUInt32LE(2048, 446 + 8);
  s[462 + 4] = 0x8e;
  s.writeUInt32LE(264192, 462 + 8);
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

async function twoPartitionImage(name: string): Promise<string> {
  const file = path.join(dir, name);
  await buildImage(file, {
    bytes: 64 * MiB,
    label: 'dos',
    partitions: [
      { start: 2048, size: 16384, type: '83' },
      { start: 18432, type: '83', bootable: true },
    ],
  });
  return file;
}

describe('the MBR sector', () => {
  it('lists the used slots with their type, start and active flag', () => {
    expect(mbr.listing(twoPartitions())).toBe('slot 1: type 83 start 2048 active\nslot 2: type 8e start 264192\n');
    expect(mbr.listing(Buffer.alloc(512))).toBe('\n');
  });

  it('marks one partition active and clears the others, changing no other byte', () => {
    const before = twoPartitions();
    const want = mbr.withActiveFlag(before, 2);
    expect(mbr.listing(want)).toBe('slot 1: type 83 start 2048\nslot 2: type 8e start 264192 active\n');
    const changed = [...want.keys()].filter((i) => want[i] !== before[i]);
    expect(changed).toEqual([446, 462]);
    expect(before[446]).toBe(0x80); // the input is left as it was
  });

  it('reads and writes the first sector of a file, and refuses a file shorter than a sector', async () => {
    const file = path.join(dir, 'sector.img');
    writeFileSync(file, Buffer.alloc(4096, 7));
    await mbr.writeSector(file, twoPartitions());
    expect((await mbr.readSector(file)).equals(twoPartitions())).toBe(true);
    expect(
      readFileSync(file)
        .subarray(512)
        .every((b) => b === 7),
    ).toBe(true);
    writeFileSync(path.join(dir, 'short.img'), Buffer.alloc(100));
    await expect(mbr.readSector(path.join(dir, 'short.img'))).rejects.toThrow(/shorter than one sector/);
  });

  it('a saved sector is read back; none is undefined; a backup of another size is refused', async () => {
    expect(await mbr.readSaved(path.join(dir, 'none.mbr.orig'))).toBeUndefined();
    writeFileSync(path.join(dir, 'bad.mbr.orig'), Buffer.alloc(1024));
    await expect(mbr.readSaved(path.join(dir, 'bad.mbr.orig'))).rejects.toBeInstanceOf(StepError);
    writeFileSync(path.join(dir, 'good.mbr.orig'), twoPartitions());
    expect((await mbr.readSaved(path.join(dir, 'good.mbr.orig')))?.equals(twoPartitions())).toBe(true);
  });

  it('keeps the first backup: a second save leaves it as it was', async () => {
    const orig = path.join(dir, 'once.mbr.orig');
    await mbr.saveOnce($, orig, twoPartitions());
    await mbr.saveOnce($, orig, Buffer.alloc(512, 1));
    expect(readFileSync(orig).equals(twoPartitions())).toBe(true);
    expect(existsSync(`${orig}.tmp`)).toBe(false);
  });
});

describe('sfdisk --activate, checked', () => {
  it('activates the partition with the real sfdisk, and restore puts the saved sector back', async () => {
    const file = await twoPartitionImage('act.img');
    const before = await mbr.readSector(file);
    const want = mbr.withActiveFlag(before, 1);
    expect(want.equals(before)).toBe(false);
    await mbr.saveOnce($, `${file}.mbr.orig`, before);
    await mbr.activate($, file, 1, before, want);
    expect((await mbr.readSector(file)).equals(want)).toBe(true);
    await mbr.restore($, file, `${file}.mbr.orig`);
    expect((await mbr.readSector(file)).equals(before)).toBe(true);
    expect(existsSync(`${file}.mbr.orig`)).toBe(false);
  });

  it('a failing sfdisk leaves the sector as it was and the step fails', async () => {
    const file = await twoPartitionImage('fail.img');
    const before = await mbr.readSector(file);
    // sfdisk writes a wrong sector, then fails: what the playbook must undo.
    const seen: string[][] = [];
    const broken = fakeCommands(async () => {
      await mbr.writeSector(file, Buffer.alloc(512, 0xee));
      return { exitCode: 1, stderr: 'sfdisk: boom' };
    }, seen);
    await expect(mbr.activate(broken, file, 1, before, mbr.withActiveFlag(before, 1))).rejects.toThrow(
      /failed \(exit 1\): sfdisk: boom; the MBR was put back/,
    );
    expect((await mbr.readSector(file)).equals(before)).toBe(true);
    expect(seen).toEqual([['sfdisk', '--activate', file, '1']]);
  });

  it('an sfdisk that changes more than the flags is undone too', async () => {
    const file = await twoPartitionImage('more.img');
    const before = await mbr.readSector(file);
    const want = mbr.withActiveFlag(before, 1);
    const wrong = Buffer.from(want);
    wrong[440] = (wrong[440] ?? 0) ^ 0xff; // the disk identifier
    const tooMuch = fakeCommands(async () => {
      await mbr.writeSector(file, wrong);
      return {};
    });
    await expect(mbr.activate(tooMuch, file, 1, before, want)).rejects.toThrow(/changed more than the boot flags/);
    expect((await mbr.readSector(file)).equals(before)).toBe(true);
  });
});
