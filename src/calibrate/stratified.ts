// Reviews that count more: a stratified random review and the bound that weighs it back. Most birds score far below
// any threshold and say little about the tail, so the review draws shots the model scored high (P(airplane) >=
// STRATUM_CUT, the "high" stratum) three times in four, and the rest ("low") otherwise, uniformly inside each. The
// share of a camera's birds that a threshold t >= STRATUM_CUT moves is then
//   f p / (f qH + (1 - f) qL)
// with f the share of its shots in the high stratum, p the share of high shots that are birds scoring >= t, and qH,
// qL the share of birds in each stratum. The bound puts a one-sided Clopper-Pearson bound on each of the four, their
// chances of being wrong summing to 1 - confidence (ERROR_SHARES; a union bound: all four hold at once with the
// stated confidence); the share grows with f and p and falls with qH and qL, so the upper bounds of f and p over
// the lower bounds of qH and qL bound it.
// test/promise-stratified.test.ts shows by seeded simulation that the promise holds and how many reviews it saves.
import { lowerBound, upperBound, type ShareInterval } from './bound.js';
import { thresholdMoving, type CertifiedThreshold } from './rule.js';

/** Shots at or above this P(airplane) form the high stratum; a stratified bound certifies no threshold below it. */
export const STRATUM_CUT = 0.5;
/** The share of stratified draws taken from the high stratum. */
export const HIGH_STRATUM_SHARE = 0.75;

/**
 * How the chance of a wrong promise (1 - confidence) is shared between the four bounds (a union bound: they sum to
 * 1). Most goes to p, the one that needs many reviews; f rests on every decided shot, and the bird shares are far
 * from 0, so a small share of it costs them little.
 */
export const ERROR_SHARES = { f: 0.1, p: 0.7, qH: 0.1, qL: 0.1 } as const;

/** One stratum of a camera's decided shots: how many, and what the review found among them. */
export interface ReviewedStratum {
  /** Decided (kept or moved) shots of the camera and model in the stratum. */
  shots: number;
  /** Reviewed shots in it, whatever their label (bird, airplane or neither). */
  reviewed: number;
  birdScores: readonly number[];
  airplaneScores: readonly number[];
}

export interface Strata {
  high: ReviewedStratum;
  low: ReviewedStratum;
}

/** The counts the bound rests on (a projection fills them with reviews not yet made). */
interface StrataCounts {
  highShots: number;
  lowShots: number;
  highReviewed: number;
  lowReviewed: number;
  /** Reviewed shots of the class in question (birds for the promise) in each stratum. */
  highOfClass: number;
  lowOfClass: number;
}

function countsOf(strata: Strata, cls: 'bird' | 'airplane' = 'bird'): StrataCounts {
  const of = (s: ReviewedStratum): number => (cls === 'bird' ? s.birdScores : s.airplaneScores).length;
  return {
    highShots: strata.high.shots,
    lowShots: strata.low.shots,
    highReviewed: strata.high.reviewed,
    lowReviewed: strata.low.reviewed,
    highOfClass: of(strata.high),
    lowOfClass: of(strata.low),
  };
}

/** f x / (f qH + (1 - f) qL): the weighted share, 1 when nothing is known of the denominator. */
function weighted(f: number, x: number, qH: number, qL: number): number {
  const denominator = f * qH + (1 - f) * qL;
  if (denominator <= 0) return x > 0 || f > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, (f * x) / denominator));
}

/** The upper bound at `confidence` on the share of the class at or above a threshold, `k` of the class's high
 *  reviewed shots at or above it. */
function upperFromCounts(c: StrataCounts, k: number, confidence: number): number {
  const miss = 1 - confidence;
  return weighted(
    upperBound(c.highShots, c.highShots + c.lowShots, 1 - miss * ERROR_SHARES.f),
    upperBound(k, c.highReviewed, 1 - miss * ERROR_SHARES.p),
    lowerBound(c.highOfClass, c.highReviewed, 1 - miss * ERROR_SHARES.qH),
    lowerBound(c.lowOfClass, c.lowReviewed, 1 - miss * ERROR_SHARES.qL),
  );
}

/** Birds in the high stratum's review scoring at or above `threshold`. */
const highBirdsAtOrAbove = (strata: Strata, threshold: number): number =>
  strata.high.birdScores.filter((p) => p >= threshold).length;

/**
 * The upper bound, at `confidence`, on the share of the camera's birds that `threshold` moves; 1 below STRATUM_CUT
 * (the review of the low stratum says nothing about which of its birds a low threshold would move).
 */
export function stratifiedUpperBound(strata: Strata, threshold: number, confidence: number): number {
  if (threshold < STRATUM_CUT) return 1;
  return upperFromCounts(countsOf(strata), highBirdsAtOrAbove(strata, threshold), confidence);
}

