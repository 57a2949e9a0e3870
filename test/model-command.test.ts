// `birdwatch model` on the real CLI: a model file with the issue-15 metadata (report figures, operating curve with
// intervals, training device, views; written into the shipped network with withEditedMetadata) prints its tables
// and says where the figures come from, --json gives the same figures; an older model (no curve, no report split)
// prints what it has and says it predates the curve; a missing or malformed file is one line, exit 2. The web
// page's /model shows the curve too.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { modelPage } from '../src/web/pages.js';
import { readModelInfo } from '../src/web/model-card.js';
import { REPO, runCli, useTestDirs } from './helpers/daemon.js';
import { sha256 } from './helpers/images.js';
import { withEditedMetadata } from './fixtures/onnx.js';

/** A refusal ends with the config and database used (checked in ops-locate.test.ts); the message before it is here. */
const withoutContext = (stderr: string): string =>
  stderr.replace(/ \(no config file \(the Quick start defaults\), database \S+\)\n$/, '\n');

const SHIPPED = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const newDirs = useTestDirs();

const CURVE = {
  threshold_split: 'selection',
  figures_split: 'report',
  points: [
    {
      bird_budget: 0.005,
      threshold: 0.9731,
      airplanes_caught: 0.412,
      birds_moved: 0.004,
      airplanes_caught_interval: [0.37, 0.45],
      birds_moved_interval: [0.0, 0.01],
    },
    {
      bird_budget: 0.01,
      threshold: 0.9412,
      airplanes_caught: 0.55,
      birds_moved: 0.009,
      airplanes_caught_interval: [0.5, 0.6],
      birds_moved_interval: [0.004, 0.016],
    },
    { bird_budget: 0.02, threshold: 0.8874, airplanes_caught: 0.66, birds_moved: 0.018 },
    { bird_budget: 0.05, threshold: 0.7, airplanes_caught: 0.8, birds_moved: 0.047 },
    { bird_budget: 0.1, threshold: 0.45, airplanes_caught: 0.9, birds_moved: 0.098 },
  ],
};
const REPORT = {
  split: 'report',
  images: 1000,
  counts: { airplane: 500, bird: 500 },
  accuracy: 0.905,
  accuracy_interval: [0.89, 0.92],
  roc_auc: 0.96,
  airplanes_caught_at_1pct_bootstrap: { mean: 0.55, p5: 0.45, p95: 0.64, resamples: 2000 },
  views: ['identity', 'mirror'],
};

function write(file: string, edit: (props: Record<string, string>) => void): Buffer {
  const bytes = withEditedMetadata(readFileSync(SHIPPED), edit);
  writeFileSync(file, bytes);
  return bytes;
}

function newModel(file: string): Buffer {
  return write(file, (props) => {
    props.operating_curve = JSON.stringify(CURVE);
    props.report_metrics = JSON.stringify(REPORT);
    props.threshold = '0.9412';
    props.created_at = '2026-12-01T10:00:00Z';
    props.model = JSON.stringify({ description: 'MLP 3072-1024-2 (gelu)', parameters: 3_148_802 });
    props.validation_metrics = JSON.stringify({ split: 'selection', accuracy: 0.915, roc_auc: 0.97 });
    props.recipe = JSON.stringify({ ...JSON.parse(props.recipe ?? '{}'), device: 'cuda' });
    props.preprocessing = JSON.stringify({ ...JSON.parse(props.preprocessing ?? '{}'), views: ['identity', 'mirror'] });
  });
}

