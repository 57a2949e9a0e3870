// `birdwatch db check` (integrity, schema version, row counts) and `birdwatch db backup FILE` (an online,
// consistent copy through SQLite's backup API, safe while the daemon writes; never overwrites FILE).
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { openDatabase, SCHEMA_VERSION, type Db } from '../db/index.js';
import { CommandFailure, parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';

const usage = `usage: birdwatch db check [--json] [--config FILE] [--db FILE]
       birdwatch db backup FILE [--config FILE] [--db FILE]
  check: SQLite's integrity check, the schema version and the row counts (exit 1 if not ok).
  backup: a consistent copy of the decision log while the daemon runs (SQLite's online backup API), checked
  afterwards; FILE must not exist.`;

export interface CheckReport {
  file: string;
  ok: boolean;
  integrity: string[];
  schema_version: number;
  schema_version_expected: number;
  rows: Record<string, number>;
}

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
        json: { type: 'boolean' },
      },
      true,
    );
    const [action, ...rest] = positionals;
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    if (action === 'check' && rest.length === 0) {
      const report = checkFile(config.db);
      console.log(values.json ? JSON.stringify(report) : renderCheck(report));
      return report.ok ? 0 : 1;
    }
    if (action === 'backup' && rest.length === 1) {
      const report = await backup(config.db, path.resolve(rest[0]!));
      console.log(
        `backup written to ${report.file}: integrity ok, schema version ${report.schema_version}, ` +
          Object.entries(report.rows)
            .map(([table, n]) => `${n} ${table}`)
            .join(', '),
      );
      return 0;
    }
    throw new UsageError(
      action === undefined
        ? 'missing action: db check, or db backup FILE'
        : `unknown or incomplete: db ${positionals.join(' ')}`,
    );
  });
}

function checkFile(file: string): CheckReport {
  const db = openLogReadOnly(file);
  try {
    return inspect(db, file);
  } catch (err) {
    throw explainDbError(err, file);
  } finally {
    db.close();
  }
}

function inspect(db: Db, file: string): CheckReport {
  const integrity = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
  const messages = integrity.map((row) => row.integrity_check);
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
    ORDER BY name`,
    )
    .pluck()
    .all() as string[];
  const rows: Record<string, number> = {};
  for (const table of tables)
    rows[table] = db
      .prepare(`SELECT count(*) FROM "${table.replaceAll('"', '""')}"`)
      .pluck()
      .get() as number;
  const ok = messages.length === 1 && messages[0] === 'ok' && version === SCHEMA_VERSION;
  return { file, ok, integrity: messages, schema_version: version, schema_version_expected: SCHEMA_VERSION, rows };
}

function renderCheck(report: CheckReport): string {
  const lines = [
    `${report.file}: ${report.ok ? 'ok' : 'NOT OK'}`,
    `  integrity: ${report.integrity.slice(0, 20).join('; ')}`,
    `  schema version: ${report.schema_version}` +
      (report.schema_version === report.schema_version_expected
        ? ''
        : ` (this birdwatch expects ${report.schema_version_expected}${
            report.schema_version < report.schema_version_expected ? ': the daemon migrates it at its next start' : ''
          })`),
  ];
  for (const [table, n] of Object.entries(report.rows)) lines.push(`  ${table}: ${n} rows`);
  return lines.join('\n');
}

/** What link() says on a filesystem that has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV']);

/** Copies the checked temp into place, never over an existing target; a copy cut short (disk full) is removed. */
function copyIntoPlace(temp: string, target: string): void {
  try {
    fs.copyFileSync(temp, target, fs.constants.COPYFILE_EXCL);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') fs.rmSync(target, { force: true });
    throw err;
  }
}

/**
 * Copies the live log into a temporary name beside FILE, checks the copy, then links it into place (link() fails
 * if FILE appeared meanwhile: nothing is overwritten) and removes the temporary name. On a filesystem without hard
 * links (vfat, some CIFS mounts: EPERM, ENOTSUP, EXDEV) the checked copy is copied into place instead, with
 * COPYFILE_EXCL (again never over an existing FILE; a copy cut short is removed).
 */
async function backup(source: string, target: string): Promise<CheckReport> {
  if (fs.existsSync(target)) throw new CommandFailure(`refusing to overwrite ${target}: it exists`);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}`);
  const db = openLogReadOnly(source);
  try {
    // After the first 100 pages, the rest in one step: one read snapshot (WAL readers never block the daemon's
    // writes), so the copy is not restarted by every write the daemon commits meanwhile.
    await db.backup(temp, { progress: () => 1_000_000 });
  } catch (err) {
    fs.rmSync(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || String(code).startsWith('SQLITE_CANTOPEN')) {
      throw new CommandFailure(`cannot write the backup in ${path.dirname(target)}: ${(err as Error).message}`);
    }
    throw explainDbError(err, source);
  } finally {
    db.close();
  }
  try {
    const copy = openDatabase(temp, { readonly: true });
    let report: CheckReport;
    try {
      report = inspect(copy, target);
    } finally {
      copy.close();
    }
    if (!report.ok) throw new CommandFailure(`the copy failed its check (${report.integrity.join('; ')}); not kept`);
    try {
      try {
        fs.linkSync(temp, target);
      } catch (err) {
        if (!NO_HARD_LINKS.has(String((err as NodeJS.ErrnoException).code))) throw err;
        copyIntoPlace(temp, target);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new CommandFailure(`refusing to overwrite ${target}: it appeared meanwhile`);
      throw new CommandFailure(`cannot write ${target}: ${(err as Error).message}`);
    }
    return report;
  } finally {
    for (const leftover of [temp, `${temp}-wal`, `${temp}-shm`]) fs.rmSync(leftover, { force: true });
  }
}
