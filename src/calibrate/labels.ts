// The labelled shots calibrate rests on, with the model's score for each: review-sample labels (a random draw,
// unbiased) and corrections (mistakes someone noticed, biased), kept apart. Only decisions made by the model being
// calibrated carry its scores; labels on shots another model decided are counted, not used.
import type { Db } from '../db/index.js';

export type LabelSource = 'sample' | 'correction';

export interface ScoredLabel {
  decision_id: number;
  camera: string;
  label: 'airplane' | 'bird';
  source: LabelSource;
  p_airplane: number;
  model_id: string | null;
}

const SAMPLES = `SELECT d.id AS decision_id, d.camera, r.label, 'sample' AS source, d.p_airplane, d.model_id
    FROM reviews r JOIN decisions d ON d.id = r.decision_id
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
      FROM corrections c JOIN decisions d ON d.id = c.decision_id
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
