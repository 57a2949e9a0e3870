// Disk and database faults, injected while the real daemon runs:
// - the airplanes folder stops being writable (daemon runs as `nobody`, folder chmod 0555: root would bypass it);
// - the database's disk fills up (the db lives on a 2 MiB tmpfs we mount, then fill with a filler file);
// - the airplanes folder's disk fills up (another filesystem, so a move is a copy that hits ENOSPC midway);
// - the database becomes unwritable while open (chattr +i on the db and its WAL on ext4: even root's writes through
//   already-open descriptors then fail with EPERM, like a disk remounted read-only after an I/O error).
// The daemon must say so clearly, move nothing it cannot log, lose nothing, and recover by itself once the fault
// clears.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOBODY_MISSING } from './helpers/daemon.js';
import { IMMUTABLE_BASE, IMMUTABLE_MISSING } from './helpers/immutable.js';
import { needs, rootMissing } from './helpers/preconditions.js';
import {
  chownTree,
  cleanUpAfterAll,
  listTree,
  LogReader,
  mount,
  NOBODY,
  startDaemon,
  tempDir,
  unmount,
  waitFor,
} from './reliability/harness.js';
import { sha256 } from './reliability/images.js';
import { pickShots, type Screened } from './reliability/screen.js';

cleanUpAfterAll();

function layout(prefix: string, base?: string) {
  const root = tempDir(prefix, base);
  const dirs = { root, watch: join(root, 'blog'), airplanes: join(root, 'airplanes'), state: join(root, 'state') };
  for (const d of [dirs.watch, dirs.airplanes, dirs.state]) mkdirSync(d);
  return { ...dirs, db: join(dirs.state, 'birdwatch.db') };
}

