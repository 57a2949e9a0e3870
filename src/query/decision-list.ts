// The `log` query: decisions newest first, each with its latest human correction, as plain records.
import type Database from 'better-sqlite3';
import { buildDecisionWhere, type DecisionFilter, type WhereOptions } from './decision-filter.js';
import { CURRENT_PATH_SQL } from './decided-shot.js';

/** The columns a decision record is read from, in order; `log --csv` writes the same columns. */
export const RECORD_COLUMNS = [
  'id',
  'time',
  'camera',
  'path',
  'final_path',
  'current_path',
  'label',
  'action',
  'error',
  'error_kind',
  'p_airplane',
  'p_bird',
  'threshold',
  'model_id',
  'provider',
  'latency_ms',
  'size',
  'sha256',
  'width',
  'height',
  'format',
  'corrected_label',
  'corrected_at',
  'corrected_kind',
  'removed_at',
] as const;

/** One decision as `log --json` prints it (and `--csv` flattens it). */
export interface DecisionRecord {
  id: number;
  time: string;
  camera: string;
  path: string;
  final_path: string;
  /** Where the log says the file is now: the latest correction's destination, else final_path. */
  current_path: string;
  label: string | null;
  action: 'moved' | 'kept' | 'failed';
  error: string | null;
  error_kind: string | null;
  probabilities: { airplane: number; bird: number } | null;
  threshold: number | null;
  model_id: string | null;
  provider: string | null;
  latency_ms: number | null;
  size: number | null;
  sha256: string | null;
  width: number | null;
  height: number | null;
  format: string | null;
  corrected_label: string | null;
  corrected_at: string | null;
  corrected_kind: string | null;
  /** When quarantine retention deleted the shot (from final_path / current_path), else null. */
  removed_at: string | null;
}

// The correlated subqueries run only for the rows returned (after LIMIT), through the corrections(decision_id)
// index; ordering by (time_ms, id) walks an index on time_ms (which carries the rowid) without sorting.
const selectDecisions = `
SELECT d.id, d.time, d.camera, d.path, d.final_path,
       ${CURRENT_PATH_SQL} AS current_path,
       d.label, d.action, d.error, d.error_kind, d.p_airplane, d.p_bird, d.threshold, d.model_id, d.provider,
       d.latency_ms, d.size, d.sha256, d.width, d.height, d.format,
       lc.label AS corrected_label, lc.time AS corrected_at, lc.kind AS corrected_kind, REMOVED_AT
FROM decisions d
LEFT JOIN corrections lc ON lc.id = (SELECT max(c.id) FROM corrections c WHERE c.decision_id = d.id)`;

/** The removal time column: from the removals table, or NULL in a log not yet migrated to have one (read-only). */
const removedAtColumn = (hasRemovals: boolean): string =>
  hasRemovals
    ? `(SELECT r.time FROM removals r WHERE r.decision_id = d.id AND r.state = 'done') AS removed_at`
    : 'NULL AS removed_at';

export function decisionQuery(
  filter: DecisionFilter,
  limit?: number,
  options: WhereOptions = {},
  hasRemovals = true,
): { sql: string; params: unknown[] } {
  const where = buildDecisionWhere(filter, options);
  const params = [...where.params];
  let sql =
    `${selectDecisions.replace('REMOVED_AT', removedAtColumn(hasRemovals))}\n${where.sql}\n` +
    'ORDER BY d.time_ms DESC, d.id DESC';
  if (limit !== undefined) {
    sql += '\nLIMIT ?';
    params.push(limit);
  }
  return { sql, params };
}

/** How many of the newest otherwise-matching rows are sampled to judge how common a --path substring is. */
const pathSampleSize = 5000;
/** Up to this many matches, a --path substring is resolved to an id list from the path indexes. */
const pathIdListLimit = 2000;

/**
 * Walking the rows newest first and testing each path stops early when matches are common, but reads every row
 * (seconds on a million) when the substring names one file. So: if the newest rows already hold enough matches,
 * walk; otherwise scan the two narrow path indexes for matching ids (stopping once they prove common) and, when
 * they are few, fetch just those rows.
 */
