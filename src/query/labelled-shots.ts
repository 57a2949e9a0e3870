// The shots members labelled, each with its final label and where the log says it is now: the training data
// that `export-corrections` writes out.
import type { Db } from '../db/index.js';

export interface LabelledShot {
  decision_id: number;
  sha256: string | null;
  label: 'airplane' | 'bird';
  current_path: string;
}

/** One entry per shot content (sha256): when several decisions hold the same shot, the latest label wins. */
export function listLabelledShots(db: Db): LabelledShot[] {
  const rows = db.prepare(`SELECT d.id AS decision_id, d.sha256, lc.label,
      coalesce((SELECT c.to_path FROM corrections c WHERE c.decision_id = d.id AND c.to_path IS NOT NULL
                ORDER BY c.id DESC LIMIT 1), d.final_path) AS current_path
    FROM decisions d
    JOIN corrections lc ON lc.id = (SELECT max(c.id) FROM corrections c WHERE c.decision_id = d.id)
    WHERE d.id IN (SELECT decision_id FROM corrections)
    ORDER BY lc.id`).all() as LabelledShot[];
  const bySha = new Map<string, LabelledShot>();
  for (const row of rows) bySha.set(row.sha256 ?? `decision:${row.decision_id}`, row);
  return [...bySha.values()];
}
