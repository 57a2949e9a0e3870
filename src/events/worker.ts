// The delivery worker, beside the daemon: reads the outbox (src/db/outbox.ts) and sends each event to each sink,
// in order, at least once. A failing sink is retried with exponential backoff while its events wait in the
// database (not in memory); its backlog is bounded by age and size (the oldest dropped, logged and counted). A
// slow or dead sink costs the daemon nothing but this loop's timers: decisions only ever insert the event row.
import type { Camera, EventsLimits } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { Outbox } from '../db/outbox.js';
import type { Logger } from '../logger.js';
import { publicEvent, type PublicEvent } from './public-event.js';

/** Thrown by a sink: `permanent` when trying again cannot help (a receiver refusing the event with a 4xx). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** One place events go: the MQTT broker, one webhook. */
export interface Sink {
  /** Its key in the outbox ('mqtt', 'webhook:https://host/path'): its cursor and outcomes are stored under it. */
  readonly name: string;
  /** Whether this event is for this sink (filters, cooldown); an event it does not want is passed over unsent. */
  wants(event: PublicEvent): boolean;
  /** Sends it; resolves once the receiver has it (broker ack, 2xx). Throws (DeliveryError) otherwise. */
  deliver(event: PublicEvent, signal: AbortSignal): Promise<void>;
  /** Told after each delivery (a cooldown starts). */
  delivered?(event: PublicEvent): void;
  /** The cameras changed (a config reload). */
  camerasChanged?(cameras: readonly Camera[]): void;
  close(): Promise<void>;
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'dropped' | 'skipped';

export interface WorkerOptions {
  db: Db;
  sinks: readonly Sink[];
  /** Read at each event: a reload's new cameras are used at once. */
  cameras: () => readonly Camera[];
  limits: () => EventsLimits;
  logger: Logger;
  /** Each outcome, counted (the daemon's /metrics). */
  onOutcome?: (sink: string, outcome: DeliveryOutcome, count: number) => void;
}

/** The first retry waits this long; each next one twice as long, up to events.retryMaxSeconds. */
const FIRST_RETRY_MS = 1000;
/** How often the backlog bound is applied and delivered events older than events.maxAgeHours are forgotten. */
const HOUSEKEEPING_MS = 30_000;
/** Events read from the outbox at once per sink. */
const BATCH = 100;

export class DeliveryWorker {
  private readonly outbox: Outbox;
  private readonly abort = new AbortController();
  private loops: Array<Promise<void>> = [];
  private housekeepingTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.outbox = new Outbox(options.db);
  }

  get sinkNames(): string[] {
    return this.options.sinks.map((sink) => sink.name);
  }

  start(): void {
    for (const sink of this.options.sinks) this.outbox.sink(sink.name);
    this.housekeeping();
    this.housekeepingTimer = setInterval(() => this.housekeeping(), HOUSEKEEPING_MS);
    this.loops = this.options.sinks.map((sink) => this.run(sink));
  }

  /** Stops sending (an attempt in flight is aborted: its event stays pending) and closes the sinks. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.housekeepingTimer);
    await Promise.all(this.loops);
    await Promise.all(
      this.options.sinks.map((sink) =>
        sink.close().catch((err: unknown) => {
          this.options.logger.warn('closing an event sink failed', { sink: sink.name, error: (err as Error).message });
        }),
      ),
    );
  }

  camerasChanged(cameras: readonly Camera[]): void {
    for (const sink of this.options.sinks) sink.camerasChanged?.(cameras);
  }

  /** Events waiting per sink (for the metrics, when scraped). */
  pending(): Map<string, number> {
    return new Map(this.options.sinks.map((sink) => [sink.name, this.outbox.pendingCount(sink.name)]));
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(sink: Sink): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      try {
        const waitMs = await this.step(sink);
        if (waitMs > 0) await sleep(waitMs, this.abort.signal);
      } catch (err) {
        // The database (locked by another process, disk full): the events stay where they are; try again soon.
        logger.warn('event delivery: cannot read or update the outbox, retrying', {
          sink: sink.name,
          error: (err as Error).message,
        });
        await sleep(1000, this.abort.signal);
      }
    }
  }

  /** Sends what the sink has waiting, in order, until it is all sent or an attempt fails; returns how long to wait. */
  private async step(sink: Sink): Promise<number> {
    const { limits, logger, onOutcome } = this.options;
    const state = this.outbox.sink(sink.name);
    const now = Date.now();
    const pollMs = limits().pollMs;
    if (state.attempts > 0 && state.next_ms > now) return Math.min(state.next_ms - now, pollMs);
    const batch = this.outbox.next(state.cursor, BATCH);
    if (batch.length === 0) return pollMs;
    let attempts = state.attempts;
    for (const row of batch) {
      if (this.stopped) return 0;
      const event = publicEvent(row, this.options.cameras());
      if (!sink.wants(event)) {
        this.outbox.finish(sink.name, row, 'skipped', 0);
        onOutcome?.(sink.name, 'skipped', 1);
        continue;
      }
      try {
        await sink.deliver(event, this.abort.signal);
      } catch (err) {
        if (this.stopped) return 0;
        const message = (err as Error).message;
        if (err instanceof DeliveryError && err.permanent) {
          this.outbox.finish(sink.name, row, 'failed', attempts + 1, message);
          onOutcome?.(sink.name, 'failed', 1);
          logger.error('event refused by its receiver: not sent again', {
            sink: sink.name,
            event_id: row.event_id,
            type: row.type,
            error: message,
          });
          attempts = 0;
          continue;
        }
        attempts++;
        const delay = Math.min(limits().retryMaxSeconds * 1000, FIRST_RETRY_MS * 2 ** (attempts - 1));
        this.outbox.attemptFailed(sink.name, message, Date.now() + delay);
        onOutcome?.(sink.name, 'retry', 1);
        // One line when a sink starts failing, then one every 10 attempts: a long outage must not flood the journal.
        if (attempts === 1 || attempts % 10 === 0) {
          logger.warn('event delivery failed, will retry (the events wait in the database)', {
            sink: sink.name,
            event_id: row.event_id,
            type: row.type,
            attempt: attempts,
            retry_in_ms: delay,
            error: message,
          });
        }
        return delay;
      }
      if (attempts > 0) logger.info('event delivery recovered', { sink: sink.name, after_attempts: attempts });
      this.outbox.finish(sink.name, row, 'delivered', attempts + 1);
      sink.delivered?.(event);
      onOutcome?.(sink.name, 'delivered', 1);
      attempts = 0;
    }
    return 0;
  }

  /** The backlog bound per sink, then delivered events older than maxAgeHours are deleted. */
  private housekeeping(): void {
    const { limits, logger, onOutcome } = this.options;
    try {
      const { maxAgeHours, maxPending } = limits();
      const maxAgeMs = maxAgeHours * 3600_000;
      for (const sink of this.options.sinks) {
        const { dropped } = this.outbox.bound(sink.name, { maxAgeMs, maxPending });
        if (dropped > 0) {
          onOutcome?.(sink.name, 'dropped', dropped);
          logger.warn(`event backlog over its bound: dropped the ${dropped} oldest unsent events`, {
            sink: sink.name,
            dropped,
            max_age_hours: maxAgeHours,
            max_pending: maxPending,
          });
        }
      }
      this.outbox.prune(this.sinkNames, Date.now() - maxAgeMs);
    } catch (err) {
      logger.warn('event housekeeping failed; tried again later', { error: (err as Error).message });
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
