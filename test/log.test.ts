// `birdwatch log` on a database filled by the real daemon (still running: queries read beside it): every filter,
// each output format (CSV parsed back with an independent RFC 4180 reader), usage errors, and the query plans.
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { decisionQuery } from '../src/query/decision-list.js';
import type { DecisionFilter } from '../src/query/decision-filter.js';
import { renderTable } from '../src/cli-kit/table.js';
import type { Decision } from './helpers/decisions.js';
import { jsonLines, parseCsv, shots, useWorld } from './log-shared.js';

const world = useWorld('bw-log-');
let all: Decision[];

beforeAll(async () => {
  all = world.rows();
});

/** Newest first, as log orders them. */
const newestFirst = (rows: Decision[]): number[] =>
  [...rows].sort((a, b) => b.time_ms - a.time_ms || b.id - a.id).map((r) => r.id);

async function logIds(...args: string[]): Promise<number[]> {
  const result = await world.cli(['log', '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return jsonLines(result.stdout).map((r) => r.id as number);
}

const localDay = (ms: number): string => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

describe('birdwatch log', () => {
  it('lists every decision once, newest first, with the documented JSON fields', async () => {
    const total = Object.values(shots).reduce((n, c) => n + c.planes.length + c.birds.length + c.broken.length, 0);
    expect(all).toHaveLength(total);
    const result = await world.cli(['log', '--json']);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map((r) => r.id)).toEqual(newestFirst(all));
    for (const line of lines) {
      const row = all.find((r) => r.id === line.id)!;
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(line.time).toBe(row.time);
      expect(line.path).toBe(row.path);
      expect(line.final_path).toBe(row.final_path);
      expect(line.final_path.startsWith('/')).toBe(true);
      expect(line.label).toBe(row.label);
      expect(line.action).toBe(row.action);
      expect(line.error).toBe(row.error);
      expect(line.probabilities).toEqual(
        row.p_airplane === null ? null : { airplane: row.p_airplane, bird: row.p_bird },
      );
      for (const key of ['camera', 'threshold', 'model_id', 'provider', 'latency_ms', 'size', 'sha256']) {
        expect(line[key], key).toEqual(row[key as keyof Decision]);
      }
      expect(line).toHaveProperty('corrected_label', null);
      expect(line).toHaveProperty('corrected_at', null);
    }
    const moved = lines.filter((r) => r.action === 'moved');
    expect(moved).toHaveLength(shots.garden.planes.length + shots.pond.planes.length);
    const failed = lines.find((r) => r.action === 'failed')!;
    expect(failed.error).toBeTruthy();
    expect(failed.probabilities).toBeNull();
  });

  it('filters by camera, label, action, P(airplane) range and path substring', async () => {
    const expectFilter = async (args: string[], keep: (r: Decision) => boolean): Promise<void> => {
      const expected = newestFirst(all.filter(keep));
      expect(await logIds(...args), args.join(' ')).toEqual(expected);
    };
    await expectFilter(['--camera', 'pond'], (r) => r.camera === 'pond');
    await expectFilter(['--camera', 'nowhere'], () => false);
    await expectFilter(['--label', 'bird'], (r) => r.label === 'bird');
    await expectFilter(['--label', 'airplane'], (r) => r.label === 'airplane');
    await expectFilter(['--action', 'moved'], (r) => r.action === 'moved');
    await expectFilter(['--action', 'kept'], (r) => r.action === 'kept');
    await expectFilter(['--action', 'failed'], (r) => r.action === 'failed');
    await expectFilter(['--min-p', '0.5'], (r) => r.p_airplane !== null && r.p_airplane >= 0.5);
    await expectFilter(['--max-p', '0.5'], (r) => r.p_airplane !== null && r.p_airplane <= 0.5);
    const someP = all.find((r) => r.label === 'airplane')!.p_airplane!;
    await expectFilter(['--min-p', String(someP), '--max-p', String(someP)], (r) => r.p_airplane === someP);
    await expectFilter(['--path', 'plane'], (r) => r.path.includes('plane') || r.final_path.includes('plane'));
    // Moved shots match on where they went, too; '%' and '_' are literal characters, not wildcards.
    await expectFilter(['--path', 'garden-airplanes/2026'], (r) => r.final_path.includes('garden-airplanes/2026'));
    await expectFilter(['--path', '"quoted"'], (r) => r.path.includes('"quoted"'));
    await expectFilter(['--path', '%'], () => false);
    await expectFilter(
      ['--camera', 'garden', '--action', 'kept', '--label', 'bird'],
      (r) => r.camera === 'garden' && r.action === 'kept' && r.label === 'bird',
    );
    expect(await logIds('--limit', '3')).toEqual(newestFirst(all).slice(0, 3));
  });

  it('finds the same rows for --path through the path indexes as by testing every row', () => {
    const db = new Database(world.dirs.db, { readonly: true, fileMustExist: true });
    try {
      for (const text of ['plane', 'wren', '"quoted"', 'garden-airplanes/', 'nothing-like-this']) {
        const walked = db
          .prepare(decisionQuery({ pathContains: text }).sql)
          .all(...decisionQuery({ pathContains: text }).params) as Array<{ id: number }>;
        const ids = db
          .prepare(
            `SELECT id FROM decisions INDEXED BY decisions_path WHERE instr(path, ?) > 0
          UNION SELECT id FROM decisions INDEXED BY decisions_final_path WHERE instr(final_path, ?) > 0`,
          )
          .pluck()
          .all(text, text) as number[];
        const viaIds = decisionQuery({ pathContains: text }, undefined, { pathMatchIds: ids });
        const looked = db.prepare(viaIds.sql).all(...viaIds.params) as Array<{ id: number }>;
        expect(
          looked.map((r) => r.id),
          text,
        ).toEqual(walked.map((r) => r.id));
      }
    } finally {
      db.close();
    }
  });

  it('filters by time: absolute instants, relative ages and whole local days', async () => {
    const ordered = [...all].sort((a, b) => a.time_ms - b.time_ms);
    const middle = ordered[Math.floor(ordered.length / 2)]!;
    const since = newestFirst(all.filter((r) => r.time_ms >= middle.time_ms));
    const until = newestFirst(all.filter((r) => r.time_ms < middle.time_ms));
    expect(await logIds('--since', middle.time)).toEqual(since);
    expect(await logIds('--until', middle.time)).toEqual(until);
    // The same instant written as local time with an offset.
    const offset = new Date(middle.time_ms + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    expect(await logIds('--since', offset)).toEqual(since);
    expect(await logIds('--since', '1h')).toEqual(newestFirst(all));
    expect(await logIds('--since', '30m', '--until', '10m')).toEqual([]);
    expect(await logIds('--until', '2h')).toEqual([]);
    // The local days of the first and the last decision: one day, or two when the run crossed midnight.
    const firstDay = localDay(ordered[0]!.time_ms);
    const lastDay = localDay(ordered.at(-1)!.time_ms);
    const yesterday = localDay(ordered[0]!.time_ms - 86_400_000 * 1.5);
    expect(await logIds('--since', firstDay, '--until', lastDay)).toEqual(newestFirst(all));
    expect(await logIds('--since', lastDay, '--until', lastDay)).toEqual(
      newestFirst(all.filter((r) => localDay(r.time_ms) === lastDay)),
    );
    expect(await logIds('--until', yesterday)).toEqual([]);
  });

  it('lists only corrected decisions with --corrected, showing the latest correction', async () => {
    expect(await logIds('--corrected')).toEqual([]);
    const robin = world.row(world.garden, 'robin.jpg');
    const marked = await world.cli(['mark', String(robin.id), '--label', 'airplane']);
    expect(marked.stderr).toBe('');
    expect(marked.code).toBe(0);
    const again = await world.cli(['mark', String(robin.id), '--label', 'bird']);
    expect(again.code).toBe(0);
    const result = await world.cli(['log', '--json', '--corrected']);
    const lines = jsonLines(result.stdout);
    expect(lines.map((r) => r.id)).toEqual([robin.id]);
    expect(lines[0]!.corrected_label).toBe('bird');
    expect(lines[0]!.corrected_kind).toBe('mark');
    expect(lines[0]!.corrected_at).toMatch(/Z$/);
    // A correction never adds a decision row.
    expect(world.rows()).toHaveLength(all.length);
  });

  it('writes RFC 4180 CSV with a header row that parses back to the JSON output', async () => {
    const csv = await world.cli(['log', '--csv']);
    expect(csv.code).toBe(0);
    const records = parseCsv(csv.stdout);
    const [header, ...body] = records;
    expect(header).toContain('id');
    expect(header).toContain('final_path');
    const json = jsonLines((await world.cli(['log', '--json'])).stdout);
    expect(body).toHaveLength(json.length);
    const column = (name: string): number => header!.indexOf(name);
    body.forEach((record, i) => {
      expect(record).toHaveLength(header!.length);
      const line = json[i]!;
      expect(Number(record[column('id')])).toBe(line.id);
      expect(record[column('time')]).toBe(line.time);
      expect(record[column('path')]).toBe(line.path);
      expect(record[column('final_path')]).toBe(line.final_path);
      expect(record[column('action')]).toBe(line.action);
      expect(record[column('label')]).toBe(line.label ?? '');
      expect(record[column('error')]).toBe(line.error ?? '');
      expect(record[column('p_airplane')]).toBe(line.probabilities ? String(line.probabilities.airplane) : '');
    });
    expect(body.some((record) => record[column('path')]!.endsWith('odd, "quoted" name.jpg'))).toBe(true);
  });

  it('prints an aligned table that fits the width, and says when the limit cut it short', async () => {
    const result = await world.cli(['log']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*ID\s+TIME\s+CAMERA\s+ACTION\s+LABEL/);
    expect(lines).toHaveLength(all.length + 1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(120); // piped: 120 columns
    const limited = await world.cli(['log', '--limit', '2']);
    expect(limited.stdout).toMatch(/newest 2 shown/);
    // Sized to the terminal: the path column gives way, from the left.
    const rows = [{ path: '/a/very/long/folder/name/that/does/not/fit/shot.jpg', id: '7' }];
    const table = renderTable(
      rows,
      [
        { header: 'ID', value: (r) => r.id, align: 'right' },
        { header: 'PATH', value: (r) => r.path, flexible: true },
      ],
      30,
    );
    for (const line of table.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(30);
    expect(table).toContain('…');
    expect(table).toContain('shot.jpg');
  });

  it('refuses bad arguments with exit code 2 and a one-line reason', async () => {
    for (const args of [
      ['--label', 'cat'],
      ['--action', 'deleted'],
      ['--since', 'yesterday'],
      ['--min-p', '2'],
      ['--since', '2026-02-31'],
      ['--json', '--csv'],
      ['--limit', '0'],
      ['--bogus'],
    ]) {
      const result = await world.cli(['log', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^birdwatch: /);
      expect(result.stdout).toBe('');
    }
  });

  it('uses an index for every filtered query (EXPLAIN QUERY PLAN), never a full table scan', () => {
    const db = new Database(world.dirs.db, { readonly: true, fileMustExist: true });
    try {
      const filters: Record<string, DecisionFilter> = {
        none: {},
        since: { sinceMs: 1 },
        until: { untilMs: 2 ** 42 },
        range: { sinceMs: 1, untilMs: 2 ** 42 },
        camera: { camera: 'pond' },
        label: { label: 'bird' },
        action: { action: 'failed' },
        pRange: { minPAirplane: 0.2, maxPAirplane: 0.9 },
        path: { pathContains: 'plane' },
        corrected: { corrected: true },
        combined: { camera: 'garden', action: 'moved', sinceMs: 1 },
      };
      for (const [name, filter] of Object.entries(filters)) {
        const { sql, params } = decisionQuery(filter, 50);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map(
          (step) => step.detail,
        );
        const decisionsAccess = plan.find((detail) => / d( |$)/.test(detail))!;
        expect(decisionsAccess, `${name}: ${plan.join(' | ')}`).toMatch(
          /^(SEARCH|SCAN) d USING (COVERING )?INDEX |^SEARCH d USING INTEGER PRIMARY KEY/,
        );
        expect(plan.join(' | '), name).not.toMatch(/SCAN d( \||$)/);
        // Newest first comes from the time index itself, except for --corrected (a handful of rows).
        if (name !== 'corrected') expect(plan.join(' | '), name).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
      }
      // A rare --path substring, resolved to ids from the path indexes: rows fetched by id, none scanned.
      const rare = decisionQuery({ pathContains: 'wren' }, 50, { pathMatchIds: [2, 3] });
      const rarePlan = (db.prepare(`EXPLAIN QUERY PLAN ${rare.sql}`).all(...rare.params) as Array<{ detail: string }>)
        .map((step) => step.detail)
        .join(' | ');
      expect(rarePlan).toMatch(/SEARCH d USING INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(rarePlan).not.toMatch(/SCAN d/);
    } finally {
      db.close();
    }
  });
});
