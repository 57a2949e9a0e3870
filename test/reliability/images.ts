// Real and hostile image generators for the reliability suite. Everything here is generated from real CIFAR-10
// airplane/bird photographs (the kind the model was trained on): by default the 40 + 40 in test/fixtures/cifar (in the
// repository, so a fresh clone needs nothing beside it), or a larger set named by BIRDWATCH_DATA (a folder holding
// airplane/ and bird/, e.g. the full CIFAR-10 training images, for the stress suite). The pool is reused as often as
// a test needs: each use past the first is re-encoded with sharp at its own size and quality, so every file is a
// distinct, complete JPEG.
// The hostile cases are crafted byte by byte. Nothing here needs the daemon.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { random } from '../helpers/seeded.js';

/** The photographs in the repository: test/fixtures/cifar/{airplane,bird}/NNNN.jpg (see its README). */
export const FIXTURE_DATA = fileURLToPath(new URL('../fixtures/cifar', import.meta.url));
/** Where the photographs come from: BIRDWATCH_DATA (a folder with airplane/ and bird/, or train/airplane/ and
 * train/bird/) when set, else the fixtures. Only a variable ever points the tests outside the repository. */
export const DATA_ROOT = process.env.BIRDWATCH_DATA || FIXTURE_DATA;
export type Kind = 'airplane' | 'bird';

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Paths of the real photographs of one class (JPEG or PNG), sorted: DATA_ROOT/train/kind, else DATA_ROOT/kind. */
export function realImagePaths(kind: Kind): string[] {
  const nested = join(DATA_ROOT, 'train', kind);
  const dir = existsSync(nested) ? nested : join(DATA_ROOT, kind);
  if (!existsSync(dir)) {
    throw new Error(
      `no ${kind} photographs: neither ${nested} nor ${dir} exists ` +
        `(BIRDWATCH_DATA=${process.env.BIRDWATCH_DATA ?? ''})`,
    );
  }
  const paths = readdirSync(dir)
    .filter((n) => /\.(jpe?g|png)$/i.test(n))
    .sort()
    .map((n) => join(dir, n));
  if (paths.length === 0) throw new Error(`no ${kind} photographs (.jpg, .png) in ${dir}`);
  return paths;
}

/** The photograph for pool index i: the pool is reused round and round (index i and i + pool size share a source). */
export function realImageAt(paths: string[], i: number): string {
  return paths[i % paths.length]!;
}

/** A tiny deterministic PRNG (mulberry32) so a failing run can be replayed from its printed seed. */
export const rng = random;

export interface RealImage {
  kind: Kind;
  name: string;
  bytes: Buffer;
  sha256: string;
}

/**
 * n distinct real shots of one class: CIFAR photos (pool indices offset.., round and round) upscaled to a random size
 * (64..320 px wide) and re-encoded as JPEG at a random quality, so every file is a genuine, complete, unique JPEG
 * (distinct sha256 guaranteed: a repeat is drawn again).
 */
export async function makeRealImages(kind: Kind, n: number, seed: number, offset = 0): Promise<RealImage[]> {
  const rand = rng(seed);
  const paths = realImagePaths(kind);
  const out: RealImage[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < n; i++) {
    const w = 64 + Math.floor(rand() * 257);
    const h = Math.round(w * (0.75 + rand() * 0.5));
    const q = 70 + Math.floor(rand() * 26);
    const bytes = await sharp(realImageAt(paths, offset + i))
      .resize(w, h, { kernel: 'lanczos3' })
      .jpeg({ quality: q })
      .toBuffer();
    const digest = sha256(bytes);
    if (seen.has(digest)) continue;
    seen.add(digest);
    out.push({ kind, name: `${kind}-${String(offset + i).padStart(5, '0')}.jpg`, bytes, sha256: digest });
  }
  return out;
}

/**
 * n cheap real JPEGs of one class (~1-2 KB each), pool indices offset..offset+n-1: the first use of each photograph is
 * its own bytes (32x32 CIFAR JPEGs), every reuse a re-encoding at 32..47 px, quality 70..95, maybe mirrored. Distinct
 * sha256 within one call (a repeat is drawn again). Used for the load and watch runs.
 */
