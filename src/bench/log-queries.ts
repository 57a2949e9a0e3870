// The log-query benchmark: a one-million-decision log (the daemon's real schema and migrations) in a temp folder,
// then `log` (default and each filter) and `stats` timed on it, with the query plan of each log query.
// `npm run bench` calls benchLogQueries(); `node dist/bench/log-queries.js [--rows N] [--keep]` runs it alone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openDatabase } from '../db/index.js';
import type { DecisionFilter } from '../query/decision-filter.js';
import { choosePathStrategy, decisionQuery, listDecisions } from '../query/decision-list.js';
import { openLogReadOnly } from '../query/open-log.js';
import { computeStats, type StatsFilter } from '../query/stats.js';

export interface LogBenchOptions {
  /** Decisions to generate (default 1,000,000). */
  rows?: number;
  /** Timed repetitions of each query; the median and the worst are reported (default 5). */
  repeats?: number;
  /** Keep the generated database (its path is printed) instead of deleting it. */
  keep?: boolean;
  progress?: (line: string) => void;
}

const DAY = 86_400_000;
const cameras = ['garden', 'pond', 'roof'];
const errorKinds = ['truncated', 'corrupt', 'not-image', 'too-large', 'unsupported'];

export async function benchLogQueries(options: LogBenchOptions = {}): Promise<string> {
  const rows = options.rows ?? 1_000_000;
  const repeats = options.repeats ?? 5;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`bench: ${line}\n`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'birdwatch-log-bench-'));
  const file = path.join(dir, 'birdwatch.db');
  try {
    progress(`log queries: generating ${rows.toLocaleString('en')} decisions in ${file}`);
    const now = Date.now();
    const generated = timeOnce(() => generateLog(file, rows, now));
    const size = fs.statSync(file).size;
    progress(
      `log queries: generated in ${(generated / 1000).toFixed(1)} s (${(size / 2 ** 20).toFixed(0)} MiB); timing`,
    );

    const db = openLogReadOnly(file);
    const lines: string[] = [];
    try {
      const rel = (ms: number): number => now - ms;
      const logCases: Array<[string, DecisionFilter, number | undefined]> = [
        ['log (newest 50)', {}, 50],
        ['log --since 2h', { sinceMs: rel(2 * 3_600_000) }, 50],
        ['log --since 30d --until 29d', { sinceMs: rel(30 * DAY), untilMs: rel(29 * DAY) }, 50],
        ['log --camera pond', { camera: 'pond' }, 50],
        ['log --label bird', { label: 'bird' }, 50],
        ['log --action failed', { action: 'failed' }, 50],
        ['log --min-p 0.4 --max-p 0.6', { minPAirplane: 0.4, maxPAirplane: 0.6 }, 50],
        ['log --path IMG_ (common)', { pathContains: 'IMG_' }, 50],
        ['log --path IMG_0500000 (one file: path indexes scanned)', { pathContains: 'IMG_0500000' }, 50],
        ['log --corrected', { corrected: true }, 50],
        ['log --camera roof --action moved --since 7d', { camera: 'roof', action: 'moved', sinceMs: rel(7 * DAY) }, 50],
        ['log --json --since 1d (every row)', { sinceMs: rel(DAY) }, undefined],
      ];
      lines.push(
        `Log queries on ${rows.toLocaleString('en')} decisions (${(size / 2 ** 20).toFixed(0)} MiB database, ` +
          `generated in ${(generated / 1000).toFixed(1)} s; median and worst of ${repeats} runs, in process):`,
        '',
        '| query | rows | median ms | worst ms | plan (decisions) |',
        '|---|---:|---:|---:|---|',
      );
      for (const [name, filter, limit] of logCases) {
        let count = 0;
        const times = repeat(repeats, () => {
          count = 0;
          for (const _ of listDecisions(db, filter, limit)) count++;
        });
        lines.push(
          `| \`${name}\` | ${count} | ${fmtMs(median(times))} | ${fmtMs(Math.max(...times))} | ` +
            `${planOf(db, filter, limit)} |`,
        );
      }
      const statsCases: Array<[string, StatsFilter]> = [
        ['stats (everything)', {}],
        ['stats --camera pond', { camera: 'pond' }],
        ['stats --since 7d', { sinceMs: rel(7 * DAY) }],
        ['stats --since 30d --camera roof', { sinceMs: rel(30 * DAY), camera: 'roof' }],
      ];
      for (const [name, filter] of statsCases) {
        let decisions = 0;
        const times = repeat(repeats, () => {
          decisions = computeStats(db, filter).decisions;
        });
        lines.push(
          `| \`${name}\` | ${decisions} | ${fmtMs(median(times))} | ${fmtMs(Math.max(...times))} | ` +
            'index-only range counts on decisions_camera_action_label_time; percentiles on decisions_latency |',
        );
      }
    } finally {
      db.close();
    }
    // What a member waits for: the whole command, node start-up included.
    const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
    lines.push('', '| command (node start-up included) | median ms | worst ms |', '|---|---:|---:|');
    for (const args of [['log'], ['log', '--since', '2h', '--json'], ['stats'], ['stats', '--json', '--since', '7d']]) {
      const times = repeat(Math.min(repeats, 3), () => {
        const result = spawnSync(process.execPath, [cli, ...args, '--db', file], { encoding: 'utf8' });
        if (result.status !== 0) throw new Error(`birdwatch ${args.join(' ')} failed: ${result.stderr}`);
      });
      lines.push(`| \`birdwatch ${args.join(' ')}\` | ${fmtMs(median(times))} | ${fmtMs(Math.max(...times))} |`);
    }
    if (options.keep) lines.push('', `(database kept at ${file})`);
    return lines.join('\n') + '\n';
  } finally {
    if (!options.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A year of decisions ending now, three cameras, ~12% moved, ~1% failed, 0.2% corrected. Indexes are dropped for
 * the bulk insert and rebuilt from their own definitions afterwards (much faster than updating ten indexes per row).
 */
export function generateLog(file: string, rows: number, now: number): void {
  openDatabase(file).close(); // the daemon's schema, all migrations
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const indexes = db
      .prepare(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
      AND tbl_name IN ('decisions', 'corrections')`,
      )
      .all() as Array<{ name: string; sql: string }>;
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
    const insert = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, size, sha256, mtime_ms,
      width, height, format, p_airplane, p_bird, label, threshold, action, error, error_kind, model_id, provider,
      latency_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1920, 1080, 'jpeg', ?, ?, ?, 0.83, ?, ?, ?, 'fe138713e184', 'cpu', ?)`);
    const correct = db.prepare(`INSERT INTO corrections (decision_id, time, time_ms, label, kind, from_path, to_path)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    let seed = 42;
    const random = (): number => {
      // mulberry32: the same log every run
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const hex = (): string =>
      Math.floor(random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    const start = now - 365 * DAY;
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const timeMs = start + Math.floor(((i + random()) * 365 * DAY) / rows);
        const time = new Date(timeMs).toISOString();
        const camera = cameras[i % cameras.length]!;
        const name = `/srv/blog/${camera}/${time.slice(0, 10)}/IMG_${String(i).padStart(7, '0')}.jpg`;
        const failed = random() < 0.01;
        const airplaneish = random() < 0.14;
        const pAirplane = failed ? null : airplaneish ? 0.5 + 0.5 * random() : 0.5 * random() ** 2;
        const label = pAirplane === null ? null : pAirplane >= 0.5 ? 'airplane' : 'bird';
        const action = failed ? 'failed' : pAirplane! >= 0.83 ? 'moved' : 'kept';
        const finalPath = action === 'moved' ? name.replace('/srv/blog/', '/srv/airplanes/') : name;
        const sha = hex() + hex() + hex() + hex() + hex() + hex() + hex() + hex();
        const latency = failed
          ? null
          : Math.round((8 + 30 * random() + (random() < 0.02 ? 400 * random() : 0)) * 100) / 100;
        const kind = failed ? errorKinds[Math.floor(random() * errorKinds.length)]! : null;
        const id = Number(
          insert.run(
            time,
            timeMs,
            camera,
            name,
            finalPath,
            200_000 + Math.floor(random() * 2e6),
            sha,
            timeMs - 500,
            pAirplane,
            pAirplane === null ? null : 1 - pAirplane,
            label,
            action,
            kind === null ? null : `${kind}: generated`,
            kind,
            latency,
          ).lastInsertRowid,
        );
        if (random() < 0.002 && action !== 'failed') {
          const later = timeMs + 3_600_000;
          const restore = action === 'moved' && random() < 0.7;
          correct.run(
            id,
            new Date(later).toISOString(),
            later,
            restore ? 'bird' : action === 'moved' ? 'airplane' : 'bird',
            restore ? 'restore' : 'mark',
            finalPath,
            restore ? name : null,
          );
        }
      }
    })();
    for (const index of indexes) db.exec(index.sql);
    db.pragma('journal_mode = WAL'); // as the daemon leaves it
  } finally {
    db.close();
  }
}

function planOf(db: Database.Database, filter: DecisionFilter, limit: number | undefined): string {
  const { sql, params } = decisionQuery(filter, limit, choosePathStrategy(db, filter, limit));
  const steps = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map(
    (step) => step.detail,
  );
  const main = steps.filter((detail) => / d( |$)/.test(detail) || /TEMP B-TREE/.test(detail));
  if (/ IN \(\?/.test(sql)) main.push('ids from decisions_path + decisions_final_path');
  return main.join('; ');
}

function timeOnce(fn: () => void): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

function repeat(times: number, fn: () => void): number[] {
  fn(); // warm-up: the first run pays for reading pages from disk
  return Array.from({ length: times }, () => timeOnce(fn));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function fmtMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(0);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, repeats: { type: 'string' }, keep: { type: 'boolean' } },
  });
  benchLogQueries({
    rows: values.rows === undefined ? undefined : Number(values.rows),
    repeats: values.repeats === undefined ? undefined : Number(values.repeats),
    keep: values.keep,
  }).then(
    (table) => process.stdout.write(table),
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
