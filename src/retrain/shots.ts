// The club's training material from the decision log: every shot a member labelled (corrections from restore and
// mark, and random-review labels bird/airplane), one entry per content (sha256), the latest label winning; and,
// when asked, the daemon's confident decisions as weak labels.
import type { Db } from '../db/index.js';

export interface ClubShot {
  decision_id: number;
  /** sha256 of the content, or `decision:ID` when the log has none: the key the held-out split hashes. */
  key: string;
  camera: string;
  label: 'airplane' | 'bird';
  /** 'correction' | 'sample' for members' labels, 'confident' for the daemon's own. */
  source: 'correction' | 'sample' | 'confident';
  /** When the label was given (ms): the scheduled retrain counts labels newer than the last candidate. */
  time_ms: number;
  current_path: string;
}

const currentPath = `coalesce((SELECT c.to_path FROM corrections c WHERE c.decision_id = d.id AND c.to_path IS NOT NULL
    ORDER BY c.id DESC LIMIT 1), d.final_path)`;

export function labelledShots(db: Db): ClubShot[] {
  const rows = db.prepare(`SELECT d.id AS decision_id, coalesce(d.sha256, 'decision:' || d.id) AS key, d.camera,
        l.label, l.source, l.time_ms, ${currentPath} AS current_path
      FROM (SELECT id, decision_id, label, time_ms, 'correction' AS source FROM corrections
            UNION ALL
            SELECT id, decision_id, label, time_ms, 'sample' AS source FROM reviews
              WHERE source = 'sample' AND label IN ('airplane', 'bird')) l
      JOIN decisions d ON d.id = l.decision_id
      ORDER BY l.time_ms, l.id`).all() as ClubShot[];
  const byKey = new Map<string, ClubShot>();
  for (const row of rows) {
    byKey.delete(row.key); // the latest label wins, and the entry moves to the end (label order)
    byKey.set(row.key, row);
  }
  return [...byKey.values()];
}

/** Decided shots no member labelled whose more probable class has at least `minProbability`: weak labels. */
export function confidentShots(db: Db, minProbability: number, limit: number, exclude: Set<string>): ClubShot[] {
  const rows = db.prepare(`SELECT d.id AS decision_id, coalesce(d.sha256, 'decision:' || d.id) AS key, d.camera,
        d.label, 'confident' AS source, d.time_ms, d.final_path AS current_path
      FROM decisions d
      WHERE d.action IN ('kept', 'moved') AND d.label IS NOT NULL AND max(d.p_airplane, d.p_bird) >= ?
        AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.decision_id = d.id)
        AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.decision_id = d.id)
      ORDER BY d.id DESC LIMIT ?`).all(minProbability, limit * 2) as ClubShot[];
  const seen = new Set(exclude);
  const out: ClubShot[] = [];
  for (const row of rows) {
    if (seen.has(row.key)) continue;
    seen.add(row.key);
    out.push(row);
    if (out.length >= limit) break;
  }
  return out;
}
