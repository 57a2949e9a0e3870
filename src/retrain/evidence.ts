// Whether one model is worse than another beyond the noise, on the same labelled shots: the exact McNemar test on
// the discordant pairs (shots one model gets right and the other not), the airplanes each catches at the same bird
// budget at the threshold it certifies on the club's held-out birds (src/calibrate/rule.ts), with intervals, and how
// many shots would be needed when these are too few to tell.
import { shareInterval, type ShareInterval } from '../calibrate/bound.js';
import { certifiedThreshold } from '../calibrate/rule.js';

/** Two-sided significance level of the McNemar test that may refuse a candidate. */
export const SIGNIFICANCE = 0.05;

export interface McNemar {
  /** Shots the current model gets right and the candidate not, and the other way round. */
  current_only: number;
  candidate_only: number;
  /** Exact two-sided p-value: 2 x P(Binomial(b + c, 1/2) <= min(b, c)), at most 1. */
  p_value: number;
}

/** log of n choose k, for the binomial tail without overflow. */
function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

export function mcnemar(currentOnly: number, candidateOnly: number): McNemar {
  const n = currentOnly + candidateOnly;
  const low = Math.min(currentOnly, candidateOnly);
  let tail = 0;
  for (let i = 0; i <= low; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return { current_only: currentOnly, candidate_only: candidateOnly, p_value: n === 0 ? 1 : Math.min(1, 2 * tail) };
}

/**
 * Fewest discordant pairs at which a split in the proportion seen (at least 0 : 1) would be significant; then the
 * shots needed at the share of shots that were discordant. null when nothing was discordant (no direction seen).
 */
export function shotsNeeded(currentOnly: number, candidateOnly: number, shots: number): number | null {
  const n = currentOnly + candidateOnly;
  if (n === 0 || shots === 0) return null;
  const minority = Math.min(currentOnly, candidateOnly) / n;
  for (let m = 1; m <= 100_000; m++) {
    if (mcnemar(Math.round(m * minority), m - Math.round(m * minority)).p_value < SIGNIFICANCE) {
      return Math.ceil((m * shots) / n);
    }
  }
  return null;
}

export interface AtBudget {
  threshold: number;
  certified: boolean;
  airplanes_caught: ShareInterval;
  birds_moved: ShareInterval;
}

export interface BudgetEvidence {
  budget: number;
  confidence: number;
  /** Held-out birds and airplanes both models decided. */
  birds: number;
  airplanes: number;
  /** Whether the held-out birds can certify the budget at all, and how many more birds that would take. */
  certifiable: boolean;
  more_birds_needed: number;
  current: AtBudget;
  candidate: AtBudget;
  /** McNemar on the airplanes caught by one model and not the other. */
  mcnemar: McNemar;
  verdict: 'worse' | 'better' | 'no difference beyond the noise' | 'too few to tell';
  /** Held-out airplanes that would make a difference like the one seen significant (null: none seen). */
  airplanes_needed: number | null;
  /** One line for a member. */
  summary: string;
}

/**
 * Both models at the same bird budget, each at the lowest threshold its scores on the held-out birds certify (the
 * strictest the birds allow when they cannot certify it), compared on the held-out airplanes.
 */
export function evidenceAtBudget(
  birds: Array<{ current: number; candidate: number }>,
  planes: Array<{ current: number; candidate: number }>,
  budget: number,
  confidence: number,
): BudgetEvidence {
  const at = (which: 'current' | 'candidate'): AtBudget => {
    const choice = certifiedThreshold(
      birds.map((b) => b[which]),
      budget,
      confidence,
    );
    const threshold = choice.threshold ?? choice.best ?? 1;
    return {
      threshold,
      certified: choice.certified,
      airplanes_caught: shareInterval(planes.filter((p) => p[which] >= threshold).length, planes.length, confidence),
      birds_moved: shareInterval(birds.filter((b) => b[which] >= threshold).length, birds.length, confidence),
    };
  };
  const current = at('current');
  const candidate = at('candidate');
  const test = mcnemar(
    planes.filter((p) => p.current >= current.threshold && p.candidate < candidate.threshold).length,
    planes.filter((p) => p.candidate >= candidate.threshold && p.current < current.threshold).length,
  );
  const more = certifiedThreshold(
    birds.map((b) => b.current),
    budget,
    confidence,
  ).more_birds_needed;
  const needed = shotsNeeded(test.current_only, test.candidate_only, planes.length);
  const significant = test.p_value < SIGNIFICANCE;
  const verdict = significant
    ? test.current_only > test.candidate_only
      ? 'worse'
      : 'better'
    : needed === null || needed > planes.length
      ? 'too few to tell'
      : 'no difference beyond the noise';
  const pct = (i: ShareInterval): string =>
    i.n === 0
      ? '-'
      : `${i.k}/${i.n} (${(100 * i.share!).toFixed(0)}%, ` +
        `${(100 * i.low).toFixed(0)}-${(100 * i.high).toFixed(0)}%)`;
  const words = {
    worse: 'the candidate catches fewer airplanes beyond the noise',
    better: 'the candidate catches more airplanes beyond the noise',
    'no difference beyond the noise': 'no difference beyond the noise',
    'too few to tell': `too few held-out airplanes to tell: ${
      needed === null
        ? 'no airplane was decided ' + 'differently (at least 6 decided differently are needed for any verdict)'
        : `about ${needed} would be needed ` + `for a difference like this one (${planes.length} held out)`
    }`,
  }[verdict];
  const summary =
    `at bird budget ${budget}, each at the threshold it certifies on ${birds.length} held-out birds` +
    `${current.certified ? '' : ` (not certifiable: ${more} more birds needed; just above the highest bird instead)`}` +
    `: airplanes caught current ${pct(current.airplanes_caught)} at ${current.threshold}, candidate ` +
    `${pct(candidate.airplanes_caught)} at ${candidate.threshold}; exact McNemar on the ${test.current_only} + ` +
    `${test.candidate_only} airplanes caught by one only: p = ${test.p_value.toPrecision(2)}: ${words}`;
  return {
    budget,
    confidence,
    birds: birds.length,
    airplanes: planes.length,
    certifiable: current.certified,
    more_birds_needed: more,
    current,
    candidate,
    mcnemar: test,
    verdict,
    airplanes_needed: needed,
    summary,
  };
}
