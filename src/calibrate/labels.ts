// The labelled shots calibrate rests on, with the model's score for each: review-sample labels (a random draw,
// unbiased) and corrections (mistakes someone noticed, biased), kept apart. Only decisions made by the model being
// calibrated carry its scores; labels on shots another model decided are counted, not used.
import type { Db } from '../db/index.js';
import { STRATUM_CUT, type Strata } from './stratified.js';
import { stratumSizes } from './stratum-sizes.js';

export type LabelSource = 'sample' | 'correction';

export interface ScoredLabel {
  decision_id: number;
  camera: string;
  label: 'airplane' | 'bird';
  source: LabelSource;
  p_airplane: number;
  model_id: string | null;
}

// CROSS JOIN: the labels (a few hundred) drive the join, never the decisions (hundreds of thousands in a year) that
// SQLite, without statistics, would otherwise walk by model.
const SAMPLES = `SELECT d.id AS decision_id, d.camera, r.label, 'sample' AS source, d.p_airplane, d.model_id
    FROM reviews r CROSS JOIN decisions d ON d.id = r.decision_id
    WHERE r.source = 'sample' AND r.id = (SELECT max(id) FROM reviews WHERE decision_id = r.decision_id)
      AND r.label IN ('airplane', 'bird') AND d.p_airplane IS NOT NULL`;

/**
 * Every labelled decision with a score: the latest sample label of each decision (label 'neither' left out), and the
 * latest correction of each decision. A decision with both appears once per source.
 */
export function scoredLabels(db: Db): ScoredLabel[] {
  const samples = db.prepare(SAMPLES).all() as ScoredLabel[];
  const corrections = db
    .prepare(
      `SELECT d.id AS decision_id, d.camera, c.label, 'correction' AS source, d.p_airplane,
        d.model_id
      FROM corrections c CROSS JOIN decisions d ON d.id = c.decision_id
      WHERE c.id = (SELECT max(id) FROM corrections WHERE decision_id = c.decision_id)
        AND d.p_airplane IS NOT NULL`,
    )
    .all() as ScoredLabel[];
  return [...samples, ...corrections];
}

/** The random-review labels on one model's decisions (what the daemon recalibrates from). */
export function sampleLabels(db: Db, modelId: string): ScoredLabel[] {
  return db.prepare(`${SAMPLES} AND d.model_id = ?`).all(modelId) as ScoredLabel[];
}

/** The newest random-review label's id (0 without any): the daemon's cheap look for new labels. */
export function latestSampleLabelId(db: Db): number {
  return Number(db.prepare(`SELECT coalesce(max(id), 0) FROM reviews WHERE source = 'sample'`).pluck().get());
}

export type ReviewDesign = 'uniform' | 'stratified';

/** What one camera's random review of one model's decisions holds, for the stratified bound. */
export interface ReviewEvidence {
  /** 'stratified' once any of the camera's shots was drawn by the stratified review: a uniform sample it then is
   *  not, and only the weighed-back bound is honest. Decided by how shots were drawn, never by their labels. */
  design: ReviewDesign;
  strata: Strata;
}

interface Tally {
  shots: number;
  reviewed: number;
  birdScores: number[];
  airplaneScores: number[];
}
const emptyStratum = (): Tally => ({ shots: 0, reviewed: 0, birdScores: [], airplaneScores: [] });

/**
 * Per camera (and under `null`, all cameras together): the model's decided shots in each stratum, the random-review
 * labels among them (neither included: it counts as a shot that is no bird), and how they were drawn.
 */
export function reviewEvidence(db: Db, modelId: string): Map<string | null, ReviewEvidence> {
  const evidence = new Map<string | null, { design: ReviewDesign; strata: { high: Tally; low: Tally } }>();
  const of = (camera: string | null): { design: ReviewDesign; strata: { high: Tally; low: Tally } } => {
    let e = evidence.get(camera);
    if (e === undefined) {
      e = { design: 'uniform', strata: { high: emptyStratum(), low: emptyStratum() } };
      evidence.set(camera, e);
    }
    return e;
  };
  for (const [camera, size] of stratumSizes(db, modelId)) {
    for (const e of [of(camera), of(null)]) {
      e.strata.high.shots += size.high;
      e.strata.low.shots += size.low;
    }
  }
  const labels = db
    .prepare(
      `SELECT d.camera, r.label, d.p_airplane FROM reviews r CROSS JOIN decisions d ON d.id = r.decision_id
      WHERE r.source = 'sample' AND r.id = (SELECT max(id) FROM reviews WHERE decision_id = r.decision_id)
        AND d.p_airplane IS NOT NULL AND d.model_id = ?`,
    )
    .all(modelId) as Array<{ camera: string; label: string; p_airplane: number }>;
  const stratifiedDraws = db
    .prepare(
      `SELECT DISTINCT d.camera FROM review_draws w CROSS JOIN decisions d ON d.id = w.decision_id
      WHERE w.design = 'stratified' AND d.model_id = ?`,
    )
    .pluck()
    .all(modelId) as string[];
  for (const camera of stratifiedDraws) for (const e of [of(camera), of(null)]) e.design = 'stratified';
  for (const l of labels) {
    for (const e of [of(l.camera), of(null)]) {
      const stratum = e.strata[l.p_airplane >= STRATUM_CUT ? 'high' : 'low'];
      stratum.reviewed++;
      if (l.label === 'bird') stratum.birdScores.push(l.p_airplane);
      if (l.label === 'airplane') stratum.airplaneScores.push(l.p_airplane);
    }
  }
  return evidence;
}

/**
 * The strata the bound weighs back, or undefined for the plain bound: a camera whose shots were drawn stratified; or,
 * before any of its shots is labelled, one the config will review stratified (so that "review N more" foresees the
 * review it will get).
 */
export function strataToWeigh(
  evidence: ReadonlyMap<string | null, ReviewEvidence>,
  camera: string | null,
  sampling: ReviewDesign,
): Strata | undefined {
  const review = evidence.get(camera);
  if (review?.design === 'stratified') return review.strata;
  const labelled = review === undefined ? 0 : review.strata.high.reviewed + review.strata.low.reviewed;
  if (labelled > 0 || sampling !== 'stratified') return undefined;
  return review?.strata ?? { high: emptyStratum(), low: emptyStratum() };
}
