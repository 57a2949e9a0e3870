// Opens the decision log for the members' commands, turning SQLite's failures into sentences a club member can act
// on. Queries open it read-only (they work beside a running daemon thanks to WAL); restore/mark open it for writing.
import fs from 'node:fs';
import { openDatabase, type Db } from '../db/index.js';
import { CommandFailure } from '../cli-kit/command-kit.js';

/** How long a statement waits for the daemon's write lock before giving up with a message. */
export const BUSY_TIMEOUT_MS = 5000;

export function openLogReadOnly(file: string): Db {
  requireExisting(file);
  return open(file, true);
}

/** Read-write, for restore and mark: the file must already exist (never create an empty log by accident). */
export function openLogForCorrections(file: string): Db {
  requireExisting(file);
  return open(file, false);
}

function requireExisting(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CommandFailure(
        `no decision log at ${file} yet: start the daemon (birdwatch run) once, ` +
          `or point --db (or --config) at the daemon's database`,
      );
    }
    throw new CommandFailure(`cannot read the decision log ${file}: ${(err as Error).message}`);
  }
  if (!stat.isFile()) throw new CommandFailure(`the decision log ${file} is not a file`);
}

function open(file: string, readonly: boolean): Db {
  try {
    return openDatabase(file, { readonly, busyTimeoutMs: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw explainDbError(err, file);
  }
}

/** Maps a SQLite error to a CommandFailure with a clear message (other errors pass through unchanged). */
export function explainDbError(err: unknown, file: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new CommandFailure(
      `the decision log ${file} stayed locked for more than ${BUSY_TIMEOUT_MS / 1000} s ` +
        `(another process holds it): try again`,
    );
  }
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    return new CommandFailure(`${file} is not a readable birdwatch decision log (${(err as Error).message})`);
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    return new CommandFailure(
      `cannot open the decision log ${file}: ${(err as Error).message}` +
        ' (check the permissions of the file and its folder)',
    );
  }
  return new CommandFailure(`decision log ${file}: ${(err as Error).message}`);
}
