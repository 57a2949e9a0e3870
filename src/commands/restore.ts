// `birdwatch restore ID|PATH`: parses the command line, restores through src/review/restore.ts (the one code path
// that moves a shot back, shared with the web page) and prints what happened.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { cliMember } from '../review/member.js';
import { restoreShot } from '../review/restore.js';

const usage = `usage: birdwatch restore ID|PATH [--config FILE] [--db FILE] [--watch DIR] [--airplanes DIR]
  Moves the shot of decision ID (or the shot at or from PATH) back to where it was found in the blog, never
  replacing a file there (a name in use gets ' (1)'...), and records the label 'bird' (with your user name).
  Pass the daemon's --config (or its --watch/--airplanes/--db) so the shot is only moved within its folders.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
        watch: CONFIG_FLAG_OPTIONS.watch,
        airplanes: CONFIG_FLAG_OPTIONS.airplanes,
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('restore takes one decision ID or path');
    const config = loadConfig({
      flags: { config: values.config, db: values.db, watch: values.watch, airplanes: values.airplanes },
    });
    const result = await restoreShot(config, positionals[0]!, cliMember());
    if (result.already) {
      console.log(`decision ${result.id} was already restored to ${result.to} (${result.at})`);
    } else if (result.to === result.wanted) {
      console.log(`restored decision ${result.id}: ${result.from} -> ${result.to} (labelled bird)`);
    } else {
      console.log(
        `restored decision ${result.id}: ${result.from} -> ${result.to} (labelled bird); ` +
          `${result.wanted} is taken by another file, so the shot got a new name`,
      );
    }
    return 0;
  });
}
