import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  openSource,
  readPartitionTable,
  pygrubOffsets,
  PartitionTableError,
  crc32,
  type PartitionTable,
} from 'xen-runbooks/disk';
import { tool } from '../helpers/tools.js';
import {
  buildImage,
  gptImage,
  incidentImage,
  rootOnlyImage,
  tempDir,
  writeAt,
  GiB,
  MiB,
  GPT,
  type BuiltImage,
  type SfdiskTable,
  sfdiskJson,
} from '../fixtures/images.js';

let dir: string;
const read = async (file: string, opts: { sectorSize?: 512 | 4096 } = {}) => {
  const src = await openSource(file);
  try {
    return await readPartitionTable(src, opts);
  } finally {
    await src.close();
  }
};

/** Every partition sfdisk reports, as our reader must report it. */
function expectSameAsSfdisk(t: PartitionTable, sf: SfdiskTable): void {
  expect(t.label).toBe(sf.label);
  expect(t.sectorSize).toBe(sf.sectorsize);
  expect(t.id?.toLowerCase()).toBe(sf.id.toLowerCase());
  const ours = t.partitions.map((p) => ({
    number: p.number,
    start: p.start,
    size: p.size,
    type: p.type.toLowerCase(),
    bootable: Boolean(p.bootable),
    name: p.name ?? '',
    uuid: (p.uuid ?? '').toLowerCase(),
  }));
  const theirs = sf.partitions.map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)?.[1]),
    start: p.start,
    size: p.size,
    type: p.type.toLowerCase(),
    bootable: Boolean(p.bootable),
    name: p.name ?? '',
    uuid: (p.uuid ?? '').toLowerCase(),
  }));
  expect(ours).toEqual(theirs);
  for (const p of t.partitions) expect(p.offset).toBe(p.start * t.sectorSize);
}

const built: Record<string, BuiltImage> = {};

