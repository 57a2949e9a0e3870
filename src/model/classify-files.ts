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

/** How long a pause in the input is before finished results are handed out without waiting for a full batch. */
const INPUT_PAUSE_MS = 50;

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
    prepareImage(path, model, options.limits)
      .then(
        (prepared) => {
          slot.prepared = prepared;
        },
        (err: unknown) => {
          slot.error = err instanceof Error ? err : new ImageError('corrupt', String(err));
        },
      )
      .finally(() => {
        slot.settled = true;
        inflight--;
        const wake = waiters;
        waiters = [];
        for (const resolve of wake) resolve();
      });
  };

  const leadingSettled = (): number => {
    let n = 0;
    while (n < slots.length && slots[n]!.settled) n++;
    return n;
  };

  // Emit the settled files at the head of the line, the decodable ones classified together. Inference of a small
  // batch costs little more than of one image (the weights are read once), so unless `partial`, only full batches
  // go: results wait for their batch (or for a pause in the input, or its end).
  const emitReady = async (partial: boolean): Promise<void> => {
    while (slots.length > 0 && slots[0]!.settled && (partial || leadingSettled() >= batchSize)) {
      const batch: Slot[] = [];
      while (batch.length < batchSize && slots.length > 0 && slots[0]!.settled) batch.push(slots.shift()!);
      const decodable = batch.filter((slot) => slot.prepared !== undefined);
      const probabilities =
        decodable.length > 0 ? await model.classify(decodable.map((slot) => slot.prepared!.tensor)) : [];
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

  const iterator = (
    Symbol.asyncIterator in paths
      ? (paths as AsyncIterable<string>)[Symbol.asyncIterator]()
      : (paths as Iterable<string>)[Symbol.iterator]()
  ) as AsyncIterator<string> | Iterator<string>;
  for (;;) {
    // Paths may trickle in (stdin): if the next one is slow to come, hand out what is finished meanwhile.
    const next = Promise.resolve(iterator.next());
    let timer: NodeJS.Timeout | undefined;
    const paused = new Promise<null>((resolve) => {
      timer = setTimeout(resolve, INPUT_PAUSE_MS, null);
    });
    let item = await Promise.race([next, paused]);
    clearTimeout(timer);
    while (item === null) {
      await emitReady(true);
      item = inflight > 0 ? await Promise.race([next, settledSignal().then(() => null)]) : await next;
    }
    if (item.done) break;
    while (inflight >= concurrency || slots.length >= maxPending) {
      await settledSignal();
      await emitReady(slots.length >= maxPending);
    }
    start(item.value);
  }
  while (slots.length > 0) {
    if (inflight > 0 && leadingSettled() < batchSize) {
      await settledSignal();
      continue;
    }
    await emitReady(inflight === 0);
  }
  return counts;
}
