// Writes many lines to stdout in chunks, waiting for the pipe to drain, so a million-row `log --json | gzip` runs
// in constant memory; a reader that goes away (`| head`) ends the output quietly.
export class ChunkedWriter {
  private buffer = '';
  private closed = false;

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stdout,
    private readonly chunkSize = 1 << 16,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  /** False once the reader has gone: the caller can stop producing. */
  get open(): boolean {
    return !this.closed;
  }

  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= this.chunkSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer === '' || this.closed) {
      this.buffer = '';
      return;
    }
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }
}
