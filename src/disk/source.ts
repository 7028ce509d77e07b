import { promises as fsp, constants as fsc } from 'node:fs';

/**
 * Random access to an image file or a block device, read-only. Only the bytes asked for are
 * read: a 2 TiB sparse image costs the same as a 1 GiB one.
 */
export interface BlockSource {
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** The device's logical sector size when it is a block device (undefined for a file). */
  readonly deviceSectorSize: number | undefined;
  readonly isBlockDevice: boolean;
  /** Read up to `length` bytes at `offset`; shorter at the end of the image. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** The largest single read the partition and filesystem readers ever ask for. */
export const MAX_READ = 16 * 1024 * 1024;

async function readSysNumber(file: string): Promise<number | undefined> {
  try {
    const n = Number((await fsp.readFile(file, 'utf8')).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Open an image file or a block device for reading. */
export async function openSource(path: string): Promise<BlockSource> {
  const fh = await fsp.open(path, fsc.O_RDONLY);
  try {
    const st = await fh.stat();
    let size = st.size;
    let deviceSectorSize: number | undefined;
    const isBlockDevice = st.isBlockDevice();
    if (isBlockDevice) {
      const major = Math.floor(Number(st.rdev) / 256) & 0xfff;
      const minor = (Number(st.rdev) & 0xff) | ((Number(st.rdev) >> 12) & 0xfff00);
      const sys = `/sys/dev/block/${major}:${minor}`;
      const sectors = await readSysNumber(`${sys}/size`);
      if (sectors === undefined) throw new Error(`cannot read the size of block device ${path} from ${sys}/size`);
      size = sectors * 512;
      deviceSectorSize =
        (await readSysNumber(`${sys}/queue/logical_block_size`)) ??
        (await readSysNumber(`${sys}/../queue/logical_block_size`));
    } else if (!st.isFile()) {
      throw new Error(`${path} is neither a regular file nor a block device`);
    }
    return {
      path,
      size,
      deviceSectorSize,
      isBlockDevice,
      async read(offset: number, length: number): Promise<Buffer> {
        if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
        if (length > MAX_READ) throw new RangeError(`read of ${length} bytes refused (limit ${MAX_READ})`);
        const want = Math.max(0, Math.min(length, size - offset));
        const buf = Buffer.alloc(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === want ? buf : buf.subarray(0, got);
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** A source over bytes in memory (for unit tests of the parsers and for small images). */
export function memorySource(data: Buffer, path = '<memory>', deviceSectorSize?: number): BlockSource {
  return {
    path,
    size: data.length,
    deviceSectorSize,
    isBlockDevice: deviceSectorSize !== undefined,
    async read(offset, length) {
      return Buffer.from(data.subarray(offset, Math.min(data.length, offset + length)));
    },
    async close() {},
  };
}
