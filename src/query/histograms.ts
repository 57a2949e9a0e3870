// The /stats page's distributions over a time range (optionally one camera): P(airplane) in 20 bins of 0.05, and
// decision latency in a few ranges. One pass over the range's rows (the page defaults to 30 days).
import type { Db } from '../db/index.js';
import type { StatsFilter } from './stats.js';

export const latencyBuckets = [50, 100, 200, 500, 1000, 5000] as const;

export interface Histograms {
  /** p_airplane: counts of [i/20, (i+1)/20), the last bin including 1. */
  p_airplane: number[];
  /** Counts below each of latencyBuckets' bounds (ms, and not in an earlier bucket), then the rest. */
  latency: number[];
}

export function computeHistograms(db: Db, filter: StatsFilter): Histograms {
  const terms: string[] = [];
  const params: unknown[] = [];
  if (filter.sinceMs !== undefined) {
    terms.push('time_ms >= ?');
    params.push(filter.sinceMs);
  }
  if (filter.untilMs !== undefined) {
    terms.push('time_ms < ?');
    params.push(filter.untilMs);
  }
  if (filter.camera !== undefined) {
    terms.push('camera = ?');
    params.push(filter.camera);
  }
  const where = terms.length ? `AND ${terms.join(' AND ')}` : '';
  const p = new Array<number>(20).fill(0);
  const latency = new Array<number>(latencyBuckets.length + 1).fill(0);
  const cases = latencyBuckets.map((bound, i) => `WHEN latency_ms < ${bound} THEN ${i}`).join(' ');
  // One pass for both: each row of the range is read once.
  for (const row of db
    .prepare(
      `SELECT min(CAST(p_airplane * 20 AS INTEGER), 19) AS p_bin,
      CASE WHEN latency_ms IS NULL THEN NULL ${cases} ELSE ${latencyBuckets.length} END AS l_bin, count(*) AS n
      FROM decisions WHERE (p_airplane IS NOT NULL OR latency_ms IS NOT NULL) ${where} GROUP BY 1, 2`,
    )
    .all(...params) as Array<{ p_bin: number | null; l_bin: number | null; n: number }>) {
    if (row.p_bin !== null) p[Math.max(0, row.p_bin)]! += row.n;
    if (row.l_bin !== null) latency[row.l_bin]! += row.n;
  }
  return { p_airplane: p, latency };
}
