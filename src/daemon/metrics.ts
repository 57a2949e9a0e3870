// The daemon's Prometheus metrics: the one module that owns prom-client. The service reports each logged decision
// with one call (decided) and each model swap (modelInUse); gauges that describe the present (files pending) are
// read from the service only when scraped, so the hot path pays a counter increment and a histogram observation.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionRow } from '../db/rows.js';

/** Seconds from a file's last write to its logged decision: the latency target is 1 s, a quiet window 0.15 s. */
const LATENCY_BUCKETS = [0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300];

export interface MetricsSources {
  /** Files noticed and not yet decided (queued, in progress, or waiting for their quiet window or a retry). */
  filesPending(): number;
  /** Events waiting in the outbox per sink (src/events/), read when scraped. */
  eventsPending?(): Map<string, number>;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<'camera' | 'action'>;
  private readonly failures: Counter<'camera' | 'error_kind'>;
  private readonly latency: Histogram<string>;
  private readonly modelInfo: Gauge<'model_id' | 'provider'>;
  private readonly lastDecision: Gauge<'camera'>;
  private readonly eventDeliveries: Counter<'sink' | 'outcome'>;
  /** The error kinds each camera's failures series were made with (to remove them with the camera). */
  private readonly errorKinds = new Map<string, Set<string>>();
  /** The newest decision time per camera, which the last-decision gauge shows. */
  private readonly newestMs = new Map<string, number>();

  constructor(sources: MetricsSources, cameras: readonly string[] = []) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.decisions = new Counter({
      name: 'birdwatch_decisions_total',
      help: 'Decisions logged, by camera and action ' + '(moved, kept, failed)',
      labelNames: ['camera', 'action'],
      registers,
    });
    this.failures = new Counter({
      name: 'birdwatch_failures_total',
      help: 'Shots logged as failed, by camera and ' + 'error kind',
      labelNames: ['camera', 'error_kind'],
      registers,
    });
    this.latency = new Histogram({
      name: 'birdwatch_decision_latency_seconds',
      help: 'From the last write of a ' + 'shot (its mtime) to its logged decision, for moved and kept shots',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'birdwatch_files_pending',
      help: 'Files noticed and not yet decided',
      registers,
      collect() {
        this.set(sources.filesPending());
      },
    });
    this.modelInfo = new Gauge({
      name: 'birdwatch_model_info',
      help: 'The model deciding new shots (value 1)',
      labelNames: ['model_id', 'provider'],
      registers,
    });
    this.lastDecision = new Gauge({
      name: 'birdwatch_last_decision_timestamp_seconds',
      help: 'Unix time of the ' + 'last logged decision, by camera',
      labelNames: ['camera'],
      registers,
    });
    this.eventDeliveries = new Counter({
      name: 'birdwatch_event_deliveries_total',
      help:
        'Event deliveries by sink ' +
        '(mqtt, webhook:URL) and outcome: delivered, retry (an attempt failed), failed (refused for good), ' +
        'dropped (the ' +
        'backlog bound), skipped (filtered out)',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'birdwatch_events_pending',
      help: 'Events waiting in the outbox for a sink',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const [sink, count] of sources.eventsPending?.() ?? []) this.set({ sink }, count);
      },
    });
    for (const camera of cameras) this.cameraAdded(camera);
  }

  /** Event deliveries to a sink with one outcome (the delivery worker reports each). */
  eventDelivery(sink: string, outcome: string, count = 1): void {
    this.eventDeliveries.inc({ sink, outcome }, count);
  }

  /**
   * Makes a camera's series exist at 0 before its first decision (rate() and alerts then see it), and its last
   * decision time the log's (a restart or a reload does not make a quiet camera look as if it never decided).
   */
  cameraAdded(camera: string, lastDecisionMs?: number): void {
    for (const action of ['moved', 'kept', 'failed']) this.decisions.inc({ camera, action }, 0);
    if (lastDecisionMs !== undefined) {
      this.newestMs.set(camera, lastDecisionMs);
      this.lastDecision.set({ camera }, lastDecisionMs / 1000);
    }
  }

  /** A camera no longer configured: every series labelled with it goes (no stale camera to alert on). */
  cameraRemoved(camera: string): void {
    for (const action of ['moved', 'kept', 'failed']) this.decisions.remove({ camera, action });
    for (const kind of this.errorKinds.get(camera) ?? []) this.failures.remove({ camera, error_kind: kind });
    this.errorKinds.delete(camera);
    this.lastDecision.remove({ camera });
    this.newestMs.delete(camera);
  }

  /** One logged decision (called once per row, after it is committed). */
  decided(row: DecisionRow): void {
    this.decisions.inc({ camera: row.camera, action: row.action });
    // Decisions in flight together may commit out of time order: the gauge keeps the newest.
    const newest = this.newestMs.get(row.camera) ?? -Infinity;
    if (row.time_ms > newest) {
      this.newestMs.set(row.camera, row.time_ms);
      this.lastDecision.set({ camera: row.camera }, row.time_ms / 1000);
    }
    if (row.action === 'failed') {
      const kind = row.error_kind ?? 'unknown';
      this.failures.inc({ camera: row.camera, error_kind: kind });
      const kinds = this.errorKinds.get(row.camera) ?? new Set<string>();
      this.errorKinds.set(row.camera, kinds.add(kind));
    } else if (row.mtime_ms !== null) {
      this.latency.observe(Math.max(0, row.time_ms - row.mtime_ms) / 1000);
    }
  }

  modelInUse(model: { id: string; provider: string }): void {
    this.modelInfo.reset();
    this.modelInfo.set({ model_id: model.id, provider: model.provider }, 1);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
