// Picks real shots the shipped model will move (or keep), by asking `birdwatch classify --json` (same preprocessing
// and model as the daemon) about candidates first: tests that need "an airplane the daemon moves" stay right when the
// model is retrained.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { CLI, REPO, tempDir } from './harness.js';
import { realImageAt, realImagePaths, sha256, type Kind } from './images.js';

export interface Screened {
  bytes: Buffer;
  sha256: string;
  pAirplane: number;
  move: boolean;
}

/**
 * n distinct JPEGs (CIFAR `kind` photos from pool index `from`, upscaled to `width` px) that the model moves (`move`
 * true) or keeps (false). Throws if the first 200 candidates don't hold n. In a pool smaller than 200 (the fixtures)
 * each round of reuse is 4 px wider, so every candidate is a different JPEG.
 */
export async function pickShots(kind: Kind, move: boolean, n: number, from = 3000, width = 128): Promise<Screened[]> {
  const dir = tempDir('bw-screen-');
  const pool = realImagePaths(kind);
  const files: { path: string; bytes: Buffer }[] = [];
  for (let i = 0; i < 200; i++) {
    const w = width + 4 * Math.floor(i / pool.length);
    const bytes = await sharp(realImageAt(pool, from + i))
      .resize(w, Math.round(w * 0.75), { kernel: 'lanczos3' })
      .jpeg({ quality: 88 })
      .toBuffer();
    const path = join(dir, `${i}.jpg`);
    writeFileSync(path, bytes);
    files.push({ path, bytes });
  }
  const out = execFileSync(process.execPath, [CLI, 'classify', '--json', ...files.map((f) => f.path)], {
    cwd: REPO,
    encoding: 'utf8',
  });
  const verdicts = new Map<string, { move: boolean; p: number }>();
  for (const line of out.split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { path: string; move?: boolean; probabilities?: { airplane: number } };
    if (o.move !== undefined) verdicts.set(o.path, { move: o.move, p: o.probabilities!.airplane });
  }
  const picked = files
    .filter((f) => verdicts.get(f.path)?.move === move)
    .slice(0, n)
    .map((f) => ({ bytes: f.bytes, sha256: sha256(f.bytes), pAirplane: verdicts.get(f.path)!.p, move }));
  if (picked.length < n)
    throw new Error(`only ${picked.length} ${kind} shots the model would ${move ? 'move' : 'keep'}; need ${n}`);
  return picked;
}
