// birdBudget in the daemon, on the real daemon with the shipped network re-labelled with an operating curve
// (withEditedMetadata): a camera's budget picks its curve point's threshold (the largest budget not above it), the
// config's budget applies to cameras without their own, a camera threshold beats a budget; a budget the curve cannot
// answer (below its smallest point, or a model without a curve) stops the start with exit 2, refuses a hot-swapped
// model and refuses a SIGHUP reload. A model older than the curve answers budgets at or above the one its own
// threshold was chosen at with that threshold (configs that set birdBudget for calibrate keep running as before).
// promote refuses a candidate the daemon would refuse; classify follows the rule at the config's level. The curve
// thresholds are 0.5 (airplanes move, birds stay: the six fixtures' wide margins) and 0 (everything moves), so the
// rows' actions prove the threshold is really used.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonProcess, makeCamera, REPO, runCli, type TestDirs, useTestDirs } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, sha256 } from './helpers/images.js';
import { withEditedMetadata } from './fixtures/onnx.js';

const SHIPPED = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const FIXTURES = [...AIRPLANE_FIXTURES, ...BIRD_FIXTURES];
const BUDGETS = [0.005, 0.01, 0.02, 0.05, 0.1];
const isPlane = (file: string): boolean => basename(file).includes('airplane');

const newDirs = useTestDirs();

/** An operating curve with these thresholds at the budgets 0.5%, 1%, 2%, 5%, 10%, and made-up figures. */
function curve(thresholds: number[]): string {
  return JSON.stringify({
    threshold_split: 'selection',
    figures_split: 'report',
    points: BUDGETS.map((budget, i) => ({
      bird_budget: budget,
      threshold: thresholds[i],
      airplanes_caught: 0.41 + 0.1 * i,
      birds_moved: budget * 0.8,
      airplanes_caught_interval: [0.37 + 0.1 * i, 0.45 + 0.1 * i],
      birds_moved_interval: [0, budget],
    })),
  });
}

/** The shipped network with `edit`ed metadata, written to dir/name; returns its path. */
function writeModel(dir: string, name: string, edit: (props: Record<string, string>) => void): string {
  const file = join(dir, name);
  writeFileSync(file, withEditedMetadata(readFileSync(SHIPPED), edit));
  return file;
}

/** A model whose curve has these thresholds (its own threshold: the 1% point's, as training writes it). */
function curveModel(dir: string, name: string, thresholds: number[]): string {
  return writeModel(dir, name, (props) => {
    props.operating_curve = curve(thresholds);
    props.threshold = String(thresholds[1]);
  });
}

/** A model without an operating curve, as every model before issue 15: its validation figures name the bird budget
 *  its own threshold (0.8) was chosen at, as the shipped one's do; `bare`: they do not. */
function oldModel(dir: string, name: string, bare = false): string {
  return writeModel(dir, name, (props) => {
    delete props.operating_curve;
    props.threshold = '0.8';
    props.validation_metrics = JSON.stringify(
      bare
        ? { accuracy: 0.9 }
        : { accuracy: 0.9, bird_budget: 0.01, airplanes_caught_at_threshold: 0.506, birds_moved_at_threshold: 0.01 },
    );
  });
}

/** Copies the six fixtures into the camera's folder under `prefix`; waits for their six decisions. */
async function dropSix(d: TestDirs, camera: { name: string; watch: string }, prefix: string, daemon: DaemonProcess) {
  for (const fixture of FIXTURES) copyFileSync(fixture, join(camera.watch, `${prefix}-${basename(fixture)}`));
  return waitForDecisions(d.db, 'camera = ? AND path LIKE ?', [camera.name, `%/${prefix}-%`], 6, 30_000, () =>
    daemon.tail(),
  );
}

function thresholdLine(daemon: DaemonProcess, camera: string): string[] {
  return daemon.output
    .split('\n')
    .filter((line) => line.includes(' info threshold ') && line.includes(`camera=${camera} `));
}

