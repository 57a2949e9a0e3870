// The model the daemon decides with now, and replacing it while the daemon runs: a new file (renamed into place in
// the model's folder, or named on SIGHUP) is loaded and checked completely (loadModel) beside the serving one; only
// then does it become current. A file refused by the checks leaves the old model serving. Callers lease the model
// for one shot from its decode to its logged decision, so a shot is decided by exactly one model; a replaced model
// is closed once its last lease ends.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadModel, ModelError, type Model, type ModelLogger, type ProviderChoice } from './load.js';

export type ReloadResult = 'swapped' | 'unchanged' | 'refused';

export interface CurrentModelOptions {
  logger: ModelLogger & { error(message: string, meta?: Record<string, unknown>): unknown };
  /** Called with a loaded model before it is swapped in: an Error thrown refuses it (its message is the reason), as
   *  a model whose curve cannot answer the config's bird budgets is refused. */
  accept?: (next: Model) => void;
  /** Called after every swap (metrics, log lines). */
  onSwap?: (next: Model, previous: Model) => void;
}

/** A rename into place shows as one or two events; the file is loaded once they have settled this long. */
const RENAME_SETTLE_MS = 300;

export class CurrentModel {
  private serving: Model;
  private readonly leases = new Map<Model, number>();
  private readonly retired = new Set<Model>();
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: fs.FSWatcher | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    model: Model,
    provider: ProviderChoice,
    private readonly options: CurrentModelOptions,
  ) {
    this.serving = model;
    this.providerChoice = provider;
  }

  /** The model new shots are decided with. */
  get model(): Model {
    return this.serving;
  }

  /** The current model, kept open until release(): use it for one shot from decode to logged decision. */
  acquire(): Model {
    const model = this.serving;
    this.leases.set(model, (this.leases.get(model) ?? 0) + 1);
    return model;
  }

  release(model: Model): void {
    const left = (this.leases.get(model) ?? 1) - 1;
    if (left > 0) {
      this.leases.set(model, left);
      return;
    }
    this.leases.delete(model);
    if (this.retired.delete(model)) void this.closeQuietly(model);
  }

  /**
   * Loads `file` and, if it passes every check and differs from the serving model, makes it current. One reload at
   * a time (a second waits for the first). Never throws for a bad model: it is refused with one log line.
   */
  reload(file: string, provider: ProviderChoice, why: string): Promise<ReloadResult> {
    const run = this.queue.then(() => this.reloadNow(file, provider, why));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(file: string, provider: ProviderChoice, why: string): Promise<ReloadResult> {
    const { logger } = this.options;
    if (this.closed) return 'unchanged';
    let id: string;
    try {
      id = createHash('sha256')
        .update(await readFile(file))
        .digest('hex')
        .slice(0, 12);
    } catch (err) {
      logger.error(
        `model refused (${why}): cannot read ${file}: ${(err as Error).message}; ` +
          `still deciding with model ${this.serving.id}`,
      );
      return 'refused';
    }
    if (id === this.serving.id && provider === this.providerChoice) return 'unchanged';
    let next: Model;
    try {
      next = await loadModel({ path: file, provider, logger });
    } catch (err) {
      const reason = err instanceof ModelError ? err.message : `cannot load ${file}: ${(err as Error).message}`;
      logger.error(`model refused (${why}): ${reason}; still deciding with model ${this.serving.id}`);
      return 'refused';
    }
    try {
      this.options.accept?.(next);
    } catch (err) {
      await this.closeQuietly(next);
      logger.error(`model refused (${why}): ${(err as Error).message}; still deciding with model ${this.serving.id}`);
      return 'refused';
    }
    if (this.closed) {
      await this.closeQuietly(next);
      return 'unchanged';
    }
    const previous = this.serving;
    this.serving = next;
    this.providerChoice = provider;
    if (this.leases.has(previous)) this.retired.add(previous);
    else void this.closeQuietly(previous);
    this.options.onSwap?.(next, previous);
    return 'swapped';
  }

  /** The provider choice the serving model was loaded with (a reload with another choice is not 'unchanged'). */
  private providerChoice: ProviderChoice;

  /**
   * Watches the model's folder: a file renamed onto the model's name (the way to install a new model) is loaded.
   * Writes into the file in place are not acted on (a half-written model would only be refused); SIGHUP reloads.
   */
  watch(file: string, provider: () => ProviderChoice): void {
    this.unwatch();
    const name = path.basename(file);
    try {
      this.watcher = fs.watch(path.dirname(file), { persistent: false }, (event, changed) => {
        if (event !== 'rename' || changed !== name) return;
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => {
          if (fs.existsSync(file)) void this.reload(file, provider(), 'model file replaced');
        }, RENAME_SETTLE_MS);
      });
      this.watcher.on('error', (err) =>
        this.options.logger.warn(
          `cannot watch the model's folder any more (${err.message}): send SIGHUP to load a new model`,
        ),
      );
    } catch (err) {
      this.options.logger.warn(
        `cannot watch the model's folder ${path.dirname(file)} (${(err as Error).message}): ` +
          'send SIGHUP to load a new model',
      );
    }
  }

  unwatch(): void {
    clearTimeout(this.settleTimer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Stops watching, waits for a reload in progress, and closes every model (call once nothing is in flight). */
  async close(): Promise<void> {
    this.closed = true;
    this.unwatch();
    await this.queue;
    for (const model of [...this.retired, this.serving]) await this.closeQuietly(model);
    this.retired.clear();
  }

  private async closeQuietly(model: Model): Promise<void> {
    await model
      .close()
      .catch((err) => this.options.logger.warn(`closing model ${model.id} failed: ${(err as Error).message}`));
  }
}
