// Real and hostile image generators for the reliability suite. Everything here is generated from the CIFAR-10
// airplane/bird JPEGs in ../shared beside the repository (real photographs the model was trained on), re-encoded with sharp for
// variety, or crafted byte by byte for the hostile cases. Nothing here needs the daemon.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export const DATA_ROOT =
  process.env.BIRDWATCH_DATA ?? fileURLToPath(new URL('../../../shared/data/cifar10-airplane-bird', import.meta.url));
export type Kind = 'airplane' | 'bird';

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Paths of the real CIFAR JPEGs of one class, sorted (train first, then test if present). */
export function realImagePaths(kind: Kind, split: 'train' | 'test' = 'train'): string[] {
  const dir = join(DATA_ROOT, split, kind);
  return readdirSync(dir).filter((n) => n.endsWith('.jpg')).sort().map((n) => join(dir, n));
}

/** A tiny deterministic PRNG (mulberry32) so a failing run can be replayed from its printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RealImage { kind: Kind; name: string; bytes: Buffer; sha256: string }

/**
 * n distinct real shots of one class: CIFAR photos upscaled to a random size (64..320 px wide) and re-encoded as
 * JPEG at a random quality, so every file is a genuine, complete, unique JPEG (distinct sha256 guaranteed).
 */
export async function makeRealImages(kind: Kind, n: number, seed: number, offset = 0): Promise<RealImage[]> {
  const rand = rng(seed);
  const paths = realImagePaths(kind);
  if (paths.length < offset + n) throw new Error(`need ${offset + n} ${kind} images, have ${paths.length}`);
  const out: RealImage[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const w = 64 + Math.floor(rand() * 257);
    const h = Math.round(w * (0.75 + rand() * 0.5));
    const q = 70 + Math.floor(rand() * 26);
    const bytes = await sharp(paths[offset + i]).resize(w, h, { kernel: 'lanczos3' }).jpeg({ quality: q }).toBuffer();
    const digest = sha256(bytes);
    if (seen.has(digest)) { n++; continue; }
    seen.add(digest);
    out.push({ kind, name: `${kind}-${String(offset + i).padStart(5, '0')}.jpg`, bytes, sha256: digest });
  }
  return out;
}

/** The original CIFAR JPEG bytes (32x32, ~1-2 KB): the cheapest real JPEGs, used for the load runs. */
export function rawRealImages(kind: Kind, n: number, offset = 0, split: 'train' | 'test' = 'train'): RealImage[] {
  const paths = realImagePaths(kind, split).slice(offset, offset + n);
  if (paths.length < n) throw new Error(`need ${n} ${kind} images from ${split}, have ${paths.length}`);
  return paths.map((p, i) => {
    const bytes = readFileSync(p);
    return { kind, name: `${kind}-${split}-${String(offset + i).padStart(5, '0')}.jpg`, bytes, sha256: sha256(bytes) };
  });
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
  ihdr[8] = 8; ihdr[9] = 0; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const rows = Buffer.alloc((width + 1) * 4); // 4 rows of filter byte 0 + zero pixels
  return Buffer.concat([PNG_SIG, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0))]);
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

/** Every hostile file body, each made from a different real photo (so no two share a sha256). */
export async function makeHostileFiles(): Promise<HostileFiles> {
  const air = realImagePaths('airplane');
  const bird = realImagePaths('bird');
  const big = (p: string, w = 160) => sharp(p).resize(w, Math.round(w * 0.75), { kernel: 'lanczos3' });
  const full = await big(air[4001]).jpeg({ quality: 90 }).toBuffer();
  const pngA = await big(bird[4002]).png().toBuffer();
  const frame1 = await big(bird[4003], 96).png().toBuffer();
  const frame2 = await big(bird[4004], 96).png().toBuffer();
  return {
    zeroBytes: Buffer.alloc(0),
    truncatedJpeg: full.subarray(0, Math.floor(full.length * 0.6)),
    randomBytes: randomBytes(20_000),
    pngBadCrc: pngWithBadCrc(pngA),
    claims30000: pngClaimingSize(30000, 30000),
    png16: await big(bird[4005]).toColourspace('rgb16').png().toBuffer(),
    cmykJpeg: await big(air[4006]).toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer(),
    grayscaleJpeg: await big(bird[4007]).greyscale().jpeg({ quality: 90 }).toBuffer(),
    alphaPng: await big(bird[4008]).ensureAlpha(0.5).png().toBuffer(),
    animatedGif: await sharp([frame1, frame2], { join: { animated: true } }).gif({ delay: [200, 200] }).toBuffer(),
    // Stored rotated 90 degrees with EXIF orientation 6: a viewer (and the daemon) shows it upright.
    exifRotatedJpeg: await big(air[4009]).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer(),
    goodAirplane: await big(air[4010]).jpeg({ quality: 90 }).toBuffer(),
    goodBird: await big(bird[4011]).jpeg({ quality: 90 }).toBuffer(),
  };
}
