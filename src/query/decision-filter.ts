// Turns the `log` filters into one parameterized WHERE clause over `decisions d`. Values never enter the SQL text.
import type { TimeRange } from './time-range.js';

export const labels = ['airplane', 'bird'] as const;
export const actions = ['moved', 'kept', 'failed'] as const;
export type Label = (typeof labels)[number];
export type Action = (typeof actions)[number];

export interface DecisionFilter extends TimeRange {
  camera?: string;
  label?: Label;
  action?: Action;
  /** P(airplane) range, inclusive at both ends. */
  minPAirplane?: number;
  maxPAirplane?: number;
  /** Matches `path` (where found) or `final_path` (where it went), case-sensitive, no wildcards. */
  pathContains?: string;
  /** Only decisions a human corrected (restore, mark). */
  corrected?: boolean;
  /** One decision by id (the web API's GET /api/decisions/ID). */
  id?: number;
  /** Paging (the web API's cursor): only decisions older than this one in the newest-first order. */
  before?: { timeMs: number; id: number };
  /** Only decisions of this model (its id, as in model_id). */
  modelId?: string;
}

export interface SqlWhere {
  sql: string; // '' or 'WHERE ...'
  params: unknown[];
}

export interface WhereOptions {
  /**
   * Every decision id whose path or final_path contains the --path substring, when already known (a rare substring,
   * looked up in the path indexes): the path test becomes an id list, so no row is read to test its path.
   */
  pathMatchIds?: number[];
  /** Leave the path filter out (to sample the rest of the filter). */
  withoutPath?: boolean;
}

export function buildDecisionWhere(filter: DecisionFilter, options: WhereOptions = {}): SqlWhere {
  const terms: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]): void => {
    terms.push(sql);
    params.push(...values);
  };
  if (filter.sinceMs !== undefined) add('d.time_ms >= ?', filter.sinceMs);
  if (filter.untilMs !== undefined) add('d.time_ms < ?', filter.untilMs);
  if (filter.id !== undefined) add('d.id = ?', filter.id);
  if (filter.camera !== undefined) add('d.camera = ?', filter.camera);
  if (filter.label !== undefined) add('d.label = ?', filter.label);
  if (filter.action !== undefined) add('d.action = ?', filter.action);
  if (filter.minPAirplane !== undefined) add('d.p_airplane >= ?', filter.minPAirplane);
  if (filter.maxPAirplane !== undefined) add('d.p_airplane <= ?', filter.maxPAirplane);
  // instr() rather than LIKE: '%' and '_' in a file name are literal characters, not wildcards.
  if (filter.pathContains !== undefined && !options.withoutPath) {
    if (options.pathMatchIds !== undefined) {
      // A literal list (not json_each): SQLite then knows it is short and looks the ids up by rowid.
      add(`d.id IN (${options.pathMatchIds.map(() => '?').join(', ')})`, ...options.pathMatchIds);
    } else {
      add('(instr(d.path, ?) > 0 OR instr(d.final_path, ?) > 0)', filter.pathContains, filter.pathContains);
    }
  }
  if (filter.corrected) add('d.id IN (SELECT decision_id FROM corrections)');
  // The first term bounds the walk on the time index; the second skips the same-millisecond rows already shown.
  if (filter.before !== undefined) {
    add('d.time_ms <= ? AND (d.time_ms < ? OR d.id < ?)', filter.before.timeMs, filter.before.timeMs, filter.before.id);
  }
  if (filter.modelId !== undefined) add('d.model_id = ?', filter.modelId);
  return { sql: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}
