// Read an image file into memory safely: open without blocking, refuse anything that is not a regular file before
// reading a byte, enforce the byte limit from fstat. sharp(path) on a FIFO would block a libuv thread forever, so
// the pipeline never hands sharp a path, only the bytes read here.
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ImageError } from './errors.js';

export interface ReadOptions {
  maxBytes: number;
  /** Follow a symlink given as the path (classify does; the daemon never does, it lstats first). Default false. */
  followSymlinks?: boolean;
  /** Where to read into: a buffer of at least `size` bytes (the daemon reuses its buffers); default a new one. */
  allocate?: (size: number) => Buffer;
}

export async function readImageFile(path: string, options: ReadOptions): Promise<Buffer> {
  const flags = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (options.followSymlinks ? 0 : fsConstants.O_NOFOLLOW);
  let fh;
  try {
    fh = await open(path, flags);
  } catch (err) {
    throw openError(err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new ImageError('not-image', 'is a directory, not an image file');
    if (!st.isFile()) throw new ImageError('unsupported', `is a ${fileKind(st)}, not a regular file; not read`);
    if (st.size === 0) throw new ImageError('empty', 'empty file (0 bytes)');
    if (st.size > options.maxBytes) {
      throw new ImageError('too-large', `file is ${st.size} bytes, over the limit of ${options.maxBytes} bytes`);
    }
    // Read the size fstat reported; a file shrinking meanwhile gives fewer bytes (then caught as truncated).
    const buf = options.allocate ? options.allocate(st.size) : Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < st.size) {
      const { bytesRead } = await fh.read(buf, done, st.size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done === 0) throw new ImageError('empty', 'empty file (0 bytes)');
    return done === buf.length ? buf : buf.subarray(0, done);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw openError(err);
  } finally {
    await fh.close();
  }
}

function fileKind(st: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

function openError(err: unknown): ImageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new ImageError('unreadable', 'permission denied (cannot read the file)', { cause: err, code });
    case 'ENOENT':
      return new ImageError('unreadable', 'no such file (deleted or moved before it could be read)', {
        cause: err,
        code,
      });
    case 'ELOOP':
      return new ImageError('unsupported', 'is a symbolic link; not followed', { cause: err, code });
    case 'ENXIO':
      return new ImageError('unsupported', 'is a socket or device without a reader, not a regular file; not read', {
        cause: err,
        code,
      });
    case 'EISDIR':
      return new ImageError('not-image', 'is a directory, not an image file', { cause: err, code });
    default:
      return new ImageError('unreadable', `cannot read the file: ${detail}`, { cause: err, ...(code ? { code } : {}) });
  }
}
