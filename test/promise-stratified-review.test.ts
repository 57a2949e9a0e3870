// The stratified review end to end on a real SQLite file with the real CLI: `birdwatch review-sample` draws the
// shots the model scored high three times in four (calibration.sampling "stratified", the default) and records how
// each was drawn; labels on those draws make `calibrate` weigh them back, and it certifies a budget that the same
// birds drawn uniformly could not; the daemon applies that threshold by itself; `stats` says the review was
// stratified. With "uniform" the draws are recorded so.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moreBirdsNeeded } from '../src/calibrate/bound.js';
import { STRATUM_CUT } from '../src/calibrate/stratified.js';
import { stratumSizes } from '../src/calibrate/stratum-sizes.js';
import { openDatabase } from '../src/db/index.js';
import { recordReview } from '../src/review/sample.js';
import {
  DaemonProcess,
  killAllDaemons,
  makeTestDirs,
  REPO,
  runCli,
  writeConfigFile,
  type TestDirs,
} from './helpers/daemon.js';
import { query } from './helpers/decisions.js';
import { random } from './helpers/seeded.js';
import { waitFor } from './helpers/wait.js';

const MODEL = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const MODEL_ID = createHash('sha256').update(readFileSync(MODEL)).digest('hex').slice(0, 12);

// garden's 2,000 decided shots: 200 scored high (170 airplanes at 0.9-1.0, 30 birds at 0.5-0.8) and 1,800 low
// (1,700 birds and 100 airplanes below 0.45). The truth of each shot is what a member labels it.
const truth = new Map<number, 'bird' | 'airplane'>();
let dirs: TestDirs;
let configFile: string;

