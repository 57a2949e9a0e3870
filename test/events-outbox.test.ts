// The outbox on a real SQLite file: an event exists exactly when the change it reports does (a rolled-back
// transaction leaves neither); each sink's cursor, retry state and outcomes; the backlog bound drops the oldest by
// age and by size, recording them; pruning forgets only what every sink is done with. And on the real daemon: a
// bound applied at start is logged and counted on /metrics, and the newest events still arrive.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecisionLog, openDatabase, Outbox, recordEvent, timestamp, type DecisionRow } from '../src/db/index.js';
import { recordReview } from '../src/review/sample.js';
import { DaemonProcess, useTestDirs, writeConfigFile } from './helpers/daemon.js';
import { waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg } from './helpers/images.js';
import { freePort } from './helpers/mosquitto.js';
import { waitFor } from './helpers/wait.js';

const folders: string[] = [];
const servers: Server[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  for (const server of servers) server.close();
});
const makeDirs = useTestDirs();

function freshDb() {
  const folder = mkdtempSync(join(tmpdir(), 'bw-outbox-'));
  folders.push(folder);
  return openDatabase(join(folder, 'birdwatch.db'));
}

function decision(camera: string, file: string, time_ms = Date.now()): DecisionRow {
  return {
    ...timestamp(time_ms),
    camera,
    path: file,
    final_path: file,
    size: 1,
    sha256: 'a'.repeat(64),
    mtime_ms: 1,
    width: 1,
    height: 1,
    format: 'jpeg',
    p_airplane: 0.1,
    p_bird: 0.9,
    label: 'bird',
    threshold: 0.8,
    action: 'kept',
    error: null,
    error_kind: null,
    model_id: 'm',
    provider: 'cpu',
    latency_ms: 1,
  };
}

describe('the outbox', () => {
  it('writes an event with its decision, and none when the transaction rolls back', () => {
    const db = freshDb();
    const log = new DecisionLog(db);
    const id = log.insertDecision(decision('garden', '/blog/a.jpg'));
    const events = db.prepare('SELECT * FROM events').all() as Array<{ type: string; camera: string; payload: string }>;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'decision', camera: 'garden' });
    expect(JSON.parse(events[0]!.payload)).toMatchObject({ id, action: 'kept', p_airplane: 0.1, path: '/blog/a.jpg' });
    // A failure later in the caller's transaction takes the decision and its event back together.
    expect(() =>
      db.transaction(() => {
        log.insertDecision(decision('garden', '/blog/b.jpg'));
        throw new Error('crash after the insert');
      })(),
    ).toThrow('crash after the insert');
    expect(db.prepare('SELECT count(*) FROM decisions').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
    // recordEvent (what calibration calls for a threshold change) obeys its caller's transaction the same way.
    expect(() =>
      db.transaction(() => {
        recordEvent(db, { type: 'threshold', camera: 'garden', payload: { threshold: 0.9, previous: 0.8 } });
        throw new Error('refused');
      })(),
    ).toThrow('refused');
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
    // A random-review label and a correction each bring their event.
    db.prepare('INSERT INTO review_draws (decision_id, time_ms) VALUES (?, ?)').run(id, Date.now());
    recordReview(db, id, 'bird', 'rita');
    log.insertCorrection({
      decision_id: id,
      ...timestamp(),
      label: 'airplane',
      kind: 'mark',
      from_path: '/blog/a.jpg',
      to_path: null,
      member: 'vic',
    });
    const later = db.prepare('SELECT type, camera, payload FROM events ORDER BY id').all() as Array<{
      type: string;
      camera: string;
      payload: string;
    }>;
    expect(later.map((e) => [e.type, e.camera])).toEqual([
      ['decision', 'garden'],
      ['review', 'garden'],
      ['mark', 'garden'],
    ]);
    expect(JSON.parse(later[1]!.payload)).toMatchObject({ id, label: 'bird', member: 'rita', path: '/blog/a.jpg' });
    expect(JSON.parse(later[2]!.payload)).toMatchObject({ id, label: 'airplane', member: 'vic', moved: false });
    db.close();
  });

  it('keeps a cursor, retry state and outcomes per sink; bounds the backlog by age and size; prunes', () => {
    const db = freshDb();
    const outbox = new Outbox(db);
    outbox.sink('a');
    outbox.sink('b');
    const hour = 3600_000;
    const now = Date.now();
    const ids = [10, 9, 8, 3, 2, 1].map(
      (hoursAgo) =>
        recordEvent(db, { type: 'decision', camera: 'garden', payload: {}, time_ms: now - hoursAgo * hour }).id,
    );
    expect(outbox.pendingCount('a')).toBe(6);
    // 'a' delivers the first; fails the second twice.
    const [first, second] = outbox.next(outbox.sink('a').cursor, 2);
    outbox.finish('a', first!, 'delivered', 1);
    outbox.attemptFailed('a', 'HTTP 500', now + 1000);
    outbox.attemptFailed('a', 'HTTP 503', now + 2000);
    expect(outbox.sink('a')).toMatchObject({
      cursor: ids[0],
      attempts: 2,
      last_error: 'HTTP 503',
      next_ms: now + 2000,
    });
    expect(second!.id).toBe(ids[1]);
    // By age: older than 5 hours (ids[1], ids[2] for 'a'; ids[0..2] for 'b') are dropped, recorded, counted.
    expect(outbox.bound('a', { maxAgeMs: 5 * hour, maxPending: 100 }, now)).toEqual({ dropped: 2, through: ids[2] });
    expect(outbox.sink('a')).toMatchObject({ cursor: ids[2], attempts: 0, last_error: null, dropped: 2 });
    expect(outbox.bound('b', { maxAgeMs: 5 * hour, maxPending: 100 }, now).dropped).toBe(3);
    // By size: 'b' keeps the newest 2 of its 3 waiting.
    expect(outbox.bound('b', { maxAgeMs: 5 * hour, maxPending: 2 }, now)).toEqual({ dropped: 1, through: ids[3] });
    expect(outbox.pendingCount('b')).toBe(2);
    expect(outbox.bound('b', { maxAgeMs: 5 * hour, maxPending: 2 }, now).dropped).toBe(0);
    const failed = outbox.list(['a', 'b'], 'failed', 100);
    expect(failed.filter((e) => e.sink === 'a').map((e) => [e.id, e.state])).toEqual([
      [ids[1], 'dropped'],
      [ids[2], 'dropped'],
    ]);
    expect(failed.filter((e) => e.sink === 'b').map((e) => e.state)).toEqual([
      'dropped',
      'dropped',
      'dropped',
      'dropped',
    ]);
    expect(outbox.list(['a'], 'pending', 100).map((e) => e.id)).toEqual(ids.slice(3));
    // Pruning: events older than 5 hours that both sinks are past ('a' is at ids[2]) go, their outcomes with them.
    expect(outbox.prune(['a', 'b'], now - 5 * hour)).toBe(3);
    expect(db.prepare('SELECT event_row, sink, state FROM event_deliveries').all()).toEqual([
      { event_row: ids[3], sink: 'b', state: 'dropped' },
    ]);
    expect(outbox.list(['a', 'b'], 'all', 100).map((e) => [e.id, e.sink, e.state])).toEqual([
      [ids[3], 'a', 'pending'],
      [ids[3], 'b', 'dropped'],
      [ids[4], 'a', 'pending'],
      [ids[4], 'b', 'pending'],
      [ids[5], 'a', 'pending'],
      [ids[5], 'b', 'pending'],
    ]);
    db.close();
  });
});

