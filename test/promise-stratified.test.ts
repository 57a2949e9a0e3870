// Reviews that count more (src/calibrate/stratified.ts): by seeded simulation on synthetic cameras, a threshold
// certified from a stratified review moves more than the budget of the camera's future birds in at most about
// 1 - confidence of trials, and certification takes fewer reviews than with a uniform review on a camera with few
// airplanes (about as many on one with many): the figures in docs/promise.md, printed as [figures].
import { describe, expect, it } from 'vitest';
import { certifiedThreshold } from '../src/calibrate/rule.js';
import {
  HIGH_STRATUM_SHARE,
  moreReviewsNeeded,
  STRATUM_CUT,
  stratifiedShare,
  stratifiedThreshold,
  stratifiedUpperBound,
  type Strata,
} from '../src/calibrate/stratified.js';
import { random } from './helpers/seeded.js';

interface Shot {
  bird: boolean;
  p: number;
}

/**
 * A synthetic camera: a share `birds` of its shots are birds scoring U^power (so exactly 1 - t^(1/power) of its
 * birds score t or more: the truth needs no future sample), the rest airplanes scoring 1 - U^3.
 */
interface Camera {
  name: string;
  birds: number;
  power: number;
}
const CAMERAS: Camera[] = [
  { name: 'few airplanes (80% birds, long bird tail)', birds: 0.8, power: 6 },
  { name: 'many airplanes (50% birds, heavy bird tail)', birds: 0.5, power: 3 },
];
const trueShareMoved = (t: number, power: number): number => 1 - Math.min(1, t) ** (1 / power);

function shoot(camera: Camera, count: number, next: () => number): Shot[] {
  return Array.from({ length: count }, () => {
    const bird = next() < camera.birds;
    return { bird, p: bird ? next() ** camera.power : 1 - next() ** 3 };
  });
}

/** The shots in random order (Fisher-Yates): a prefix of it is a uniform draw without replacement. */
function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** A camera's past shots split by stratum, each in random order: the first r of each are its review. */
function strataOrder(shots: readonly Shot[], next: () => number): { high: Shot[]; low: Shot[] } {
  return {
    high: shuffled(
      shots.filter((s) => s.p >= STRATUM_CUT),
      next,
    ),
    low: shuffled(
      shots.filter((s) => s.p < STRATUM_CUT),
      next,
    ),
  };
}

/** What a stratified review of `reviews` shots finds (HIGH_STRATUM_SHARE of them high, as pickSampleShot draws). */
function stratifiedReview(order: { high: Shot[]; low: Shot[] }, reviews: number): Strata {
  const highCount = Math.min(order.high.length, Math.round(reviews * HIGH_STRATUM_SHARE));
  const lowCount = Math.min(order.low.length, reviews - highCount);
  const stratum = (all: Shot[], count: number): Strata['high'] => {
    const seen = all.slice(0, count);
    return {
      shots: all.length,
      reviewed: seen.length,
      birdScores: seen.filter((s) => s.bird).map((s) => s.p),
      airplaneScores: seen.filter((s) => !s.bird).map((s) => s.p),
    };
  };
  return { high: stratum(order.high, highCount), low: stratum(order.low, lowCount) };
}

const uniformBirds = (order: readonly Shot[], reviews: number): number[] =>
  order
    .slice(0, reviews)
    .filter((s) => s.bird)
    .map((s) => s.p);

