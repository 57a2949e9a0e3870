// Verify every PNG chunk's CRC. libspng does not check the last IDAT chunk's CRC once it has the pixels it needs,
// so a damaged PNG can decode "successfully"; zlib's native crc32 makes the full check cheap next to decoding.
import { crc32 } from 'node:zlib';

/** null when all chunks up to IEND have matching CRCs; otherwise what is wrong. Missing IEND is not reported here. */
export function findPngCrcError(png: Buffer): string | null {
  let at = 8;
  while (at + 12 <= png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const end = at + 8 + length;
    if (end + 4 > png.length) return null; // cut short: the decoder reports the truncation
    if (crc32(png.subarray(at + 4, end)) !== png.readUInt32BE(end)) return `checksum mismatch in its ${type} chunk`;
    if (type === 'IEND') return null;
    at = end + 4;
  }
  return null;
}
