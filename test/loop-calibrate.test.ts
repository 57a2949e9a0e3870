// birdwatch calibrate on a decision log with constructed scores (a real SQLite file written with the daemon's
// schema): two cameras, one with enough labelled birds for the budget and one without; review-sample labels used,
// corrections only with --with-corrections, labels on another model's decisions left out; --apply writing the
// camera's threshold and the overall one, leaving the other camera's alone. Figures worked by hand below.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import { makeTestDirs, REPO, runCli, type TestDirs } from './helpers/daemon.js';
import { curveThreshold } from './fixtures/onnx.js';

const MODEL = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const MODEL_ID = createHash('sha256').update(readFileSync(MODEL)).digest('hex').slice(0, 12);

let dirs: TestDirs;
let configFile: string;

// garden: 12 birds 0.00..0.11 and 5 airplanes; pond: 3 birds and 2 airplanes (an existing threshold 0.5).
const labelled = [
  ...Array.from({ length: 12 }, (_, i) => ({ camera: 'garden', p: i / 100, label: 'bird' })),
  ...[0.2, 0.5, 0.9, 0.95, 0.99].map((p) => ({ camera: 'garden', p, label: 'airplane' })),
  ...[0.5, 0.6, 0.7].map((p) => ({ camera: 'pond', p, label: 'bird' })),
  ...[0.3, 0.8].map((p) => ({ camera: 'pond', p, label: 'airplane' })),
];

beforeAll(() => {
  dirs = makeTestDirs('bw-loop-calibrate-');
  const db = openDatabase(dirs.db);
  const decide = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, p_airplane, p_bird, label,
      threshold, action, model_id) VALUES ('2026-11-30T10:00:00Z', ?, ?, ?, ?, ?, ?, ?, 0.9, ?, ?)`);
  const review = db.prepare(`INSERT INTO reviews (decision_id, time, time_ms, label, member, source)
      VALUES (?, '2026-11-30T11:00:00Z', 0, ?, 'ann', 'sample')`);
  const correct = db.prepare(`INSERT INTO corrections (decision_id, time, time_ms, label, kind, member)
      VALUES (?, '2026-11-30T11:00:00Z', 0, ?, 'mark', 'bob')`);
  const add = (camera: string, p: number, model = MODEL_ID): number => Number(decide.run(Date.now(), camera,
    `/x/${camera}/${p}-${Math.random()}.jpg`, `/x/${camera}/f.jpg`, p, 1 - p, p > 0.5 ? 'airplane' : 'bird',
    p >= 0.9 ? 'moved' : 'kept', model).lastInsertRowid);
  for (const shot of labelled) review.run(add(shot.camera, shot.p), shot.label);
  review.run(add('garden', 0.98), 'neither'); // neither class: not counted
  correct.run(add('garden', 0.99), 'bird'); // a correction: a bird the filter moved (biased, not used by default)
  review.run(add('garden', 0.97, 'other-model'), 'bird'); // another model's score: not used
  db.close();
  configFile = join(dirs.root, 'config.json');
  writeFileSync(configFile, JSON.stringify({
    cameras: [{ name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes },
      { name: 'pond', watch: join(dirs.root, 'pond'), airplanes: join(dirs.root, 'pond-out'), threshold: 0.5 }],
    db: dirs.db, model: MODEL, birdBudget: 0.1, logLevel: 'warn',
  }, null, 2));
});
afterAll(() => dirs?.cleanup());

const calibrate = async (...args: string[]) => {
  const result = await runCli(['calibrate', '--json', '--config', configFile, ...args]);
  return { ...result, report: result.stdout ? JSON.parse(result.stdout) : undefined };
};

describe('birdwatch calibrate on constructed scores', () => {
  it('per camera and overall, from the review sample only', async () => {
    const { code, stderr, report } = await calibrate();
    expect(code, stderr).toBe(0);
    expect(report.labels).toEqual({ sample: { birds: 15, airplanes: 7 }, correction: { birds: 1, airplanes: 0 },
      other_models: 1 });
    // All: 15 birds, floor(1.5) = 1 may move: the highest (0.7) moves, 0.6 stays -> 0.60001; airplanes at or above
    // it: 0.8, 0.9, 0.95, 0.99 (4 of 7).
    expect(report.all).toMatchObject({ birds: 15, airplanes: 7, enough: true, threshold: 0.60001,
      at_new: { birds_moved: 1, airplanes_caught: 4 } });
    // garden: 12 birds, 1 may move (0.11), 0.10 stays -> 0.10001; all 5 airplanes caught.
    const [garden, pond] = report.cameras;
    expect(garden).toMatchObject({ camera: 'garden', birds: 12, airplanes: 5, enough: true, threshold: 0.10001,
      // in use: the config's explicit birdBudget 0.1 is the daemon's too, the model's 10% curve point (between the
      // airplanes 0.5 and 0.9 for the shipped model: 3 caught, no bird moved)
      at_new: { birds_moved: 1, airplanes_caught: 5 }, threshold_in_use: curveThreshold(MODEL, 0.1),
      at_in_use: { birds_moved: 0, airplanes_caught: 3 } });
    // pond: 3 birds, none may move -> 0.70001; not enough birds (10 needed); its own threshold 0.5 in use.
    expect(pond).toMatchObject({ camera: 'pond', birds: 3, airplanes: 2, enough: false, birds_needed: 10,
      threshold: 0.70001, threshold_in_use: 0.5, at_in_use: { birds_moved: 3, airplanes_caught: 1 } });
  });

  it('--with-corrections adds the corrected bird at 0.99, which then is the one that moves in garden', async () => {
    const { report } = await calibrate('--with-corrections');
    expect(report.sources).toEqual(['sample', 'correction']);
    // garden: 13 birds, floor(1.3) = 1: 0.99 moves, 0.11 stays -> 0.11001.
    expect(report.cameras[0]).toMatchObject({ birds: 13, threshold: 0.11001 });
  });

  it('--apply writes garden\'s threshold and the overall one, and leaves pond\'s own alone', async () => {
    const { code, stderr, report } = await calibrate('--apply');
    expect(code, stderr).toBe(0);
    expect(report.applied).toEqual([{ key: 'threshold', threshold: 0.60001 },
      { key: 'cameras[0].threshold (garden)', threshold: 0.10001 }]);
    const written = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(written.threshold).toBe(0.60001);
    expect(written.cameras.map((c: { threshold?: number }) => c.threshold)).toEqual([0.10001, 0.5]);
    expect(written).toMatchObject({ db: dirs.db, model: MODEL, birdBudget: 0.1, logLevel: 'warn' });
    // The next run reads them back as the thresholds in use.
    const again = await calibrate();
    expect(again.report.all.threshold_in_use).toBe(0.60001);
    expect(again.report.cameras[0].threshold_in_use).toBe(0.10001);
  });
});
