// Signed webhooks from the real daemon to a real node:http receiver: a receiver answering 500 gets the event again
// (same event_id) once it answers 200; the signature checks out with the right secret and a receiver holding another
// secret detects it; filters and the cooldown pass events over; a secret file others may read is refused; a
// restore made by the CLI (another process) is delivered too; `birdwatch events` shows what waits and why.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, makeCamera, runCli, useTestDirs, writeConfigFile } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg } from './helpers/images.js';
import { waitFor } from './helpers/wait.js';

const makeDirs = useTestDirs();

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  body: Record<string, unknown>;
}

/** A receiver on a free loopback port; `answer` picks each request's status (called with the count so far). */
async function receiver(
  answer: (path: string, n: number) => number,
  port = 0,
): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const status = answer(req.url!, got.filter((g) => g.path === req.url).length);
      got.push({ path: req.url!, headers: req.headers, raw, body: JSON.parse(raw.toString()) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** How a receiver checks a delivery (the same code as docs/events.md shows). */
function signatureValid(raw: Buffer, header: string | undefined, secret: string): boolean {
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(raw).digest('hex'));
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function secretFile(root: string, name: string, secret: string, mode = 0o600): string {
  const file = join(root, name);
  writeFileSync(file, secret + '\n');
  chmodSync(file, mode);
  return file;
}

describe('webhooks', () => {
  it('retries a 500 until a 200, signs every body, filters and cools down, and carries event ids', async () => {
    const dirs = makeDirs('bw-webhook-');
    const garden = makeCamera(dirs.root, 'garden');
    const pond = makeCamera(dirs.root, 'pond');
    // /all answers 500 to its first request, then 200; /moved and /cool always 200.
    const hook = await receiver((path, n) => (path === '/all' && n === 0 ? 500 : 200));
    servers.push(hook.server);
    const config = writeConfigFile(dirs, {
      cameras: [garden, pond],
      db: dirs.db,
      quietMs: 100,
      webhooks: [
        { url: `${hook.url}/all`, secretFile: secretFile(dirs.root, 'all.secret', 'right secret') },
        {
          url: `${hook.url}/moved`,
          secretFile: secretFile(dirs.root, 'moved.secret', 'another secret'),
          events: ['decision'],
          cameras: ['garden'],
          actions: ['moved'],
        },
        {
          url: `${hook.url}/cool`,
          secretFile: secretFile(dirs.root, 'cool.secret', 'cool secret'),
          events: ['decision'],
          cooldownSeconds: 3600,
        },
      ],
      events: { retryMaxSeconds: 1, pollMs: 100 },
    });
    const daemon = new DaemonProcess(['run', '--config', config]);
    await daemon.ready();
    const plane = await cameraJpeg(AIRPLANE_FIXTURES[0]!, 640, 480);
    const bird = await cameraJpeg(BIRD_FIXTURES[0]!, 640, 480);
    mkdirSync(join(garden.watch, '2026'));
    writeFileSync(join(garden.watch, '2026', 'plane.jpg'), plane);
    writeFileSync(join(garden.watch, 'robin.jpg'), bird);
    writeFileSync(join(pond.watch, 'pond plane.jpg'), plane);
    const rows = await waitForDecisions(dirs.db, '1=1', [], 3, 60_000, () => daemon.tail());

    // The first POST to /all got a 500: the same event comes again, and all three arrive.
    const all: Received[] = await waitFor(
      () => {
        const ids = new Set(hook.got.filter((g) => g.path === '/all').map((g) => g.body.event_id));
        return ids.size === 3 ? hook.got.filter((g) => g.path === '/all') : undefined;
      },
      30_000,
      () => `3 events at /all, got ${JSON.stringify(hook.got.map((g) => g.path))}\n${daemon.tail()}`,
    );
    expect(all.length).toBe(4);
    expect(all[1]!.body.event_id).toBe(all[0]!.body.event_id);
    expect(all[1]!.raw.equals(all[0]!.raw)).toBe(true);
    for (const g of all) {
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.headers['x-birdwatch-event']).toBe('decision');
      expect(signatureValid(g.raw, g.headers['x-birdwatch-signature'] as string, 'right secret')).toBe(true);
      // A receiver holding another secret, or a body changed on the way, is told apart.
      expect(signatureValid(g.raw, g.headers['x-birdwatch-signature'] as string, 'wrong secret')).toBe(false);
      const tampered = Buffer.from(g.raw.toString().replace('"camera"', '"Camera"'));
      expect(signatureValid(tampered, g.headers['x-birdwatch-signature'] as string, 'right secret')).toBe(false);
    }
    const byId = new Map(all.map((g) => [g.body.id, g.body]));
    for (const row of rows) {
      const body = byId.get(row.id)!;
      expect(body).toMatchObject({
        type: 'decision',
        id: row.id,
        camera: row.camera,
        action: row.action,
        label: row.label,
        p_airplane: row.p_airplane,
        threshold: row.threshold,
        time: row.time,
      });
      expect(typeof body.p_airplane).toBe('number');
      expect(JSON.stringify(body)).not.toContain(dirs.root); // no absolute server path leaves
    }
    expect(byId.get(rows.find((r) => r.path.endsWith('plane.jpg') && r.camera === 'garden')!.id)!.file).toBe(
      join('2026', 'plane.jpg'),
    );

    // /moved: garden's moved shots only. /cool: each camera's first decision, then nothing within the hour.
    await waitFor(
      () => hook.got.some((g) => g.path === '/moved'),
      30_000,
      () => 'a POST to /moved',
    );
    await waitFor(
      () => hook.got.some((g) => g.path === '/cool'),
      30_000,
      () => 'a POST to /cool',
    );
    // A restore by the CLI (another process): its event reaches /all, which proves the worker has gone past
    // every decision for each sink (they are sent in order).
    const moved = decisions(dirs.db, "camera = 'garden' AND action = 'moved'")[0]!;
    const restore = await runCli(['restore', String(moved.id), '--config', config]);
    expect(restore.code).toBe(0);
    const restored = await waitFor(
      () => hook.got.find((g) => g.path === '/all' && g.body.type === 'restore'),
      30_000,
      () => `the restore at /all\n${daemon.tail()}`,
    );
    expect(restored.headers['x-birdwatch-event']).toBe('restore');
    expect(restored.body).toMatchObject({
      id: moved.id,
      camera: 'garden',
      label: 'bird',
      file: join('2026', 'plane.jpg'),
    });
    const events = await runCli(['events', '--config', config, '--json']);
    expect(events.code).toBe(0);
    const listed = events.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const cooled = listed.filter((e) => String(e.sink).endsWith('/cool') && e.state === 'delivered');
    const movedHook = listed.filter((e) => String(e.sink).endsWith('/moved') && e.state === 'delivered');
    // The cooldown counts per camera: garden's second decision within the hour was passed over.
    expect(
      hook.got
        .filter((g) => g.path === '/cool')
        .map((g) => g.body.camera)
        .sort(),
    ).toEqual(['garden', 'pond']);
    expect(cooled).toHaveLength(2);
    expect(
      hook.got.filter((g) => g.path === '/moved').map((g) => g.body.id),
      JSON.stringify(decisions(dirs.db).map((r) => [r.id, r.camera, r.path, r.action])),
    ).toEqual([moved.id]);
    expect(movedHook).toHaveLength(1);
    expect(
      listed.find((e) => String(e.sink).endsWith('/all') && e.id === all[0]!.body.id && e.type === 'decision'),
    ).toMatchObject({ state: 'delivered', attempts: 2 });
    const pending = await runCli(['events', '--config', config, '--pending']);
    expect(pending.stdout).toContain('nothing waiting');
  });

  it('keeps events waiting while a receiver is down, says why, and delivers them once it is back', async () => {
    const dirs = makeDirs('bw-webhook-down-');
    const hook = await receiver(() => 200);
    const url = hook.url;
    hook.server.close();
    await new Promise((done) => hook.server.once('close', done));
    const config = writeConfigFile(dirs, {
      watch: dirs.watch,
      airplanes: dirs.airplanes,
      db: dirs.db,
      quietMs: 100,
      webhooks: [{ url: `${url}/in`, secretEnv: 'HOOK_SECRET' }],
      events: { retryMaxSeconds: 1, pollMs: 100 },
    });
    const daemon = new DaemonProcess(['run', '--config', config], { env: { HOOK_SECRET: 'env secret' } });
    await daemon.ready();
    writeFileSync(join(dirs.watch, 'a.jpg'), await cameraJpeg(AIRPLANE_FIXTURES[1]!, 640, 480));
    writeFileSync(join(dirs.watch, 'b.jpg'), await cameraJpeg(BIRD_FIXTURES[1]!, 640, 480));
    await waitForDecisions(dirs.db, '1=1', [], 2, 60_000, () => daemon.tail());
    await daemon.waitForOutput('event delivery failed, will retry');
    const failed = await runCli(['events', '--config', config, '--failed']);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(/webhook:http:\/\/127\.0\.0\.1:\d+\/in: 2 waiting, 0 dropped in all, failing/);
    expect(failed.stdout).toContain('ECONNREFUSED');
    // The daemon is killed while the receiver is down; the events wait in the database for the next start.
    await daemon.kill();
    const back = await receiver(() => 204, Number(new URL(url).port));
    servers.push(back.server);
    const restarted = new DaemonProcess(['run', '--config', config], { env: { HOOK_SECRET: 'env secret' } });
    await waitFor(
      () => new Set(back.got.map((g) => g.body.event_id)).size === 2,
      30_000,
      () => `2 events after the restart\n${restarted.tail()}`,
    );
    for (const g of back.got) {
      expect(signatureValid(g.raw, g.headers['x-birdwatch-signature'] as string, 'env secret')).toBe(true);
    }
    expect(back.got.map((g) => g.body.file).sort()).toEqual(['a.jpg', 'b.jpg']);
  });

  it('refuses to start with a secret file other users may read, in one line', async () => {
    const dirs = makeDirs('bw-webhook-secret-');
    const file = secretFile(dirs.root, 'open.secret', 'exposed', 0o644);
    const config = writeConfigFile(dirs, {
      watch: dirs.watch,
      airplanes: dirs.airplanes,
      db: dirs.db,
      webhooks: [{ url: 'http://127.0.0.1:9/x', secretFile: file }],
    });
    const daemon = new DaemonProcess(['run', '--config', config]);
    const exit = await daemon.exited;
    expect(exit.code).toBe(2);
    const line = daemon.output.split('\n').find((l) => l.startsWith('birdwatch: '));
    expect(line).toBe(
      `birdwatch: webhook:http://127.0.0.1:9/x secretFile: the secret file ${file} is readable by ` +
        `other users (mode 644): run chmod 600 ${file}`,
    );
  });
});
