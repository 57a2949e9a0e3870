// Load the ONNX model: validate the file and its metadata (classes, mean, std, threshold, views), its input/output
// names and shapes and a test inference; choose the execution provider (CUDA when asked for and available, else CPU,
// saying so), and expose batched classification (each image run on the model's views, probabilities averaged).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { ModelError } from './errors.js';
import { readOnnxMetadata } from './metadata.js';
import { isIdentityOnly, viewsOf, writeView, type ViewName } from './views.js';
import { parseModelMetadata, type OperatingCurve } from './validate.js';

export { ModelError };

export type ProviderChoice = 'auto' | 'cuda' | 'cpu';
export type Provider = 'cuda' | 'cpu';

/** The two log levels used here; winston's Logger satisfies it. */
export interface ModelLogger {
  info(message: string): unknown;
  warn(message: string): unknown;
}

export interface Probabilities {
  airplane: number;
  bird: number;
}

export interface Model {
  /** First 12 hex digits of the model file's sha256. */
  id: string;
  path: string;
  provider: Provider;
  classes: string[];
  mean: number[];
  std: number[];
  /** The model's own threshold: move when P(airplane) >= threshold. */
  threshold: number;
  /** The bird budgets' thresholds and figures (metadata `operating_curve`); undefined for older models. */
  operatingCurve?: OperatingCurve;
  /** All metadata_props as stored (strings). */
  metadata: Record<string, string>;
  /** The views each image is run on (src/model/views.ts); ['identity'] for a model whose metadata names none. */
  views: ViewName[];
  /** One batched inference over N preprocessed tensors (each 3*32*32), each run as its V views in the same session
   *  call (N*V rows) and the probabilities averaged per image; results in input order. */
  classify(batch: Float32Array[]): Promise<Probabilities[]>;
  close(): Promise<void>;
}

export interface LoadModelOptions {
  path: string;
  provider: ProviderChoice;
  logger?: ModelLogger;
}

// onnxruntime prints a failed CUDA provider load natively on stderr, outside our log format; the reason is logged
// here instead, in one line. Its native logger is process-wide and fixed by the first session, so set it now.
ort.env.logLevel = 'fatal';

const INPUT_NAME = 'image';
const OUTPUT_NAME = 'probabilities';
const TENSOR_LENGTH = 3 * 32 * 32;

// onnxruntime-node 1.30 overflows its native stack (SIGSEGV) creating a session when the process command line is
// longer than about 29 KB. Refuse clearly below that instead of crashing.
const MAX_SAFE_CMDLINE_BYTES = 28_000;

export async function loadModel(opts: LoadModelOptions): Promise<Model> {
  const bytes = await readModelFile(opts.path);
  let info;
  try {
    info = readOnnxMetadata(bytes);
  } catch (err) {
    throw new ModelError(
      `model ${opts.path} is not a valid ONNX file (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (!info.hasGraph) throw new ModelError(`model ${opts.path} is not a valid ONNX file (it has no graph)`);
  const meta = parseModelMetadata(info.metadata, opts.path);
  const views = viewsOf(info.metadata, opts.path);

  guardCommandLineLength();
  const { session, provider } = await createSession(bytes, opts);
  if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(OUTPUT_NAME)) {
    await session.release();
    throw new ModelError(
      `model ${opts.path} has inputs [${session.inputNames.join(', ')}] and outputs ` +
        `[${session.outputNames.join(', ')}]; expected input '${INPUT_NAME}' and output '${OUTPUT_NAME}'`,
    );
  }

  try {
    checkShapes(session, opts.path);
  } catch (err) {
    await session.release();
    throw err;
  }

  const airplaneIndex = meta.classes.indexOf('airplane');
  const birdIndex = meta.classes.indexOf('bird');
  let queue: Promise<unknown> = Promise.resolve(); // one run at a time on the one session

  const classify = (batch: Float32Array[]): Promise<Probabilities[]> => {
    const run = queue.then(async () => {
      if (batch.length === 0) return [];
      // Row i*V + k is view k of image i. With views ['identity'] this is the one copy into the batch it always was.
      const count = views.length;
      const input = new Float32Array(batch.length * count * TENSOR_LENGTH);
      batch.forEach((tensor, i) => {
        if (tensor.length !== TENSOR_LENGTH)
          throw new Error(`tensor ${i} has ${tensor.length} values, expected ${TENSOR_LENGTH}`);
        views.forEach((view, k) => writeView(tensor, view, input, (i * count + k) * TENSOR_LENGTH));
      });
      const feeds = { [INPUT_NAME]: new ort.Tensor('float32', input, [batch.length * count, 3, 32, 32]) };
      const out = (await session.run(feeds))[OUTPUT_NAME];
      if (!out) throw new Error(`model returned no '${OUTPUT_NAME}' output`);
      const data = out.data as Float32Array;
      const width = meta.classes.length;
      return batch.map((_, i) => {
        let airplane = 0;
        let bird = 0;
        for (let k = 0; k < count; k++) {
          const row = (i * count + k) * width;
          airplane += data[row + airplaneIndex]!;
          bird += data[row + birdIndex]!;
        }
        return { airplane: airplane / count, bird: bird / count };
      });
    });
    queue = run.catch(() => undefined);
    return run;
  };

  // A test inference before the model is handed out: a file that loads but cannot run, or answers with anything
  // but two probabilities per image, is refused here rather than failing (or misdeciding) the first real shots.
  try {
    const [probe] = await classify([new Float32Array(TENSOR_LENGTH)]);
    const sum = probe!.airplane + probe!.bird;
    if (
      ![probe!.airplane, probe!.bird].every((p) => Number.isFinite(p) && p >= 0 && p <= 1) ||
      Math.abs(sum - 1) > 1e-3
    ) {
      throw new Error(`its output is not two probabilities summing to 1 (got ${probe!.airplane}, ${probe!.bird})`);
    }
  } catch (err) {
    await session.release();
    throw new ModelError(
      `model ${opts.path} failed its test inference: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!isIdentityOnly(views)) {
    opts.logger?.info(`model ${opts.path}: ${views.length} views (${views.join(', ')}), probabilities averaged`);
  }

  return {
    id: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
    path: opts.path,
    provider,
    classes: meta.classes,
    mean: meta.mean,
    std: meta.std,
    threshold: meta.threshold,
    ...(meta.operatingCurve ? { operatingCurve: meta.operatingCurve } : {}),
    metadata: info.metadata,
    views,
    classify,
    close: async () => {
      await queue;
      await session.release();
    },
  };
}

/** The input must take [N, 3, 32, 32] float32 images and the output give [N, 2] (dimensions the file leaves
 *  symbolic, like the batch size, pass). */
function checkShapes(session: ort.InferenceSession, path: string): void {
  const describe = (name: string, list: readonly ort.InferenceSession.ValueMetadata[]) => {
    const meta = list.find((m) => m.name === name);
    return meta !== undefined && meta.isTensor ? meta : undefined;
  };
  const fits = (shape: readonly (number | string)[], want: readonly (number | null)[]): boolean =>
    shape.length === want.length &&
    want.every((dim, i) => dim === null || typeof shape[i] !== 'number' || shape[i] === dim);
  const input = describe(INPUT_NAME, session.inputMetadata);
  const output = describe(OUTPUT_NAME, session.outputMetadata);
  if (input !== undefined && (input.type !== 'float32' || !fits(input.shape, [null, 3, 32, 32]))) {
    throw new ModelError(
      `model ${path}: input '${INPUT_NAME}' is ${input.type} [${input.shape.join(', ')}]; ` +
        'expected float32 [N, 3, 32, 32]',
    );
  }
  if (output !== undefined && (output.type !== 'float32' || !fits(output.shape, [null, 2]))) {
    throw new ModelError(
      `model ${path}: output '${OUTPUT_NAME}' is ${output.type} [${output.shape.join(', ')}]; ` +
        'expected float32 [N, 2]',
    );
  }
}

async function readModelFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (err as Error).message;
    throw new ModelError(`cannot read model ${path}: ${why}`);
  }
}