export async function rawRealImages(kind: Kind, n: number, offset = 0): Promise<RealImage[]> {
  const paths = realImagePaths(kind);
  const seen = new Set<string>();
  const one = async (index: number): Promise<RealImage> => {
    const path = realImageAt(paths, index);
    let bytes: Buffer = readFileSync(path);
    const rand = rng(index * 7919 + 17);
    for (let tries = 0; index >= paths.length || seen.has(sha256(bytes)); tries++) {
      if (tries > 100) throw new Error(`no distinct re-encoding of ${path} for index ${index}`);
      const w = 32 + Math.floor(rand() * 16);
      const h = 32 + Math.floor(rand() * 16);
      const image = sharp(path).resize(w, h, { kernel: 'lanczos3' });
      bytes = await (rand() < 0.5 ? image.flop() : image).jpeg({ quality: 70 + Math.floor(rand() * 26) }).toBuffer();
      if (!seen.has(sha256(bytes))) break;
    }
    const digest = sha256(bytes);
    seen.add(digest);
    return { kind, name: `${kind}-train-${String(index).padStart(5, '0')}.jpg`, bytes, sha256: digest };
  };
  const out: RealImage[] = [];
  // Serially per pool round (a repeat check needs the earlier ones), in parallel within a chunk of distinct sources.
  for (let i = 0; i < n; i += paths.length) {
    const chunk = Array.from({ length: Math.min(paths.length, n - i) }, (_, k) => offset + i + k);
    out.push(...(await Promise.all(chunk.map(one))));
  }
  if (seen.size !== out.length) throw new Error(`${out.length - seen.size} repeated ${kind} images`);
  return out;
}

// ---- PNG crafting ---------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A structurally complete PNG (signature, IHDR, IDAT, IEND, all CRCs right) whose header claims width x height
 * 8-bit grayscale pixels but whose IDAT only holds a few rows: a decompression-bomb shaped file, ~few KB on disk.
 */
export function pngClaimingSize(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  const rows = Buffer.alloc((width + 1) * 4); // 4 rows of filter byte 0 + zero pixels
  return Buffer.concat([
    PNG_SIG,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid PNG with the CRC of its first IDAT chunk flipped (the file is otherwise complete, IEND included). */
export function pngWithBadCrc(png: Buffer): Buffer {
  const out = Buffer.from(png);
  let off = 8;
  while (off + 8 <= out.length) {
    const len = out.readUInt32BE(off);
    const type = out.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') {
      const crcOff = off + 8 + len;
      out.writeUInt32BE((out.readUInt32BE(crcOff) ^ 0xdeadbeef) >>> 0, crcOff);
      return out;
    }
    off += 12 + len;
  }
  throw new Error('no IDAT chunk');
}

// ---- the hostile corpus -----------------------------------------------------------------------------------------

export interface HostileFiles {
  zeroBytes: Buffer;
  truncatedJpeg: Buffer;
  randomBytes: Buffer;
  pngBadCrc: Buffer;
  claims30000: Buffer;
  png16: Buffer;
  cmykJpeg: Buffer;
  grayscaleJpeg: Buffer;
  alphaPng: Buffer;
  animatedGif: Buffer;
  exifRotatedJpeg: Buffer;
  goodAirplane: Buffer;
  goodBird: Buffer;
}

/** Every hostile file body, each made from a different real photo (pool indices 4001..4011: distinct in any pool of
 * 11 or more, so no two share a sha256). */
export async function makeHostileFiles(): Promise<HostileFiles> {
  const air = realImagePaths('airplane');
  const bird = realImagePaths('bird');
  const big = (p: string, w = 160) => sharp(p).resize(w, Math.round(w * 0.75), { kernel: 'lanczos3' });
  const full = await big(realImageAt(air, 4001)).jpeg({ quality: 90 }).toBuffer();
  const pngA = await big(realImageAt(bird, 4002)).png().toBuffer();
  const frame1 = await big(realImageAt(bird, 4003), 96).png().toBuffer();
  const frame2 = await big(realImageAt(bird, 4004), 96).png().toBuffer();
  return {
    zeroBytes: Buffer.alloc(0),
    truncatedJpeg: full.subarray(0, Math.floor(full.length * 0.6)),
    randomBytes: randomBytes(20_000),
    pngBadCrc: pngWithBadCrc(pngA),
    claims30000: pngClaimingSize(30000, 30000),
    png16: await big(realImageAt(bird, 4005)).toColourspace('rgb16').png().toBuffer(),
    cmykJpeg: await big(realImageAt(air, 4006)).toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer(),
    grayscaleJpeg: await big(realImageAt(bird, 4007)).greyscale().jpeg({ quality: 90 }).toBuffer(),
    alphaPng: await big(realImageAt(bird, 4008)).ensureAlpha(0.5).png().toBuffer(),
    animatedGif: await sharp([frame1, frame2], { join: { animated: true } })
      .gif({ delay: [200, 200] })
      .toBuffer(),
    // Stored rotated 90 degrees with EXIF orientation 6: a viewer (and the daemon) shows it upright.
    exifRotatedJpeg: await big(realImageAt(air, 4009))
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 90 })
      .toBuffer(),
    goodAirplane: await big(realImageAt(air, 4010)).jpeg({ quality: 90 }).toBuffer(),
    goodBird: await big(realImageAt(bird, 4011)).jpeg({ quality: 90 }).toBuffer(),
  };
}
