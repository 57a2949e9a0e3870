// `birdwatch promote CANDIDATE.onnx [--force] [--keep-thresholds | --drop-thresholds]`: parses the command line,
// installs the candidate through src/retrain/install.ts (refused when its report says it does worse, or while the
// config sets thresholds and neither flag says what to do with them) and says how the daemon takes it.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { describeInstall, promote } from '../retrain/install.js';

const usage = `usage: birdwatch promote CANDIDATE.onnx [--force] [--keep-thresholds | --drop-thresholds]
                         [--config FILE] [--model FILE]
  Installs a candidate from 'birdwatch retrain' as the model the daemon uses (the configured model path, replaced
  atomically), keeping the previous model in previous/ beside it for 'birdwatch rollback'. Refused when its report
  (CANDIDATE.json) says it moves more birds at the bird budget on the club's held-out shots or the CIFAR report
  split, or catches fewer airplanes on the club's held-out shots; --force installs it anyway.
  Thresholds set in the config (top level or per camera) win over the model's own and were calibrated for the
  model it replaces: while any is set, promote refuses unless --drop-thresholds (removes them from the config file,
  atomically; the new model runs at its own threshold after 'systemctl reload birdwatch') or --keep-thresholds.
  A bird budget in the config (birdBudget) keeps its meaning across models: the daemon looks it up in the new
  model's own operating curve; a candidate whose curve cannot answer it (or that has none) is refused, even with
  --force, since the daemon would refuse it.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        model: CONFIG_FLAG_OPTIONS.model,
        force: { type: 'boolean' },
        'keep-thresholds': { type: 'boolean' },
        'drop-thresholds': { type: 'boolean' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('promote takes one candidate model file');
    if (values['keep-thresholds'] && values['drop-thresholds']) {
      throw new UsageError('--keep-thresholds and --drop-thresholds exclude each other');
    }
    const config = loadConfig({ flags: { config: values.config, model: values.model }, require: { model: true } });
    const result = await promote(
      config,
      positionals[0]!,
      values.force === true,
      values['keep-thresholds'] ? 'keep' : values['drop-thresholds'] ? 'drop' : 'refuse',
    );
    for (const line of describeInstall(result, 'installed', config.model)) console.log(line);
    return 0;
  });
}
