// The running service: reconciles what a crash left behind, then watches every camera folder and feeds the files
// to the tracker; a periodic safety rescan catches anything the OS did not report. It also reports each decision
// to the metrics, answers the health check, applies a reloaded configuration (cameras, thresholds, log level) and
// runs quarantine retention. stop() shuts it all down.
import { AutoCalibrator } from '../calibrate/auto.js';
import type { CurrentConfig } from '../config/current.js';
import { RESTART_KEYS, SETTINGS, type Camera, type Config } from '../config/schema.js';
import type { DecisionLog } from '../db/decision-log.js';
import { retryTransient } from '../db/transient.js';
import { reconcilePendingMoves, removeLeftoverTemps, tempsInUse } from '../fs/reconcile.js';
import type { Logger } from '../logger.js';
import type { CurrentModel } from '../model/current.js';
import { resolveThresholds, thresholdLogFields, ThresholdError, type ResolvedThreshold } from '../model/thresholds.js';
import { applyRetention } from '../retention/retention.js';
import { FolderWatcher } from '../watch/folder-watcher.js';
import { walkTree } from '../watch/walk.js';
import { Batcher } from './batcher.js';
import { FileDecider } from './decide.js';
import { FileTracker } from './file-tracker.js';
import type { DaemonMetrics } from './metrics.js';
import type { Health } from './metrics-server.js';
import { ReadBuffers } from './read-buffers.js';
import { Slots } from './slots.js';

/** Read buffers up to this size are reused (camera JPEGs are 0.3-8 MB); a larger file gets its own. */
const LARGEST_REUSED_BUFFER = 8 * 1024 * 1024;
/** How often quarantine retention runs (when a retentionDays is set); also once right after start. */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** The health check's database write is repeated at most this often (a scrape every second costs one write). */
const HEALTH_PROBE_MS = 1000;

export interface ServiceDeps {
  /** The configuration in force: reconfigure() hands a new one over, the decider and watchers read it. */
  config: CurrentConfig;
  models: CurrentModel;
  log: DecisionLog;
  logger: Logger;
  metrics?: DaemonMetrics;
}

export class Service {
  private readonly abort = new AbortController();
  private readonly tracker: FileTracker;
  private readonly watchers = new Map<string, FolderWatcher>();
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanning: Promise<void> | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retaining: Promise<void> | undefined;
  private readonly calibrator: AutoCalibrator;
  private calibrationTimer: NodeJS.Timeout | undefined;
  private lastProbe: { at: number; problem: string | undefined } | undefined;
  private stopped = false;
  /** start() has resolved: every configured camera's watcher was started (until then /healthz says 'starting'). */
  private started = false;

  constructor(private readonly deps: ServiceDeps) {
    const { concurrency, batchSize } = deps.config.config;
    const decider = new FileDecider({
      ...deps,
      batcher: new Batcher(batchSize),
      slots: new Slots(concurrency),
      signal: this.abort.signal,
      buffers: new ReadBuffers(concurrency, LARGEST_REUSED_BUFFER),
    });
    // Every logged decision reaches the metrics here, once (the Outcome carries its row).
    const evaluate: typeof decider.evaluate = async (file, entry) => {
      const outcome = await decider.evaluate(file, entry);
      if (outcome.kind !== 'wait' && outcome.decision !== undefined) deps.metrics?.decided(outcome.decision);
      return outcome;
    };
    // `concurrency` files decode at once (the decider's slots); a batch's worth more may be past their decode,
    // waiting for the model, the database or the move, so the decode slots never sit idle behind them.
    this.tracker = new FileTracker(concurrency + batchSize, evaluate, deps.logger);
    this.calibrator = new AutoCalibrator({
      db: deps.log.db,
      config: () => deps.config.config,
      models: deps.models,
      logger: deps.logger,
      apply: (calibrated) => decider.useCalibrated(calibrated),
    });
  }

  /** The configuration in force (replaced whole by a reload). */
  private get config(): Config {
    return this.deps.config.config;
  }

