// Turn any image file into the model's input, as config/preprocessing.json specifies: EXIF orientation applied,
// 8-bit sRGB RGB with alpha dropped, 32x32 cover/centre/lanczos3, /255, normalized with the model's mean/std,
// float32 CHW. Bad input becomes an ImageError with a specific kind and a message a person can act on.
import sharp from 'sharp';
import { ImageError } from './errors.js';
import { readImageFile } from './read-file.js';
import { jpegDisplaySize } from './jpeg-header.js';
import { findPngCrcError } from './png-crc.js';
import { checkCompleteness, sniffImageType, type ImageType } from './sniff.js';

export { ImageError, type ImageErrorKind } from './errors.js';

export const INPUT_SIZE = 32;
export const TENSOR_LENGTH = 3 * INPUT_SIZE * INPUT_SIZE;

export interface PreprocessLimits {
  /** Decompression-bomb guard: a header claiming more pixels (width x height) is refused without decoding. */
  maxPixels: number;
  /** Files larger than this many bytes are refused before reading. */
  maxBytes: number;
  /** Follow a symlink given as the path (classify: yes; the daemon never hands one in). Default false. */
  followSymlinks?: boolean;
}

export const DEFAULT_LIMITS: PreprocessLimits = { maxPixels: 100_000_000, maxBytes: 200 * 1024 * 1024 };

export interface Prepared {
  /** 3*32*32 float32, CHW, channel order R, G, B, normalized. */
  tensor: Float32Array;
  /** Size of the image as displayed (after EXIF orientation). */
  width: number;
  height: number;
  /** Decoder's format name: jpeg, png, webp, tiff, gif, heif. */
  format: string;
}

export interface Normalization {
  mean: number[];
  std: number[];
}

// Resizing an image with alpha makes libvips premultiply, which shifts the colour of semi-transparent pixels; the
// spec drops alpha before resizing (as PIL's convert('RGB') does). Up to this size the alpha-free image is
// materialized first (3 bytes a pixel); above it, the single premultiplied pass bounds memory instead.
const ALPHA_TWO_PASS_MAX_PIXELS = 16_000_000;

// The operation cache only helps when the same file is processed twice; the daemon never does that, and the
// cache would hold memory. libvips' per-image threads don't speed up a 32x32 shrink-on-load pipeline, and the
// callers already keep several images in flight on the libuv pool.
sharp.cache(false);
sharp.concurrency(1);

/**
 * Preprocess one image. `input` is a path or the file's bytes.
 * A path must name a regular file: it is opened with O_NONBLOCK and fstat-checked before any byte is read (a FIFO,
 * socket or device is refused with kind 'unsupported', never blocked on); symlinks are refused unless
 * limits.followSymlinks. sharp never sees the path, only the bytes.
 */
