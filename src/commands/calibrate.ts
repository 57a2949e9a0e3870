// `birdwatch calibrate [--apply] [--with-corrections] [--json]`: parses the command line, calibrates through
// src/calibrate/ and prints the new threshold beside the one in use, overall and per camera.
import { CONFIG_FLAG_OPTIONS, LOOP_FLAG_OPTIONS, ConfigError, loadConfig } from '../config/index.js';
import { applyCalibration, calibrate, type Calibration } from '../calibrate/calibrate.js';
import { modelFileInfo } from '../model/file-info.js';
import { ModelError } from '../model/errors.js';
import { ThresholdError } from '../model/thresholds.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { renderTable, terminalWidth } from '../cli-kit/table.js';

const usage = `usage: birdwatch calibrate [--apply] [--with-corrections] [--json] [--config FILE] [--db FILE]
                          [--model FILE] [--bird-budget SHARE]
  The threshold recomputed from the club's own labelled shots at the bird budget (config birdBudget, default 0.01),
  beside the threshold in use, overall and per camera. It rests on the random-review labels (the web page's
  "review a sample", or 'birdwatch review-sample N'), an unbiased sample; corrections (restore, mark) are mistakes
  someone noticed, a biased sample: counted, and used only with --with-corrections. Only shots decided by the
  model in use count (their logged scores are that model's).
  --apply writes the thresholds that rest on enough birds (ceil(1/budget) labelled birds) into the config file
  given with --config (per camera where a camera has enough); the daemon takes them on reload
  (sudo systemctl reload birdwatch, or kill -HUP its pid). Exit 1 when --apply found nothing to apply.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      model: CONFIG_FLAG_OPTIONS.model,
      'bird-budget': LOOP_FLAG_OPTIONS['bird-budget'],
      apply: { type: 'boolean' },
      'with-corrections': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const config = loadConfig({ flags: { config: values.config, db: values.db, model: values.model,
      'bird-budget': values['bird-budget'] }, require: { model: true } });
    if (values.apply && config.configFile === undefined) {
      throw new ConfigError('--apply writes the thresholds into the config file: give it with --config FILE ' +
        '(a configuration given only by flags cannot be edited)');
    }
    let model;
    try {
      model = modelFileInfo(config.model);
    } catch (err) {
      if (err instanceof ModelError) throw new ConfigError(err.message);
      throw err;
    }
    const db = openLogReadOnly(config.db);
    let report;
    try {
      // The thresholds in use are the daemon's, from the config without calibrate's own --bird-budget.
      const running = values['bird-budget'] === undefined ? config
        : loadConfig({ flags: { config: values.config, db: values.db, model: values.model } });
      report = calibrate(config, db, model, values['with-corrections'] === true, running);
    } catch (err) {
      if (err instanceof ThresholdError) throw new ConfigError(err.message);
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    const applied = values.apply && (report.all.enough || report.cameras.some((c) => c.enough))
      ? applyCalibration(config, report) : [];
    if (values.json) {
      console.log(JSON.stringify({ ...report, applied: values.apply ? applied : undefined }));
      return values.apply && applied.length === 0 ? 1 : 0;
    }
    const l = report.labels;
    console.log(`model ${model.id} (${model.path}), its own threshold ${model.threshold}; bird budget ${report.budget}`);
    console.log(`labels on shots this model decided: review sample ${l.sample.birds} birds, ${l.sample.airplanes} ` +
      `airplanes (unbiased${report.sources.includes('sample') ? ', used' : ''}); corrections ${l.correction.birds} ` +
      `birds, ${l.correction.airplanes} airplanes (biased: ${report.sources.includes('correction') ? 'used, ' +
        '--with-corrections' : 'not used; --with-corrections uses them'})` +
      (l.other_models ? `; ${l.other_models} labelled shots decided by other models (not used)` : ''));
    const pct = (n: number | null | undefined): string => n === null || n === undefined ? '-' : `${(n * 100).toFixed(1)}%`;
    const rows = [report.all, ...report.cameras];
    console.log(renderTable(rows, [
      { header: 'camera', value: (c: Calibration) => c.camera ?? '(all)' },
      { header: 'birds', value: (c) => String(c.birds), align: 'right' },
      { header: 'airplanes', value: (c) => String(c.airplanes), align: 'right' },
      { header: 'budget', value: (c) => String(c.budget), align: 'right' },
      { header: 'new threshold', value: (c) => c.threshold === null ? '-' : String(c.threshold), align: 'right' },
      { header: 'birds moved', value: (c) => c.at_new ? `${c.at_new.birds_moved} (${pct(c.at_new.birds_moved_share)})` : '-', align: 'right' },
      { header: 'airplanes caught', value: (c) => c.at_new ? `${c.at_new.airplanes_caught} (${pct(c.at_new.airplanes_caught_share)})` : '-', align: 'right' },
      { header: 'in use', value: (c) => String(c.threshold_in_use), align: 'right' },
      { header: 'birds moved', value: (c) => `${c.at_in_use.birds_moved} (${pct(c.at_in_use.birds_moved_share)})`, align: 'right' },
      { header: 'airplanes caught', value: (c) => `${c.at_in_use.airplanes_caught} (${pct(c.at_in_use.airplanes_caught_share)})`, align: 'right' },
      { header: 'enough birds', value: (c) => c.enough ? 'yes' : `no (${c.birds_needed} needed)` },
    ], terminalWidth()));
    console.log(`rule: ${report.rule}`);
    if (!values.apply) {
      if (report.all.enough || report.cameras.some((c) => c.enough)) {
        console.log(`'birdwatch calibrate --apply --config FILE' writes the thresholds marked enough into the config`);
      } else {
        console.log(`not enough labelled birds yet to apply: label more with 'birdwatch review-sample N'`);
      }
      return 0;
    }
    if (applied.length === 0) {
      console.log(`nothing applied: no camera has ${report.all.birds_needed} labelled birds yet ` +
        `(label more with 'birdwatch review-sample N'); ${config.configFile} unchanged`);
      return 1;
    }
    for (const a of applied) console.log(`wrote ${a.key} = ${a.threshold} into ${config.configFile}`);
    console.log(`the daemon takes it on reload: sudo systemctl reload birdwatch (or kill -HUP <pid>)`);
    return 0;
  });
}
