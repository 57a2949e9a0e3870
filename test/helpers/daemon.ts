// Runs the real compiled CLI (`node dist/cli.js ...`) as a child process: a long-running daemon with its output
// captured and waited on, or a one-shot command run to completion. Shared by the daemon, members and reliability
// tests. Build first (`npm test` does, via pretest).
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { waitFor } from './wait.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'cli.js');
/** An unprivileged user for tests that need permissions to apply (tests run as root here). */
export const NOBODY = { uid: 65534, gid: 65534 };
/**
 * The checkout as `nobody` can reach it (the global setup bind-mounts or copies it where a private folder, as
 * `mktemp -d` makes, hides this one): the daemon and CLI run as nobody from there. Undefined when impossible;
 * NOBODY_MISSING then says why (a precondition for helpers/preconditions.ts needs()).
 */
export const NOBODY_REPO: string | undefined = process.env.BW_TEST_NOBODY_REPO;
export const NOBODY_MISSING: string | null = NOBODY_REPO
  ? null
  : (process.env.BW_TEST_NOBODY_MISSING ?? 'a checkout nobody can read (test/helpers/global-setup.ts did not run)');

/** The node arguments and working folder that run the CLI as `user` (nobody's copy) or as this user (the checkout). */
export function cliFor(user: { uid: number; gid: number } | undefined): { cli: string; cwd: string } {
  if (!user) return { cli: CLI, cwd: REPO };
  if (!NOBODY_REPO) throw new Error(`cannot run the CLI as uid ${user.uid}: ${NOBODY_MISSING}`);
  return { cli: join(NOBODY_REPO, 'dist', 'cli.js'), cwd: NOBODY_REPO };
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this user (root only). */
  user?: { uid: number; gid: number };
  /** Node options before the CLI script (e.g. --expose-gc --import a probe). */
  nodeArgs?: string[];
  /** A command that execs node in its own place (same pid), e.g. prlimit with its options. */
  launcher?: string[];
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `birdwatch run` child process. */
export class DaemonProcess {
  readonly child: ChildProcess;
  private captured = '';
  /** Characters dropped from the front of `captured` (it keeps the last 2-4 MB). */
  private dropped = 0;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;

  constructor(args: string[], options: SpawnOptions = {}) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const run = cliFor(options.user);
    const [command, ...before] = [...(options.launcher ?? []), process.execPath];
    this.child = spawn(command!, [...before, ...(options.nodeArgs ?? []), run.cli, ...args], {
      cwd: options.cwd ?? run.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.user ?? {}),
    });
    const keep = (chunk: Buffer): void => {
      this.captured += chunk.toString();
      if (this.captured.length > 4_000_000) {
        this.dropped += this.captured.length - 2_000_000;
        this.captured = this.captured.slice(-2_000_000);
      }
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    // 'close' (after the process exited and its output was read to the end), so that a test awaiting `exited` sees
    // every last line.
    this.exited = new Promise((done) =>
      this.child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        running.delete(this);
        done({ code, signal });
      }),
    );
    running.add(this);
  }

  get output(): string {
    return this.captured;
  }
  /** A mark in the output: pass it to waitForOutput/outputSince to look only at what came after it. */
  get mark(): number {
    return this.dropped + this.captured.length;
  }
  outputSince(mark: number): string {
    return this.captured.slice(Math.max(0, mark - this.dropped));
  }
  get pid(): number {
    return this.child.pid!;
  }
  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /**
   * Resolves when the output (after `since`, a mark) contains `pattern`; throws with the output if it exits or times
   * out first.
   */
  async waitForOutput(pattern: RegExp | string, timeoutMs = 30_000, since = 0): Promise<void> {
    const matches = (): boolean => {
      const text = this.outputSince(since);
      return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
    };
    await waitFor(
      () => {
        if (matches()) return true;
        if (!this.alive)
          throw new Error(
            `daemon exited (${JSON.stringify(this.exitInfo)}) before printing ${pattern}:\n${this.tail()}`,
          );
        return false;
      },
      timeoutMs,
      () => `${pattern} in the daemon's output:\n${this.tail()}`,
    );
  }

  /**
   * The positive signal before asserting that nothing (more) happened: two full rescans after now, the second begun
   * after this call, and then every file it noticed looked at ('caught up'). Whatever the daemon would do with the
   * files in its folders, it has done. Needs --log-level debug and --rescan-interval-ms.
   */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const since = this.mark;
    await waitFor(
      () => {
        if (caughtUpAfter(this.outputSince(since))) return true;
        if (!this.alive) {
          throw new Error(`daemon exited (${JSON.stringify(this.exitInfo)}) before catching up:\n${this.tail()}`);
        }
        return false;
      },
      timeoutMs,
      () => `two rescans and 'caught up' (needs --log-level debug, --rescan-interval-ms):\n${this.tail()}`,
    );
  }

  /** Resolves once the daemon has reported 'ready' (initial scan done). */
  ready(timeoutMs = 30_000): Promise<void> {
    return this.waitForOutput(/ info ready /, timeoutMs);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`, reported as signal SIGKILL). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> {
    if (!this.alive) return this.exitInfo!;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  kill(): Promise<ExitInfo> {
    return this.stop('SIGKILL');
  }

  tail(chars = 4000): string {
    return this.captured.slice(-chars);
  }
}

const running = new Set<DaemonProcess>();

/** Whether `text` holds two 'rescan done' lines and, after the second, 'caught up' (or nothing left to look at). */
export function caughtUpAfter(text: string): boolean {
  const rescans = [...text.matchAll(/ debug rescan done [^\n]*/g)];
  if (rescans.length < 2) return false;
  const second = rescans[1]!;
  if (/ queued=0 active=0 pending=0/.test(second[0])) return true;
  return text.slice(second.index).includes(' debug caught up ');
}

/** Kills every daemon still running (put it in afterAll/afterEach). */
export async function killAllDaemons(): Promise<void> {
  await Promise.all([...running].map((daemon) => daemon.kill()));
}

/** A temp folder tree for one daemon: watch/, airplanes/, the db path; removed by cleanup(). */
export interface TestDirs {
  root: string;
  watch: string;
  airplanes: string;
  db: string;
  cleanup(): void;
}

export function makeTestDirs(prefix = 'bw-daemon-', user?: { uid: number; gid: number }, base = tmpdir()): TestDirs {
  const root = mkdtempSync(join(base, prefix));
  const watch = join(root, 'blog');
  const airplanes = join(root, 'airplanes');
  mkdirSync(watch);
  mkdirSync(airplanes);
  if (user) for (const dir of [root, watch, airplanes]) chownSync(dir, user.uid, user.gid);
  return {
    root,
    watch,
    airplanes,
    db: join(root, 'birdwatch.db'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * For a test file: returns a makeTestDirs that remembers what it made, and registers hooks that stop every daemon
 * after each test and then remove those folders.
 */
export function useTestDirs(): typeof makeTestDirs {
  const made: TestDirs[] = [];
  afterEach(async () => {
    await killAllDaemons();
    for (const dirs of made.splice(0)) dirs.cleanup();
  });
  afterAll(killAllDaemons);
  return (...args) => {
    const dirs = makeTestDirs(...args);
    made.push(dirs);
    return dirs;
  };
}

/** A camera `name` with its folders `ROOT/NAME-blog` and `ROOT/NAME-airplanes`, created. */
export function makeCamera(root: string, name: string): { name: string; watch: string; airplanes: string } {
  const camera = { name, watch: join(root, `${name}-blog`), airplanes: join(root, `${name}-airplanes`) };
  mkdirSync(camera.watch, { recursive: true });
  mkdirSync(camera.airplanes, { recursive: true });
  return camera;
}

/** Writes a JSON config file into dirs.root and returns its path. */
export function writeConfigFile(dirs: TestDirs, config: Record<string, unknown>, name = 'config.json'): string {
  const file = join(dirs.root, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Starts `birdwatch run` on dirs (--watch --airplanes --db), with `extraArgs` after them.
 * Short stall/quiet defaults suited to tests are NOT applied: pass e.g. ['--stall-ms', '2000'].
 */
export function startDaemon(dirs: TestDirs, extraArgs: string[] = [], options: SpawnOptions = {}): DaemonProcess {
  return new DaemonProcess(
    ['run', '--watch', dirs.watch, '--airplanes', dirs.airplanes, '--db', dirs.db, ...extraArgs],
    options,
  );
}

/** Runs a CLI command to completion. */
export function runCli(
  args: string[],
  options: SpawnOptions & { input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const run = cliFor(options.user);
    const child = spawn(process.execPath, [run.cli, ...args], {
      cwd: options.cwd ?? run.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.user ?? {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', fail);
    // 'close', not 'exit': a process can exit before its pipes are read to the end (a loaded machine lost a
    // config error's one line that way), and 'close' comes after both.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A daemon log line `message ... path=FILE` (the logger quotes paths with spaces or odd characters). */
export function pathLine(message: string, file: string): RegExp {
  const shown = /^[\w./:@+-]*$/.test(file) ? file : JSON.stringify(file);
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${escape(message)}[^\n]*path=${escape(shown)}`);
}

/** The daemon's own words that it skipped `file` as already decided (debug level). */
export function alreadyDecidedLine(file: string): RegExp {
  return pathLine('already decided', file);
}

/**
 * Every entry under root (relative paths, folders excluded, sorted), not following symlinks; throws for a missing
 * root. Safe while a daemon moves files: an entry gone between listing and looking is skipped.
 */
export function listTree(root: string): string[] {
  const found: string[] = [];
  const walk = (rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch (err) {
      if (rel === '') throw err;
      return; // a subfolder moved or deleted while listing
    }
    for (const name of names) {
      const entry = rel ? join(rel, name) : name;
      let stat;
      try {
        stat = lstatSync(join(root, entry));
      } catch {
        continue; // moved or deleted while listing
      }
      if (stat.isDirectory()) walk(entry);
      else found.push(entry);
    }
  };
  walk('');
  return found.sort();
}
