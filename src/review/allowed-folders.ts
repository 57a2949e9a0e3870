// Restore and mark move files only inside the folders the configuration names: real paths are compared (symlinks
// resolved), so neither `..` in a logged path nor a symlinked folder can send a file elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { isInside, type Camera, type Config } from '../config/index.js';
import { Refusal } from '../errors.js';

/** The real path of `file`, or for a path that does not exist yet, of its nearest existing ancestor + the rest. */
export function realPathAllowingMissing(file: string): string {
  const absolute = path.resolve(file);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.join(fs.realpathSync(existing), ...missing.reverse());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const parent = path.dirname(existing);
      if (parent === existing) return absolute;
      missing.push(path.basename(existing));
      existing = parent;
    }
  }
}

function realFolder(folder: string): string {
  try {
    return fs.realpathSync(folder);
  } catch {
    return path.resolve(folder);
  }
}

/** Is `file` (resolved for real) inside `folder` (resolved for real)? */
export function isReallyInside(folder: string, file: string): boolean {
  return isInside(realFolder(folder), realPathAllowingMissing(file));
}

export type FolderRole = 'watch' | 'airplanes';

/** The configured camera whose `role` folder holds `file`, preferring the camera the decision names. */
export function cameraHolding(
  config: Config,
  file: string,
  role: FolderRole,
  preferredName?: string,
): Camera | undefined {
  const holders = config.cameras.filter((camera) => isReallyInside(camera[role], file));
  return holders.find((camera) => camera.name === preferredName) ?? holders[0];
}

/** Throws a clear refusal unless `file` lies inside one of the configured `role` folders. */
export function requireInside(
  config: Config,
  file: string,
  role: FolderRole,
  what: string,
  preferredName?: string,
): Camera {
  const camera = cameraHolding(config, file, role, preferredName);
  if (camera === undefined) {
    const folders = config.cameras.map((c) => c[role]).join(', ');
    const kind = role === 'watch' ? 'watched (blog)' : 'airplanes';
    throw new Refusal(
      `refusing: ${what} ${file} is not inside the configured ${kind} folder` +
        `${config.cameras.length > 1 ? 's' : ''} (${folders}); pass the daemon's --config (or --watch/--airplanes)`,
    );
  }
  return camera;
}
