// Evidence that JPEG shrink-on-load engages in prepareImage: libvips (VIPS_INFO=1) logs the scale its resize
// applies; when the decoder already delivered a 1/8-size image, that scale is 32 / (height / 8), not 32 / height.
// Runs prepareImage in a child process because libvips reads VIPS_INFO once, at start-up.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The factor (1, 2, 4 or 8) by which the JPEG decoder shrank `path` (of the given displayed height) on load. */
export async function measureShrinkOnLoad(path: string, height: number): Promise<number> {
  const preprocess = fileURLToPath(new URL('./preprocess.js', import.meta.url));
  const script = `const { prepareImage } = await import(${JSON.stringify(preprocess)});
    await prepareImage(process.argv[1], { mean: [0, 0, 0], std: [1, 1, 1] }, { maxPixels: 1e9, maxBytes: 1e9 });`;
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, path],
      { env: { ...process.env, VIPS_INFO: '1' }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => (err ? reject(err as Error) : resolve(stdout + stderr)),
    ); // GLib logs info on stdout
  });
  const scale = Number(/residual reducev by ([\d.e-]+)/.exec(output)?.[1]);
  if (!Number.isFinite(scale)) throw new Error(`libvips logged no resize for ${path}`);
  const loadedHeight = 32 / scale; // cover: the height is what is reduced to 32 for landscape images
  return Math.round(height / loadedHeight);
}
