// A kill aimed at the most fragile moment of a cross-filesystem move: the airplanes folder is on another filesystem
// (a small ext4 image we loop-mount with -o sync, so that a copy takes long enough for the kill to land inside it: on
// tmpfs the copy was over before the kill arrived), so a move copies the shot to a temp name there, fsyncs, links it
// into place and unlinks the original. The test watches the airplanes folder with inotify and SIGKILLs the daemon the
// instant a temp copy appears, restarts it, and repeats. After a kill it records the partial temp copies beside the
// move's logged intent. At the end: a kill did land mid-copy, no temp file left, each shot exactly once,
// byte-identical, one row.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, watch as fsWatch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  cleanUpAfterAll,
  type Daemon,
  listTree,
  LogReader,
  mount,
  sleep,
  startDaemon,
  tempDir,
  unmount,
  waitFor,
} from './reliability/harness.js';
import { needs, rootMissing } from './helpers/preconditions.js';
import { realImagePaths, sha256 } from './reliability/images.js';

const FILES = Number(process.env.BW_COPY_FILES ?? 12);
cleanUpAfterAll();

/** A noisy 2400x1800 JPEG (~7 MB: a copy takes long enough to be caught), made unique per copy by a COM segment. */
async function bigShots(n: number): Promise<Buffer[]> {
  const photo = await sharp(realImagePaths('airplane')[7]!).resize(2400, 1800).png({ compressionLevel: 0 }).toBuffer();
  const noise = await sharp({
    create: {
      width: 2400,
      height: 1800,
      channels: 3,
      background: { r: 0, g: 0, b: 0 },
      noise: { type: 'gaussian', mean: 0, sigma: 40 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
  const jpeg = await sharp(photo)
    .composite([{ input: noise, blend: 'add' }])
    .jpeg({ quality: 97, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return Array.from({ length: n }, (_, i) => {
    const text = Buffer.from(`birdwatch reliability big shot ${i}`);
    const seg = Buffer.from([0xff, 0xfe, 0, 0]);
    seg.writeUInt16BE(text.length + 2, 2);
    return Buffer.concat([jpeg.subarray(0, 2), seg, text, jpeg.subarray(2)]);
  });
}

describe('SIGKILL in the middle of a cross-filesystem copy', () => {
  it('leaves no temp copy, loses nothing, logs each shot once', async (ctx) => {
    needs(ctx, rootMissing('to loop-mount an ext4 image for the airplanes folder'));
    const shots = await bigShots(FILES);
    const root = tempDir('bw-copykill-');
    const watch = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    mkdirSync(watch);
    mkdirSync(airplanes);
    const image = join(root, 'airplanes.ext4');
    execFileSync('truncate', ['-s', '256M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    mount(['-o', 'loop,sync', image], airplanes);
    const db = join(root, 'birdwatch.db');
    const log = new LogReader(db);
    const config = { threshold: 0, rescanIntervalMs: 5_000 }; // every shot is moved
    let daemon: Daemon | undefined;
    let kills = 0;
    /** Shots a kill caught mid-copy: after the kill, a temp copy shorter than the shot lay on the airplanes disk
     * while the log held the move's intent (pending_moves) for that shot. */
    const caughtMidCopy: Array<{ name: string; tempBytes: number; shotBytes: number }> = [];
    const temps = () =>
      readdirSync(airplanes, { recursive: true })
        .map(String)
        .filter((f) => f.split('/').pop()!.startsWith('.birdwatch-tmp-'));
    try {
      // The trap: the instant a temp copy appears, kill whatever daemon is running.
      const trap = fsWatch(airplanes, (_ev, name) => {
        if (name?.startsWith('.birdwatch-tmp-') && daemon?.alive) daemon.child.kill('SIGKILL');
      });
      try {
        for (const [i, s] of shots.entries()) writeFileSync(join(watch, `big-${i}.jpg`), s);
        for (let attempt = 0; attempt < FILES * 2 && log.count() < FILES; attempt++) {
          daemon = startDaemon({ watch, airplanes, db, config });
          await waitFor(
            () => !daemon!.alive || log.count() >= FILES,
            120_000,
            () => `a kill or all decided: ${daemon!.tail()}`,
            20,
          );
          if (daemon.exitInfo?.signal === 'SIGKILL') {
            kills++;
            // The temp copy is named after its target (fs/move.ts tempPathFor); the intent names the target too.
            const intents = log.query<{ src_path: string; target_path: string; size: number }>(
              "SELECT src_path, target_path, size FROM pending_moves WHERE kind = 'decide'",
            );
            for (const temp of temps()) {
              const intent = intents.find(
                (i) =>
                  join(airplanes, temp) === join(dirname(i.target_path), `.birdwatch-tmp-${basename(i.target_path)}`),
              );
              const tempBytes = statSync(join(airplanes, temp)).size;
              if (intent && tempBytes < intent.size) {
                caughtMidCopy.push({ name: basename(intent.src_path), tempBytes, shotBytes: intent.size });
              }
            }
          }
          await daemon.kill();
        }
      } finally {
        trap.close();
      }
      // Final, untrapped run: reconciles and finishes (each earlier restart already removed the previous temp copy).
      daemon = startDaemon({ watch, airplanes, db, config });
      await waitFor(
        () => log.count("action = 'moved'") >= FILES || !daemon!.alive,
        120_000,
        () => `all moved: ${daemon!.tail()}`,
      );
      await sleep(500);
      expect(await daemon.stopGracefully()).toBe(true);
      const removedTemps = (daemon.output.match(/removed the temp file of an interrupted copy/g) ?? []).length;
      console.log(
        `[figures] crash mid-copy: files=${FILES} (${(shots[0]!.length / 1e6).toFixed(1)} MB each) kills=${kills} ` +
          `partial_temp_copies_after_kills=${caughtMidCopy.length} (e.g. ${JSON.stringify(caughtMidCopy.at(-1))}) ` +
          `temps_removed_at_final_start=${removedTemps}`,
      );

      expect(temps(), 'temp copies left').toEqual([]);
      expect(listTree(watch), 'shots left in the blog').toEqual([]);
      const files = listTree(airplanes).sort();
      expect(files).toEqual(shots.map((_, i) => `big-${i}.jpg`).sort());
      for (const [i, s] of shots.entries()) {
        expect(sha256(readFileSync(join(airplanes, `big-${i}.jpg`))), `big-${i}.jpg`).toBe(sha256(s));
        const rows = log.rows('path = ?', join(watch, `big-${i}.jpg`));
        expect(
          rows.map((r) => r.action),
          `big-${i}.jpg rows`,
        ).toEqual(['moved']);
        expect(rows[0]!.final_path).toBe(join(airplanes, `big-${i}.jpg`));
      }
      expect(log.query<{ n: number }>('SELECT count(*) AS n FROM pending_moves')[0]!.n).toBe(0);
      // A kill did land mid-copy (a partial temp copy and the intent on disk), and those shots survived whole.
      expect(caughtMidCopy.length, `no kill caught a copy in progress (kills=${kills})`).toBeGreaterThan(0);
      for (const { name } of caughtMidCopy) {
        const i = Number(name.match(/^big-(\d+)\.jpg$/)![1]);
        expect(sha256(readFileSync(join(airplanes, name))), `${name}, caught mid-copy`).toBe(sha256(shots[i]!));
      }
      expect(existsSync(join(watch, 'big-0.jpg'))).toBe(false);
    } finally {
      await daemon?.kill();
      log.close();
      unmount(airplanes);
    }
  }, 600_000);
});
