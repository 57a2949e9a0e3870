// Multi-view inference (src/model/views.ts, src/model/load.ts): a model whose preprocessing metadata names the views
// ["identity","mirror"] gives, per image, the mean of the one-view model's probabilities on the image and on its
// mirror, in-process, through `birdwatch classify --json` and in the daemon after a hot swap; a model naming no views
// decides exactly as before; an unknown view name is refused at load, by classify, at daemon start and at a swap.
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareImage } from '../src/image/preprocess.js';
import { loadModel, ModelError, type Model, type Probabilities } from '../src/model/load.js';
import { applyView } from '../src/model/views.js';
import { FIXTURE_AIRPLANES, FIXTURE_BIRDS, makeTempDir, put } from './fixtures/images.js';
import { withEditedMetadata } from './fixtures/onnx.js';
import { REPO, runCli, startDaemon, useTestDirs } from './helpers/daemon.js';
import { waitForDecisions } from './helpers/decisions.js';
import { sha256 } from './helpers/images.js';

const SHIPPED = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const FIXTURES = [...FIXTURE_AIRPLANES, ...FIXTURE_BIRDS];
const LIMITS = { maxPixels: 50_000_000, maxBytes: 20 * 1024 * 1024 };
const newDirs = useTestDirs();

/** The shipped network with its preprocessing metadata's views set (undefined: the key removed). */
function withViews(views: unknown): Buffer {
  return withEditedMetadata(readFileSync(SHIPPED), (props) => {
    const spec = JSON.parse(props.preprocessing ?? '{}') as Record<string, unknown>;
    if (views === undefined) delete spec.views;
    else spec.views = views;
    props.preprocessing = JSON.stringify(spec);
  });
}

let dir: string;
let oneView: Model;
let twoViews: Model;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = makeTempDir('birdwatch-views-');
  files.one = put(dir, 'one-view.onnx', withViews(['identity']));
  files.two = put(dir, 'two-views.onnx', withViews(['identity', 'mirror']));
  files.unknown = put(dir, 'unknown-view.onnx', withViews(['identity', 'flip']));
  oneView = await loadModel({ path: files.one, provider: 'cpu' });
  twoViews = await loadModel({ path: files.two, provider: 'cpu' });
});
afterAll(async () => {
  await oneView?.close();
  await twoViews?.close();
});

const prepare = async (file: string | Buffer): Promise<Float32Array> =>
  (await prepareImage(file, oneView, LIMITS)).tensor;
const mean = (a: Probabilities, b: Probabilities): Probabilities => ({
  airplane: (a.airplane + b.airplane) / 2,
  bird: (a.bird + b.bird) / 2,
});

describe('the mirror view', () => {
  it("is the image flipped left-right: the prepared tensor of sharp's flop() of each fixture, exactly", async () => {
    for (const file of FIXTURES) {
      // The fixtures are 32x32, so preparing them resizes nothing: flop-then-prepare is prepare-then-mirror exactly
      // (a lossless PNG of the flopped pixels); on a larger image the two would differ by the resize's rounding.
      const flopped = await sharp(file).flop().png().toBuffer();
      const tensor = await prepare(file);
      const mirrored = applyView(tensor, 'mirror');
      expect(Array.from(mirrored), file).toEqual(Array.from(await prepare(flopped)));
      expect(Array.from(mirrored)).not.toEqual(Array.from(tensor));
      expect(Array.from(applyView(mirrored, 'mirror'))).toEqual(Array.from(tensor));
    }
  });
});

describe('a model with views ["identity","mirror"]', () => {
  it('gives each fixture the mean of the one-view probabilities of image and mirror, in one batched run', async () => {
    const tensors = await Promise.all(FIXTURES.map((file) => prepare(file)));
    const single = await oneView.classify(tensors);
    const mirrored = await oneView.classify(tensors.map((t) => applyView(t, 'mirror')));
    const averaged = await twoViews.classify(tensors);
    expect(twoViews.views).toEqual(['identity', 'mirror']);
    expect(oneView.views).toEqual(['identity']);
    expect(averaged).toHaveLength(FIXTURES.length);
    averaged.forEach((p, i) => {
      const expected = mean(single[i]!, mirrored[i]!);
      // Same network, same float32 inputs; only the batch layout differs (12 rows interleaved vs 6 + 6), which
      // moves a float32 probability by a few ulps at most.
      expect(Math.abs(p.airplane - expected.airplane), FIXTURES[i]).toBeLessThan(1e-6);
      expect(Math.abs(p.bird - expected.bird), FIXTURES[i]).toBeLessThan(1e-6);
      expect(p.airplane + p.bird).toBeCloseTo(1, 5);
    });
    // The check has teeth: on some fixture the mirror alone answers visibly differently from the image as is.
    const spread = Math.max(...single.map((p, i) => Math.abs(p.airplane - mirrored[i]!.airplane)));
    expect(spread).toBeGreaterThan(1e-3);
    // One image at a time gives the same as the batch.
    const [first] = await twoViews.classify([tensors[0]!]);
    expect(first!.airplane).toBeCloseTo(averaged[0]!.airplane, 6);
  });

  it('`birdwatch classify --json` reports the averaged probabilities', async () => {
    const run = await runCli(['classify', '--json', '--provider', 'cpu', '--model', files.two!, ...FIXTURES]);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { path: string; probabilities: Probabilities });
    const expected = await twoViews.classify(await Promise.all(FIXTURES.map((file) => prepare(file))));
    expect(rows.map((r) => r.path)).toEqual(FIXTURES);
    rows.forEach((row, i) => {
      expect(Math.abs(row.probabilities.airplane - expected[i]!.airplane), row.path).toBeLessThan(1e-6);
    });
    const oneViewRun = await runCli(['classify', '--json', '--provider', 'cpu', '--model', files.one!, ...FIXTURES]);
    const oneViewRows = oneViewRun.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { probabilities: Probabilities });
    expect(
      oneViewRows.some((r, i) => Math.abs(r.probabilities.airplane - rows[i]!.probabilities.airplane) > 1e-4),
    ).toBe(true);
  });
});

