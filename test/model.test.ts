// The shipped model file: metadata read from the file, validation errors, provider choice, batched inference.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareImage } from '../src/image/preprocess.js';
import { readOnnxMetadata } from '../src/model/metadata.js';
import { loadModel, ModelError, type Model } from '../src/model/load.js';
import { FIXTURE_AIRPLANES, FIXTURE_BIRDS, makeTempDir, randomBytes } from './fixtures/images.js';
import { withEditedMetadata } from './fixtures/onnx.js';

const MODEL = fileURLToPath(new URL('../models/birds-vs-airplanes.onnx', import.meta.url));
const LIMITS = { maxPixels: 50_000_000, maxBytes: 20 * 1024 * 1024 };
let dir: string;
let model: Model;

function captureLogger() {
  const lines: Array<[string, string]> = [];
  return { lines, info: (m: string) => lines.push(['info', m]), warn: (m: string) => lines.push(['warn', m]) };
}

async function loadError(path: string): Promise<ModelError> {
  const err = await loadModel({ path, provider: 'cpu' }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  return err as ModelError;
}

beforeAll(async () => {
  dir = makeTempDir('birdwatch-model-');
  model = await loadModel({ path: MODEL, provider: 'cpu' });
});
afterAll(async () => {
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the shipped model', () => {
  it('has its metadata_props read from the file', () => {
    const { metadata } = readOnnxMetadata(readFileSync(MODEL));
    for (const key of ['classes', 'mean', 'std', 'threshold']) expect(metadata).toHaveProperty(key);
    expect(model.classes).toEqual(['airplane', 'bird']);
    expect(model.mean).toHaveLength(3);
    expect(model.std).toHaveLength(3);
    expect(model.mean).toEqual(JSON.parse(metadata.mean!));
    expect(model.threshold).toBe(Number(metadata.threshold));
    expect(model.threshold).toBeGreaterThan(0);
    expect(model.threshold).toBeLessThanOrEqual(1);
    expect(model.metadata).toEqual(metadata);
    expect(model.id).toMatch(/^[0-9a-f]{12}$/);
    expect(model.provider).toBe('cpu');
  });

  it('labels the fixture airplanes and birds correctly, in one batched run', async () => {
    const files = [...FIXTURE_AIRPLANES, ...FIXTURE_BIRDS];
    const tensors = await Promise.all(files.map(async (f) => (await prepareImage(f, model, LIMITS)).tensor));
    const probabilities = await model.classify(tensors);
    expect(probabilities).toHaveLength(files.length);
    probabilities.forEach((p, i) => {
      expect(p.airplane + p.bird).toBeCloseTo(1, 4);
      const expected = i < FIXTURE_AIRPLANES.length ? 'airplane' : 'bird';
      expect(p.airplane > p.bird ? 'airplane' : 'bird', files[i]).toBe(expected);
    });
    // A batch gives the same answers as one image at a time.
    const single = await model.classify([tensors[0]!]);
    expect(single[0]!.airplane).toBeCloseTo(probabilities[0]!.airplane, 5);
    expect(await model.classify([])).toEqual([]);
  });
});

describe('ModelError for an unusable model file', () => {
  it('missing file', async () => {
    expect((await loadError(join(dir, 'nope.onnx'))).message).toMatch(/no such file/);
  });

  it('random bytes and a text file', async () => {
    writeFileSync(join(dir, 'random.onnx'), randomBytes(5000));
    expect((await loadError(join(dir, 'random.onnx'))).message).toMatch(/not a valid ONNX file/);
    writeFileSync(join(dir, 'text.onnx'), 'this is not a model\n');
    expect((await loadError(join(dir, 'text.onnx'))).message).toMatch(/not a valid ONNX file/);
  });

  it('a truncated model', async () => {
    const bytes = readFileSync(MODEL);
    writeFileSync(join(dir, 'cut.onnx'), bytes.subarray(0, bytes.length >> 1));
    expect((await loadError(join(dir, 'cut.onnx'))).message).toMatch(/not a valid ONNX file|cannot be loaded/);
  });

  const cases: Array<[string, (p: Record<string, string>) => void, RegExp]> = [
    [
      'missing mean',
      (p) => {
        delete p.mean;
      },
      /'mean' is missing/,
    ],
    [
      'mean of 2 numbers',
      (p) => {
        p.mean = '[0.5, 0.5]';
      },
      /'mean' must be a JSON array of 3/,
    ],
    [
      'std with a zero',
      (p) => {
        p.std = '[0.2, 0, 0.2]';
      },
      /'std' must be 3 positive/,
    ],
    [
      'classes not JSON',
      (p) => {
        p.classes = 'airplane,bird';
      },
      /'classes' is not valid JSON/,
    ],
    [
      'classes in another set',
      (p) => {
        p.classes = '["cat","dog"]';
      },
      /'classes' must be/,
    ],
    [
      'missing threshold',
      (p) => {
        delete p.threshold;
      },
      /'threshold' is missing/,
    ],
    [
      'threshold out of range',
      (p) => {
        p.threshold = '1.5';
      },
      /'threshold' must be a number between 0 and 1/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    it(`metadata: ${name}`, async () => {
      const file = join(dir, `${name.replace(/\W+/g, '-')}.onnx`);
      writeFileSync(file, withEditedMetadata(readFileSync(MODEL), edit));
      expect((await loadError(file)).message).toMatch(message);
    });
  }

  it('the edited copy itself loads when nothing is changed (the rewrite is faithful)', async () => {
    const file = join(dir, 'same.onnx');
    writeFileSync(
      file,
      withEditedMetadata(readFileSync(MODEL), () => undefined),
    );
    const copy = await loadModel({ path: file, provider: 'cpu' });
    expect(copy.threshold).toBe(model.threshold);
    await copy.close();
  });
});

describe('provider choice', () => {
  it("'cuda' without a usable CUDA provider falls back to the CPU with a warning naming the reason", async () => {
    const logger = captureLogger();
    const m = await loadModel({ path: MODEL, provider: 'cuda', logger });
    if (m.provider === 'cuda') {
      // A machine with a GPU and the CUDA build of onnxruntime-node: nothing to fall back from.
      expect(logger.lines.some(([, line]) => /CUDA execution provider/.test(line))).toBe(true);
    } else {
      const warnings = logger.lines.filter(([level]) => level === 'warn').map(([, line]) => line);
      expect(warnings.join('\n')).toMatch(
        /CUDA execution provider requested but not available \(.+\); falling back to CPU/,
      );
    }
    await m.close();
  });

  it("'auto' picks CPU on a machine without an NVIDIA GPU, saying so", async () => {
    const logger = captureLogger();
    const m = await loadModel({ path: MODEL, provider: 'auto', logger });
    const said = logger.lines
      .filter(([level]) => level === 'info')
      .map(([, line]) => line)
      .join('\n');
    if (!existsSync('/dev/nvidia0') && !existsSync('/proc/driver/nvidia')) {
      expect(m.provider).toBe('cpu');
      expect(said).toMatch(/provider auto: no NVIDIA GPU found; using the CPU execution provider/);
    } else if (m.provider === 'cpu') {
      // A GPU, but not the CUDA build of onnxruntime-node: the CPU, with the reason.
      expect(said).toMatch(
        /provider auto: NVIDIA GPU found but the CUDA execution provider is not available \(.+\); using CPU/,
      );
    } else {
      expect(m.provider).toBe('cuda');
    }
    await m.close();
  });
});
