// Reusable buffers for the bytes of the files being decoded. A fresh multi-megabyte Buffer per shot counts as
// external memory, and V8 answered the churn with a full mark-compact every ~30 shots in a burst (measured with
// --trace-gc); the decode slots already bound how many files are read at once, so as many buffers are kept.
export class ReadBuffers {
  private readonly free: Buffer[] = [];

  /**
   * @param keep most idle buffers kept (the number of decode slots)
   * @param largestKept a buffer larger than this many bytes (a rare huge file) is not kept for reuse
   */
  constructor(
    private readonly keep: number,
    private readonly largestKept: number,
  ) {}

  /** A buffer of at least `size` bytes, its contents undefined. Hand it back with release() when done. */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.length;
      if (length >= size && (best < 0 || length < this.free[best]!.length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    // None fits: drop the smallest idle one (it would only grow back) and allocate with headroom.
    if (this.free.length >= this.keep) this.free.sort((a, b) => a.length - b.length).shift();
    return Buffer.allocUnsafeSlow(size <= this.largestKept ? Math.min(this.largestKept, roundUp(size)) : size);
  }

  /** Runs `work` with an allocator for one file's bytes; the buffer it hands out is taken back when `work` is done
   *  (its bytes, sharp's use included, are finished with by then). */
  async lend<T>(work: (allocate: (size: number) => Buffer) => Promise<T>): Promise<T> {
    let lent: Buffer | undefined;
    try {
      return await work((size) => {
        if (lent) throw new Error('one buffer per lend()');
        return (lent = this.take(size));
      });
    } finally {
      if (lent) this.release(lent);
    }
  }

  release(buffer: Buffer): void {
    if (buffer.length <= this.largestKept && this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Next multiple of 256 KiB: files of similar sizes share a buffer instead of growing it byte by byte. */
function roundUp(size: number): number {
  const step = 256 * 1024;
  return Math.ceil(Math.max(size, 1) / step) * step;
}