function guardCommandLineLength(): void {
  let length: number;
  try {
    length = readFileSync('/proc/self/cmdline').length;
  } catch {
    length = process.argv.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  }
  if (length > MAX_SAFE_CMDLINE_BYTES) {
    throw new ModelError(
      `this process's command line is ${length} bytes; onnxruntime-node crashes creating a ` +
        `session above about 29 KB: pass long lists of paths on standard input instead`,
    );
  }
}

/** Whether this machine has an NVIDIA GPU driver loaded (the precondition for trying CUDA under 'auto'). */
export function hasNvidiaGpu(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia');
}

async function createSession(
  bytes: Buffer,
  opts: LoadModelOptions,
): Promise<{ session: ort.InferenceSession; provider: Provider }> {
  const log = opts.logger;
  const tryCuda = opts.provider === 'cuda' || (opts.provider === 'auto' && hasNvidiaGpu());
  if (tryCuda) {
    try {
      const session = await newSession(bytes, 'cuda');
      log?.info(`model ${opts.path}: using the CUDA execution provider`);
      return { session, provider: 'cuda' };
    } catch (err) {
      const reason = cudaUnavailableReason(err);
      const line = `CUDA execution provider requested but not available (${reason}); falling back to CPU`;
      if (opts.provider === 'cuda') log?.warn(line);
      else
        log?.info(
          `provider auto: NVIDIA GPU found but the CUDA execution provider is not available (${reason}); using CPU`,
        );
    }
  } else if (opts.provider === 'auto') {
    log?.info('provider auto: no NVIDIA GPU found; using the CPU execution provider');
  }
  try {
    const session = await newSession(bytes, 'cpu');
    if (opts.provider === 'cpu') log?.info(`model ${opts.path}: using the CPU execution provider`);
    return { session, provider: 'cpu' };
  } catch (err) {
    throw new ModelError(
      `model ${opts.path} cannot be loaded by onnxruntime (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

function cudaUnavailableReason(err: unknown): string {
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  try {
    // The CUDA provider library sits beside the binding when onnxruntime-node was installed with CUDA.
    const binding = createRequire(import.meta.url).resolve(
      'onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
    );
    if (!existsSync(join(dirname(binding), 'libonnxruntime_providers_cuda.so'))) {
      return (
        `onnxruntime-node was installed without its CUDA provider libraries; reinstall with ` +
        `ONNXRUNTIME_NODE_INSTALL=cuda12 (${message})`
      );
    }
  } catch {
    // not the usual layout: the library's own message has to do
  }
  return message;
}

function newSession(bytes: Buffer, provider: Provider): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    // One intra-op thread: the default pool spin-waits between the daemon's small runs and costs ~20% throughput
    // of the decoding that runs beside it; a 32x32 batch gains nothing from more threads.
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Quiet onnxruntime's own stderr logging (a failed CUDA load prints a native error line); we log the reason.
    logSeverityLevel: provider === 'cuda' ? 4 : 3,
  });
}
