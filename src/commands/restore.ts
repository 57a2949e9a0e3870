// `birdwatch restore ID|PATH`: puts a shot the filter moved by mistake back where it was found in the blog and
// records the member's label 'bird', so the daemon never moves it out again.
//
// Crash safety: the move goes through the decision log's pending-move mechanism (src/fs/logged-move.ts): the
// intent (with the correction row to write) is committed before anything moves, each target name is recorded
// before it is tried, and the correction row is written in the same transaction that deletes the intent. While the
// intent exists the daemon leaves the path alone; after a crash the daemon (or the next restore/mark) finishes or
// undoes it. Once the correction exists, the daemon skips the file (its to_path and sha256 rules, DecisionLog.isDecided / humanSaysBird).
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { timestamp } from '../db/index.js';
import { hashFile, moveLogged, SourceChangedError } from '../fs/index.js';
import { cameraHolding, requireInside } from '../query/allowed-folders.js';
import { CommandFailure, parseCommandArgs, runCommand, UsageError } from '../query/command-kit.js';
import { checkShotFile } from '../query/shot-file.js';
import { withDecidedShot } from '../query/with-decided-shot.js';

const usage = `usage: birdwatch restore ID|PATH [--config FILE] [--db FILE] [--watch DIR] [--airplanes DIR]
  Moves the shot of decision ID (or the shot at or from PATH) back to where it was found in the blog, never
  replacing a file there (a name in use gets ' (1)'...), and records the label 'bird'. Pass the daemon's
  --config (or its --watch/--airplanes/--db) so the shot is only moved within its folders.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      watch: CONFIG_FLAG_OPTIONS.watch,
      airplanes: CONFIG_FLAG_OPTIONS.airplanes,
      help: { type: 'boolean', short: 'h' },
    }, true);
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('restore takes one decision ID or path');
    const config = loadConfig({
      flags: { config: values.config, db: values.db, watch: values.watch, airplanes: values.airplanes },
    });
    return withDecidedShot(config.db, positionals[0]!, async (log, shot) => {
      const back = shot.path;
      if (shot.latest?.kind === 'restore') {
        console.log(`decision ${shot.id} was already restored to ${shot.current_path} (${shot.latest.time})`);
        return 0;
      }
      const from = shot.current_path;
      if (from === back || cameraHolding(config, from, 'watch') !== undefined) {
        throw new CommandFailure(`decision ${shot.id} (${shot.action}) left the shot in the blog at ${from}: ` +
          `nothing to restore; to record that it is a bird use 'birdwatch mark ${shot.id} --label bird'`);
      }
      requireInside(config, from, 'airplanes', 'the shot at', shot.camera);
      requireInside(config, back, 'watch', 'its place in the blog', shot.camera);
      const stat = await checkShotFile(shot, from);
      const { finalPath } = await moveLogged(log, {
        kind: 'restore', src: from, dest: back, sha256: shot.sha256 ?? await hashFile(from), size: stat.size,
        record: {
          table: 'corrections',
          row: { decision_id: shot.id, ...timestamp(), label: 'bird', kind: 'restore', from_path: from },
        },
      }, { expect: { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs } }).catch((err: unknown) => {
        if (err instanceof SourceChangedError) throw new CommandFailure(`nothing restored: ${err.message}`);
        throw err;
      });
      if (finalPath === back) {
        console.log(`restored decision ${shot.id}: ${from} -> ${finalPath} (labelled bird)`);
      } else {
        console.log(`restored decision ${shot.id}: ${from} -> ${finalPath} (labelled bird); ` +
          `${back} is taken by another file, so the shot got a new name`);
      }
      return 0;
    });
  });
}