  /** Every folder a camera moves airplanes into: never watched, even when nested in a watched tree. */
  private get airplaneFolders(): string[] {
    return this.config.cameras.map((camera) => camera.airplanes);
  }

  async start(): Promise<void> {
    const { logger, log } = this.deps;
    const { config } = this;
    await this.reconcile('start');
    this.calibrator.check(true); // resumes the thresholds calibrated before, or calibrates from the labels there
    this.scheduleCalibration();
    const inUse = tempsInUse(log);
    for (const camera of config.cameras) {
      await removeLeftoverTemps(camera.airplanes, inUse, logger);
      await removeLeftoverTemps(camera.watch, inUse, logger);
    }
    for (const camera of config.cameras) await this.startWatching(camera);
    this.scheduleRescans();
    this.retentionTimer = setInterval(() => this.retentionPass(), RETENTION_INTERVAL_MS);
    logger.info('ready', { files_known: this.tracker.counts().known });
    this.retentionPass();
    this.started = true;
  }

  private async startWatching(camera: Camera): Promise<void> {
    const { logger } = this.deps;
    const { config } = this;
    const current = this.deps.config;
    const watcher = new FolderWatcher({
      root: camera.watch,
      // Read at each event: a camera added later adds its airplanes folder here too.
      get excluded() {
        return current.config.cameras.map((c) => c.airplanes);
      },
      polling: config.polling,
      pollIntervalMs: config.pollIntervalMs,
      logger,
      onFile: (file) => this.tracker.notice(file, camera),
      onGone: (file) => this.tracker.forget(file),
    });
    this.watchers.set(camera.name, watcher);
    if (this.deps.metrics !== undefined) this.deps.metrics.cameraAdded(camera.name, this.lastDecisionMs(camera.name));
    await watcher.start();
    logger.info('watching', {
      camera: camera.name,
      folder: camera.watch,
      airplanes: camera.airplanes,
      mode: config.polling ? 'polling' : 'inotify',
    });
  }

  private scheduleRescans(): void {
    clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    if (this.config.rescanIntervalMs > 0) {
      this.rescanTimer = setInterval(() => {
        this.rescanning ??= this.rescan().finally(() => {
          this.rescanning = undefined;
        });
      }, this.config.rescanIntervalMs);
    }
  }

  /** Looks for new review labels (or a new model) every calibration.checkMs: off the per-shot path. */
  private scheduleCalibration(): void {
    clearInterval(this.calibrationTimer);
    this.calibrationTimer = setInterval(() => this.calibrator.check(), this.config.calibration.checkMs);
  }

  /** Stops watching, lets the files in progress finish (up to graceMs), and abandons the rest cleanly. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.rescanTimer);
    clearInterval(this.retentionTimer);
    clearInterval(this.calibrationTimer);
    await Promise.all([...this.watchers.values()].map((watcher) => watcher.close()));
    const finished = await this.tracker.stop(graceMs);
    this.abort.abort(); // database retries still waiting give up; their files are decided at the next start
    if (!finished) this.deps.logger.warn('shutdown: abandoned files still in progress (decided at next start)');
    await this.rescanning?.catch(() => undefined);
    await this.retaining?.catch(() => undefined);
  }

  /** The camera's latest decision in the log (for the metrics); a database error only costs the metric a value. */
  private lastDecisionMs(camera: string): number | undefined {
    try {
      return this.deps.log.lastDecisionTimeMs(camera);
    } catch (err) {
      this.deps.logger.warn("cannot read the camera's last decision time for the metrics", {
        camera,
        error: (err as Error).message,
      });
      return undefined;
    }
  }

  /** Files noticed and not yet decided (for the metrics). */
  filesPending(): number {
    return this.tracker.counts().pending;
  }

