// Which of the club's labelled shots are held out (never trained on, the comparison's club set) and which are
// fine-tuned on. A shot's part is a function of its content and the seed alone, so it never changes as new
// corrections arrive and earlier comparisons stay valid:
//   h = first 8 bytes of sha256("birdwatch-heldout:" + seed + ":" + key) as a fraction in [0, 1);
//   held out when h < fraction (each class in its own right, so the split is stratified in expectation).
// One exception keeps a small class measurable: a class with at least 2 shots and none under the fraction holds out
// its shot of lowest h (so that shot moves to the held-out part once, when its class's first shots arrive).
import { createHash } from 'node:crypto';
import type { ClubShot } from './shots.js';

export function heldOutHash(key: string, seed: number): number {
  const digest = createHash('sha256').update(`birdwatch-heldout:${seed}:${key}`).digest();
  return Number(digest.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

export function splitShots(shots: readonly ClubShot[], fraction: number, seed: number):
  { heldOut: ClubShot[]; fineTune: ClubShot[] } {
  const heldOut: ClubShot[] = [];
  const fineTune: ClubShot[] = [];
  for (const label of ['airplane', 'bird'] as const) {
    const ranked = shots.filter((s) => s.label === label)
      .map((shot) => ({ shot, h: heldOutHash(shot.key, seed) }))
      .sort((a, b) => a.h - b.h);
    let held = ranked.filter((r) => r.h < fraction).length;
    if (held === 0 && ranked.length >= 2 && fraction > 0) held = 1;
    ranked.forEach((r, i) => (i < held ? heldOut : fineTune).push(r.shot));
  }
  return { heldOut, fineTune };
}
