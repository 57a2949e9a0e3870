// The daemon as a service: clean stop on SIGTERM/SIGINT mid-stream, recovery after SIGKILL (the filesystem and
// the log agree: interrupted moves finished or undone, temp files removed), the CUDA fallback, several cameras,
// polling mode, and every configuration error with exit code 2 and a message that names the problem.
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DecisionLog, openDatabase, timestamp, type DecisionRow } from '../src/db/index.js';
import { TEMP_PREFIX } from '../src/fs/move.js';
import {
  DaemonProcess,
  killAllDaemons,
  listTree,
  makeTestDirs,
  REPO,
  runCli,
  startDaemon,
  writeConfigFile,
  type TestDirs,
} from './helpers/daemon.js';
import { decisions, pendingMoves, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg, sha256 } from './helpers/images.js';
import { sleep, waitFor } from './helpers/wait.js';

let planes: Buffer[] = [];
let birds: Buffer[] = [];
const dirs: TestDirs[] = [];
function newDirs(): TestDirs {
  const d = makeTestDirs();
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  planes = await Promise.all(AIRPLANE_FIXTURES.map((f) => cameraJpeg(f)));
  birds = await Promise.all(BIRD_FIXTURES.map((f) => cameraJpeg(f)));
});
afterEach(async () => {
  await killAllDaemons();
});
afterAll(() => {
  for (const d of dirs) d.cleanup();
});

/** Debug lines and frequent rescans: what daemon.caughtUp() waits for before a "nothing else happened" check. */
const LOOKS = ['--log-level', 'debug', '--rescan-interval-ms', '500'];

/** n distinct shots (alternating airplane/bird) with their expected action. */
function shots(n: number): Array<{ name: string; bytes: Buffer; plane: boolean }> {
  return Array.from({ length: n }, (_, i) => {
    const plane = i % 2 === 0;
    const base = plane ? planes[i % 3]! : birds[i % 3]!;
    // A distinct file each time (a JPEG comment-like trailer after EOI keeps the image identical).
    return {
      name: `shot-${String(i).padStart(3, '0')}.jpg`,
      bytes: Buffer.concat([base, Buffer.from(`#${i}`)]),
      plane,
    };
  });
}

/** Every shot exists exactly once (blog or airplanes), byte-identical, with exactly one row that says where. */
function expectConsistent(d: TestDirs, all: ReturnType<typeof shots>): void {
  const rows = decisions(d.db);
  for (const shot of all) {
    const inBlog = existsSync(join(d.watch, shot.name));
    const inPlanes = existsSync(join(d.airplanes, shot.name));
    expect(Number(inBlog) + Number(inPlanes), `${shot.name} exists exactly once`).toBe(1);
    const where = inBlog ? join(d.watch, shot.name) : join(d.airplanes, shot.name);
    expect(sha256(readFileSync(where))).toBe(sha256(shot.bytes));
    const mine = rows.filter((r) => r.sha256 === sha256(shot.bytes));
    expect(mine.length, `${shot.name} has exactly one row`).toBe(1);
    expect(mine[0]!.final_path).toBe(where);
    expect(mine[0]!.action).toBe(shot.plane ? 'moved' : 'kept');
  }
  expect(pendingMoves(d.db)).toEqual([]);
  expect([...listTree(d.watch), ...listTree(d.airplanes)].filter((f) => f.includes(TEMP_PREFIX))).toEqual([]);
}

