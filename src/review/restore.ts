// Restore, the work itself (the CLI's `birdwatch restore` and the web page's POST /api/decisions/ID/restore both
// call it): puts a shot the filter moved by mistake back where it was found in the blog and records the member's
// label 'bird', so the daemon never moves it out again.
//
// Crash safety: the move goes through the decision log's pending-move mechanism (src/fs/logged-move.ts): the
// intent (with the correction row to write) is committed before anything moves, each target name is recorded
// before it is tried, and the correction row is written in the same transaction that deletes the intent. While the
// intent exists the daemon leaves the path alone; after a crash the daemon (or the next restore/mark) finishes or
// undoes it. Once the correction exists, the daemon skips the file (its to_path and sha256 rules,
// DecisionLog.isDecided / humanSaysBird).
import type { Config } from '../config/index.js';
import { timestamp } from '../db/index.js';
import { hashFile, moveLogged, SourceChangedError } from '../fs/index.js';
import { cameraHolding, requireInside } from './allowed-folders.js';
import { checkShotFile } from './shot-file.js';
import { withDecidedShot } from './with-decided-shot.js';
import { ActionError, classify, refusalsAs } from './errors.js';

export interface RestoreResult {
  id: number;
  /** It had been restored before: nothing moved now. */
  already: boolean;
  /** Where the shot was (the airplanes folder); for `already`, where the earlier restore took it from. */
  from: string;
  /** Where it is now. */
  to: string;
  /** Where it was found (its place in the blog); `to` differs when another file had taken that name. */
  wanted: string;
  /** When it was restored (ISO 8601 UTC). */
  at: string;
  member: string | null;
}

/** Restores the shot of decision `idOrPath` (an id or a path it has or had) on `member`'s word. */
export async function restoreShot(config: Config, idOrPath: string, member: string | null): Promise<RestoreResult> {
  try {
    return await withDecidedShot(config.db, idOrPath, async (log, shot) => {
      const back = shot.path;
      if (shot.latest?.kind === 'restore') {
        return {
          id: shot.id,
          already: true,
          from: shot.final_path,
          to: shot.current_path,
          wanted: back,
          at: shot.latest.time,
          member,
        };
      }
      const from = shot.current_path;
      if (from === back || cameraHolding(config, from, 'watch') !== undefined) {
        throw new ActionError(
          'conflict',
          `decision ${shot.id} (${shot.action}) left the shot in the blog at ` +
            `${from}: nothing to restore; to record that it is a bird use 'birdwatch mark ${shot.id} --label bird'`,
        );
      }
      const stat = await refusalsAs('conflict', async () => {
        requireInside(config, from, 'airplanes', 'the shot at', shot.camera);
        requireInside(config, back, 'watch', 'its place in the blog', shot.camera);
        return checkShotFile(shot, from);
      });
      const when = timestamp();
      const { finalPath } = await moveLogged(
        log,
        {
          kind: 'restore',
          src: from,
          dest: back,
          sha256: shot.sha256 ?? (await hashFile(from)),
          size: stat.size,
          record: {
            table: 'corrections',
            row: { decision_id: shot.id, ...when, label: 'bird', kind: 'restore', from_path: from, member },
          },
        },
        { expect: { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs } },
      ).catch((err: unknown) => {
        if (err instanceof SourceChangedError) throw new ActionError('conflict', `nothing restored: ${err.message}`);
        throw err;
      });
      return { id: shot.id, already: false, from, to: finalPath, wanted: back, at: when.time, member };
    });
  } catch (err) {
    throw classify(err);
  }
}
