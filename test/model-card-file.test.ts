// The model card (src/model/card-file.ts): one path helper, one typed reader and the TypeScript writer, whose card
// has the fields and JSON types of the card training/train.py writes (test/fixtures/model-card.json, the shared
// fixture the Python suite checks its writer against; without it, the card shipped beside the model).
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
const pythonCard = JSON.parse(readFileSync(existsSync(FIXTURE) ? FIXTURE : cardPathOf(SHIPPED), 'utf8')) as Record<
  string,
  unknown
>;
/** What only a promotion writes (its origin and comparison) or only the TypeScript side knows (the file's hash). */
const PROMOTION_ONLY = ['sha256', 'training_data_digest', 'promoted_from', 'comparison', 'training'];

/** A value's JSON type: 'object', 'array', 'null', 'string', 'number' or 'boolean'. */
function jsonType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}
/** The fields birdwatch reads inside (their own fields must match too); recipe, model and preprocessing are recorded
 *  as the model's metadata has them, so their insides vary with the model, not with the writer. */
const READ_INSIDE = ['report_metrics', 'validation_metrics', 'operating_curve'];

describe('the model card', () => {
  it('lives beside its model, whatever the case of the extension', () => {
    expect(cardPathOf('/m/birds-vs-airplanes.onnx')).toBe('/m/birds-vs-airplanes.json');
    expect(cardPathOf('/m/cand.ONNX')).toBe('/m/cand.json');
  });

  it("the TypeScript writer's card has the Python card's fields with the same JSON shapes", () => {
    const written = cardFromModel(modelFileInfo(SHIPPED), 'birds-vs-airplanes.onnx', () => 'the rule', {
      promoted_from: '/c/x.onnx',
      comparison: null,
      training: null,
    });
    const shared = Object.keys(written).filter((key) => !PROMOTION_ONLY.includes(key));
    expect(shared).toEqual(
      expect.arrayContaining([
        'model_file',
        'created_at',
        'classes',
        'mean',
        'std',
        'threshold',
        'threshold_rule',
        'report_metrics',
        'operating_curve',
        'validation_metrics',
        'model',
        'recipe',
        'preprocessing',
      ]),
    );
    for (const key of shared) {
      expect(Object.keys(pythonCard), `the Python card has '${key}'`).toContain(key);
      expect(jsonType(written[key]), `'${key}' has the Python card's type`).toBe(jsonType(pythonCard[key]));
      if (!READ_INSIDE.includes(key)) continue;
      const inside = pythonCard[key] as Record<string, unknown>;
      for (const [field, value] of Object.entries(written[key] as Record<string, unknown>)) {
        expect(Object.keys(inside), `the Python card has '${key}.${field}'`).toContain(field);
        expect(jsonType(value), `'${key}.${field}' has the Python card's type`).toBe(jsonType(inside[field]));
      }
    }
  });

  it('is written atomically and read back as it was; none is no error, a broken one is', () => {
    const model = join(dir, 'm.onnx');
    writeModelCard(model, { model_file: 'm.onnx', threshold: '0.5', classes: ['airplane', 'bird'] });
    expect(readModelCard(model)).toEqual({
      file: join(dir, 'm.json'),
      error: null,
      card: { model_file: 'm.onnx', threshold: '0.5', classes: ['airplane', 'bird'] },
    });
    expect(readModelCard(join(dir, 'none.onnx'))).toEqual({ file: join(dir, 'none.json'), card: null, error: null });
    writeFileSync(join(dir, 'bad.json'), '[1, 2]');
    expect(readModelCard(join(dir, 'bad.onnx')).error).toMatch(/^model card \S+bad\.json: not a JSON object$/);
  });
});