  /**
   * Healthy when start() has resolved, every configured camera's watcher is running and the database takes a write.
   * During start-up (reconciliation, the first scans) it is 'starting', each camera not watched yet a problem.
   */
  health(): Health {
    const problems: string[] = [];
    const cameras: Record<string, string> = {};
    for (const { name } of this.config.cameras) {
      const running = this.watchers.get(name)?.running === true;
      cameras[name] = running ? 'watching' : this.started ? 'not watching' : 'starting';
      if (running) continue;
      problems.push(
        this.started
          ? `camera '${name}': its watched folder is missing or not being watched`
          : `camera '${name}': not watched yet (starting up)`,
      );
    }
    const now = Date.now();
    if (this.lastProbe === undefined || now - this.lastProbe.at >= HEALTH_PROBE_MS) {
      let problem: string | undefined;
      try {
        this.deps.log.probeWrite();
      } catch (err) {
        const code = (err as { code?: string }).code;
        // Another birdwatch command holding the write lock for a moment is not a fault of the database.
        if (!code?.startsWith('SQLITE_BUSY')) problem = `the database does not take writes: ${(err as Error).message}`;
      }
      this.lastProbe = { at: now, problem };
    }
    if (this.lastProbe.problem !== undefined) problems.push(this.lastProbe.problem);
    if (this.stopped) problems.push('shutting down');
    else if (!this.started) problems.push('starting up');
    const model = this.deps.models.model;
    const status = this.stopped ? 'stopping' : !this.started ? 'starting' : problems.length === 0 ? 'ok' : 'failing';
    return {
      ok: problems.length === 0,
      status,
      problems,
      cameras,
      database: this.lastProbe.problem ? 'failing' : 'ok',
      model_id: model.id,
      provider: model.provider,
      files_pending: this.filesPending(),
    };
  }

  /**
   * Applies a reloaded configuration: cameras added or removed (watchers started or stopped), thresholds, quiet
   * and stall times, limits, retention, rescan interval and log level. What cannot change without a restart
   * (declared `reload: 'restart'`) is refused with a warning each and kept; the rest is handed over as a new config.
   * The model is the caller's (CurrentModel.reload): its path and provider are kept until it hands them over.
   */
  async reconfigure(next: Config): Promise<void> {
    const { logger } = this.deps;
    const { config } = this;
    if (this.stopped) return;
    // The running values of what needs a restart, and the model path and provider until the caller hands them over.
    const kept: Record<string, unknown> = { model: config.model, provider: config.provider };
    for (const key of RESTART_KEYS) {
      if (JSON.stringify(config[key]) !== JSON.stringify(next[key])) {
        logger.warn(
          `config reload: ${SETTINGS[key].title ?? key} cannot change while running (restart to apply); ` +
            `keeping ${JSON.stringify(config[key])}`,
          { key, wanted: JSON.stringify(next[key]) },
        );
      }
      if (config[key] !== undefined) kept[key] = config[key];
    }
    const wanted = new Map(next.cameras.map((camera) => [camera.name, camera]));
    const removed = config.cameras.filter((camera) => {
      const other = wanted.get(camera.name);
      return other === undefined || other.watch !== camera.watch || other.airplanes !== camera.airplanes;
    });
    for (const camera of removed) {
      await this.watchers.get(camera.name)?.close();
      this.watchers.delete(camera.name);
      this.tracker.dropCamera(camera.name);
      if (!wanted.has(camera.name)) this.deps.metrics?.cameraRemoved(camera.name);
      logger.info('config reload: camera removed', { camera: camera.name, folder: camera.watch });
    }
    // A new config, not an edit: files already known to the tracker see their camera's new threshold because the
    // decider looks cameras up by name in the config in force.
    const live = Object.entries(next).filter(([key]) => !(RESTART_KEYS as readonly string[]).includes(key));
    this.deps.config.replace({ ...Object.fromEntries(live), ...kept } as unknown as Config);
    const { cameras } = this.config;
    logger.level = this.config.logLevel;
    const added = cameras.filter((camera) => !this.watchers.has(camera.name));
    const rescanChanged = config.rescanIntervalMs !== next.rescanIntervalMs;
    const calibrationCheckChanged = config.calibration.checkMs !== next.calibration.checkMs;
    for (const camera of added) {
      logger.info('config reload: camera added', { camera: camera.name, folder: camera.watch });
      await this.startWatching(camera);
    }
    if (rescanChanged) this.scheduleRescans();
    if (calibrationCheckChanged) this.scheduleCalibration();
    this.calibrator.check(true); // pinned cameras, budgets or the confidence may have changed
    // The caller checked that the serving model's curve answers every budget (a ThresholdError refuses the reload);
    // only a model swapped in since then, checked against the old config, can fail here.
    const model = this.deps.models.model;
    let thresholds: ResolvedThreshold[] = [];
    try {
      thresholds = resolveThresholds(this.config, model);
    } catch (err) {
      if (!(err instanceof ThresholdError)) throw err;
      logger.error(`config reloaded, but ${err.message}: model ${model.id} decides at its own threshold there`);
    }
    logger.info('config reloaded', {
      cameras: cameras.map((c) => c.name).join(','),
      log_level: this.config.logLevel,
      thresholds: JSON.stringify(Object.fromEntries(thresholds.map((t) => [t.camera, t.threshold]))),
    });
    for (const resolved of thresholds) logger.info('threshold', thresholdLogFields(resolved, model));
  }

