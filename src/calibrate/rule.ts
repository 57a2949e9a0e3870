// The threshold rule, in one place for the TypeScript side (training/calibrate.py holds the same rule for training):
// the lowest threshold at which at most floor(budget x birds) of the labelled birds would be moved, kept
// RUNTIME_MARGIN above the highest-scoring bird that must stay so that bird stays under any runtime's rounding.

/** The same margin as training/calibrate.py RUNTIME_MARGIN. */
export const RUNTIME_MARGIN = 1e-5;

/**
 * How many labelled birds the budget lets move: floor(budget x birds) (the 1e-9 absorbs 0.07 x 100 = 7.000000001).
 * One definition for calibrate's threshold and for "enough birds".
 */
export function birdsAllowed(budget: number, birds: number): number {
  return Math.floor(budget * birds + 1e-9);
}

/** Fewest labelled birds for a budget to mean something: ceil(1 / budget), so that at least one bird may move. */
export function birdsNeeded(budget: number): number {
  return Math.ceil(1 / budget - 1e-9);
}

/**
 * The score the threshold must lie just above (training/calibrate.py `_highest_bird_that_stays`): the highest bird
 * beyond the ones the budget lets through; birds tied with it stay too. null when the budget lets every bird move.
 */
export function highestBirdThatStays(birdScores: readonly number[], budget: number): number | null {
  const sorted = [...birdScores].sort((a, b) => b - a);
  const allowed = birdsAllowed(budget, sorted.length);
  return allowed >= sorted.length ? null : sorted[allowed]!;
}

/**
 * The threshold (move when P(airplane) >= threshold) for these bird scores at `budget`: RUNTIME_MARGIN above the
 * highest bird that must stay, rounded up to 6 decimals (what the config file receives), at most 1.
 */
export function thresholdFor(birdScores: readonly number[], budget: number, margin = RUNTIME_MARGIN): number {
  if (birdScores.length === 0) throw new RangeError('no labelled birds to calibrate on');
  const stays = highestBirdThatStays(birdScores, budget);
  if (stays === null) return 0;
  return Math.min(1, Math.ceil((stays + margin) * 1e6 - 1e-6) / 1e6);
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
export function figuresAt(threshold: number, birdScores: readonly number[], airplaneScores: readonly number[]):
  AtThreshold {
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
