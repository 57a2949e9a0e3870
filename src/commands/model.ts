// `birdwatch model [--json] [--config FILE] [--model FILE]`: the installed model's card as tables (what it is, its
// report-split figures, its operating curve, where each comes from), built by src/model/card.ts.
import { CONFIG_FLAG_OPTIONS, ConfigError, loadConfig } from '../config/index.js';
import { describeModel, type ModelCard } from '../model/card.js';
import { readModelCard } from '../model/card-file.js';
import { ModelError } from '../model/errors.js';
import { modelFileInfo, type ModelFileInfo } from '../model/file-info.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { renderTable, terminalWidth } from '../cli-kit/table.js';

const usage = `usage: birdwatch model [--json] [--config FILE] [--model FILE]
  The model's card, read from the model file (the config's model, or --model): the file, when it was made, its
  network, the device that trained it and the views the daemon averages; its figures on the report split (images
  nothing was chosen on); and its operating curve: for each bird budget (the share of birds it may move, config
  birdBudget) the threshold and what it gives. --json prints the same as one JSON object.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      model: CONFIG_FLAG_OPTIONS.model,
      json: { type: 'boolean' },
    });
    const config = loadConfig({ flags: { config: values.config, model: values.model }, require: { model: true } });
    let info: ModelFileInfo;
    try {
      info = modelFileInfo(config.model);
    } catch (err) {
      if (err instanceof ModelError) throw new ConfigError(err.message);
      throw err;
    }
    const beside = readModelCard(config.model);
    const card = describeModel(info, beside.card, beside.file);
    if (values.json) console.log(JSON.stringify(card));
    else process.stdout.write(present(card));
    return 0;
  });
}

const pct = (share: number | null | undefined): string =>
  share === null || share === undefined ? '-' : `${(share * 100).toFixed(1)}%`;
const interval = (pair: [number, number] | null | undefined): string =>
  pair ? ` (90% interval ${pct(pair[0])} to ${pct(pair[1])})` : '';

function present(card: ModelCard): string {
  const width = terminalWidth();
  const kv = (rows: Array<[string, string]>): string =>
    renderTable(
      rows,
      [
        { header: 'item', value: (r: [string, string]) => r[0] },
        { header: 'value', value: (r) => r[1], flexible: true },
      ],
      width,
    );
  const out: string[] = [];
  out.push(
    kv([
      ['file', card.file],
      ['id', card.id],
      ['created', card.created_at ?? '-'],
      [
        'architecture',
        (card.architecture ?? '-') +
          (card.parameters === null ? '' : ` (${card.parameters.toLocaleString('en')} parameters)`),
      ],
      ['training device', card.training_device ?? 'not recorded'],
      ['views', card.views.join(', ')],
      [
        'threshold',
        `${card.threshold} (the model's own: used when the config sets neither a threshold nor a birdBudget)`,
      ],
    ]),
  );

  if (card.report !== null) {
    const r = card.report;
    const boot = r.airplanes_caught_at_1pct_bootstrap;
    out.push(
      `\n${r.split}-split figures\n` +
        kv([
          ['accuracy', `${pct(r.accuracy)}${interval(r.accuracy_interval)}`],
          ['ROC AUC', r.roc_auc === null ? '-' : r.roc_auc.toFixed(3)],
          [
            'airplanes caught at 1% birds',
            boot === null
              ? '-'
              : `${pct(boot.mean)} bootstrap mean` +
                (boot.p5 !== undefined && boot.p95 !== undefined
                  ? ` (p5 ${pct(boot.p5)}, p95 ${pct(boot.p95)}` +
                    `${boot.resamples !== undefined ? `, ${boot.resamples.toLocaleString('en')} resamples` : ''})`
                  : ''),
          ],
          ...(r.views ? [['views measured', r.views.join(', ')] as [string, string]] : []),
        ]) +
        `${card.sources.report}\n`,
    );
  } else if (card.selection !== null) {
    const s = card.selection;
    out.push(
      `\n${s.split}-split figures (no report split: this model predates it)\n` +
        kv([
          ['accuracy', pct(s.accuracy)],
          ['ROC AUC', s.roc_auc === null ? '-' : s.roc_auc.toFixed(3)],
          ...(s.images === null ? [] : [['images', s.images.toLocaleString('en')] as [string, string]]),
        ]) +
        `${card.sources.selection}\n`,
    );
  }

  const curve = card.operating_curve;
  if (curve === null) {
    out.push(
      '\nno operating curve (this model predates it): ' +
        (card.own_threshold_budget === null
          ? 'a birdBudget cannot be looked up for it\n'
          : `a birdBudget of at least ${pct(card.own_threshold_budget)} runs it at its own threshold, chosen at that ` +
            'bird budget; a smaller one is refused\n'),
    );
  } else {
    out.push(
      '\noperating curve\n' +
        renderTable(
          curve.points,
          [
            { header: 'bird budget', value: (p) => pct(p.bird_budget), align: 'right' },
            { header: 'threshold', value: (p) => String(p.threshold), align: 'right' },
            {
              header: 'airplanes caught',
              value: (p) =>
                pct(p.airplanes_caught) +
                (p.airplanes_caught_interval
                  ? ` (${pct(p.airplanes_caught_interval[0])}-${pct(p.airplanes_caught_interval[1])})`
                  : ''),
              align: 'right',
            },
            {
              header: 'birds moved',
              value: (p) =>
                pct(p.birds_moved) +
                (p.birds_moved_interval
                  ? ` (${pct(p.birds_moved_interval[0])}-${pct(p.birds_moved_interval[1])})`
                  : ''),
              align: 'right',
            },
          ],
          width,
        ) +
        `${card.sources.curve}` +
        (curve.points.some((p) => p.airplanes_caught_interval || p.birds_moved_interval)
          ? '; intervals: 90% bootstrap'
          : '') +
        '\n',
    );
  }
  return out.join('');
}