  /** One retention pass now (if any camera has a retentionDays and none is running). */
  retentionPass(): void {
    const { log, logger } = this.deps;
    const { config } = this;
    if (this.stopped || this.retaining !== undefined) return;
    if (config.retentionDays === undefined && config.cameras.every((c) => c.retentionDays === undefined)) return;
    this.retaining = retryTransient(() => applyRetention(log, config, { logger }), {
      what: 'quarantine retention',
      logger,
      signal: this.abort.signal,
    })
      .then((report) => {
        if (report.removed.length + report.skipped.length + report.finished > 0) {
          logger.info('retention pass done', {
            removed: report.removed.length,
            skipped: report.skipped.length,
            finished_interrupted: report.finished,
          });
        }
        for (const item of report.skipped) {
          // A shot already gone (deleted by hand) is no anomaly; anything else refused is worth a warning each pass.
          const level = item.reason.startsWith('no longer there') ? 'debug' : 'warn';
          logger.log(level, 'retention: not removed', { path: item.path, reason: item.reason });
        }
      })
      .catch((err) => {
        logger.error('retention pass failed; tried again at the next pass', {
          error: (err as Error).message,
        });
      })
      .finally(() => {
        this.retaining = undefined;
      });
  }

  /** Walks every watched tree: files whose events were lost are picked up; vanished ones are forgotten. */
  private async rescan(): Promise<void> {
    const { logger } = this.deps;
    const { config } = this;
    const started = Date.now();
    await this.reconcile('rescan');
    for (const camera of config.cameras) {
      const present = new Set<string>();
      try {
        for await (const file of walkTree(camera.watch, this.airplaneFolders)) {
          if (this.stopped) return;
          present.add(file);
          this.tracker.notice(file, camera);
        }
      } catch (err) {
        logger.warn('rescan failed', { folder: camera.watch, error: (err as Error).message });
        continue;
      }
      this.tracker.prune(present, camera.name);
    }
    logger.debug('rescan done', { ms: Date.now() - started, ...this.tracker.counts() });
  }

  /** Resolves move intents of crashed processes (at start: our own previous run). */
  private async reconcile(when: string): Promise<void> {
    try {
      const summary = await retryTransient(() => reconcilePendingMoves(this.deps.log, this.deps.logger), {
        what: 'reconcile interrupted moves',
        logger: this.deps.logger,
        signal: this.abort.signal,
      });
      if (summary.completed + summary.dropped > 0)
        this.deps.logger.info('reconciled interrupted moves', { when, ...summary });
    } catch (err) {
      if (when === 'start') throw err;
      this.deps.logger.warn('reconciliation failed; retried at the next rescan', { error: (err as Error).message });
    }
  }
}
