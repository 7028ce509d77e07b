/**
 * Building disk images with the real tools, for the demo, the benchmark and the tests: a
 * sparse file, a partition table written by sfdisk (through a loop device with 4096-byte
 * sectors when asked), populated ext2/3/4 filesystems written by mke2fs -d DIR -E offset=N.
 * A 100 GiB image costs a few hundred KiB.
 */
import { mkdtemp, mkdir, open, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandFn } from '../engine/index.js';

export type TreeEntry = string | Buffer | { symlink: string };
/** Files of a filesystem to build: path (relative) → contents, or a symlink. */
export type Tree = Record<string, TreeEntry>;

export interface FsSpec {
  type: 'ext2' | 'ext3' | 'ext4';
  files: Tree;
  uuid?: string;
  /** mke2fs -O list. */
  features?: string;
}

export interface PartSpec {
  /** First sector; sfdisk's default when left out. */
  start?: number;
  /** Sectors; the rest of the disk when left out. */
  size?: number;
  /** dos: hex type (`83`, `5`, `8e`); gpt: type GUID. */
  type: string;
  bootable?: boolean;
  name?: string;
  fs?: FsSpec;
  /** Raw bytes to write at offsets inside the partition (signatures of other filesystems). */
  raw?: { at: number; data: Buffer }[];
}

export interface ImageSpec {
  bytes: number;
  label: 'dos' | 'gpt' | 'none';
  sectorSize?: 512 | 4096;
  partitions?: PartSpec[];
  /** label none: a filesystem on the whole disk. */
  fs?: FsSpec;
}

export interface BuiltPart {
  number: number;
  start: number;
  size: number;
  offset: number;
  bytes: number;
  type: string;
}

export interface SfdiskTable {
  label: string;
  id: string;
  sectorsize: number;
  partitions: {
    node: string;
    start: number;
    size: number;
    type: string;
    bootable?: boolean;
    name?: string;
    uuid?: string;
  }[];
}

export interface BuiltImage {
  path: string;
  sectorSize: number;
  /** `sfdisk --json` of the image as written (null without a table). */
  sfdisk: SfdiskTable | null;
  parts: BuiltPart[];
}

async function writeTree(dir: string, files: Tree): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    const full = path.join(dir, p);
    await mkdir(path.dirname(full), { recursive: true });
    if (typeof content === 'object' && !Buffer.isBuffer(content)) await symlink(content.symlink, full);
    else await writeFile(full, content);
  }
}

