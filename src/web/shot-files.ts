// Opens a decided shot's file for the web page, by decision id only, and only from the configured camera and
// airplanes folders: real paths are compared (a symlinked folder cannot lead elsewhere), '..' is refused, the file
// itself must be a regular file (never a symlink: opened with O_NOFOLLOW and checked to be what lstat saw), and no
// larger than the daemon's maxBytes. O_NOFOLLOW guards only the last component, so after opening, the opened file's
// own real path (/proc/self/fd) must still be inside those folders: a parent folder swapped for a symlink between
// the check and the open is refused. Without /proc (not Linux) only the checks before the open apply.
import { constants, existsSync, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { isReallyInside } from '../review/allowed-folders.js';

export class ShotFileError extends Error {
  constructor(
    readonly kind: 'refused' | 'missing' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

const contentTypes: Record<string, string> = {
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
};

/** The content type of a decision's `format` (as the daemon sniffed it), else a neutral download type. */
export function contentTypeOf(format: string | null): string {
  return (format && contentTypes[format.toLowerCase()]) || 'application/octet-stream';
}

export interface OpenShot {
  handle: fs.FileHandle;
  stat: Stats;
}

const haveProcFds = existsSync('/proc/self/fd');

/** Whether `file` is really inside a configured camera or airplanes folder. */
function allowedFile(config: Config, file: string): boolean {
  return config.cameras.some((camera) => isReallyInside(camera.watch, file) || isReallyInside(camera.airplanes, file));
}

export async function openShotFile(config: Config, file: string): Promise<OpenShot> {
  if (!path.isAbsolute(file) || path.normalize(file) !== file || file.split(path.sep).includes('..')) {
    throw new ShotFileError('refused', `refusing ${file}: not a plain absolute path`);
  }
  if (!allowedFile(config, file))
    throw new ShotFileError('refused', `refusing ${file}: outside the configured folders`);
  let stat: Stats;
  try {
    stat = await fs.lstat(file);
  } catch {
    throw new ShotFileError('missing', `the shot is no longer at ${file}`);
  }
  if (!stat.isFile()) throw new ShotFileError('refused', `refusing ${file}: not a regular file`);
  if (stat.size > config.maxBytes) throw new ShotFileError('too-large', `${file} is larger than maxBytes`);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    throw new ShotFileError('missing', `cannot open ${file}`);
  }
  const opened = await handle.stat();
  if (opened.ino !== stat.ino || opened.dev !== stat.dev || !opened.isFile()) {
    await handle.close();
    throw new ShotFileError('refused', `refusing ${file}: it changed while being opened`);
  }
  if (haveProcFds) {
    const realPath = await fs.realpath(`/proc/self/fd/${handle.fd}`).catch(() => null);
    if (realPath === null || !allowedFile(config, realPath)) {
      await handle.close();
      throw new ShotFileError('refused', `refusing ${file}: the file opened is outside the configured folders`);
    }
  }
  return { handle, stat: opened };
}
