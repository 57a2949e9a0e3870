// The frame restore and mark share: open the log for writing, finish or undo any move a crashed restore/mark (or
// daemon) left half-done, so the log says where files are, then find the decision the member named.
import { DecisionLog } from '../db/index.js';
import { reconcilePendingMoves } from '../fs/index.js';
import { findDecidedShot, type DecidedShot } from '../query/decided-shot.js';
import { explainDbError, openLogForCorrections } from '../query/open-log.js';

export async function withDecidedShot<T>(
  dbFile: string,
  idOrPath: string,
  work: (log: DecisionLog, shot: DecidedShot) => Promise<T>,
): Promise<T> {
  const db = openLogForCorrections(dbFile);
  try {
    const log = new DecisionLog(db);
    await reconcilePendingMoves(log);
    return await work(log, findDecidedShot(db, idOrPath));
  } catch (err) {
    throw explainDbError(err, dbFile);
  } finally {
    db.close();
  }
}
