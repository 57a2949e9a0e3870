// Moving a file without ever replacing another one. fs.rename silently replaces an existing target, so a move is
// link() + unlink() on one filesystem, and where a link is impossible (across filesystems, or a file owned by
// another user under fs.protected_hardlinks) a verified copy under a temp name that is then linked into place. A
// crash at any point leaves the file at the source, or at the target, or at both as the same inode or an identical
// copy: never nowhere, never half-copied under the final name.
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Prefix of the temp files a cross-filesystem copy writes next to its target (a dotfile: watchers skip it). */
export const TEMP_PREFIX = '.birdwatch-tmp-';

export function isOwnTempName(fileName: string): boolean {
  return fileName.startsWith(TEMP_PREFIX);
}

/** The temp name used while copying to `target`: derived from it, so reconciliation knows what to clean up. */
export function tempPathFor(target: string): string {
  const base = path.basename(target);
  // Keep within NAME_MAX (255 bytes) whatever the target's name.
  const short = Buffer.byteLength(base) > 200 ? Buffer.from(base).subarray(0, 200).toString('utf8') : base;
  return path.join(path.dirname(target), TEMP_PREFIX + short);
}

/** `name.jpg` -> `name (n).jpg` (n >= 1); n = 0 is the name itself. */
export function collisionName(dest: string, n: number): string {
  if (n === 0) return dest;
  const ext = path.extname(dest);
  const stem = ext === '' || ext === path.basename(dest) ? path.basename(dest) : path.basename(dest, ext);
  const suffixExt = stem === path.basename(dest) ? '' : ext;
  return path.join(path.dirname(dest), `${stem} (${n})${suffixExt}`);
}

/** The first of `dest`, `dest (1)`, `dest (2)`... that does not exist now (a hint: it may be taken any moment). */
export async function firstFreeName(dest: string, maxSuffix = 10_000): Promise<string> {
  for (let n = 0; n <= maxSuffix; n++) {
    const candidate = collisionName(dest, n);
    if (!(await exists(candidate))) return candidate;
  }
  throw new Error(`no free name for ${dest} after ${maxSuffix} suffixes`);
}

/** The source is not what the caller decided about (gone, replaced, changed, not a regular file). */
export class SourceChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceChangedError';
  }
}

export interface MoveOptions {
  /**
   * Called with the exact target before each attempt to put the file there (after a collision, again with the
   * next name). The logged move records it, so a crash right after can be reconciled.
   */
  beforeAttempt?: (target: string) => void | Promise<void>;
  /** The source must still be this file (same inode, size and mtime), else SourceChangedError. */
  expect?: { ino: number; size: number; mtimeMs: number };
  /** fsync the folders (and the copy) so the move survives power loss. Default true. */
  durable?: boolean;
  /** Give up after this many collision suffixes. Default 10000. */
  maxSuffix?: number;
}

/**
 * Moves regular file `src` to `dest` (folders created), or to `dest (1)`, `dest (2)`... when taken.
 * Returns the path the file ends at. Symlinks and special files are refused. On error nothing has moved.
 */
export async function moveNoClobber(src: string, dest: string, options: MoveOptions = {}): Promise<string> {
  const durable = options.durable ?? true;
  const source = await fs.lstat(src, { bigint: false }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new SourceChangedError(`${src} is gone`);
    throw err;
  });
  if (!source.isFile()) throw new SourceChangedError(`${src} is not a regular file`);
  if (
    options.expect &&
    (options.expect.ino !== source.ino ||
      options.expect.size !== source.size ||
      options.expect.mtimeMs !== source.mtimeMs)
  ) {
    throw new SourceChangedError(`${src} changed since it was read`);
  }
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const maxSuffix = options.maxSuffix ?? 10_000;
  for (let n = 0; n <= maxSuffix; n++) {
    const target = collisionName(dest, n);
    if (await exists(target)) continue;
    await options.beforeAttempt?.(target);
    try {
      await fs.link(src, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      // EXDEV: another filesystem. EPERM: fs.protected_hardlinks forbids linking a file another user owns (the
      // camera's upload user), or the filesystem has no hard links (some network shares). Copy instead.
      if (code === 'EXDEV' || code === 'EPERM') {
        if (await copyAcross(src, source, target, durable)) return target;
        continue;
      }
      if (code === 'ENOENT' && !(await exists(src))) throw new SourceChangedError(`${src} is gone`);
      throw err;
    }
    // link() names whatever is at src now: make sure that is still the file we were asked to move.
    const linked = await fs.lstat(target);
    if (linked.ino !== source.ino || linked.dev !== source.dev) {
      await fs.unlink(target);
      throw new SourceChangedError(`${src} was replaced while being moved`);
    }
    if (durable) await syncFolder(path.dirname(target));
    await unlinkSourceOrUndo(src, target);
    if (durable) await syncFolder(path.dirname(src));
    return target;
  }
  throw new Error(`no free name for ${dest} after ${maxSuffix} suffixes`);
}

/**
 * Cross-filesystem: copy to the temp name, fsync, link into place without replacing, then drop temp and source.
 * Returns false when the target got taken meanwhile (the caller tries the next name).
 */
async function copyAcross(
  src: string,
  source: import('node:fs').Stats,
  target: string,
  durable: boolean,
): Promise<boolean> {
  const temp = tempPathFor(target);
  await fs.rm(temp, { force: true }); // our own leftover from a crash
  try {
    await fs.copyFile(src, temp, fsConstants.COPYFILE_EXCL);
    const copy = await fs.open(temp, 'r');
    try {
      const copied = await copy.stat();
      if (copied.size !== source.size) throw new SourceChangedError(`${src} changed while being copied`);
      await copy.utimes(source.atime, source.mtime); // keep the shot's time, as a same-filesystem move does
      if (durable) await copy.sync();
    } finally {
      await copy.close();
    }
    try {
      await fs.link(temp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    await fs.rm(temp, { force: true });
  }
  if (durable) await syncFolder(path.dirname(target));
  await unlinkSourceOrUndo(src, target);
  if (durable) await syncFolder(path.dirname(src));
  return true;
}

/** If the source cannot be removed (its folder read-only...), take the new name back: a move is all or nothing. */
async function unlinkSourceOrUndo(src: string, target: string): Promise<void> {
  try {
    await fs.unlink(src);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone deleted it: the target is the file now
    await fs.unlink(target).catch(() => undefined);
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** fsync a folder so a new or removed name in it is durable. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems (network shares) refuse fsync on folders: durability is then theirs to give.
    if (!['EINVAL', 'ENOTSUP', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a destination folder reached through a symbolic link (or a non-folder) below `root`: a link planted in the
 * airplanes folder must not carry a move (or the folders mkdir creates) outside it. Missing folders are fine (they
 * are created as real folders). Throws an Error with code 'ELOOP'.
 */
export async function assertRealFolders(root: string, dir: string): Promise<void> {
  const relative = path.relative(root, dir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw Object.assign(new Error(`${dir} is outside ${root}; not moving there`), { code: 'ELOOP' });
  }
  let current = root;
  for (const part of relative === '' ? [] : relative.split(path.sep)) {
    current = path.join(current, part);
    let st;
    try {
      st = await fs.lstat(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (!st.isDirectory()) {
      throw Object.assign(new Error(`${current} is a symbolic link or not a folder: refusing to move through it`), {
        code: 'ELOOP',
      });
    }
  }
}