describe('birdwatch model', () => {
  it("prints a curve model's card as tables, saying where the figures come from; --json gives the same", async () => {
    const d = newDirs('bw-model-cmd-');
    const file = join(d.root, 'new.onnx');
    const bytes = newModel(file);

    const text = await runCli(['model', '--model', file]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const row = (label: string): string => lines.find((line) => line.startsWith(`${label}  `)) ?? `(no ${label} row)`;
    expect(row('file')).toMatch(new RegExp(`${file}$`));
    expect(row('id')).toMatch(new RegExp(`${sha256(bytes).slice(0, 12)}$`));
    expect(row('created')).toMatch(/2026-12-01T10:00:00Z$/);
    expect(row('architecture')).toMatch(/MLP 3072-1024-2 \(gelu\) \(3,148,802 parameters\)$/);
    expect(row('training device')).toMatch(/ cuda$/);
    expect(row('views')).toMatch(/ identity, mirror$/);
    expect(row('accuracy')).toMatch(/ 90\.5% \(90% interval 89\.0% to 92\.0%\)$/);
    expect(row('ROC AUC')).toMatch(/ 0\.960$/);
    expect(row('airplanes caught at 1% birds')).toMatch(
      / 55\.0% bootstrap mean \(p5 45\.0%, p95 64\.0%, 2,000 resamples\)$/,
    );
    expect(text.stdout).toContain(
      'report split: 1,000 CIFAR-10 images (500 airplanes, 500 birds) nothing was chosen on\n',
    );
    // The curve, one row per budget, ascending, intervals where the metadata has them.
    const curveAt = lines.findIndex((line) => line === 'operating curve');
    expect(curveAt).toBeGreaterThan(0);
    expect(lines[curveAt + 1]!.split(/\s{2,}/).map((s) => s.trim())).toEqual([
      'bird budget',
      'threshold',
      'airplanes caught',
      'birds moved',
    ]);
    expect(lines.slice(curveAt + 2, curveAt + 7).map((line) => line.trim().split(/\s{2,}/))).toEqual([
      ['0.5%', '0.9731', '41.2% (37.0%-45.0%)', '0.4% (0.0%-1.0%)'],
      ['1.0%', '0.9412', '55.0% (50.0%-60.0%)', '0.9% (0.4%-1.6%)'],
      ['2.0%', '0.8874', '66.0%', '1.8%'],
      ['5.0%', '0.7', '80.0%', '4.7%'],
      ['10.0%', '0.45', '90.0%', '9.8%'],
    ]);
    expect(lines[curveAt + 7]).toBe(
      'airplanes caught and birds moved: report split: 1,000 CIFAR-10 images ' +
        '(500 airplanes, 500 birds) nothing was chosen on; thresholds chosen on the selection split; ' +
        'intervals: 90% bootstrap',
    );
    expect(text.stdout).not.toMatch(/predates/);

    const json = await runCli(['model', '--model', file, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const card = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(card).toMatchObject({
      file,
      id: sha256(bytes).slice(0, 12),
      created_at: '2026-12-01T10:00:00Z',
      architecture: 'MLP 3072-1024-2 (gelu)',
      parameters: 3_148_802,
      training_device: 'cuda',
      views: ['identity', 'mirror'],
      threshold: 0.9412,
      report: REPORT,
      selection: { split: 'selection', accuracy: 0.915, roc_auc: 0.97 },
      operating_curve: CURVE,
    });
    expect(Object.keys(card.sources as object)).toEqual(['report', 'curve', 'selection']);
  }, 60_000);

  it('an older model prints what it has, saying it predates the curve; a missing or bad file: exit 2', async () => {
    const d = newDirs('bw-model-cmd-old-');
    const old = join(d.root, 'old.onnx');
    write(old, (props) => {
      delete props.operating_curve;
      delete props.report_metrics;
      props.validation_metrics = JSON.stringify({ accuracy: 0.912, roc_auc: 0.9646, validation_images: 1000 });
      props.recipe = JSON.stringify({ recipe: 'default' });
      props.preprocessing = JSON.stringify({ resize: { width: 32, height: 32 } });
    });
    const text = await runCli(['model', '--model', old]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^training device +not recorded$/m);
    expect(text.stdout).toMatch(/^views +identity$/m);
    expect(text.stdout).toContain('validation-split figures (no report split: this model predates it)\n');
    expect(text.stdout).toMatch(/^accuracy +91\.2%$/m);
    expect(text.stdout).toContain('validation split: the images that chose the epoch and the threshold (optimistic)\n');
    expect(text.stdout).toContain(
      'no operating curve (this model predates it): a birdBudget cannot be looked up for it\n',
    );
    expect(text.stdout).not.toMatch(/operating curve\n/);
    const json = JSON.parse((await runCli(['model', '--model', old, '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      training_device: null,
      views: ['identity'],
      report: null,
      operating_curve: null,
      selection: { split: 'validation', accuracy: 0.912, images: 1000 },
    });
    // One that names the bird budget its threshold was chosen at (as the shipped pre-curve model does) says so.
    write(old, (props) => {
      delete props.operating_curve;
      props.validation_metrics = JSON.stringify({
        accuracy: 0.912,
        bird_budget: 0.01,
        airplanes_caught_at_threshold: 0.5,
        birds_moved_at_threshold: 0.01,
      });
    });
    expect((await runCli(['model', '--model', old])).stdout).toContain(
      'no operating curve (this model predates it): ' +
        'a birdBudget of at least 1.0% runs it at its own threshold, chosen at that bird budget; ' +
        'a smaller one is refused\n',
    );
    expect(JSON.parse((await runCli(['model', '--model', old, '--json'])).stdout)).toMatchObject({
      operating_curve: null,
      own_threshold_budget: 0.01,
    });

    const missing = await runCli(['model', '--model', join(d.root, 'nope.onnx')]);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(withoutContext(missing.stderr)).toBe(`birdwatch: model ${join(d.root, 'nope.onnx')}: does not exist\n`);

    const badCurve = join(d.root, 'bad-curve.onnx');
    write(badCurve, (props) => {
      props.operating_curve = JSON.stringify({ ...CURVE, points: [{ ...CURVE.points[0], threshold: 1.5 }] });
    });
    const bad = await runCli(['model', '--model', badCurve]);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(withoutContext(bad.stderr)).toBe(
      `birdwatch: model ${badCurve}: metadata 'operating_curve' point 0: threshold must be a ` +
        'number between 0 and 1, got 1.5\n',
    );
  }, 60_000);

  it("the web page's /model shows the curve, and says when a model has none", () => {
    const d = newDirs('bw-model-page-');
    const file = join(d.root, 'new.onnx');
    newModel(file);
    const render = (): string =>
      modelPage(
        { session: null, config: loadConfig({ flags: { model: file } }), current: '/model' },
        readModelInfo(file),
      );
    const page = render().replace(/\s+/g, ' ');
    expect(page).toContain('<h2>Operating curve</h2>');
    expect(page).toContain(
      '<tr><th>0.5%</th><td>0.9731</td> <td>41.2% (37.0%–45.0%)</td> <td>0.4% (0.0%–1.0%)</td></tr>',
    );
    expect(page).toContain('<tr><th>10.0%</th><td>0.45</td> <td>90.0%</td> <td>9.8%</td></tr>');
    expect(page).toContain('measured on the report split; thresholds chosen on the selection split');
    write(file, (props) => {
      delete props.operating_curve;
    });
    expect(render()).toContain('No operating curve (this model predates it).');
  });

  it("the web page's /model headlines the shipped model's report-split figures, not the split that chose them", () => {
    const card = JSON.parse(readFileSync(SHIPPED.replace(/\.onnx$/, '.json'), 'utf8')) as {
      report_metrics: {
        accuracy: number;
        accuracy_interval: [number, number];
        images: number;
        at_threshold: { confusion_matrix_at_threshold: { matrix: number[][] } };
      };
    };
    const page = modelPage(
      { session: null, config: loadConfig({ flags: { model: SHIPPED } }), current: '/model' },
      readModelInfo(SHIPPED),
    ).replace(/\s+/g, ' ');
    const r = card.report_metrics;
    expect(page).toContain(
      `<tr><th>accuracy (report split)</th><td>${r.accuracy.toFixed(3)} (90%: ` +
        `${r.accuracy_interval[0].toFixed(3)}–${r.accuracy_interval[1].toFixed(3)})</td></tr>`,
    );
    expect(page).toContain(`<tr><th>report split images</th><td>${r.images}</td></tr>`);
    const [[planesMoved, planesKept]] = r.at_threshold.confusion_matrix_at_threshold.matrix;
    expect(page).toContain('<h2>On the report split, at the threshold</h2>');
    expect(page).toContain(`<tr><th>airplanes</th><td>${planesMoved}</td><td>${planesKept}</td></tr>`);
    expect(page).not.toContain('validation accuracy');
  });
});
