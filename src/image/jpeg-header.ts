// A JPEG's displayed size from its markers alone: the frame header (SOFn) gives width and height, the EXIF
// orientation (APP1, tag 0x0112) says whether displaying it swaps them. This spares every camera shot a second
// libvips pass (sharp's metadata(): 0.6 ms of CPU per shot, 4% of the whole pipeline); libvips still enforces the
// pixel limit while decoding, and anything unusual here falls back to metadata().

/** Width and height as displayed (EXIF orientation applied), or null when the header is not plainly readable. */
export function jpegDisplaySize(data: Buffer): { width: number; height: number } | null {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return null;
  let orientation = 1;
  let exifSeen = false;
  let at = 2;
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return null;
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return null; // a scan before any frame header
    const length = data.readUInt16BE(at + 2);
    const body = at + 4;
    const end = at + 2 + length;
    if (length < 2 || end > data.length) return null;
    if (marker === 0xe1 && !exifSeen && length >= 8 && data.toString('latin1', body, body + 6) === 'Exif\0\0') {
      exifSeen = true; // like libexif, only the first EXIF block counts
      orientation = exifOrientation(data.subarray(body + 6, end)) ?? 1;
    } else if (isFrameHeader(marker)) {
      if (length < 7) return null;
      const height = data.readUInt16BE(body + 1);
      const width = data.readUInt16BE(body + 3);
      if (width === 0 || height === 0) return null; // height defined later by a DNL marker: let libvips say
      return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
    }
    at = end;
  }
  return null;
}

/** SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block, or null if absent or unreadable. */
function exifOrientation(tiff: Buffer): number | null {
  if (tiff.length < 8) return null;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const le = order === 'II';
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  if (u16(2) !== 42) return null;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return null;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return null;
    if (u16(entry) !== 0x0112) continue;
    if (u16(entry + 2) !== 3 || u32(entry + 4) < 1) return null; // SHORT, at least one value
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? value : null;
  }
  return null;
}
