// Before a shot is moved on a member's word: it must still be where the log says, a regular file, and the same
// content the daemon decided (a new upload under the old name is not the shot that was reviewed).
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import { Refusal } from '../errors.js';
import { hashFile } from '../fs/index.js';
import type { DecidedShot } from '../query/decided-shot.js';

export async function checkShotFile(shot: DecidedShot, file: string = shot.current_path): Promise<Stats> {
  let stat: Stats;
  try {
    stat = await fs.lstat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new Refusal(
        `the shot of decision ${shot.id} is no longer at ${file}, where the log last ` +
          'put it (moved or deleted by hand?)',
      );
    }
    throw new Refusal(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!stat.isFile()) {
    throw new Refusal(`refusing: ${file} is not a regular file (a symlink or special file)`);
  }
  if (shot.sha256 !== null && (await hashFile(file)) !== shot.sha256) {
    throw new Refusal(`${file} is not the shot decision ${shot.id} saw any more (its content changed)`);
  }
  return stat;
}
