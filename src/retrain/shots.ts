// The club's training material from the decision log: every shot a member labelled (corrections from restore and
// mark, and random-review labels bird/airplane), one entry per content (sha256), the latest label winning; and,
// when asked, the daemon's confident decisions as weak labels.
import type { Db } from '../db/index.js';
import { labelledShots, type LabelledShot } from '../query/labelled-shots.js';

/** A labelled shot, or (source 'confident') one of the daemon's confident decisions used as a weak label. */
export interface ClubShot extends Omit<LabelledShot, 'source'> {
  source: LabelledShot['source'] | 'confident';
}

export { labelledShots };

/** Decided shots no member labelled whose more probable class has at least `minProbability`: weak labels. */
export function confidentShots(db: Db, minProbability: number, limit: number, exclude: Set<string>): ClubShot[] {
  const rows = db
    .prepare(
      `SELECT d.id AS decision_id, d.sha256, coalesce(d.sha256, 'decision:' || d.id) AS key, d.camera,
        d.label, 'confident' AS source, d.time_ms, d.final_path AS current_path
      FROM decisions d
      WHERE d.action IN ('kept', 'moved') AND d.label IS NOT NULL AND max(d.p_airplane, d.p_bird) >= ?
        AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.decision_id = d.id)
        AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.decision_id = d.id)
      ORDER BY d.id DESC LIMIT ?`,
    )
    .all(minProbability, limit * 2) as ClubShot[];
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
