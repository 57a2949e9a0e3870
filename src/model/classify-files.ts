// Classify a stream of image files with bounded memory: a few files read and decoded at once, the ones ready
// together classified in one batched inference, results handed out in input order.
import { ImageError, prepareImage, type Prepared, type PreprocessLimits } from '../image/preprocess.js';
import type { Model, Probabilities } from './load.js';

export interface FileResult {
  path: string;
  /** Set when decided. */
  prepared?: Prepared;
  probabilities?: Probabilities;
  /** Set when the file could not be decided (an ImageError for bad input). */
  error?: Error;
}

export interface ClassifyFilesOptions {
  limits: PreprocessLimits;
  /** Files read and decoded at once (default 4: ~1.8x over one at a time on 2 cores). */
  concurrency?: number;
  /** Most images per inference (default 32). */
  batchSize?: number;
  /** Most files started but not yet handed out (in-order output waits for a slow one; default 64). */
  maxPending?: number;
}

interface Slot {
  path: string;
  settled: boolean;
  prepared?: Prepared;
  error?: Error;
}

/** Runs until `paths` ends; `emit` gets every file's result in input order. Returns the counts. */
export async function classifyFiles(
  paths: AsyncIterable<string> | Iterable<string>,
  model: Model,
  options: ClassifyFilesOptions,
  emit: (result: FileResult) => void | Promise<void>,
): Promise<{ decided: number; failed: number }> {
  const concurrency = options.concurrency ?? 4;
  const batchSize = options.batchSize ?? 32;
  const maxPending = Math.max(options.maxPending ?? 64, concurrency);
  const slots: Slot[] = []; // started, not yet emitted, in input order
  let inflight = 0;
  let waiters: Array<() => void> = [];
  const counts = { decided: 0, failed: 0 };

  const settledSignal = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  const start = (path: string): void => {
    const slot: Slot = { path, settled: false };
    slots.push(slot);
    inflight++;
    prepareImage(path, model, options.limits).then(
      (prepared) => { slot.prepared = prepared; },
      (err: unknown) => { slot.error = err instanceof Error ? err : new ImageError('corrupt', String(err)); },
    ).finally(() => {
      slot.settled = true;
      inflight--;
      const wake = waiters;
      waiters = [];
      for (const resolve of wake) resolve();
    });
  };

  // Emit the settled files at the head of the line, batching the decodable ones into one inference each.
  const emitReady = async (): Promise<void> => {
    while (slots.length > 0 && slots[0]!.settled) {
      const batch: Slot[] = [];
      while (batch.length < batchSize && slots.length > 0 && slots[0]!.settled) batch.push(slots.shift()!);
      const decodable = batch.filter((slot) => slot.prepared !== undefined);
      const probabilities = decodable.length > 0 ? await model.classify(decodable.map((slot) => slot.prepared!.tensor)) : [];
      let next = 0;
      for (const slot of batch) {
        if (slot.prepared) {
          counts.decided++;
          await emit({ path: slot.path, prepared: slot.prepared, probabilities: probabilities[next++]! });
        } else {
          counts.failed++;
          await emit({ path: slot.path, error: slot.error! });
        }
      }
    }
  };

  for await (const path of paths) {
    if (slots[0]?.settled) await emitReady(); // paths may trickle in (stdin): don't sit on finished results
    while (inflight >= concurrency || slots.length >= maxPending) {
      await settledSignal();
      await emitReady();
    }
    start(path);
  }
  while (slots.length > 0) {
    if (!slots[0]!.settled) await settledSignal();
    await emitReady();
  }
  return counts;
}
