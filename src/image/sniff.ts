// Recognise images by their content (magic bytes), never by file name, and tell cheaply whether a file of a known
// type is structurally complete (its end marker has been written) so a file still being uploaded is not decided.
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export type ImageType = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif';

/** How many leading bytes sniffImageType needs to see. */
export const SNIFF_BYTES = 32;

// ISO-BMFF brands of the HEIF family. sharp's prebuilt libheif decodes AV1 (AVIF) only; HEVC-coded HEIC is
// recognised here as an image and then refused by the decoder with kind 'unsupported'.
const HEIF_BRANDS = new Set(['avif', 'avis', 'mif1', 'msf1', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);

/** The image type announced by the first bytes of a file (at least SNIFF_BYTES of them), or null. */
export function sniffImageType(head: Buffer): ImageType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return 'gif';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  if (head.length >= 4 && (ascii(head, 0, 4) === 'II*\0' || ascii(head, 0, 4) === 'MM\0*')) return 'tiff';
  if (head.length >= 12 && ascii(head, 4, 4) === 'ftyp') {
    const boxSize = head.readUInt32BE(0);
    const end = Math.min(head.length, boxSize >= 16 ? boxSize : 12);
    // The major brand (offset 8), then the compatible brands after the minor version (offset 16 on).
    for (let at = 8; at + 4 <= end; at += at === 8 ? 8 : 4) {
      if (HEIF_BRANDS.has(ascii(head, at, 4))) return 'avif';
    }
  }
  return null;
}

// The leading bytes of each known type (null: any byte), for telling a short file that is no image from the start of
// one still being written.
const bytesOf = (text: string): Array<number | null> => [...text].map((c) => c.charCodeAt(0));
const ANY4 = [null, null, null, null];
const STARTS: Array<Array<number | null>> = [
  [0xff, 0xd8, 0xff],
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  bytesOf('GIF87a'),
  bytesOf('GIF89a'),
  [...bytesOf('RIFF'), ...ANY4, ...bytesOf('WEBP')],
  bytesOf('II*\0'),
  bytesOf('MM\0*'),
  [...ANY4, ...bytesOf('ftyp')],
];

/** Whether a file this short (under SNIFF_BYTES) could still become an image: its bytes begin like a known type's.
 *  When not, it is no image whatever is appended, and can be refused at once instead of waiting for stallMs. */
export function couldStartImage(head: Buffer): boolean {
  return STARTS.some((start) => start.every((byte, i) => i >= head.length || byte === null || head[i] === byte));
}

/**
 * 'complete': the format's end structure is present; 'incomplete': the file visibly stops early (still being
 * written, or truncated for good); 'unknown': this format has no cheap check (TIFF, whose strips can be anywhere,
 * once its first directory is present): decode it to find out.
 */
export type Completeness = 'complete' | 'incomplete' | 'unknown';

/** Structural end-of-file check on a whole file's bytes. */
export function checkCompleteness(type: ImageType, data: Buffer): Completeness {
  switch (type) {
    case 'jpeg':
      return jpegComplete(data);
    case 'png':
      return pngComplete(data);
    case 'gif':
      return gifComplete(data);
    case 'webp':
      return webpComplete(data);
    case 'avif':
      return bmffComplete(data);
    case 'tiff':
      return tiffComplete(data);
  }
}

/**
 * Structural end-of-file check on a file on disk: sniffs its type and checks its end structure (WebP and TIFF
 * from the header alone, the other formats by walking their structure through the whole file, which costs far
 * less than decoding it).
 * The file is opened with O_NONBLOCK and checked with fstat before anything is read, so a FIFO or device handed in
 * by mistake is never blocked on; symlinks are not followed. A non-regular file gives type null.
 */
