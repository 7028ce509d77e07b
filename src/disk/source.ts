import { promises as fsp, constants as fsc } from 'node:fs';
import { isRemote, parseStatLine, readBytesAt, type DiskHost } from './host-io.js';

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

/** The chunk a remote source reads and keeps: one dd per 64 KiB run, never the whole image. */
const CHUNK = 65536;

/**
 * Open an image file or a block device on the host: this machine's (Node, as openSource) or,
 * over ssh, through the remote shell: its size and sector size from stat and /sys, its bytes
 * with dd in 64 KiB chunks, each read once.
 */
export async function openHostSource(host: DiskHost, file: string): Promise<BlockSource> {
  if (!isRemote(host)) return openSource(file);
  const script = [
    'i=$(stat -L -c "%f|%s|%d|%i|%t|%T" -- "$1") || exit 3',
    'printf "%s\\n" "$i"',
    'case "$i" in 6???\\|*)',
    '  d=/sys/dev/block/$(printf "%d:%d" "0x$(echo "$i" | cut -d"|" -f5)" "0x$(echo "$i" | cut -d"|" -f6)")',
    '  cat "$d/size"; cat "$d/queue/logical_block_size" 2>/dev/null || cat "$d/../queue/logical_block_size" 2>/dev/null || echo',
    'esac',
  ].join('\n');
  const r = await host.exec(['sh', '-c', script, 'sh', file], { nothrow: true });
  if (r.exitCode === 3) throw new Error(`${file}: no such file or device on ${host.label}`);
  if (!r.ok) throw new Error(`cannot look at ${file} on ${host.label}: ${r.stderr.trim()}`);
  const [line, sectors, logical] = r.stdout.split('\n');
  const info = parseStatLine(line ?? '');
  if (!info) throw new Error(`stat of ${file} on ${host.label} printed ${JSON.stringify(line)}`);
  const isBlockDevice = info.type === 'block';
  if (!isBlockDevice && info.type !== 'file') throw new Error(`${file} is neither a regular file nor a block device`);
  const size = isBlockDevice ? Number(sectors) * 512 : info.size;
  if (!Number.isSafeInteger(size)) throw new Error(`cannot read the size of block device ${file} from /sys`);
  const deviceSectorSize = isBlockDevice && logical?.trim() ? Number(logical) : undefined;
  const chunks = new Map<number, Buffer>();
  const fetch = async (first: number, last: number) => {
    // The missing chunks of [first, last], read as runs of consecutive chunks.
    for (let k = first; k <= last; k++) {
      if (chunks.has(k)) continue;
      let end = k;
      while (end < last && !chunks.has(end + 1)) end++;
      const bytes = await readBytesAt(host, file, k * CHUNK, (end - k + 1) * CHUNK);
      for (let j = k; j <= end; j++) chunks.set(j, bytes.subarray((j - k) * CHUNK, (j - k + 1) * CHUNK));
      k = end;
    }
  };
  return {
    path: file,
    size,
    deviceSectorSize,
    isBlockDevice,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
      if (length > MAX_READ) throw new RangeError(`read of ${length} bytes refused (limit ${MAX_READ})`);
      const want = Math.max(0, Math.min(length, size - offset));
      if (want === 0) return Buffer.alloc(0);
      const first = Math.floor(offset / CHUNK);
      const last = Math.floor((offset + want - 1) / CHUNK);
      await fetch(first, last);
      const whole = Buffer.concat([...Array(last - first + 1).keys()].map((i) => chunks.get(first + i) as Buffer));
      return Buffer.from(whole.subarray(offset - first * CHUNK, offset - first * CHUNK + want));
    },
    async close() {
      chunks.clear();
    },
  };
}
