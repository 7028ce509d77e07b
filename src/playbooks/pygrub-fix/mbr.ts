/**
 * The MBR's active flag, for Xen 4.0.x whose pygrub reads only the active partition: the first
 * sector read and written whole, a listing of its four slots for the diff, the backup
 * IMAGE.mbr.orig made once, and sfdisk --activate checked byte by byte.
 */
import { change, fail, ok, skip, unifiedDiff, type CheckResult, type CommandFn } from '../../engine/index.js';
import { diskHost, readBytesAt, writeBytesAt, type DiskHost } from '../../disk/index.js';

const SECTOR = 512;
const SLOTS = 446;

/** What set-active-partition plans: the partition to mark active and the sector that makes. */
export interface ActivatePlan {
  number: number;
  want: Buffer;
}

/** The first 512 bytes of the image (on the host: over ssh with dd, one sector). */
export async function readSector(image: string, host?: DiskHost): Promise<Buffer> {
  const buf = await readBytesAt(diskHost(host), image, 0, SECTOR);
  if (buf.length !== SECTOR) throw fail(`${image} is shorter than one sector`);
  return buf;
}

/** Write one 512-byte sector at the start of the image, synced. */
export async function writeSector(image: string, sector: Buffer, host?: DiskHost): Promise<void> {
  await writeBytesAt(diskHost(host), image, 0, sector.subarray(0, SECTOR));
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
export async function readSaved(orig: string, host?: DiskHost): Promise<Buffer | undefined> {
  const h = diskHost(host);
  if (!(await h.exists(orig))) return undefined;
  const saved = await h.readFile(orig);
  if (saved.length !== SECTOR) throw fail(`${orig} is ${saved.length} bytes, not one 512-byte sector`);
  return saved;
}

/** Keep the sector as `orig` the first time only: written aside, then renamed into place. */
export async function saveOnce($: CommandFn, orig: string, sector: Buffer, host?: DiskHost): Promise<void> {
  const h = diskHost(host);
  if (await h.exists(orig)) return;
  await h.writeFileAtomic(orig, sector, { mode: 0o600 });
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
  host?: DiskHost,
): Promise<void> {
  const r = await $({ nothrow: true })`sfdisk --activate ${image} ${number}`;
  const after = await readSector(image, host);
  if (r.exitCode === 0 && after.equals(want)) return;
  await writeSector(image, before, host);
  throw fail(
    `sfdisk --activate ${image} ${number} ${r.exitCode !== 0 ? `failed (exit ${r.exitCode}): ${r.stderr.trim()}` : 'changed more than the boot flags'}; the MBR was put back`,
  );
}

/** Put the saved sector back, check it reads back, and remove the backup. */
export async function restore($: CommandFn, image: string, orig: string, host?: DiskHost): Promise<void> {
  const saved = await diskHost(host).readFile(orig);
  await writeSector(image, saved, host);
  if (!(await readSector(image, host)).equals(saved)) throw fail(`the MBR of ${image} does not read back as ${orig}`);
  await $`rm -f -- ${orig}`;
}

/** --restore: what putting IMAGE.mbr.orig back would change (nothing to do without a backup). */
export async function planRestore(image: string, orig: string, host?: DiskHost): Promise<CheckResult<ActivatePlan>> {
  const saved = await readSaved(orig, host);
  if (!saved) return skip(`${orig} does not exist: nothing to restore`);
  const now = await readSector(image, host);
  if (now.equals(saved)) return ok(`the MBR already equals ${orig}`);
  return change<ActivatePlan>(`put the MBR sector of ${orig} back into ${image}`, {
    diff: unifiedDiff('MBR', listing(now), listing(saved)),
  });
}
