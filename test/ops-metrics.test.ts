// Metrics, health and the systemd watchdog on the real daemon: /metrics counts match the decision log after a
// burst; each configured camera's last decision time survives a restart and a reload (read from the log), a removed
// camera's series go; /healthz turns 503 while the database cannot be written (immutable flag) and 200 again after;
// READY=1 and WATCHDOG=1 reach a notify socket (a Python receiver standing in for systemd) through the real
// systemd-notify.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonProcess, makeCamera, runCli, startDaemon, useTestDirs } from './helpers/daemon.js';
import { decisions, query, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, fixtureBytes, sha256 } from './helpers/images.js';
import { IMMUTABLE_BASE, IMMUTABLE_MISSING } from './helpers/immutable.js';
import { needs } from './helpers/preconditions.js';
import { CurrentConfig, loadConfig } from '../src/config/index.js';
import { DaemonMetrics } from '../src/daemon/metrics.js';
import { MetricsServer } from '../src/daemon/metrics-server.js';
import { Service } from '../src/daemon/service.js';
import { DecisionLog, openDatabase } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { CurrentModel } from '../src/model/current.js';
import { loadModel } from '../src/model/load.js';
import { waitFor } from './helpers/wait.js';

const SHIPPED_ID = sha256(fixtureBytes(join(import.meta.dirname, '..', 'models', 'birds-vs-airplanes.onnx'))).slice(
  0,
  12,
);

const newDirs = useTestDirs();

async function metricsUrl(daemon: DaemonProcess): Promise<string> {
  await daemon.waitForOutput(/serving metrics url=\S+/);
  return /serving metrics url=(\S+)\/metrics/.exec(daemon.output)![1]!;
}

