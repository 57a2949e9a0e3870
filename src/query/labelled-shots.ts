// The shots members labelled, each with its latest label and where the log says it is now: corrections (restore,
// mark) and random-review labels bird/airplane. One definition for `export-corrections` and `retrain`.
import type { Db } from '../db/index.js';
import { CURRENT_PATH_SQL } from './decided-shot.js';

export interface LabelledShot {
  decision_id: number;
  sha256: string | null;
  /** sha256 of the content, or `decision:ID` when the log has none: one entry per key. */
  key: string;
  camera: string;
  label: 'airplane' | 'bird';
  /** 'correction': a mistake someone noticed; 'sample': a label from the random review (an unbiased sample). */
  source: 'correction' | 'sample';
  /** When the label was given (ms). */
  time_ms: number;
  current_path: string;
}

/** One entry per shot content: when several labels or decisions hold the same shot, the latest label wins. */
export function labelledShots(db: Db): LabelledShot[] {
  const rows = db
    .prepare(
      `SELECT d.id AS decision_id, d.sha256, coalesce(d.sha256, 'decision:' || d.id) AS key,
        d.camera, l.label, l.source, l.time_ms, ${CURRENT_PATH_SQL} AS current_path
      FROM (SELECT id, decision_id, label, time_ms, 'correction' AS source FROM corrections
            UNION ALL
            SELECT id, decision_id, label, time_ms, 'sample' AS source FROM reviews
              WHERE source = 'sample' AND label IN ('airplane', 'bird')) l
      JOIN decisions d ON d.id = l.decision_id
      ORDER BY l.time_ms, l.id`,
    )
    .all() as LabelledShot[];
  const byKey = new Map<string, LabelledShot>();
  for (const row of rows) {
    byKey.delete(row.key); // the latest label wins, and the entry moves to the end (label order)
    byKey.set(row.key, row);
  }
  return [...byKey.values()];
}