/** The weighted estimate of the share of the class at or above `threshold` and its two-sided interval. */
export function stratifiedShare(
  strata: Strata,
  threshold: number,
  cls: 'bird' | 'airplane',
  confidence: number,
): ShareInterval {
  const c = countsOf(strata, cls);
  const n = c.highOfClass + c.lowOfClass;
  const k = (cls === 'bird' ? strata.high.birdScores : strata.high.airplaneScores).filter((p) => p >= threshold).length;
  if (threshold < STRATUM_CUT || n === 0) return { k, n, share: null, low: 0, high: 1, weighted: true };
  const f = c.highShots / Math.max(1, c.highShots + c.lowShots);
  const rate = (x: number, of: number): number => (of === 0 ? 0 : x / of);
  // Each end is wrong at most half of 1 - confidence: the upper one as the promise's bound, the lower one likewise.
  const miss = (1 - confidence) / 2;
  const total = c.highShots + c.lowShots;
  return {
    k,
    n,
    share: weighted(f, rate(k, c.highReviewed), rate(c.highOfClass, c.highReviewed), rate(c.lowOfClass, c.lowReviewed)),
    low: weighted(
      lowerBound(c.highShots, total, 1 - miss * ERROR_SHARES.f),
      lowerBound(k, c.highReviewed, 1 - miss * ERROR_SHARES.p),
      upperBound(c.highOfClass, c.highReviewed, 1 - miss * ERROR_SHARES.qH),
      upperBound(c.lowOfClass, c.lowReviewed, 1 - miss * ERROR_SHARES.qL),
    ),
    high: upperFromCounts(c, k, 1 - (1 - confidence) / 2),
    weighted: true,
  };
}

/**
 * More reviews (drawn as the stratified review draws them) before `k` high birds at or above the threshold certify
 * the budget, if none of the new birds scores at or above it and each stratum keeps the share of birds seen so far
 * (a little smoothed, so that a stratum with no review yet counts as half birds). Infinity when even a million
 * would not do.
 */
export function moreReviewsNeeded(
  strata: Strata,
  k: number,
  budget: number,
  confidence: number,
): { reviews: number; birds: number } {
  const now = countsOf(strata);
  if (upperFromCounts(now, k, confidence) <= budget) return { reviews: 0, birds: 0 };
  if (budget <= 0) return { reviews: Infinity, birds: Infinity };
  const highShare = (now.highOfClass + 0.5) / (now.highReviewed + 1);
  const lowShare = (now.lowOfClass + 0.5) / (now.lowReviewed + 1);
  const extra = (m: number): { high: number; low: number; birds: number } => {
    const high = Math.ceil(m * HIGH_STRATUM_SHARE);
    return { high, low: m - high, birds: Math.floor(high * highShare) + Math.floor((m - high) * lowShare) };
  };
  const certifiesWith = (m: number): boolean => {
    const e = extra(m);
    const projected: StrataCounts = {
      ...now,
      highReviewed: now.highReviewed + e.high,
      lowReviewed: now.lowReviewed + e.low,
      highOfClass: now.highOfClass + Math.floor(e.high * highShare),
      lowOfClass: now.lowOfClass + Math.floor(e.low * lowShare),
    };
    return upperFromCounts(projected, k, confidence) <= budget;
  };
  let lo = 0; // fails
  let hi = 1;
  while (!certifiesWith(hi)) {
    if (hi > 1e6) return { reviews: Infinity, birds: Infinity };
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (certifiesWith(mid)) hi = mid;
    else lo = mid;
  }
  return { reviews: hi, birds: extra(hi).birds };
}

/**
 * The lowest threshold at or above STRATUM_CUT whose stratified bound is within the budget, walking down from the
 * strictest (the bound grows as the threshold falls: the fixed-sequence argument of rule.ts holds here too).
 * `more_birds_needed` is the birds among the reviews still needed (moreReviewsNeeded).
 */
export function stratifiedThreshold(
  strata: Strata,
  budget: number,
  confidence: number,
): CertifiedThreshold & { more_reviews_needed: number } {
  const highBirds = strata.high.birdScores;
  const allBirds = [...highBirds, ...strata.low.birdScores];
  const counts = countsOf(strata);
  const certifies = (k: number): boolean => upperFromCounts(counts, k, confidence) <= budget;
  // The largest k (high birds allowed at or above the threshold) that still certifies; the bound grows with k.
  let k = -1;
  while (k + 1 <= highBirds.length && certifies(k + 1)) k++;
  const atLeastCut = (t: number): number => Math.max(STRATUM_CUT, t);
  const threshold = k < 0 ? null : atLeastCut(thresholdMoving(highBirds, k));
  const best = allBirds.length === 0 ? null : atLeastCut(thresholdMoving(allBirds, 0));
  const at = threshold ?? best ?? STRATUM_CUT;
  const moved = highBirdsAtOrAbove(strata, at);
  const more = threshold !== null ? { reviews: 0, birds: 0 } : moreReviewsNeeded(strata, moved, budget, confidence);
  return {
    budget,
    confidence,
    birds: allBirds.length,
    certified: threshold !== null,
    threshold,
    best,
    birds_moved: moved,
    bound: stratifiedUpperBound(strata, at, confidence),
    more_birds_needed: more.birds,
    more_reviews_needed: more.reviews,
  };
}
