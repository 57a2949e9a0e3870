// Process harness for the reliability suite: runs the REAL compiled daemon (`node dist/cli.js run ...`) as a child
// process, optionally as an unprivileged user, polls its SQLite log read-only, reads its peak RSS from /proc, and
// cleans up after itself (children, temp folders, mounts).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  lstatSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { caughtUpAfter, cliFor } from '../helpers/daemon.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'cli.js');
export const NOBODY = { uid: 65534, gid: 65534 };
/** Tests that mount tmpfs, chattr, or run the daemon as `nobody` need root; elsewhere they are skipped (and say so). */
export const AS_ROOT = process.getuid?.() === 0;

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

export class Daemon {
  readonly child: ChildProcess;
  output = '';
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly opts: DaemonOptions,
    readonly configPath?: string,
  ) {
    const run = cliFor(opts.user);
    const args = [
      ...(opts.nodeArgs ?? []),
      run.cli,
      'run',
      '--watch',
      opts.watch,
      '--airplanes',
      opts.airplanes,
      '--db',
      opts.db,
    ];
    if (configPath) args.push('--config', configPath);
    args.push(...(opts.extraArgs ?? []));
    const [cmd, argv] = opts.maxOpenFiles
      ? ['prlimit', [`--nofile=${opts.maxOpenFiles}:${opts.maxOpenFiles}`, process.execPath, ...args]]
      : [process.execPath, args];
    this.child = spawn(cmd, argv, {
      cwd: run.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    });
    const keep = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 4_000_000) this.output = this.output.slice(-2_000_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((res) =>
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        res({ code, signal });
      }),
    );
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  get pid(): number {
    return this.child.pid!;
  }
  get alive(): boolean {
    return this.exitInfo === null;
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

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; returns whether it exited on its own. */
  async stop(graceMs = 10_000): Promise<boolean> {
    if (!this.alive) return true;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r.signal !== 'SIGKILL';
  }

  tail(n = 4000): string {
    return this.output.slice(-n);
  }

  /** Waits until `pattern` is in the output after `since` (a length of `output` taken earlier). */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000, since = 0): Promise<void> {
    await waitFor(
      () => {
        if (pattern.test(this.output.slice(since))) return true;
        if (!this.alive) throw new Error(`daemon exited before printing ${pattern}:\n${this.tail()}`);
        return false;
      },
      timeoutMs,
      () => `${pattern} in the daemon's output:\n${this.tail()}`,
    );
  }

  /** Two full rescans after now and every file they noticed looked at (see helpers/daemon.ts caughtUp). */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const since = this.output.length;
    await waitFor(
      () => {
        if (caughtUpAfter(this.output.slice(since))) return true;
        if (!this.alive) throw new Error(`daemon exited before catching up:\n${this.tail()}`);
        return false;
      },
      timeoutMs,
      () => `two rescans and 'caught up' (needs logLevel debug and a rescan interval):\n${this.tail()}`,
    );
  }
}

const live = new Set<Daemon>();

/** Kills every daemon this process started that is still running (afterAll safety net). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((d) => d.kill('SIGKILL')));
}

function procStatusKiB(pid: number, key: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

export function writeConfig(dir: string, extra: Record<string, unknown>): string {
  const p = join(dir, 'birdwatch.test.json');
  writeFileSync(p, JSON.stringify(extra, null, 2));
  return p;
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

/** chown -R (no symlink following: lchown on links) */
export function chownTree(root: string, uid: number, gid: number): void {
  execFileSync('chown', ['-R', '-h', `${uid}:${gid}`, root]);
}

// ---- the decision log, read-only --------------------------------------------------------------------------------

export interface Row {
  id: number;
  time: string;
  time_ms: number;
  camera: string;
  path: string;
  final_path: string;
  size: number | null;
  sha256: string | null;
  width: number | null;
  height: number | null;
  format: string | null;
  p_airplane: number | null;
  p_bird: number | null;
  label: string | null;
  threshold: number | null;
  action: 'moved' | 'kept' | 'failed';
  error: string | null;
  error_kind: string | null;
  model_id: string | null;
  provider: string | null;
  latency_ms: number | null;
}

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

// ---- waiting ----------------------------------------------------------------------------------------------------

/** Polls `pred` every `intervalMs` until it returns truthy; throws with `what()` on timeout. */
export async function waitFor<T>(
  pred: () => T | Promise<T>,
  timeoutMs: number,
  what: () => string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(intervalMs);
  }
}

/** Every regular file under root (relative paths), not following symlinks. */
export function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(root, rel));
  } catch {
    return out;
  }
  for (const n of names) {
    const r = rel ? join(rel, n) : n;
    let st;
    try {
      st = lstatSync(join(root, r));
    } catch {
      continue;
    } // moved or deleted while listing
    if (st.isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

export { sleep };
