// birdwatch calibrate on a decision log with constructed scores (a real SQLite file written with the daemon's
// schema): two cameras, one with enough labelled birds to certify the budget and one without; review-sample labels
// used, corrections only with --with-corrections, labels on another model's decisions left out; --apply writing only
// the certified thresholds. Figures worked by hand below.
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

// garden: 30 birds 0.00..0.29 and 5 airplanes; pond: 3 birds and 2 airplanes (its own threshold 0.5: pinned).
const labelled = [
  ...Array.from({ length: 30 }, (_, i) => ({ camera: 'garden', p: i / 100, label: 'bird' })),
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
  const add = (camera: string, p: number, model = MODEL_ID): number =>
    Number(
      decide.run(
        Date.now(),
        camera,
        `/x/${camera}/${p}-${Math.random()}.jpg`,
        `/x/${camera}/f.jpg`,
        p,
        1 - p,
        p > 0.5 ? 'airplane' : 'bird',
        p >= 0.9 ? 'moved' : 'kept',
        model,
      ).lastInsertRowid,
    );
  for (const shot of labelled) review.run(add(shot.camera, shot.p), shot.label);
  review.run(add('garden', 0.98), 'neither'); // neither class: not counted
  correct.run(add('garden', 0.99), 'bird'); // a correction: a bird the filter moved (biased, not used by default)
  review.run(add('garden', 0.97, 'other-model'), 'bird'); // another model's score: not used
  db.close();
  configFile = join(dirs.root, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        cameras: [
          { name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes },
          { name: 'pond', watch: join(dirs.root, 'pond'), airplanes: join(dirs.root, 'pond-out'), threshold: 0.5 },
        ],
        db: dirs.db,
        model: MODEL,
        birdBudget: 0.1,
        logLevel: 'warn',
      },
      null,
      2,
    ),
  );
});
afterAll(() => dirs?.cleanup());

const calibrate = async (...args: string[]) => {
  const result = await runCli(['calibrate', '--json', '--config', configFile, ...args]);
  const lines = result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  return {
    ...result,
    cameras: lines.filter((l) => 'camera' in l && l.camera !== null),
    all: lines.find((l) => l.camera === null),
    applied: lines.find((l) => 'applied' in l)?.applied,
  };
};

describe('birdwatch calibrate on constructed scores (budget 10%, confidence 90%)', () => {
  it('per camera and overall, from the review sample only, with the bound', async () => {
    const { code, stderr, cameras, all } = await calibrate();
    expect(code, stderr).toBe(0);
    // At 90%, 10% is certified by 22 birds none moved (U(0, 22) = 1 - 0.1^(1/22) = 0.0994); one moved needs 38.
    // All: 33 birds, U(0, 33) = 0.0674 <= 0.1 < U(1, 33) = 0.1128: none may move -> 0.70001 above the highest bird;
    // airplanes at or above it: 0.8, 0.9, 0.95, 0.99 (4 of 7).
    expect(all).toMatchObject({
      camera: null,
      budget: 0.1,
      confidence: 0.9,
      birds: 33,
      airplanes: 7,
      certified: true,
      threshold: 0.70001,
      birds_moved: 0,
      more_birds_needed: 0,
      at_new: { airplanes_caught: 4 },
    });
    expect(all.bound).toBeCloseTo(0.0674, 4);
    const [garden, pond] = cameras;
    // garden: 30 birds, U(0, 30) = 0.0739, U(1, 30) = 0.1236: none may move -> 0.29001; 4 of 5 airplanes caught.
    expect(garden).toMatchObject({
      camera: 'garden',
      birds: 30,
      airplanes: 5,
      certified: true,
      threshold: 0.29001,
      birds_moved: 0,
      more_birds_needed: 0,
      pinned: false,
      at_new: { airplanes_caught: 4 },
      // in use: the config's explicit birdBudget 0.1 on the model's curve
      threshold_in_use: curveThreshold(MODEL, 0.1),
    });
    expect(garden.bound).toBeCloseTo(0.0739, 4);
    // pond: 3 birds cannot certify 10% (U(0, 3) = 0.536); 19 more are needed; it keeps the stricter of its own 0.5
    // and just above its highest bird, 0.70001: never looser.
    expect(pond).toMatchObject({
      camera: 'pond',
      birds: 3,
      airplanes: 2,
      certified: false,
      certified_threshold: null,
      threshold: 0.70001,
      more_birds_needed: 19,
      pinned: true,
      threshold_in_use: 0.5,
      at_in_use: { birds_moved: 3, airplanes_caught: 1 },
    });
    expect(pond.bound).toBeCloseTo(0.536, 3);
  });

  it('--with-corrections adds the corrected bird at 0.99, which garden then must keep', async () => {
    const { cameras, all } = await calibrate('--with-corrections');
    expect(all.sources).toEqual(['sample', 'correction']);
    // garden: 31 birds, still none may move: just above 0.99.
    expect(cameras[0]).toMatchObject({ birds: 31, threshold: 0.99001, certified: true });
  });

  it("--apply writes the certified thresholds and leaves pond's own alone", async () => {
    const { code, stderr, applied } = await calibrate('--apply');
    expect(code, stderr).toBe(0);
    expect(applied).toEqual([
      { key: 'threshold', threshold: 0.70001 },
      { key: 'cameras[0].threshold (garden)', threshold: 0.29001 },
    ]);
    const written = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(written.threshold).toBe(0.70001);
    expect(written.cameras.map((c: { threshold?: number }) => c.threshold)).toEqual([0.29001, 0.5]);
    expect(written).toMatchObject({ db: dirs.db, model: MODEL, birdBudget: 0.1, logLevel: 'warn' });
    // The next run reads them back as the thresholds in use.
    const again = await calibrate();
    expect(again.all.threshold_in_use).toBe(0.70001);
    expect(again.cameras[0].threshold_in_use).toBe(0.29001);
  });
});