export async function prepareImage(
  input: string | Buffer,
  norm: Normalization,
  limits: PreprocessLimits,
): Promise<Prepared> {
  const bytes =
    typeof input === 'string'
      ? await readImageFile(input, { maxBytes: limits.maxBytes, followSymlinks: limits.followSymlinks ?? false })
      : checkBuffer(input, limits);
  const type = sniffImageType(bytes.subarray(0, 64));
  if (type === null) throw new ImageError('not-image', `not an image (content is ${describeContent(bytes)})`);

  const options: sharp.SharpOptions = {
    limitInputPixels: limits.maxPixels,
    failOn: 'error', // truncated or damaged data is an error, not a half-grey image
    autoOrient: true,
    pages: 1, // animated GIF/WebP: first frame
  };
  if (type === 'png') {
    const crcError = findPngCrcError(bytes);
    if (crcError) throw new ImageError('corrupt', `corrupt PNG: ${crcError}`);
  }

  let width: number;
  let height: number;
  let format: string;
  let hasAlpha: boolean;
  try {
    // The header alone: refuse a decompression bomb before anything is decoded. A JPEG (no alpha channel) is
    // sized from its markers; other formats, and any JPEG whose markers are unusual, ask libvips.
    const jpeg = type === 'jpeg' ? jpegDisplaySize(bytes) : null;
    if (jpeg) {
      ({ width, height } = jpeg);
      format = 'jpeg';
      hasAlpha = false;
    } else {
      const meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
      width = meta.autoOrient?.width ?? meta.width ?? 0;
      height = meta.autoOrient?.height ?? meta.height ?? 0;
      format = meta.format ?? type;
      hasAlpha = meta.hasAlpha ?? false;
    }
    if (width <= 0 || height <= 0)
      throw new ImageError('corrupt', `corrupt ${type.toUpperCase()} header (no image size)`);
    if (width * height > limits.maxPixels) {
      throw new ImageError(
        'too-large',
        `image claims ${width}x${height} = ${width * height} pixels, ` +
          `over the limit of ${limits.maxPixels} (not decoded)`,
      );
    }
  } catch (err) {
    throw decodeError(err, type, bytes);
  }

  let pixels: Buffer;
  try {
    let source = sharp(bytes, options);
    if (hasAlpha && width * height <= ALPHA_TWO_PASS_MAX_PIXELS) {
      const rgb = await source
        .removeAlpha()
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      source = sharp(rgb.data, {
        raw: { width: rgb.info.width, height: rgb.info.height, channels: rgb.info.channels },
      });
    }
    // From the bytes straight to 32x32 so libvips shrinks on load (JPEG DCT scaling, WebP), then lanczos3.
    const { data, info } = await source
      .removeAlpha()
      .toColourspace('srgb')
      .resize(INPUT_SIZE, INPUT_SIZE, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== TENSOR_LENGTH) {
      throw new ImageError(
        'unsupported',
        `decoded to ${info.channels} channels of ${info.width}x${info.height}, ` +
          `expected RGB ${INPUT_SIZE}x${INPUT_SIZE}`,
      );
    }
    pixels = data;
  } catch (err) {
    throw decodeError(err, type, bytes);
  }
  return { tensor: normalize(pixels, norm), width, height, format };
}

/** Interleaved 8-bit RGB (HWC) to normalized float32 CHW: (v/255 - mean[c]) / std[c]. */
export function normalize(rgb: Uint8Array, norm: Normalization): Float32Array {
  const plane = rgb.length / 3;
  const out = new Float32Array(rgb.length);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * norm.std[c]!);
    const offset = -norm.mean[c]! / norm.std[c]!;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = rgb[i * 3 + c]! * scale + offset;
  }
  return out;
}

function checkBuffer(buf: Buffer, limits: PreprocessLimits): Buffer {
  if (buf.length === 0) throw new ImageError('empty', 'empty file (0 bytes)');
  if (buf.length > limits.maxBytes) {
    throw new ImageError('too-large', `file is ${buf.length} bytes, over the limit of ${limits.maxBytes} bytes`);
  }
  return buf;
}

function describeContent(bytes: Buffer): string {
  const head = bytes.subarray(0, 512);
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128);
  if (printable) return 'text';
  return `${bytes.length} bytes starting ${head.subarray(0, 4).toString('hex')}`;
}

// Map libvips' terse messages onto kinds, keeping its words in the message for whoever digs further. Decoders
// word a cut file many ways ("unable to parse image", "bad seek"), so the file's structure decides 'truncated'.
function decodeError(err: unknown, type: ImageType, bytes: Buffer): ImageError {
  if (err instanceof ImageError) return err;
  const detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  const name = type.toUpperCase();
  if (/exceeds pixel limit/i.test(detail)) {
    return new ImageError('too-large', `image is larger than the pixel limit (${detail})`, { cause: err });
  }
  if (
    checkCompleteness(type, bytes) === 'incomplete' ||
    /premature end|end of stream|truncated|unexpected end|not enough data|end of file|short read|out of data|EOF/i.test(
      detail,
    )
  ) {
    return new ImageError('truncated', `truncated ${name}: the data stops before the image is complete (${detail})`, {
      cause: err,
    });
  }
  if (/unsupported|not supported|no decoder|compression format/i.test(detail)) {
    return new ImageError('unsupported', `${name} variant that cannot be decoded here (${detail})`, { cause: err });
  }
  if (/checksum|crc/i.test(detail)) {
    return new ImageError('corrupt', `corrupt ${name}: checksum mismatch (${detail})`, { cause: err });
  }
  return new ImageError('corrupt', `corrupt ${name}: cannot be decoded (${detail})`, { cause: err });
}
