// `birdwatch calibrate [--apply] [--with-corrections] [--json]`: parses the command line, calibrates through
// src/calibrate/ and prints the new threshold beside the one in use, overall and per camera.
import { CONFIG_FLAG_OPTIONS, LOOP_FLAG_OPTIONS, ConfigError, loadConfig } from '../config/index.js';
import {
  applyCalibration,
  calibrate,
  worthApplying,
  type AppliedThreshold,
  type Calibration,
  type CalibrationReport,
} from '../calibrate/calibrate.js';
import type { Config } from '../config/index.js';
import { commandLine } from '../config/locate.js';
import { modelFileInfo } from '../model/file-info.js';
import { ModelError } from '../model/errors.js';
import { ThresholdError } from '../model/thresholds.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { renderTable, terminalWidth } from '../cli-kit/table.js';

const usage = `usage: birdwatch calibrate [--apply] [--with-corrections] [--json] [--config FILE] [--db FILE]
                          [--model FILE] [--bird-budget SHARE]
  The threshold recomputed from the club's own labelled shots at the bird budget (config birdBudget, default 0.01),
  beside the threshold in use, overall and per camera: the lowest threshold whose one-sided upper confidence bound
  (calibration.confidence, default 90%) on the share of birds moved is within the budget. A camera that cannot be
  certified yet keeps the stricter of its threshold in use and the best its birds allow, and is told how many more
  randomly reviewed birds it needs (230 for 1% at 90%, none of them moved). It rests on the random-review labels
  (the web page's "review a sample", or 'birdwatch review-sample N'), an unbiased sample; corrections (restore,
  mark) are mistakes someone noticed, a biased sample: counted, and used only with --with-corrections. Only shots decided by the
  model in use count (their logged scores are that model's).
  --json prints one object per camera and one with "camera": null for all together, one per line.
  With calibration.auto (the default) the daemon applies certified thresholds itself ('birdwatch thresholds').
  --apply writes them into the config file given with --config instead (per camera; this pins the camera: the
  daemon then leaves it alone); the daemon takes them on reload (sudo systemctl reload birdwatch, or kill -HUP its
  pid). Exit 1 when --apply found nothing to apply.`;

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
    const config = loadConfig({
      flags: { config: values.config, db: values.db, model: values.model, 'bird-budget': values['bird-budget'] },
      require: { model: true },
    });
    if (values.apply && config.configFile === undefined) {
      throw new ConfigError(
        '--apply writes the thresholds into the config file: give it with --config FILE ' +
          '(a configuration given only by flags cannot be edited)',
      );
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
      const running =
        values['bird-budget'] === undefined
          ? config
          : loadConfig({ flags: { config: values.config, db: values.db, model: values.model } });
      report = calibrate(config, db, model, values['with-corrections'] === true, running);
    } catch (err) {
      if (err instanceof ThresholdError) throw new ConfigError(err.message);
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    const applied = values.apply ? applyCalibrationIfAny(config, report) : [];
    if (values.json) {
      // One object per camera and one with "camera": null for all together, one per line.
      for (const c of [...report.cameras, report.all]) {
        console.log(JSON.stringify({ ...c, model_id: report.model.id, sources: report.sources }));
      }
      if (values.apply) console.log(JSON.stringify({ applied }));
      return values.apply && applied.length === 0 ? 1 : 0;
    }
    const l = report.labels;
    console.log(
      `model ${model.id}, its own threshold ${model.threshold}; bird budget ${report.budget}, ` +
        `confidence ${report.confidence * 100}%`,
    );
    console.log(
      `labels on shots this model decided: review sample ${l.sample.birds} birds, ${l.sample.airplanes} ` +
        `airplanes (unbiased${report.sources.includes('sample') ? ', used' : ''}); corrections ${l.correction.birds} ` +
        `birds, ${l.correction.airplanes} airplanes (biased: ${
          report.sources.includes('correction')
            ? 'used, ' + '--with-corrections'
            : 'not used; --with-corrections uses them'
        })` +
        (l.other_models ? `; ${l.other_models} labelled shots decided by other models (not used)` : ''),
    );
    const pct = (n: number | null | undefined): string =>
      n === null || n === undefined ? '-' : `${(n * 100).toFixed(1)}%`;
    const rows = [report.all, ...report.cameras];
    console.log(
      renderTable(
        rows,
        [
          { header: 'camera', value: (c: Calibration) => (c.camera ?? '(all)') + (c.pinned ? ' (pinned)' : '') },
          { header: 'birds', value: (c) => String(c.birds), align: 'right' },
          { header: 'airplanes', value: (c) => String(c.airplanes), align: 'right' },
          { header: 'budget', value: (c) => pct(c.budget), align: 'right' },
          {
            header: 'promise',
            value: (c) =>
              c.certified
                ? 'certified'
                : c.design === 'stratified'
                  ? `not yet: ${c.more_reviews_needed} more reviews (stratified)`
                  : `not yet: ${c.more_birds_needed} more birds`,
          },
          { header: 'threshold', value: (c) => String(c.threshold), align: 'right' },
          {
            header: 'birds moved',
            value: (c) => `${c.birds_moved} (${pct(c.at_new.birds_moved_share)})`,
            align: 'right',
          },
          { header: 'bound', value: (c) => pct(c.bound), align: 'right' },
          {
            header: 'airplanes caught',
            align: 'right',
            value: (c) => `${c.at_new.airplanes_caught} (${pct(c.at_new.airplanes_caught_share)})`,
          },
          { header: 'in use', value: (c) => String(c.threshold_in_use), align: 'right' },
          {
            header: 'caught in use',
            align: 'right',
            value: (c) => `${c.at_in_use.airplanes_caught} (${pct(c.at_in_use.airplanes_caught_share)})`,
          },
        ],
        terminalWidth(),
      ),
    );
    console.log(`rule: ${report.rule}`);
    console.log(
      'a camera is certified when, with the stated confidence, its threshold moves at most the budget of ' +
        'its birds; "more birds" counts randomly reviewed birds still needed (if none of them is moved)',
    );
    if (!values.apply) {
      if (config.calibration.auto) {
        console.log(
          'calibration.auto is on: the daemon applies these itself to cameras without their own threshold ' +
            "(see 'birdwatch thresholds')",
        );
      }
      if (report.all.certified || report.cameras.some((c) => c.certified)) {
        const apply =
          config.configFile === undefined
            ? 'birdwatch calibrate --apply --config FILE'
            : commandLine(config, 'calibrate --apply');
        console.log(`'${apply}' writes them into the config file (pinning the cameras)`);
      } else {
        console.log(`no camera certified yet: review more random shots ('birdwatch review-sample N' or the web page)`);
      }
      return 0;
    }
    if (applied.length === 0) {
      console.log(
        `nothing applied: no camera is certified yet ` +
          `(review more with 'birdwatch review-sample N'); ${config.configFile} unchanged`,
      );
      return 1;
    }
    for (const a of applied) console.log(`wrote ${a.key} = ${a.threshold} into ${config.configFile}`);
    console.log(`the daemon takes it on reload: sudo systemctl reload birdwatch (or kill -HUP <pid>)`);
    return 0;
  });
}

function applyCalibrationIfAny(config: Config, report: CalibrationReport): AppliedThreshold[] {
  return worthApplying(report.all) || report.cameras.some(worthApplying) ? applyCalibration(config, report) : [];
}