beforeAll(() => {
  dirs = makeTestDirs('bw-promise-stratified-');
  const db = openDatabase(dirs.db);
  const decide = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, p_airplane, p_bird,
      label, threshold, action, model_id) VALUES ('2026-12-01T10:00:00Z', 0, 'garden', ?, ?, ?, ?, ?, 0.95, ?, ?)`);
  const next = random(11);
  const shots = [
    ...Array.from({ length: 170 }, () => ({ label: 'airplane' as const, p: 0.9 + 0.0999 * next() })),
    ...Array.from({ length: 30 }, () => ({ label: 'bird' as const, p: 0.5 + 0.3 * next() })),
    ...Array.from({ length: 1700 }, () => ({ label: 'bird' as const, p: 0.45 * next() })),
    ...Array.from({ length: 100 }, () => ({ label: 'airplane' as const, p: 0.45 * next() })),
  ];
  // In a random order, as a camera would shoot them (the draws must not lean on ids).
  for (const [i, shot] of shots
    .map((s) => ({ s, key: next() }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.s)
    .entries()) {
    const id = Number(
      decide.run(
        `/x/${i}.jpg`,
        `/x/${i}.jpg`,
        shot.p,
        1 - shot.p,
        shot.p >= 0.5 ? 'airplane' : 'bird',
        shot.p >= 0.95 ? 'moved' : 'kept',
        MODEL_ID,
      ).lastInsertRowid,
    );
    truth.set(id, shot.label);
  }
  db.close();
  configFile = writeConfigFile(dirs, {
    cameras: [{ name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes }],
    db: dirs.db,
    model: MODEL,
    birdBudget: 0.02,
    calibration: { checkMs: 300 },
  });
}, 60_000);

afterAll(() => dirs.cleanup());

describe('the stratified review (calibration.sampling "stratified", the default)', () => {
  let drawn: Array<{ id: number; p_airplane: number }> = [];

  it('review-sample draws high-scoring shots about three times in four, and records the design', async () => {
    const result = await runCli(['review-sample', '200', '--json', '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    drawn = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; p_airplane: number });
    expect(new Set(drawn.map((d) => d.id)).size).toBe(200);
    const high = drawn.filter((d) => d.p_airplane >= STRATUM_CUT).length;
    // 150 expected (a binomial with sd 6: 120-180 is five of them); uniform draws would give 20 (10% of shots).
    expect(high).toBeGreaterThan(120);
    expect(high).toBeLessThan(180);
    expect(query(dirs.db, 'SELECT design, count(*) AS n FROM review_draws GROUP BY design')).toEqual([
      { design: 'stratified', n: 200 },
    ]);
  });

  it('calibrate weighs the labels back and certifies 2% from fewer birds than a uniform review needs', async () => {
    const db = openDatabase(dirs.db);
    try {
      for (const d of drawn) recordReview(db, d.id, truth.get(d.id), 'ann');
    } finally {
      db.close();
    }
    const result = await runCli(['calibrate', '--json', '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    const garden = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((row) => row.camera === 'garden')!;
    const birds = drawn.filter((d) => truth.get(d.id) === 'bird').length;
    expect(garden).toMatchObject({ camera: 'garden', design: 'stratified', birds, certified: true });
    expect(garden.bound as number).toBeLessThanOrEqual(0.02);
    expect(garden.threshold as number).toBeGreaterThanOrEqual(STRATUM_CUT);
    // The same birds from a uniform review: not enough (114 unmoved birds certify 2% at 90%).
    expect(birds).toBeLessThan(114);
    expect(moreBirdsNeeded(0, birds, 0.02, 0.9)).toBeGreaterThan(0);
    // And the truth: the share of garden's birds at or above the certified threshold is within the budget.
    const birdScores = query<{ id: number; p: number }>(dirs.db, 'SELECT id, p_airplane AS p FROM decisions').filter(
      (row) => truth.get(row.id) === 'bird',
    );
    const moved = birdScores.filter((b) => b.p >= (garden.threshold as number)).length;
    expect(moved / birdScores.length).toBeLessThanOrEqual(0.02);
  });

  it("the daemon's own calibration applies the same weighed-back threshold, with its row and log line", async () => {
    const calibrated = await runCli(['calibrate', '--json', '--config', configFile]);
    const expected = calibrated.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { camera: string | null; threshold: number; birds_moved: number })
      .find((row) => row.camera === 'garden')!;
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    try {
      await daemon.ready(60_000);
      await waitFor(
        () => query(dirs.db, 'SELECT 1 FROM threshold_changes').length > 0,
        30_000,
        () => `no threshold change:\n${daemon.tail()}`,
      );
      expect(query(dirs.db, 'SELECT camera, new_threshold, k, certified FROM threshold_changes')).toEqual([
        { camera: 'garden', new_threshold: expected.threshold, k: expected.birds_moved, certified: 1 },
      ]);
      await daemon.waitForOutput(/threshold changed.*certified: at most 2% of birds moved/, 10_000); // after its row
    } finally {
      await killAllDaemons();
    }
  });

  it('stats says the review was stratified and its shares are weighed back', async () => {
    const result = await runCli(['stats', '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/garden: certified: at most 2% of birds moved, 90% confidence, from 200 reviewed/);
    expect(result.stdout).toMatch(/stratified review; birds moved \d+ of \d+ \(weighed back: /);
  });

  it('with calibration.sampling "uniform" the draws are uniform and recorded so', async () => {
    const uniformConfig = writeConfigFile(
      dirs,
      {
        cameras: [{ name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes }],
        db: dirs.db,
        model: MODEL,
        calibration: { sampling: 'uniform' },
      },
      'uniform.json',
    );
    const result = await runCli(['review-sample', '100', '--json', '--config', uniformConfig]);
    expect(result.code, result.stderr).toBe(0);
    const ids = result.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(ids).toHaveLength(100);
    const designs = query<{ design: string }>(
      dirs.db,
      `SELECT design FROM review_draws WHERE decision_id IN (${ids.join(',')})`,
    );
    expect(designs.every((d) => d.design === 'uniform')).toBe(true);
    // Uniform over what is left: about 1,800 of the 1,875 unreviewed shots are low (expected 4 high of 100).
    const high = query<{ n: number }>(
      dirs.db,
      `SELECT count(*) AS n FROM decisions WHERE p_airplane >= ? AND id IN (${ids.join(',')})`,
      STRATUM_CUT,
    )[0]!.n;
    expect(high).toBeLessThan(20);
  });
});

describe("the strata's sizes, counted once and then only the new decisions", () => {
  it('equal a full count after decisions of several models, cameras and actions arrive between looks', () => {
    const local = makeTestDirs('bw-stratum-sizes-');
    const db = openDatabase(local.db);
    try {
      const decide = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, p_airplane, p_bird,
          label, threshold, action, model_id) VALUES ('2026-12-01T10:00:00Z', 0, ?, '/x', '/x', ?, ?, 'bird', 0.9, ?, ?)`);
      const next = random(5);
      const add = (count: number): void => {
        for (let i = 0; i < count; i++) {
          const p = next();
          const action = ['moved', 'kept', 'failed'][Math.floor(next() * 3)]!;
          decide.run(next() < 0.5 ? 'garden' : 'pond', action === 'failed' ? null : p, 1 - p, action, `m${i % 2}`);
        }
      };
      const fullCount = (model: string): Record<string, { high: number; low: number }> => {
        const out: Record<string, { high: number; low: number }> = {};
        for (const row of db
          .prepare(
            `SELECT camera, p_airplane >= ? AS high, count(*) AS n FROM decisions WHERE model_id = ?
            AND action IN ('moved', 'kept') AND p_airplane IS NOT NULL GROUP BY 1, 2`,
          )
          .all(STRATUM_CUT, model) as Array<{ camera: string; high: number; n: number }>) {
          out[row.camera] ??= { high: 0, low: 0 };
          out[row.camera]![row.high ? 'high' : 'low'] = row.n;
        }
        return out;
      };
      expect(stratumSizes(db, 'm0').size).toBe(0);
      for (const batch of [300, 1, 0, 250]) {
        add(batch);
        for (const model of ['m0', 'm1']) {
          expect(Object.fromEntries(stratumSizes(db, model))).toEqual(fullCount(model));
        }
      }
      expect(Object.values(fullCount('m0')).reduce((sum, s) => sum + s.high + s.low, 0)).toBeGreaterThan(100);
    } finally {
      db.close();
      local.cleanup();
    }
  });
});

