// `birdwatch restore` beside the real running daemon: a wrongly moved shot goes back where it was found, the
// correction is logged against the decision, and the daemon leaves it alone (while running and after a restart);
// collisions get a new name; every refusal leaves files and log untouched.
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonProcess, runCli } from './helpers/daemon.js';
import { decisions, pendingMoves, query } from './helpers/decisions.js';
import { sha256 } from './helpers/images.js';
import { alreadyDecidedLine, dropShot, jsonLines, useWorld } from './log-shared.js';

const world = useWorld('bw-restore-');

interface Correction {
  id: number;
  decision_id: number;
  label: string;
  kind: string;
  from_path: string;
  to_path: string | null;
}
const correctionsOf = (decisionId: number): Correction[] =>
  query<Correction>(world.dirs.db, 'SELECT * FROM corrections WHERE decision_id = ? ORDER BY id', decisionId);

describe('birdwatch restore', () => {
  it('puts a moved shot back in the blog, logs the correction, and the daemon never moves it out again', async () => {
    const rel = 'plane-two.jpg';
    const decision = world.row(world.garden, rel);
    expect(decision.action).toBe('moved');
    const moved = join(world.garden.airplanes, rel);
    const bytes = readFileSync(moved);
    const before = decisions(world.dirs.db).length;

    const result = await world.cli(['restore', String(decision.id)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/restored decision \d+: .*plane-two\.jpg -> .*plane-two\.jpg \(labelled bird\)/);
    const back = join(world.garden.watch, rel);
    expect(sha256(readFileSync(back))).toBe(sha256(bytes));
    expect(existsSync(moved)).toBe(false);
    expect(correctionsOf(decision.id)).toEqual([
      expect.objectContaining({
        label: 'bird',
        kind: 'restore',
        from_path: moved,
        to_path: back,
      }),
    ]);
    expect(pendingMoves(world.dirs.db)).toEqual([]);

    // The running daemon sees the file arrive and skips it as decided.
    await world.daemon.waitForOutput(alreadyDecidedLine(back));
    // ...and after a restart (initial scan) too; a new airplane shot proves it is deciding meanwhile.
    await world.daemon.stop();
    world.daemon = new DaemonProcess(['run', '--config', world.config]);
    await world.daemon.ready();
    await world.daemon.waitForOutput(alreadyDecidedLine(back));
    const sentinel = await dropShot(world, world.garden, 'after-restart.jpg', await world.newPlane());
    expect(sentinel.action).toBe('moved');
    expect(existsSync(back)).toBe(true);
    expect(decisions(world.dirs.db, 'path = ?', back)).toHaveLength(1); // the original decision only
    expect(decisions(world.dirs.db).length).toBe(before + 1); // + the sentinel

    // log shows the decision with its correction, not as another row.
    const log = jsonLines((await world.cli(['log', '--json', '--path', rel])).stdout);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      id: decision.id,
      action: 'moved',
      corrected_label: 'bird',
      corrected_kind: 'restore',
      current_path: back,
    });
    // A second restore is a no-op that says so.
    const again = await world.cli(['restore', String(decision.id)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already restored/);
    expect(correctionsOf(decision.id)).toHaveLength(1);
  });

  it('never overwrites: a taken name gets a unique one, says so, and the daemon skips that one too', async () => {
    const rel = 'pond plane.jpg';
    const decision = world.row(world.pond, rel);
    expect(decision.action).toBe('moved');
    // Someone uploaded another shot under the same name meanwhile (a bird: the daemon keeps it).
    const other = await dropShot(world, world.pond, rel, await world.newBird());
    expect(other.action).toBe('kept');
    const otherBytes = readFileSync(join(world.pond.watch, rel));

    // By path this time: the moved file's current path.
    const result = await world.cli(['restore', join(world.pond.airplanes, rel)]);
    expect(result.code, result.stderr).toBe(0);
    const renamed = join(world.pond.watch, 'pond plane (1).jpg');
    expect(result.stdout).toContain(renamed);
    expect(result.stdout).toMatch(/taken by another file/);
    expect(readFileSync(join(world.pond.watch, rel))).toEqual(otherBytes);
    expect(sha256(readFileSync(renamed))).toBe(decision.sha256);
    expect(correctionsOf(decision.id)).toEqual([expect.objectContaining({ kind: 'restore', to_path: renamed })]);
    await world.daemon.waitForOutput(alreadyDecidedLine(renamed));
    expect(existsSync(renamed)).toBe(true);
  });

  it('finishes a restore that crashed after the move but before its correction was written', async () => {
    const plane = await dropShot(world, world.garden, 'crash/plane.jpg', await world.newPlane());
    expect(plane.action).toBe('moved');
    const back = plane.path;
    // What a restore killed between link() and its log transaction leaves: the file back in the blog, the intent
    // (with the correction to write) still pending, owned by a process that no longer exists. In that order, as
    // restore does it: the running daemon must find the intent when it sees the file.
    const db = new Database(world.dirs.db);
    try {
      const now = Date.now();
      db.prepare(
        `INSERT INTO pending_moves (time_ms, owner_pid, kind, src_path, dest_path, target_path, sha256, size,
          record) VALUES (?, ?, 'restore', ?, ?, ?, ?, ?, ?)`,
      ).run(
        now,
        2 ** 22 + 12345,
        plane.final_path,
        back,
        back,
        plane.sha256,
        plane.size,
        JSON.stringify({
          table: 'corrections',
          row: {
            decision_id: plane.id,
            time: new Date(now).toISOString(),
            time_ms: now,
            label: 'bird',
            kind: 'restore',
            from_path: plane.final_path,
          },
        }),
      );
    } finally {
      db.close();
    }
    mkdirSync(join(back, '..'), { recursive: true });
    linkSync(plane.final_path, back);
    unlinkSync(plane.final_path);
    // Running restore again first reconciles the leftover intent: the correction is written, nothing moves twice.
    const result = await world.cli(['restore', String(plane.id)]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/already restored to .*crash\/plane\.jpg/);
    expect(pendingMoves(world.dirs.db)).toEqual([]);
    expect(correctionsOf(plane.id)).toEqual([
      expect.objectContaining({ label: 'bird', kind: 'restore', to_path: back }),
    ]);
    await world.daemon.waitForOutput(alreadyDecidedLine(back));
    expect(existsSync(back)).toBe(true);
  });

  it('refuses unknown ids and paths, missing or changed files, and places outside the configured folders', async () => {
    const planeA = await dropShot(world, world.garden, 'trip/far.jpg', await world.newPlane());
    const planeB = await dropShot(world, world.garden, 'trip/near.jpg', await world.newPlane());
    const planeC = await dropShot(world, world.garden, 'gone.jpg', await world.newPlane());
    for (const row of [planeA, planeB, planeC]) expect(row.action).toBe('moved');
    const expectRefusal = async (args: string[], message: RegExp, cli = world.cli): Promise<void> => {
      const corrections = query(world.dirs.db, 'SELECT count(*) AS n FROM corrections');
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(1);
      expect(result.stderr).toMatch(/^birdwatch: /);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(query(world.dirs.db, 'SELECT count(*) AS n FROM corrections')).toEqual(corrections);
      expect(pendingMoves(world.dirs.db)).toEqual([]);
    };
    await expectRefusal(['restore', '999999'], /no decision with id 999999/);
    await expectRefusal(['restore', join(world.garden.watch, 'never-seen.jpg')], /no decision in the log for/);

    // Deleted by hand since: a clear error, not a crash.
    unlinkSync(planeC.final_path);
    await expectRefusal(['restore', String(planeC.id)], /no longer at .*gone\.jpg/);

    // Replaced by other content under the same name.
    const original = readFileSync(planeB.final_path);
    writeFileSync(planeB.final_path, world.birds[0]!);
    await expectRefusal(['restore', String(planeB.id)], /content changed/);
    writeFileSync(planeB.final_path, original);

    // Another configuration's folders: the logged paths lie outside them.
    const elsewhere = join(world.dirs.root, 'elsewhere');
    mkdirSync(join(elsewhere, 'blog'), { recursive: true });
    mkdirSync(join(elsewhere, 'planes'), { recursive: true });
    await expectRefusal(
      [
        'restore',
        String(planeA.id),
        '--db',
        world.dirs.db,
        '--watch',
        join(elsewhere, 'blog'),
        '--airplanes',
        join(elsewhere, 'planes'),
      ],
      /refusing: .* not inside the configured airplanes folder/,
      (args) => runCli(args),
    );

    // A symlink in the blog that leads out of it: the real destination is outside the watched folder.
    const outside = join(world.dirs.root, 'outside');
    mkdirSync(outside);
    rmSync(join(world.garden.watch, 'trip'), { recursive: true, force: true });
    symlinkSync(outside, join(world.garden.watch, 'trip'));
    await expectRefusal(['restore', String(planeA.id)], /refusing: .* not inside the configured watched/);
    expect(existsSync(planeA.final_path)).toBe(true);
    expect(existsSync(join(outside, 'far.jpg'))).toBe(false);
    unlinkSync(join(world.garden.watch, 'trip'));

    // With the blog back to normal, the same restore works (and recreates the missing subfolder).
    const ok = await world.cli(['restore', String(planeA.id)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(world.garden.watch, 'trip', 'far.jpg'))).toBe(true);

    // Usage errors are exit code 2.
    for (const args of [['restore'], ['restore', '1', '2'], ['restore', '1', '--label', 'bird']]) {
      const result = await world.cli(args);
      expect(result.code, args.join(' ')).toBe(2);
    }
  });
});