describe('birdBudget in the daemon', () => {
  it("a camera budget picks its curve point (0.03 -> 0.02), the config's the others', a threshold wins", async () => {
    const d = newDirs('bw-budget-');
    const model = curveModel(d.root, 'curve.onnx', [0.9, 0.8, 0.5, 0.2, 0]);
    const cams = ['two', 'three', 'global', 'own'].map((name) => makeCamera(d.root, name));
    const [two, three, global, own] = cams as [(typeof cams)[0], (typeof cams)[0], (typeof cams)[0], (typeof cams)[0]];
    const configFile = join(d.root, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        cameras: [
          { ...two, birdBudget: 0.02 },
          { ...three, birdBudget: 0.03 },
          global,
          { ...own, threshold: 0.5, birdBudget: 0.1 },
        ],
        birdBudget: 0.1,
        db: d.db,
        model,
        provider: 'cpu',
        quietMs: 100,
      }),
    );
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    await daemon.ready();

    // One line per camera at start: the budget, the threshold picked, what the curve says it gives (report split).
    expect(thresholdLine(daemon, 'two')).toHaveLength(1);
    expect(thresholdLine(daemon, 'two')[0]).toMatch(
      /threshold=0\.5000 from="camera birdBudget" .*bird_budget=0\.0200 curve_point=0\.0200 airplanes_caught="61\.0%" birds_moved="1\.6%" figures_from="report split" threshold_from="selection split"/,
    );
    expect(thresholdLine(daemon, 'three')[0]).toMatch(
      /threshold=0\.5000 from="camera birdBudget" .*bird_budget=0\.0300 curve_point=0\.0200 /,
    );
    expect(thresholdLine(daemon, 'global')[0]).toMatch(
      /threshold=0 from="config birdBudget" .*bird_budget=0\.1000 curve_point=0\.1000 airplanes_caught="81\.0%"/,
    );
    expect(thresholdLine(daemon, 'own')[0]).toMatch(/threshold=0\.5000 from="camera threshold"/);
    expect(thresholdLine(daemon, 'own')[0]).not.toMatch(/bird_budget/);

    for (const camera of cams) {
      const rows = await dropSix(d, camera, 'shot', daemon);
      const everythingMoves = camera === global;
      for (const row of rows) {
        expect(row.threshold, `${camera.name} ${row.path}`).toBe(everythingMoves ? 0 : 0.5);
        expect(row.action, `${camera.name} ${row.path}`).toBe(everythingMoves || isPlane(row.path) ? 'moved' : 'kept');
      }
    }
    expect(decisions(d.db)).toHaveLength(24);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('a budget under the curve, or one an older model cannot answer, stops the start (exit 2, one line)', async () => {
    const d = newDirs('bw-budget-bad-');
    const withCurve = curveModel(d.root, 'curve.onnx', [0.9, 0.8, 0.5, 0.2, 0]);
    const old = oldModel(d.root, 'old.onnx');
    const bare = oldModel(d.root, 'bare.onnx', true);
    const garden = makeCamera(d.root, 'garden');
    const configFile = join(d.root, 'config.json');
    const start = async (config: Record<string, unknown>, args: string[] = []) => {
      writeFileSync(configFile, JSON.stringify({ db: d.db, provider: 'cpu', ...config }));
      const daemon = new DaemonProcess(['run', '--config', configFile, ...args]);
      const exit = await daemon.exited;
      return { exit, lines: daemon.output.split('\n').filter((line) => line.startsWith('birdwatch: ')) };
    };

    const below = await start({ cameras: [{ ...garden, birdBudget: 0.001 }], model: withCurve });
    expect(below.exit.code).toBe(2);
    expect(below.lines).toEqual([
      `birdwatch: camera 'garden': its birdBudget 0.001 is below the smallest bird budget ` +
        `model ${withCurve} was measured at (its curve's budgets: 0.005, 0.01, 0.02, 0.05, 0.1)`,
    ]);

    const noCurve = await start({ cameras: [garden], birdBudget: 0.02, model: bare });
    expect(noCurve.exit.code).toBe(2);
    expect(noCurve.lines).toEqual([
      `birdwatch: camera 'garden': the config's birdBudget 0.02 needs the model's ` +
        `operating curve, and model ${bare} has none (it predates it, and its metadata does not say at which bird ` +
        'budget its own threshold was chosen): set a threshold instead, or install a model that carries a curve',
    ]);

    // --bird-budget counts as set explicitly too.
    const flag = await start({ cameras: [garden], model: bare }, ['--bird-budget', '0.05']);
    expect(flag.exit.code).toBe(2);
    expect(flag.lines[0]).toMatch(/the config's birdBudget 0\.05 needs the model's operating curve/);

    // An older model chose its threshold at 1% of birds: 0.5% is more than it can promise...
    const oldBelow = await start({ cameras: [{ ...garden, birdBudget: 0.005 }], model: old });
    expect(oldBelow.exit.code).toBe(2);
    expect(oldBelow.lines).toEqual([
      `birdwatch: camera 'garden': its birdBudget 0.005 is below the smallest bird ` +
        `budget model ${old} was measured at (it has no operating curve; ` +
        'its own threshold was chosen at bird budget 0.01)',
    ]);
    // ... and 2% runs at its own threshold, saying so.
    writeFileSync(
      configFile,
      JSON.stringify({ db: d.db, provider: 'cpu', cameras: [garden], birdBudget: 0.02, model: old, quietMs: 100 }),
    );
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    await daemon.ready();
    expect(thresholdLine(daemon, 'garden')).toHaveLength(1);
    expect(thresholdLine(daemon, 'garden')[0]).toMatch(
      /threshold=0\.8000 from="config birdBudget" .*bird_budget=0\.0200 curve_point=0\.0100 airplanes_caught="50\.6%" birds_moved="1\.0%" figures_from="validation split" threshold_from="validation split" curve="none: the model's own threshold and the bird budget it was chosen at"$/,
    );
    for (const row of await dropSix(d, garden, 'old', daemon)) {
      expect(row).toMatchObject({ threshold: 0.8, action: isPlane(row.path) ? 'moved' : 'kept' });
    }
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });

    // A malformed curve: the model itself is refused, naming the key.
    const bad = writeModel(d.root, 'bad.onnx', (props) => {
      props.operating_curve = JSON.stringify({
        threshold_split: 'selection',
        figures_split: 'report',
        points: [
          { bird_budget: 0.02, threshold: 0.5, airplanes_caught: 0.6, birds_moved: 0.02 },
          { bird_budget: 0.01, threshold: 0.7, airplanes_caught: 0.5, birds_moved: 0.01 },
        ],
      });
    });
    const unordered = await start({ cameras: [garden], model: bad });
    expect(unordered.exit.code).toBe(2);
    expect(unordered.lines).toEqual([
      `birdwatch: model ${bad}: metadata 'operating_curve' bird budgets must be ` + 'ascending, got 0.02, 0.01',
    ]);
    expect(decisions(d.db)).toHaveLength(6);
  }, 120_000);

  it("a swapped-in model's curve sets the budget's threshold; no curve, or a reload below it, refused", async () => {
    const d = newDirs('bw-budget-swap-');
    const garden = makeCamera(d.root, 'garden');
    const model = curveModel(d.root, 'model.onnx', [0.9, 0.8, 0.5, 0.2, 0]);
    const firstId = sha256(readFileSync(model)).slice(0, 12);
    const configFile = join(d.root, 'config.json');
    const writeConfig = (camera: Record<string, unknown>) =>
      writeFileSync(
        configFile,
        JSON.stringify({
          cameras: [{ ...garden, ...camera }],
          db: d.db,
          model,
          provider: 'cpu',
          quietMs: 100,
        }),
      );
    writeConfig({ birdBudget: 0.02 });
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    await daemon.ready();
    for (const row of await dropSix(d, garden, 'before', daemon)) {
      expect(row).toMatchObject({ threshold: 0.5, model_id: firstId, action: isPlane(row.path) ? 'moved' : 'kept' });
    }

    // The new model's curve puts 2% of birds at threshold 0: the same budget now moves everything.
    const next = curveModel(d.root, '.incoming.onnx', [0.9, 0.8, 0, 0, 0]);
    const nextId = sha256(readFileSync(next)).slice(0, 12);
    renameSync(next, model);
    await daemon.waitForOutput(/model swapped/);
    await daemon.waitForOutput(
      new RegExp(
        `info threshold camera=garden threshold=0 from="camera birdBudget" model_id=${nextId} bird_budget=0\\.0200`,
      ),
    );
    for (const row of await dropSix(d, garden, 'after', daemon)) {
      expect(row).toMatchObject({ threshold: 0, model_id: nextId, action: 'moved' });
    }

    // A model without a curve (nor the budget its threshold was chosen at) cannot answer the budget: refused with
    // one line, the curve model keeps deciding.
    renameSync(oldModel(d.root, '.old.onnx', true), model);
    await daemon.waitForOutput(/model refused/);
    const refused = daemon.output.split('\n').filter((line) => line.includes('model refused'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(
      new RegExp(
        `error model refused \\(model file replaced\\): camera 'garden': its birdBudget 0\\.02 needs the model's operating curve, and model .* has none .*; still deciding with model ${nextId}$`,
      ),
    );
    for (const row of await dropSix(d, garden, 'refused', daemon))
      expect(row).toMatchObject({ threshold: 0, model_id: nextId });

    // SIGHUP with a budget below the curve: the reload is refused, the running config kept. (The serving model's
    // bytes go back in place first, so the good reload below finds its model 'unchanged'.)
    renameSync(curveModel(d.root, '.back.onnx', [0.9, 0.8, 0, 0, 0]), model);
    writeConfig({ birdBudget: 0.001 });
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reload refused/);
    expect(daemon.output).toMatch(
      /error config reload refused: camera 'garden': its birdBudget 0\.001 is below the smallest bird budget model \S+ was measured at \(its curve's budgets: 0\.005, 0\.01, 0\.02, 0\.05, 0\.1\); the running config is kept/,
    );
    for (const row of await dropSix(d, garden, 'kept', daemon))
      expect(row).toMatchObject({ threshold: 0, model_id: nextId });

    // A good reload: the camera's own threshold now wins over the budget.
    writeConfig({ birdBudget: 0.02, threshold: 0.5 });
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reloaded/);
    await daemon.waitForOutput(/info threshold camera=garden threshold=0\.5000 from="camera threshold"/);
    for (const row of await dropSix(d, garden, 'reloaded', daemon)) {
      expect(row).toMatchObject({ threshold: 0.5, action: isPlane(row.path) ? 'moved' : 'kept' });
    }
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('promote refuses what the daemon would (a curve that cannot answer the budget), even with --force', async () => {
    const d = newDirs('bw-budget-promote-');
    const garden = makeCamera(d.root, 'garden');
    mkdirSync(join(d.root, 'models'));
    const model = curveModel(join(d.root, 'models'), 'model.onnx', [0.9, 0.8, 0.5, 0.2, 0]);
    const installed = readFileSync(model);
    const configFile = join(d.root, 'config.json');
    writeFileSync(configFile, JSON.stringify({ cameras: [garden], birdBudget: 0.02, db: d.db, model }));
    const bare = oldModel(d.root, 'bare.onnx', true);
    const refused = await runCli(['promote', bare, '--force', '--config', configFile]);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      `birdwatch: refusing to promote bare.onnx: the daemon would refuse it: camera 'garden': ` +
        `the config's birdBudget 0.02 needs the model's operating curve, ` +
        `and model ${bare} has none (it predates it, and ` +
        'its metadata does not say at which bird budget its own threshold was chosen): set a threshold instead, or ' +
        `install a model that carries a curve (config ${configFile}, database ${join(d.root, 'birdwatch.db')})\n`,
    );
    expect(readFileSync(model).equals(installed)).toBe(true);
    expect(existsSync(join(d.root, 'models', 'previous'))).toBe(false);

    // A candidate with a curve is taken (--force: it has no retrain report).
    const next = curveModel(d.root, 'next.onnx', [0.9, 0.8, 0, 0, 0]);
    const taken = await runCli(['promote', next, '--force', '--config', configFile]);
    expect(taken.code, taken.stderr).toBe(0);
    expect(readFileSync(model).equals(readFileSync(next))).toBe(true);
  }, 60_000);

  it("classify uses the config's level of the same rule: an explicit birdBudget on the model's curve", async () => {
    const d = newDirs('bw-budget-classify-');
    const model = curveModel(d.root, 'curve.onnx', [0.9, 0.8, 0.5, 0.2, 0]);
    const configFile = join(d.root, 'config.json');
    const moves = async (config: Record<string, unknown>) => {
      writeFileSync(configFile, JSON.stringify({ model, provider: 'cpu', ...config }));
      const out = await runCli(['classify', '--json', '--config', configFile, ...FIXTURES]);
      expect(out.code, out.stderr).toBe(0);
      return out.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { move: boolean }).move);
    };
    expect(await moves({ birdBudget: 0.1 })).toEqual([true, true, true, true, true, true]);
    expect(await moves({ birdBudget: 0.02 })).toEqual([true, true, true, false, false, false]);
    expect(await moves({ birdBudget: 0.1, threshold: 0.5 })).toEqual([true, true, true, false, false, false]);
    writeFileSync(configFile, JSON.stringify({ model, birdBudget: 0.001 }));
    const below = await runCli(['classify', '--json', '--config', configFile, FIXTURES[0]!]);
    expect(below).toMatchObject({ code: 2, stdout: '' });
    expect(below.stderr).toMatch(/^birdwatch: the config's birdBudget 0\.001 is below the smallest bird budget /);
  }, 60_000);
});
