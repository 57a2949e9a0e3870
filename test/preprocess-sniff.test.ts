// Content sniffing and the structural completeness check (what the daemon uses to tell a file still being written),
// plus truncation of every format reported as 'truncated'.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError, prepareImage } from '../src/image/preprocess.js';
import { checkCompleteness, isStructurallyComplete, sniffImageType, type ImageType } from '../src/image/sniff.js';
import * as img from './fixtures/images.js';

const IDENTITY = { mean: [0, 0, 0], std: [1, 1, 1] };
const LIMITS = { maxPixels: 50_000_000, maxBytes: 20 * 1024 * 1024 };
let dir: string;
let samples: Record<ImageType, Buffer>;

beforeAll(async () => {
  dir = img.makeTempDir();
  // Bigger than the test card so a cut lands well inside the image data.
  const card = img.testCard(400, 300);
  samples = {
    jpeg: await card.clone().jpeg({ quality: 90 }).toBuffer(),
    png: await card.clone().png().toBuffer(),
    webp: await card.clone().webp().toBuffer(),
    tiff: await card.clone().tiff().toBuffer(),
    gif: await card.clone().gif().toBuffer(),
    avif: await card.clone().avif().toBuffer(),
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TYPES: ImageType[] = ['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif'];

describe('sniffImageType', () => {
  it('recognises every format by its magic bytes', () => {
    for (const type of TYPES) expect(sniffImageType(samples[type].subarray(0, 32))).toBe(type);
  });

  it('returns null for text, random bytes and an empty buffer', () => {
    expect(sniffImageType(Buffer.from('<html><body>not an image</body></html>'))).toBeNull();
    expect(sniffImageType(img.randomBytes(64))).toBeNull();
    expect(sniffImageType(Buffer.alloc(0))).toBeNull();
    expect(sniffImageType(Buffer.from([0xff, 0xd8]))).toBeNull(); // too short to be sure
  });
});

describe('checkCompleteness / isStructurallyComplete', () => {
  for (const type of TYPES) {
    it(`${type}: the whole file is complete (or unknown for TIFF), a cut one is incomplete`, async () => {
      const whole = samples[type];
      const expectedWhole = type === 'tiff' ? 'unknown' : 'complete';
      expect(checkCompleteness(type, whole)).toBe(expectedWhole);
      const onDisk = await isStructurallyComplete(img.put(dir, `whole-${type}.bin`, whole));
      expect(onDisk).toEqual({ type, completeness: expectedWhole, size: whole.length });
      if (type === 'tiff') return; // sharp writes the TIFF directory last: covered below
      for (const fraction of [0.3, 0.7, 0.98]) {
        const cut = whole.subarray(0, Math.floor(whole.length * fraction));
        expect(checkCompleteness(type, cut), `${type} cut at ${fraction}`).toBe('incomplete');
        expect((await isStructurallyComplete(img.put(dir, `cut-${type}.bin`, cut))).completeness).toBe('incomplete');
      }
    });
  }

  it('TIFF whose first directory lies past the end is incomplete', async () => {
    const cut = samples.tiff.subarray(0, 1000);
    expect(checkCompleteness('tiff', cut)).toBe('incomplete');
    expect((await isStructurallyComplete(img.put(dir, 'cut.tiff', cut))).completeness).toBe('incomplete');
  });

  it('JPEG and PNG with trailing data after their end marker are complete', async () => {
    const trailer = Buffer.from('camera trailer data, not part of the image');
    expect(checkCompleteness('jpeg', Buffer.concat([samples.jpeg, trailer]))).toBe('complete');
    expect(checkCompleteness('png', Buffer.concat([samples.png, trailer]))).toBe('complete');
    const file = img.put(dir, 'trailer.jpg', Buffer.concat([samples.jpeg, trailer]));
    expect((await isStructurallyComplete(file)).completeness).toBe('complete');
  });

  it("a JPEG cut right after its EXIF thumbnail's end marker is incomplete", async () => {
    // SOI, then an APP1 segment holding a whole little JPEG (as EXIF thumbnails are), then the main image.
    const thumbnail = await img.testCard(16, 16).jpeg().toBuffer();
    const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumbnail]);
    const app1 = Buffer.alloc(4);
    app1.writeUInt16BE(0xffe1, 0);
    app1.writeUInt16BE(payload.length + 2, 2);
    const withThumbnail = Buffer.concat([samples.jpeg.subarray(0, 2), app1, payload, samples.jpeg.subarray(2)]);
    expect(checkCompleteness('jpeg', withThumbnail)).toBe('complete');
    const cutAfterThumbnail = withThumbnail.subarray(0, 2 + 4 + payload.length);
    expect(cutAfterThumbnail.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    expect(checkCompleteness('jpeg', cutAfterThumbnail)).toBe('incomplete');
    expect((await isStructurallyComplete(img.put(dir, 'thumb-cut.jpg', cutAfterThumbnail))).completeness).toBe(
      'incomplete',
    );
    // And the whole file still decodes.
    await prepareImage(withThumbnail, IDENTITY, LIMITS);
  });

  it('a JPEG with extraneous bytes before a marker is complete and decodes (libjpeg skips them too)', async () => {
    const sos = samples.jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const junk = Buffer.concat([
      samples.jpeg.subarray(0, sos),
      Buffer.from([0x00, 0x12, 0x34]),
      samples.jpeg.subarray(sos),
    ]);
    expect(checkCompleteness('jpeg', junk)).toBe('complete');
    const out = await prepareImage(junk, IDENTITY, LIMITS);
    expect(out.tensor.length).toBe(3072);
  });

  it('a JPEG with EXIF cut just before its end marker is incomplete', async () => {
    const withExif = await img.testCard(400, 300).jpeg({ quality: 90 }).withMetadata({ orientation: 1 }).toBuffer();
    expect(checkCompleteness('jpeg', withExif)).toBe('complete');
    expect(checkCompleteness('jpeg', withExif.subarray(0, withExif.length - 2))).toBe('incomplete');
  });

  it('a FIFO is reported as not an image without blocking, a non-image as type null', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect((await isStructurallyComplete(fifo)).type).toBeNull();
    expect((await isStructurallyComplete(img.put(dir, 'text.jpg', 'hello'))).type).toBeNull();
  });
});

describe('prepareImage: a cut file of any format is truncated', () => {
  for (const type of TYPES) {
    it(type, async () => {
      const cut = samples[type].subarray(0, Math.floor(samples[type].length * 0.6));
      const err = await prepareImage(img.put(dir, `trunc-${type}`, cut), IDENTITY, LIMITS).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ImageError);
      expect((err as ImageError).kind, (err as ImageError).message).toBe('truncated');
    });
  }
});
