// The per-path state map and the work queue: a path is queued at most once, at most `concurrency` files are being
// read/decoded at a time (bounded memory and open files however many arrive), and every other path waits as a
// small map entry (a few hundred bytes), with a timer only while its quiet window or stall time runs.
import type { Camera } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { newEntry, type FileEntry, type Outcome } from './file-state.js';

export type Evaluate = (file: string, entry: FileEntry) => Promise<Outcome>;

export class FileTracker {
  private readonly entries = new Map<string, FileEntry>();
  private readonly queue = new Set<string>();
  private active = 0;
  private stopping = false;
  private idle: (() => void) | undefined;

  constructor(
    private readonly concurrency: number,
    private readonly evaluate: Evaluate,
    private readonly logger: Logger,
  ) {}

  /** A watcher or the rescan saw this path (created, changed, or just present). */
  notice(file: string, camera: Camera): void {
    if (this.stopping) return;
    let entry = this.entries.get(file);
    if (entry === undefined) {
      entry = newEntry(camera);
      this.entries.set(file, entry);
    }
    switch (entry.phase) {
      case 'queued':
        return;
      case 'working':
        entry.dirty = true;
        return;
      case 'waiting':
        clearTimeout(entry.timer);
        entry.timer = undefined;
        break;
      default:
        break;
    }
    this.enqueue(file, entry);
  }

  /** The path disappeared (moved away or deleted). */
  forget(file: string): void {
    const entry = this.entries.get(file);
    if (entry === undefined) return;
    if (entry.phase === 'working') {
      entry.dirty = true; // the worker finds it gone itself
      return;
    }
    clearTimeout(entry.timer);
    this.queue.delete(file);
    this.entries.delete(file);
  }

  /** Drops settled entries for paths not in `present` (their unlink events were lost). */
  prune(present: Set<string>, cameraName: string): void {
    for (const [file, entry] of this.entries) {
      if (entry.camera.name === cameraName && entry.phase === 'settled' && !present.has(file))
        this.entries.delete(file);
    }
  }

  /** Forgets every path of a camera that is no longer configured (a file being decided now still finishes). */
  dropCamera(cameraName: string): void {
    for (const [file, entry] of this.entries) {
      if (entry.camera.name !== cameraName) continue;
      clearTimeout(entry.timer);
      this.queue.delete(file);
      this.entries.delete(file);
    }
  }

  /** pending: noticed and not settled (queued, being decided, or waiting for a quiet window or a retry). */
  counts(): { known: number; queued: number; active: number; pending: number } {
    let pending = 0;
    for (const entry of this.entries.values()) if (entry.phase !== 'settled') pending++;
    return { known: this.entries.size, queued: this.queue.size, active: this.active, pending };
  }

  /** Stop taking work; resolves when the files in progress are done or `timeoutMs` passed. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.queue.clear();
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    if (this.active === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private enqueue(file: string, entry: FileEntry): void {
    entry.phase = 'queued';
    this.queue.add(file);
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.active < this.concurrency && this.queue.size > 0) {
      const file = this.queue.values().next().value as string;
      this.queue.delete(file);
      const entry = this.entries.get(file);
      if (entry === undefined) continue;
      entry.phase = 'working';
      entry.dirty = false;
      this.active++;
      void this.work(file, entry);
    }
  }

  private async work(file: string, entry: FileEntry): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.evaluate(file, entry);
    } catch (err) {
      if (this.stopping) return this.finish(file, entry, { kind: 'wait', ms: 0 }); // shutdown cut it short
      // A bug or an unforeseen fault must not stop the service: log it and look at the file again later.
      this.logger.error('unexpected error while deciding a file; will retry', {
        path: file,
        error: (err as Error)?.stack ?? String(err),
      });
      outcome = { kind: 'wait', ms: 5000 };
    }
    this.finish(file, entry, outcome);
  }

  private finish(file: string, entry: FileEntry, outcome: Outcome): void {
    this.active--;
    this.apply(file, entry, outcome);
    if (this.stopping && this.active === 0) this.idle?.();
    this.pump();
    // Once per burst, when the last queued file is done (what tests wait for before saying nothing else happened).
    if (this.active === 0 && this.queue.size === 0) this.logger.debug('caught up', { known: this.entries.size });
  }

  private apply(file: string, entry: FileEntry, outcome: Outcome): void {
    if (this.stopping) return;
    if (this.entries.get(file) !== entry) return; // forgotten meanwhile
    if (outcome.kind === 'gone' && !entry.dirty) {
      this.entries.delete(file);
      return;
    }
    if (outcome.kind === 'settled') {
      entry.settledSig = outcome.sig;
      entry.phase = 'settled';
    }
    if (entry.dirty || outcome.kind === 'gone') {
      this.enqueue(file, entry);
      return;
    }
    if (outcome.kind === 'wait') {
      entry.phase = 'waiting';
      entry.timer = setTimeout(
        () => {
          entry.timer = undefined;
          if (entry.phase === 'waiting') this.enqueue(file, entry);
        },
        Math.max(1, outcome.ms),
      );
    }
  }
}
