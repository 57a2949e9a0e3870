// What members said about one decision: its corrections (restore, mark, with who and when) and its sample labels.
import type { Db } from '../db/index.js';

export interface CorrectionEntry {
  id: number;
  time: string;
  label: string;
  kind: string;
  from_path: string | null;
  to_path: string | null;
  member: string | null;
}
export interface ReviewEntry {
  id: number;
  time: string;
  label: string;
  member: string | null;
  source: string;
}

export function shotHistory(db: Db, decisionId: number): { corrections: CorrectionEntry[]; reviews: ReviewEntry[] } {
  return {
    corrections: db
      .prepare(
        `SELECT id, time, label, kind, from_path, to_path, member FROM corrections
        WHERE decision_id = ? ORDER BY id`,
      )
      .all(decisionId) as CorrectionEntry[],
    reviews: db
      .prepare(`SELECT id, time, label, member, source FROM reviews WHERE decision_id = ? ORDER BY id`)
      .all(decisionId) as ReviewEntry[],
  };
}