export function choosePathStrategy(db: Database.Database, filter: DecisionFilter, limit?: number): WhereOptions {
  if (filter.pathContains === undefined) return {};
  const rest = buildDecisionWhere(filter, { withoutPath: true });
  const sample = db
    .prepare(
      `SELECT count(*) AS seen,
      coalesce(sum(instr(path, ?) > 0 OR instr(final_path, ?) > 0), 0) AS hits
    FROM (SELECT d.path, d.final_path FROM decisions d ${rest.sql} ORDER BY d.time_ms DESC, d.id DESC LIMIT ?)`,
    )
    .get(filter.pathContains, filter.pathContains, ...rest.params, pathSampleSize) as { seen: number; hits: number };
  if (sample.seen < pathSampleSize) return {}; // everything is in the sample: walking is quick
  if (limit !== undefined && sample.hits >= limit) return {}; // the walk stops within the sample
  // INDEXED BY: in a compound query SQLite otherwise reads the whole table, not the narrow path indexes
  // (decisions_path and decisions_final_path, both from migration 1).
  const ids = db
    .prepare(
      `SELECT id FROM decisions INDEXED BY decisions_path WHERE instr(path, ?) > 0
      UNION ALL SELECT id FROM decisions INDEXED BY decisions_final_path WHERE instr(final_path, ?) > 0
      LIMIT ?`,
    )
    .pluck()
    .all(filter.pathContains, filter.pathContains, pathIdListLimit + 1) as number[];
  // UNION ALL streams (and stops at the LIMIT); a shot matching both ways is listed twice, which IN ignores.
  return ids.length > pathIdListLimit ? {} : { pathMatchIds: [...new Set(ids)] };
}

/** Streams the matching decisions, newest first; nothing is held in memory beyond one row. */
export function* listDecisions(
  db: Database.Database,
  filter: DecisionFilter,
  limit?: number,
): Generator<DecisionRecord> {
  const hasRemovals =
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'removals'`).get() !== undefined;
  const { sql, params } = decisionQuery(filter, limit, choosePathStrategy(db, filter, limit), hasRemovals);
  const statement = db.prepare(sql).raw(true);
  const index = new Map(statement.columns().map((column, i) => [column.name, i]));
  const at = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new Error(`decision query lacks column ${name}`);
    return i;
  };
  // Raw arrays, not row objects: about twice as fast when a million rows are exported.
  const [
    id,
    time,
    camera,
    path,
    finalPath,
    currentPath,
    label,
    action,
    error,
    errorKind,
    pAirplane,
    pBird,
    threshold,
    modelId,
    provider,
    latency,
    size,
    sha256,
    width,
    height,
    format,
    correctedLabel,
    correctedAt,
    correctedKind,
    removedAt,
  ] = RECORD_COLUMNS.map(at);
  for (const row of statement.iterate(...params) as Iterable<unknown[]>) {
    const pa = row[pAirplane] as number | null;
    const pb = row[pBird] as number | null;
    yield {
      id: row[id] as number,
      time: row[time] as string,
      camera: row[camera] as string,
      path: row[path] as string,
      final_path: row[finalPath] as string,
      current_path: row[currentPath] as string,
      label: row[label] as string | null,
      action: row[action] as DecisionRecord['action'],
      error: row[error] as string | null,
      error_kind: row[errorKind] as string | null,
      probabilities: pa === null || pb === null ? null : { airplane: pa, bird: pb },
      threshold: row[threshold] as number | null,
      model_id: row[modelId] as string | null,
      provider: row[provider] as string | null,
      latency_ms: row[latency] as number | null,
      size: row[size] as number | null,
      sha256: row[sha256] as string | null,
      width: row[width] as number | null,
      height: row[height] as number | null,
      format: row[format] as string | null,
      corrected_label: row[correctedLabel] as string | null,
      corrected_at: row[correctedAt] as string | null,
      corrected_kind: row[correctedKind] as string | null,
      removed_at: row[removedAt] as string | null,
    };
  }
}
