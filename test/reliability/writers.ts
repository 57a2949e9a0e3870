// How files arrive in the watched folder, the way real uploaders write them.
import { open, rename, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type RenameStyle = 'outside' | 'dot' | 'part';

/**
 * Temp-name-then-rename writer (rsync, most FTP servers, `cp` into a staging folder then `mv`):
 * - 'outside': written complete in a staging folder on the same filesystem, then renamed into the watched folder;
 * - 'dot':     written as `.name.XXXX` next to its final name (a dotfile: the daemon must ignore it), then renamed;
 * - 'part':    written as `name.part` next to its final name, then renamed.
 * The temp file is written in a few chunks with a short pause, so the daemon really sees a temp name growing.
 */
export async function renameIntoPlace(
  bytes: Buffer,
  finalPath: string,
  style: RenameStyle,
  staging: string,
): Promise<void> {
  const dir = dirname(finalPath);
  const name = basename(finalPath);
  const tmp =
    style === 'outside'
      ? join(staging, `${name}.${process.pid}.${Math.random().toString(36).slice(2)}`)
      : style === 'dot'
        ? join(dir, `.${name}.${Math.random().toString(36).slice(2, 8)}`)
        : join(dir, `${name}.part`);
  await mkdir(dirname(tmp), { recursive: true });
  await writeChunked(bytes, tmp, 3, 20);
  await rename(tmp, finalPath);
}

/** Writes the file in place, in `chunks` pieces with `pauseMs` between them (a camera on a slow link). */
export async function writeChunked(
  bytes: Buffer,
  path: string,
  chunks: number,
  pauseMs: number | (() => number),
): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const step = Math.max(1, Math.ceil(bytes.length / chunks));
    for (let off = 0; off < bytes.length; off += step) {
      if (off > 0) await sleep(typeof pauseMs === 'function' ? pauseMs() : pauseMs);
      await fh.write(bytes, off, Math.min(step, bytes.length - off), off);
    }
  } finally {
    await fh.close();
  }
}

export async function writeAtOnce(bytes: Buffer, path: string): Promise<void> {
  await writeFile(path, bytes);
}
