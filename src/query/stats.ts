// `birdwatch stats`: what the filter did over a time range, computed with index-only range counts so that a
// million decisions answer in well under a second. Every count comes from small seeks on the
// (camera, action, label, time_ms, latency_ms) index, one per local day, camera, action and label; nothing is
// sorted and no row is read.
import type Database from 'better-sqlite3';
import { formatLocalDay, nextLocalDay, startOfLocalDay } from './local-time.js';
import type { TimeRange } from './time-range.js';

export interface StatsFilter extends TimeRange {
  camera?: string;
}

export interface ActionCounts {
  decisions: number;
  moved: number;
  kept: number;
  failed: number;
}

export interface Stats {
  /** The range actually covered (ISO 8601 UTC), [since, until). Null when the log has no decision in scope. */
  since: string | null;
  until: string | null;
  camera: string | null;
  decisions: number;
  per_action: { moved: number; kept: number; failed: number };
  /** The model's most probable class; `none` for failed decisions. */
  per_label: { airplane: number; bird: number; none: number };
  airplanes_moved: number;
  per_camera: Array<{ camera: string } & ActionCounts>;
  /** Local calendar days with at least one decision, oldest first. */
  per_day: Array<{ day: string } & ActionCounts>;
  failures_by_kind: Array<{ error_kind: string; count: number }>;
  latency_ms: { count: number; p50: number | null; p99: number | null };
  corrections: CorrectionStats;
  /** Decisions per model id (null: rows without one), most decisions first. */
  per_model: Array<{ model_id: string | null } & ActionCounts>;
}

export interface CorrectionStats {
  /** Decisions in range that a member labelled (latest label counts). */
  corrected_decisions: number;
  /** The model was wrong, by direction. */
  bird_moved_as_airplane: number;
  airplane_kept_as_bird: number;
  /** The member agreed with what the filter did. */
  confirmed_moved: number;
  confirmed_kept: number;
  /** Labels given to shots the filter could not decide. */
  labelled_failures: number;
  model_wrong: number;
  /** model_wrong / (corrected decisions that were moved or kept); null when there are none. */
  wrong_share_of_reviewed: number | null;
}

const actionNames = ['moved', 'kept', 'failed'] as const;
const labelValues = ['airplane', 'bird', null] as const;
const defaultInMemoryPercentileLimit = 200_000;

/**
 * Decisions of one camera, action and label (NULL for failures) in [from, to): a seek on
 * decisions_camera_action_label_time and a count of index entries, nothing decoded per row.
 */
export const countRangeSql = `SELECT count(*) FROM decisions
  WHERE camera = ? AND action = ? AND label IS ? AND time_ms >= ? AND time_ms < ?`;

/** Failures of one camera in [from, to) by error kind, read from the same index. */
export const failuresSql = `SELECT coalesce(error_kind, 'unknown') AS error_kind, count(*) AS count FROM decisions
  WHERE camera = ? AND action = 'failed' AND label IS NULL AND time_ms >= ? AND time_ms < ?
  GROUP BY 1`;

/** Does the group have any decision in [from, to)? One seek, no counting. */
export const occursSql = `SELECT 1 FROM decisions
  WHERE camera = ? AND action = ? AND label IS ? AND time_ms >= ? AND time_ms < ? LIMIT 1`;

/** The latencies of one camera, action and label in [from, to), index-only like countRangeSql. */
export const latencyRangeSql = `SELECT latency_ms FROM decisions
  WHERE camera = ? AND action = ? AND label IS ? AND time_ms >= ? AND time_ms < ? AND latency_ms IS NOT NULL`;

/** Decisions without a latency (failures) in [from, to): a seek on the NULLs at the start of decisions_latency. */
export function untimedSql(withCamera: boolean): string {
  return `SELECT count(*) FROM decisions
    WHERE latency_ms IS NULL AND +time_ms >= ? AND +time_ms < ? ${withCamera ? 'AND +camera = ?' : ''}`;
}

/**
 * The latency at a rank (OFFSET) in [from, to), optionally of one camera. The unary + keeps SQLite off the time
 * index, so it walks decisions_latency in order and stops at the rank: from the bottom for p50, from the top for p99.
 */
