// Real shots for daemon tests: the fixture CIFAR images the shipped model decides with a wide margin, optionally
// upscaled to a camera's frame size (the model sees them shrunk back to 32x32, so its decision is unchanged).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { REPO } from './daemon.js';

const FIXTURES = join(REPO, 'test', 'fixtures');
export const AIRPLANE_FIXTURES = ['airplane-0785.jpg', 'airplane-0843.jpg', 'airplane-0973.jpg'].map((f) =>
  join(FIXTURES, f),
);
export const BIRD_FIXTURES = ['bird-0050.jpg', 'bird-0582.jpg', 'bird-0746.jpg'].map((f) => join(FIXTURES, f));

export function fixtureBytes(file: string): Buffer {
  return readFileSync(file);
}

/**
 * The fixture upscaled into a width x height camera-like JPEG (a few hundred KB at 1920x1080). 'contain' with grey
 * bars: the model's centre crop of a landscape frame is then exactly the upscaled fixture.
 */
export async function cameraJpeg(file: string, width = 1920, height = 1080, quality = 90): Promise<Buffer> {
  return sharp(file)
    .resize(width, height, { fit: 'contain', kernel: 'lanczos3', background: { r: 128, g: 128, b: 128 } })
    .jpeg({ quality })
    .toBuffer();
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
