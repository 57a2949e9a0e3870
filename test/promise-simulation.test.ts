// The promise's statistical claim, shown by seeded simulation on synthetic scores (pure functions: no daemon, no
// model): a camera certified from a random review moves more than the budget of its future birds in at most about
// 1 - confidence of trials; the old point rule (at most floor(budget x birds) labelled birds moved) breaks it about
// half the time. Also the reviews certification takes, printed as [figures] for docs/promise.md.
import { describe, expect, it } from 'vitest';
import { moreBirdsNeeded } from '../src/calibrate/bound.js';
import { certifiedThreshold, thresholdMoving } from '../src/calibrate/rule.js';
import { random } from './helpers/seeded.js';

// A camera's birds: P(airplane) = U^power, so the share of its birds at or above t is exactly 1 - t^(1/power)
// (power 6: a long tail, 1% of birds above 0.94; power 3: 1% above 0.97). The truth needs no future sample.
const cameras = [{ power: 6 }, { power: 3 }];
const shareMoved = (t: number, power: number): number => (t <= 0 ? 1 : 1 - Math.min(1, t) ** (1 / power));

function trials(
  count: number,
  birds: number,
  budget: number,
  confidence: number,
  power: number,
  seed: number,
  rule: 'bound' | 'point',
): { certified: number; over: number; medianShare: number } {
  const next = random(seed);
  let certified = 0;
  let over = 0;
  const shares: number[] = [];
  for (let i = 0; i < count; i++) {
    const scores = Array.from({ length: birds }, () => next() ** power);
    let threshold: number | null;
    if (rule === 'bound') {
      threshold = certifiedThreshold(scores, budget, confidence).threshold;
    } else {
      threshold = thresholdMoving(scores, Math.floor(budget * birds + 1e-9));
    }
    if (threshold === null) continue;
    certified++;
    const share = shareMoved(threshold, power);
    shares.push(share);
    if (share > budget) over++;
  }
  shares.sort((a, b) => a - b);
  return { certified, over, medianShare: shares[Math.floor(shares.length / 2)] ?? NaN };
}

describe('the certified bound keeps the promise on future shots (seeded simulation)', () => {
  for (const { power } of cameras) {
    for (const [birds, budget, count] of [
      [300, 0.01, 2000],
      [1000, 0.01, 600],
      [200, 0.02, 2000],
      [100, 0.05, 2000],
    ] as const) {
      // Monte Carlo slack: three standard errors of a 10% rate over `count` trials.
      const slack = 3 * Math.sqrt((0.1 * 0.9) / count);
      it(
        `${birds} reviewed birds, budget ${budget * 100}%, tail power ${power}: over the budget in at most ` +
          `about 10% of ${count} trials`,
        () => {
          const bound = trials(count, birds, budget, 0.9, power, 1000 * power + birds, 'bound');
          const point = trials(count, birds, budget, 0.9, power, 1000 * power + birds, 'point');
          console.log(
            `[figures] ${birds} birds, budget ${budget}, power ${power}: bound rule certified ` +
              `${bound.certified}/${count}, over the budget in ${((100 * bound.over) / bound.certified).toFixed(1)}% ` +
              `(median birds moved ${(100 * bound.medianShare).toFixed(2)}%); point rule over in ` +
              `${((100 * point.over) / point.certified).toFixed(1)}% (median ${(100 * point.medianShare).toFixed(2)}%)`,
          );
          expect(bound.certified).toBe(count); // every trial has enough birds to certify
          expect(bound.over / bound.certified).toBeLessThanOrEqual(0.1 + slack);
          // The old rule is a point estimate of the tail: it breaks the promise far more often.
          expect(point.over / point.certified).toBeGreaterThan(0.3);
        },
      );
    }
  }

  it('too few birds never certifies, whatever their scores', () => {
    const next = random(7);
    for (let i = 0; i < 200; i++) {
      const scores = Array.from({ length: 229 }, () => next() ** 6);
      expect(certifiedThreshold(scores, 0.01, 0.9).certified).toBe(false);
    }
  });

  it('reviews certification takes with plain random sampling (the figures in docs/promise.md)', () => {
    const rows: string[] = [];
    for (const confidence of [0.8, 0.9, 0.95]) {
      for (const budget of [0.01, 0.02, 0.05]) {
        const birds = moreBirdsNeeded(0, 0, budget, confidence);
        // A camera whose random shots are 80% birds needs birds / 0.8 reviewed shots.
        rows.push(
          `confidence ${confidence}, budget ${budget}: ${birds} birds, none moved ` +
            `(${Math.ceil(birds / 0.8)} random shots at 80% birds); with one moved ${moreBirdsNeeded(
              1,
              0,
              budget,
              confidence,
            )}`,
        );
      }
    }
    console.log(`[figures] reviews to certify:\n${rows.join('\n')}`);
    expect(moreBirdsNeeded(0, 0, 0.01, 0.9)).toBe(230);
    expect(moreBirdsNeeded(0, 0, 0.02, 0.9)).toBe(114);
    expect(moreBirdsNeeded(0, 0, 0.05, 0.9)).toBe(45);
  });
});
