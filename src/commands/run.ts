// `birdwatch run`: the long-running service. Loads and checks the config, the model and the decision log, then
// watches the camera folders until SIGTERM/SIGINT, and shuts down cleanly within a few seconds. SIGHUP reloads the
// config and the model; a model file renamed into place is loaded too. Optionally serves /metrics and /healthz.
import { parseArgs } from 'node:util';
import {
  CONFIG_FLAG_OPTIONS,
  ConfigError,
  CurrentConfig,
  LOOP_FLAG_OPTIONS,
  loadConfig,
  type Config,
} from '../config/index.js';
import { DaemonMetrics } from '../daemon/metrics.js';
import { MetricsServer } from '../daemon/metrics-server.js';
import { Service } from '../daemon/service.js';
import { SystemdNotifier } from '../daemon/watchdog.js';
import { DbSchemaError, DecisionLog, openDatabase, recordEvent, retryTransient, type Db } from '../db/index.js';
import { SecretError, startEventDelivery, type DeliveryWorker } from '../events/index.js';
import { createLogger, type Logger } from '../logger.js';
import { CurrentModel } from '../model/current.js';
import { loadModel, ModelError, type Model } from '../model/load.js';
import { resolveThresholds, thresholdLogFields, ThresholdError } from '../model/thresholds.js';

const USAGE = `usage: birdwatch run [--config FILE] [--watch DIR] [--airplanes DIR] [--db FILE] [--model FILE]
                     [--provider auto|cuda|cpu] [--threshold P] [--log-level error|warn|info|debug]
                     [--quiet-ms N] [--stall-ms N] [--rescan-interval-ms N] [--polling] [--poll-interval-ms N]
                     [--max-pixels N] [--max-bytes N] [--concurrency N] [--batch-size N]
                     [--metrics-listen HOST:PORT] [--retention-days N] [--bird-budget SHARE]

Watches the camera upload folders, classifies each new shot and moves airplanes to the airplanes folder, logging
every decision. Flags override the config file, which overrides the defaults (var/blog, var/airplanes,
var/birdwatch.db, models/birds-vs-airplanes.onnx). Stops cleanly on SIGTERM or SIGINT. SIGHUP reloads the config
file and the model; a new model file renamed onto the model's path is loaded too (checked first; a bad one is
refused and the old one keeps deciding). --metrics-listen serves GET /metrics and GET /healthz.
--bird-budget (config birdBudget) runs cameras without a threshold of their own at the threshold the model's
operating curve gives for that share of birds moved.`;

/** How long in-flight files may take to finish on shutdown before they are abandoned (decided at next start). */
const SHUTDOWN_GRACE_MS = 3000;

export async function main(argv: string[]): Promise<number> {
  // Signals are caught from the first moment so a stop during start-up is clean too.
  let stopSignal: string | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) {
      console.error(`birdwatch: second ${signal}: exiting at once`);
      process.exit(1);
    }
    stopSignal = signal;
    wake?.();
  };
  // SIGHUP before the service runs is remembered and applied once it does (its default would kill the process).
  const hangups = { pending: false, handler: undefined as (() => void) | undefined };
  const onHangup = (): void => {
    if (hangups.handler) hangups.handler();
    else hangups.pending = true;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangup);
  try {
    return await run(argv, () => stopSignal, stopped, hangups);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
  }
}