export function percentileSql(order: 'ASC' | 'DESC', withCamera: boolean): string {
  return `SELECT latency_ms FROM decisions
    WHERE latency_ms IS NOT NULL AND +time_ms >= ? AND +time_ms < ? ${withCamera ? 'AND +camera = ?' : ''}
    ORDER BY latency_ms ${order} LIMIT 1 OFFSET ?`;
}

export interface StatsOptions {
  /** Up to this many timed decisions, percentiles are computed in memory; above, by walking the latency index. */
  inMemoryPercentileLimit?: number;
}

export function computeStats(db: Database.Database, filter: StatsFilter, options: StatsOptions = {}): Stats {
  // One read transaction: every query sees the same snapshot while the daemon keeps writing.
  return db.transaction(() => computeStatsInSnapshot(db, filter, options))();
}

function computeStatsInSnapshot(db: Database.Database, filter: StatsFilter, options: StatsOptions): Stats {
  const camera = filter.camera ?? null;
  const cameras = camera === null ? listCameras(db) : [camera];
  const [lo, hi] = coveredRange(db, filter);
  const stats = emptyStats(camera);
  if (lo === null || hi === null || lo >= hi) return stats;
  stats.since = new Date(lo).toISOString();
  stats.until = new Date(hi).toISOString();

  const countRange = db.prepare(countRangeSql).pluck();
  const occurs = db.prepare(occursSql).pluck();
  // Which (camera, action, label) groups occur at all (one seek each), so that the per-day counts, which also
  // make up every total, touch each index entry once and skip the usual 5 of 9 empty groups per camera.
  const perCamera = new Map(cameras.map((name) => [name, zeroCounts()]));
  const groups: Array<{ camera: string; action: (typeof actionNames)[number]; label: (typeof labelValues)[number] }> =
    [];
  for (const name of cameras) {
    for (const action of actionNames) {
      for (const label of labelValues) {
        if (occurs.get(name, action, label, lo, hi) !== undefined) groups.push({ camera: name, action, label });
      }
    }
  }
  for (let dayStart = startOfLocalDay(lo); dayStart < hi; dayStart = nextLocalDay(dayStart)) {
    const from = Math.max(lo, dayStart);
    const to = Math.min(hi, nextLocalDay(dayStart));
    const day = zeroCounts();
    for (const group of groups) {
      const n = countRange.get(group.camera, group.action, group.label, from, to) as number;
      if (n === 0) continue;
      day[group.action] += n;
      day.decisions += n;
      const cameraCounts = perCamera.get(group.camera)!;
      cameraCounts[group.action] += n;
      cameraCounts.decisions += n;
      stats.per_label[group.label ?? 'none'] += n;
    }
    if (day.decisions > 0) stats.per_day.push({ day: formatLocalDay(dayStart), ...day });
  }
  for (const [name, counts] of perCamera) {
    if (counts.decisions > 0) stats.per_camera.push({ camera: name, ...counts });
    stats.per_action.moved += counts.moved;
    stats.per_action.kept += counts.kept;
    stats.per_action.failed += counts.failed;
    stats.decisions += counts.decisions;
  }
  const untimed = db
    .prepare(untimedSql(camera !== null))
    .pluck()
    .get(...(camera === null ? [lo, hi] : [lo, hi, camera])) as number;
  const timed = stats.decisions - untimed;
  stats.airplanes_moved = stats.per_action.moved;
  stats.failures_by_kind = failuresByKind(db, lo, hi, cameras);
  stats.latency_ms = latencyPercentiles(
    db,
    lo,
    hi,
    cameras,
    camera,
    timed,
    options.inMemoryPercentileLimit ?? defaultInMemoryPercentileLimit,
  );
  stats.corrections = correctionStats(db, lo, hi, camera);
  stats.per_model = perModel(db, lo, hi, cameras);
  return stats;
}

