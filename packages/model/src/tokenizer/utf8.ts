// UTF-8 decoding of byte-fallback runs the way SentencePiece does it: a structurally invalid byte
// becomes one U+FFFD and decoding resumes at the next byte. (TextDecoder replaces a whole "maximal
// subpart" with one U+FFFD instead, so E3 81 would give one replacement character, not two.)

const isTrail = (b: number): boolean => (b & 0xc0) === 0x80;
const isValidCodePoint = (c: number): boolean => c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);

/** Decodes `bytes[0, length)` with per-byte U+FFFD for malformed sequences. */
export function decodeUtf8Lenient(bytes: Uint8Array, length = bytes.length): string {
  let out = '';
  let i = 0;
  while (i < length) {
    const b0 = bytes[i] as number;
    let cp = -1;
    let len = 1;
    if (b0 < 0x80) {
      cp = b0;
    } else if ((b0 & 0xe0) === 0xc0 && i + 1 < length) {
      const b1 = bytes[i + 1] as number;
      const c = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
      if (isTrail(b1) && c >= 0x80) {
        cp = c;
        len = 2;
      }
    } else if ((b0 & 0xf0) === 0xe0 && i + 2 < length) {
      const b1 = bytes[i + 1] as number;
      const b2 = bytes[i + 2] as number;
      const c = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      if (isTrail(b1) && isTrail(b2) && c >= 0x800 && isValidCodePoint(c)) {
        cp = c;
        len = 3;
      }
    } else if ((b0 & 0xf8) === 0xf0 && i + 3 < length) {
      const b1 = bytes[i + 1] as number;
      const b2 = bytes[i + 2] as number;
      const b3 = bytes[i + 3] as number;
      const c = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
      if (isTrail(b1) && isTrail(b2) && isTrail(b3) && c >= 0x10000 && isValidCodePoint(c)) {
        cp = c;
        len = 4;
      }
    }
    out += cp < 0 ? '\uFFFD' : String.fromCodePoint(cp);
    i += len;
  }
  return out;
}