async function run(
  argv: string[],
  signalled: () => string | undefined,
  stopped: Promise<void>,
  hangups: { pending: boolean; handler: (() => void) | undefined },
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...CONFIG_FLAG_OPTIONS,
        'bird-budget': LOOP_FLAG_OPTIONS['bird-budget'],
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
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
  // A reload does not check the database folder: the db path cannot change live, so a new one is refused with a
  // warning by Service.reconfigure and the rest applied (a start-up check would refuse the whole reload).
  const load = (atStart = false): Config =>
    loadConfig({
      flags: values,
      require: { folders: true, model: true, ...(atStart ? { db: 'write' as const } : {}) },
    });

  let config: Config;
  try {
    config = load(true);
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
  let thresholds;
  try {
    thresholds = resolveThresholds(config, model);
  } catch (err) {
    if (!(err instanceof ThresholdError)) throw err;
    await model.close();
    logger.error(err.message);
    console.error(`birdwatch: ${err.message}`);
    return 2;
  }
  logger.info('model loaded', {
    model: model.path,
    model_id: model.id,
    provider: model.provider,
    model_threshold: model.threshold,
    thresholds: JSON.stringify(Object.fromEntries(thresholds.map((t) => [t.camera, t.threshold]))),
  });
  for (const resolved of thresholds) logger.info('threshold', thresholdLogFields(resolved, model));

  // The configuration in force from here on: a reload hands a new one over (the closures below read it each time).
  const current = new CurrentConfig(config);
  let service: Service | undefined;
  let events: DeliveryWorker | undefined;
  let db: Db | undefined;
  const metrics =
    config.metricsListen === undefined
      ? undefined
      : new DaemonMetrics({
          filesPending: () => service?.filesPending() ?? 0,
          eventsPending: () => events?.pending() ?? new Map(),
        });
  metrics?.modelInUse(model);
  const models = new CurrentModel(model, config.provider, {
    logger,
    // A new model must answer the config's bird budgets from its own curve (else it is refused, the old one serves).
    accept: (next) => {
      resolveThresholds(current.config, next);
    },
    onSwap: (next, previous) => {
      metrics?.modelInUse(next);
      logger.info('model swapped: new shots are decided by the new model', {
        model: next.path,
        model_id: next.id,
        previous_model_id: previous.id,
        provider: next.provider,
        model_threshold: next.threshold,
      });
      for (const resolved of resolveThresholds(current.config, next)) {
        logger.info('threshold', thresholdLogFields(resolved, next));
      }
      // Told to the club like any change (the outbox); a log that cannot take it now only costs the event.
      try {
        if (db !== undefined)
          recordEvent(db, {
            type: 'model-swap',
            camera: null,
            payload: {
              model_id: next.id,
              previous_model_id: previous.id,
              provider: next.provider,
              model_threshold: next.threshold,
            },
          });
      } catch (err) {
        logger.warn('model swap event not recorded', { error: (err as Error).message });
      }
    },
  });
  const notifier = new SystemdNotifier(logger);

  let server: MetricsServer | undefined;
  const abortOpen = new AbortController();
  void stopped.then(() => abortOpen.abort());
  try {
    try {
      db = await retryTransient(() => openDatabase(config.db), {
        what: `open the decision log ${config.db}`,
        logger,
        signal: abortOpen.signal,
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
      try {
        events = startEventDelivery({
          current,
          db,
          logger,
          onOutcome: (sink, outcome, count) => metrics?.eventDelivery(sink, outcome, count),
        });
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        logger.error(err.message);
        console.error(`birdwatch: ${err.message}`);
        return 2;
      }
      const running = new Service({ config: current, models, log: new DecisionLog(db), logger, metrics });
      service = running;
      if (config.metricsListen !== undefined && metrics !== undefined) {
        server = new MetricsServer({ ...config.metricsListen, metrics, health: () => running.health(), logger });
        try {
          const address = await server.listen();
          logger.info('serving metrics', {
            url: `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}/metrics`,
          });
        } catch (err) {
          const message =
            `cannot listen on ${config.metricsListen.host}:${config.metricsListen.port} for metrics: ` +
            `${(err as Error).message}`;
          logger.error(message);
          console.error(`birdwatch: ${message}`);
          server = undefined;
          return 2;
        }
      }
      await running.start();
      models.watch(config.model, () => current.config.provider);
      const worker = events;
      hangups.handler = () =>
        void reload(() => load(), current, running, models, logger).then(() =>
          worker.camerasChanged(current.config.cameras),
        );
      if (hangups.pending) hangups.handler();
      notifier.ready();
      await stopped;
    }
    logger.info('shutting down', { signal: signalled() });
    notifier.stopping();
    hangups.handler = undefined;
    await service?.stop(SHUTDOWN_GRACE_MS);
    return 0;
  } finally {
    // After the service: its last decisions' events wait in the outbox for the next start.
    await events
      ?.stop()
      .catch((err) => logger.warn('stopping event delivery failed', { error: (err as Error).message }));
    await server?.close();
    await shutdown(logger, models, db);
  }
}

/** SIGHUP: the config file again (a bad one is refused with one line, the old one kept), then the model. */
let reloading: Promise<void> = Promise.resolve();
function reload(
  load: () => Config,
  current: CurrentConfig,
  service: Service,
  models: CurrentModel,
  logger: Logger,
): Promise<void> {
  reloading = reloading
    .then(async () => {
      logger.info('SIGHUP: reloading the config and the model');
      let next: Config;
      try {
        next = load();
        // Bird budgets are looked up in the serving model's curve (a new model file is checked against the new config).
        resolveThresholds(next, models.model);
      } catch (err) {
        if (!(err instanceof ConfigError) && !(err instanceof ThresholdError)) throw err;
        logger.error(`config reload refused: ${err.message}; the running config is kept`);
        return;
      }
      const modelPath = next.model;
      await service.reconfigure(next);
      const result = await models.reload(modelPath, next.provider, 'SIGHUP');
      if (result === 'swapped' || result === 'unchanged') {
        if (current.config.model !== modelPath) models.watch(modelPath, () => current.config.provider);
        current.replace({ ...current.config, model: modelPath, provider: next.provider });
      }
      if (result === 'unchanged') logger.info('model unchanged', { model_id: models.model.id });
    })
    .catch((err) => {
      logger.error('reload failed', { error: (err as Error).stack ?? String(err) });
    });
  return reloading;
}

async function shutdown(logger: Logger, models: CurrentModel, db: Db | undefined): Promise<void> {
  await models.close().catch((err) => logger.warn('closing the model failed', { error: (err as Error).message }));
  try {
    db?.close();
  } catch (err) {
    logger.warn('closing the decision log failed', { error: (err as Error).message });
  }
  logger.info('stopped');
  // Whatever native work might still hold the event loop (a decode in flight), do not outstay a stop request.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}
