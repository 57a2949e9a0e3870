// Quarantine retention: deletes moved shots older than the camera's (else the config's) retentionDays from the
// airplanes folders. It is the one place birdwatch deletes a camera shot, so it is narrow and crash-safe:
// - only decisions that moved a shot, older than the limit, never a shot a member labelled or restored (any
//   correction of the decision, or a member's 'bird' label on the same content), never one the random review
//   labelled bird or airplane (that decision or the same content: issue 12's loop trains on it), never a removed one;
// - only a regular file (not a symlink) whose real path lies inside that camera's configured airplanes folder
//   (allowed-folders.ts), with the logged size and sha256 (another file that took the name is left alone);
// - the removal is written to the log ('pending', fsynced) before the unlink and marked 'done' after; a pass
//   first finishes the pending ones a crash left (unlink if the logged shot is still there, else just mark done).
// The decision row stays: `birdwatch log` shows where the shot went and when it was removed.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Camera, Config } from '../config/index.js';
import { timestamp, type DecisionLog } from '../db/index.js';
import { hashFile, syncFolder } from '../fs/index.js';
import type { Logger } from '../logger.js';
import { isReallyInside } from '../review/allowed-folders.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionItem {
  id: number;
  camera: string;
  /** Where the shot is (the decision's final_path). */
  path: string;
  time: string;
  size: number | null;
  sha256: string | null;
  retention_days: number;
}

export interface RetentionReport {
  /** Removed now (or, in a dry run, what would be removed). */
  removed: RetentionItem[];
  /** Due but left alone, with the reason. */
  skipped: Array<RetentionItem & { reason: string }>;
  /** Removals a crash had interrupted, finished by this pass. */
  finished: number;
  /** Due, but kept by the rules above (a member's label, a restore, the random review), with the reason: listed only
   *  when asked (the retention command; the daemon keeps them silently every pass). */
  kept: Array<RetentionItem & { reason: string }>;
}

const candidatesSql = `SELECT d.id, d.camera, d.final_path AS path, d.time, d.size, d.sha256 FROM decisions d
  WHERE d.camera = ? AND d.action = 'moved' AND d.time_ms < ?
    AND NOT EXISTS (SELECT 1 FROM removals r WHERE r.decision_id = d.id)
    AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.decision_id = d.id)
    AND NOT EXISTS (SELECT 1 FROM decisions o JOIN corrections c ON c.decision_id = o.id
                    WHERE o.sha256 = d.sha256 AND c.label = 'bird')
    AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.decision_id = d.id AND v.label IN ('bird', 'airplane'))
    AND NOT EXISTS (SELECT 1 FROM decisions o JOIN reviews v ON v.decision_id = o.id
                    WHERE o.sha256 = d.sha256 AND v.label IN ('bird', 'airplane'))
  ORDER BY d.time_ms, d.id`;

// The due shots the rules keep, each with why (the first that applies), for the command to list.
const keptSql = `SELECT * FROM (SELECT d.id, d.camera, d.final_path AS path, d.time, d.size, d.sha256,
    CASE
      WHEN EXISTS (SELECT 1 FROM corrections c WHERE c.decision_id = d.id AND c.kind = 'restore')
        THEN 'restored by a member: it is back in the blog'
      WHEN EXISTS (SELECT 1 FROM corrections c WHERE c.decision_id = d.id)
        THEN 'a member labelled it (mark): kept for training'
      WHEN EXISTS (SELECT 1 FROM decisions o JOIN corrections c ON c.decision_id = o.id
                   WHERE o.sha256 = d.sha256 AND c.label = 'bird')
        THEN 'the same picture (a duplicate) was labelled bird by a member'
      WHEN EXISTS (SELECT 1 FROM reviews v WHERE v.decision_id = d.id AND v.label IN ('bird', 'airplane'))
        THEN 'reviewed in the random review: kept for training'
      WHEN EXISTS (SELECT 1 FROM decisions o JOIN reviews v ON v.decision_id = o.id
                   WHERE o.sha256 = d.sha256 AND v.label IN ('bird', 'airplane'))
        THEN 'the same picture (a duplicate) was reviewed in the random review: kept for training'
    END AS reason
  FROM decisions d
  WHERE d.camera = ? AND d.action = 'moved' AND d.time_ms < ?
    AND NOT EXISTS (SELECT 1 FROM removals r WHERE r.decision_id = d.id))
  WHERE reason IS NOT NULL ORDER BY id`;

/** Each camera's retention in days (undefined: keep forever). */
export function retentionDaysOf(camera: Camera, config: Config): number | undefined {
  return camera.retentionDays ?? config.retentionDays;
}

