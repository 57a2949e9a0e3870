// The threshold rule, in one place for the TypeScript side (training/calibrate.py holds the same rule for training):
// the lowest threshold whose one-sided Clopper-Pearson upper bound on the share of birds moved is within the budget
// (src/calibrate/bound.ts), kept RUNTIME_MARGIN above the highest-scoring bird that must stay so that bird stays
// under any runtime's rounding; and what a threshold does to labelled scores.
import { largestCertifiedK, moreBirdsNeeded, upperBound } from './bound.js';

/** The same margin as training/calibrate.py RUNTIME_MARGIN. */
export const RUNTIME_MARGIN = 1e-5;

/**
 * The threshold at which the `moved` highest birds move and the rest stay: RUNTIME_MARGIN above the (moved + 1)-th
 * highest bird (birds tied with it stay too), rounded up to 6 decimals (what a config file receives), at most 1;
 * 0 when every bird may move.
 */
export function thresholdMoving(birdScores: readonly number[], moved: number, margin = RUNTIME_MARGIN): number {
  const sorted = [...birdScores].sort((a, b) => b - a);
  if (moved >= sorted.length) return 0;
  return Math.min(1, Math.ceil((sorted[moved]! + margin) * 1e6 - 1e-6) / 1e6);
}

export interface CertifiedThreshold {
  budget: number;
  confidence: number;
  /** Labelled birds (from a random review) the choice rests on. */
  birds: number;
  /** Whether some threshold's bound is within the budget. */
  certified: boolean;
  /** The lowest certified threshold; null when none is. */
  threshold: number | null;
  /** The strictest threshold the birds allow (just above the highest bird; it moves none of them); null without
   *  birds. What an uncertified camera may tighten to, never loosen to. */
  best: number | null;
  /** Birds at or above `threshold` (else `best`), and the bound on the share of all birds that moves. */
  birds_moved: number;
  bound: number;
  /** Randomly reviewed birds still needed, none of them moved, before the budget is certified (0 when it is). */
  more_birds_needed: number;
}

/**
 * The lowest threshold whose upper bound U(k, n) on the share of birds moved is within the budget, walking down from
 * the strictest (fixed-sequence: the bound holds at `confidence` although many thresholds were looked at).
 */
export function certifiedThreshold(
  birdScores: readonly number[],
  budget: number,
  confidence: number,
): CertifiedThreshold {
  const n = birdScores.length;
  const best = n === 0 ? null : thresholdMoving(birdScores, 0);
  const k = largestCertifiedK(n, budget, confidence);
  const threshold = k < 0 ? null : thresholdMoving(birdScores, k);
  const at = threshold ?? best;
  const moved = at === null ? 0 : birdScores.filter((p) => p >= at).length;
  return {
    budget,
    confidence,
    birds: n,
    certified: threshold !== null,
    threshold,
    best,
    birds_moved: moved,
    bound: upperBound(moved, n, confidence),
    more_birds_needed: threshold !== null ? 0 : moreBirdsNeeded(0, n, budget, confidence),
  };
}

/**
 * The threshold a camera runs with after calibrating: a certified one; else the stricter of the one in use and the
 * best the birds allow (never looser than in use).
 */
export function thresholdToKeep(choice: CertifiedThreshold, inUse: number): number {
  if (choice.threshold !== null) return choice.threshold;
  return choice.best === null ? inUse : Math.max(inUse, choice.best);
}

export interface AtThreshold {
  threshold: number;
  birds: number;
  airplanes: number;
  /** Birds with P(airplane) >= threshold (the filter would move them) and their share of the birds. */
  birds_moved: number;
  birds_moved_share: number | null;
  /** Airplanes with P(airplane) >= threshold and their share of the airplanes. */
  airplanes_caught: number;
  airplanes_caught_share: number | null;
}

/** What a threshold does to labelled scores (one definition for calibrate, the retrain comparison and promote). */
export function figuresAt(
  threshold: number,
  birdScores: readonly number[],
  airplaneScores: readonly number[],
): AtThreshold {
  const birdsMoved = birdScores.filter((p) => p >= threshold).length;
  const caught = airplaneScores.filter((p) => p >= threshold).length;
  return {
    threshold,
    birds: birdScores.length,
    airplanes: airplaneScores.length,
    birds_moved: birdsMoved,
    birds_moved_share: birdScores.length === 0 ? null : birdsMoved / birdScores.length,
    airplanes_caught: caught,
    airplanes_caught_share: airplaneScores.length === 0 ? null : caught / airplaneScores.length,
  };
}
