// The reliability suite's additions to the one daemon harness (helpers/daemon.ts, which spawns the REAL compiled
// daemon and captures and waits on its output): options as the reliability tests give them (a config written for
// them, prlimit, node options), what /proc tells of the daemon (peak RSS, CPU, open files), a read-only SQLite log
// reader kept open while polling, and cleanup of what these tests make (temp folders, mounts).
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { CLI, DaemonProcess, killAllDaemons } from '../helpers/daemon.js';
import type { Decision } from '../helpers/decisions.js';

export { CLI, NOBODY, REPO, listTree } from '../helpers/daemon.js';
export { sleep, waitFor } from '../helpers/wait.js';

export interface DaemonOptions {
  watch: string;
  airplanes: string;
  db: string;
  /** extra keys for a JSON config file written next to the db (e.g. short stall/rescan times) */
  config?: Record<string, unknown>;
  extraArgs?: string[];
  user?: { uid: number; gid: number };
  env?: Record<string, string>;
  /** RLIMIT_NOFILE for the daemon (set by prlimit, which then execs node: same pid) */
  maxOpenFiles?: number;
  /** extra node options before dist/cli.js (e.g. --expose-gc --import a probe) */
  nodeArgs?: string[];
}

/** A `birdwatch run` child process (helpers/daemon.ts) with what the reliability tests read of it from /proc. */
export class Daemon extends DaemonProcess {
  constructor(
    readonly opts: DaemonOptions,
    readonly configPath?: string,
  ) {
    const args = ['run', '--watch', opts.watch, '--airplanes', opts.airplanes, '--db', opts.db];
    if (configPath) args.push('--config', configPath);
    args.push(...(opts.extraArgs ?? []));
    super(args, {
      env: opts.env,
      user: opts.user,
      nodeArgs: opts.nodeArgs,
      launcher: opts.maxOpenFiles ? ['prlimit', `--nofile=${opts.maxOpenFiles}:${opts.maxOpenFiles}`] : undefined,
    });
  }

  /** VmHWM (peak resident set) of the daemon process in KiB, from /proc/<pid>/status. */
  peakRssKiB(): number {
    return procStatusKiB(this.pid, 'VmHWM');
  }
  rssKiB(): number {
    return procStatusKiB(this.pid, 'VmRSS');
  }
  /** user + system CPU seconds the daemon has used so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return -1;
    }
  }
  openFds(): number {
    try {
      return readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return -1;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; returns whether it exited on its own. */
  async stopGracefully(graceMs = 10_000): Promise<boolean> {
    if (!this.alive) return true;
    const { signal } = await this.stop('SIGTERM', graceMs);
    return signal !== 'SIGKILL';
  }
}

/** Kills every daemon this process started that is still running (afterAll safety net). */
export const killAll = killAllDaemons;

function procStatusKiB(pid: number, key: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

export function startDaemon(opts: DaemonOptions): Daemon {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  let configPath: string | undefined;
  if (opts.config) {
    configPath = join(mkdtempSync(join(tmpdir(), 'bw-cfg-')), 'config.json');
    writeFileSync(configPath, JSON.stringify(opts.config, null, 2));
    tempDirs.add(join(configPath, '..'));
    if (opts.user) {
      chownSync(join(configPath, '..'), opts.user.uid, opts.user.gid);
      chownSync(configPath, opts.user.uid, opts.user.gid);
    }
  }
  return new Daemon(opts, configPath);
}

// ---- temp folders -----------------------------------------------------------------------------------------------

const tempDirs = new Set<string>();

/** A fresh temp folder (under /tmp by default: same filesystem for its subfolders), removed by cleanupTemp(). */
export function tempDir(prefix = 'bw-rel-', base = tmpdir()): string {
  const d = mkdtempSync(join(base, prefix));
  tempDirs.add(d);
  return d;
}

export function cleanupTemp(): void {
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* mount point or already gone */
    }
    tempDirs.delete(d);
  }
}

// ---- mounts, and the end of a test file ------------------------------------------------------------------------

const mounts = new Set<string>();

/** `mount ARGS... AT`, remembered so that the end of the file unmounts it if the test could not. */
export function mount(args: string[], at: string): void {
  execFileSync('mount', [...args, at]);
  mounts.add(at);
}

export function unmount(at: string): void {
  execFileSync('umount', [at]);
  mounts.delete(at);
}

/**
 * For a reliability test file: after all its tests, kill every daemon still running, unmount what is still mounted
 * and remove the temp folders (in that order: a folder under a mount point cannot go before the mount).
 */
export function cleanUpAfterAll(): void {
  afterAll(async () => {
    await killAll();
    for (const at of mounts) {
      try {
        unmount(at);
      } catch {
        mounts.delete(at); // already unmounted
      }
    }
    cleanupTemp();
  });
}

/** chown -R (no symlink following: lchown on links) */
export function chownTree(root: string, uid: number, gid: number): void {
  execFileSync('chown', ['-R', '-h', `${uid}:${gid}`, root]);
}

// ---- the decision log, read-only --------------------------------------------------------------------------------

/** A decision row as the tests read it (the daemon's own row type plus its id). */
export type Row = Decision;

/** Opens the daemon's database read-only (WAL readers never block the writer); null while it doesn't exist yet. */
export class LogReader {
  private db: Database.Database | null = null;
  constructor(readonly path: string) {}

  private open(): Database.Database | null {
    if (this.db) return this.db;
    if (!existsSync(this.path)) return null;
    try {
      const db = new Database(this.path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      db.prepare('SELECT 1 FROM decisions LIMIT 1').all();
      this.db = db;
      return db;
    } catch {
      return null; // schema not created yet
    }
  }

  rows(where = '1=1', ...params: unknown[]): Row[] {
    const db = this.open();
    if (!db) return [];
    try {
      return db.prepare(`SELECT * FROM decisions WHERE ${where} ORDER BY id`).all(...params) as Row[];
    } catch (e) {
      if (/SQLITE_BUSY|database is locked/.test(String(e))) return this.rows(where, ...params);
      throw e;
    }
  }

  count(where = '1=1', ...params: unknown[]): number {
    const db = this.open();
    if (!db) return 0;
    return (db.prepare(`SELECT count(*) AS n FROM decisions WHERE ${where}`).get(...params) as { n: number }).n;
  }

  maxId(): number {
    const db = this.open();
    if (!db) return 0;
    return (db.prepare('SELECT coalesce(max(id), 0) AS m FROM decisions').get() as { m: number }).m;
  }

  query<T = unknown>(sql: string, ...params: unknown[]): T[] {
    const db = this.open();
    if (!db) return [];
    return db.prepare(sql).all(...params) as T[];
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}
