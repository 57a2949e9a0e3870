// The outbox's SQL: recordEvent() writes an event row inside the transaction of the change it reports; Outbox is the
// delivery worker's side (each sink's cursor and retry state, outcomes, the backlog bound, pruning) and what
// `birdwatch events` lists. Delivery itself lives in src/events/.
import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './open.js';
import type { Action } from './rows.js';

/** What an event reports. A failure is a decision with action 'failed'. */
export const EVENT_TYPES = ['decision', 'restore', 'mark', 'review', 'threshold', 'model-swap'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface NewEvent {
  type: EventType;
  /** The camera it concerns, or null for the whole service (a model swap). */
  camera: string | null;
  /** The event's facts as JSON (paths absolute here; the sinks make them relative to the camera's folder). */
  payload: Record<string, unknown>;
  time_ms?: number;
}

export interface EventRow {
  id: number;
  event_id: string;
  type: EventType;
  camera: string | null;
  time: string;
  time_ms: number;
  payload: string;
}

export interface SinkState {
  sink: string;
  /** The last event id this sink is done with. */
  cursor: number;
  /** Failed attempts at the event after the cursor, when it may be tried again, and why the last one failed. */
  attempts: number;
  next_ms: number;
  last_error: string | null;
  /** Events dropped unsent by the backlog bound, in all. */
  dropped: number;
  /** The sink's own small memory (MQTT: the cameras announced to Home Assistant). */
  memo: string | null;
  updated_ms: number;
}

export type FinalOutcome = 'delivered' | 'skipped' | 'failed';

const inserts = new WeakMap<Db, Statement>();

/**
 * Writes one event row. Call it inside the transaction that makes the change it reports (decision, correction,
 * review label, threshold change...): the event exists exactly when the change does. One INSERT, nothing else.
 */
export function recordEvent(db: Db, event: NewEvent): { id: number; event_id: string } {
  let insert = inserts.get(db);
  if (insert === undefined) {
    insert = db.prepare(`INSERT INTO events (event_id, type, camera, time, time_ms, payload)
        VALUES (?, ?, ?, ?, ?, ?)`);
    inserts.set(db, insert);
  }
  const ms = event.time_ms ?? Date.now();
  const eventId = randomUUID();
  const id = Number(
    insert.run(eventId, event.type, event.camera, new Date(ms).toISOString(), ms, JSON.stringify(event.payload))
      .lastInsertRowid,
  );
  return { id, event_id: eventId };
}

export class Outbox {
  private readonly statements;

  constructor(readonly db: Db) {
    this.statements = {
      lastId: db.prepare(`SELECT coalesce(max(id), 0) FROM events`).pluck(),
      getSink: db.prepare(`SELECT * FROM event_sinks WHERE sink = ?`),
      addSink: db.prepare(`INSERT OR IGNORE INTO event_sinks (sink, cursor, updated_ms) VALUES (?, ?, ?)`),
      after: db.prepare(`SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?`),
      countAfter: db.prepare(`SELECT count(*) FROM events WHERE id > ?`).pluck(),
      outcome: db.prepare(`INSERT OR REPLACE INTO event_deliveries (event_row, sink, state, attempts, error, time_ms)
          VALUES (?, ?, ?, ?, ?, ?)`),
      advance: db.prepare(`UPDATE event_sinks SET cursor = max(cursor, ?), attempts = 0, next_ms = 0,
          last_error = NULL, updated_ms = ? WHERE sink = ?`),
      attempt: db.prepare(`UPDATE event_sinks SET attempts = attempts + 1, next_ms = ?, last_error = ?, updated_ms = ?
          WHERE sink = ?`),
      lastOld: db.prepare(`SELECT max(id) FROM events WHERE id > ? AND time_ms < ?`).pluck(),
      nthAfter: db.prepare(`SELECT id FROM events WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?`).pluck(),
      drop: db.prepare(`INSERT OR REPLACE INTO event_deliveries (event_row, sink, state, attempts, error, time_ms)
          SELECT id, ?, 'dropped', 0, ?, ? FROM events WHERE id > ? AND id <= ?`),
      addDropped: db.prepare(`UPDATE event_sinks SET dropped = dropped + ? WHERE sink = ?`),
      setMemo: db.prepare(`UPDATE event_sinks SET memo = ? WHERE sink = ?`),
      prune: db.prepare(`DELETE FROM events WHERE time_ms < ? AND id <= ?`),
      dayCounts: db.prepare(`SELECT action, count(*) AS n FROM decisions WHERE camera = ? AND time_ms >= ?
          AND id <= ? GROUP BY action`),
      lastDecision: db.prepare(`SELECT id, action, label, p_airplane, threshold, time, path FROM decisions
          WHERE camera = ? AND id <= ? ORDER BY id DESC LIMIT 1`),
      lastP: db
        .prepare(
          `SELECT p_airplane FROM decisions WHERE camera = ? AND id <= ? AND p_airplane IS NOT NULL
          ORDER BY id DESC LIMIT 1`,
        )
        .pluck(),
    };
  }

  /** The sink's state; a sink seen for the first time starts after the newest event (it is not sent the past). */
  sink(sink: string): SinkState {
    // A read while the row exists: the worker asks at every poll, and a write would take the lock each time.
    const known = this.statements.getSink.get(sink) as SinkState | undefined;
    if (known !== undefined) return known;
    this.statements.addSink.run(sink, this.statements.lastId.get() as number, Date.now());
    return this.statements.getSink.get(sink) as SinkState;
  }

  /** Up to `limit` events after `cursor`, oldest first. */
  next(cursor: number, limit: number): EventRow[] {
    return this.statements.after.all(cursor, limit) as EventRow[];
  }

  /** Events after the sink's cursor (waiting to be sent to it). */
  pendingCount(sink: string): number {
    return this.statements.countAfter.get(this.sink(sink).cursor) as number;
  }

  /** The sink is done with `event`: delivered (after `attempts` tries), filtered out, or failed for good. */
  finish(sink: string, event: EventRow, outcome: FinalOutcome, attempts: number, error: string | null = null): void {
    const now = Date.now();
    this.db.transaction(() => {
      if (outcome !== 'skipped') this.statements.outcome.run(event.id, sink, outcome, attempts, error, now);
      this.statements.advance.run(event.id, now, sink);
    })();
  }

  /** A try at the sink's next event failed: it is tried again at `nextMs`. */
  attemptFailed(sink: string, error: string, nextMs: number): void {
    this.statements.attempt.run(nextMs, error.slice(0, 500), Date.now(), sink);
  }

  /**
   * The backlog bound: events waiting for `sink` that are older than `maxAgeMs`, or beyond the newest `maxPending`,
   * are dropped unsent (recorded 'dropped'). Returns how many, and the newest dropped one's time.
   */
  bound(
    sink: string,
    limits: { maxAgeMs: number; maxPending: number },
    now = Date.now(),
  ): { dropped: number; through: number } {
    return this.db
      .transaction(() => {
        const { cursor } = this.sink(sink);
        let through = (this.statements.lastOld.get(cursor, now - limits.maxAgeMs) as number | null) ?? cursor;
        const waiting = this.statements.countAfter.get(through) as number;
        if (waiting > limits.maxPending) {
          through = this.statements.nthAfter.get(through, waiting - limits.maxPending - 1) as number;
        }
        if (through <= cursor) return { dropped: 0, through: cursor };
        const count = (after: number): number => this.statements.countAfter.get(after) as number;
        const dropped = count(cursor) - count(through);
        const reason = `dropped unsent: older than the backlog's age or beyond its size`;
        this.statements.drop.run(sink, reason, now, cursor, through);
        this.statements.advance.run(through, now, sink);
        this.statements.addDropped.run(dropped, sink);
        return { dropped, through };
      })
      .immediate();
  }

  /** When the newest event of `camera` delivered to `sink` happened (a webhook's cooldown after a restart). */
  lastDeliveredMs(sink: string, camera: string | null): number | undefined {
    const value = this.db
      .prepare(
        `SELECT max(e.time_ms) FROM event_deliveries d JOIN events e ON e.id = d.event_row
        WHERE d.sink = ? AND d.state = 'delivered' AND e.camera IS ?`,
      )
      .pluck()
      .get(sink, camera);
    return typeof value === 'number' ? value : undefined;
  }

  /**
   * A camera's day up to decision `untilId` (MQTT's retained state): decisions per action since `dayStartMs`, its
   * latest decision, and the latest P(airplane) it measured. By id, not time: a decision's time is when it started,
   * and one started earlier may be logged later.
   */
  cameraDay(camera: string, dayStartMs: number, untilId = Number.MAX_SAFE_INTEGER): CameraDay {
    const counts = { moved: 0, kept: 0, failed: 0 };
    const rows = this.statements.dayCounts.all(camera, dayStartMs, untilId) as Array<{ action: Action; n: number }>;
    for (const row of rows) counts[row.action] = row.n;
    const last = this.statements.lastDecision.get(camera, untilId) as CameraDay['last'];
    const lastP = this.statements.lastP.get(camera, untilId) as number | undefined;
    return { counts, last, last_p_airplane: lastP ?? null };
  }

  setMemo(sink: string, memo: string): void {
    this.statements.setMemo.run(memo, sink);
  }

  /** Deletes events older than `beforeMs` that every one of `sinks` is done with (their outcomes go with them). */
  prune(sinks: readonly string[], beforeMs: number): number {
    const cursors = sinks.map((sink) => this.sink(sink).cursor);
    const upTo = cursors.length === 0 ? Number.MAX_SAFE_INTEGER : Math.min(...cursors);
    return this.statements.prune.run(beforeMs, upTo).changes;
  }

  /** What `birdwatch events` shows: each event after a sink's cursor (pending), or each failed or dropped outcome. */
  list(sinks: readonly string[], what: 'pending' | 'failed' | 'all', limit: number): EventListing[] {
    const rows: EventListing[] = [];
    for (const name of sinks) {
      const state = this.statements.getSink.get(name) as SinkState | undefined;
      if (state === undefined) continue;
      if (what !== 'failed') {
        const waiting = this.db
          .prepare(`SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?`)
          .all(state.cursor, limit) as EventRow[];
        waiting.forEach((event, i) =>
          rows.push({
            ...event,
            sink: name,
            state: 'pending',
            attempts: i === 0 ? state.attempts : 0,
            error: i === 0 ? state.last_error : null,
            next_ms: i === 0 && state.attempts > 0 ? state.next_ms : null,
          }),
        );
      }
      if (what !== 'pending') {
        const states = what === 'failed' ? `('failed', 'dropped')` : `('delivered', 'failed', 'dropped')`;
        const done = this.db
          .prepare(
            `SELECT e.*, d.state AS state, d.attempts AS attempts, d.error AS error
            FROM event_deliveries d JOIN events e ON e.id = d.event_row
            WHERE d.sink = ? AND d.state IN ${states} ORDER BY e.id DESC LIMIT ?`,
          )
          .all(name, limit) as Array<
          EventRow & { state: EventListing['state']; attempts: number; error: string | null }
        >;
        rows.push(...done.map((row) => ({ ...row, sink: name, next_ms: null })));
        if (what === 'failed' && state.attempts > 0) {
          const head = this.next(state.cursor, 1)[0];
          if (head !== undefined)
            rows.push({
              ...head,
              sink: name,
              state: 'pending',
              attempts: state.attempts,
              error: state.last_error,
              next_ms: state.next_ms,
            });
        }
      }
    }
    return rows.sort((a, b) => a.id - b.id || a.sink.localeCompare(b.sink));
  }

  /** Every sink's state row (configured or not). */
  sinks(): SinkState[] {
    return this.db.prepare(`SELECT * FROM event_sinks ORDER BY sink`).all() as SinkState[];
  }
}

export interface EventListing extends EventRow {
  sink: string;
  state: 'pending' | 'delivered' | 'failed' | 'dropped';
  attempts: number;
  error: string | null;
  /** For a pending event being retried: when it is tried next. */
  next_ms: number | null;
}

export interface CameraDay {
  counts: Record<Action, number>;
  last:
    | {
        id: number;
        action: Action;
        label: string | null;
        p_airplane: number | null;
        threshold: number | null;
        time: string;
        path: string;
      }
    | undefined;
  last_p_airplane: number | null;
}
