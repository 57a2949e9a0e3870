// How many decided (kept or moved) shots each model has per camera in each stratum of the stratified review, for
// its weighing back (src/calibrate/stratified.ts). Decisions are only ever appended (never updated or deleted), so
// each open database counts them once and afterwards only the rows logged since: the daemon and the web page, which
// ask every few seconds, pay one full pass per process, not one per look.
import type { Db } from '../db/index.js';
import { STRATUM_CUT } from './stratified.js';

export interface StratumSize {
  high: number;
  low: number;
}

class StratumSizes {
  /** The highest decision id counted; rows above it are new. */
  private counted = 0;
  /** model id -> camera -> sizes. */
  private readonly sizes = new Map<string, Map<string, StratumSize>>();

  constructor(private readonly db: Db) {}

  of(modelId: string): ReadonlyMap<string, StratumSize> {
    this.catchUp();
    return this.sizes.get(modelId) ?? new Map();
  }

  private catchUp(): void {
    const newest = Number(this.db.prepare('SELECT coalesce(max(id), 0) FROM decisions').pluck().get());
    if (newest <= this.counted) return;
    // NOT INDEXED: a walk of the rowid range, not of an index with a table lookup per row.
    const rows = this.db
      .prepare(
        `SELECT model_id, camera, p_airplane >= ? AS high, count(*) AS n FROM decisions NOT INDEXED
        WHERE id > ? AND id <= ? AND action IN ('moved', 'kept') AND p_airplane IS NOT NULL
          AND model_id IS NOT NULL
        GROUP BY 1, 2, 3`,
      )
      .all(STRATUM_CUT, this.counted, newest) as Array<{ model_id: string; camera: string; high: 0 | 1; n: number }>;
    for (const row of rows) {
      let cameras = this.sizes.get(row.model_id);
      if (cameras === undefined) this.sizes.set(row.model_id, (cameras = new Map()));
      let size = cameras.get(row.camera);
      if (size === undefined) cameras.set(row.camera, (size = { high: 0, low: 0 }));
      size[row.high ? 'high' : 'low'] += row.n;
    }
    this.counted = newest;
  }
}

const perDatabase = new WeakMap<Db, StratumSizes>();

/** The stratum sizes of `modelId`'s decided shots per camera, as the database holds them now. */
export function stratumSizes(db: Db, modelId: string): ReadonlyMap<string, StratumSize> {
  let sizes = perDatabase.get(db);
  if (sizes === undefined) perDatabase.set(db, (sizes = new StratumSizes(db)));
  return sizes.of(modelId);
}
