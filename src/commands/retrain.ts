// `birdwatch retrain`: parses the command line, runs src/retrain/retrain.ts and prints the comparison table; with
// --scheduled (the weekly timer) it runs only when enough new labels exist, and promotes only when
// retrain.autoPromote is true, the candidate passes the promotion rule and the config sets no threshold.
import path from 'node:path';
import { commandLine } from '../config/locate.js';
import { CONFIG_FLAG_OPTIONS, LOOP_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseCommandArgs, parseNumberOption, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { comparisonTable } from '../retrain/compare.js';
import { autoPromoteBlocker, promote } from '../retrain/install.js';
import { retrain } from '../retrain/retrain.js';

const usage = `usage: birdwatch retrain [--epochs N] [--held-out SHARE] [--seed N] [--with-confident P]
                        [--max-confident N] [--data DIR] [--candidates DIR] [--scheduled] [--json]
                        [--config FILE] [--db FILE] [--model FILE] [--bird-budget SHARE]
  Fine-tunes the current model (--model) with every shot members labelled (restore, mark, review), mixed with
  the CIFAR training split (--data, training/finetune.py's default), into a candidate CANDIDATE.onnx with its
  report CANDIDATE.json in the candidates folder (config retrain.candidates, default models/candidates).
  The labelled shots are split by a hash of their content and --seed (default 0; the club split only: the CIFAR
  split is always the current model's, from its recipe metadata): --held-out (default 0.3) of each
  class is held out, never trained on, and stays held out as new labels arrive. Both models are then scored on the
  held-out shots and on the CIFAR report split: accuracy, birds moved and airplanes caught, each model at the
  threshold it runs with (the current one at the config's thresholds, else its own; the candidate at its own, and
  also at the config's when it sets any, as promote --keep-thresholds would run it).
  --epochs N (default 3); --with-confident P adds the daemon's decisions at least P sure as weak labels (at most
  --max-confident, default 200, newest first; fine-tune part only).
  --scheduled (the timer): only when at least retrain.minNewCorrections labels are newer than the last candidate;
  then promotes it when retrain.autoPromote is true and it passes the promotion rule, and never while the config
  sets a threshold (top level or per camera): those were calibrated for the installed model.
  Needs the training subproject's Python with PyTorch (training/python.sh; PYTHON=... to choose).`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      model: CONFIG_FLAG_OPTIONS.model,
      provider: CONFIG_FLAG_OPTIONS.provider,
      'bird-budget': LOOP_FLAG_OPTIONS['bird-budget'],
      candidates: LOOP_FLAG_OPTIONS.candidates,
      epochs: { type: 'string' },
      'held-out': { type: 'string' },
      seed: { type: 'string' },
      'with-confident': { type: 'string' },
      'max-confident': { type: 'string' },
      data: { type: 'string' },
      scheduled: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const whole = (value: string | undefined, flag: string, min: number, max: number, fallback: number): number => {
      const n = parseNumberOption(value, flag, min, max) ?? fallback;
      if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number, got '${value}'`);
      return n;
    };
    const options = {
      epochs: whole(values.epochs, '--epochs', 1, 1000, 3),
      seed: whole(values.seed, '--seed', 0, 2 ** 31, 0),
      heldOut: parseNumberOption(values['held-out'], '--held-out', 0.01, 0.9) ?? 0.3,
      withConfident: parseNumberOption(values['with-confident'], '--with-confident', 0.5, 1),
      maxConfident: whole(values['max-confident'], '--max-confident', 1, 100_000, 200),
      // Resolved here, against the caller's folder: finetune.py runs inside training/.
      data: values.data === undefined ? undefined : path.resolve(values.data),
      scheduled: values.scheduled === true,
    };
    const config = loadConfig({
      flags: {
        config: values.config,
        db: values.db,
        model: values.model,
        provider: values.provider,
        'bird-budget': values['bird-budget'],
        candidates: values.candidates,
      },
      require: { model: true, db: 'read' },
    });
    const result = await retrain(config, options);
    if ('skipped' in result) {
      console.log(`retrain: ${result.skipped}`);
      return 0;
    }
    const { report } = result;
    if (values.json) {
      console.log(
        JSON.stringify({
          candidate: result.candidatePath,
          report: result.reportPath,
          comparison: report.comparison,
          blockers: report.blockers,
          promotable: report.promotable,
        }),
      );
    } else {
      console.log(`candidate ${result.candidatePath} (report ${result.reportPath})`);
      console.log(
        `club shots: held out ${report.labels.held_out.bird} birds, ${report.labels.held_out.airplane} ` +
          `airplanes; fine-tuned on ${report.labels.fine_tune.bird} birds, ` +
          `${report.labels.fine_tune.airplane} airplanes` +
          (report.labels.confident ? ` + ${report.labels.confident} confident decisions` : '') +
          (report.labels.missing_files ? `; ${report.labels.missing_files} labelled shots whose files are gone` : ''),
      );
      console.log(
        `each model at the threshold it runs with (the camera's, else the config's, else the model's own; ` +
          `the candidate's own was chosen on the selection split at the bird budget ${report.bird_budget}, never on ` +
          'the report split):',
      );
      console.log(comparisonTable(report.comparison));
      console.log(`note: ${report.notes[0]}`);
      console.log(
        report.promotable
          ? `it passes the promotion rule: ${commandLine(config, `promote ${result.candidatePath}`)}`
          : `promote would refuse it: ${report.blockers.join('; ')}`,
      );
    }
    const autoBlocker = autoPromoteBlocker(config, report.promotable);
    if (options.scheduled && config.retrain.autoPromote && autoBlocker !== null) {
      console.log(`retrain.autoPromote: not promoting ${result.candidatePath}: ${autoBlocker}`);
    } else if (options.scheduled && config.retrain.autoPromote) {
      const installed = await promote(config, result.candidatePath, false);
      console.log(
        `retrain.autoPromote: promoted ${installed.installed} (previous ${installed.replaced} kept at ` +
          `${installed.replacedFile})`,
      );
    }
    return 0;
  });
}
