// One page of `log`'s decisions for the web API: newest first, at most `limit`, and a cursor to the next page. The
// cursor (time_ms.id of the last row shown) continues the walk on the time index where it stopped, so page 1000
// costs what page 1 costs (no OFFSET).
import type { Db } from '../db/index.js';
import type { DecisionFilter } from './decision-filter.js';
import { listDecisions, type DecisionRecord } from './decision-list.js';

export interface DecisionPage {
  decisions: DecisionRecord[];
  next: string | null;
}

export function decisionPage(db: Db, filter: DecisionFilter, limit: number): DecisionPage {
  const rows = [...listDecisions(db, filter, limit + 1)];
  if (rows.length <= limit) return { decisions: rows, next: null };
  const last = rows[limit - 1]!;
  return { decisions: rows.slice(0, limit), next: `${Date.parse(last.time)}.${last.id}` };
}
