/**
 * What kind of kernel image a file is, and how its payload is compressed: the domain builder
 * (libxc / libxenguest) must be able to decompress it, and which methods it knows depends on
 * the Xen release and on the libraries it was built with.
 */
export type Compression = 'gzip' | 'bzip2' | 'lzma' | 'xz' | 'lzo' | 'lz4' | 'zstd' | 'none' | 'unknown';

export interface KernelInfo {
  format: 'bzImage' | 'elf' | 'compressed' | 'unknown';
  compression: Compression;
  /** The bzImage boot protocol version, e.g. `2.10`. */
  protocol?: string;
  /** The kernel's version string from the bzImage header, when present. */
  version?: string;
}

/** How many bytes of the kernel file detectKernel needs at most. */
export const KERNEL_HEAD_BYTES = 256 * 1024;

export function compressionOf(b: Uint8Array): Compression {
  const m = (...bytes: number[]) => bytes.every((x, i) => b[i] === x);
  if (m(0x1f, 0x8b)) return 'gzip';
  if (m(0x42, 0x5a, 0x68)) return 'bzip2';
  if (m(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (m(0x5d, 0x00, 0x00)) return 'lzma';
  if (m(0x89, 0x4c, 0x5a, 0x4f)) return 'lzo';
  if (m(0x02, 0x21, 0x4c, 0x18)) return 'lz4';
  if (m(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (m(0x7f, 0x45, 0x4c, 0x46)) return 'none';
  return 'unknown';
}

export function detectKernel(head: Buffer): KernelInfo {
  if (head.length >= 0x250 && head.toString('latin1', 0x202, 0x206) === 'HdrS') {
    const protocolRaw = head.readUInt16LE(0x206);
    const protocol = `${protocolRaw >> 8}.${(protocolRaw & 0xff).toString().padStart(2, '0')}`;
    const setupSects = head[0x1f1] || 4;
    let version: string | undefined;
    const vp = head.readUInt16LE(0x20e);
    if (vp) {
      const at = vp + 0x200;
      if (at < head.length) version = head.toString('latin1', at, Math.min(head.length, at + 128)).split('\0')[0];
    }
    if (protocolRaw < 0x208)
      return { format: 'bzImage', compression: 'unknown', protocol, ...(version ? { version } : {}) };
    const payload = (setupSects + 1) * 512 + head.readUInt32LE(0x248);
    const compression = payload + 8 <= head.length ? compressionOf(head.subarray(payload, payload + 8)) : 'unknown';
    return { format: 'bzImage', compression, protocol, ...(version ? { version } : {}) };
  }
  const c = compressionOf(head.subarray(0, 8));
  if (c === 'none') return { format: 'elf', compression: 'none' };
  if (c !== 'unknown') return { format: 'compressed', compression: c };
  return { format: 'unknown', compression: 'unknown' };
}
