// A counting semaphore: at most `size` holders at once, the rest wait in arrival order. The decider holds one of
// these from reading a file until its decode is done, so the file's bytes (the large part of a file in progress)
// stay bounded by `concurrency` while the cheap later steps (model, database, move) run without a slot.
export class Slots {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.used < this.size) this.used++;
    else await new Promise<void>((resolve) => this.waiters.push(resolve)); // the slot is handed over, not freed
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.used--;
    }
  }
}