describe('service behaviour', () => {
  it('stops cleanly (exit 0) on SIGTERM mid-stream, and the next run decides the rest exactly once', async () => {
    const d = newDirs();
    const all = shots(30);
    const daemon = startDaemon(d);
    await daemon.ready();
    for (const shot of all) writeFileSync(join(d.watch, shot.name), shot.bytes);
    await waitForDecisions(d.db, '1=1', [], 1, 30_000, () => daemon.tail());
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(daemon.output).toMatch(/shutting down signal=SIGTERM/);
    expect(daemon.output).toMatch(/ info stopped/);
    expect(pendingMoves(d.db)).toEqual([]);

    const again = startDaemon(d, LOOKS);
    await waitForDecisions(d.db, '1=1', [], all.length, 60_000, () => again.tail());
    await again.caughtUp();
    expectConsistent(d, all);
    expect(await again.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('recovers after SIGKILL mid-stream: nothing lost, nothing duplicated, one row per file', async () => {
    const d = newDirs();
    const all = shots(40);
    let daemon = startDaemon(d);
    await daemon.ready();
    const writing = (async () => {
      for (const shot of all) {
        writeFileSync(join(d.watch, shot.name), shot.bytes);
        await sleep(20);
      }
    })();
    for (let kill = 0; kill < 3; kill++) {
      const before = decisions(d.db).length;
      await waitFor(
        () => decisions(d.db).length > before,
        30_000,
        () => `a decision (${daemon.tail()})`,
        20,
      );
      await daemon.kill();
      daemon = startDaemon(d, LOOKS);
    }
    await writing;
    await waitForDecisions(d.db, '1=1', [], all.length, 60_000, () => daemon.tail());
    await daemon.caughtUp();
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
    expectConsistent(d, all);
  });

  it('reconciles the moves a crash interrupted, at every step, and removes leftover temp files', async () => {
    const d = newDirs();
    // The states a SIGKILL can leave behind, built with the daemon's own bookkeeping code.
    const db = openDatabase(d.db);
    const log = new DecisionLog(db);
    const row = (file: string, bytes: Buffer): Omit<DecisionRow, 'final_path'> => ({
      ...timestamp(),
      camera: 'blog',
      path: file,
      size: bytes.length,
      sha256: sha256(bytes),
      mtime_ms: 0,
      width: 1920,
      height: 1080,
      format: 'jpeg',
      p_airplane: 0.99,
      p_bird: 0.01,
      label: 'airplane',
      threshold: 0.5,
      action: 'moved',
      error: null,
      error_kind: null,
      model_id: 'test',
      provider: 'cpu',
      latency_ms: 1,
    });
    const intent = (name: string, bytes: Buffer, target: string | null): { src: string; target: string } => {
      const src = join(d.watch, name);
      writeFileSync(src, bytes);
      const dest = join(d.airplanes, name);
      const id = log.addPendingMove({
        kind: 'decide',
        src,
        dest,
        sha256: sha256(bytes),
        size: bytes.length,
        record: { table: 'decisions', row: row(src, bytes) },
      });
      if (target !== null) log.setPendingTarget(id, target);
      // A dead owner: reconciliation only touches moves of processes that are gone.
      db.prepare('UPDATE pending_moves SET owner_pid = 999999999 WHERE id = ?').run(id);
      return { src, target: target ?? dest };
    };
    const a = intent('linked.jpg', planes[0]!, join(d.airplanes, 'linked.jpg'));
    linkSync(a.src, a.target); // crashed after link(), before unlink()
    const b = intent('done.jpg', planes[1]!, join(d.airplanes, 'done.jpg'));
    linkSync(b.src, b.target); // crashed after unlink(), before the row
    unlinkSync(b.src);
    const c = intent('never.jpg', planes[2]!, join(d.airplanes, 'never.jpg')); // crashed before link()
    const e = intent('unplanned.jpg', birds[0]!, null); // crashed right after writing the intent
    writeFileSync(join(d.airplanes, `${TEMP_PREFIX}x.jpg`), planes[0]!.subarray(0, 1000)); // an interrupted copy
    db.close();

    const daemon = startDaemon(d, LOOKS);
    await daemon.ready();
    await waitForDecisions(d.db, '1=1', [], 4, 30_000, () => daemon.tail());
    await daemon.caughtUp();
    const rows = decisions(d.db);
    const rowFor = (src: string) => rows.filter((r) => r.path === src);
    // a, b: the move happened, so it is completed with the recorded decision (model_id 'test').
    for (const moved of [a, b]) {
      expect(rowFor(moved.src).map((r) => [r.action, r.final_path, r.model_id])).toEqual([
        ['moved', moved.target, 'test'],
      ]);
      expect(existsSync(moved.src)).toBe(false);
      expect(existsSync(moved.target)).toBe(true);
    }
    // c, e: the move never happened: the intent is dropped and the file decided afresh by the real model.
    expect(rowFor(c.src).map((r) => [r.action, r.final_path])).toEqual([['moved', c.target]]);
    expect(rowFor(c.src)[0]!.model_id).not.toBe('test');
    expect(rowFor(e.src).map((r) => [r.action, r.final_path])).toEqual([['kept', e.src]]);
    expect(pendingMoves(d.db)).toEqual([]);
    expect(listTree(d.airplanes)).toEqual(['done.jpg', 'linked.jpg', 'never.jpg']);
    expect(daemon.output).toMatch(/reconciled an interrupted move: completed/);
    expect(daemon.output).toMatch(/removed the temp file of an interrupted copy/);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('the safety rescan finds a file no watcher reported (polling every 10 min, rescan every second)', async () => {
    const d = newDirs();
    const daemon = startDaemon(d, ['--polling', '--poll-interval-ms', '600000', '--rescan-interval-ms', '1000']);
    await daemon.ready();
    mkdirSync(join(d.watch, 'missed'));
    writeFileSync(join(d.watch, 'missed', 'p.jpg'), planes[0]!);
    const [row] = await waitForDecisions(d.db, '1=1', [], 1, 30_000, () => daemon.tail());
    expect(row!.final_path).toBe(join(d.airplanes, 'missed', 'p.jpg'));
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('falls back to the CPU when CUDA is requested but absent, and records the provider used', async () => {
    const d = newDirs();
    const daemon = startDaemon(d, ['--provider', 'cuda']);
    await daemon.ready();
    expect(daemon.output).toMatch(/CUDA execution provider requested but not available .*falling back to CPU/);
    writeFileSync(join(d.watch, 'p.jpg'), planes[0]!);
    const [row] = await waitForDecisions(d.db, '1=1', [], 1, 30_000, () => daemon.tail());
    expect(row!.provider).toBe('cpu');
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('serves several cameras from one config file, each with its folders and threshold; polling mode too', async () => {
    const d = newDirs();
    const camera = (name: string) => {
      const watch = join(d.root, name, 'upload');
      const airplanes = join(d.root, name, 'airplanes');
      mkdirSync(watch, { recursive: true });
      mkdirSync(airplanes, { recursive: true });
      return { watch, airplanes };
    };
    const garden = camera('garden');
    const pond = camera('pond');
    const config = writeConfigFile(d, {
      cameras: [
        { name: 'garden', watch: 'garden/upload', airplanes: 'garden/airplanes' }, // relative to the config file
        { name: 'pond', watch: pond.watch, airplanes: pond.airplanes, threshold: 0 }, // moves everything
      ],
      db: d.db,
      polling: true,
      pollIntervalMs: 200,
    });
    // Not startDaemon(): its --watch/--airplanes flags would replace the config's cameras.
    const multi = new DaemonProcess(['run', '--config', config]);
    await multi.ready();
    expect(multi.output).toMatch(/mode=polling/);
    writeFileSync(join(garden.watch, 'bird.jpg'), birds[0]!);
    writeFileSync(join(pond.watch, 'bird.jpg'), birds[1]!);
    const rows = await waitForDecisions(d.db, '1=1', [], 2, 30_000, () => multi.tail());
    const by = Object.fromEntries(rows.map((r) => [r.camera, r]));
    expect(by.garden!.action).toBe('kept');
    expect(by.pond!.action).toBe('moved');
    expect(by.pond!.threshold).toBe(0);
    expect(by.pond!.final_path).toBe(join(pond.airplanes, 'bird.jpg'));
    expect(await multi.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('configuration errors: exit code 2 and a specific message', () => {
  const cases: Array<[string, (d: TestDirs) => string[], RegExp]> = [
    [
      'unknown key',
      (d) => ['--config', writeConfigFile(d, { watch: d.watch, airplanes: d.airplanes, colour: 'red' })],
      /unknown key 'colour' in .*config\.json/,
    ],
    [
      'unknown camera key',
      (d) => ['--config', writeConfigFile(d, { cameras: [{ watch: d.watch, airplanes: d.airplanes, zoom: 2 }] })],
      /unknown key 'zoom' in cameras\[0\]/,
    ],
    [
      'invalid JSON',
      (d) => {
        writeFileSync(join(d.root, 'bad.json'), '{"watch": ');
        return ['--config', join(d.root, 'bad.json')];
      },
      /config file .*bad\.json is not valid JSON/,
    ],
    ['missing config file', (d) => ['--config', join(d.root, 'nope.json')], /cannot read config file .*does not exist/],
    [
      'missing watched folder',
      (d) => ['--watch', join(d.root, 'nope'), '--airplanes', d.airplanes, '--db', d.db],
      /watched folder of camera 'blog' .*nope: does not exist/,
    ],
    [
      'airplanes folder is a file',
      (d) => {
        writeFileSync(join(d.root, 'file'), '');
        return ['--watch', d.watch, '--airplanes', join(d.root, 'file'), '--db', d.db];
      },
      /airplanes folder of camera 'blog' .*file is not a folder/,
    ],
    [
      'watched folder inside its airplanes folder',
      (d) => {
        mkdirSync(join(d.airplanes, 'up'));
        return ['--watch', join(d.airplanes, 'up'), '--airplanes', d.airplanes, '--db', d.db];
      },
      /the watched folder cannot be inside its airplanes folder/,
    ],
    [
      'threshold out of range',
      (d) => ['--watch', d.watch, '--airplanes', d.airplanes, '--db', d.db, '--threshold', '1.5'],
      /--threshold must be between 0 and 1, got 1\.5/,
    ],
    [
      'camera threshold out of range',
      (d) => [
        '--config',
        writeConfigFile(d, { cameras: [{ watch: d.watch, airplanes: d.airplanes, threshold: -0.1 }] }),
      ],
      /'threshold' of cameras\[0\].* must be between 0 and 1/,
    ],
    [
      'malformed model',
      (d) => {
        writeFileSync(join(d.root, 'm.onnx'), 'not a model');
        return ['--watch', d.watch, '--airplanes', d.airplanes, '--db', d.db, '--model', join(d.root, 'm.onnx')];
      },
      /m\.onnx is not a valid ONNX file/,
    ],
    [
      'missing model',
      (d) => ['--watch', d.watch, '--airplanes', d.airplanes, '--db', d.db, '--model', join(d.root, 'none.onnx')],
      /model .*none\.onnx: does not exist/,
    ],
    [
      'bad provider',
      (d) => ['--watch', d.watch, '--airplanes', d.airplanes, '--db', d.db, '--provider', 'tpu'],
      /--provider must be 'auto', 'cuda' or 'cpu'/,
    ],
    ['unknown flag', (d) => ['--watch', d.watch, '--frobnicate'], /Unknown option '--frobnicate'/],
    [
      'database from a newer birdwatch',
      (d) => {
        const db = new Database(d.db);
        db.pragma('user_version = 99');
        db.close();
        return ['--watch', d.watch, '--airplanes', d.airplanes, '--db', d.db];
      },
      /schema version 99, newer than this birdwatch understands/,
    ],
  ];
  // Each case is one short CLI process on folders of its own, deciding nothing: they run side by side (vitest's
  // maxConcurrency, 5 at a time), with the test's own expect so each failure is told to its own case.
  for (const [name, args, message] of cases) {
    it.concurrent(name, async ({ expect }) => {
      const d = newDirs();
      const result = await runCli(['run', ...args(d)]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^birdwatch: /);
      expect(result.stderr).toMatch(message);
    });
  }

  it('creates the default var/ folders and logs the effective config once', async () => {
    const d = newDirs();
    // Only the db is redirected; watch/airplanes default to var/ under the project root whatever the cwd.
    const daemon = new DaemonProcess(['run', '--db', d.db], { cwd: d.root });
    await daemon.ready();
    expect(existsSync(join(REPO, 'var', 'blog'))).toBe(true);
    expect(existsSync(join(REPO, 'var', 'airplanes'))).toBe(true);
    expect(daemon.output.match(/birdwatch starting .*config=/g)?.length).toBe(1);
    expect(daemon.output).toContain(JSON.stringify(join(REPO, 'var', 'blog')).slice(1, -1));
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });
});
