// Which names under a watched folder are never shots: temporary and hidden files that uploaders, editors and
// birdwatch itself write before renaming into place, and the airplanes folders (the daemon's own output).
import path from 'node:path';
import { isOwnTempName } from '../fs/move.js';

const TEMP_SUFFIXES = ['.part', '.partial', '.tmp', '.temp', '.crdownload', '.download', '.filepart', '.swp'];

/** A file or folder name that is hidden or temporary (checked on every path component). */
export function isIgnoredName(name: string): boolean {
  if (name.startsWith('.') || isOwnTempName(name)) return true; // dotfiles: `.name.XXXX` rsync temps, our copies
  if (name.endsWith('~') || name.startsWith('~$')) return true; // editor backups, office lock files
  const lower = name.toLowerCase();
  return TEMP_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/**
 * Whether `file` (absolute) under the watched `root` is to be ignored: a hidden/temporary component below the root,
 * or inside one of the `excluded` folders (airplanes folders nested in the watched tree).
 */
export function isIgnoredPath(root: string, file: string, excluded: readonly string[]): boolean {
  for (const folder of excluded) {
    if (file === folder || file.startsWith(folder + path.sep)) return true;
  }
  const relative = path.relative(root, file);
  if (relative === '') return false;
  if (relative.startsWith('..') || path.isAbsolute(relative)) return true; // outside the watched tree
  return relative.split(path.sep).some(isIgnoredName);
}
