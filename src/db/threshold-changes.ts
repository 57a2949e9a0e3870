// The threshold_changes table (migration 6): the daemon's own calibration writes a row for every threshold it sets,
// `birdwatch thresholds`, `stats` and the web page read them. All its SQL is here.
import type { Db } from './open.js';
import { recordEvent } from './outbox.js';

export interface ThresholdChangeRow {
  id: number;
  time: string;
  time_ms: number;
  camera: string;
  old_threshold: number;
  new_threshold: number;
  model_id: string;
  budget: number;
  confidence: number;
  /** Randomly reviewed birds the choice rests on, and how many of them score at or above the new threshold. */
  n: number;
  k: number;
  /** Upper bound on the share of the camera's birds the new threshold moves, at `confidence`. */
  bound: number;
  certified: number;
  why: string;
}

export type NewThresholdChange = Omit<ThresholdChangeRow, 'id'>;

/** Writes the change and its outbox event in one transaction: the event exists exactly when the change does. */
export function insertThresholdChange(db: Db, row: NewThresholdChange): number {
  return db.transaction(() => {
    const id = Number(
      db
        .prepare(
          `INSERT INTO threshold_changes (time, time_ms, camera, old_threshold, new_threshold,
        model_id, budget, confidence, n, k, bound, certified, why)
        VALUES (@time, @time_ms, @camera, @old_threshold, @new_threshold, @model_id, @budget, @confidence, @n, @k,
          @bound, @certified, @why)`,
        )
        .run(row).lastInsertRowid,
    );
    recordEvent(db, {
      type: 'threshold',
      camera: row.camera,
      time_ms: row.time_ms,
      payload: {
        id,
        threshold: row.new_threshold,
        previous: row.old_threshold,
        model_id: row.model_id,
        budget: row.budget,
        confidence: row.confidence,
        birds: row.n,
        birds_moved: row.k,
        bound: row.bound,
        certified: row.certified === 1,
        why: row.why,
      },
    });
    return id;
  })();
}

/** Whether the log has the table (a log no daemon of this version has opened yet has not). */
function hasTable(db: Db): boolean {
  return (
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'threshold_changes'`).get() !== undefined
  );
}

/** The latest threshold set for each camera for one model (what a restarted daemon resumes from). */
export function latestThresholds(db: Db, modelId: string): Map<string, ThresholdChangeRow> {
  if (!hasTable(db)) return new Map();
  const rows = db
    .prepare(
      `SELECT * FROM threshold_changes t WHERE model_id = ?
      AND id = (SELECT max(id) FROM threshold_changes WHERE camera = t.camera AND model_id = t.model_id)`,
    )
    .all(modelId) as ThresholdChangeRow[];
  return new Map(rows.map((row) => [row.camera, row]));
}

/** Every change, oldest first; one camera's when named. */
export function listThresholdChanges(db: Db, camera?: string): ThresholdChangeRow[] {
  if (!hasTable(db)) return [];
  return (
    camera === undefined
      ? db.prepare('SELECT * FROM threshold_changes ORDER BY id').all()
      : db.prepare('SELECT * FROM threshold_changes WHERE camera = ? ORDER BY id').all(camera)
  ) as ThresholdChangeRow[];
}
