// A new model without a restart, on the real daemon: a model renamed into place mid-stream (300 shots flowing) is
// checked and switched in between batches (every shot decided once, by exactly one model: the new model has another
// threshold and each row's threshold matches its model id; old id before, new id after); a corrupt model or one with
// bad metadata is refused with one line and the old model keeps deciding; `log --model` and `stats` per model read
// the result.
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listTree, REPO, runCli, startDaemon, type TestDirs, useTestDirs } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, sha256 } from './helpers/images.js';
import { sleep } from './helpers/wait.js';
import { withEditedMetadata } from './fixtures/onnx.js';

const SHIPPED = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const FIXTURES = [...AIRPLANE_FIXTURES, ...BIRD_FIXTURES];
const isPlane = (file: string): boolean => basename(file).includes('airplane');
const modelId = (bytes: Buffer): string => sha256(bytes).slice(0, 12);

const newDirs = useTestDirs();

/** Puts a model file in place the way an administrator installs one: written beside it, then renamed onto it. */
function installModel(target: string, bytes: Buffer | string): void {
  const temp = join(target, '..', `.incoming-${Date.now()}.onnx`);
  writeFileSync(temp, bytes);
  renameSync(temp, target);
}

/** Drops shot number i (a copy of one of the six fixtures, renamed into place) into the blog. */
function dropCopy(d: TestDirs, i: number): string {
  const fixture = FIXTURES[i % FIXTURES.length]!;
  const name = `shot-${String(i).padStart(4, '0')}-${basename(fixture)}`;
  const temp = join(d.watch, `.${name}.part`);
  copyFileSync(fixture, temp);
  renameSync(temp, join(d.watch, name));
  return join(d.watch, name);
}

