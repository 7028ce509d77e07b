/**
 * The MBR's active flag, for Xen 4.0.x whose pygrub reads only the active partition: the first
 * sector read and written whole, a listing of its four slots for the diff, the backup
 * IMAGE.mbr.orig made once, and sfdisk --activate checked byte by byte.
 */
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { fail, type CommandFn } from '../../engine/index.js';

const SECTOR = 512;
const SLOTS = 446;

/** What set-active-partition plans: the partition to mark active and the sector that makes. */
export interface ActivatePlan {
  number: number;
  want: Buffer;
}

/** The first 512 bytes of the image. */
export async function readSector(image: string): Promise<Buffer> {
  const fh = await open(image, 'r');
  try {
    const buf = Buffer.alloc(SECTOR);
    const { bytesRead } = await fh.read(buf, 0, SECTOR, 0);
    if (bytesRead !== SECTOR) throw fail(`${image} is shorter than one sector`);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Write one 512-byte sector at the start of the image, synced. */
export async function writeSector(image: string, sector: Buffer): Promise<void> {
  const fh = await open(image, 'r+');
  try {
    await fh.write(sector, 0, SECTOR, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The MBR's four slots as text, for the diff of the active flag. */
export function listing(mbr: Buffer): string {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(SLOTS + 16 * i, SLOTS + 16 + 16 * i);
    if (e.readUInt32LE(8) === 0 && e[4] === 0) continue;
    out.push(
      `slot ${i + 1}: type ${(e[4] ?? 0).toString(16)} start ${e.readUInt32LE(8)}${e[0] === 0x80 ? ' active' : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** The sector with primary partition `number` (1-4) active and the other three not: what sfdisk --activate writes. */
export function withActiveFlag(mbr: Buffer, number: number): Buffer {
  const want = Buffer.from(mbr);
  for (let i = 0; i < 4; i++) want[SLOTS + 16 * i] = i === number - 1 ? 0x80 : 0;
  return want;
}

/** The saved sector of IMAGE.mbr.orig, undefined when there is none; anything but one sector is refused. */
export async function readSaved(orig: string): Promise<Buffer | undefined> {
  const saved = await readFile(orig).catch(() => undefined);
  if (!saved) return undefined;
  if (saved.length !== SECTOR) throw fail(`${orig} is ${saved.length} bytes, not one 512-byte sector`);
  return saved;
}

/** Keep the sector as `orig` the first time only: written aside, then renamed into place. */
export async function saveOnce($: CommandFn, orig: string, sector: Buffer): Promise<void> {
  if (await stat(orig).catch(() => undefined)) return;
  await writeFile(`${orig}.tmp`, sector, { flag: 'wx' });
  await $`mv -- ${`${orig}.tmp`} ${orig}`;
}

/**
 * sfdisk --activate IMAGE N, then the sector must be exactly `want`: if sfdisk failed half-way
 * or changed anything else, the sector `before` goes back and the step fails.
 */
export async function activate(
  $: CommandFn,
  image: string,
  number: number,
  before: Buffer,
  want: Buffer,
): Promise<void> {
  const r = await $({ nothrow: true })`sfdisk --activate ${image} ${number}`;
  const after = await readSector(image);
  if (r.exitCode === 0 && after.equals(want)) return;
  await writeSector(image, before);
  throw fail(
    `sfdisk --activate ${image} ${number} ${r.exitCode !== 0 ? `failed (exit ${r.exitCode}): ${r.stderr.trim()}` : 'changed more than the boot flags'}; the MBR was put back`,
  );
}

/** Put the saved sector back, check it reads back, and remove the backup. */
export async function restore($: CommandFn, image: string, orig: string): Promise<void> {
  const saved = await readFile(orig);
  await writeSector(image, saved);
  if (!(await readSector(image)).equals(saved)) throw fail(`the MBR of ${image} does not read back as ${orig}`);
  await $`rm -f -- ${orig}`;
}
