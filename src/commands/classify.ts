// `birdwatch classify [--json] [--config FILE] [--model FILE] [--provider P] [--threshold T] FILE...|-`:
// decide files with the same preprocessing and model as the daemon, moving nothing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIG_FLAG_OPTIONS, ConfigError, loadConfig, type Config } from '../config/index.js';
import { ImageError } from '../image/preprocess.js';
import { classifyFiles, type FileResult } from '../model/classify-files.js';
import { loadModel, ModelError, type Model } from '../model/load.js';
import { resolveThreshold, ThresholdError } from '../model/thresholds.js';
import { readPathList } from './path-list.js';

const USAGE = `usage: birdwatch classify [options] FILE... | -

Classify image files with the model (same preprocessing as the daemon); nothing is moved.
'-' reads newline-separated paths from standard input (NUL-separated with --null).

options:
  --json               one JSON object per line: {"path","label","probabilities":{"airplane","bird"},"move"}
                       or {"path","error","error_kind"} for a file that cannot be decided
  -z, --null           paths on standard input are separated by NUL bytes (find -print0)
  --config FILE        JSON config file (model, provider, threshold, limits)
  --model FILE         ONNX model (default models/birds-vs-airplanes.onnx)
  --provider P         auto | cuda | cpu (default auto)
  --threshold T        move when P(airplane) >= T (default: the config's threshold, else its birdBudget looked
                       up in the model's operating curve when set, else the model's threshold)
  --max-pixels N, --max-bytes N, --concurrency N, --batch-size N   as in the config
  -v, --verbose        log the provider choice and the model used on stderr
  -h, --help           this help

exit status: 0 all files decided, 1 some files could not be decided (each reported), 2 usage or config error`;

const OPTIONS = {
  ...CONFIG_FLAG_OPTIONS,
  json: { type: 'boolean' },
  null: { type: 'boolean', short: 'z' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

// onnxruntime-node crashes creating a session when the command line exceeds ~29 KB (see src/model/load.ts):
// with a long argument list, run again with the paths on stdin instead.
const REEXEC_ABOVE_BYTES = 16 * 1024;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length === 0) return usageError('no files given (use - to read paths from standard input)');
  if (positionals.filter((p) => p === '-').length > 1) return usageError("'-' (standard input) can be given only once");

  if (commandLineBytes() > REEXEC_ABOVE_BYTES && positionals.some((p) => p !== '-')) {
    return reexecWithPathsOnStdin(values, positionals);
  }

  let config: Config;
  let model: Model;
  const verbose = values.verbose === true;
  const logger = {
    info: (message: string) => {
      if (verbose) process.stderr.write(`birdwatch: ${message}\n`);
    },
    warn: (message: string) => {
      process.stderr.write(`birdwatch: warning: ${message}\n`);
    },
  };
  let threshold: number;
  try {
    config = loadConfig({ flags: values, require: { model: true } });
    model = await loadModel({ path: config.model, provider: config.provider, logger });
    // The daemon's rule at the config's level (no camera): --threshold, else an explicit birdBudget on the curve.
    threshold = resolveThreshold(config, null, model).threshold;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ModelError || err instanceof ThresholdError) {
      process.stderr.write(`birdwatch: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // `birdwatch classify ... | head`: a reader that goes away ends the run quietly, like any Unix filter.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  logger.info(`model ${model.path} (id ${model.id}, provider ${model.provider}), threshold ${threshold}`);

  const write = values.json
    ? (r: FileResult) => writeJson(r, threshold)
    : (r: FileResult) => writeTableRow(r, threshold);
  if (!values.json)
    process.stdout.write(`${'label'.padEnd(8)}  ${'P(airplane)'.padStart(11)}  ${'P(bird)'.padStart(7)}  move  path\n`);
  let counts;
  try {
    counts = await classifyFiles(
      pathSource(positionals, values.null === true),
      model,
      {
        limits: { maxPixels: config.maxPixels, maxBytes: config.maxBytes, followSymlinks: true },
        concurrency: config.concurrency,
        batchSize: config.batchSize,
      },
      write,
    );
  } finally {
    await model.close();
  }
  return counts.failed > 0 ? 1 : 0;
}

function usageError(message: string): number {
  process.stderr.write(`birdwatch: ${message}\n\n${USAGE}\n`);
  return 2;
}

async function* pathSource(positionals: string[], nulSeparated: boolean): AsyncGenerator<string> {
  for (const arg of positionals) {
    if (arg === '-') yield* readPathList(process.stdin, nulSeparated ? '\0' : '\n');
    else yield arg;
  }
}

function labelOf(r: FileResult): 'airplane' | 'bird' {
  return r.probabilities!.airplane > r.probabilities!.bird ? 'airplane' : 'bird';
}

function writeJson(r: FileResult, threshold: number): void {
  const line = r.probabilities
    ? {
        path: r.path,
        label: labelOf(r),
        probabilities: { airplane: r.probabilities.airplane, bird: r.probabilities.bird },
        move: r.probabilities.airplane >= threshold,
      }
    : { path: r.path, error: r.error!.message, error_kind: r.error instanceof ImageError ? r.error.kind : 'error' };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function writeTableRow(r: FileResult, threshold: number): void {
  // eslint-disable-next-line no-control-regex -- a path with control characters is shown quoted
  const shownPath = /[\u0000-\u001f\u007f]/.test(r.path) ? JSON.stringify(r.path) : r.path;
  if (!r.probabilities) {
    const kind = r.error instanceof ImageError ? r.error.kind : 'error';
    const blanks = `${'error'.padEnd(8)}  ${'-'.padStart(11)}  ${'-'.padStart(7)}  ${'-'.padEnd(4)}`;
    process.stdout.write(`${blanks}  ${shownPath}: ${kind}: ${r.error!.message}\n`);
    return;
  }
  const { airplane, bird } = r.probabilities;
  const move = airplane >= threshold ? 'yes' : 'no';
  const figures = `${labelOf(r).padEnd(8)}  ${airplane.toFixed(4).padStart(11)}  ${bird.toFixed(4).padStart(7)}`;
  process.stdout.write(`${figures}  ${move.padEnd(4)}  ${shownPath}\n`);
}

function commandLineBytes(): number {
  try {
    return readFileSync('/proc/self/cmdline').length;
  } catch {
    return process.argv.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
  }
}

// Run `birdwatch classify` again with the same options and every path on its stdin (NUL-separated, so any
// file name survives), forwarding its output and exit status.
async function reexecWithPathsOnStdin(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
): Promise<number> {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (key === 'null' || value === undefined || value === false) continue;
    flags.push(value === true ? `--${key}` : `--${key}=${value}`);
  }
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, cli, 'classify', ...flags, '--null', '-'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  child.stdin.on('error', () => undefined); // the child may exit early (config error): its status says why
  for await (const path of pathSource(positionals, values.null === true)) {
    if (!child.stdin.write(`${path}\0`))
      await Promise.race([new Promise((resolve) => child.stdin.once('drain', resolve)), exited]);
    if (child.exitCode !== null) break;
  }
  child.stdin.end();
  return exited;
}
