// Finds the decision a member means (by id, or by a path the shot had), and where the log says the shot is now.
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { CommandFailure } from '../cli-kit/command-kit.js';

/** The member named a decision the log does not have (by id or path). */
export class UnknownDecision extends CommandFailure {}

export interface DecidedShot {
  id: number;
  camera: string;
  /** Where the daemon found it (in the blog). */
  path: string;
  final_path: string;
  sha256: string | null;
  size: number | null;
  action: 'moved' | 'kept' | 'failed';
  label: 'airplane' | 'bird' | null;
  /** The latest correction's destination if a restore or mark --move put it somewhere, else final_path. */
  current_path: string;
  /** The member's latest word on it, if any. */
  latest: { label: 'airplane' | 'bird'; kind: 'restore' | 'mark' | 'mark-move'; time: string } | null;
}

/** SQL for where decision `d`'s shot is now: the latest correction that moved it, else where the daemon put it. */
export const CURRENT_PATH_SQL = `coalesce((SELECT c.to_path FROM corrections c WHERE c.decision_id = d.id
    AND c.to_path IS NOT NULL ORDER BY c.id DESC LIMIT 1), d.final_path)`;

const selectShot = `SELECT d.id, d.camera, d.path, d.final_path, d.sha256, d.size, d.action, d.label,
    ${CURRENT_PATH_SQL} AS current_path,
    lc.label AS latest_label, lc.kind AS latest_kind, lc.time AS latest_time
  FROM decisions d
  LEFT JOIN corrections lc ON lc.id = (SELECT max(c.id) FROM corrections c WHERE c.decision_id = d.id)
  WHERE d.id = ?`;

/** `42` is a decision id; anything else is a path the shot has or had (newest decision wins). */
export function findDecidedShot(db: Db, idOrPath: string): DecidedShot {
  const id = /^\d+$/.test(idOrPath)
    ? Number(idOrPath)
    : (findIdByPath(db, path.resolve(idOrPath)) ?? findIdByPath(db, realPathOrSelf(idOrPath)));
  if (id === undefined) {
    throw new UnknownDecision(
      `no decision in the log for ${path.resolve(idOrPath)} ` + `(see 'birdwatch log --path NAME' for its id)`,
    );
  }
  const row = db.prepare(selectShot).get(id) as
    | (Omit<DecidedShot, 'latest'> & {
        latest_label: 'airplane' | 'bird' | null;
        latest_kind: 'restore' | 'mark' | 'mark-move' | null;
        latest_time: string | null;
      })
    | undefined;
  if (row === undefined) throw new UnknownDecision(`no decision with id ${idOrPath} in the log`);
  const { latest_label, latest_kind, latest_time, ...shot } = row;
  return {
    ...shot,
    latest:
      latest_label === null || latest_kind === null
        ? null
        : { label: latest_label, kind: latest_kind, time: latest_time ?? '' },
  };
}

/** Where it is now first (final_path or a correction's to_path), then where it was found. */
function findIdByPath(db: Db, file: string): number | undefined {
  const now = db
    .prepare(
      `SELECT max(id) FROM (
      SELECT id FROM decisions WHERE final_path = ?
      UNION ALL SELECT decision_id AS id FROM corrections WHERE to_path = ?)`,
    )
    .pluck()
    .get(file, file) as number | null;
  if (now !== null) return now;
  const found = db.prepare('SELECT max(id) FROM decisions WHERE path = ?').pluck().get(file) as number | null;
  return found ?? undefined;
}

/** The log stores the paths the daemon saw; a member may type one through a symlinked folder. */
function realPathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
