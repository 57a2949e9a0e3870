// The floor the daemon is measured against: sharp alone decoding and resizing each file to 32x32, 4 in flight,
// with sharp's default settings. Also what shrink-on-load saves: the same resize with it defeated (a pre-resize
// extract makes sharp decode every pixel).
import sharp from 'sharp';
import { eachLimited } from './stats.js';

async function onePass(paths: string[], inFlight: number): Promise<{ imagesPerSecond: number; cpuMsPerImage: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await eachLimited(paths, inFlight, (path) =>
    sharp(path).resize(32, 32, { fit: 'cover', position: 'centre', kernel: 'lanczos3' }).raw().toBuffer(),
  );
  const used = process.cpuUsage(cpu);
  return {
    imagesPerSecond: paths.length / ((performance.now() - started) / 1000),
    cpuMsPerImage: (used.user + used.system) / 1000 / paths.length,
  };
}

/**
 * The best of a few passes, with sharp's default threads per image and with one (what the pipeline uses): on a
 * shared machine the best pass is the least disturbed one, and the floor should be sharp at its best. With
 * `onlyThreads`, each pass runs that setting alone (the floor measured beside a daemon run).
 */
export async function sharpFloor(
  paths: string[],
  inFlight = 4,
  passes = 2,
  onlyThreads?: number,
): Promise<{ imagesPerSecond: number; cpuMsPerImage: number; threads: number }> {
  const defaultThreads = sharp.concurrency();
  let best = { imagesPerSecond: 0, cpuMsPerImage: Number.NaN, threads: defaultThreads };
  try {
    for (let pass = 0; pass < passes; pass++) {
      for (const threads of onlyThreads === undefined ? [defaultThreads, 1] : [onlyThreads]) {
        sharp.concurrency(threads);
        const result = await onePass(paths, inFlight);
        if (result.imagesPerSecond > best.imagesPerSecond) best = { ...result, threads };
      }
    }
  } finally {
    sharp.concurrency(defaultThreads);
  }
  return best;
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
    return sharp(path)
      .extract({ left: 0, top: 0, width: width! - 8, height: height! })
      .resize(32, 32, { fit: 'cover' })
      .raw()
      .toBuffer();
  });
  return { resizedMs, fullMs };
}
