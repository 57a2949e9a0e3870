// The running service: reconciles what a crash left behind, then watches every camera folder and feeds the files
// to the tracker; a periodic safety rescan catches anything the OS did not report. stop() shuts it all down.
import type { Config } from '../config/schema.js';
import type { DecisionLog } from '../db/decision-log.js';
import { retryTransient } from '../db/transient.js';
import { reconcilePendingMoves, removeLeftoverTemps, tempsInUse } from '../fs/reconcile.js';
import type { Logger } from '../logger.js';
import type { Model } from '../model/load.js';
import { FolderWatcher } from '../watch/folder-watcher.js';
import { walkTree } from '../watch/walk.js';
import { Batcher } from './batcher.js';
import { FileDecider } from './decide.js';
import { FileTracker } from './file-tracker.js';
import { ReadBuffers } from './read-buffers.js';
import { Slots } from './slots.js';

/** Read buffers up to this size are reused (camera JPEGs are 0.3-8 MB); a larger file gets its own. */
const LARGEST_REUSED_BUFFER = 8 * 1024 * 1024;

export interface ServiceDeps {
  config: Config;
  model: Model;
  log: DecisionLog;
  logger: Logger;
}

export class Service {
  private readonly abort = new AbortController();
  private readonly tracker: FileTracker;
  private readonly watchers: FolderWatcher[] = [];
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanning: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: ServiceDeps) {
    const { concurrency, batchSize } = deps.config;
    const decider = new FileDecider({
      ...deps, batcher: new Batcher(deps.model, batchSize), slots: new Slots(concurrency), signal: this.abort.signal,
      buffers: new ReadBuffers(concurrency, LARGEST_REUSED_BUFFER),
    });
    // `concurrency` files decode at once (the decider's slots); a batch's worth more may be past their decode,
    // waiting for the model, the database or the move, so the decode slots never sit idle behind them.
    this.tracker = new FileTracker(concurrency + batchSize, decider.evaluate, deps.logger);
  }

  /** Every folder a camera moves airplanes into: never watched, even when nested in a watched tree. */
  private get airplaneFolders(): string[] {
    return this.deps.config.cameras.map((camera) => camera.airplanes);
  }

  async start(): Promise<void> {
    const { config, logger, log } = this.deps;
    await this.reconcile('start');
    const inUse = tempsInUse(log);
    for (const camera of config.cameras) {
      await removeLeftoverTemps(camera.airplanes, inUse, logger);
      await removeLeftoverTemps(camera.watch, inUse, logger);
    }
    for (const camera of config.cameras) {
      const watcher = new FolderWatcher({
        root: camera.watch,
        excluded: this.airplaneFolders,
        polling: config.polling,
        pollIntervalMs: config.pollIntervalMs,
        logger,
        onFile: (file) => this.tracker.notice(file, camera),
        onGone: (file) => this.tracker.forget(file),
      });
      this.watchers.push(watcher);
      await watcher.start();
      logger.info('watching', { camera: camera.name, folder: camera.watch, airplanes: camera.airplanes,
        mode: config.polling ? 'polling' : 'inotify' });
    }
    if (config.rescanIntervalMs > 0) {
      this.rescanTimer = setInterval(() => {
        this.rescanning ??= this.rescan().finally(() => { this.rescanning = undefined; });
      }, config.rescanIntervalMs);
    }
    logger.info('ready', { files_known: this.tracker.counts().known });
  }

  /** Stops watching, lets the files in progress finish (up to graceMs), and abandons the rest cleanly. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.rescanTimer);
    await Promise.all(this.watchers.map((watcher) => watcher.close()));
    const finished = await this.tracker.stop(graceMs);
    this.abort.abort(); // database retries still waiting give up; their files are decided at the next start
    if (!finished) this.deps.logger.warn('shutdown: abandoned files still in progress (decided at next start)');
    await this.rescanning?.catch(() => undefined);
  }

  /** Walks every watched tree: files whose events were lost are picked up; vanished ones are forgotten. */
  private async rescan(): Promise<void> {
    const { config, logger } = this.deps;
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
      const summary = await retryTransient(() => reconcilePendingMoves(this.deps.log, this.deps.logger),
        { what: 'reconcile interrupted moves', logger: this.deps.logger, signal: this.abort.signal });
      if (summary.completed + summary.dropped > 0) this.deps.logger.info('reconciled interrupted moves', { when, ...summary });
    } catch (err) {
      if (when === 'start') throw err;
      this.deps.logger.warn('reconciliation failed; retried at the next rescan', { error: (err as Error).message });
    }
  }
}
