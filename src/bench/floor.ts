// The floor the daemon is measured against: sharp alone decoding and resizing each file to 32x32, 4 in flight,
// with sharp's default settings. Also what shrink-on-load saves: the same resize with it defeated (a pre-resize
// extract makes sharp decode every pixel).
import sharp from 'sharp';
import { eachLimited } from './stats.js';

export async function sharpFloor(paths: string[], inFlight = 4): Promise<{ imagesPerSecond: number; seconds: number }> {
  const started = performance.now();
  await eachLimited(paths, inFlight, (path) =>
    sharp(path).resize(32, 32, { fit: 'cover', position: 'centre', kernel: 'lanczos3' }).raw().toBuffer());
  const seconds = (performance.now() - started) / 1000;
  return { imagesPerSecond: paths.length / seconds, seconds };
}

/** ms per image, one at a time: to 32x32 with shrink-on-load versus without it. */
export async function shrinkOnLoadCheck(paths: string[]): Promise<{ resizedMs: number; fullMs: number }> {
  const time = async (work: (path: string) => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    for (const path of paths) await work(path);
    return (performance.now() - started) / paths.length;
  };
  const resizedMs = await time((path) => sharp(path).resize(32, 32, { fit: 'cover' }).raw().toBuffer());
  const fullMs = await time(async (path) => {
    const { width, height } = await sharp(path).metadata();
    return sharp(path).extract({ left: 0, top: 0, width: width! - 8, height: height! }).resize(32, 32, { fit: 'cover' }).raw().toBuffer();
  });
  return { resizedMs, fullMs };
}
