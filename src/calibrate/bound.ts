// The one TypeScript definition of the promise's statistics: the one-sided Clopper-Pearson upper bound on the share
// of a camera's birds a threshold moves, from k of n randomly reviewed birds (training/calibrate.py holds the same
// for Python; both are tested against test/fixtures/clopper-pearson.json), and the birds still needed to certify.
import { createRequire } from 'node:module';
import type BetaQuantile from '@stdlib/stats-base-dists-beta-quantile';

// Loaded at the first bound, not when a command starts: a quarter of a second of every CLI and daemon start that
// never computes one (birdwatch log, a config check...).
let loaded: typeof BetaQuantile | undefined;
function betaQuantile(p: number, a: number, b: number): number {
  loaded ??= createRequire(import.meta.url)('@stdlib/stats-base-dists-beta-quantile') as typeof BetaQuantile;
  return loaded(p, a, b);
}

/** The default confidence of the promise (config calibration.confidence). */
export const DEFAULT_CONFIDENCE = 0.9;

/** U(k, n): BetaQuantile(confidence; k + 1, n - k) for k < n; 1 when k >= n or n = 0 (nothing is known). */
export function upperBound(k: number, n: number, confidence: number): number {
  if (n <= 0 || k >= n) return 1;
  if (k === 0) return 1 - (1 - confidence) ** (1 / n); // the closed form, exact where the quantile loses digits
  return betaQuantile(confidence, k + 1, n - k);
}

/** The one-sided lower bound: BetaQuantile(1 - confidence; k, n - k + 1) for k > 0; 0 when k = 0 or n = 0. */
export function lowerBound(k: number, n: number, confidence: number): number {
  if (n <= 0 || k <= 0) return 0;
  if (k >= n) return (1 - confidence) ** (1 / n); // the closed form, as upperBound's for k = 0
  return betaQuantile(1 - confidence, k, n - k + 1);
}

/** The largest k in 0..n with U(k, n) <= budget (U grows with k); -1 when even U(0, n) is above the budget. */
export function largestCertifiedK(n: number, budget: number, confidence: number): number {
  if (upperBound(0, n, confidence) > budget) return -1;
  let lo = 0;
  let hi = n; // U(n, n) = 1: above any budget below 1
  if (upperBound(hi, n, confidence) <= budget) return n;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (upperBound(mid, n, confidence) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * How many more reviewed birds, none of them moved, before k moved of n certifies the budget: the smallest n' >= n
 * with U(k, n') <= budget, minus n. Infinity for a budget of 0 or below (never certifiable).
 */
export function moreBirdsNeeded(k: number, n: number, budget: number, confidence: number): number {
  if (budget <= 0) return Infinity;
  if (upperBound(k, n, confidence) <= budget) return 0;
  let lo = Math.max(n, k); // fails
  let hi = Math.max(2 * lo, k + 1, 1);
  while (upperBound(k, hi, confidence) > budget) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (upperBound(k, mid, confidence) <= budget) hi = mid;
    else lo = mid;
  }
  return hi - n;
}

export interface ShareInterval {
  k: number;
  n: number;
  /** k / n; null when n = 0. */
  share: number | null;
  /** Two-sided Clopper-Pearson interval at `confidence` (0 to 1 when n = 0). */
  low: number;
  high: number;
  /** A stratified review's estimate, weighed back to the camera's shots (src/calibrate/stratified.ts): `share` is
   *  then not k / n. */
  weighted?: true;
}

/** The two-sided exact (Clopper-Pearson) interval for a share seen as k of n, at `confidence`. */
export function shareInterval(k: number, n: number, confidence: number): ShareInterval {
  if (n <= 0) return { k, n, share: null, low: 0, high: 1 };
  const tail = (1 - confidence) / 2;
  return {
    k,
    n,
    share: k / n,
    low: k === 0 ? 0 : betaQuantile(tail, k, n - k + 1),
    high: k >= n ? 1 : betaQuantile(1 - tail, k + 1, n - k),
  };
}