beforeAll(async () => {
  tool('sfdisk');
  tool('mke2fs');
  tool('losetup');
  dir = tempDir('xr-disk-');
  built.incident = await incidentImage(path.join(dir, 'incident.img'));
  built.gpt = await gptImage(path.join(dir, 'gpt.img'));
  built.gpt4k = await gptImage(path.join(dir, 'gpt4k.img'), { sectorSize: 4096 });
  built.rootOnly = await rootOnlyImage(path.join(dir, 'root.img'));
  built.logicals = await buildImage(path.join(dir, 'logicals.img'), {
    bytes: 2 * GiB,
    label: 'dos',
    partitions: [
      { start: 2048, size: 204800, type: '83' },
      { start: 206848, size: 409600, type: '82' },
      { start: 616448, type: 'f' },
      { size: 204800, type: '83' },
      { size: 102400, type: '8e' },
      { type: 'fd' },
    ],
  });
  built.dos4k = await buildImage(path.join(dir, 'dos4k.img'), {
    bytes: 1 * GiB,
    label: 'dos',
    sectorSize: 4096,
    partitions: [
      { start: 256, size: 32768, type: '83', bootable: true },
      { start: 33024, type: '5' },
      { start: 33280, type: '8e' },
    ],
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('partition tables agree with sfdisk --json', () => {
  for (const name of ['incident', 'gpt', 'gpt4k', 'rootOnly', 'logicals'] as const) {
    it(`${name}`, async () => {
      const b = built[name] as BuiltImage;
      expectSameAsSfdisk(await read(b.path), b.sfdisk as SfdiskTable);
    });
  }

  it('the incident: partition 1 at sector 2048 (byte 1048576), extended 2, LVM 5', async () => {
    const t = await read((built.incident as BuiltImage).path);
    expect(t.partitions.map((p) => [p.number, p.kind, p.type, p.offset])).toEqual([
      [1, 'primary', '83', 1048576],
      [2, 'extended', '5', 501758 * 512],
      [5, 'logical', '8e', 501760 * 512],
    ]);
    expect(t.partitions[0]?.bootable).toBe(true);
    expect(t.totalSectors).toBe(209715200);
  });

  it('logical partitions are numbered from 5 along the EBR chain', async () => {
    const t = await read((built.logicals as BuiltImage).path);
    expect(t.partitions.filter((p) => p.kind === 'logical').map((p) => p.number)).toEqual([5, 6, 7]);
  });

  it('a dos table on 4096-byte sectors, read with --sector-size 4096', async () => {
    const b = built.dos4k as BuiltImage;
    expect(b.sfdisk?.sectorsize).toBe(4096);
    expectSameAsSfdisk(await read(b.path, { sectorSize: 4096 }), b.sfdisk as SfdiskTable);
  });

  it('GPT with 4096-byte sectors is recognised from the header position', async () => {
    const t = await read((built.gpt4k as BuiltImage).path);
    expect(t.sectorSize).toBe(4096);
    expect(t.partitions.find((p) => p.number === 2)?.offset).toBe(2 * MiB);
    expect(pygrubOffsets(t)).toEqual([]);
  });

  it('pygrub tries the primary slots only, the active one first', async () => {
    expect(pygrubOffsets(await read((built.incident as BuiltImage).path))).toEqual([1048576, 501758 * 512]);
    expect(pygrubOffsets(await read((built.gpt as BuiltImage).path))).toEqual([MiB, 2 * MiB, 258 * MiB]);
  });
});

describe('a damaged GPT', () => {
  it('a bad primary header CRC: the backup header is used, and sfdisk agrees', async () => {
    const file = path.join(dir, 'gpt-badprimary.img');
    const b = await gptImage(file, { bytes: 2 * GiB });
    await writeAt(file, 512 + 40, Buffer.from([0xff, 0xff])); // FirstUsableLBA, under the header CRC
    const t = await read(file);
    expect(t.gpt?.header).toBe('backup');
    expect(t.gpt?.primaryError).toMatch(/header CRC mismatch/);
    expect(t.warnings.join('\n')).toMatch(/backup header/);
    const sf = await sfdiskJson(file);
    expect(sf).not.toBeNull();
    expectSameAsSfdisk(t, sf as SfdiskTable);
    expect(t.partitions.map((p) => p.start)).toEqual(b.parts.map((p) => p.start));
  });

  it('a bad entry array CRC on the primary: the backup entries are used', async () => {
    const file = path.join(dir, 'gpt-badentries.img');
    await gptImage(file, { bytes: 2 * GiB });
    await writeAt(file, 1024 + 128 + 56, Buffer.from('X\0', 'latin1')); // the name of entry 2
    const t = await read(file);
    expect(t.gpt?.header).toBe('backup');
    expect(t.gpt?.primaryError).toMatch(/entry array CRC mismatch/);
    expect(t.partitions.find((p) => p.number === 2)?.name).toBe('boot');
  });

  it('both headers damaged: refused with both reasons', async () => {
    const file = path.join(dir, 'gpt-bothbad.img');
    await gptImage(file, { bytes: 2 * GiB });
    await writeAt(file, 512, Buffer.from('NOT PART'));
    await writeAt(file, 2 * GiB - 512, Buffer.from('NOT PART'));
    await expect(read(file)).rejects.toThrow(/GPT is damaged: primary: no "EFI PART".*backup: no "EFI PART"/);
  });
});

describe('malformed images end with a clear error', () => {
  it('an empty file', async () => {
    const file = path.join(dir, 'empty.img');
    writeFileSync(file, '');
    await expect(read(file)).rejects.toThrow(PartitionTableError);
    await expect(read(file)).rejects.toThrow(/is empty/);
  });

  it('a file cut inside the MBR', async () => {
    const file = path.join(dir, 'cut.img');
    await incidentImage(file, { bytes: 1 * GiB });
    truncateSync(file, 300);
    await expect(read(file)).rejects.toThrow(/too small to hold a partition table/);
  });

  it('a GPT cut after its header (entries and backup missing)', async () => {
    const file = path.join(dir, 'gpt-cut.img');
    await gptImage(file, { bytes: 2 * GiB });
    truncateSync(file, 1024 + 512);
    await expect(read(file)).rejects.toThrow(/GPT is damaged: primary: .*cut off/);
  });

  it('an EBR chain that loops back on itself', async () => {
    const file = path.join(dir, 'loop.img');
    const b = await buildImage(file, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 204800, type: '83' },
        { start: 206848, type: '5' },
        { size: 204800, type: '83' },
        { type: '83' },
      ],
    });
    const ext = b.parts.find((p) => p.number === 2) as { start: number };
    const sixth = b.parts.find((p) => p.number === 6) as { start: number };
    // The second EBR sits just before partition 6 (sfdisk leaves a 2048-sector gap): point its
    // "next" link back at the first EBR (offset 0 from the extended partition's start).
    const ebr2 = await (async () => {
      const src = await openSource(file);
      try {
        for (let s = sixth.start - 1; s > ext.start; s--) {
          const sec = await src.read(s * 512, 512);
          if (sec.readUInt16LE(510) === 0xaa55) return s;
        }
      } finally {
        await src.close();
      }
      throw new Error('no second EBR');
    })();
    const link = Buffer.alloc(16);
    link[4] = 0x05;
    link.writeUInt32LE(0, 8);
    link.writeUInt32LE(2048, 12);
    await writeAt(file, ebr2 * 512 + 462, link);
    await expect(read(file)).rejects.toThrow(/loops back to the EBR at sector 206848/);
  });

  it('partitions past the end of a truncated image', async () => {
    const file = path.join(dir, 'short.img');
    await incidentImage(file, { bytes: 2 * GiB });
    truncateSync(file, 200 * MiB);
    await expect(read(file)).rejects.toThrow(/partition 1 \(sectors 2048–499711\) goes past the end/);
  });

  it('overlapping partitions', async () => {
    const file = path.join(dir, 'overlap.img');
    await buildImage(file, {
      bytes: 1 * GiB,
      label: 'dos',
      partitions: [
        { start: 2048, size: 409600, type: '83' },
        { start: 411648, size: 409600, type: '83' },
      ],
    });
    const e = Buffer.alloc(16);
    e[4] = 0x83;
    e.writeUInt32LE(204800, 8);
    e.writeUInt32LE(409600, 12);
    await writeAt(file, 446 + 16, e);
    await expect(read(file)).rejects.toThrow(
      /partitions 1 \(sectors 2048–411647\) and 2 \(sectors 204800–614399\) overlap/,
    );
  });

  it('a disk without a table is one whole-disk filesystem, as pygrub takes it', async () => {
    const file = path.join(dir, 'whole.img');
    await buildImage(file, {
      bytes: 64 * MiB,
      label: 'none',
      fs: { type: 'ext4', files: { 'boot/grub/grub.cfg': 'set default=0\n' } },
    });
    const t = await read(file);
    expect(t.label).toBe('none');
    expect(pygrubOffsets(t)).toEqual([0]);
    expect(await sfdiskJson(file)).toBeNull();
  });
});

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
  it('is what a GPT header written by sfdisk carries', async () => {
    const src = await openSource((built.gpt as BuiltImage).path);
    const h = await src.read(512, 92);
    await src.close();
    const stored = h.readUInt32LE(16);
    h.writeUInt32LE(0, 16);
    expect(crc32(h)).toBe(stored);
    expect(GPT.linux).toMatch(/^0FC63DAF/);
  });
});