/** Finds what is due and, unless dryRun, removes it. Database errors propagate (the caller retries or reports). */
export async function applyRetention(
  log: DecisionLog,
  config: Config,
  options: { dryRun?: boolean; logger?: Logger; now?: number; listKept?: boolean } = {},
): Promise<RetentionReport> {
  const report: RetentionReport = { removed: [], skipped: [], finished: 0, kept: [] };
  if (!options.dryRun) report.finished = await finishPendingRemovals(log, options.logger);
  const now = options.now ?? Date.now();
  const candidates = log.db.prepare(candidatesSql);
  for (const camera of config.cameras) {
    const days = retentionDaysOf(camera, config);
    if (days === undefined) continue;
    const due = candidates.all(camera.name, now - days * DAY_MS) as Array<Omit<RetentionItem, 'retention_days'>>;
    if (options.listKept) {
      const kept = log.db.prepare(keptSql).all(camera.name, now - days * DAY_MS) as Array<
        Omit<RetentionItem, 'retention_days'> & { reason: string }
      >;
      for (const row of kept) report.kept.push({ ...row, retention_days: days });
    }
    for (const row of due) {
      const item: RetentionItem = { ...row, retention_days: days };
      const refusal = await checkRemovable(log, camera, item);
      if (refusal !== undefined) {
        report.skipped.push({ ...item, reason: refusal });
        continue;
      }
      if (!options.dryRun) await remove(log, item, options.logger);
      report.removed.push(item);
    }
  }
  return report;
}

/** Why this shot must not be deleted, or undefined when it may. */
async function checkRemovable(log: DecisionLog, camera: Camera, item: RetentionItem): Promise<string | undefined> {
  if (!isReallyInside(camera.airplanes, item.path)) {
    return `not inside camera '${camera.name}''s airplanes folder ${camera.airplanes}: refusing to delete it`;
  }
  let stat;
  try {
    stat = await fs.lstat(item.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no longer there (removed by hand?)' : `cannot look at it: ${(err as Error).message}`;
  }
  if (!stat.isFile()) return 'not a regular file (a symbolic link or other): refusing to delete it';
  if (item.sha256 === null || stat.size !== item.size || (await hashFile(item.path)) !== item.sha256) {
    return 'the file there now is not the logged shot (other size or content): left alone';
  }
  if (log.isPendingMovePath(item.path)) return 'another birdwatch command is moving it right now';
  return undefined;
}

const insertPending = `INSERT INTO removals (decision_id, state, time, time_ms, path, sha256, size, reason)
  VALUES (@decision_id, 'pending', @time, @time_ms, @path, @sha256, @size, @reason)`;

async function remove(log: DecisionLog, item: RetentionItem, logger: Logger | undefined): Promise<void> {
  const reason = `retention: moved more than ${item.retention_days} days ago`;
  log.durably(() =>
    log.db.prepare(insertPending).run({
      decision_id: item.id,
      ...timestamp(),
      path: item.path,
      sha256: item.sha256,
      size: item.size,
      reason,
    }),
  );
  await unlinkIfPresent(item.path);
  markDone(log, item.id);
  logger?.info('removed by retention', {
    id: item.id,
    camera: item.camera,
    path: item.path,
    decided: item.time,
    retention_days: item.retention_days,
  });
}

/** Finishes the removals a crash interrupted: the intent is on record, the file may or may not be gone yet. */
async function finishPendingRemovals(log: DecisionLog, logger: Logger | undefined): Promise<number> {
  const pending = log.db
    .prepare(`SELECT decision_id, path, sha256, size FROM removals WHERE state = 'pending'`)
    .all() as Array<{ decision_id: number; path: string; sha256: string | null; size: number | null }>;
  for (const row of pending) {
    let same = false;
    try {
      const stat = await fs.lstat(row.path);
      same = stat.isFile() && stat.size === row.size && (await hashFile(row.path)) === row.sha256;
      if (!same) {
        // Another file took the name: the logged shot is gone already; keep the newcomer.
        logger?.warn('interrupted removal: another file is at that path now, leaving it', { path: row.path });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (same) await unlinkIfPresent(row.path);
    markDone(log, row.decision_id);
    logger?.info('finished an interrupted removal', { id: row.decision_id, path: row.path });
  }
  return pending.length;
}

function markDone(log: DecisionLog, decisionId: number): void {
  const { time, time_ms } = timestamp();
  log.db
    .prepare(`UPDATE removals SET state = 'done', time = ?, time_ms = ? WHERE decision_id = ?`)
    .run(time, time_ms, decisionId);
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await syncFolder(path.dirname(file));
}
