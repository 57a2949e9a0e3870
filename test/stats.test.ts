// `birdwatch stats` on a database filled by the real daemon: every count checked against the rows themselves,
// the camera and time filters, corrections by direction after real restore/mark commands, both percentile paths,
// and the query plans (index-only range counts, the latency index).
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  computeStats,
  countRangeSql,
  failuresSql,
  latencyRangeSql,
  nearestRank,
  occursSql,
  percentileSql,
  untimedSql,
} from '../src/query/stats.js';
import type { Decision } from './helpers/decisions.js';
import { useWorld } from './log-shared.js';

const world = useWorld('bw-stats-');
let all: Decision[];

beforeAll(async () => {
  all = world.rows();
});

async function statsJson(...args: string[]): Promise<Record<string, any>> {
  const result = await world.cli(['stats', '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

const count = (rows: Decision[], keep: (r: Decision) => boolean): number => rows.filter(keep).length;
const localDay = (ms: number): string => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

function expectCountsOf(stats: Record<string, any>, rows: Decision[]): void {
  expect(stats.decisions).toBe(rows.length);
  expect(stats.per_action).toEqual({
    moved: count(rows, (r) => r.action === 'moved'),
    kept: count(rows, (r) => r.action === 'kept'),
    failed: count(rows, (r) => r.action === 'failed'),
  });
  expect(stats.per_label).toEqual({
    airplane: count(rows, (r) => r.label === 'airplane'),
    bird: count(rows, (r) => r.label === 'bird'),
    none: count(rows, (r) => r.label === null),
  });
  expect(stats.airplanes_moved).toBe(stats.per_action.moved);
  const cameras = [...new Set(rows.map((r) => r.camera))].sort();
  expect(stats.per_camera.map((c: any) => c.camera)).toEqual(cameras);
  for (const entry of stats.per_camera) {
    const mine = rows.filter((r) => r.camera === entry.camera);
    expect(entry).toEqual({
      camera: entry.camera,
      decisions: mine.length,
      moved: count(mine, (r) => r.action === 'moved'),
      kept: count(mine, (r) => r.action === 'kept'),
      failed: count(mine, (r) => r.action === 'failed'),
    });
  }
  const days = [...new Set(rows.map((r) => localDay(r.time_ms)))].sort();
  expect(stats.per_day.map((d: any) => d.day)).toEqual(days);
  expect(stats.per_day.reduce((n: number, d: any) => n + d.decisions, 0)).toBe(rows.length);
  const kinds = new Map<string, number>();
  for (const r of rows.filter((r) => r.action === 'failed'))
    kinds.set(r.error_kind!, (kinds.get(r.error_kind!) ?? 0) + 1);
  expect(stats.failures_by_kind).toEqual([...kinds].map(([error_kind, n]) => ({ error_kind, count: n })));
  // The rows' own latencies, ranked by the stats' one definition of a percentile (null of no values: a filtered set
  // may hold only failures, depending on the order the daemon decided the shots in).
  const latencies = rows
    .map((r) => r.latency_ms)
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b);
  expect(stats.latency_ms.count).toBe(latencies.length);
  expect(stats.latency_ms.p50).toBe(nearestRank(latencies, 0.5));
  expect(stats.latency_ms.p99).toBe(nearestRank(latencies, 0.99));
}

describe('birdwatch stats', () => {
  it('ranks percentiles by nearest rank, and a percentile of no values is null', () => {
    expect(nearestRank([], 0.5)).toBeNull();
    expect(nearestRank(new Float64Array(0), 0.99)).toBeNull();
    expect(nearestRank([7], 0.01)).toBe(7);
    expect(nearestRank([1, 2, 3, 4], 0.5)).toBe(2);
    expect(nearestRank([1, 2, 3, 4], 0.51)).toBe(3);
    expect(nearestRank([1, 2, 3, 4], 0.99)).toBe(4);
  });

  it('counts per day, camera, label and action, failures by kind and latency percentiles', async () => {
    const stats = await statsJson();
    expectCountsOf(stats, all);
    expect(stats.failures_by_kind.length).toBeGreaterThan(0);
    expect(stats.corrections.corrected_decisions).toBe(0);
  });

  it('narrows to one camera and to a time range', async () => {
    expectCountsOf(
      await statsJson('--camera', 'pond'),
      all.filter((r) => r.camera === 'pond'),
    );
    const ordered = [...all].sort((a, b) => a.time_ms - b.time_ms);
    const middle = ordered[Math.floor(ordered.length / 2)]!;
    expectCountsOf(
      await statsJson('--since', middle.time),
      all.filter((r) => r.time_ms >= middle.time_ms),
    );
    expectCountsOf(
      await statsJson('--until', middle.time, '--camera', 'garden'),
      all.filter((r) => r.time_ms < middle.time_ms && r.camera === 'garden'),
    );
    const none = await statsJson('--until', '2h');
    expect(none.decisions).toBe(0);
    const table = await world.cli(['stats', '--until', '2h']);
    expect(table.stdout).toMatch(/no decisions/);
  });

  it('counts corrections by direction after real restore and mark commands', async () => {
    const wrongPlane = world.row(world.garden, 'plane-two.jpg');
    const rightPlane = world.row(world.garden, '2026/plane one.jpg');
    const wrongBird = world.row(world.garden, 'sub/wren.jpg');
    const broken = world.row(world.garden, 'broken.jpg');
    for (const args of [
      ['restore', String(wrongPlane.id)],
      ['mark', String(rightPlane.id), '--label', 'airplane'],
      ['mark', String(wrongBird.id), '--label', 'airplane'],
      ['mark', String(broken.id), '--label', 'bird'],
    ]) {
      const result = await world.cli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
    const stats = await statsJson();
    expect(stats.corrections).toEqual({
      corrected_decisions: 4,
      bird_moved_as_airplane: 1,
      airplane_kept_as_bird: 1,
      confirmed_moved: 1,
      confirmed_kept: 0,
      labelled_failures: 1,
      model_wrong: 2,
      wrong_share_of_reviewed: 2 / 3,
    });
    expectCountsOf(stats, world.rows()); // corrections never count as decisions
    const table = await world.cli(['stats']);
    expect(table.stdout).toMatch(/bird moved as airplane: 1/);
    expect(table.stdout).toMatch(/airplane kept as bird: +1/);
    expect(table.stdout).toMatch(/latency: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(table.stdout).toMatch(/CAMERA\s+DECISIONS\s+MOVED\s+KEPT\s+FAILED/);
  });

  it('gives the same percentiles by walking the latency index as by sorting in memory', () => {
    const db = new Database(world.dirs.db, { readonly: true, fileMustExist: true });
    try {
      for (const camera of [undefined, 'garden']) {
        const inMemory = computeStats(db, { camera });
        const walked = computeStats(db, { camera }, { inMemoryPercentileLimit: 0 });
        expect(walked.latency_ms).toEqual(inMemory.latency_ms);
        expect(walked.latency_ms.p50).not.toBeNull();
      }
    } finally {
      db.close();
    }
  });

  it('answers from indexes: covering range counts and an ordered walk of the latency index', () => {
    const db = new Database(world.dirs.db, { readonly: true, fileMustExist: true });
    try {
      const plan = (sql: string, ...params: unknown[]): string =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
          .map((s) => s.detail)
          .join(' | ');
      const seek =
        /SEARCH decisions USING COVERING INDEX decisions_camera_action_label_time \(camera=\? AND action=\? AND label=\? AND time_ms>\? AND time_ms<\?\)/;
      expect(plan(countRangeSql, 'garden', 'kept', 'bird', 0, 1)).toMatch(seek);
      expect(plan(countRangeSql, 'garden', 'failed', null, 0, 1)).toMatch(seek);
      expect(plan(latencyRangeSql, 'garden', 'kept', 'bird', 0, 1)).toMatch(seek);
      expect(plan(occursSql, 'garden', 'kept', 'bird', 0, 1)).toMatch(seek);
      expect(plan(failuresSql, 'garden', 0, 1)).toMatch(seek);
      expect(plan(untimedSql(false), 0, 1)).toMatch(
        /SEARCH decisions USING COVERING INDEX decisions_latency \(latency_ms=\?\)/,
      );
      expect(plan(untimedSql(true), 0, 1, 'garden')).toMatch(
        /SEARCH decisions USING COVERING INDEX decisions_latency \(latency_ms=\?\)/,
      );
      for (const order of ['ASC', 'DESC'] as const) {
        for (const withCamera of [false, true]) {
          const params = withCamera ? [0, 1, 'garden', 0] : [0, 1, 0];
          const steps = plan(percentileSql(order, withCamera), ...params);
          expect(steps).toMatch(/decisions USING COVERING INDEX decisions_latency/);
          expect(steps).not.toMatch(/TEMP B-TREE/);
        }
      }
    } finally {
      db.close();
    }
  });
});
