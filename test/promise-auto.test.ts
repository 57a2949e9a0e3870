// The daemon calibrates itself (calibration.auto): the real daemon as a child process on a real SQLite file, labels
// arriving from another process while it runs. The next shots of the camera are decided at the certified threshold,
// shots decided before keep theirs; a camera with its own threshold never changes; a camera with too few reviewed
// birds is never certified; every change is a row that `birdwatch thresholds` lists; a restart resumes, no new row;
// a new model starts uncalibrated.
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import {
  DaemonProcess,
  killAllDaemons,
  makeCamera,
  makeTestDirs,
  REPO,
  runCli,
  writeConfigFile,
  type TestDirs,
} from './helpers/daemon.js';
import { decisions, query, waitForDecisions } from './helpers/decisions.js';
import { BIRD_FIXTURES, cameraJpeg } from './helpers/images.js';
import { waitFor } from './helpers/wait.js';
import { curveThreshold, withEditedMetadata } from './fixtures/onnx.js';

const MODEL = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const MODEL_ID = createHash('sha256').update(readFileSync(MODEL)).digest('hex').slice(0, 12);

let dirs: TestDirs;
let configFile: string;
let pond: ReturnType<typeof makeCamera>;
let yard: ReturnType<typeof makeCamera>;
let daemon: DaemonProcess;
let modelFile: string;
// Past decisions of this model, drawn for the random review, to be labelled while the daemon runs:
// garden 30 birds 0.00..0.29 (certifies 10% at 90%: 22 are needed), pond 30 birds (pinned), yard 5 birds (too few).
const past: Array<{ camera: string; p: number; id?: number }> = [
  ...Array.from({ length: 30 }, (_, i) => ({ camera: 'garden', p: i / 100 })),
  ...Array.from({ length: 30 }, (_, i) => ({ camera: 'pond', p: i / 100 })),
  ...Array.from({ length: 5 }, (_, i) => ({ camera: 'yard', p: i / 100 })),
];
let shotNumber = 0;
const shoot = async (folder: string): Promise<void> => {
  shotNumber++;
  writeFileSync(
    join(folder, `shot-${shotNumber}.jpg`),
    await cameraJpeg(BIRD_FIXTURES[shotNumber % 3]!, 400 + 8 * shotNumber, 300),
  );
};
const changes = () => query<Record<string, number | string>>(dirs.db, 'SELECT * FROM threshold_changes ORDER BY id');

