/**
 * Text that keeps every byte. Host files are edited as text, but a file may hold bytes that are
 * not UTF-8 (a Latin-1 comment, a stray byte). They are decoded the way Python's
 * `surrogateescape` does: well-formed UTF-8 becomes its characters, and every byte that is not part
 * of a well-formed sequence becomes the lone surrogate U+DC80 + (byte - 0x80) — a code unit no
 * valid UTF-8 can produce. Encoding maps those back to their bytes, so decode → encode gives the
 * file's bytes exactly, and text a playbook inserts is written as UTF-8.
 */

const ESCAPE_BASE = 0xdc00;

/** The length of the well-formed UTF-8 sequence starting at `i`, or 0 when it is not one. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (j: number) => j < b.length && ((b[j] as number) & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = b[i + 1] as number;
    // No overlong forms (E0 80..9F) and no UTF-16 surrogates (ED A0..BF).
    if (c === 0xe0 && !(c1 >= 0xa0 && c1 <= 0xbf)) return 0;
    if (c === 0xed && !(c1 >= 0x80 && c1 <= 0x9f)) return 0;
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = b[i + 1] as number;
    if (c === 0xf0 && !(c1 >= 0x90 && c1 <= 0xbf)) return 0;
    if (c === 0xf4 && !(c1 >= 0x80 && c1 <= 0x8f)) return 0;
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** Bytes → text; bytes that are not UTF-8 become escapes that encodeText() turns back into them. */
export function decodeBytes(bytes: Uint8Array): string {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const flush = (end: number) => {
    if (end > start) out.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8'));
  };
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    flush(i);
    out.push(String.fromCharCode(ESCAPE_BASE + (bytes[i] as number)));
    i += 1;
    start = i;
  }
  flush(i);
  return out.join('');
}

/** Text → bytes: UTF-8, except the escapes decodeBytes() made, which become their original bytes. */
export function encodeText(text: string): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1; // a pair: an ordinary character
      continue;
    }
    if (u >= 0xdc80 && u <= 0xdcff) {
      if (i > start) parts.push(Buffer.from(text.slice(start, i), 'utf8'));
      parts.push(Buffer.of(u - ESCAPE_BASE));
      start = i + 1;
    }
  }
  if (start === 0) return Buffer.from(text, 'utf8');
  if (start < text.length) parts.push(Buffer.from(text.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** For showing text to a person: each escaped byte as `\xNN` (a diff, a message). */
export function showEscapes(text: string): string {
  return text.replace(
    /(?<![\ud800-\udbff])[\udc80-\udcff]/g,
    (c) => `\\x${(c.charCodeAt(0) - ESCAPE_BASE).toString(16).padStart(2, '0')}`,
  );
}