/** Samples of the exposition text: 'name{labels}' -> value (labels as written, in the library's order). */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('metrics and health', () => {
  it('/metrics counts match the decision log after a burst; /healthz is 200 with a small JSON', async () => {
    const d = newDirs('bw-metrics-');
    const daemon = startDaemon(d, ['--provider', 'cpu', '--metrics-listen', '127.0.0.1:0', '--stall-ms', '1000']);
    const base = await metricsUrl(daemon);
    await daemon.ready();
    const fixtures = [...AIRPLANE_FIXTURES, ...BIRD_FIXTURES];
    for (let i = 0; i < 90; i++)
      copyFileSync(fixtures[i % 6]!, join(d.watch, `burst-${i}-${basename(fixtures[i % 6]!)}`));
    for (let i = 0; i < 4; i++) writeFileSync(join(d.watch, `junk-${i}.jpg`), `not an image ${i}\n`.repeat(100));
    writeFileSync(join(d.watch, 'empty.jpg'), '');
    await waitForDecisions(d.db, '1=1', [], 95, 60_000, () => daemon.tail());

    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const m = samples(text);
    const rows = decisions(d.db);
    const count = (action: string): number => rows.filter((r) => r.action === action).length;
    expect(count('moved')).toBe(45);
    expect(count('kept')).toBe(45);
    expect(count('failed')).toBe(5);
    for (const action of ['moved', 'kept', 'failed']) {
      expect(m.get(`birdwatch_decisions_total{camera="blog",action="${action}"}`), action).toBe(count(action));
    }
    expect(m.get('birdwatch_failures_total{camera="blog",error_kind="not-image"}')).toBe(4);
    expect(m.get('birdwatch_failures_total{camera="blog",error_kind="empty"}')).toBe(1);
    expect(m.get('birdwatch_decision_latency_seconds_count')).toBe(90);
    const latencySum = rows
      .filter((r) => r.action !== 'failed')
      .reduce((s, r) => s + (r.time_ms - r.mtime_ms!) / 1000, 0);
    expect(m.get('birdwatch_decision_latency_seconds_sum')).toBeCloseTo(latencySum, 1);
    expect(m.get('birdwatch_files_pending')).toBe(0);
    expect(m.get(`birdwatch_model_info{model_id="${SHIPPED_ID}",provider="cpu"}`)).toBe(1);
    expect(m.get('birdwatch_last_decision_timestamp_seconds{camera="blog"}')).toBe(
      Math.max(...rows.map((r) => r.time_ms)) / 1000,
    );
    // The library's default process metrics.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(m.has(name), name).toBe(true);
    }

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      ok: true,
      problems: [],
      cameras: { blog: 'watching' },
      database: 'ok',
      model_id: SHIPPED_ID,
    });
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect(query(d.db, 'SELECT pid FROM heartbeat')).toEqual([{ pid: daemon.pid }]);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('per camera across a restart and reloads: last decision time from the log, a removed camera gone', async () => {
    const d = newDirs('bw-metrics-cameras-');
    const [garden, pond, heath] = ['garden', 'pond', 'heath'].map((name) => makeCamera(d.root, name));
    const configFile = join(d.root, 'config.json');
    const configure = (...cameras: Array<typeof garden>): void =>
      writeFileSync(
        configFile,
        JSON.stringify({
          cameras,
          db: d.db,
          provider: 'cpu',
          quietMs: 100,
          stallMs: 1000,
          metricsListen: '127.0.0.1:0',
        }),
      );
    const lastOf = (camera: string): number =>
      Math.max(...decisions(d.db, 'camera = ?', camera).map((r) => r.time_ms)) / 1000;
    const scrape = async (base: string): Promise<{ text: string; m: Map<string, number> }> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return { text, m: samples(text) };
    };
    const last = (camera: string): string => `birdwatch_last_decision_timestamp_seconds{camera="${camera}"}`;

    // A first run: a decision for garden, a failure for pond.
    configure(garden!, pond!);
    const first = new DaemonProcess(['run', '--config', configFile]);
    await first.ready();
    copyFileSync(AIRPLANE_FIXTURES[0]!, join(garden!.watch, 'plane.jpg'));
    writeFileSync(join(pond!.watch, 'junk.jpg'), 'not an image\n'.repeat(100));
    await waitForDecisions(d.db, '1=1', [], 2, 30_000, () => first.tail());
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // Restarted with garden and heath (pond no longer configured): garden's time comes from the log at once.
    configure(garden!, heath!);
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    const base = await metricsUrl(daemon);
    await daemon.ready();
    let { text, m } = await scrape(base);
    expect(m.get(last('garden'))).toBe(lastOf('garden'));
    expect(m.has(last('heath'))).toBe(false); // never decided
    expect(text).not.toContain('camera="pond"'); // not configured
    expect(m.get('birdwatch_decisions_total{camera="heath",action="moved"}')).toBe(0);

    // Reload: pond back (its time from the log), heath removed (every series labelled with it gone).
    configure(garden!, pond!);
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reloaded cameras="garden,pond"/);
    ({ text, m } = await scrape(base));
    expect(m.get(last('pond'))).toBe(lastOf('pond'));
    expect(m.get(last('garden'))).toBe(lastOf('garden'));
    expect(text).not.toContain('camera="heath"');
    writeFileSync(join(pond!.watch, 'junk-2.jpg'), 'not an image either\n'.repeat(100));
    await waitForDecisions(d.db, 'camera = ?', ['pond'], 2, 30_000, () => daemon.tail());
    ({ m } = await scrape(base));
    expect(m.get('birdwatch_failures_total{camera="pond",error_kind="not-image"}')).toBe(1);
    expect(m.get(last('pond'))).toBe(lastOf('pond'));

    // Reload without pond: its decisions, failures and last-decision series all go; garden's stay.
    configure(garden!);
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reload: camera removed camera=pond/);
    await daemon.waitForOutput(/config reloaded cameras=garden /);
    ({ text, m } = await scrape(base));
    expect(text.split('\n').filter((line) => line.includes('camera="pond"'))).toEqual([]);
    expect(m.get(last('garden'))).toBe(lastOf('garden'));
    expect(m.get('birdwatch_decisions_total{camera="garden",action="moved"}')).toBe(0); // this process decided none
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('/healthz turns 503 while the database cannot be written, and 200 again after', async (ctx) => {
    needs(ctx, IMMUTABLE_MISSING);
    const d = newDirs('bw-health-', undefined, IMMUTABLE_BASE);
    const daemon = startDaemon(d, ['--provider', 'cpu', '--metrics-listen', '127.0.0.1:0']);
    const base = await metricsUrl(daemon);
    await daemon.ready();
    copyFileSync(BIRD_FIXTURES[0]!, join(d.watch, 'warmup.jpg'));
    await waitForDecisions(d.db, '1=1', [], 1, 30_000, () => daemon.tail());
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const locked = [d.db, `${d.db}-wal`];
    const unlock = (): void => {
      for (const f of locked) spawnSync('chattr', ['-i', f]);
    };
    try {
      for (const f of locked) execFileSync('chattr', ['+i', f]);
      const down = await waitFor(
        async () => {
          const r = await fetch(`${base}/healthz`);
          return r.status === 503
            ? (r.json() as Promise<{ ok: boolean; problems: string[]; database: string }>)
            : undefined;
        },
        10_000,
        () => 'a 503 from /healthz',
      );
      expect(down.ok).toBe(false);
      expect(down.database).toBe('failing');
      expect(down.problems.join(' ')).toMatch(
        /the database does not take writes: .*(readonly|disk I\/O|read-only|permission)/i,
      );
      console.log(`[figures] healthz while unwritable: ${JSON.stringify(down.problems)}`);
    } finally {
      unlock();
    }
    const up = await waitFor(
      async () => {
        const r = await fetch(`${base}/healthz`);
        return r.status === 200 ? (r.json() as Promise<{ ok: boolean }>) : undefined;
      },
      15_000,
      () => 'a 200 from /healthz after the database became writable again',
    );
    expect(up.ok).toBe(true);
    copyFileSync(AIRPLANE_FIXTURES[0]!, join(d.watch, 'after.jpg'));
    await waitForDecisions(d.db, 'path = ?', [join(d.watch, 'after.jpg')], 1, 30_000, () => daemon.tail());
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  // In process (the real service, model, database and HTTP listener): the daemon listens before start() runs, and
  // this is the moment between the two, held still; a child process would pass through it too fast to look at.
  it('/healthz is 503 "starting" until the service\'s start() resolves, each unwatched camera a problem', async () => {
    const d = newDirs('bw-health-start-');
    const config = loadConfig({ flags: { watch: d.watch, airplanes: d.airplanes, db: d.db, provider: 'cpu' } });
    const logger = createLogger('error');
    const models = new CurrentModel(await loadModel({ path: config.model, provider: 'cpu' }), 'cpu', { logger });
    const db = openDatabase(d.db);
    let service: Service | undefined;
    const metrics = new DaemonMetrics({ filesPending: () => service?.filesPending() ?? 0 });
    service = new Service({ config: new CurrentConfig(config), models, log: new DecisionLog(db), logger, metrics });
    const running = service;
    const server = new MetricsServer({ host: '127.0.0.1', port: 0, metrics, health: () => running.health(), logger });
    const { port } = await server.listen();
    const healthz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    try {
      expect(await healthz()).toEqual({
        status: 503,
        body: expect.objectContaining({
          ok: false,
          status: 'starting',
          cameras: { blog: 'starting' },
          database: 'ok',
          problems: [`camera 'blog': not watched yet (starting up)`, 'starting up'],
        }),
      });
      await running.start();
      expect(await healthz()).toEqual({
        status: 200,
        body: expect.objectContaining({ ok: true, status: 'ok', cameras: { blog: 'watching' }, problems: [] }),
      });
    } finally {
      await running.stop();
      await server.close();
      await models.close();
      db.close();
    }
  }, 60_000);

  it('/healthz is 503 naming the camera whose watched folder is gone', async () => {
    const d = newDirs('bw-health-folder-');
    const daemon = startDaemon(d, ['--provider', 'cpu', '--metrics-listen', '127.0.0.1:0']);
    const base = await metricsUrl(daemon);
    await daemon.ready();
    rmSync(d.watch, { recursive: true });
    const down = await waitFor(
      async () => {
        const r = await fetch(`${base}/healthz`);
        return r.status === 503 ? (r.json() as Promise<{ problems: string[] }>) : undefined;
      },
      15_000,
      () => 'a 503 once the watched folder is gone',
    );
    expect(down.problems).toEqual([`camera 'blog': its watched folder is missing or not being watched`]);
  }, 60_000);

  it('a bad metricsListen is a configuration error (exit 2)', async () => {
    const dirs = newDirs('bw-metrics-bad-');
    const result = await runCli([
      'run',
      '--watch',
      dirs.watch,
      '--airplanes',
      dirs.airplanes,
      '--db',
      dirs.db,
      '--metrics-listen',
      'localhost',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `birdwatch: --metrics-listen must be HOST:PORT (e.g. 127.0.0.1:9464), got "localhost"`,
    );
  });
});

describe('systemd notifications', () => {
  it('READY=1 after start-up, then WATCHDOG=1 keep-alives at half of WATCHDOG_USEC, through systemd-notify', async (ctx) => {
    needs(
      ctx,
      spawnSync('systemd-notify', ['--version']).status === 0 ? null : 'systemd-notify (Debian package systemd)',
    );
    const d = newDirs('bw-notify-');
    const socket = join(d.root, 'notify.sock');
    // A datagram receiver standing in for systemd (Node has no AF_UNIX datagram sockets); it prints each message.
    const receiver = spawn(
      'python3',
      [
        '-u',
        '-c',
        `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(repr(s.recv(4096).decode()), flush=True)
`,
        socket,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let heard = '';
    receiver.stdout.on('data', (chunk: Buffer) => {
      heard += chunk.toString();
    });
    try {
      await waitFor(
        () => heard.includes('listening'),
        10_000,
        () => 'the receiver',
      );
      const daemon = startDaemon(d, ['--provider', 'cpu'], {
        env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '2000000' },
      });
      await daemon.ready();
      await waitFor(
        () => (heard.match(/WATCHDOG=1/g) ?? []).length >= 3,
        20_000,
        () => `3 keep-alives; heard:\n${heard}`,
      );
      expect(heard).toMatch(/READY=1\\nSTATUS=watching/);
      expect(heard.indexOf('READY=1')).toBeLessThan(heard.indexOf('WATCHDOG=1'));
      expect(daemon.output).toMatch(/systemd watchdog: sending keep-alives every_ms=1000/);
      expect(await daemon.stop()).toEqual({ code: 0, signal: null });
      await waitFor(
        () => heard.includes('STOPPING=1'),
        10_000,
        () => `STOPPING=1; heard:\n${heard}`,
      );
    } finally {
      receiver.kill();
    }
  }, 60_000);
});
