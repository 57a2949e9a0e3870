// The daemon end to end, as a child process on temp folders with real images: airplanes moved (subfolders kept),
// birds kept, one row per decision with every field, files present at start decided, nothing decided twice
// across a restart, name collisions.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  alreadyDecidedLine,
  killAllDaemons,
  listTree,
  makeTestDirs,
  startDaemon,
  type TestDirs,
} from './helpers/daemon.js';
import { decisions, pendingMoves, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg, sha256 } from './helpers/images.js';

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

describe('birdwatch run', () => {
  it('moves airplanes (keeping subfolders), keeps birds, logs one whole row each, decides nothing twice', async () => {
    const d = newDirs();
    // Present before the start: must be decided too.
    mkdirSync(join(d.watch, 'day 1'));
    writeFileSync(join(d.watch, 'early plane.jpg'), planes[0]!);
    writeFileSync(join(d.watch, 'day 1', 'early bird.jpg'), birds[0]!);
    const daemon = startDaemon(d);
    await daemon.ready();
    // Arriving while it runs, in a new subfolder.
    mkdirSync(join(d.watch, 'day 2', 'card A'), { recursive: true });
    writeFileSync(join(d.watch, 'day 2', 'card A', 'late plane.jpg'), planes[1]!);
    writeFileSync(join(d.watch, 'late bird.png'), birds[1]!); // content decides, not the extension

    const rows = await waitForDecisions(d.db, '1=1', [], 4, 30_000, () => daemon.tail());
    const byName = new Map(rows.map((r) => [r.path.slice(d.watch.length + 1), r]));
    const expectMoved = (rel: string, bytes: Buffer): void => {
      const row = byName.get(rel)!;
      expect(row, rel).toBeDefined();
      expect(row.action).toBe('moved');
      expect(row.label).toBe('airplane');
      expect(row.final_path).toBe(join(d.airplanes, rel));
      expect(existsSync(join(d.watch, rel))).toBe(false);
      expect(sha256(readFileSync(join(d.airplanes, rel)))).toBe(sha256(bytes));
      expect(row.sha256).toBe(sha256(bytes));
      expect(row.p_airplane!).toBeGreaterThanOrEqual(row.threshold!);
    };
    const expectKept = (rel: string, bytes: Buffer): void => {
      const row = byName.get(rel)!;
      expect(row, rel).toBeDefined();
      expect(row.action).toBe('kept');
      expect(row.label).toBe('bird');
      expect(row.final_path).toBe(row.path);
      expect(sha256(readFileSync(join(d.watch, rel)))).toBe(sha256(bytes));
      expect(row.p_airplane!).toBeLessThan(row.threshold!);
    };
    expectMoved('early plane.jpg', planes[0]!);
    expectMoved(join('day 2', 'card A', 'late plane.jpg'), planes[1]!);
    expectKept(join('day 1', 'early bird.jpg'), birds[0]!);
    expectKept('late bird.png', birds[1]!);
    for (const row of rows) {
      expect(row.camera).toBe('blog');
      expect(new Date(row.time).getTime()).toBe(row.time_ms);
      expect(row.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(row.width).toBe(1920);
      expect(row.height).toBe(1080);
      expect(row.format).toBe('jpeg');
      expect(row.p_airplane! + row.p_bird!).toBeCloseTo(1, 4);
      expect(row.size).toBeGreaterThan(0);
      expect(row.mtime_ms).toBeGreaterThan(0);
      expect(row.model_id).toMatch(/^[0-9a-f]{12}$/);
      expect(row.provider).toBe('cpu');
      expect(row.latency_ms).toBeGreaterThanOrEqual(0);
      expect(row.error).toBeNull();
    }
    // One info line per decision.
    expect(daemon.output.match(/ info (moved|kept) /g)?.length).toBe(4);
    expect(daemon.output).toMatch(/effective|birdwatch starting .*config=/);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });

    // A restart decides nothing again (files kept in the blog, moved ones gone from it).
    // Proof it looked: it says so of both files still in the blog (debug level).
    const again = startDaemon(d, ['--log-level', 'debug']);
    await again.ready();
    await again.waitForOutput(alreadyDecidedLine(join(d.watch, 'day 1', 'early bird.jpg')));
    await again.waitForOutput(alreadyDecidedLine(join(d.watch, 'late bird.png')));
    expect(decisions(d.db).length).toBe(4);
    expect(pendingMoves(d.db)).toEqual([]);
    expect(await again.stop()).toEqual({ code: 0, signal: null });
  });

  it('never overwrites: a name taken in the airplanes folder gets a (1), (2) suffix', async () => {
    const d = newDirs();
    writeFileSync(join(d.airplanes, 'shot.jpg'), birds[2]!); // someone else's file under the same name
    const daemon = startDaemon(d);
    await daemon.ready();
    writeFileSync(join(d.watch, 'shot.jpg'), planes[0]!);
    await waitForDecisions(d.db, "action = 'moved'", [], 1, 30_000, () => daemon.tail());
    writeFileSync(join(d.watch, 'shot.jpg'), planes[1]!);
    const rows = await waitForDecisions(d.db, "action = 'moved'", [], 2, 30_000, () => daemon.tail());
    expect(rows.map((r) => r.final_path)).toEqual([
      join(d.airplanes, 'shot (1).jpg'),
      join(d.airplanes, 'shot (2).jpg'),
    ]);
    expect(sha256(readFileSync(join(d.airplanes, 'shot.jpg')))).toBe(sha256(birds[2]!));
    expect(sha256(readFileSync(join(d.airplanes, 'shot (1).jpg')))).toBe(sha256(planes[0]!));
    expect(sha256(readFileSync(join(d.airplanes, 'shot (2).jpg')))).toBe(sha256(planes[1]!));
    expect(listTree(d.watch)).toEqual([]);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('decides the fixture images as the shipped model does, whatever the file is called', async () => {
    const d = newDirs();
    const daemon = startDaemon(d);
    await daemon.ready();
    const names: string[] = [];
    [...AIRPLANE_FIXTURES, ...BIRD_FIXTURES].forEach((fixture, i) => {
      const name = `IMG_${1000 + i}.${['jpg', 'JPG', 'jpeg', 'png', 'dat', 'bin'][i]}`;
      writeFileSync(join(d.watch, name), readFileSync(fixture));
      names.push(name);
    });
    const rows = await waitForDecisions(d.db, '1=1', [], 6, 30_000, () => daemon.tail());
    const action = (name: string) => rows.find((r) => r.path === join(d.watch, name))?.action;
    expect(names.slice(0, 3).map(action)).toEqual(['moved', 'moved', 'moved']);
    expect(names.slice(3).map(action)).toEqual(['kept', 'kept', 'kept']);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('never looks inside an airplanes folder nested in the watched tree, nor at what it moved there', async () => {
    const d = newDirs();
    const nested = join(d.watch, 'airplanes');
    mkdirSync(nested);
    writeFileSync(join(nested, 'old plane.jpg'), planes[2]!); // moved there long ago
    const daemon = startDaemon({ ...d, airplanes: nested }, ['--log-level', 'debug', '--rescan-interval-ms', '300']);
    await daemon.ready();
    writeFileSync(join(d.watch, 'plane.jpg'), planes[0]!);
    const [row] = await waitForDecisions(d.db, '1=1', [], 1, 30_000, () => daemon.tail());
    expect(row!.final_path).toBe(join(nested, 'plane.jpg'));
    // Two walks of the whole tree after the move: the nested folder was passed over, not yet to be reached.
    await daemon.caughtUp();
    expect(decisions(d.db).length).toBe(1);
    expect(daemon.output, 'a file in the nested airplanes folder was looked at').not.toContain(` path=${nested}/`);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });
});