const PAST_SHOTS = 4000;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('the stratified bound keeps the promise on future shots (seeded simulation)', () => {
  for (const [cameraIndex, camera] of CAMERAS.entries()) {
    for (const [reviews, budget] of [
      [camera.birds > 0.6 ? 200 : 600, 0.01],
      [camera.birds > 0.6 ? 120 : 300, 0.02],
    ] as const) {
      const count = 400;
      const slack = 3 * Math.sqrt((0.1 * 0.9) / count);
      it(`${camera.name}, ${reviews} stratified reviews, budget ${budget * 100}%: over the budget in at most about 10%
        of ${count} trials`, () => {
        const next = random(100 * cameraIndex + reviews);
        let certified = 0;
        let over = 0;
        for (let trial = 0; trial < count; trial++) {
          const order = strataOrder(shoot(camera, PAST_SHOTS, next), next);
          const choice = stratifiedThreshold(stratifiedReview(order, reviews), budget, 0.9);
          if (choice.threshold === null) continue;
          certified++;
          expect(choice.threshold).toBeGreaterThanOrEqual(STRATUM_CUT);
          if (trueShareMoved(choice.threshold, camera.power) > budget) over++;
        }
        console.log(
          `[figures] stratified, ${camera.name}, ${reviews} reviews, budget ${budget}: certified ${certified}/${count},` +
            ` over the budget in ${((100 * over) / Math.max(1, certified)).toFixed(1)}%`,
        );
        expect(certified).toBeGreaterThan(count / 2); // enough reviews that the property is about something
        expect(over / certified).toBeLessThanOrEqual(0.1 + slack);
      });
    }
  }

  it('reviews until certified, stratified and uniform, on the same cameras (the figures in docs/promise.md)', () => {
    const next = random(2026);
    const trials = 60;
    const step = 10;
    const rows: string[] = [];
    const ratios: number[] = [];
    for (const camera of CAMERAS) {
      const firstCertified = { stratified: [] as number[], uniform: [] as number[] };
      for (let trial = 0; trial < trials; trial++) {
        const shots = shoot(camera, PAST_SHOTS, next);
        const order = strataOrder(shots, next);
        const uniformOrder = shuffled(shots, next);
        const first = (certifies: (reviews: number) => boolean): number => {
          let reviews = step;
          while (!certifies(reviews) && reviews < PAST_SHOTS) reviews += step;
          return reviews;
        };
        firstCertified.stratified.push(
          first((r) => stratifiedThreshold(stratifiedReview(order, r), 0.01, 0.9).certified),
        );
        firstCertified.uniform.push(
          first((r) => certifiedThreshold(uniformBirds(uniformOrder, r), 0.01, 0.9).certified),
        );
      }
      const stratified = median(firstCertified.stratified);
      const uniform = median(firstCertified.uniform);
      ratios.push(stratified / uniform);
      rows.push(`${camera.name}: median ${stratified} stratified reviews against ${uniform} uniform (1%, 90%)`);
    }
    console.log(`[figures] reviews until certified:\n${rows.join('\n')}`);
    expect(ratios[0]).toBeLessThan(0.75); // few airplanes: clearly fewer reviews
    expect(ratios[1]).toBeLessThan(1.25); // many airplanes: about as many
  });
});

describe('the stratified bound, worked small', () => {
  const strata = (highBirds: number[], highReviewed: number, lowBirds: number, lowReviewed: number): Strata => ({
    high: { shots: 1000, reviewed: highReviewed, birdScores: highBirds, airplaneScores: [] },
    low: { shots: 9000, reviewed: lowReviewed, birdScores: Array<number>(lowBirds).fill(0.1), airplaneScores: [] },
  });

  it('weighs back: a review in proportion to the strata gives the plain share of birds', () => {
    // 10 of 100 high shots are birds, 2 of them at 0.9 or more; 90 of 90 low shots are birds (the strata are 1:9).
    const s = strata([0.95, 0.92, ...Array<number>(8).fill(0.6)], 100, 900, 900);
    const share = stratifiedShare(s, 0.9, 'bird', 0.9);
    expect(share.share).toBeCloseTo(2 / 910, 10);
    expect(share.low).toBeLessThan(share.share!);
    expect(share.high).toBeGreaterThan(share.share!);
    expect(share.weighted).toBe(true);
  });

  it('moves nothing below the stratum cut: no threshold under it is certified', () => {
    expect(stratifiedUpperBound(strata([], 300, 90, 100), STRATUM_CUT - 0.01, 0.9)).toBe(1);
    const choice = stratifiedThreshold(strata([], 300, 90, 100), 0.05, 0.9);
    expect(choice.certified).toBe(true);
    expect(choice.threshold).toBe(STRATUM_CUT);
  });

  it('never certifies without reviewed birds, and says how many more reviews would', () => {
    const none = strata([], 0, 0, 0);
    expect(stratifiedUpperBound(none, 0.9, 0.9)).toBe(1);
    expect(stratifiedThreshold(none, 0.01, 0.9).certified).toBe(false);
    const more = moreReviewsNeeded(none, 0, 0.01, 0.9);
    expect(more.reviews).toBeGreaterThan(0);
    expect(more.reviews).toBeLessThan(Infinity);
    // After that many reviews, shaped as projected (none moved, half birds), the bound is within the budget.
    const high = Math.ceil(more.reviews * HIGH_STRATUM_SHARE);
    const projected = strata([], high, Math.floor((more.reviews - high) / 2), more.reviews - high);
    projected.high.birdScores = Array<number>(Math.floor(high / 2)).fill(0.3 + STRATUM_CUT); // all below 0.9
    expect(stratifiedUpperBound(projected, 0.9, 0.9)).toBeLessThanOrEqual(0.01);
  });
});
