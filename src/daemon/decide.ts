// Deciding one file: is it a regular file, has it stopped changing, is it structurally complete, was it decided
// before; then preprocess, classify (batched), and move it or keep it, logging exactly one row per decision.
// Every look returns an Outcome (settled / look again in N ms / gone), carrying the row when it logged a decision;
// nothing here throws on bad input. A shot is decided by the one model leased for it (src/model/current.ts).
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CalibratedThresholds } from '../calibrate/auto.js';
import type { CurrentConfig } from '../config/current.js';
import type { Camera, Config } from '../config/schema.js';
import type { DecisionLog } from '../db/decision-log.js';
import { timestamp, type DecisionRow } from '../db/rows.js';
import { retryTransient, RetryAbortedError } from '../db/transient.js';
import { moveLogged } from '../fs/logged-move.js';
import { assertRealFolders, SourceChangedError } from '../fs/move.js';
import { ImageError, prepareImage, type Prepared } from '../image/preprocess.js';
import { readImageFile } from '../image/read-file.js';
import { checkCompleteness, couldStartImage, sniffImageType, SNIFF_BYTES } from '../image/sniff.js';
import type { Logger } from '../logger.js';
import type { CurrentModel } from '../model/current.js';
import type { Model } from '../model/load.js';
import { resolveThreshold, ThresholdError } from '../model/thresholds.js';
import type { Batcher } from './batcher.js';
import type { ReadBuffers } from './read-buffers.js';
import type { Slots } from './slots.js';
import { signature, type FileEntry, type Outcome } from './file-state.js';

/** How often a file that is still incomplete is looked at again (an lstat; it is re-read only once it changed). */
const INCOMPLETE_RECHECK_MS = 1000;
/** Backoff bounds for a move that failed for a reason outside the file (airplanes folder not writable, disk full). */
const MOVE_RETRY_MIN_MS = 1000;
const MOVE_RETRY_MAX_MS = 60_000;

export interface DeciderDeps {
  /** Read at each look: a config reload (SIGHUP) hands a new one over. */
  config: CurrentConfig;
  models: CurrentModel;
  batcher: Batcher;
  /** Decode slots (config.concurrency): files read and decoded at once. */
  slots: Slots;
  /** Buffers the decode slots read files into, reused from file to file. */
  buffers: ReadBuffers;
  log: DecisionLog;
  logger: Logger;
  /** Aborted on shutdown: database retries give up, the file is left for the next start. */
  signal: AbortSignal;
}

export class FileDecider {
  /** Each model's threshold per camera name, resolved once per model and config (src/model/thresholds.ts), not per
   *  shot; `resolvedFor` is the config they were resolved for (a reload hands over a new one). */
  private thresholds = new WeakMap<Model, Map<string, number>>();
  private resolvedFor: Config | undefined;
  /** The daemon's own calibration (src/calibrate/auto.ts): one model's thresholds for cameras without their own. */
  private calibrated: CalibratedThresholds | undefined;

  constructor(private readonly deps: DeciderDeps) {}

  /** New calibrated thresholds, handed over whole: the next shots use them, shots already decided keep theirs. */
  useCalibrated(calibrated: CalibratedThresholds): void {
    this.calibrated = calibrated;
    this.thresholds = new WeakMap();
  }

  private thresholdFor(model: Model, camera: Camera): number {
    const config = this.deps.config.config;
    if (config !== this.resolvedFor) {
      this.thresholds = new WeakMap();
      this.resolvedFor = config;
    }
    let table = this.thresholds.get(model);
    if (table === undefined) {
      table = new Map();
      this.thresholds.set(model, table);
    }
    let threshold = table.get(camera.name);
    if (threshold === undefined) {
      // A file noticed before a reload holds its camera as it was then: its settings now are the config's.
      const settings = config.cameras.find((other) => other.name === camera.name) ?? camera;
      // A camera with its own threshold is pinned; the others run at the daemon's calibration when it has one.
      if (settings.threshold === undefined && this.calibrated?.modelId === model.id) {
        threshold = this.calibrated.thresholds.get(camera.name);
      }
      if (threshold === undefined) {
        try {
          threshold = resolveThreshold(config, settings, model).threshold;
        } catch (err) {
          if (!(err instanceof ThresholdError)) throw err;
          // Checked at start, swap and reload for the serving model; only a replaced model's last shots, in flight
          // across a reload its curve cannot answer, get here: they finish at that model's own threshold.
          this.deps.logger.warn(`${err.message}; model ${model.id} decides its last shots at its own threshold`);
          threshold = model.threshold;
        }
      }
      table.set(camera.name, threshold);
    }
    return threshold;
  }

