// The model card (src/model/card-file.ts): one path helper, one typed reader and the TypeScript writer, whose card
// has the fields and JSON types of the card training/train.py writes (the shared fixture the Python suite checks its
// writer against; until it lands, the card shipped beside the model, which train.py wrote).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/index.js';
import { cardFromModel, cardPathOf, readModelCard, writeModelCard } from '../src/model/card-file.js';
import { modelFileInfo } from '../src/model/file-info.js';

const dir = mkdtempSync(join(tmpdir(), 'bw-card-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHIPPED = join(PROJECT_ROOT, 'models', 'birds-vs-airplanes.onnx');
const FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'model-card.json');
const pythonCard = JSON.parse(readFileSync(existsSync(FIXTURE) ? FIXTURE : cardPathOf(SHIPPED), 'utf8')) as
  Record<string, unknown>;
/** What only a promotion writes (its origin and comparison) or only the TypeScript side knows (the file's hash). */
const PROMOTION_ONLY = ['sha256', 'training_data_digest', 'promoted_from', 'comparison', 'training'];

/** A value's JSON shape: its type, and for an object the shapes of its fields (arrays by their first item). */
function shape(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'array' : ['array of', shape(value[0])];
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shape(inner)]));
  }
  return typeof value;
}

describe('the model card', () => {
  it('lives beside its model, whatever the case of the extension', () => {
    expect(cardPathOf('/m/birds-vs-airplanes.onnx')).toBe('/m/birds-vs-airplanes.json');
    expect(cardPathOf('/m/cand.ONNX')).toBe('/m/cand.json');
  });

  it("the TypeScript writer's card has the Python card's fields with the same JSON shapes", () => {
    const written = cardFromModel(modelFileInfo(SHIPPED), 'birds-vs-airplanes.onnx', () => 'the rule',
      { promoted_from: '/c/x.onnx', comparison: null, training: null });
    const shared = Object.keys(written).filter((key) => !PROMOTION_ONLY.includes(key));
    expect(shared).toEqual(expect.arrayContaining(['model_file', 'created_at', 'classes', 'mean', 'std', 'threshold',
      'threshold_rule', 'report_metrics', 'operating_curve', 'validation_metrics', 'model', 'recipe',
      'preprocessing']));
    for (const key of shared) {
      expect(Object.keys(pythonCard), `the Python card has '${key}'`).toContain(key);
      expect(shape(written[key]), `'${key}' has the Python card's shape`).toEqual(shape(pythonCard[key]));
    }
  });

  it('is written atomically and read back as it was; none is no error, a broken one is', () => {
    const model = join(dir, 'm.onnx');
    writeModelCard(model, { model_file: 'm.onnx', threshold: '0.5', classes: ['airplane', 'bird'] });
    expect(readModelCard(model)).toEqual({ file: join(dir, 'm.json'), error: null,
      card: { model_file: 'm.onnx', threshold: '0.5', classes: ['airplane', 'bird'] } });
    expect(readModelCard(join(dir, 'none.onnx'))).toEqual({ file: join(dir, 'none.json'), card: null, error: null });
    writeFileSync(join(dir, 'bad.json'), '[1, 2]');
    expect(readModelCard(join(dir, 'bad.onnx')).error).toMatch(/^model card \S+bad\.json: not a JSON object$/);
  });
});
