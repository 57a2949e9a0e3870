// `birdwatch rollback`: puts back the model the last promotion replaced (src/retrain/install.ts), byte for byte.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { describeInstall, rollback } from '../retrain/install.js';

const usage = `usage: birdwatch rollback [--config FILE] [--model FILE]
  Puts back the model that the last 'birdwatch promote' replaced (kept in previous/ beside the model), atomically;
  the model rolled back from is kept there too.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      model: CONFIG_FLAG_OPTIONS.model,
    });
    const config = loadConfig({ flags: { config: values.config, model: values.model }, require: { model: true } });
    for (const line of describeInstall(await rollback(config), 'put back', config.model)) console.log(line);
    return 0;
  });
}
