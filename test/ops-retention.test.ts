// Quarantine retention on the real daemon's log and folders: exactly the moved shots older than the camera's (else
// the config's) retentionDays go; never a shot a member labelled bird or restored, nor one a random review labelled
// bird or airplane (that shot, or the same content elsewhere), a young one, a kept one, a file
// that is not the logged shot, or a path outside the airplanes folders; each removal is logged and `log` still
// lists the row; --dry-run changes nothing; an interrupted removal is finished; the daemon runs a pass itself.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DaemonProcess, makeCamera, runCli, useTestDirs } from './helpers/daemon.js';
import { decisions, query, waitForDecisions, type Decision } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg, sha256 } from './helpers/images.js';
import { waitFor } from './helpers/wait.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const newDirs = useTestDirs();

/** Writes to the daemon's log the way a long time passing would: rows made older, a crash's leftover intent. */
function edit(db: string, sql: string, ...params: unknown[]): void {
  const conn = new Database(db);
  try {
    conn.pragma('busy_timeout = 5000');
    conn.prepare(sql).run(...params);
  } finally {
    conn.close();
  }
}

describe('quarantine retention', () => {
  it('removes exactly the due shots, logs each; keeps labelled, reviewed, restored, young, kept, foreign', async () => {
    const d = newDirs('bw-retention-');
    const cam = (name: string) => makeCamera(d.root, name);
    const garden = cam('garden');
    const pond = cam('pond');
    const config = join(d.root, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        cameras: [garden, { ...pond, retentionDays: 100 }],
        db: d.db,
        provider: 'cpu',
        quietMs: 100,
        retentionDays: 30,
      }),
    );
    // Distinct bytes per shot (a member's label follows the content).
    const plane = (i: number) => cameraJpeg(AIRPLANE_FIXTURES[i % 3]!, 320 + 16 * i, 240);
    const shots: Record<string, { camera: typeof garden; bytes: Buffer }> = {
      'p1.jpg': { camera: garden, bytes: await plane(1) }, // due: removed
      'p2.jpg': { camera: garden, bytes: await plane(2) }, // labelled bird by a member: kept
      'p3.jpg': { camera: garden, bytes: await plane(3) }, // restored: kept
      'p4.jpg': { camera: garden, bytes: await plane(4) }, // another file took its name: kept
      'p5.jpg': { camera: garden, bytes: await plane(5) }, // young: kept (then removed by the daemon's own pass)
      'p6.jpg': { camera: garden, bytes: await plane(6) }, // its row points outside the airplanes folder: refused
      'p7.jpg': { camera: garden, bytes: await plane(7) }, // a removal interrupted by a crash: finished
      'p8.jpg': { camera: garden, bytes: await plane(10) }, // labelled bird in the random review: kept
      'p9.jpg': { camera: garden, bytes: await plane(11) }, // labelled airplane in the random review: kept
      'p10.jpg': { camera: garden, bytes: await plane(11) }, // the same content as p9: kept
      'p11.jpg': { camera: garden, bytes: await plane(12) }, // labelled neither in the random review: removed
      'b1.jpg': { camera: garden, bytes: await cameraJpeg(BIRD_FIXTURES[0]!, 400, 300) }, // kept by the model
      'q1.jpg': { camera: pond, bytes: await plane(8) }, // pond keeps 100 days: kept
    };
    for (const [name, shot] of Object.entries(shots)) writeFileSync(join(shot.camera.watch, name), shot.bytes);
    const daemon = new DaemonProcess(['run', '--config', config]);
    await waitForDecisions(d.db, '1=1', [], Object.keys(shots).length, 60_000, () => daemon.tail());
    const row = (name: string): Decision => decisions(d.db, 'path = ?', join(shots[name]!.camera.watch, name))[0]!;
    expect(row('b1.jpg').action).toBe('kept');
    for (const name of Object.keys(shots).filter((n) => n !== 'b1.jpg')) expect(row(name).action, name).toBe('moved');
    const cli = (...args: string[]) => runCli([...args, '--config', config]);

    expect((await cli('mark', String(row('p2.jpg').id), '--label', 'bird')).code).toBe(0);
    expect((await cli('restore', String(row('p3.jpg').id))).code).toBe(0);
    // Sample labels are taken only for drawn shots: draw every decided shot first.
    expect((await cli('review-sample', String(Object.keys(shots).length))).code).toBe(0);
    for (const [name, label] of [
      ['p8.jpg', 'bird'],
      ['p9.jpg', 'airplane'],
      ['p11.jpg', 'neither'],
    ] as const) {
      const review = await cli('review', String(row(name).id), '--label', label);
      expect(review.code, review.stderr).toBe(0);
    }
    writeFileSync(row('p4.jpg').final_path, await plane(9));
    const outside = join(d.root, 'outside');
    mkdirSync(outside);
    copyFileSync(row('p6.jpg').final_path, join(outside, 'p6.jpg'));
    edit(d.db, 'UPDATE decisions SET final_path = ? WHERE id = ?', join(outside, 'p6.jpg'), row('p6.jpg').id);
    const aged = [
      'p1.jpg',
      'p2.jpg',
      'p3.jpg',
      'p4.jpg',
      'p6.jpg',
      'p7.jpg',
      'p8.jpg',
      'p9.jpg',
      'p10.jpg',
      'p11.jpg',
      'b1.jpg',
      'q1.jpg',
    ];
    for (const name of aged)
      edit(d.db, 'UPDATE decisions SET time_ms = time_ms - ? WHERE id = ?', 40 * DAY_MS, row(name).id);
    const p7 = row('p7.jpg');
    edit(
      d.db,
      `INSERT INTO removals (decision_id, state, time, time_ms, path, sha256, size, reason)
      VALUES (?, 'pending', ?, ?, ?, ?, ?, 'retention: test crash')`,
      p7.id,
      new Date().toISOString(),
      Date.now(),
      p7.final_path,
      p7.sha256,
      p7.size,
    );

    const everyFile = (): Record<string, string> =>
      Object.fromEntries(
        [...decisions(d.db)].map((r) => {
          const where =
            query<{ to_path: string | null }>(
              d.db,
              'SELECT to_path FROM corrections WHERE decision_id = ? AND to_path IS NOT NULL ORDER BY id DESC LIMIT 1',
              r.id,
            )[0]?.to_path ?? r.final_path;
          return [basename(r.path), existsSync(where) ? sha256(readFileSync(where)) : 'gone'];
        }),
      );
    const before = everyFile();

    // Dry run: lists p1 and p11, and why every other due shot stays (p4, p6, and those a member or the review
    // labelled: p2, p3, p8, p9 and p10, p9's duplicate), touches nothing.
    const dry = await cli('retention', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const listed = dry.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; removed: boolean; reason?: string });
    expect(
      listed
        .filter((l) => l.reason === undefined)
        .map((l) => l.id)
        .sort((x, y) => x - y),
    ).toEqual([row('p1.jpg').id, row('p11.jpg').id].sort((x, y) => x - y));
    expect(Object.fromEntries(listed.filter((l) => l.reason !== undefined).map((l) => [l.id, l.reason]))).toEqual({
      [row('p4.jpg').id]: 'the file there now is not the logged shot (other size or content): left alone',
      [row('p6.jpg').id]: expect.stringMatching(
        /^not inside camera 'garden''s airplanes folder .*: refusing to delete it$/,
      ),
      [row('p2.jpg').id]: 'a member labelled it (mark): kept for training',
      [row('p3.jpg').id]: 'restored by a member: it is back in the blog',
      [row('p8.jpg').id]: 'reviewed in the random review: kept for training',
      [row('p9.jpg').id]: 'reviewed in the random review: kept for training',
      [row('p10.jpg').id]: 'the same picture (a duplicate) was reviewed in the random review: kept for training',
    });
    const dryTable = await cli('retention', '--dry-run');
    expect(dryTable.stdout).toMatch(/^2 would remove, 7 due but kept$/m);
    expect(dryTable.stdout).toContain(`kept ${row('p3.jpg').id} garden `);
    expect(listed.every((l) => l.removed === false)).toBe(true);
    expect(everyFile()).toEqual(before);
    expect(query(d.db, `SELECT state FROM removals`)).toEqual([{ state: 'pending' }]);

    // The real pass: p1 and p11 removed, p7's interrupted removal finished, nothing else touched.
    const run = await cli('retention');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^2 removed, 7 due but kept, 1 interrupted removals finished$/m);
    const after = everyFile();
    expect(after).toEqual({ ...before, 'p1.jpg': 'gone', 'p7.jpg': 'gone', 'p11.jpg': 'gone' });
    expect(before['p1.jpg']).toBe(sha256(shots['p1.jpg']!.bytes));
    expect(existsSync(join(outside, 'p6.jpg'))).toBe(true);
    expect(query(d.db, 'SELECT decision_id, state, path FROM removals ORDER BY decision_id')).toEqual(
      [
        { decision_id: row('p1.jpg').id, state: 'done', path: row('p1.jpg').final_path },
        { decision_id: p7.id, state: 'done', path: p7.final_path },
        { decision_id: row('p11.jpg').id, state: 'done', path: row('p11.jpg').final_path },
      ].sort((a, b) => a.decision_id - b.decision_id),
    );

    // `log` still finds the rows, with where the shot went and when it was removed.
    const log = await cli('log', '--json', '--path', 'p1.jpg');
    const [entry] = log.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entry).toMatchObject({
      id: row('p1.jpg').id,
      action: 'moved',
      final_path: join(garden.airplanes, 'p1.jpg'),
      removed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const table = await cli('log');
    expect(table.stdout).toMatch(/p1\.jpg \[removed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\n/);
    const notRemoved = (await cli('log', '--json')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { removed_at: string | null })
      .filter((r) => r.removed_at === null);
    expect(notRemoved).toHaveLength(Object.keys(shots).length - 3);

    // A second pass finds nothing more; the daemon's own pass (at its start) removes p5 once it is due.
    expect((await cli('retention')).stdout).toMatch(/^0 removed, 7 due but kept$/m);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
    edit(d.db, 'UPDATE decisions SET time_ms = time_ms - ? WHERE id = ?', 40 * DAY_MS, row('p5.jpg').id);
    const again = new DaemonProcess(['run', '--config', config]);
    await again.waitForOutput(/removed by retention id=\d+ camera=garden path=\S+p5\.jpg/);
    await waitFor(
      () =>
        query(d.db, `SELECT 1 FROM removals WHERE decision_id = ? AND state = 'done'`, row('p5.jpg').id).length === 1,
      10_000,
      () => again.tail(),
    );
    expect(everyFile()).toEqual({ ...after, 'p5.jpg': 'gone' });
    expect(await again.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('without a retentionDays nothing is ever removed, and the command says so', async () => {
    const dirs = newDirs('bw-retention-off-');
    const daemon = new DaemonProcess([
      'run',
      '--watch',
      dirs.watch,
      '--airplanes',
      dirs.airplanes,
      '--db',
      dirs.db,
      '--provider',
      'cpu',
    ]);
    await daemon.ready();
    await daemon.stop();
    const result = await runCli(['retention', '--db', dirs.db, '--airplanes', dirs.airplanes]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^birdwatch: no retentionDays in the config \(nor --retention-days\): nothing is ever removed \(.*database .*\)$/,
    );
  }, 60_000);
});