beforeAll(async () => {
  dirs = makeTestDirs('bw-promise-auto-');
  pond = makeCamera(dirs.root, 'pond');
  yard = makeCamera(dirs.root, 'yard');
  const db = openDatabase(dirs.db);
  const decide = db.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, p_airplane, p_bird,
      label, threshold, action, model_id) VALUES ('2026-11-30T10:00:00Z', 0, ?, ?, ?, ?, ?, 'bird', 0.9, 'kept', ?)`);
  const draw = db.prepare('INSERT INTO review_draws (decision_id, time_ms) VALUES (?, 0)');
  past.forEach((shot, i) => {
    shot.id = Number(
      decide.run(shot.camera, `/old/${i}.jpg`, `/old/${i}.jpg`, shot.p, 1 - shot.p, MODEL_ID).lastInsertRowid,
    );
    draw.run(shot.id);
  });
  db.close();
  modelFile = join(dirs.root, 'model.onnx');
  copyFileSync(MODEL, modelFile);
  configFile = writeConfigFile(dirs, {
    cameras: [{ name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes }, { ...pond, threshold: 0.5 }, yard],
    db: dirs.db,
    model: modelFile,
    birdBudget: 0.1,
    quietMs: 100,
    calibration: { checkMs: 300 },
  });
  daemon = new DaemonProcess(['run', '--config', configFile]);
  await daemon.ready(60_000);
}, 90_000);

afterAll(async () => {
  await killAllDaemons();
  dirs?.cleanup();
});

describe('auto-calibration in the running daemon', () => {
  const base = () => curveThreshold(MODEL, 0.1);
  let before: number;

  it("decides at the config's threshold while nothing is reviewed", async () => {
    await shoot(dirs.watch);
    const [first] = await waitForDecisions(dirs.db, "camera = 'garden' AND time_ms > 0", [], 1, 60_000, () =>
      daemon.tail(),
    );
    expect(first!.threshold).toBe(base());
    before = first!.id;
    expect(changes()).toEqual([]);
  });

  it("labels from another process change the next shots' threshold, not the decided ones'", async () => {
    // One label through the CLI (as a member would), the rest written by this process in one transaction.
    const [one, ...rest] = past;
    const cli = await runCli(['review', String(one!.id), '--label', 'bird', '--config', configFile]);
    expect(cli.code, cli.stderr).toBe(0);
    const db = openDatabase(dirs.db);
    const review = db.prepare(`INSERT INTO reviews (decision_id, time, time_ms, label, member, source)
        VALUES (?, '2026-11-30T11:00:00Z', 1, 'bird', 'ann', 'sample')`);
    db.transaction(() => {
      for (const shot of rest) review.run(shot.id);
    })();
    db.close();
    const [change] = await waitFor(
      () => {
        const rows = changes();
        return rows.some((r) => r.camera === 'garden' && r.n === 30)
          ? rows.filter((r) => r.camera === 'garden')
          : undefined;
      },
      60_000,
      () => `garden's threshold change:\n${daemon.tail()}`,
    );
    // 30 birds 0.00..0.29, U(0, 30) = 0.0739 <= 0.1 < U(1, 30): none may move, just above 0.29.
    expect(change).toMatchObject({
      camera: 'garden',
      old_threshold: base(),
      new_threshold: 0.29001,
      model_id: MODEL_ID,
      n: 30,
      k: 0,
      certified: 1,
      budget: 0.1,
      confidence: 0.9,
    });
    expect(change!.bound).toBeCloseTo(0.0739, 4);
    // The row is committed before its log line is written: wait for the line, do not assume it is already read.
    await daemon.waitForOutput(
      new RegExp(`threshold changed camera=garden old=${base().toFixed(4)} new=0.2900 .*n=30 k=0`),
      10_000,
    );
    await shoot(dirs.watch);
    const [next] = await waitForDecisions(dirs.db, "camera = 'garden' AND id > ?", [before], 1, 60_000, () =>
      daemon.tail(),
    );
    expect(next!.threshold).toBe(0.29001);
    expect(decisions(dirs.db, 'id = ?', before)[0]!.threshold).toBe(base());
  });

  it('the pinned camera and the camera with too few birds never change', async () => {
    await shoot(pond.watch);
    await shoot(yard.watch);
    const rows = await waitForDecisions(dirs.db, "camera IN ('pond', 'yard') AND time_ms > 0", [], 2, 60_000, () =>
      daemon.tail(),
    );
    expect(Object.fromEntries(rows.map((r) => [r.camera, r.threshold]))).toEqual({ pond: 0.5, yard: base() });
    // Garden's change above is the positive signal that the labels were looked at.
    expect(changes().map((r) => r.camera)).toEqual(['garden']);
    const yardNow = await runCli(['calibrate', '--json', '--config', configFile]);
    const yardCalibration = yardNow.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((c) => c.camera === 'yard');
    // 5 birds: U(0, 5) = 0.369; 17 more needed.
    expect(yardCalibration).toMatchObject({ birds: 5, certified: false, more_birds_needed: 17 });
  });

  it('birdwatch thresholds lists the change, per camera too', async () => {
    const all = await runCli(['thresholds', '--json', '--config', configFile]);
    expect(all.code, all.stderr).toBe(0);
    const rows = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ camera: 'garden', old_threshold: base(), new_threshold: 0.29001, certified: true });
    const text = await runCli(['thresholds', '--config', configFile]);
    expect(text.stdout).toMatch(/garden .* 0\.29001 .* 30 .* 0 .* 7\.39% .* certified: at most 10% of birds moved/);
    const none = await runCli(['thresholds', '--camera', 'pond', '--config', configFile]);
    expect(none.stdout).toMatch(/^no threshold changes yet for camera 'pond'/);
  });

  it('a restarted daemon resumes at the calibrated threshold without a new row', async () => {
    const last = decisions(dirs.db).at(-1)!.id;
    expect((await daemon.stop()).code).toBe(0);
    daemon = new DaemonProcess(['run', '--config', configFile]);
    await daemon.ready(60_000);
    await shoot(dirs.watch);
    const [next] = await waitForDecisions(dirs.db, "camera = 'garden' AND id > ?", [last], 1, 60_000, () =>
      daemon.tail(),
    );
    expect(next!.threshold).toBe(0.29001);
    expect(changes()).toHaveLength(1);
  });

  it("a new model starts uncalibrated: its shots are decided at the config's threshold again", async () => {
    // The shipped network with other metadata: another file, another id, the same operating curve.
    const bytes = withEditedMetadata(readFileSync(MODEL), (props) => {
      props.model_id = 'promise-v2';
    });
    const newId = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    const temp = join(dirs.root, '.incoming.onnx');
    writeFileSync(temp, bytes);
    renameSync(temp, modelFile);
    await daemon.waitForOutput(new RegExp(`model swapped[^\\n]*model_id=${newId}`), 60_000);
    const last = decisions(dirs.db).at(-1)!.id;
    await shoot(dirs.watch);
    const [next] = await waitForDecisions(dirs.db, "camera = 'garden' AND id > ?", [last], 1, 60_000, () =>
      daemon.tail(),
    );
    expect(next).toMatchObject({ model_id: newId, threshold: base() });
    // Its labels are on the old model's decisions: nothing certifies the new one, so nothing changed for it.
    expect(changes().filter((r) => r.model_id === newId)).toEqual([]);
  });
});