function emptyStats(camera: string | null): Stats {
  return {
    since: null,
    until: null,
    camera,
    decisions: 0,
    per_action: { moved: 0, kept: 0, failed: 0 },
    per_label: { airplane: 0, bird: 0, none: 0 },
    airplanes_moved: 0,
    per_camera: [],
    per_day: [],
    failures_by_kind: [],
    latency_ms: { count: 0, p50: null, p99: null },
    corrections: {
      corrected_decisions: 0,
      bird_moved_as_airplane: 0,
      airplane_kept_as_bird: 0,
      confirmed_moved: 0,
      confirmed_kept: 0,
      labelled_failures: 0,
      model_wrong: 0,
      wrong_share_of_reviewed: null,
    },
    per_model: [],
  };
}

function zeroCounts(): ActionCounts {
  return { decisions: 0, moved: 0, kept: 0, failed: 0 };
}

/** Distinct cameras by hopping through the (camera, time_ms) index: a few seeks, not a scan of every row. */
function listCameras(db: Database.Database): string[] {
  return db
    .prepare(
      `WITH RECURSIVE cams(name) AS (
      SELECT min(camera) FROM decisions
      UNION ALL
      SELECT (SELECT min(camera) FROM decisions WHERE camera > cams.name) FROM cams WHERE cams.name IS NOT NULL)
    SELECT name FROM cams WHERE name IS NOT NULL`,
    )
    .pluck()
    .all() as string[];
}

/** [since, until) clipped to the decisions that exist, so an open range does not walk empty days. */
function coveredRange(db: Database.Database, filter: StatsFilter): [number | null, number | null] {
  // Two queries: SQLite answers a lone min() or max() with one index seek, but both together with a full scan.
  const cameraTerm = filter.camera === undefined ? '' : 'WHERE camera = ?';
  const params = filter.camera === undefined ? [] : [filter.camera];
  const bounds: Bounds = {
    first: db
      .prepare(`SELECT min(time_ms) FROM decisions ${cameraTerm}`)
      .pluck()
      .get(...params) as number | null,
    last: db
      .prepare(`SELECT max(time_ms) FROM decisions ${cameraTerm}`)
      .pluck()
      .get(...params) as number | null,
  };
  if (bounds.first === null || bounds.last === null) return [null, null];
  const lo = Math.max(filter.sinceMs ?? bounds.first, bounds.first);
  const hi = Math.min(filter.untilMs ?? bounds.last + 1, bounds.last + 1);
  return [lo, hi];
}

interface Bounds {
  first: number | null;
  last: number | null;
}

function failuresByKind(db: Database.Database, lo: number, hi: number, cameras: string[]): Stats['failures_by_kind'] {
  // Per camera, index-only: failures carry their error_kind in decisions_camera_action_label_time.
  const byKind = new Map<string, number>();
  const statement = db.prepare(failuresSql);
  for (const name of cameras) {
    for (const row of statement.all(name, lo, hi) as Array<{ error_kind: string; count: number }>) {
      byKind.set(row.error_kind, (byKind.get(row.error_kind) ?? 0) + row.count);
    }
  }
  return [...byKind]
    .map(([error_kind, count]) => ({ error_kind, count }))
    .sort((a, b) => b.count - a.count || a.error_kind.localeCompare(b.error_kind));
}

/**
 * The nearest-rank percentile of ascending `sorted` values: the value at rank ceil(p * n), at least rank 1. Of no
 * values, null: the one definition of a percentile of nothing, for the stats and their tests alike.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}

/** Nearest-rank percentiles (see nearestRank), exact. */
function latencyPercentiles(
  db: Database.Database,
  lo: number,
  hi: number,
  cameras: string[],
  camera: string | null,
  count: number,
  inMemoryPercentileLimit: number,
): Stats['latency_ms'] {
  if (count === 0) return { count, p50: null, p99: null };
  const rank = (p: number): number => Math.max(1, Math.ceil(p * count));
  if (count <= inMemoryPercentileLimit) {
    // Index-only reads of the same (camera, action, time) ranges the counts used, then an in-memory sort.
    const values = new Float64Array(count);
    let filled = 0;
    const latencies = db.prepare(latencyRangeSql).pluck();
    for (const name of cameras) {
      for (const action of actionNames) {
        for (const label of labelValues) {
          for (const value of latencies.iterate(name, action, label, lo, hi) as Iterable<number>)
            values[filled++] = value;
        }
      }
    }
    const sorted = values.subarray(0, filled).sort();
    return { count, p50: nearestRank(sorted, 0.5), p99: nearestRank(sorted, 0.99) };
  }
  const params = camera === null ? [lo, hi] : [lo, hi, camera];
  const nth = (order: 'ASC' | 'DESC', offset: number): number | null =>
    (db
      .prepare(percentileSql(order, camera !== null))
      .pluck()
      .get(...params, offset) as number | undefined) ?? null;
  return { count, p50: nth('ASC', rank(0.5) - 1), p99: nth('DESC', count - rank(0.99)) };
}

