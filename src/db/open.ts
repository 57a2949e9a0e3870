// Opening the decision log: WAL, busy timeout, schema migrations; a newer schema than this code knows is refused.
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

/** The database cannot be used by this version of birdwatch (newer schema, not a birdwatch database...). */
export class DbSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DbSchemaError';
  }
}

export interface OpenOptions {
  /** Open read-only (queries): nothing is created or migrated; the file must exist. */
  readonly?: boolean;
  /** ms a statement waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  try {
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    if (options.readonly) {
      checkVersion(db, file, true);
    } else {
      db.pragma('journal_mode = WAL');
      // NORMAL: a commit is atomic and survives a crash of the process, but is not fsynced (2-3 ms each here). The
      // one write that must survive power loss, a move's intent, is made durable on its own (DecisionLog.durably).
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function checkVersion(db: Db, file: string, readonly: boolean): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new DbSchemaError(
      `database ${file} has schema version ${version}, newer than this birdwatch ` +
        `understands (${SCHEMA_VERSION}): upgrade birdwatch, or point --db at another file`,
    );
  }
  if (readonly && version === 0) {
    throw new DbSchemaError(
      `database ${file} is not a birdwatch decision log (no schema): ` + `start the daemon once to create it`,
    );
  }
  return version;
}

function migrate(db: Db, file: string): void {
  // IMMEDIATE: two processes opening a fresh database at once must not both run migration 1.
  const run = db.transaction(() => {
    const version = checkVersion(db, file, false);
    for (let next = version; next < SCHEMA_VERSION; next++) {
      db.exec(MIGRATIONS[next]!);
      db.pragma(`user_version = ${next + 1}`);
    }
  });
  run.immediate();
}