describe('disk and database faults', () => {
  let movers: Screened[] = [];
  let keepers: Screened[] = [];
  beforeAll(async () => {
    movers = await pickShots('airplane', true, 10, 3000, 256);
    keepers = await pickShots('bird', false, 8, 3000);
  }, 120_000);

  it('airplanes folder not writable: says so, keeps the shot in the blog, moves it once writable again', async (ctx) => {
    needs(ctx, NOBODY_MISSING);
    const L = layout('bw-fault-ro-');
    chownTree(L.root, NOBODY.uid, NOBODY.gid);
    const log = new LogReader(L.db);
    const d = startDaemon({
      watch: L.watch,
      airplanes: L.airplanes,
      db: L.db,
      user: NOBODY,
      config: { stallMs: 2_000, rescanIntervalMs: 2_000 },
    });
    try {
      writeFileSync(join(L.watch, 'warmup.jpg'), keepers[5]!.bytes);
      await waitFor(
        () => log.count() >= 1 || !d.alive,
        90_000,
        () => `warm-up decision: ${d.tail()}`,
      );
      chmodSync(L.airplanes, 0o555);
      const names = ['plane-1.jpg', 'plane-2.jpg', 'plane-3.jpg', 'bird-1.jpg'];
      const shots = [movers[0]!, movers[1]!, movers[2]!, keepers[0]!];
      names.forEach((n, i) => writeFileSync(join(L.watch, n), shots[i]!.bytes));
      await waitFor(
        () => log.count("action = 'kept' AND path = ?", join(L.watch, 'bird-1.jpg')) === 1,
        30_000,
        () => `bird-1 kept: ${d.tail()}`,
      );
      // The positive signal: it tried to move each of the three, and said why it could not.
      await waitFor(
        () => names.slice(0, 3).every((n) => triedAndSaid(d.output, /not writable/, join(L.watch, n))) || !d.alive,
        60_000,
        () => `a refusal for each plane: ${d.tail()}`,
      );
      expect(d.alive, d.tail()).toBe(true);
      expect(listTree(L.airplanes)).toEqual([]);
      for (const [i, n] of names.entries()) expect(sha256(readFileSync(join(L.watch, n))), n).toBe(shots[i]!.sha256);
      expect(log.count("action = 'moved'")).toBe(0);
      expect(log.count("action = 'kept' AND path LIKE ?", `${L.watch}/plane-%`), 'a shot to move logged as kept').toBe(
        0,
      );
      const said = d.output.split('\n').filter((l) => /EACCES|permission denied|not writable/i.test(l));
      console.log(`[figures] fault airplanes-not-writable: daemon said: ${said[0]?.slice(0, 300)}`);
      expect(said.length, `no clear message about the unwritable airplanes folder in:\n${d.tail()}`).toBeGreaterThan(0);

      chmodSync(L.airplanes, 0o755);
      await waitFor(
        () =>
          names.slice(0, 3).every((n) => log.count("action = 'moved' AND path = ?", join(L.watch, n)) === 1) ||
          !d.alive,
        60_000,
        () => `the three airplanes moved after the fault cleared: ${d.tail()}`,
      );
      for (const [i, n] of names.slice(0, 3).entries()) {
        expect(existsSync(join(L.watch, n)), `${n} still in the blog`).toBe(false);
        expect(sha256(readFileSync(join(L.airplanes, n))), n).toBe(shots[i]!.sha256);
        const rows = log.rows('path = ?', join(L.watch, n));
        expect(rows.at(-1)!.action).toBe('moved');
        expect(rows.filter((r) => r.action !== 'failed').length).toBe(1);
      }
      const rows = log.rows().map((r) => [r.path.split('/').pop(), r.action, r.error_kind]);
      console.log(`[figures] fault airplanes-not-writable: recovered, rows ${JSON.stringify(rows)}`);
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      await d.kill();
      log.close();
    }
  }, 240_000);

  it('database disk full: moves nothing it cannot log, says so, catches up when space returns', async (ctx) => {
    needs(ctx, rootMissing('to mount a small tmpfs'));
    const L = layout('bw-fault-full-');
    mount(['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs'], L.state);
    const log = new LogReader(L.db);
    const d = startDaemon({
      watch: L.watch,
      airplanes: L.airplanes,
      db: L.db,
      config: { stallMs: 2_000, rescanIntervalMs: 2_000 },
    });
    const filler = join(L.state, 'filler');
    try {
      writeFileSync(join(L.watch, 'warmup.jpg'), keepers[5]!.bytes);
      await waitFor(
        () => log.count() >= 1 || !d.alive,
        90_000,
        () => `warm-up decision: ${d.tail()}`,
      );
      const before = log.count();
      const filled = fill(filler);
      const names = ['plane-1.jpg', 'plane-2.jpg', 'plane-3.jpg', 'bird-1.jpg', 'bird-2.jpg'];
      const shots = [movers[3]!, movers[4]!, movers[5]!, keepers[1]!, keepers[2]!];
      const since = d.mark;
      names.forEach((n, i) => writeFileSync(join(L.watch, n), shots[i]!.bytes));
      // The positive signal: it tried to log a shot, failed, and tried again.
      await waitFor(
        () => retriedLogging(d.outputSince(since)) || !d.alive,
        60_000,
        () => `a retried write: ${d.tail()}`,
      );
      expect(d.alive, d.tail()).toBe(true);
      expect(listTree(L.airplanes), 'moved while the log could not be written').toEqual([]);
      for (const [i, n] of names.entries()) expect(sha256(readFileSync(join(L.watch, n))), n).toBe(shots[i]!.sha256);
      const during = log.count() - before;
      const said = d.output.split('\n').filter((l) => /SQLITE_FULL|disk is full|ENOSPC|no space/i.test(l));
      console.log(
        `[figures] fault db-disk-full: filled ${filled} bytes; rows written during the fault: ${during}; ` +
          `daemon said: ${said[0]?.slice(0, 300)}`,
      );
      expect(during, 'rows written while the disk was full').toBe(0);
      expect(said.length, `no clear message about the full disk in:\n${d.tail()}`).toBeGreaterThan(0);

      rmSync(filler);
      await waitFor(
        () =>
          names.every((n) => log.count("action IN ('moved','kept') AND path = ?", join(L.watch, n)) === 1) || !d.alive,
        60_000,
        () => `all five decided after space returned: ${d.tail()}`,
      );
      for (const [i, n] of names.entries()) {
        const rows = log.rows('path = ?', join(L.watch, n));
        expect(rows.length, `${n}: ${JSON.stringify(rows)}`).toBe(1);
        const r = rows[0]!;
        expect(r.action).toBe(i < 3 ? 'moved' : 'kept');
        expect(sha256(readFileSync(r.final_path)), n).toBe(shots[i]!.sha256);
        expect(existsSync(i < 3 ? join(L.watch, n) : join(L.airplanes, n))).toBe(false);
      }
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      await d.kill();
      log.close();
      rmSync(filler, { force: true });
      unmount(L.state);
    }
  }, 240_000);

  it('airplanes disk full (another filesystem): no half copy left, shot kept in the blog, moved when space returns', async (ctx) => {
    needs(ctx, rootMissing('to mount a small tmpfs'));
    const L = layout('bw-fault-xfull-');
    mount(['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs'], L.airplanes);
    const log = new LogReader(L.db);
    const d = startDaemon({
      watch: L.watch,
      airplanes: L.airplanes,
      db: L.db,
      config: { stallMs: 2_000, rescanIntervalMs: 2_000 },
    });
    const filler = join(L.airplanes, 'filler');
    try {
      writeFileSync(join(L.watch, 'warmup.jpg'), keepers[4]!.bytes);
      await waitFor(
        () => log.count() >= 1 || !d.alive,
        90_000,
        () => `warm-up decision: ${d.tail()}`,
      );
      // Leave less room than one shot: the copy starts, then runs out of space.
      const capacity = fill(filler);
      rmSync(filler);
      fill(filler, capacity - 4096);
      expect(movers[6]!.bytes.length).toBeGreaterThan(4096);
      const names = ['plane-a.jpg', 'plane-b.jpg', 'bird-a.jpg'];
      const shots = [movers[6]!, movers[7]!, keepers[3]!];
      names.forEach((n, i) => writeFileSync(join(L.watch, n), shots[i]!.bytes));
      await waitFor(
        () => log.count("action = 'kept' AND path = ?", join(L.watch, 'bird-a.jpg')) === 1,
        30_000,
        () => `bird-a kept: ${d.tail()}`,
      );
      // The positive signal: it tried to move both, and said why it could not.
      await waitFor(
        () => names.slice(0, 2).every((n) => triedAndSaid(d.output, /disk is full/, join(L.watch, n))) || !d.alive,
        60_000,
        () => `a refusal for each plane: ${d.tail()}`,
      );
      expect(d.alive, d.tail()).toBe(true);
      expect(listTree(L.airplanes), 'half copies or temp files in the full airplanes folder').toEqual(['filler']);
      for (const [i, n] of names.entries()) expect(sha256(readFileSync(join(L.watch, n))), n).toBe(shots[i]!.sha256);
      expect(log.count("action = 'moved'")).toBe(0);
      const said = d.output
        .split('\n')
        .filter((l) => /ENOSPC|no space left|disk is full|is full/i.test(l) && !/birdwatch starting/.test(l));
      console.log(`[figures] fault airplanes-disk-full: daemon said: ${said[0]?.slice(0, 300)}`);
      expect(said.length, `no clear message about the full airplanes disk in:\n${d.tail()}`).toBeGreaterThan(0);

      rmSync(filler);
      await waitFor(
        () =>
          names.slice(0, 2).every((n) => log.count("action = 'moved' AND path = ?", join(L.watch, n)) === 1) ||
          !d.alive,
        60_000,
        () => `both airplanes moved after space returned: ${d.tail()}`,
      );
      for (const [i, n] of names.slice(0, 2).entries()) {
        expect(existsSync(join(L.watch, n))).toBe(false);
        expect(sha256(readFileSync(join(L.airplanes, n)))).toBe(shots[i]!.sha256);
        expect(log.rows('path = ?', join(L.watch, n)).filter((r) => r.action !== 'failed')).toHaveLength(1);
      }
      expect(listTree(L.airplanes).sort()).toEqual(['plane-a.jpg', 'plane-b.jpg']);
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      await d.kill();
      log.close();
      rmSync(filler, { force: true });
      unmount(L.airplanes);
    }
  }, 240_000);

  it('database unwritable while running (immutable db + WAL): moves nothing, says so, catches up when writable', async (ctx) => {
    needs(ctx, IMMUTABLE_MISSING);
    const L = layout('bw-fault-immutable-', IMMUTABLE_BASE);
    const log = new LogReader(L.db);
    const d = startDaemon({
      watch: L.watch,
      airplanes: L.airplanes,
      db: L.db,
      config: { stallMs: 2_000, rescanIntervalMs: 2_000 },
    });
    const locked = [L.db, `${L.db}-wal`];
    const unlock = () => {
      for (const f of locked) {
        try {
          execFileSync('chattr', ['-i', f]);
        } catch {
          /* not set */
        }
      }
    };
    try {
      writeFileSync(join(L.watch, 'warmup.jpg'), keepers[6]!.bytes);
      await waitFor(
        () => log.count() >= 1 || !d.alive,
        90_000,
        () => `warm-up decision: ${d.tail()}`,
      );
      const before = log.count();
      for (const f of locked) execFileSync('chattr', ['+i', f]);
      const names = ['plane-x.jpg', 'plane-y.jpg', 'bird-x.jpg'];
      const shots = [movers[8]!, movers[9]!, keepers[7]!];
      const since = d.mark;
      names.forEach((n, i) => writeFileSync(join(L.watch, n), shots[i]!.bytes));
      // The positive signal: it tried to log a shot, failed, and tried again.
      await waitFor(
        () => retriedLogging(d.outputSince(since)) || !d.alive,
        60_000,
        () => `a retried write: ${d.tail()}`,
      );
      expect(d.alive, d.tail()).toBe(true);
      expect(listTree(L.airplanes), 'moved while the log could not be written').toEqual([]);
      for (const [i, n] of names.entries()) expect(sha256(readFileSync(join(L.watch, n))), n).toBe(shots[i]!.sha256);
      expect(log.count() - before, 'rows written while the database was unwritable').toBe(0);
      const said = d.output
        .split('\n')
        .filter((l) => /database or disk unavailable|SQLITE_IOERR|SQLITE_READONLY|EPERM|read-only/i.test(l));
      console.log(`[figures] fault db-unwritable: daemon said: ${said[0]?.slice(0, 300)}`);
      expect(said.length, `no clear message about the unwritable database in:\n${d.tail()}`).toBeGreaterThan(0);

      unlock();
      await waitFor(
        () =>
          names.every((n) => log.count("action IN ('moved','kept') AND path = ?", join(L.watch, n)) === 1) || !d.alive,
        90_000,
        () => `all three decided once the database was writable: ${d.tail()}`,
      );
      for (const [i, n] of names.entries()) {
        const rows = log.rows('path = ?', join(L.watch, n));
        expect(rows.length, `${n}: ${JSON.stringify(rows)}`).toBe(1);
        expect(rows[0]!.action).toBe(i < 2 ? 'moved' : 'kept');
        expect(sha256(readFileSync(rows[0]!.final_path)), n).toBe(shots[i]!.sha256);
      }
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      unlock();
      await d.kill();
      log.close();
    }
  }, 240_000);
});

/** Whether the daemon refused to move `file` with a message matching `why` (its path in the same line). */
function triedAndSaid(output: string, why: RegExp, file: string): boolean {
  return output
    .split('\n')
    .some((line) => /cannot move an airplane shot/.test(line) && why.test(line) && line.includes(`path=${file} `));
}

/** Whether a write to the log failed and was tried at least a second time (a retry line with attempt >= 2). */
function retriedLogging(output: string): boolean {
  return /database or disk unavailable, retrying what="record [^\n]* attempt=([2-9]|\d\d)/.test(output);
}

/** Writes `path` until the filesystem is full (ENOSPC), down to single bytes; returns the bytes written. */
function fill(path: string, limit = Infinity): number {
  const fd = openSync(path, 'w');
  let total = 0;
  try {
    for (const size of [65536, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 0x55);
      while (total + size <= limit) {
        try {
          total += writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}
