// Reads the daemon's decision log directly, read-only (a WAL reader never blocks the daemon), for assertions.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { DecisionRow } from '../../src/db/rows.js';
import { waitFor } from './wait.js';

/** A decision row as stored (the daemon's own row type, src/db/rows.ts) with its id. */
export type Decision = DecisionRow & { id: number };

/** Runs a read-only query; [] while the database or its schema does not exist yet. */
export function query<T = Record<string, unknown>>(dbPath: string, sql: string, ...params: unknown[]): T[] {
  if (!existsSync(dbPath)) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return db.prepare(sql).all(...params) as T[];
  } catch (err) {
    if (/no such table/.test(String(err))) return [];
    throw err;
  } finally {
    db?.close();
  }
}

/** Decision rows (optionally filtered by an SQL condition), oldest first. */
export function decisions(dbPath: string, where = '1=1', ...params: unknown[]): Decision[] {
  return query<Decision>(dbPath, `SELECT * FROM decisions WHERE ${where} ORDER BY id`, ...params);
}

export function pendingMoves(dbPath: string): Array<Record<string, unknown>> {
  return query(dbPath, 'SELECT * FROM pending_moves ORDER BY id');
}

/** Waits until at least `count` rows match `where`, and returns them. */
export async function waitForDecisions(
  dbPath: string,
  where: string,
  params: unknown[],
  count = 1,
  timeoutMs = 30_000,
  context: () => string = () => '',
): Promise<Decision[]> {
  return waitFor(
    () => {
      const rows = decisions(dbPath, where, ...params);
      return rows.length >= count ? rows : undefined;
    },
    timeoutMs,
    () =>
      `${count} decision(s) where ${where} ${JSON.stringify(params)}; have ` +
      `${JSON.stringify(decisions(dbPath).map((r) => [r.path, r.action, r.error_kind]))}\n${context()}`,
  );
}
