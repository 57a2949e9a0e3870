// Watches one camera's folder tree and reports candidate files; files present at start are reported too. inotify
// through TreeWatcher (one lstat per event, see there why not chokidar), or chokidar's polling for network shares
// where inotify sees no remote changes. A periodic check notices the folder itself being deleted and recreated
// (its watches die with it) and starts watching the new one.
import fs from 'node:fs';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from '../logger.js';
import { isIgnoredPath } from './ignore.js';
import { TreeWatcher } from './tree-watcher.js';

export interface FolderWatcherOptions {
  root: string;
  /** Folders below root that are never reported (the airplanes folders). */
  excluded: readonly string[];
  polling: boolean;
  pollIntervalMs: number;
  logger: Logger;
  /** A file appeared or changed (may be anything: the caller lstat-checks). */
  onFile: (file: string) => void;
  /** A file disappeared. */
  onGone: (file: string) => void;
  /** ms between checks that the root is still the same folder. */
  rootCheckMs?: number;
}

export class FolderWatcher {
  private watcher: FSWatcher | TreeWatcher | undefined;
  private rootIdentity: string | undefined;
  private rootTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private rootMissingLogged = false;

  constructor(private readonly options: FolderWatcherOptions) {}

  /** Starts watching; resolves once the initial scan has reported every file already there. */
  async start(): Promise<void> {
    await this.watch();
    this.rootTimer = setInterval(() => this.checkRoot(), this.options.rootCheckMs ?? 2000);
    this.rootTimer.unref();
  }

  /** Watching now: not closed, and the folder exists and has a live watcher. */
  get running(): boolean {
    return !this.closed && this.watcher !== undefined && this.rootIdentity !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.rootTimer);
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private async watch(): Promise<void> {
    const { root, logger } = this.options;
    this.rootIdentity = identity(root);
    this.watcher = this.options.polling ? await this.watchPolling() : await this.watchInotify();
    if (this.rootIdentity === undefined) {
      logger.warn('watched folder does not exist (yet): waiting for it', { folder: root });
      this.rootMissingLogged = true;
    }
  }

  private async watchInotify(): Promise<TreeWatcher> {
    const { root, excluded, logger, onFile, onGone } = this.options;
    const watcher = new TreeWatcher({ root, excluded, logger, onFile, onGone });
    await watcher.start();
    return watcher;
  }

  private async watchPolling(): Promise<FSWatcher> {
    const { root, excluded, logger } = this.options;
    const watcher = chokidar.watch(root, {
      persistent: true,
      ignoreInitial: false,
      followSymlinks: false,
      usePolling: true,
      interval: this.options.pollIntervalMs,
      binaryInterval: this.options.pollIntervalMs,
      // Completeness is ours to judge (size/mtime quiet window + structure), not a fixed delay.
      awaitWriteFinish: false,
      ignored: (file: string) => isIgnoredPath(root, file, excluded),
    });
    watcher.on('add', (file) => this.options.onFile(file));
    watcher.on('change', (file) => this.options.onFile(file));
    watcher.on('unlink', (file) => this.options.onGone(file));
    watcher.on('error', (err) => {
      logger.error('watcher error (the safety rescan covers missed files)', {
        folder: root,
        error: (err as Error).message,
        code: (err as NodeJS.ErrnoException).code,
      });
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    return watcher;
  }

  /** If the root was deleted and recreated (or appeared), watch the new folder. */
  private checkRoot(): void {
    if (this.closed) return;
    const now = identity(this.options.root);
    if (now === this.rootIdentity) return;
    if (now === undefined) {
      if (!this.rootMissingLogged)
        this.options.logger.warn('watched folder disappeared', { folder: this.options.root });
      this.rootMissingLogged = true;
      this.rootIdentity = undefined;
      return;
    }
    this.options.logger.info('watched folder (re)appeared: watching it again', { folder: this.options.root });
    this.rootMissingLogged = false;
    const old = this.watcher;
    this.watcher = undefined;
    void (async () => {
      await old?.close();
      if (!this.closed) await this.watch();
    })().catch((err) =>
      this.options.logger.error('cannot watch the folder again', {
        folder: this.options.root,
        error: (err as Error).message,
      }),
    );
  }
}

function identity(folder: string): string | undefined {
  try {
    const stat = fs.statSync(folder);
    return stat.isDirectory() ? `${stat.dev}:${stat.ino}` : undefined;
  } catch {
    return undefined;
  }
}