export async function isStructurallyComplete(
  path: string,
): Promise<{ type: ImageType | null; completeness: Completeness; size: number }> {
  const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { type: null, completeness: 'unknown', size: st.size };
    const size = st.size;
    const head = await readAt(fh, 0, Math.min(size, 64));
    const type = sniffImageType(head);
    if (type === null) return { type, completeness: 'unknown', size };
    if (type === 'webp') return { type, completeness: webpCompleteFromHeader(head, size), size };
    if (type === 'tiff') return { type, completeness: tiffComplete(head, size), size };
    return { type, completeness: checkCompleteness(type, await readAt(fh, 0, size)), size };
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

function ascii(buf: Buffer, at: number, length: number): string {
  return buf.toString('latin1', at, at + length);
}

function endsWith(buf: Buffer, bytes: number[]): boolean {
  if (buf.length < bytes.length) return false;
  return bytes.every((b, i) => buf[buf.length - bytes.length + i] === b);
}

// JPEG: walk the marker segments to the first start-of-scan (so an EXIF thumbnail's own FFD9 inside APP1 never
// counts); from there, a file ending in EOI (FFD9) is complete. Otherwise skip the entropy-coded data (where 0xFF
// is followed by 0x00 stuffing or a restart marker) marker by marker: complete once EOI is reached, which allows
// data after it (camera trailers, motion-photo videos).
function jpegComplete(data: Buffer): Completeness {
  let at = 2;
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) {
      // Extraneous bytes before a marker: libjpeg skips them with a warning, so resynchronise the same way.
      const ff = data.indexOf(0xff, at);
      if (ff < 0) return 'incomplete';
      at = ff;
      continue;
    }
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    } // fill byte
    if (marker === 0xd9) return 'complete';
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    } // standalone markers
    const length = data.readUInt16BE(at + 2);
    at += 2 + length;
    if (marker === 0xda && endsWith(data, [0xff, 0xd9]) && at <= data.length - 2) return 'complete';
    if (marker === 0xda) {
      // Entropy-coded data follows the SOS header: find the next real marker.
      for (;;) {
        const ff = data.indexOf(0xff, at);
        if (ff < 0 || ff + 1 >= data.length) return 'incomplete';
        const next = data[ff + 1]!;
        if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
          at = ff + (next === 0xff ? 1 : 2);
          continue;
        }
        at = ff;
        break;
      }
    }
  }
  return 'incomplete';
}

// PNG: chunks are length(4) type(4) data crc(4); complete once the IEND chunk is wholly present.
function pngComplete(data: Buffer): Completeness {
  let at = 8;
  while (at + 12 <= data.length) {
    const length = data.readUInt32BE(at);
    if (ascii(data, at + 4, 4) === 'IEND') return 'complete'; // the whole 12-byte chunk is there (loop condition)
    at += 12 + length;
  }
  return 'incomplete';
}

// GIF: header, logical screen descriptor and optional global colour table, then blocks (extensions and images,
// each ending in sub-blocks terminated by a zero length) until the trailer byte 0x3B.
function gifComplete(data: Buffer): Completeness {
  if (data.length < 13) return 'incomplete';
  let at = 13;
  const flags = data[10]!;
  if (flags & 0x80) at += 3 * (1 << ((flags & 0x07) + 1));
  const skipSubBlocks = (from: number): number => {
    let p = from;
    while (p < data.length) {
      const n = data[p]!;
      if (n === 0) return p + 1;
      p += n + 1;
    }
    return -1;
  };
  while (at < data.length) {
    const block = data[at]!;
    if (block === 0x3b) return 'complete';
    if (block === 0x21) {
      const next = skipSubBlocks(at + 2);
      if (next < 0) return 'incomplete';
      at = next;
    } else if (block === 0x2c) {
      if (at + 10 > data.length) return 'incomplete';
      const imageFlags = data[at + 9]!;
      let p = at + 10;
      if (imageFlags & 0x80) p += 3 * (1 << ((imageFlags & 0x07) + 1));
      const next = skipSubBlocks(p + 1); // +1: the LZW minimum code size byte
      if (next < 0) return 'incomplete';
      at = next;
    } else {
      return 'incomplete'; // unknown block: malformed or cut (decode will say which)
    }
  }
  return 'incomplete';
}

// WebP: the RIFF header states the payload size; the file is complete once that many bytes are there.
function webpCompleteFromHeader(head: Buffer, fileSize: number): Completeness {
  if (head.length < 12) return 'incomplete';
  const riffSize = head.readUInt32LE(4);
  return fileSize >= riffSize + 8 + (riffSize % 2) ? 'complete' : 'incomplete';
}

function webpComplete(data: Buffer): Completeness {
  return webpCompleteFromHeader(data, data.length);
}

// AVIF/HEIF (ISO-BMFF): top-level boxes are size(4) type(4) [largesize(8)]; complete when the last box ends at
// (or before) the end of the file and the media data box has been seen.
function bmffComplete(data: Buffer): Completeness {
  let at = 0;
  let sawMdat = false;
  while (at + 8 <= data.length) {
    let size = data.readUInt32BE(at);
    const type = ascii(data, at + 4, 4);
    if (type === 'mdat') sawMdat = true;
    if (size === 1) {
      if (at + 16 > data.length) return 'incomplete';
      size = Number(data.readBigUInt64BE(at + 8));
    } else if (size === 0) {
      return 'complete'; // box extends to the end of the file
    }
    if (size < 8) return 'incomplete';
    if (at + size > data.length) return 'incomplete';
    at += size;
  }
  return at === data.length && sawMdat ? 'complete' : 'incomplete';
}

// TIFF: no end marker, and strips may lie anywhere; only a first directory (IFD) beyond the end is a sure sign.
function tiffComplete(head: Buffer, fileSize = head.length): Completeness {
  if (head.length < 8) return 'incomplete';
  const littleEndian = head[0] === 0x49;
  const ifd = littleEndian ? head.readUInt32LE(4) : head.readUInt32BE(4);
  return ifd + 2 > fileSize ? 'incomplete' : 'unknown';
}