  /** One look at `file`; the tracker calls it again when the Outcome says so or when the file changes. */
  evaluate = async (file: string, entry: FileEntry): Promise<Outcome> => {
    const { config } = this.deps.config;
    const now = Date.now();
    const stat = await lstatOrNull(file);
    if (stat === null || stat.isDirectory()) return { kind: 'gone' };
    const sig = signature(stat);
    if (entry.settledSig === sig) return { kind: 'settled', sig };

    if (!stat.isFile()) return this.specialFile(file, entry.camera, stat, sig);

    // Quiet window: the same size/mtime/inode for quietMs before anything is read.
    if (sig !== entry.observedSig) {
      if (entry.observedSig !== undefined) entry.lastChangeAt = now;
      entry.observedSig = sig;
      entry.observedAt = quietSince(stat, now, config.polling);
      const left = entry.observedAt + config.quietMs - now;
      if (left > 0) this.deps.logger.debug('changed: waiting for it to stay unchanged', { path: file, ms: left });
    }
    const quietLeft = entry.observedAt + config.quietMs - now;
    if (quietLeft > 0) return { kind: 'wait', ms: quietLeft };

    const stallLeft = entry.lastChangeAt + config.stallMs - now;
    const stalled = stallLeft <= 0;
    // Found incomplete in exactly this state before: nothing new to read until it changes or stalls.
    if (entry.incompleteSig === sig && !stalled)
      return { kind: 'wait', ms: Math.min(stallLeft, INCOMPLETE_RECHECK_MS) };

    if (
      await this.db('check the log for', file, () => this.deps.log.isDecidedBySignature(file, stat.size, stat.mtimeMs))
    ) {
      this.deps.logger.debug('already decided', { path: file });
      return { kind: 'settled', sig };
    }
    // Another birdwatch process (restore, mark --move) is moving this very path: let it finish.
    if (await this.db('check pending moves for', file, () => this.deps.log.isPendingMovePath(file))) {
      return { kind: 'wait', ms: 1000 };
    }

    const incomplete = (why: ImageError, sha256?: string): Promise<Outcome> | Outcome => {
      if (!stalled) {
        // Once per change of an incomplete file (tests wait for it before saying it was not decided too soon).
        this.deps.logger.debug('incomplete: waiting for the rest', { path: file, why: why.message });
        entry.incompleteSig = sig;
        return { kind: 'wait', ms: Math.min(stallLeft, INCOMPLETE_RECHECK_MS) };
      }
      return this.fail(file, entry.camera, stat, sig, why, sha256);
    };
    const stallSeconds = `${(config.stallMs / 1000).toFixed(1)} s`;
    if (stat.size === 0)
      return incomplete(new ImageError('empty', `empty file (0 bytes), unchanged for ${stallSeconds}`));

    // One model for this shot from its decode to its logged decision, whatever is swapped in meanwhile.
    const model = this.deps.models.acquire();
    try {
      // A decode slot from reading to decoded: bounds the bytes held; the model, database and move run without one.
      let started = 0;
      const read = await this.deps.slots.run(() => {
        started = performance.now(); // latency_ms counts from the read, as before (not the wait for a slot)
        return this.deps.batcher.preparing(() =>
          this.deps.buffers.lend((allocate) =>
            this.readAndPrepare(file, entry, stat, sig, stallSeconds, stalled, incomplete, allocate, model),
          ),
        );
      });
      if ('kind' in read) return read;
      const { sha256, prepared } = read;
      const probabilities = await this.deps.batcher.classify(prepared.tensor, model);
      return await this.act(file, entry, stat, sig, sha256, prepared, probabilities, started, model);
    } finally {
      this.deps.models.release(model);
    }
  };

