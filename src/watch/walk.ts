// A full listing of a watched tree for the safety rescan, pruned like the watcher (hidden/temp names, airplanes
// folders), not following symlinks, streaming entries so a huge folder is never held in memory at once.
import fs from 'node:fs/promises';
import path from 'node:path';
import { isIgnoredPath } from './ignore.js';

/** Yields every non-folder entry under root (files, and also FIFOs/symlinks: the caller lstat-checks them). */
export async function* walkTree(root: string, excluded: readonly string[]): AsyncGenerator<string> {
  const stack = [root];
  while (stack.length > 0) {
    const folder = stack.pop()!;
    let dir;
    try {
      dir = await fs.opendir(folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') continue; // vanished or unreadable meanwhile
      throw err;
    }
    for await (const entry of dir) {
      const full = path.join(folder, entry.name);
      if (isIgnoredPath(root, full, excluded)) continue;
      if (entry.isDirectory()) stack.push(full);
      else yield full;
    }
  }
}
