// `birdwatch mark ID --label bird|airplane [--move]`: records a member's label for a decision without restoring
// it (an airplane the filter kept, a bird it rightly kept...); with --move, a kept airplane is moved out to its
// camera's airplanes folder, through the same crash-safe logged move as restore (see restore.ts).
import path from 'node:path';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { DecisionLog, timestamp, type Label } from '../db/index.js';
import { hashFile, moveLogged, SourceChangedError } from '../fs/index.js';
import { cameraHolding, requireInside } from '../query/allowed-folders.js';
import { CommandFailure, parseChoice, parseCommandArgs, runCommand, UsageError } from '../query/command-kit.js';
import { findDecidedShot } from '../query/decided-shot.js';
import { labels } from '../query/decision-filter.js';
import { checkShotFile } from '../query/shot-file.js';
import { withDecidedShot } from '../query/with-decided-shot.js';

const usage = `usage: birdwatch mark ID|PATH --label bird|airplane [--move] [--config FILE] [--db FILE] [--watch DIR]
                     [--airplanes DIR]
  Records what the shot of decision ID really shows. --move (with --label airplane) also moves a kept airplane
  out of the blog into its camera's airplanes folder. To put a wrongly moved bird back, use 'birdwatch restore'.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      watch: CONFIG_FLAG_OPTIONS.watch,
      airplanes: CONFIG_FLAG_OPTIONS.airplanes,
      label: { type: 'string' },
      move: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }, true);
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('mark takes one decision ID or path');
    const label = parseChoice(values.label, '--label', labels);
    if (label === undefined) throw new UsageError('mark needs --label bird or --label airplane');
    if (values.move && label !== 'airplane') {
      throw new UsageError(`--move moves an airplane out of the blog; to put a bird back use 'birdwatch restore'`);
    }
    const config = loadConfig({
      flags: { config: values.config, db: values.db, watch: values.watch, airplanes: values.airplanes },
    });
    return withDecidedShot(config.db, positionals[0]!, async (log, shot) => {
      if (values.move) await markAndMove(log, config, shot);
      else markOnly(log, shot, label);
      return 0;
    });
  });
}

function markOnly(log: DecisionLog, shot: ReturnType<typeof findDecidedShot>, label: Label): void {
  log.insertCorrection({
    decision_id: shot.id, ...timestamp(), label, kind: 'mark', from_path: shot.current_path, to_path: null,
  });
  console.log(`decision ${shot.id} marked ${label} (${shot.current_path})`);
  if (label === 'bird' && shot.action === 'moved' && shot.current_path !== shot.path) {
    console.log(`the shot is still out of the blog: 'birdwatch restore ${shot.id}' puts it back`);
  }
  if (label === 'airplane' && shot.current_path === shot.path && shot.action === 'kept') {
    console.log(`the shot is still in the blog: 'birdwatch mark ${shot.id} --label airplane --move' moves it out`);
  }
}

async function markAndMove(log: DecisionLog, config: ReturnType<typeof loadConfig>,
  shot: ReturnType<typeof findDecidedShot>): Promise<void> {
  const from = shot.current_path;
  if (cameraHolding(config, from, 'airplanes') !== undefined) {
    throw new CommandFailure(`the shot of decision ${shot.id} is already in an airplanes folder (${from}); ` +
      `run without --move to record the label only`);
  }
  const camera = requireInside(config, from, 'watch', 'the shot at', shot.camera);
  const dest = path.join(camera.airplanes, path.relative(camera.watch, from));
  requireInside(config, dest, 'airplanes', 'the destination', camera.name);
  const stat = await checkShotFile(shot, from);
  const { finalPath } = await moveLogged(log, {
    kind: 'mark-move', src: from, dest, sha256: shot.sha256 ?? await hashFile(from), size: stat.size,
    record: {
      table: 'corrections',
      row: { decision_id: shot.id, ...timestamp(), label: 'airplane', kind: 'mark-move', from_path: from },
    },
  }, { expect: { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs } }).catch((err: unknown) => {
    if (err instanceof SourceChangedError) throw new CommandFailure(`nothing moved: ${err.message}`);
    throw err;
  });
  const renamed = finalPath === dest ? '' : `; ${dest} is taken by another file, so the shot got a new name`;
  console.log(`decision ${shot.id} marked airplane and moved: ${from} -> ${finalPath}${renamed}`);
}
