// `birdwatch mark ID --label bird|airplane [--move]`: parses the command line, marks through src/review/mark.ts
// (the one code path, shared with the web page) and prints what happened and what a member may do next.
import { commandLine } from '../config/locate.js';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseChoice, parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { labels } from '../query/decision-filter.js';
import { ActionError } from '../review/errors.js';
import { checkMarkRequest, markShot, type MarkRequest } from '../review/mark.js';
import { cliMember } from '../review/member.js';

const usage = `usage: birdwatch mark ID|PATH --label bird|airplane [--move] [--config FILE] [--db FILE] [--watch DIR]
                     [--airplanes DIR]
  Records what the shot of decision ID really shows (with your user name). --move (with --label airplane) also
  moves a kept airplane out of the blog into its camera's airplanes folder. To put a wrongly moved bird back, use
  'birdwatch restore'.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
        watch: CONFIG_FLAG_OPTIONS.watch,
        airplanes: CONFIG_FLAG_OPTIONS.airplanes,
        label: { type: 'string' },
        move: { type: 'boolean' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('mark takes one decision ID or path');
    const label = parseChoice(values.label, '--label', labels);
    if (label === undefined) throw new UsageError('mark needs --label bird or --label airplane');
    let request: MarkRequest;
    try {
      request = checkMarkRequest(label, values.move ?? false);
    } catch (err) {
      if (!(err instanceof ActionError)) throw err;
      throw new UsageError(`--move moves an airplane out of the blog; to put a bird back use 'birdwatch restore'`);
    }
    const config = loadConfig({
      flags: { config: values.config, db: values.db, watch: values.watch, airplanes: values.airplanes },
    });
    const result = await markShot(config, positionals[0]!, request, cliMember());
    if (result.moved) {
      const renamed =
        result.to === result.wanted
          ? ''
          : `; ${result.wanted} is taken by another file, so the shot ` + 'got a new name';
      console.log(`decision ${result.id} marked airplane and moved: ${result.from} -> ${result.to}${renamed}`);
      return 0;
    }
    console.log(`decision ${result.id} marked ${result.label} (${result.from})`);
    if (result.hint === 'restore') {
      console.log(`the shot is still out of the blog: '${commandLine(config, `restore ${result.id}`)}' puts it back`);
    } else if (result.hint === 'move') {
      console.log(
        `the shot is still in the blog: '${commandLine(config, `mark ${result.id} --label airplane --move`)}' moves it out`,
      );
    }
    return 0;
  });
}