describe('model hot swap', () => {
  it('a model renamed in mid-stream: each shot decided once by one model, old id before, new after', async () => {
    const d = newDirs('bw-swap-');
    const model = join(d.root, 'model.onnx');
    copyFileSync(SHIPPED, model);
    const oldBytes = readFileSync(model);
    // The shipped network re-exported with other metadata: a different file (and id), another threshold (0.75, still
    // between the fixtures' wide margins, so the same decisions): a row's threshold shows which model decided it.
    let oldThreshold = NaN;
    const newBytes = withEditedMetadata(oldBytes, (props) => {
      oldThreshold = Number(props.threshold);
      props.model_id = 'swap-test-v2';
      props.threshold = '0.75';
    });
    const [oldId, newId] = [modelId(oldBytes), modelId(newBytes)];
    expect(newId).not.toBe(oldId);
    expect(oldThreshold).toBeGreaterThan(0.75);

    const daemon = startDaemon(d, [
      '--model',
      model,
      '--provider',
      'cpu',
      '--log-level',
      'debug',
      '--rescan-interval-ms',
      '1000',
    ]);
    await daemon.ready();
    const paths: string[] = [];
    // Phase 1: 150 shots flowing; the new model is installed once 50 are decided, while the rest still arrive.
    for (let i = 0; i < 150; i++) {
      paths.push(dropCopy(d, i));
      if (i % 10 === 9) await sleep(20);
      if (i === 120) await waitForDecisions(d.db, '1=1', [], 50, 60_000, () => daemon.tail());
    }
    installModel(model, newBytes);
    // Phase 2: shots keep arriving while the new model loads, is checked and switched in.
    while (!/model swapped/.test(daemon.output) && paths.length < 600) {
      paths.push(dropCopy(d, paths.length));
      await sleep(5);
    }
    await daemon.waitForOutput(/model swapped/);
    // Phase 3: the rest, after the swap: all of them must be decided by the new model.
    const phase2 = paths.length;
    const TOTAL = phase2 + 100;
    for (let i = phase2; i < TOTAL; i++) {
      paths.push(dropCopy(d, i));
      if (i % 10 === 9) await sleep(20);
    }
    await waitForDecisions(d.db, '1=1', [], TOTAL, 120_000, () => daemon.tail());
    await daemon.caughtUp(); // a doubled decision would come before the daemon has looked at every file again
    const rows = decisions(d.db);

    // Nothing lost, nothing decided twice.
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(rows.map((r) => r.path)).size).toBe(TOTAL);
    expect(new Set(rows.map((r) => r.path))).toEqual(new Set(paths));
    // Exactly one known model id per row, both models used, and the same (shipped) weights decided the same way.
    expect(new Set(rows.map((r) => r.model_id))).toEqual(new Set([oldId, newId]));
    for (const row of rows) {
      expect(row.action, row.path).toBe(isPlane(row.path) ? 'moved' : 'kept');
      expect(row.error).toBeNull();
    }
    // No shot decided half by one model: each row's threshold is the one of the model whose id it carries.
    const thresholdOf: Record<string, number> = { [oldId]: oldThreshold, [newId]: 0.75 };
    expect(
      rows.filter((r) => r.threshold !== thresholdOf[r.model_id!]).map((r) => [r.path, r.model_id, r.threshold]),
    ).toEqual([]);
    const firstNew = rows.find((r) => r.model_id === newId)!;
    expect(rows[0]!.model_id).toBe(oldId);
    const afterSwap = new Set(paths.slice(phase2));
    expect(
      rows.filter((r) => afterSwap.has(r.path)).every((r) => r.model_id === newId),
      'shots dropped after the swap',
    ).toBe(true);
    // Shots already in progress at the swap finish with the old model: at most the tracker's window of them
    // (concurrency 8 + batch 8) is logged after the first new-model row.
    const oldAfterNew = rows.filter((r) => r.id > firstNew.id && r.model_id === oldId).length;
    expect(oldAfterNew).toBeLessThanOrEqual(16);
    console.log(
      `[figures] swap: ${rows.filter((r) => r.model_id === oldId).length} old, ` +
        `${rows.filter((r) => r.model_id === newId).length} new, ` +
        `${oldAfterNew} old rows logged after the first new one; ` +
        `${phase2 - 150} shots dropped while the new model loaded`,
    );

    // Every file is where its row says, unchanged.
    const planes = paths
      .filter(isPlane)
      .map((p) => basename(p))
      .sort();
    expect(listTree(d.airplanes)).toEqual(planes);
    expect(listTree(d.watch)).toEqual(
      paths
        .filter((p) => !isPlane(p))
        .map((p) => basename(p))
        .sort(),
    );
    for (const row of rows) expect(sha256(readFileSync(row.final_path))).toBe(row.sha256);

    // log --model and stats per model agree with the rows.
    const byModel = await runCli(['log', '--db', d.db, '--model', newId, '--json']);
    expect(byModel.code, byModel.stderr).toBe(0);
    const listed = byModel.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; model_id: string });
    expect(listed.map((r) => r.id).sort((a, b) => a - b)).toEqual(
      rows.filter((r) => r.model_id === newId).map((r) => r.id),
    );
    const stats = await runCli(['stats', '--db', d.db, '--json']);
    const perModel = (
      JSON.parse(stats.stdout) as { per_model: Array<{ model_id: string; decisions: number; moved: number }> }
    ).per_model;
    expect(Object.fromEntries(perModel.map((m) => [m.model_id, m.decisions]))).toEqual({
      [oldId]: rows.filter((r) => r.model_id === oldId).length,
      [newId]: rows.filter((r) => r.model_id === newId).length,
    });
    expect((await runCli(['stats', '--db', d.db])).stdout).toMatch(new RegExp(`MODEL[\\s\\S]*${newId}`));
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 240_000);

  it('a corrupt model renamed in, and bad metadata on SIGHUP, are refused: the old model keeps deciding', async () => {
    const d = newDirs('bw-swap-bad-');
    const model = join(d.root, 'model.onnx');
    copyFileSync(SHIPPED, model);
    const oldId = modelId(readFileSync(model));
    const daemon = startDaemon(d, ['--model', model, '--provider', 'cpu']);
    await daemon.ready();

    // Half a model file, renamed into place.
    installModel(model, readFileSync(SHIPPED).subarray(0, 1_000_000));
    await daemon.waitForOutput(/model refused \(model file replaced\)/);
    const refusal = daemon.output.split('\n').filter((line) => line.includes('model refused'));
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toMatch(/error .*not a valid ONNX file|error .*cannot be loaded/);
    expect(refusal[0]).toContain(`still deciding with model ${oldId}`);
    copyFileSync(AIRPLANE_FIXTURES[0]!, join(d.watch, 'after-corrupt.jpg'));
    const [first] = await waitForDecisions(d.db, 'path = ?', [join(d.watch, 'after-corrupt.jpg')], 1, 30_000, () =>
      daemon.tail(),
    );
    expect(first).toMatchObject({ action: 'moved', model_id: oldId });

    // A complete network whose metadata lacks its threshold, loaded on SIGHUP.
    writeFileSync(
      model,
      withEditedMetadata(readFileSync(SHIPPED), (props) => {
        delete props.threshold;
      }),
    );
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/model refused \(SIGHUP\)/);
    expect(daemon.output).toMatch(
      /model refused \(SIGHUP\): model \S+: metadata 'threshold' is missing; still deciding with model/,
    );
    copyFileSync(BIRD_FIXTURES[0]!, join(d.watch, 'after-bad-metadata.jpg'));
    const [second] = await waitForDecisions(
      d.db,
      'path = ?',
      [join(d.watch, 'after-bad-metadata.jpg')],
      1,
      30_000,
      () => daemon.tail(),
    );
    expect(second).toMatchObject({ action: 'kept', model_id: oldId });
    expect(daemon.output).not.toMatch(/model swapped/);

    // The shipped model put back, then SIGHUP: nothing to swap (same file as the one serving).
    copyFileSync(SHIPPED, model);
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/model unchanged/);
    expect(decisions(d.db).every((r) => r.model_id === oldId)).toBe(true);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);
});
