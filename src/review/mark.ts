// Mark, the work itself (the CLI's `birdwatch mark` and the web page's POST /api/decisions/ID/mark both call it):
// records a member's label for a decision without restoring it (an airplane the filter kept, a bird it rightly
// kept...); with `move`, a kept airplane is moved out to its camera's airplanes folder, through the same crash-safe
// logged move as restore (see restore.ts).
import path from 'node:path';
import type { Config } from '../config/index.js';
import { DecisionLog, timestamp, type Label } from '../db/index.js';
import { hashFile, moveLogged, SourceChangedError } from '../fs/index.js';
import { cameraHolding, requireInside } from './allowed-folders.js';
import type { DecidedShot } from '../query/decided-shot.js';
import { labels } from '../query/decision-filter.js';
import { checkShotFile } from './shot-file.js';
import { withDecidedShot } from './with-decided-shot.js';
import { ActionError, classify, refusalsAs } from './errors.js';

export interface MarkRequest {
  label: Label;
  /** Move a kept airplane out of the blog (label airplane only). */
  move: boolean;
}

export interface MarkResult {
  id: number;
  label: Label;
  moved: boolean;
  /** Where the shot was when marked. */
  from: string;
  /** Where it is now (`from` unless moved). */
  to: string;
  /** For a move: the name it was meant to get (`to` differs when that name was taken). */
  wanted: string | null;
  /** What a member may want to do next: restore a marked bird still out of the blog, move a kept airplane. */
  hint: 'restore' | 'move' | null;
  at: string;
  member: string | null;
}

/** The rules on what may be asked (one definition for the CLI's usage errors and the API's 400s). */
export function checkMarkRequest(label: unknown, move: unknown): MarkRequest {
  if (label === undefined || label === null) {
    throw new ActionError('invalid', 'mark needs a label: bird or airplane');
  }
  if (!(labels as readonly unknown[]).includes(label)) {
    throw new ActionError('invalid', `label must be one of ${labels.join(', ')}, got ${JSON.stringify(label)}`);
  }
  if (move !== undefined && typeof move !== 'boolean') {
    throw new ActionError('invalid', `move must be true or false, got ${JSON.stringify(move)}`);
  }
  if (move === true && label !== 'airplane') {
    throw new ActionError('invalid', `moving takes an airplane out of the blog; to put a bird back use restore`);
  }
  return { label: label as Label, move: move === true };
}

export async function markShot(
  config: Config,
  idOrPath: string,
  request: MarkRequest,
  member: string | null,
): Promise<MarkResult> {
  const { label, move } = checkMarkRequest(request.label, request.move);
  try {
    return await withDecidedShot(config.db, idOrPath, async (log, shot) =>
      move ? markAndMove(log, config, shot, member) : markOnly(log, shot, label, member),
    );
  } catch (err) {
    throw classify(err);
  }
}

function markOnly(log: DecisionLog, shot: DecidedShot, label: Label, member: string | null): MarkResult {
  const when = timestamp();
  log.insertCorrection({
    decision_id: shot.id,
    ...when,
    label,
    kind: 'mark',
    from_path: shot.current_path,
    to_path: null,
    member,
  });
  let hint: MarkResult['hint'] = null;
  if (label === 'bird' && shot.action === 'moved' && shot.current_path !== shot.path) hint = 'restore';
  if (label === 'airplane' && shot.current_path === shot.path && shot.action === 'kept') hint = 'move';
  return {
    id: shot.id,
    label,
    moved: false,
    from: shot.current_path,
    to: shot.current_path,
    wanted: null,
    hint,
    at: when.time,
    member,
  };
}

async function markAndMove(
  log: DecisionLog,
  config: Config,
  shot: DecidedShot,
  member: string | null,
): Promise<MarkResult> {
  const from = shot.current_path;
  if (cameraHolding(config, from, 'airplanes') !== undefined) {
    throw new ActionError(
      'conflict',
      `the shot of decision ${shot.id} is already in an airplanes folder ` +
        `(${from}); record the label only, without moving`,
    );
  }
  const { dest, stat } = await refusalsAs('conflict', async () => {
    const camera = requireInside(config, from, 'watch', 'the shot at', shot.camera);
    const dest = path.join(camera.airplanes, path.relative(camera.watch, from));
    requireInside(config, dest, 'airplanes', 'the destination', camera.name);
    return { dest, stat: await checkShotFile(shot, from) };
  });
  const when = timestamp();
  const { finalPath } = await moveLogged(
    log,
    {
      kind: 'mark-move',
      src: from,
      dest,
      sha256: shot.sha256 ?? (await hashFile(from)),
      size: stat.size,
      record: {
        table: 'corrections',
        row: { decision_id: shot.id, ...when, label: 'airplane', kind: 'mark-move', from_path: from, member },
      },
    },
    { expect: { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs } },
  ).catch((err: unknown) => {
    if (err instanceof SourceChangedError) throw new ActionError('conflict', `nothing moved: ${err.message}`);
    throw err;
  });
  return {
    id: shot.id,
    label: 'airplane',
    moved: true,
    from,
    to: finalPath,
    wanted: dest,
    hint: null,
    at: when.time,
    member,
  };
}
