// At start (and on each safety rescan), resolves the move intents that a crashed process left behind, so the
// filesystem and the log agree: a move that happened gets its row, one that did not is forgotten (the file stays
// where it was and is decided again), and the temp files of interrupted copies are removed.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DecisionLog } from '../db/decision-log.js';
import type { PendingMoveRow } from '../db/rows.js';
import type { Logger } from '../logger.js';
import { isOwnTempName, syncFolder, tempPathFor } from './move.js';

export interface ReconcileSummary {
  completed: number;
  dropped: number;
  /** Intents of a live process (another birdwatch command moving a file right now): left alone. */
  skipped: number;
}

export async function reconcilePendingMoves(log: DecisionLog, logger?: Logger): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { completed: 0, dropped: 0, skipped: 0 };
  for (const pending of log.listPendingMoves()) {
    if (pending.owner_pid !== process.pid && isLiveBirdwatch(pending.owner_pid)) {
      summary.skipped++;
      continue;
    }
    if (pending.owner_pid === process.pid) {
      summary.skipped++; // our own move in progress
      continue;
    }
    const outcome = await resolve(log, pending);
    if (outcome.done) {
      log.completePendingMove(pending.id, pending.target_path!);
      summary.completed++;
    } else {
      log.dropPendingMove(pending.id);
      summary.dropped++;
    }
    logger?.info(
      outcome.done ? 'reconciled an interrupted move: completed' : 'reconciled an interrupted move: undone',
      { src: pending.src_path, target: pending.target_path ?? undefined, reason: outcome.reason },
    );
  }
  return summary;
}

async function resolve(log: DecisionLog, pending: PendingMoveRow): Promise<{ done: boolean; reason: string }> {
  const target = pending.target_path;
  if (target === null) return { done: false, reason: 'never attempted' };
  await fs.rm(tempPathFor(target), { force: true }); // an interrupted copy's temp is never the file itself
  const [source, placed] = await Promise.all([lstatOrNull(pending.src_path), lstatOrNull(target)]);
  if (placed === null || !placed.isFile()) {
    return { done: false, reason: source === null ? 'source and target both missing' : 'not moved' };
  }
  if (source !== null && source.isFile() && source.dev === placed.dev && source.ino === placed.ino) {
    await fs.unlink(pending.src_path); // linked but the old name not yet removed
    await syncFolder(path.dirname(pending.src_path)).catch(() => undefined);
    return { done: true, reason: 'hard link finished' };
  }
  // A different inode at the target: ours only if it is an identical copy (a copy-then-link move) that no other row
  // accounts for (a name taken just before the link holds someone else's file).
  if (pending.sha256 === null || log.isFinalPathOfDecision(target))
    return { done: false, reason: 'target is another file' };
  if ((await hashFile(target)) !== pending.sha256) return { done: false, reason: 'target is another file' };
  if (source !== null) {
    await fs.unlink(pending.src_path);
    await syncFolder(path.dirname(pending.src_path)).catch(() => undefined);
    return { done: true, reason: 'copy finished' };
  }
  return { done: true, reason: 'move finished' };
}

/** Removes temp files of interrupted copies under `folder` (except those named in `keep`). */
export async function removeLeftoverTemps(
  folder: string,
  keep: Set<string> = new Set(),
  logger?: Logger,
): Promise<number> {
  let removed = 0;
  let entries: string[];
  try {
    entries = await fs.readdir(folder, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const relative of entries) {
    if (!isOwnTempName(path.basename(relative))) continue;
    const file = path.join(folder, relative);
    if (keep.has(file)) continue;
    await fs.rm(file, { force: true });
    logger?.info('removed the temp file of an interrupted copy', { path: file });
    removed++;
  }
  return removed;
}

/** Temp files that live processes' moves may be writing right now. */
export function tempsInUse(log: DecisionLog): Set<string> {
  const inUse = new Set<string>();
  for (const pending of log.listPendingMoves()) {
    if (pending.target_path !== null && (pending.owner_pid === process.pid || isLiveBirdwatch(pending.owner_pid))) {
      inUse.add(tempPathFor(pending.target_path));
    }
  }
  return inUse;
}

/** A process with this pid exists and is a birdwatch command (pids get reused after a crash). */
function isLiveBirdwatch(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // Synchronous on purpose: a tiny /proc read, done a handful of times at start.
    return /birdwatch|cli\.js/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc: assume it is ours rather than touch a move in progress
  }
}

async function lstatOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return null;
    }
    throw err;
  }
}

export function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}