/** mke2fs -d TREE -E offset=OFFSET IMAGE SIZE: a populated filesystem inside the image file. */
export async function makeFs($: CommandFn, image: string, offset: number, bytes: number, spec: FsSpec): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-tree-'));
  try {
    await writeTree(dir, spec.files);
    const extra = [...(spec.uuid ? ['-U', spec.uuid] : []), ...(spec.features ? ['-O', spec.features] : [])];
    await $`mke2fs -q -F -t ${spec.type} -d ${dir} -E offset=${offset} ${extra} ${image} ${Math.floor(bytes / 1024)}k`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function writeAt(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

function sfdiskScript(spec: ImageSpec): string {
  const lines = [`label: ${spec.label}`, 'unit: sectors', ''];
  for (const p of spec.partitions ?? []) {
    const f: string[] = [];
    if (p.start !== undefined) f.push(`start=${p.start}`);
    if (p.size !== undefined) f.push(`size=${p.size}`);
    f.push(`type=${p.type}`);
    if (p.bootable) f.push('bootable');
    if (p.name) f.push(`name="${p.name}"`);
    lines.push(f.join(', '));
  }
  return `${lines.join('\n')}\n`;
}

/** `sfdisk --json DEV`, or null when DEV has no table. */
export async function sfdiskJson($: CommandFn, dev: string): Promise<SfdiskTable | null> {
  const r = await $({ nothrow: true })`sfdisk --json ${dev}`;
  if (!r.ok || !r.stdout.trim()) return null;
  return (JSON.parse(r.stdout) as { partitiontable: SfdiskTable }).partitiontable;
}

/** Build an image: sparse file, partition table by sfdisk, filesystems by mke2fs. */
export async function buildImage($: CommandFn, file: string, spec: ImageSpec): Promise<BuiltImage> {
  await rm(file, { force: true });
  await writeFile(file, '');
  await truncate(file, spec.bytes);
  const sectorSize = spec.sectorSize ?? 512;
  if (spec.label === 'none') {
    if (spec.fs) await makeFs($, file, 0, spec.bytes, spec.fs);
    return { path: file, sectorSize, sfdisk: null, parts: [] };
  }
  let table: SfdiskTable | null;
  const script = sfdiskScript(spec);
  if (sectorSize === 512) {
    await $({ input: script })`sfdisk -q --no-reread --no-tell-kernel ${file}`;
    table = await sfdiskJson($, file);
  } else {
    const loop = (await $`losetup --find --show --sector-size ${sectorSize} ${file}`).stdout.trim();
    try {
      await $({ input: script })`sfdisk -q --no-reread --no-tell-kernel ${loop}`;
      table = await sfdiskJson($, loop);
    } finally {
      await $`losetup --detach ${loop}`;
    }
  }
  if (!table) throw new Error(`sfdisk wrote no table to ${file}`);
  const parts: BuiltPart[] = table.partitions.map((p) => {
    const number = Number(/(\d+)$/.exec(p.node)?.[1]);
    return {
      number,
      start: p.start,
      size: p.size,
      offset: p.start * sectorSize,
      bytes: p.size * sectorSize,
      type: p.type,
    };
  });
  // Partition specs are in sfdisk's order: primary/GPT entries, then logical ones.
  const specs = spec.partitions ?? [];
  for (const [i, p] of specs.entries()) {
    const built = parts[i];
    if (!built) throw new Error(`sfdisk made no partition for entry ${i}`);
    if (p.fs) await makeFs($, file, built.offset, built.bytes, p.fs);
    for (const r of p.raw ?? []) await writeAt(file, built.offset + r.at, r.data);
  }
  return { path: file, sectorSize, sfdisk: table, parts };
}

/* ------------------------------------------------------------------ guest files */

/** Deterministic filler bytes (a kernel's payload needs something to compress). */
export function filler(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = i % 3 === 0 ? 0x61 + ((x >>> 0) % 26) : 0x20;
  }
  return b;
}

export type KernelCompression = 'gzip' | 'bzip2' | 'lzma' | 'xz' | 'lz4' | 'zstd';

/** Each method as the kernel's build compresses vmlinux (scripts/Makefile.lib): lz4 in its legacy frame. */
async function compress($: CommandFn, method: KernelCompression, input: Buffer): Promise<Buffer> {
  const run = $({ input });
  switch (method) {
    case 'gzip':
      return (await run`gzip -9 -c -n`).bytes;
    case 'bzip2':
      return (await run`bzip2 -9 -c`).bytes;
    case 'lzma':
      return (await run`lzma -9 -c`).bytes;
    case 'xz':
      return (await run`xz --check=crc32 -c`).bytes;
    case 'lz4':
      return (await run`lz4 -l -9 -c`).bytes;
    case 'zstd':
      return (await run`zstd -19 -c -q`).bytes;
  }
}

/**
 * A bzImage-shaped kernel: the real-mode header ("HdrS", boot protocol 2.10, payload offset and
 * length, version string) and a payload compressed by the real tool for that method.
 */
export async function bzImage(
  $: CommandFn,
  method: KernelCompression = 'gzip',
  version = '3.2.0-23-generic',
): Promise<Buffer> {
  const payload = await compress($, method, filler(64 * 1024, version.length));
  const setupSects = 1;
  const pm = (setupSects + 1) * 512;
  const payloadOffset = 0x100;
  const head = Buffer.alloc(pm + payloadOffset);
  head[0x1f1] = setupSects;
  head.writeUInt16LE(0xaa55, 0x1fe);
  head.write('HdrS', 0x202, 'latin1');
  head.writeUInt16LE(0x020a, 0x206);
  head.writeUInt16LE(0x300 - 0x200, 0x20e);
  head.write(`${version}\0`, 0x300, 'latin1');
  head.writeUInt32LE(payloadOffset, 0x248);
  head.writeUInt32LE(payload.length, 0x24c);
  return Buffer.concat([head, payload]);
}

/** A gzip-compressed stand-in for an initramfs. */
export async function initrd($: CommandFn, name: string): Promise<Buffer> {
  return (
    await $({ input: Buffer.concat([Buffer.from(`070701 initramfs for ${name}\n`), filler(8192, 7)]) })`gzip -c -n`
  ).bytes;
}

/** An LVM2 physical volume's label (sector 1: LABELONE … LVM2 001), as pvcreate writes it. */
export function lvmLabel(): { at: number; data: Buffer }[] {
  const l = Buffer.alloc(512);
  l.write('LABELONE', 0, 'latin1');
  l.writeBigUInt64LE(1n, 8);
  l.writeUInt32LE(32, 20);
  l.write('LVM2 001', 24, 'latin1');
  l.write('Zk3pQm7aR2vX9bN4cT6yH1sD8fG5jL0w', 32, 'latin1');
  return [{ at: 512, data: l }];
}
