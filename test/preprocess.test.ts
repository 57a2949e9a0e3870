// Preprocessing on real files decoded by real sharp: every format, colour variant, orientation and hostile input.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError, prepareImage, type PreprocessLimits } from '../src/image/preprocess.js';
import * as img from './fixtures/images.js';
import { NOBODY, NOBODY_MISSING, NOBODY_REPO } from './helpers/daemon.js';
import { needs } from './helpers/preconditions.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IDENTITY = { mean: [0, 0, 0], std: [1, 1, 1] }; // tensor = pixel / 255
const LIMITS: PreprocessLimits = { maxPixels: 50_000_000, maxBytes: 20 * 1024 * 1024 };
let dir: string;
let reference: Float32Array; // the lossless PNG test card

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

async function expectKind(input: string | Buffer, kind: ImageError['kind'], limits = LIMITS): Promise<ImageError> {
  const err = await prepareImage(input, IDENTITY, limits).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ImageError '${kind}'`).toBeInstanceOf(ImageError);
  const imageError = err as ImageError;
  expect(imageError.kind, imageError.message).toBe(kind);
  expect(imageError.message.length).toBeGreaterThan(10);
  return imageError;
}

beforeAll(async () => {
  dir = img.makeTempDir();
  reference = (
    await prepareImage(img.put(dir, 'reference.png', await img.formatSamples().then((s) => s.png)), IDENTITY, LIMITS)
  ).tensor;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prepareImage: layout and normalization', () => {
  it('gives 3x32x32 float32 CHW (R, G, B planes) normalized with the given mean/std', async () => {
    // A 32x32 input is not resized: the tensor must be exactly (pixel/255 - mean)/std in planar order.
    const { data } = await img.testCard(32, 32).raw().toBuffer({ resolveWithObject: true });
    const file = img.put(
      dir,
      'exact.png',
      await sharp(data, { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const norm = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] };
    const out = await prepareImage(file, norm, LIMITS);
    expect(out.tensor).toBeInstanceOf(Float32Array);
    expect(out.tensor.length).toBe(3 * 32 * 32);
    expect([out.width, out.height, out.format]).toEqual([32, 32, 'png']);
    for (const [c, i] of [
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 517],
      [1, 1023],
      [2, 700],
    ] as const) {
      const expected = (data[i * 3 + c]! / 255 - norm.mean[c]!) / norm.std[c]!;
      expect(out.tensor[c * 1024 + i]).toBeCloseTo(expected, 5);
    }
  });

  it('accepts a Buffer as well as a path, with the same result', async () => {
    const png = (await img.formatSamples()).png;
    const fromBuffer = await prepareImage(png, IDENTITY, LIMITS);
    expect(meanAbsDiff(fromBuffer.tensor, reference)).toBe(0);
  });

  it('crops to cover from the centre: a wide image keeps its middle', async () => {
    // 96x32: left third red, middle green, right third blue; cover-centre keeps only the green middle.
    const strip = await sharp({ create: { width: 96, height: 32, channels: 3, background: '#00ff00' } })
      .composite([
        { input: { create: { width: 32, height: 32, channels: 3, background: '#ff0000' } }, left: 0, top: 0 },
        { input: { create: { width: 32, height: 32, channels: 3, background: '#0000ff' } }, left: 64, top: 0 },
      ])
      .png()
      .toBuffer();
    const { tensor } = await prepareImage(strip, IDENTITY, LIMITS);
    const centre = 16 * 32 + 16;
    expect(tensor[centre]).toBeLessThan(0.05); // R
    expect(tensor[1024 + centre]).toBeGreaterThan(0.95); // G
    expect(tensor[2048 + centre]).toBeLessThan(0.05); // B
  });
});

describe('prepareImage: JPEG shrink-on-load', () => {
  it('decodes a 1920x1080 and a 4000x3000 JPEG at 1/8 scale (libvips reports the resize still to do)', async () => {
    // Runs the compiled prepareImage in a child with VIPS_INFO=1 (built by `npm test`'s pretest).
    const module = join(ROOT, 'dist', 'image', 'shrink-on-load.js');
    expect(existsSync(module), 'run npm run build first').toBe(true);
    const { measureShrinkOnLoad } = (await import(module)) as typeof import('../src/image/shrink-on-load.js');
    for (const [width, height] of [
      [1920, 1080],
      [4000, 3000],
    ] as const) {
      const file = img.put(
        dir,
        `camera-${width}.jpg`,
        await img.testCard().resize(width, height, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer(),
      );
      expect(await measureShrinkOnLoad(file, height)).toBe(8);
    }
  });
});

describe('prepareImage: formats, recognised by content', () => {
  for (const format of ['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif'] as const) {
    it(`decodes ${format} (saved under a misleading .dat name)`, async () => {
      const samples = await img.formatSamples();
      const out = await prepareImage(img.put(dir, `sample-${format}.dat`, samples[format]), IDENTITY, LIMITS);
      expect(out.width).toBe(96);
      expect(out.height).toBe(64);
      expect(out.format).toBe(format === 'avif' ? 'heif' : format);
      // Lossless formats match the reference; JPEG, GIF (palette) and AVIF (chroma) come close.
      expect(meanAbsDiff(out.tensor, reference)).toBeLessThan(format === 'gif' ? 0.04 : 0.02);
    });
  }
});

describe('prepareImage: orientation, colour, depth, alpha, animation', () => {
  for (const orientation of [3, 6, 8] as const) {
    it(`applies EXIF orientation ${orientation}: the rotated JPEG gives the upright tensor`, async () => {
      const upright = await prepareImage(await img.testCard().jpeg({ quality: 95 }).toBuffer(), IDENTITY, LIMITS);
      const rotatedFile = await img.exifRotatedJpeg(orientation);
      const rotated = await prepareImage(img.put(dir, `exif-${orientation}.jpg`, rotatedFile), IDENTITY, LIMITS);
      expect([rotated.width, rotated.height]).toEqual([96, 64]); // displayed size, after orientation
      expect(meanAbsDiff(rotated.tensor, upright.tensor)).toBeLessThan(0.02);
      // Control: the same file decoded ignoring orientation is far from upright, so the check above can fail.
      const ignored = await sharp(rotatedFile, { autoOrient: false }).resize(32, 32, { fit: 'cover' }).raw().toBuffer();
      const ignoredTensor = new Float32Array(3 * 1024);
      for (let i = 0; i < 1024; i++)
        for (let c = 0; c < 3; c++) ignoredTensor[c * 1024 + i] = ignored[i * 3 + c]! / 255;
      expect(meanAbsDiff(ignoredTensor, upright.tensor)).toBeGreaterThan(0.1);
    });
  }

  it('converts a CMYK JPEG to sRGB', async () => {
    const out = await prepareImage(img.put(dir, 'cmyk.jpg', await img.cmykJpeg()), IDENTITY, LIMITS);
    expect(meanAbsDiff(out.tensor, reference)).toBeLessThan(0.08); // through ICC profiles: close, not exact
  });

  it('reduces a 16-bit PNG to 8 bits', async () => {
    const png16 = await img.png16();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const out = await prepareImage(img.put(dir, 'deep.png', png16), IDENTITY, LIMITS);
    expect(meanAbsDiff(out.tensor, reference)).toBeLessThan(0.01);
  });

  it('expands grayscale to three equal channels', async () => {
    const out = await prepareImage(img.put(dir, 'gray.png', await img.grayscalePng()), IDENTITY, LIMITS);
    for (const i of [0, 100, 600, 1023]) {
      expect(out.tensor[i]).toBeCloseTo(out.tensor[1024 + i]!, 5);
      expect(out.tensor[i]).toBeCloseTo(out.tensor[2048 + i]!, 5);
    }
  });

  it('drops an alpha channel without compositing it', async () => {
    const out = await prepareImage(img.put(dir, 'alpha.png', await img.alphaPng()), IDENTITY, LIMITS);
    expect(meanAbsDiff(out.tensor, reference)).toBeLessThan(0.002);
  });

  it('takes the first frame of an animated GIF', async () => {
    const gif = await img.animatedGif();
    expect((await sharp(gif, { pages: -1 }).metadata()).pages).toBe(2);
    const out = await prepareImage(img.put(dir, 'animated.gif', gif), IDENTITY, LIMITS);
    expect(out.tensor[512]).toBeGreaterThan(0.9); // red frame first
    expect(out.tensor[2048 + 512]).toBeLessThan(0.1);
  });
});

describe('prepareImage: hostile input gets its specific kind', () => {
  it('zero bytes -> empty', async () => {
    await expectKind(img.put(dir, 'zero.jpg', Buffer.alloc(0)), 'empty');
    await expectKind(Buffer.alloc(0), 'empty');
  });

  it('a JPEG truncated for good -> truncated', async () => {
    const err = await expectKind(img.put(dir, 'cut.jpg', await img.truncatedJpeg()), 'truncated');
    expect(err.message).toMatch(/truncated JPEG/);
  });

  it('random bytes named .jpg -> not-image', async () => {
    await expectKind(img.put(dir, 'random.jpg', img.randomBytes()), 'not-image');
    await expectKind(img.put(dir, 'text.jpg', 'hello, this is not a photo\n'), 'not-image');
  });

  it('a PNG with a bad CRC -> corrupt', async () => {
    await expectKind(img.put(dir, 'badcrc.png', await img.pngWithBadCrc()), 'corrupt');
  });

  it('a header claiming 30000x30000 pixels -> too-large, from the header alone', async () => {
    // The files hold a 96x64 image's data: decoding would fail as truncated/corrupt, so 'too-large' proves the
    // refusal came from the header, before any decoding.
    const png = await expectKind(img.put(dir, 'bomb.png', await img.pngClaiming(30000, 30000)), 'too-large');
    expect(png.message).toMatch(/30000x30000/);
    await expectKind(img.put(dir, 'bomb.jpg', await img.jpegClaiming(30000, 30000)), 'too-large');
  });

  it('over the byte limit -> too-large', async () => {
    const file = img.put(dir, 'big.png', (await img.formatSamples()).png);
    await expectKind(file, 'too-large', { maxPixels: LIMITS.maxPixels, maxBytes: 100 });
  });

  it('a directory named x.jpg -> not-image; a missing file -> unreadable (ENOENT)', async () => {
    const folder = join(dir, 'x.jpg');
    mkdirSync(folder, { recursive: true });
    await expectKind(folder, 'not-image');
    const missing = await expectKind(join(dir, 'missing.jpg'), 'unreadable');
    expect(missing.code).toBe('ENOENT');
  });

  it('a FIFO -> unsupported, without blocking on it', async () => {
    const fifo = join(dir, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    const err = await expectKind(fifo, 'unsupported');
    expect(err.message).toMatch(/FIFO/);
  });

  it('a symlink is refused unless followSymlinks', async () => {
    const target = img.put(dir, 'target.png', (await img.formatSamples()).png);
    const link = join(dir, 'link.png');
    symlinkSync(target, link);
    await expectKind(link, 'unsupported');
    const followed = await prepareImage(link, IDENTITY, { ...LIMITS, followSymlinks: true });
    expect(meanAbsDiff(followed.tensor, reference)).toBe(0);
  });

  it('a file without read permission -> unreadable (EACCES)', async (ctx) => {
    const file = img.put(dir, 'secret.jpg', (await img.formatSamples()).jpeg);
    chmodSync(file, 0o000);
    if (process.getuid?.() !== 0) {
      const err = await expectKind(file, 'unreadable');
      expect(err.code).toBe('EACCES');
      return;
    }
    // Root reads anything: the same prepareImage (compiled) runs as nobody, in a child, on a file in a folder nobody
    // may enter but not read the file in.
    needs(ctx, NOBODY_MISSING);
    chmodSync(dir, 0o711);
    const probe = `import('./dist/image/preprocess.js').then((m) => m.prepareImage(${JSON.stringify(file)},
      { mean: [0, 0, 0], std: [1, 1, 1] }, { maxPixels: 1e6, maxBytes: 1e6 }))
      .then(() => console.log('{}'), (e) => console.log(JSON.stringify({ name: e.name, kind: e.kind, code: e.code })))`;
    const run = spawnSync(process.execPath, ['-e', probe], { cwd: NOBODY_REPO, ...NOBODY, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ name: 'ImageError', kind: 'unreadable', code: 'EACCES' });
  });
});
