// A move the decision log knows about before it happens: intent row first, then the move (each target recorded
// before it is tried), then the outcome row and the intent's deletion in one transaction. A crash anywhere in
// between leaves an intent that reconcilePendingMoves() resolves at the next start.
import type { DecisionLog } from '../db/decision-log.js';
import type { MoveKind, PendingRecord } from '../db/rows.js';
import { retryTransient, RetryAbortedError } from '../db/transient.js';
import type { Logger } from '../logger.js';
import { firstFreeName, moveNoClobber, type MoveOptions } from './move.js';

export interface LoggedMoveRequest {
  kind: MoveKind;
  src: string;
  /** Wanted destination; a collision gets `name (1).ext`... */
  dest: string;
  /** Content hash of the source (reconciliation compares it across filesystems). */
  sha256: string;
  size: number;
  /** The decision (kind 'decide') or correction (restore, mark-move) to write once the file is in place. */
  record: PendingRecord;
}

export interface LoggedMoveOptions {
  logger?: Logger;
  /** Abort database retries (shutdown); a move already done is then left to reconciliation. */
  signal?: AbortSignal;
  expect?: MoveOptions['expect'];
  durable?: boolean;
}

export interface LoggedMoveResult {
  finalPath: string;
  /** id of the decision or correction row written. */
  rowId: number;
}

/**
 * Moves a file and records it. Throws if the file could not be moved (nothing moved, nothing recorded, intent
 * dropped). Database faults are retried until they clear: a file is never moved without its intent on record.
 */
export async function moveLogged(
  log: DecisionLog,
  request: LoggedMoveRequest,
  options: LoggedMoveOptions = {},
): Promise<LoggedMoveResult> {
  const retry = <T>(what: string, fn: () => T) =>
    retryTransient(fn, { what: `${what} ${request.src}`, logger: options.logger, signal: options.signal });
  // The intent names the exact target it will try first (one durable write); a name taken meanwhile is recorded
  // again before the next one is tried.
  let recorded = await firstFreeName(request.dest);
  const id = await retry('record move intent for', () =>
    log.addPendingMove({
      kind: request.kind,
      src: request.src,
      dest: request.dest,
      target: recorded,
      sha256: request.sha256,
      size: request.size,
      record: request.record,
    }),
  );
  let finalPath: string;
  try {
    finalPath = await moveNoClobber(request.src, request.dest, {
      expect: options.expect,
      durable: options.durable,
      beforeAttempt: async (target) => {
        if (target === recorded) return;
        await retry('record move target for', () => log.setPendingTarget(id, target));
        recorded = target;
      },
    });
  } catch (err) {
    // Nothing moved: forget the intent. If even that fails, reconciliation finds the file unmoved and drops it.
    await retry('drop move intent for', () => log.dropPendingMove(id)).catch(() => undefined);
    throw err;
  }
  try {
    const rowId = await retry('record move of', () => log.completePendingMove(id, finalPath));
    return { finalPath, rowId };
  } catch (err) {
    if (err instanceof RetryAbortedError) {
      options.logger?.warn('moved, but the log could not be written before shutdown: the next start completes it', {
        path: request.src,
        final_path: finalPath,
      });
    }
    throw err;
  }
}