  /** Reads (into `allocate`'s buffer), checks and decodes the file: its content hash and model input, or the
   *  Outcome when it goes no further. */
  private async readAndPrepare(
    file: string,
    entry: FileEntry,
    stat: Stats,
    sig: string,
    stallSeconds: string,
    stalled: boolean,
    incomplete: (why: ImageError, sha256?: string) => Promise<Outcome> | Outcome,
    allocate: (size: number) => Buffer,
    model: Model,
  ): Promise<Outcome | { sha256: string; prepared: Prepared }> {
    const { config } = this.deps.config;
    let bytes: Buffer;
    try {
      bytes = await readImageFile(file, { maxBytes: config.maxBytes, followSymlinks: false, allocate });
    } catch (err) {
      if (err instanceof ImageError && err.code === 'ENOENT') return { kind: 'gone' };
      if (err instanceof ImageError) return this.fail(file, entry.camera, stat, sig, err, undefined, model);
      throw err;
    }
    // Changed while being read: what was read is not the file; start its quiet window again.
    const after = await lstatOrNull(file);
    if (after === null) return { kind: 'gone' };
    if (signature(after) !== sig) return { kind: 'wait', ms: 0 };

    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const type = sniffImageType(bytes.subarray(0, SNIFF_BYTES));
    if (type === null && bytes.length < SNIFF_BYTES) {
      if (!couldStartImage(bytes)) {
        // a short text file named .jpg: no image whatever follows, so no waiting
        return this.fail(
          file,
          entry.camera,
          stat,
          sig,
          new ImageError('not-image', `not an image: its ${bytes.length} bytes begin like no image format`),
          sha256,
          model,
        );
      }
      return incomplete(
        new ImageError('truncated', `only ${bytes.length} bytes, unchanged for ${stallSeconds}`),
        sha256,
      );
    }
    if (type !== null && checkCompleteness(type, bytes) === 'incomplete') {
      return incomplete(
        new ImageError(
          'truncated',
          `truncated ${type.toUpperCase()}: its end marker is missing ` +
            `after ${stallSeconds} without change (upload stalled or cut)`,
        ),
        sha256,
      );
    }
    if (await this.db('check the log for', file, () => this.deps.log.isDecided(file, sha256))) {
      this.deps.logger.debug('already decided (same content)', { path: file });
      return { kind: 'settled', sig };
    }

    let prepared: Prepared;
    try {
      prepared = await prepareImage(bytes, model, { maxPixels: config.maxPixels, maxBytes: config.maxBytes });
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      // TIFF has no cheap end check: a decoder running out of data means "not complete yet" until it stalls.
      if (err.kind === 'truncated' && !stalled) return incomplete(err, sha256);
      return this.fail(file, entry.camera, stat, sig, err, sha256, model);
    }
    return { sha256, prepared };
  }

  private async act(
    file: string,
    entry: FileEntry,
    stat: Stats,
    sig: string,
    sha256: string,
    prepared: Prepared,
    p: { airplane: number; bird: number },
    started: number,
    model: Model,
  ): Promise<Outcome> {
    const { log, logger, signal } = this.deps;
    const camera = entry.camera;
    const threshold = this.thresholdFor(model, camera);
    const label = p.airplane >= p.bird ? 'airplane' : 'bird';
    let wantsMove = p.airplane >= threshold;
    if (wantsMove && (await this.db('check corrections for', file, () => log.humanSaysBird(sha256)))) {
      logger.info('a member labelled this shot a bird: kept', { path: file });
      wantsMove = false;
    }
    const row: Omit<DecisionRow, 'final_path'> = {
      ...timestamp(),
      camera: camera.name,
      path: file,
      size: stat.size,
      sha256,
      mtime_ms: Math.trunc(stat.mtimeMs),
      width: prepared.width,
      height: prepared.height,
      format: prepared.format,
      p_airplane: p.airplane,
      p_bird: p.bird,
      label,
      threshold,
      action: wantsMove ? 'moved' : 'kept',
      error: null,
      error_kind: null,
      model_id: model.id,
      provider: model.provider,
      latency_ms: round(performance.now() - started),
    };
    if (!wantsMove) {
      const decision = { ...row, final_path: file };
      await this.db('record decision for', file, () => log.insertDecision(decision));
      logger.info('kept', { path: file, label, p_airplane: p.airplane, threshold, camera: camera.name });
      return { kind: 'settled', sig, decision };
    }
    const dest = path.join(camera.airplanes, path.relative(camera.watch, file));
    try {
      await assertRealFolders(camera.airplanes, path.dirname(dest));
      const { finalPath } = await moveLogged(
        log,
        {
          kind: 'decide',
          src: file,
          dest,
          sha256,
          size: stat.size,
          record: { table: 'decisions', row },
        },
        { logger, signal, expect: { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs } },
      );
      entry.moveFailures = 0;
      logger.info('moved', {
        path: file,
        final_path: finalPath,
        label,
        p_airplane: p.airplane,
        threshold,
        camera: camera.name,
      });
      return { kind: 'gone', decision: { ...row, final_path: finalPath } };
    } catch (err) {
      if (err instanceof SourceChangedError) {
        logger.info('changed while being decided: deciding it again', { path: file, reason: err.message });
        entry.observedSig = undefined;
        return { kind: 'wait', ms: 0 };
      }
      if (err instanceof RetryAbortedError) return { kind: 'wait', ms: 1000 };
      // Not the file's fault (airplanes folder read-only or full...): nothing moved, nothing logged; try again.
      entry.moveFailures++;
      const wait = Math.min(MOVE_RETRY_MAX_MS, MOVE_RETRY_MIN_MS * 2 ** (entry.moveFailures - 1));
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EACCES' || code === 'EPERM'
          ? 'the airplanes folder is not writable (permission denied)'
          : code === 'EROFS'
            ? 'the airplanes folder is on a read-only file system'
            : code === 'ENOSPC' || code === 'EDQUOT'
              ? "the airplanes folder's disk is full"
              : code === 'ELOOP'
                ? 'a symbolic link in the airplanes folder could lead outside it'
                : 'the move failed';
      logger.error(`cannot move an airplane shot: ${why}; left in place, will retry`, {
        path: file,
        dest,
        error: (err as Error).message,
        code,
        retry_in_ms: wait,
      });
      return { kind: 'wait', ms: wait };
    }
  }