describe('a model naming no views', () => {
  it('(no views key, or no preprocessing key at all) decides exactly as the one-view model', async () => {
    const noKey = put(dir, 'no-views.onnx', withViews(undefined));
    const noSpec = put(
      dir,
      'no-preprocessing.onnx',
      withEditedMetadata(readFileSync(SHIPPED), (p) => {
        delete p.preprocessing;
      }),
    );
    const tensors = await Promise.all(FIXTURES.map((file) => prepare(file)));
    const reference = await oneView.classify(tensors);
    for (const file of [noKey, noSpec]) {
      const model = await loadModel({ path: file, provider: 'cpu' });
      expect(model.views).toEqual(['identity']);
      expect(await model.classify(tensors)).toEqual(reference);
      await model.close();
    }
  });
});

describe('views the daemon does not know are refused', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'an unknown name',
      ['identity', 'flip'],
      /metadata 'preprocessing' views \["identity","flip"\]: unknown view "flip" \(this birdwatch knows identity, mirror\)/,
    ],
    ['an empty list', [], /metadata 'preprocessing' views must be a non-empty list of view names, got \[\]/],
    ['a string', 'mirror', /metadata 'preprocessing' views must be a non-empty list of view names, got "mirror"/],
  ];
  for (const [name, views, message] of cases) {
    it(`loadModel: ${name}`, async () => {
      const file = put(dir, `bad-${name.replace(/\W+/g, '-')}.onnx`, withViews(views));
      const err = await loadModel({ path: file, provider: 'cpu' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModelError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('loadModel: preprocessing metadata that is not JSON', async () => {
    const file = put(
      dir,
      'bad-preprocessing.onnx',
      withEditedMetadata(readFileSync(SHIPPED), (p) => {
        p.preprocessing = '{views';
      }),
    );
    const err = await loadModel({ path: file, provider: 'cpu' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/metadata 'preprocessing' is not valid JSON/);
  });

  it('classify: exit 2 with one line naming the view', async () => {
    const run = await runCli(['classify', '--json', '--provider', 'cpu', '--model', files.unknown!, FIXTURES[0]!]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^birdwatch: model \S+unknown-view\.onnx: metadata 'preprocessing' views \["identity","flip"\]: unknown view "flip" \(this birdwatch knows identity, mirror\)\n$/,
    );
  });

  it('daemon start: exit 2 with one line naming the view', async () => {
    const d = newDirs('bw-views-start-');
    const daemon = startDaemon(d, ['--model', files.unknown!, '--provider', 'cpu']);
    expect(await daemon.exited).toEqual({ code: 2, signal: null });
    expect(daemon.output).toMatch(
      /birdwatch: model \S+unknown-view\.onnx: metadata 'preprocessing' views \["identity","flip"\]: unknown view "flip"/,
    );
  });

  it('hot swap: an unknown view is refused, the old model keeps deciding; a two-view model then swaps in', async () => {
    const d = newDirs('bw-views-swap-');
    const model = join(d.root, 'model.onnx');
    copyFileSync(files.one!, model);
    const oneId = sha256(readFileSync(files.one!)).slice(0, 12);
    const twoId = sha256(readFileSync(files.two!)).slice(0, 12);
    const install = (source: string): void => {
      copyFileSync(source, join(d.root, '.incoming.onnx'));
      renameSync(join(d.root, '.incoming.onnx'), model);
    };
    const daemon = startDaemon(d, ['--model', model, '--provider', 'cpu']);
    await daemon.ready();

    install(files.unknown!);
    await daemon.waitForOutput(/model refused \(model file replaced\)/);
    expect(daemon.output).toMatch(
      /model refused \(model file replaced\): model \S+: metadata 'preprocessing' views \["identity","flip"\]: unknown view "flip" \(this birdwatch knows identity, mirror\); still deciding with model /,
    );
    // The fixture whose two-view answer differs most from its one-view answer, so the logged value tells them apart.
    const tensors = await Promise.all(FIXTURES.map((file) => prepare(file)));
    const asIs = await oneView.classify(tensors);
    const averaged = await twoViews.classify(tensors);
    const gaps = asIs.map((p, i) => Math.abs(p.airplane - averaged[i]!.airplane));
    const pick = gaps.indexOf(Math.max(...gaps));
    expect(gaps[pick]).toBeGreaterThan(1e-4);
    const first = join(d.watch, 'first.jpg');
    copyFileSync(FIXTURES[pick]!, first);
    const [before] = await waitForDecisions(d.db, 'path = ?', [first], 1, 30_000, () => daemon.tail());
    expect(before!.model_id).toBe(oneId);

    install(files.two!);
    await daemon.waitForOutput(/model swapped/);
    expect(daemon.output).toMatch(/2 views \(identity, mirror\), probabilities averaged/);
    const second = join(d.watch, 'second.jpg');
    writeFileSync(second, readFileSync(FIXTURES[pick]!));
    const [after] = await waitForDecisions(d.db, 'path = ?', [second], 1, 30_000, () => daemon.tail());
    expect(after!.model_id).toBe(twoId);
    // The log stores what the model returned: the one-view value before the swap, the two-view value after it.
    expect(Math.abs(before!.p_airplane! - asIs[pick]!.airplane)).toBeLessThan(1e-6);
    expect(Math.abs(after!.p_airplane! - averaged[pick]!.airplane)).toBeLessThan(1e-6);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 90_000);
});
