// Which of the club's labelled shots are held out (never trained on, the comparison's club set) and which are
// fine-tuned on. A shot's part is a function of its content and the seed alone, so it never changes as new
// corrections arrive and earlier comparisons stay valid:
//   h = first 8 bytes of sha256("birdwatch-heldout:" + seed + ":" + key) as a fraction in [0, 1);
//   held out when h < fraction (each class in its own right, so the split is stratified in expectation).
// No exception: a class with no shot under the fraction has no held-out shot yet (retrain says so and waits for
// more labels), because holding out its lowest-h shot instead would move that shot to the fine-tune part as soon as
// another shot of its class fell under the fraction, and a shot once held out must never be trained on.
import { createHash } from 'node:crypto';
import type { ClubShot } from './shots.js';

export function heldOutHash(key: string, seed: number): number {
  const digest = createHash('sha256').update(`birdwatch-heldout:${seed}:${key}`).digest();
  return Number(digest.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

export function splitShots(
  shots: readonly ClubShot[],
  fraction: number,
  seed: number,
): { heldOut: ClubShot[]; fineTune: ClubShot[] } {
  const heldOut: ClubShot[] = [];
  const fineTune: ClubShot[] = [];
  for (const label of ['airplane', 'bird'] as const) {
    const ranked = shots
      .filter((s) => s.label === label)
      .map((shot) => ({ shot, h: heldOutHash(shot.key, seed) }))
      .sort((a, b) => a.h - b.h);
    for (const r of ranked) (r.h < fraction ? heldOut : fineTune).push(r.shot);
  }
  return { heldOut, fineTune };
}
