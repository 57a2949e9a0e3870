// Python/daemon equivalence of multi-view inference: the same image files, with the same two-view model, through
// training's side (data.py's PIL loader, views.py, the torch weights read from the .onnx by checkpoint.load_init) and
// through `birdwatch classify --json` (sharp, src/model/views.ts, onnxruntime-node) give the same averaged
// P(airplane) within 1e-4.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_AIRPLANES, FIXTURE_BIRDS, FIXTURES_DIR, makeTempDir, put } from './fixtures/images.js';
import { withEditedMetadata } from './fixtures/onnx.js';
import { REPO, runCli } from './helpers/daemon.js';

const SHIPPED = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const cifar = (cls: string): string[] =>
  readdirSync(join(FIXTURES_DIR, 'cifar', cls))
    .sort()
    .slice(0, 5)
    .map((name) => join(FIXTURES_DIR, 'cifar', cls, name));
// All 32x32 CIFAR JPEGs: neither side resizes them, and PIL and libvips decode them to the same pixels (libjpeg-turbo
// both; checked when this test was written: 0 of 3,072 values differ), so the two pipelines see one uint8 image and
// only float32 arithmetic (normalization order, GEMM summation order) separates their answers. A larger photograph
// would add the lanczos resamplers' difference (PIL and libvips round differently), which is not what this checks.
const FILES = [...FIXTURE_AIRPLANES, ...FIXTURE_BIRDS, ...cifar('airplane'), ...cifar('bird')];

// P(airplane) per file and view list, as training computes it: the model's own preprocessing spec and views.
const PYTHON = `
import json, sys
import onnx, torch
from birdwatch_training import checkpoint, data, views
model_path, *files = sys.argv[1:]
meta = {p.key: p.value for p in onnx.load(model_path).metadata_props}
spec = json.loads(meta["preprocessing"])
init = checkpoint.load_init(model_path)
net = init["model"].eval()
x = torch.stack([torch.from_numpy(data.load_image_file(f, spec)) for f in files])
xn = data.normalize(x, init["mean"], init["std"])
airplane = json.loads(meta["classes"]).index("airplane")
out = {"views": views.views_of(spec)}
for name, vs in (("model", views.views_of(spec)), ("identity", ["identity"])):
    out[name] = views.probabilities(net, xn, vs)[:, airplane].tolist()
print(json.dumps(out))
`;

let dir: string;
let model: string;

beforeAll(() => {
  dir = makeTempDir('birdwatch-views-parity-');
  model = put(
    dir,
    'two-views.onnx',
    withEditedMetadata(readFileSync(SHIPPED), (props) => {
      props.preprocessing = JSON.stringify({ ...JSON.parse(props.preprocessing!), views: ['identity', 'mirror'] });
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('multi-view inference, Python (training/birdwatch_training/views.py) and the daemon', () => {
  it('give the same averaged P(airplane) within 1e-4 on 16 CIFAR images', async () => {
    const python = JSON.parse(
      execFileSync(join(REPO, 'training', 'python.sh'), ['-c', PYTHON, model, ...FILES], {
        cwd: join(REPO, 'training'),
        encoding: 'utf8',
      }),
    ) as { views: string[]; model: number[]; identity: number[] };
    expect(python.views).toEqual(['identity', 'mirror']);

    const run = await runCli(['classify', '--json', '--provider', 'cpu', '--model', model, ...FILES]);
    expect(run.code, run.stderr).toBe(0);
    const node = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { path: string; probabilities: { airplane: number } });
    expect(node.map((row) => row.path)).toEqual(FILES);

    const differences = FILES.map((_, i) => Math.abs(node[i]!.probabilities.airplane - python.model[i]!));
    const largest = Math.max(...differences);
    console.log(
      `[figures] views parity: max |P(airplane) node - python| = ${largest.toExponential(2)} ` +
        `over ${FILES.length} images`,
    );
    differences.forEach((d, i) => expect(d, FILES[i]).toBeLessThan(1e-4));
    // The tolerance is far below what the views change: the one-view answers differ from the two-view ones by more.
    const viewEffect = Math.max(...FILES.map((_, i) => Math.abs(python.identity[i]! - python.model[i]!)));
    expect(viewEffect).toBeGreaterThan(10 * 1e-4);
  }, 120_000);
});
