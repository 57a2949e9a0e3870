// The members' tests share one kind of world: two cameras watched by the real daemon (`node dist/cli.js run`), real
// shots (the fixture images, upscaled to camera size) and a file that fails, all decided and logged in a temp
// database. Queries then run against that database while the daemon is still running. useWorld() gives a test file
// (or a describe block) its world, built once before its tests and removed after them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  DaemonProcess,
  killAllDaemons,
  makeCamera,
  makeTestDirs,
  runCli,
  writeConfigFile,
  type TestDirs,
} from './helpers/daemon.js';
import { decisions, waitForDecisions, type Decision } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg } from './helpers/images.js';

export interface Camera {
  name: string;
  watch: string;
  airplanes: string;
}

export interface World {
  dirs: TestDirs;
  garden: Camera;
  pond: Camera;
  config: string;
  daemon: DaemonProcess;
  /** Runs `birdwatch ARGS --config <the daemon's config>`. */
  cli: (args: string[]) => ReturnType<typeof runCli>;
  rows(): Decision[];
  /** The decision row of the shot found at `watch/rel` of a camera. */
  row(camera: Camera, rel: string): Decision;
  planes: Buffer[];
  birds: Buffer[];
  /** Shots never seen before (new bytes, same decision as the fixture): content a correction has not touched. */
  newPlane(): Promise<Buffer>;
  newBird(): Promise<Buffer>;
}

/** What the world's cameras receive (relative paths; the daemon decides each one). */
export const shots = {
  garden: {
    planes: ['2026/plane one.jpg', 'plane-two.jpg'],
    birds: ['robin.jpg', 'sub/wren.jpg', 'odd, "quoted" name.jpg'],
    broken: ['broken.jpg'],
  },
  pond: { planes: ['pond plane.jpg'], birds: ['heron.jpg'], broken: [] as string[] },
};

/** Drops a new shot into a camera's blog and waits for the daemon's decision on it. */
export async function dropShot(world: World, camera: Camera, rel: string, bytes: Buffer): Promise<Decision> {
  const file = join(camera.watch, rel);
  const lastId = world.rows().reduce((max, r) => Math.max(max, r.id), 0);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, bytes);
  const [row] = await waitForDecisions(world.dirs.db, 'path = ? AND id > ?', [file, lastId], 1, 30_000, () =>
    world.daemon.tail(),
  );
  return row!;
}

export { alreadyDecidedLine } from './helpers/daemon.js';

export async function startWorld(prefix: string): Promise<World> {
  const dirs = makeTestDirs(prefix);
  const garden: Camera = makeCamera(dirs.root, 'garden');
  const pond: Camera = makeCamera(dirs.root, 'pond');
  // Debug level: the daemon then says when it skips a file as already decided, which the restore tests wait for.
  const config = writeConfigFile(dirs, { cameras: [garden, pond], db: dirs.db, quietMs: 100, logLevel: 'debug' });
  // Distinct bytes per shot (each size is a different JPEG), the same decision as the fixture.
  const planes = await Promise.all(AIRPLANE_FIXTURES.map((f, i) => cameraJpeg(f, 640 + 64 * i, 480)));
  const birds = await Promise.all(
    [...BIRD_FIXTURES, BIRD_FIXTURES[0]!].map((f, i) => cameraJpeg(f, 640 + 64 * i, 480)),
  );
  const put = (c: Camera, rel: string, bytes: Buffer | string): void => {
    mkdirSync(join(c.watch, rel, '..'), { recursive: true });
    writeFileSync(join(c.watch, rel), bytes);
  };
  shots.garden.planes.forEach((rel, i) => put(garden, rel, planes[i]!));
  shots.garden.birds.forEach((rel, i) => put(garden, rel, birds[i]!));
  // Not an image (by content): a failed decision with a specific error.
  put(garden, shots.garden.broken[0]!, 'this is not a picture of anything\n'.repeat(200));
  put(pond, shots.pond.planes[0]!, planes[2]!);
  put(pond, shots.pond.birds[0]!, birds[3]!);

  const daemon = new DaemonProcess(['run', '--config', config]);
  const total =
    shots.garden.planes.length +
    shots.garden.birds.length +
    shots.garden.broken.length +
    shots.pond.planes.length +
    shots.pond.birds.length;
  await waitForDecisions(dirs.db, '1=1', [], total, 60_000, () => daemon.tail());
  let fresh = 0;
  const world: World = {
    dirs,
    garden,
    pond,
    config,
    daemon,
    planes,
    birds,
    newPlane: () => cameraJpeg(AIRPLANE_FIXTURES[fresh % 3]!, 960 + 16 * fresh++, 720),
    newBird: () => cameraJpeg(BIRD_FIXTURES[fresh % 3]!, 960 + 16 * fresh++, 720),
    cli: (args) => runCli([...args, '--config', config]),
    rows: () => decisions(dirs.db),
    row: (c, rel) => {
      const found = decisions(dirs.db, 'path = ?', join(c.watch, rel));
      if (found.length === 0) throw new Error(`no decision for ${c.name}:${rel}`);
      return found[found.length - 1]!;
    },
  };
  return world;
}

/**
 * The world for the tests of a file or describe block: built by a beforeAll hook registered here (register hooks
 * that read it after this call), its daemons stopped and its folder removed after all the tests. The object returned
 * stands for that world: read it in hooks and tests, never while the tests are being collected.
 */
export function useWorld(prefix: string): World {
  let current: World | undefined;
  beforeAll(async () => {
    current = await startWorld(prefix);
  }, 120_000);
  afterAll(async () => {
    await killAllDaemons();
    current?.dirs.cleanup();
  });
  const built = (): World => {
    if (!current) throw new Error(`the ${prefix} world is read before its beforeAll built it`);
    return current;
  };
  // Every read and write goes to the world built (a test may put a restarted daemon in it); spreading it
  // ({ ...world, config }) copies that world's fields.
  return new Proxy({} as World, {
    get: (_target, key) => Reflect.get(built(), key),
    set: (_target, key, value) => Reflect.set(built(), key, value),
    ownKeys: () => Reflect.ownKeys(built()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(built(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}

/** `log --json` output as objects. */
export function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

/** A strict RFC 4180 reader (quoted fields, doubled quotes, CRLF records), independent of the code under test. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      i++;
      continue;
    }
    if (ch === '"') throw new Error(`stray quote in an unquoted field at ${i}`);
    if (ch === ',') {
      record.push(field);
      field = '';
      i++;
      continue;
    }
    if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
      continue;
    }
    if (ch === '\n' || ch === '\r') throw new Error(`bare line break at ${i}: records must end in CRLF`);
    field += ch;
    i++;
  }
  if (field !== '' || record.length > 0) throw new Error('last record does not end in CRLF');
  return records;
}