  /** FIFOs, sockets, devices, symlinks: never opened, never moved; logged once as failed. */
  private async specialFile(file: string, camera: Camera, stat: Stats, sig: string): Promise<Outcome> {
    if (
      await this.db('check the log for', file, () => this.deps.log.isDecidedBySignature(file, stat.size, stat.mtimeMs))
    ) {
      return { kind: 'settled', sig };
    }
    const what = stat.isSymbolicLink()
      ? 'symbolic link'
      : stat.isFIFO()
        ? 'FIFO'
        : stat.isSocket()
          ? 'socket'
          : stat.isCharacterDevice() || stat.isBlockDevice()
            ? 'device'
            : 'special file';
    return this.fail(
      file,
      camera,
      stat,
      sig,
      new ImageError('unsupported', `is a ${what}, not a regular file: never opened or moved`),
      undefined,
    );
  }

  /** `model`: the one leased for this shot, if it got that far (else the current one is recorded). */
  private async fail(
    file: string,
    camera: Camera,
    stat: Stats,
    sig: string,
    err: ImageError,
    sha256: string | undefined,
    model: Model = this.deps.models.model,
  ): Promise<Outcome> {
    const row: DecisionRow = {
      ...timestamp(),
      camera: camera.name,
      path: file,
      final_path: file,
      size: stat.size,
      sha256: sha256 ?? null,
      mtime_ms: Math.trunc(stat.mtimeMs),
      width: null,
      height: null,
      format: null,
      p_airplane: null,
      p_bird: null,
      label: null,
      threshold: null,
      action: 'failed',
      error: err.message,
      error_kind: err.kind,
      model_id: model.id,
      provider: model.provider,
      latency_ms: null,
    };
    await this.db('record failure for', file, () => this.deps.log.insertDecision(row));
    this.deps.logger.warn('failed', { path: file, error_kind: err.kind, error: err.message, camera: camera.name });
    return { kind: 'settled', sig, decision: row };
  }

  private db<T>(what: string, file: string, fn: () => T): Promise<T> {
    return retryTransient(fn, { what: `${what} ${file}`, logger: this.deps.logger, signal: this.deps.signal });
  }
}

/**
 * Since when the file is known to have been unchanged. Every write sets mtime, so on a local filesystem (the
 * inotify mode: same clock as ours) a file whose mtime is already older than the quiet window needs no waiting:
 * a shot renamed into place after its upload, or one that arrived while the service was down, is read at once.
 * A network share's mtime comes from the server's clock, so polling mode always watches the window itself.
 */
function quietSince(stat: Stats, now: number, polling: boolean): number {
  if (polling || !(stat.mtimeMs <= now)) return now;
  return stat.mtimeMs;
}

async function lstatOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.lstat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
