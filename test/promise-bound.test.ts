// The TypeScript bound (src/calibrate/bound.ts) against the scipy table both sides are tested against, and the
// threshold choice built on it (src/calibrate/rule.ts certifiedThreshold) on scores worked by hand.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { largestCertifiedK, lowerBound, moreBirdsNeeded, upperBound } from '../src/calibrate/bound.js';
import { certifiedThreshold } from '../src/calibrate/rule.js';
import { REPO } from './helpers/daemon.js';

interface Fixture {
  bounds: Array<{ k: number; n: number; confidence: number; bound: number }>;
  more_birds_needed: Array<{ k: number; n: number; confidence: number; budget: number; more_birds_needed: number }>;
}
const fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'clopper-pearson.json'), 'utf8')) as Fixture;

describe('the one-sided Clopper-Pearson bound', () => {
  it(`equals scipy's on all ${fixture.bounds.length} rows of the fixture`, () => {
    expect(fixture.bounds.length).toBeGreaterThan(100);
    for (const row of fixture.bounds) {
      const mine = upperBound(row.k, row.n, row.confidence);
      expect(Math.abs(mine - row.bound), JSON.stringify(row)).toBeLessThan(1e-9 * Math.max(1e-3, row.bound));
    }
  });

  it(`says how many more birds, as scipy does, on all ${fixture.more_birds_needed.length} rows`, () => {
    expect(fixture.more_birds_needed.length).toBeGreaterThan(10);
    for (const row of fixture.more_birds_needed) {
      expect(moreBirdsNeeded(row.k, row.n, row.budget, row.confidence), JSON.stringify(row)).toBe(
        row.more_birds_needed,
      );
    }
  });

  it("certifies 1% at 90% from 230 unmoved birds and not from 229 (the issue's figure)", () => {
    expect(largestCertifiedK(229, 0.01, 0.9)).toBe(-1);
    expect(largestCertifiedK(230, 0.01, 0.9)).toBe(0);
    expect(moreBirdsNeeded(0, 100, 0.02, 0.9)).toBe(14); // 114 for 2%
  });

  it('k* is the largest k whose bound is within the budget', () => {
    for (const n of [230, 500, 1000, 5000]) {
      const k = largestCertifiedK(n, 0.01, 0.9);
      expect(upperBound(k, n, 0.9)).toBeLessThanOrEqual(0.01);
      expect(upperBound(k + 1, n, 0.9)).toBeGreaterThan(0.01);
    }
  });
});

describe('the one-sided lower bound (the stratified review weighs its bird shares with it)', () => {
  it("equals scipy's beta.ppf(1 - confidence, k, n - k + 1) on a grid", () => {
    const cases = [0.8, 0.9, 0.99].flatMap((confidence) =>
      [1, 5, 30, 200].flatMap((n) => [1, Math.ceil(n / 3), n].map((k) => ({ k, n, confidence }))),
    );
    const script =
      'import json, sys; from scipy.stats import beta; ' +
      'print(json.dumps([beta.ppf(1 - x["confidence"], x["k"], x["n"] - x["k"] + 1) for x in json.load(sys.stdin)]))';
    const python = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
    expect(python.status, python.stderr).toBe(0);
    const scipy = JSON.parse(python.stdout) as number[];
    cases.forEach((x, i) => {
      expect(Math.abs(lowerBound(x.k, x.n, x.confidence) - scipy[i]!), JSON.stringify(x)).toBeLessThan(1e-9);
    });
    expect(lowerBound(0, 10, 0.9)).toBe(0);
    expect(lowerBound(0, 0, 0.9)).toBe(0);
  });
});

describe('the same rule on both sides (training/birdwatch_training/calibrate.py)', () => {
  it('k* and the birds still needed agree with Python on a grid of n, budgets and confidences', () => {
    const cases = [0.8, 0.9, 0.95].flatMap((confidence) =>
      [0.01, 0.02, 0.05, 0.1].flatMap((budget) =>
        [0, 1, 22, 45, 114, 229, 230, 300, 1000, 5000].map((n) => ({ n, budget, confidence })),
      ),
    );
    const script =
      'import json, sys; from birdwatch_training import calibrate as c; ' +
      'print(json.dumps([[c.birds_allowed(x["n"], x["budget"], x["confidence"]), ' +
      'c.more_birds_needed(0, x["n"], x["budget"], x["confidence"])] for x in json.load(sys.stdin)]))';
    const python = spawnSync('/usr/bin/python3', ['-c', script], {
      cwd: join(REPO, 'training'),
      input: JSON.stringify(cases),
      encoding: 'utf8',
    });
    expect(python.status, python.stderr).toBe(0);
    const mine = cases.map((x) => {
      const k = largestCertifiedK(x.n, x.budget, x.confidence);
      return [k < 0 ? null : k, moreBirdsNeeded(0, x.n, x.budget, x.confidence)];
    });
    expect(mine).toEqual(JSON.parse(python.stdout));
  });
});

describe('the certified threshold', () => {
  it('too few birds never certifies, and the best it can do is just above the highest bird', () => {
    const birds = Array.from({ length: 229 }, (_, i) => i / 1000);
    const result = certifiedThreshold(birds, 0.01, 0.9);
    expect(result).toMatchObject({ certified: false, birds: 229, more_birds_needed: 1, best: 0.22801 });
    expect(result.threshold).toBeNull();
  });

  it('230 birds: none may move, threshold just above the highest', () => {
    const birds = Array.from({ length: 230 }, (_, i) => i / 1000);
    expect(certifiedThreshold(birds, 0.01, 0.9)).toMatchObject({
      certified: true,
      threshold: 0.22901,
      birds_moved: 0,
      more_birds_needed: 0,
    });
  });

  it('1000 birds: k* = largestCertifiedK birds move, the next stays (ties stay too)', () => {
    const birds = Array.from({ length: 1000 }, (_, i) => i / 10000);
    const k = largestCertifiedK(1000, 0.01, 0.9);
    expect(k).toBeGreaterThan(0);
    const result = certifiedThreshold(birds, 0.01, 0.9);
    // sorted from the top: birds 0.0999 .. ; the (k+1)-th highest is (999 - k) / 10000
    expect(result.threshold).toBeCloseTo((999 - k) / 10000 + 1e-5, 9);
    expect(result.birds_moved).toBe(k);
    expect(result.bound).toBeCloseTo(upperBound(k, 1000, 0.9), 12);
    const tied = [...birds.slice(0, 990), ...Array(10).fill(0.5)];
    expect(certifiedThreshold(tied, 0.01, 0.9)).toMatchObject({ threshold: 0.50001, birds_moved: 0 });
  });
});
