// The one error type of image reading and preprocessing: a machine-readable kind plus a human-readable message.

/**
 * - empty: zero bytes
 * - not-image: content is not an image sharp reads (recognised by magic bytes), or a directory
 * - truncated: the image stops before its data ends (still being written, or cut for good)
 * - corrupt: damaged data (bad checksum, invalid stream, bad header)
 * - too-large: over the byte limit, or a header claiming more pixels than the decompression-bomb limit
 * - unreadable: cannot be opened or read (permission denied, vanished, I/O error); `code` holds the errno code
 * - unsupported: a recognised but undecodable variant (e.g. HEVC-coded HEIC), or not a regular file (FIFO,
 *   socket, device, symlink when symlinks are not followed)
 */
export type ImageErrorKind =
  'empty' | 'not-image' | 'truncated' | 'corrupt' | 'too-large' | 'unreadable' | 'unsupported';

export class ImageError extends Error {
  readonly kind: ImageErrorKind;
  /** errno code (ENOENT, EACCES, ...) when the error came from the file system. */
  readonly code: string | undefined;

  constructor(kind: ImageErrorKind, message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImageError';
    this.kind = kind;
    this.code = options?.code;
  }
}
