// Collects the images that are ready at the same moment into one model call. session.run holds the main thread,
// so batches stay small (batchSize) and the event loop gets a turn between them.
import type { Model, Probabilities } from '../model/load.js';

interface Waiting {
  tensor: Float32Array;
  resolve: (p: Probabilities) => void;
  reject: (err: unknown) => void;
}

export class Batcher {
  private waiting: Waiting[] = [];
  private running = false;
  private scheduled = false;

  constructor(private readonly model: Model, private readonly batchSize: number) {}

  classify(tensor: Float32Array): Promise<Probabilities> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ tensor, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate: let the other images finishing their decode in this loop turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    const batch = this.waiting.splice(0, this.batchSize);
    try {
      const results = await this.model.classify(batch.map((w) => w.tensor));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.running = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
