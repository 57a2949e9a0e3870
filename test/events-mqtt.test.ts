// MQTT as Home Assistant expects, from the real daemon to a real Mosquitto: decisions per camera (not retained), a
// retained state topic per camera, availability with offline as the last will, discovery (one device per camera,
// numeric sensors numeric, removed when a camera leaves the config); and nothing lost: the broker down while 50 shots
// are decided, the daemon SIGKILLed, the broker back: every decision arrives, duplicates only by event_id.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, makeCamera, runCli, useTestDirs, writeConfigFile } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg } from './helpers/images.js';
import { Broker, freePort, MOSQUITTO, Recorder, type Message } from './helpers/mosquitto.js';
import { needs } from './helpers/preconditions.js';
import { waitFor } from './helpers/wait.js';

const makeDirs = useTestDirs();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const done of cleanups) await done();
});

const json = (m: Message | undefined): Record<string, unknown> => JSON.parse(m!.payload) as Record<string, unknown>;

describe('MQTT (Home Assistant)', () => {
  it('publishes decisions, per-camera state, availability and discovery, and loses nothing while the broker is down', async (ctx) => {
    needs(ctx, existsSync(MOSQUITTO) ? null : `mosquitto at ${MOSQUITTO} (Debian package mosquitto)`);
    const dirs = makeDirs('bw-mqtt-');
    const garden = makeCamera(dirs.root, 'garden');
    const pond = makeCamera(dirs.root, 'pond');
    const broker = new Broker(dirs.root, await freePort());
    cleanups.push(() => broker.stop());
    await broker.start();
    const live = new Recorder();
    cleanups.push(() => live.close());
    await live.connect(broker.url);
    const settings = (cameras: unknown[]) => ({
      cameras,
      db: dirs.db,
      quietMs: 100,
      mqtt: { url: broker.url, topicPrefix: 'club' },
      events: { retryMaxSeconds: 1, pollMs: 100 },
    });
    const config = writeConfigFile(dirs, settings([garden, pond]));
    let daemon = new DaemonProcess(['run', '--config', config]);
    await daemon.ready();
    await waitFor(
      () => live.on('club/availability').some((m) => m.payload === 'online'),
      30_000,
      () => `online\n${daemon.tail()}`,
    );

    // One decision per camera: each on its own decision topic, each camera's state on its own topic.
    const planes = await Promise.all(AIRPLANE_FIXTURES.map((f, i) => cameraJpeg(f, 320 + 32 * i, 240)));
    const birds = await Promise.all(BIRD_FIXTURES.map((f, i) => cameraJpeg(f, 320 + 32 * i, 240)));
    mkdirSync(join(garden.watch, 'may'));
    writeFileSync(join(garden.watch, 'may', 'plane.jpg'), planes[0]!);
    writeFileSync(join(pond.watch, 'heron.jpg'), birds[0]!);
    await waitFor(
      () => live.on('club/garden/decision').length === 1 && live.on('club/pond/decision').length === 1,
      30_000,
      () => `a decision per camera\n${daemon.tail()}`,
    );
    const first = decisions(dirs.db, "camera = 'garden'")[0]!;
    const decision = json(live.on('club/garden/decision')[0]);
    expect(decision).toMatchObject({
      type: 'decision',
      id: first.id,
      camera: 'garden',
      action: 'moved',
      label: 'airplane',
      p_airplane: first.p_airplane,
      threshold: first.threshold,
      time: first.time,
      file: join('may', 'plane.jpg'),
    });
    expect(decision.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof decision.p_airplane).toBe('number');
    await waitFor(
      () => live.on('club/pond/state').some((m) => m.payload.includes('"heron.jpg"')),
      30_000,
      () => 'the pond state after its decision',
    );
    const pondState = json(live.on('club/pond/state').at(-1));
    expect(pondState).toMatchObject({ camera: 'pond', airplanes_moved_today: 0, birds_kept_today: 1 });
    expect(json(live.on('club/garden/state').at(-1))).toMatchObject({
      camera: 'garden',
      airplanes_moved_today: 1,
      birds_kept_today: 0,
    });

    // The broker goes away; 50 shots are decided meanwhile; the daemon is SIGKILLed before it is back.
    await broker.stop();
    for (let i = 0; i < 50; i++) {
      const camera = i % 2 === 0 ? garden : pond;
      writeFileSync(
        join(camera.watch, `shot-${String(i).padStart(2, '0')}.jpg`),
        i % 3 === 0 ? planes[i % planes.length]! : birds[i % birds.length]!,
      );
    }
    await waitForDecisions(dirs.db, '1=1', [], 52, 120_000, () => daemon.tail());
    await daemon.kill();
    const waiting = await runCli(['events', '--config', config, '--pending', '--json', '--limit', '1000']);
    expect(waiting.code).toBe(0);
    expect(
      waiting.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(Array(50).fill('decision'));

    await broker.start();
    const after = new Recorder();
    cleanups.push(() => after.close());
    await after.connect(broker.url);
    daemon = new DaemonProcess(['run', '--config', config]);
    const rows = decisions(dirs.db);
    const received = (): Message[] =>
      [...live.messages, ...after.messages].filter((m) => /^club\/(garden|pond)\/decision$/.test(m.topic));
    await waitFor(
      () => new Set(received().map((m) => json(m).id)).size === rows.length,
      60_000,
      () => `${rows.length} decisions, have ${new Set(received().map((m) => json(m).id)).size}\n${daemon.tail()}`,
    );
    // Every decision arrived; any one seen twice carries the same event_id (the receiver's key to drop it).
    const eventIds = new Map<unknown, Set<unknown>>();
    for (const m of received()) {
      const body = json(m);
      expect(m.topic).toBe(`club/${String(body.camera)}/decision`);
      eventIds.set(body.id, (eventIds.get(body.id) ?? new Set()).add(body.event_id));
    }
    expect([...eventIds.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
    for (const ids of eventIds.values()) expect(ids.size).toBe(1);

    // What a newcomer (Home Assistant starting) finds retained: online, each camera's state and discovery;
    // decisions are not retained.
    const newcomer = new Recorder();
    cleanups.push(() => newcomer.close());
    await waitFor(
      async () => {
        await newcomer.close();
        newcomer.messages.length = 0;
        await newcomer.connect(broker.url);
        await new Promise((done) => setTimeout(done, 500));
        const state = newcomer.on('club/garden/state').at(-1);
        return state !== undefined && json(state).decisions_today === rows.filter((r) => r.camera === 'garden').length;
      },
      60_000,
      () =>
        `garden's retained state with every decision (${
          rows.filter((r) => r.camera === 'garden').length
        }), have ${JSON.stringify(newcomer.messages.filter((m) => m.topic.startsWith('club/')))}`,
    );
    expect(newcomer.on('club/availability').map((m) => [m.payload, m.retain])).toEqual([['online', true]]);
    expect(newcomer.on('club/garden/decision')).toEqual([]);
    for (const camera of ['garden', 'pond']) {
      const mine = rows.filter((r) => r.camera === camera);
      const state = newcomer.on(`club/${camera}/state`);
      expect(state).toHaveLength(1);
      expect(state[0]!.retain).toBe(true);
      expect(json(state[0])).toMatchObject({
        camera,
        airplanes_moved_today: mine.filter((r) => r.action === 'moved').length,
        birds_kept_today: mine.filter((r) => r.action === 'kept').length,
      });
      const sensors = newcomer.messages.filter((m) => m.topic.startsWith(`homeassistant/sensor/club_${camera}/`));
      expect(sensors.map((m) => m.topic).sort()).toEqual(
        ['airplanes_moved_today', 'birds_kept_today', 'last_p_airplane', 'promise_state'].map(
          (o) => `homeassistant/sensor/club_${camera}/${o}/config`,
        ),
      );
      // The promise state is text (a fresh camera: not yet measured), under a sensor without a unit or state class.
      expect(String(json(state[0]).promise_state)).toMatch(/^not yet measured on this camera/);
      for (const sensor of sensors) {
        const discovery = json(sensor);
        if (sensor.topic.endsWith('/promise_state/config')) {
          expect(discovery).not.toHaveProperty('unit_of_measurement');
          expect(discovery).not.toHaveProperty('state_class');
          continue;
        }
        expect(discovery).toMatchObject({
          state_topic: `club/${camera}/state`,
          availability_topic: 'club/availability',
          device: { identifiers: [`club_${camera}`], name: `birdwatch ${camera}` },
        });
        // Numeric sensors read numbers only from the state.
        const key = /value_json\.(\w+)/.exec(String(discovery.value_template))![1]!;
        expect(typeof json(state[0])[key]).toBe('number');
      }
    }

    // A camera leaves the config: its device is removed from Home Assistant (empty retained configs).
    writeConfigFile(dirs, settings([garden]));
    daemon.child.kill('SIGHUP');
    await waitFor(
      () =>
        newcomer.messages.filter((m) => m.topic.startsWith('homeassistant/sensor/club_pond/') && m.payload === '')
          .length >= 3,
      30_000,
      () => `pond removed\n${daemon.tail()}`,
    );
    // Killed, the daemon's last will says offline.
    await daemon.kill();
    await waitFor(
      () => newcomer.on('club/availability').at(-1)?.payload === 'offline',
      30_000,
      () => 'offline (the last will)',
    );
  }, 300_000);
});
