// Replaces a file whole, so that a crash at any moment leaves the old file or the new one, never half of one: the
// content goes to a temp file in the same folder, is fsynced, renamed over the target, and the folder is fsynced
// (so the rename itself survives a power cut). A failed write removes its temp file and leaves the target as it was.
import fs from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** The new file's permission bits (default 0o644). */
  mode?: number;
}

/** Writes `content` (text or bytes) to `file` atomically. Errors are the file system's, the temp file removed. */
export function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  replaceAtomically(file, (temp) => {
    const fd = fs.openSync(temp, 'wx', options.mode ?? 0o644);
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** Copies `from` over `to` atomically (same guarantees as writeFileAtomic). */
export function copyFileAtomic(from: string, to: string, options: AtomicWriteOptions = {}): void {
  replaceAtomically(to, (temp) => {
    fs.copyFileSync(from, temp, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(temp, options.mode ?? 0o644);
    const fd = fs.openSync(temp, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** JSON as birdwatch writes its own files (one-space indent, a final newline). */
export function writeJsonAtomic(file: string, value: unknown, indent = 1): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, indent)}\n`);
}

function replaceAtomically(file: string, fill: (temp: string) => void): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.birdwatch-${process.pid}.tmp`);
  fs.rmSync(temp, { force: true }); // one a crashed run of the same pid left
  try {
    fill(temp);
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}