function correctionStats(db: Database.Database, lo: number, hi: number, camera: string | null): CorrectionStats {
  const cameraTerm = camera === null ? '' : 'AND d.camera = ?';
  const params = camera === null ? [lo, hi] : [lo, hi, camera];
  // The latest correction of each decision is the member's final word on it.
  const rows = db
    .prepare(
      `SELECT d.action AS action, c.label AS human, count(*) AS n
      FROM corrections c JOIN decisions d ON d.id = c.decision_id
      WHERE c.id = (SELECT max(id) FROM corrections WHERE decision_id = c.decision_id)
        AND d.time_ms >= ? AND d.time_ms < ? ${cameraTerm}
      GROUP BY 1, 2`,
    )
    .all(...params) as Array<{ action: string; human: string; n: number }>;
  const count = (action: string, human: string): number =>
    rows.find((row) => row.action === action && row.human === human)?.n ?? 0;
  const result: CorrectionStats = {
    corrected_decisions: rows.reduce((sum, row) => sum + row.n, 0),
    bird_moved_as_airplane: count('moved', 'bird'),
    airplane_kept_as_bird: count('kept', 'airplane'),
    confirmed_moved: count('moved', 'airplane'),
    confirmed_kept: count('kept', 'bird'),
    labelled_failures: count('failed', 'bird') + count('failed', 'airplane'),
    model_wrong: 0,
    wrong_share_of_reviewed: null,
  };
  result.model_wrong = result.bird_moved_as_airplane + result.airplane_kept_as_bird;
  const reviewed = result.model_wrong + result.confirmed_moved + result.confirmed_kept;
  result.wrong_share_of_reviewed = reviewed === 0 ? null : result.model_wrong / reviewed;
  return result;
}

/**
 * Decisions per model and action in [lo, hi): the models by hopping through decisions_model_camera_action_time (a
 * few seeks), then index-only range counts on it, one per model, camera and action, as for the other counts.
 */
function perModel(db: Database.Database, lo: number, hi: number, cameras: string[]): Stats['per_model'] {
  const models = db
    .prepare(
      `WITH RECURSIVE models(id) AS (
      SELECT min(model_id) FROM decisions
      UNION ALL
      SELECT (SELECT min(model_id) FROM decisions WHERE model_id > models.id) FROM models WHERE models.id IS NOT NULL)
    SELECT id FROM models WHERE id IS NOT NULL`,
    )
    .pluck()
    .all() as Array<string | null>;
  if (db.prepare('SELECT 1 FROM decisions WHERE model_id IS NULL LIMIT 1').get() !== undefined) models.push(null);
  const count = db
    .prepare(
      `SELECT count(*) FROM decisions INDEXED BY decisions_model_camera_action_time
    WHERE model_id IS ? AND camera = ? AND action = ? AND time_ms >= ? AND time_ms < ?`,
    )
    .pluck();
  const result: Stats['per_model'] = [];
  for (const model_id of models) {
    const row = { model_id, ...zeroCounts() };
    for (const camera of cameras) {
      for (const action of actionNames) {
        const n = count.get(model_id, camera, action, lo, hi) as number;
        row[action] += n;
        row.decisions += n;
      }
    }
    if (row.decisions > 0) result.push(row);
  }
  return result.sort((a, b) => b.decisions - a.decisions);
}
