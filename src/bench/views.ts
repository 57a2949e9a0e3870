// What multi-view inference costs (src/model/views.ts): the same images through the same network as a model with
// views ["identity"] and as one with ["identity","mirror"] (the file with only its metadata edited), measured in the
// same run, passes alternating (and their order too) so a drift of the shared machine falls on both. Inference
// alone (tensors prepared once, batches of the daemon's size) and the in-process pipeline (decode + inference, what
// the daemon spends).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS, prepareImage } from '../image/preprocess.js';
import { withEditedMetadata } from '../model/metadata.js';
import { loadModel, type Model } from '../model/load.js';
import { inProcessPipeline } from './pipeline.js';

export interface ViewsCost {
  /** images/s of batched inference alone, best pass: [1 view, 2 views]. */
  inference: [number, number];
  /** ms of one batch of `batch` images, at that best pass: [1 view, 2 views]. */
  batchMs: [number, number];
  batch: number;
  /** images/s of the in-process pipeline (prepareImage + batched inference, 4 in flight), best pass. */
  pipeline: [number, number];
}

/** Writes the two variants of `modelPath` into `dir` and returns their paths: [1 view, 2 views]. */
function variants(modelPath: string, dir: string): [string, string] {
  mkdirSync(dir, { recursive: true });
  const bytes = readFileSync(modelPath);
  return ([['identity'], ['identity', 'mirror']] as const).map((views) => {
    const file = join(dir, `views-${views.length}.onnx`);
    writeFileSync(
      file,
      withEditedMetadata(bytes, (props) => {
        props.preprocessing = JSON.stringify({
          ...(props.preprocessing ? (JSON.parse(props.preprocessing) as object) : {}),
          views,
        });
      }),
    );
    return file;
  }) as [string, string];
}

/** images/s and ms per batch of classifying `tensors` in batches of `batch`, `rounds` times over. */
async function inferencePass(
  model: Model,
  tensors: Float32Array[],
  batch: number,
  rounds: number,
): Promise<{ imagesPerSecond: number; batchMs: number }> {
  let batches = 0;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < tensors.length; i += batch) {
      await model.classify(tensors.slice(i, i + batch));
      batches++;
    }
  }
  const ms = performance.now() - started;
  return { imagesPerSecond: (tensors.length * rounds) / (ms / 1000), batchMs: ms / batches };
}

export async function viewsCost(
  paths: string[],
  modelPath: string,
  dir: string,
  log: (line: string) => void,
  { batch = 8, passes = 3 } = {},
): Promise<ViewsCost> {
  const files = variants(modelPath, dir);
  const models = await Promise.all(files.map((path) => loadModel({ path, provider: 'cpu' })));
  try {
    const sample = paths.slice(0, 64);
    const tensors = await Promise.all(
      sample.map(async (path) => (await prepareImage(path, models[0]!, DEFAULT_LIMITS)).tensor),
    );
    const rounds = Math.max(1, Math.ceil(2048 / tensors.length)); // ~2,000 images a pass
    log(
      `views: inference alone, ${tensors.length} prepared images x ${rounds} in batches of ${batch}, ` +
        '1 and 2 views alternating',
    );
    const inference: [number, number] = [0, 0];
    const batchMs: [number, number] = [Number.NaN, Number.NaN];
    for (let pass = 0; pass < passes; pass++) {
      for (const v of pass % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        const result = await inferencePass(models[v]!, tensors, batch, rounds);
        if (result.imagesPerSecond > inference[v])
          [inference[v], batchMs[v]] = [result.imagesPerSecond, result.batchMs];
      }
    }
    log(`views: pipeline in-process, ${paths.length} files, 1 and 2 views alternating`);
    const pipeline: [number, number] = [0, 0];
    for (let pass = 0; pass < passes; pass++) {
      for (const v of pass % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        pipeline[v] = Math.max(pipeline[v], (await inProcessPipeline(paths, files[v], 1)).imagesPerSecond);
      }
    }
    return { inference, batchMs, batch, pipeline };
  } finally {
    for (const model of models) await model.close();
  }
}