describe('the backlog bound on the real daemon', () => {
  it('drops the oldest beyond events.maxPending with a log line and a counter; the newest arrive', async () => {
    const dirs = makeDirs('bw-outbox-daemon-');
    const port = await freePort();
    const hook = { url: `http://127.0.0.1:${port}/in` };
    const settings = (maxPending: number) => ({
      watch: dirs.watch,
      airplanes: dirs.airplanes,
      db: dirs.db,
      quietMs: 100,
      metricsListen: '127.0.0.1:0',
      webhooks: [hook],
      events: { maxPending, retryMaxSeconds: 1, pollMs: 100 },
    });
    const config = writeConfigFile(dirs, settings(1000));
    const first = new DaemonProcess(['run', '--config', config]);
    await first.ready();
    const shots = await Promise.all(
      [...AIRPLANE_FIXTURES, ...BIRD_FIXTURES].map((f, i) => cameraJpeg(f, 320 + 16 * i, 240)),
    );
    shots.forEach((bytes, i) => writeFileSync(join(dirs.watch, `shot-${i}.jpg`), bytes));
    const rows = await waitForDecisions(dirs.db, '1=1', [], 6, 60_000, () => first.tail());
    await first.kill();
    // The receiver comes up; the daemon restarts with room for 2 waiting events: the 4 oldest are dropped.
    const got: Array<Record<string, unknown>> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        got.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
    writeConfigFile(dirs, settings(2));
    const second = new DaemonProcess(['run', '--config', config]);
    await second.waitForOutput(/event backlog over its bound: dropped the 4 oldest unsent events/);
    await waitFor(
      () => got.length >= 2,
      30_000,
      () => `2 deliveries\n${second.tail()}`,
    );
    const newest = [...rows]
      .sort((a, b) => a.id - b.id)
      .slice(-2)
      .map((r) => r.id);
    expect(got.map((e) => e.id)).toEqual(newest);
    await second.waitForOutput(/serving metrics url=http:\/\/[\d.]+:\d+\/metrics/);
    const url = /serving metrics url=(\S+)/.exec(second.output)![1]!;
    const metrics = await (await fetch(url)).text();
    const sink = `webhook:http://127.0.0.1:${port}/in`;
    expect(metrics).toContain(`birdwatch_event_deliveries_total{sink="${sink}",outcome="dropped"} 4`);
    expect(metrics).toContain(`birdwatch_event_deliveries_total{sink="${sink}",outcome="delivered"} 2`);
    expect(metrics).toContain(`birdwatch_events_pending{sink="${sink}"} 0`);
  });
});
