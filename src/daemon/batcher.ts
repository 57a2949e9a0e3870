// Collects decoded images into one model call. The shipped model reads all its weights on every run (2.2 ms for
// one image, 0.55 ms/image for eight), so a batch waits for the decodes still in flight, up to batchSize images or
// GATHER_MS after its first image, whichever comes first. session.run holds the main thread, so batches stay small
// and the event loop gets a turn between them. Each image comes with the model it was prepared for (see
// src/model/current.ts): a batch holds images of one model only, so a model swap falls between batches.
import type { Model, Probabilities } from '../model/load.js';

/** Longest an image waits for company: a tenth of the 1 s latency target; a burst on 2 busy cores fills ~8 by then. */
const GATHER_MS = 100;

interface Waiting {
  tensor: Float32Array;
  model: Model;
  resolve: (p: Probabilities) => void;
  reject: (err: unknown) => void;
}

export class Batcher {
  private waiting: Waiting[] = [];
  private running = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Images being read/decoded now that will come to classify() (see preparing()). */
  private inFlight = 0;

  constructor(private readonly batchSize: number) {}

  /** Wraps a decode whose result will be classified, so a batch knows to wait for it. */
  async preparing<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
      // A failed decode brings no image: the batch may have been waiting only for it.
      if (this.waiting.length > 0) this.schedule();
    }
  }

  classify(tensor: Float32Array, model: Model): Promise<Probabilities> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ tensor, model, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    // Full, or nothing more coming: run now. setImmediate lets the images finishing in this loop turn join.
    if (this.waiting.length >= this.batchSize || this.inFlight === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, GATHER_MS);
  }

  private async flush(): Promise<void> {
    if (this.running || this.waiting.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    // The oldest image's model, and the images waiting for that same model (in order), up to batchSize.
    const model = this.waiting[0]!.model;
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of this.waiting) (w.model === model && batch.length < this.batchSize ? batch : rest).push(w);
    this.waiting = rest;
    try {
      const results = await model.classify(batch.map((w) => w.tensor));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.running = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
