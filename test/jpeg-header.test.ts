// The JPEG marker reader that spares camera shots sharp's separate metadata() pass must agree with sharp (libvips
// and libexif) on every orientation, both EXIF byte orders and the usual JPEG flavours, and step aside (null) when
// the header is not plain.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { jpegDisplaySize } from '../src/image/jpeg-header.js';
import * as img from './fixtures/images.js';

async function sharpDisplaySize(jpeg: Buffer): Promise<{ width: number; height: number }> {
  const meta = await sharp(jpeg).metadata();
  return { width: meta.autoOrient.width, height: meta.autoOrient.height };
}

/** An APP1 EXIF block in big-endian (Motorola) order holding only an orientation, inserted right after SOI. */
function withMotorolaOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, IFD0 at 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00, // Orientation, SHORT, 1 value
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, body, jpeg.subarray(2)]);
}

describe('jpegDisplaySize', () => {
  it('agrees with sharp on every EXIF orientation (little-endian EXIF as sharp writes it)', async () => {
    const seen = new Set<string>();
    for (let orientation = 1; orientation <= 8; orientation++) {
      const jpeg = await img.testCard(96, 64).jpeg().withMetadata({ orientation }).toBuffer();
      const ours = jpegDisplaySize(jpeg);
      expect(ours, `orientation ${orientation}`).toEqual(await sharpDisplaySize(jpeg));
      seen.add(`${ours!.width}x${ours!.height}`);
    }
    expect(seen).toEqual(new Set(['96x64', '64x96'])); // both outcomes occur, so a reader ignoring EXIF would fail
  });

  it('agrees with sharp on a big-endian EXIF block', async () => {
    const plain = await img.testCard(96, 64).jpeg().toBuffer();
    for (const orientation of [1, 3, 6, 8]) {
      const jpeg = withMotorolaOrientation(plain, orientation);
      expect((await sharp(jpeg).metadata()).orientation).toBe(orientation); // sharp reads the block we built
      expect(jpegDisplaySize(jpeg), `orientation ${orientation}`).toEqual(await sharpDisplaySize(jpeg));
    }
  });

  it('agrees with sharp on camera-like, progressive, CMYK, grayscale and CIFAR fixture JPEGs', async () => {
    const jpegs = [
      await img.testCard(1920, 1080).jpeg({ quality: 90 }).toBuffer(),
      await img.testCard(300, 200).jpeg({ progressive: true }).toBuffer(),
      await img.cmykJpeg(),
      await img.testCard(50, 70).grayscale().jpeg().toBuffer(),
      ...[...img.FIXTURE_AIRPLANES, ...img.FIXTURE_BIRDS].map((f) => readFileSync(f)),
    ];
    for (const jpeg of jpegs) expect(jpegDisplaySize(jpeg)).toEqual(await sharpDisplaySize(jpeg));
  });

  it('returns null (sharp decides) for what is not a plain JPEG header', async () => {
    const jpeg = await img.testCard(96, 64).jpeg().toBuffer();
    expect(jpegDisplaySize(Buffer.alloc(0))).toBeNull();
    expect(jpegDisplaySize(await img.testCard().png().toBuffer())).toBeNull();
    expect(jpegDisplaySize(jpeg.subarray(0, 20))).toBeNull(); // cut before the frame header
    const garbage = Buffer.from(jpeg);
    garbage[2] = 0x12; // not a marker where one must be
    expect(jpegDisplaySize(garbage)).toBeNull();
    const noHeight = Buffer.from(jpeg);
    const sof = noHeight.indexOf(Buffer.from([0xff, 0xc0]));
    noHeight.writeUInt16BE(0, sof + 5); // height 0: to be defined by a DNL marker
    expect(jpegDisplaySize(noHeight)).toBeNull();
  });
});
