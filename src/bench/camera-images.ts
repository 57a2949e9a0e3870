// Camera-like JPEGs for the benchmark: smooth colour fields (sky, light), blurred noise (foliage, texture), a few
// soft shapes and sensor grain, at quality 90, so sizes and decode costs look like a real camera's. A few textured
// base images are made per size; each file is a different crop/flip/exposure of one, so files differ in content.
// Files are cached under bench-out/ by their parameters: a second run does not pay for generation.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface ImageSet {
  width: number;
  height: number;
  count: number;
}
export interface GeneratedFile {
  path: string;
  width: number;
  height: number;
  bytes: number;
}

const BASES_PER_SIZE = 4;
const MARGIN = 1.12; // bases are this much larger than the output, so crops can move around

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Roughly gaussian noise around 128 (sum of two uniforms), as raw 8-bit RGB. */
function noise(width: number, height: number, amplitude: number, random: () => number): Buffer {
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, 128 + (random() + random() - 1) * amplitude));
  return out;
}

async function texturedBase(
  width: number,
  height: number,
  seed: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  const random = prng(seed);
  // A 12 MP sensor resolves the same scene more finely: coarser texture per pixel, less grain (~1.8 MB at q90).
  const large = width * height > 5_000_000;
  const textureScale = large ? 8 : 6;
  const grainOpacity = large ? 0.02 : 0.045;
  const raw = (w: number, h: number) => ({ raw: { width: w, height: h, channels: 3 as const } });
  const field = Buffer.alloc(8 * 6 * 3);
  for (let i = 0; i < field.length; i++) field[i] = 40 + random() * 180;
  const smooth = await sharp(field, raw(8, 6)).resize(width, height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
  const tw = Math.ceil(width / textureScale);
  const th = Math.ceil(height / textureScale);
  const texture = await sharp(noise(tw, th, 140, random), raw(tw, th))
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .ensureAlpha(0.3)
    .raw()
    .toBuffer();
  const grain = await sharp(noise(width, height, 100, random), raw(width, height))
    .ensureAlpha(grainOpacity)
    .raw()
    .toBuffer();
  let svg = `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`;
  for (let i = 0; i < 7; i++) {
    const colour = `rgb(${(random() * 255) | 0},${(random() * 255) | 0},${(random() * 255) | 0})`;
    svg +=
      `<ellipse cx="${random() * width}" cy="${random() * height}" rx="${20 + (random() * width) / 6}" ` +
      `ry="${10 + (random() * height) / 8}" fill="${colour}" fill-opacity="0.7"/>`;
  }
  svg += '</svg>';
  const data = await sharp(smooth, raw(width, height))
    .composite([
      { input: texture, raw: { width, height, channels: 4 } },
      { input: Buffer.from(svg) },
      { input: grain, raw: { width, height, channels: 4 } },
    ])
    .removeAlpha() // compositing RGBA layers leaves an alpha band: keep RGB only
    .raw()
    .toBuffer();
  return { data, width, height };
}

/** Generates (or reuses from `cacheDir`) the files of each set; returns them in a mixed, deterministic order. */
export async function cameraImages(
  cacheDir: string,
  sets: ImageSet[],
  log: (line: string) => void,
): Promise<GeneratedFile[]> {
  const all: GeneratedFile[][] = [];
  for (const set of sets) {
    const dir = join(cacheDir, `camera-${set.width}x${set.height}`);
    mkdirSync(dir, { recursive: true });
    const files: GeneratedFile[] = [];
    const missing: number[] = [];
    for (let i = 0; i < set.count; i++) {
      const path = join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`);
      if (existsSync(path)) files.push({ path, width: set.width, height: set.height, bytes: statSync(path).size });
      else missing.push(i);
    }
    if (missing.length > 0) {
      log(`generating ${missing.length} ${set.width}x${set.height} JPEGs in ${dir}`);
      const bw = Math.round(set.width * MARGIN);
      const bh = Math.round(set.height * MARGIN);
      for (let b = 0; b < BASES_PER_SIZE && b < missing.length; b++) {
        const base = await texturedBase(bw, bh, set.width * 31 + b);
        for (let k = b; k < missing.length; k += BASES_PER_SIZE) {
          const i = missing[k]!;
          const random = prng(i * 7919 + set.width);
          let image = sharp(base.data, { raw: { width: bw, height: bh, channels: 3 } }).extract({
            left: Math.floor(random() * (bw - set.width)),
            top: Math.floor(random() * (bh - set.height)),
            width: set.width,
            height: set.height,
          });
          if (random() < 0.5) image = image.flop();
          const gain = 0.85 + random() * 0.3;
          const path = join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`);
          await image
            .linear(gain, (1 - gain) * 40)
            .jpeg({ quality: 90 })
            .toFile(path);
          files.push({ path, width: set.width, height: set.height, bytes: statSync(path).size });
        }
      }
    }
    files.sort((a, b) => a.path.localeCompare(b.path));
    all.push(files);
  }
  // Interleave the sets so a run sees both sizes throughout.
  const mixed: GeneratedFile[] = [];
  const longest = Math.max(...all.map((f) => f.length));
  for (let i = 0; i < longest; i++) for (const files of all) if (i < files.length) mixed.push(files[i]!);
  return mixed;
}
