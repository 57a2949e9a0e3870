// The real daemon (`node dist/cli.js run`) as a child process on temporary folders, measured from outside:
// throughput (drop all files at once, until every one is logged), latency from last write to logged decision at a
// steady rate, and peak RSS (VmHWM). The decision log is polled read-only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { percentile } from './stats.js';

export interface DaemonOptions {
  cli: string;
  model: string;
  log: (line: string) => void;
  extraFlags?: string[];
}

export interface ThroughputResult {
  files: number;
  seconds: number;
  imagesPerSecond: number;
  cpuMsPerImage: number;
  failed: number;
  peakRssMb: number;
}
export interface LatencyResult {
  files: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failed: number;
  peakRssMb: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class DaemonUnderTest {
  private readonly child: ChildProcess;
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private db: Database.Database | null = null;
  readonly blog: string;
  readonly dbPath: string;

  constructor(
    readonly root: string,
    options: DaemonOptions,
  ) {
    this.blog = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    mkdirSync(this.blog, { recursive: true });
    mkdirSync(airplanes, { recursive: true });
    this.dbPath = join(root, 'birdwatch.db');
    this.child = spawn(
      process.execPath,
      [
        options.cli,
        'run',
        '--watch',
        this.blog,
        '--airplanes',
        airplanes,
        '--db',
        this.dbPath,
        '--model',
        options.model,
        '--provider',
        'cpu',
        ...(options.extraFlags ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
  }

  /** Waits for the daemon's 'ready' log line. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!/\bready\b/.test(this.output)) {
      if (this.exited) throw new Error(`daemon exited (${JSON.stringify(this.exited)}) before ready:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`daemon not ready after ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(20);
    }
    this.db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 2000');
  }

  counts(): { n: number; last: number | null; failed: number } {
    const row = this.db!.prepare(
      `SELECT COUNT(*) AS n, MAX(time_ms) AS last,
      COALESCE(SUM(action = 'failed'), 0) AS failed FROM decisions`,
    ).get() as { n: number; last: number | null; failed: number };
    return row;
  }

  decisionTimes(): Map<string, number> {
    const rows = this.db!.prepare('SELECT path, time_ms FROM decisions').all() as Array<{
      path: string;
      time_ms: number;
    }>;
    return new Map(rows.map((r) => [r.path, r.time_ms]));
  }

  async waitForDecisions(n: number, timeoutMs: number): Promise<{ n: number; last: number | null; failed: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = this.counts();
      if (counts.n >= n) return counts;
      if (this.exited)
        throw new Error(
          `daemon exited (${JSON.stringify(this.exited)}) with ${counts.n}/${n} decided:\n${this.tail()}`,
        );
      if (Date.now() > deadline)
        throw new Error(`only ${counts.n}/${n} decided after ${timeoutMs} ms:\n${this.tail()}`);
      // The figures come from the logged decision times, not from when this loop notices them: poll gently, so the
      // measuring process takes as little as possible of the CPU the daemon is measured on.
      await sleep(100);
    }
  }

  /** user + system CPU time of the daemon so far, in ms (from /proc/<pid>/stat, in clock ticks of 10 ms). */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  peakRssMb(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
    return kb / 1024;
  }

  tail(): string {
    return this.output.split('\n').slice(-15).join('\n');
  }

  async stop(): Promise<void> {
    this.db?.close();
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (!this.exited && Date.now() < deadline) await sleep(20);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

function tempRoot(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'birdwatch-bench-')));
}

/** Drop `files` into the watched folder at once (renamed in from a staging folder) and wait until all are logged. */
export async function daemonThroughput(files: string[], options: DaemonOptions): Promise<ThroughputResult> {
  const root = tempRoot();
  const staging = join(root, 'staging');
  mkdirSync(staging);
  const staged = files.map((file, i) => {
    const path = join(staging, `${String(i).padStart(5, '0')}-${basename(file)}`);
    copyFileSync(file, path);
    return path;
  });
  // Write the staged copies out now: left dirty, they would be flushed by the daemon's first fsync (ext4 commits
  // them with its journal), a stall that belongs to this setup, not to the daemon.
  execFileSync('sync');
  const daemon = new DaemonUnderTest(root, options);
  try {
    await daemon.ready();
    // Warm-up: the first decision pays for lazy initialisation; it is not timed.
    copyFileSync(files[0]!, join(daemon.blog, 'warm-up.jpg'));
    await daemon.waitForDecisions(1, 60_000);
    const cpuBefore = daemon.cpuMs();
    const started = Date.now();
    for (const path of staged) renameSync(path, join(daemon.blog, basename(path)));
    const done = await daemon.waitForDecisions(files.length + 1, 60_000 + files.length * 1000);
    const seconds = ((done.last ?? Date.now()) - started) / 1000;
    return {
      files: files.length,
      seconds,
      imagesPerSecond: files.length / seconds,
      failed: done.failed,
      cpuMsPerImage: (daemon.cpuMs() - cpuBefore) / files.length,
      peakRssMb: daemon.peakRssMb(),
    };
  } finally {
    await daemon.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Write `count` files into the watched folder at `rate` per second; latency = logged time - end of the write. */
export async function daemonLatency(
  files: string[],
  count: number,
  rate: number,
  options: DaemonOptions,
): Promise<LatencyResult> {
  const root = tempRoot();
  const contents = files.slice(0, Math.min(files.length, 64)).map((file) => readFileSync(file));
  const daemon = new DaemonUnderTest(root, options);
  try {
    await daemon.ready();
    await writeFile(join(daemon.blog, 'warm-up.jpg'), contents[0]!);
    await daemon.waitForDecisions(1, 60_000);
    const written = new Map<string, number>();
    const started = performance.now();
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const path = join(daemon.blog, `shot-${String(i).padStart(5, '0')}.jpg`);
      writes.push(
        writeFile(path, contents[i % contents.length]!).then(() => {
          written.set(path, Date.now());
        }),
      );
    }
    await Promise.all(writes);
    const done = await daemon.waitForDecisions(count + 1, 60_000 + count * 1000);
    const decided = daemon.decisionTimes();
    const latencies = [...written].map(([path, at]) => (decided.get(path) ?? Number.NaN) - at).filter(Number.isFinite);
    return {
      files: count,
      rate,
      failed: done.failed,
      peakRssMb: daemon.peakRssMb(),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
    };
  } finally {
    await daemon.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
