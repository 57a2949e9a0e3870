// `birdwatch run`: the long-running service. Loads and checks the config, the model and the decision log, then
// watches the camera folders until SIGTERM/SIGINT, and shuts down cleanly within a few seconds.
import { parseArgs } from 'node:util';
import { CONFIG_FLAG_OPTIONS, ConfigError, loadConfig, type Config } from '../config/index.js';
import { Service } from '../daemon/service.js';
import { DbSchemaError, DecisionLog, openDatabase, retryTransient, type Db } from '../db/index.js';
import { createLogger, type Logger } from '../logger.js';
import { loadModel, ModelError, type Model } from '../model/load.js';

const USAGE = `usage: birdwatch run [--config FILE] [--watch DIR] [--airplanes DIR] [--db FILE] [--model FILE]
                     [--provider auto|cuda|cpu] [--threshold P] [--log-level error|warn|info|debug]
                     [--quiet-ms N] [--stall-ms N] [--rescan-interval-ms N] [--polling] [--poll-interval-ms N]
                     [--max-pixels N] [--max-bytes N] [--concurrency N] [--batch-size N]

Watches the camera upload folders, classifies each new shot and moves airplanes to the airplanes folder, logging
every decision. Flags override the config file, which overrides the defaults (var/blog, var/airplanes,
var/birdwatch.db, models/birds-vs-airplanes.onnx). Stops cleanly on SIGTERM or SIGINT.`;

/** How long in-flight files may take to finish on shutdown before they are abandoned (decided at next start). */
const SHUTDOWN_GRACE_MS = 3000;

export async function main(argv: string[]): Promise<number> {
  // Signals are caught from the first moment so a stop during start-up is clean too.
  let stopSignal: string | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => { wake = resolve; });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) {
      console.error(`birdwatch: second ${signal}: exiting at once`);
      process.exit(1);
    }
    stopSignal = signal;
    wake?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await run(argv, () => stopSignal, stopped);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

async function run(argv: string[], signalled: () => string | undefined, stopped: Promise<void>): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, options: { ...CONFIG_FLAG_OPTIONS, help: { type: 'boolean', short: 'h' } }, allowPositionals: false,
    }));
  } catch (err) {
    console.error(`birdwatch: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values['log-level'] === undefined && process.env.BIRDWATCH_LOG_LEVEL) {
    values['log-level'] = process.env.BIRDWATCH_LOG_LEVEL;
  }

  let config: Config;
  try {
    config = loadConfig({ flags: values, require: { folders: true, db: 'write', model: true } });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`birdwatch: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  logger.info('birdwatch starting', { pid: process.pid, node: process.version, config: JSON.stringify(config) });

  let model: Model;
  try {
    model = await loadModel({ path: config.model, provider: config.provider, logger });
  } catch (err) {
    if (err instanceof ModelError) {
      logger.error(err.message);
      console.error(`birdwatch: ${err.message}`);
      return 2;
    }
    throw err;
  }
  logger.info('model loaded', {
    model: model.path, model_id: model.id, provider: model.provider, model_threshold: model.threshold,
    thresholds: JSON.stringify(Object.fromEntries(config.cameras.map((camera) =>
      [camera.name, camera.threshold ?? config.threshold ?? model.threshold]))),
  });

  let db: Db | undefined;
  let service: Service | undefined;
  const abortOpen = new AbortController();
  void stopped.then(() => abortOpen.abort());
  try {
    try {
      db = await retryTransient(() => openDatabase(config.db), {
        what: `open the decision log ${config.db}`, logger, signal: abortOpen.signal,
      });
    } catch (err) {
      if (err instanceof DbSchemaError) {
        logger.error(err.message);
        console.error(`birdwatch: ${err.message}`);
        return 2;
      }
      if (signalled()) return 0;
      const message = `cannot open the decision log ${config.db}: ${(err as Error).message}`;
      logger.error(message);
      console.error(`birdwatch: ${message}`);
      return 1;
    }
    if (!signalled()) {
      service = new Service({ config, model, log: new DecisionLog(db), logger });
      await service.start();
      await stopped;
    }
    logger.info('shutting down', { signal: signalled() });
    await service?.stop(SHUTDOWN_GRACE_MS);
    return 0;
  } finally {
    await shutdown(logger, model, db);
  }
}

async function shutdown(logger: Logger, model: Model, db: Db | undefined): Promise<void> {
  await model.close().catch((err) => logger.warn('closing the model failed', { error: (err as Error).message }));
  try {
    db?.close();
  } catch (err) {
    logger.warn('closing the decision log failed', { error: (err as Error).message });
  }
  logger.info('stopped');
  // Whatever native work might still hold the event loop (a decode in flight), do not outstay a stop request.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}
