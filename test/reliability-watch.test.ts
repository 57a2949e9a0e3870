// Watching without a safety net: the periodic rescan is switched off (rescanIntervalMs 0), so every file below must
// be found by the watcher itself: folders created and filled at once, a whole folder tree renamed into the blog, a
// decided folder renamed inside the blog, and a burst of files written in place (more inotify events than the kernel
// queues by default would hold if the daemon stopped reading). At the end the log and the disk agree file by file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterAll, listTree, LogReader, startDaemon, tempDir, waitFor } from './reliability/harness.js';
import { rawRealImages, sha256, type RealImage } from './reliability/images.js';

cleanUpAfterAll();

const BURST = Number(process.env.BW_WATCH_BURST ?? 2000);

describe('watching with the safety rescan off', () => {
  it('finds every file in new, moved-in and renamed folders and in a burst written in place', async () => {
    const pool = [...(await rawRealImages('airplane', 1700, 3300)), ...(await rawRealImages('bird', 1700, 3300))];
    let next = 0;
    const take = (n: number): RealImage[] => {
      const s = pool.slice(next, next + n);
      next += n;
      expect(s).toHaveLength(n);
      return s;
    };
    const root = tempDir('bw-watch-');
    const watch = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    const staging = join(root, 'staging');
    for (const d of [watch, airplanes, staging]) mkdirSync(d);
    const db = join(root, 'birdwatch.db');
    const log = new LogReader(db);
    const dropped = new Map<string, string>(); // sha256 -> name, for everything dropped
    const d = startDaemon({ watch, airplanes, db, config: { rescanIntervalMs: 0, threshold: 0.5 } });
    const decidedCount = () => log.count("action IN ('moved','kept')");
    try {
      const warm = take(1)[0]!;
      writeFileSync(join(watch, 'warmup.jpg'), warm.bytes);
      dropped.set(warm.sha256, 'warmup.jpg');
      await waitFor(
        () => log.count() >= 1 || !d.alive,
        90_000,
        () => `warm-up decision: ${d.tail()}`,
      );

      // a. Folders created and filled at once, several levels deep, no pause anywhere.
      for (const [i, img] of take(60).entries()) {
        const dir = join(watch, 'new', `l1-${i % 3}`, `l2-${i % 5}`, 'l3');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, img.name), img.bytes);
        dropped.set(img.sha256, img.name);
      }
      // b. A whole tree prepared elsewhere and renamed into the blog in one step (no event for the files inside).
      for (const [i, img] of take(80).entries()) {
        const dir = join(staging, 'card', i % 2 ? 'DCIM' : join('DCIM', '100CANON'));
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, img.name), img.bytes);
        dropped.set(img.sha256, img.name);
      }
      renameSync(join(staging, 'card'), join(watch, 'card'));
      await waitFor(
        () => decidedCount() >= 141 || !d.alive,
        60_000,
        () => `141 decisions (have ${decidedCount()}): ${d.tail()}`,
      );

      // c. A decided folder renamed inside the blog: its kept shots are now at new paths, to be decided there.
      renameSync(join(watch, 'new'), join(watch, 'renamed'));
      // d. A burst written in place (create + write events for each), straight after.
      for (const img of take(BURST)) {
        writeFileSync(join(watch, img.name), img.bytes);
        dropped.set(img.sha256, img.name);
      }

      // The log and the disk agree: every file in the blog or airplanes folder has a decision for this path and
      // this content, and every dropped shot is somewhere, once.
      const disagreements = (): string[] => {
        const out: string[] = [];
        for (const [base, files] of [
          [watch, listTree(watch)],
          [airplanes, listTree(airplanes)],
        ] as const) {
          for (const f of files) {
            const p = join(base, f);
            let h: string;
            try {
              h = sha256(readFileSync(p));
            } catch {
              out.push(p);
              continue;
            } // moved while we looked
            if (log.count("final_path = ? AND sha256 = ? AND action IN ('moved','kept')", p, h) === 0) out.push(p);
          }
        }
        return out;
      };
      let last: string[] = [];
      await waitFor(
        () => {
          last = disagreements();
          return last.length === 0 || !d.alive;
        },
        180_000,
        () => `every file decided at its current path; ${last.length} not: ${last.slice(0, 5).join(', ')}: ${d.tail()}`,
        1_000,
      );
      expect(d.alive, d.tail()).toBe(true);
      // The positive signal before looking again: one more shot, dropped after all that, is decided, so every event
      // that came before it has been handled.
      const lastShot = take(1)[0]!;
      writeFileSync(join(watch, 'last.jpg'), lastShot.bytes);
      dropped.set(lastShot.sha256, 'last.jpg');
      await waitFor(
        () => log.count("path = ? AND action IN ('moved','kept')", join(watch, 'last.jpg')) === 1 || !d.alive,
        60_000,
        () => `the last shot decided: ${d.tail()}`,
      );
      expect(disagreements()).toEqual([]);

      const where = new Map<string, number>();
      for (const [base, files] of [
        [watch, listTree(watch)],
        [airplanes, listTree(airplanes)],
      ] as const) {
        for (const f of files) {
          const h = sha256(readFileSync(join(base, f)));
          where.set(h, (where.get(h) ?? 0) + 1);
        }
      }
      const lost = [...dropped.keys()].filter((h) => !where.has(h));
      const twice = [...where.entries()].filter(([, n]) => n > 1);
      const renamedRows = log.count('path LIKE ?', `${join(watch, 'renamed')}/%`);
      console.log(
        `[figures] watch (rescan off): dropped=${dropped.size} decided_rows=${decidedCount()} ` +
          `failed=${log.count("action = 'failed'")} renamed_folder_rows=${renamedRows} ` +
          `lost=${lost.length} twice=${twice.length}`,
      );
      expect(lost).toEqual([]);
      expect(twice).toEqual([]);
      expect(log.count("action = 'failed'")).toBe(0);
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      await d.kill();
      log.close();
    }
  }, 400_000);
});