describe('a camera with no review yet', () => {
  it('is told how many stratified reviews it needs, fewer than a uniform review would', async () => {
    const local = makeTestDirs('bw-promise-fresh-');
    try {
      const db = openDatabase(local.db);
      const decide = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, p_airplane, p_bird,
          label, threshold, action, model_id) VALUES ('2026-12-01T10:00:00Z', 0, 'yard', '/x', '/x', ?, ?, 'bird', 0.95,
          'kept', ?)`);
      // 500 decided shots, 50 of them high-scoring.
      for (let i = 0; i < 500; i++) decide.run(i < 50 ? 0.9 : 0.1, i < 50 ? 0.1 : 0.9, MODEL_ID);
      db.close();
      const needed = async (sampling: string): Promise<number> => {
        const config = writeConfigFile(
          local,
          {
            cameras: [{ name: 'yard', watch: local.watch, airplanes: local.airplanes }],
            db: local.db,
            model: MODEL,
            birdBudget: 0.02,
            calibration: { sampling },
          },
          `${sampling}.json`,
        );
        const result = await runCli(['stats', '--config', config]);
        expect(result.code, result.stderr).toBe(0);
        const match = /yard: not yet measured on this camera: review (\d+) more random shots/.exec(result.stdout);
        expect(match, result.stdout).not.toBeNull();
        return Number(match![1]);
      };
      // Uniform: 114 birds certify 2% at 90%, and with nothing known every shot counts as a bird.
      expect(await needed('uniform')).toBe(114);
      const stratified = await needed('stratified');
      expect(stratified).toBeGreaterThan(0);
      expect(stratified).toBeLessThan(114);
    } finally {
      local.cleanup();
    }
  });
});
