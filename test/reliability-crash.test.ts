// Crash safety: 500 real shots arrive while the real daemon is SIGKILLed at random moments (>= 20 times), each kill
// landing after the restarted daemon has logged a new decision. At the end every dropped file exists exactly once,
// in the blog or the airplanes folder, byte-identical, with exactly one decision row, and no temp file is left.
// A second scenario puts the airplanes folder on another filesystem (a tmpfs we mount), so moves are
// copy + fsync + link + unlink and kills land inside cross-filesystem copies too.
// The threshold is set to 0.5 for these runs so about half the shots are moved (the shipped model's threshold
// moves few CIFAR shots, and the moves are where a crash can hurt).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
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
import { makeRealImages, rng, sha256, type RealImage } from './reliability/images.js';
import { renameIntoPlace, writeChunked, type RenameStyle } from './reliability/writers.js';

const FILES = Number(process.env.BW_CRASH_FILES ?? 500);
const KILLS = Number(process.env.BW_CRASH_KILLS ?? 24);
const XDEV_FILES = Number(process.env.BW_CRASH_XDEV_FILES ?? 160);
const XDEV_KILLS = Number(process.env.BW_CRASH_XDEV_KILLS ?? 20);
const SEED = Number(process.env.BW_SEED ?? Date.now() % 1_000_000);
const IN_FLIGHT = 8;

cleanUpAfterAll();

describe('crash safety under repeated SIGKILL', () => {
  let images: RealImage[] = [];
  beforeAll(async () => {
    images = [
      ...(await makeRealImages('airplane', FILES / 2, SEED)),
      ...(await makeRealImages('bird', FILES / 2, SEED + 1)),
    ];
    const shuffle = rng(SEED + 2);
    for (let i = images.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [images[i], images[j]] = [images[j]!, images[i]!];
    }
  }, 120_000);

  it(`loses and duplicates nothing across >= 20 kills (seed ${SEED})`, async () => {
    await crashScenario(images, KILLS, false);
  }, 900_000);

  it(`same, with the airplanes folder on another filesystem (seed ${SEED})`, async (ctx) => {
    needs(ctx, rootMissing('to mount a tmpfs for the airplanes folder'));
    await crashScenario(images.slice(0, XDEV_FILES), XDEV_KILLS, true);
  }, 900_000);
});

async function crashScenario(images: RealImage[], KILLS: number, crossFs: boolean): Promise<void> {
  {
    const root = tempDir('bw-crash-');
    const watch = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    const staging = join(root, 'staging');
    for (const d of [watch, airplanes, staging, join(watch, 'day-2'), join(watch, 'day-2', 'card A')])
      mkdirSync(d, { recursive: true });
    if (crossFs) {
      mount(['-t', 'tmpfs', '-o', 'size=128m,mode=0755', 'tmpfs'], airplanes);
    }
    const db = join(root, 'birdwatch.db');
    const config = { rescanIntervalMs: 5_000, logLevel: 'info', threshold: 0.5 };
    const rand = rng(SEED + 3);
    const outputs: string[] = [];
    const log = new LogReader(db);

    // Where each file goes (relative to the watched folder) and how it arrives.
    const plan = images.map((img, i) => {
      const sub = i % 5 === 3 ? 'day-2' : i % 5 === 4 ? join('day-2', 'card A') : '';
      const styles: RenameStyle[] = ['outside', 'dot', 'part'];
      return { img, rel: join(sub, img.name), renamed: i % 2 === 0, style: styles[(i >> 1) % 3]! };
    });

    // The feeder: keeps IN_FLIGHT uploads going, never past `quota` files, so arrivals spread over every kill cycle.
    let quota = 0;
    let started = 0;
    let finished = 0;
    const errors: unknown[] = [];
    let feederDone = false;
    const feeder = (async () => {
      const inflight = new Set<Promise<void>>();
      while (started < plan.length) {
        if (started >= quota || inflight.size >= IN_FLIGHT) {
          await (inflight.size ? Promise.race([...inflight, sleep(50)]) : sleep(50));
          continue;
        }
        const p = plan[started++]!;
        const dest = join(watch, p.rel);
        const job = (
          p.renamed
            ? renameIntoPlace(p.img.bytes, dest, p.style, staging)
            : writeChunked(p.img.bytes, dest, 3 + Math.floor(rand() * 4), () => 30 + Math.floor(rand() * 250))
        ).then(
          () => {
            finished++;
          },
          (e) => {
            errors.push(e);
          },
        );
        inflight.add(job);
        void job.then(() => inflight.delete(job));
      }
      await Promise.all(inflight);
      feederDone = true;
    })();

    const t0 = Date.now();
    let kills = 0;
    let earlyKills = 0;
    let daemon: Daemon | undefined;
    const killDelays: number[] = [];
    try {
      while (kills < KILLS) {
        const before = log.maxId();
        quota = Math.min(plan.length, Math.ceil((plan.length * (kills + 1)) / (KILLS + 1)));
        if (kills % 4 === 2) {
          // Extra, not counted: a kill during start-up (reconciliation, initial scan), before any decision.
          daemon = startDaemon({ watch, airplanes, db, config });
          await sleep(50 + Math.floor(rand() * 350));
          await daemon.kill();
          outputs.push(daemon.output);
          earlyKills++;
        }
        daemon = startDaemon({ watch, airplanes, db, config });
        // Kill only after this daemon has logged a decision of its own.
        await waitFor(
          () => log.maxId() > before || !daemon!.alive,
          60_000,
          () => `a decision after restart ${kills} (output: ${daemon!.tail()})`,
          25,
        );
        expect(daemon.alive, `daemon died on its own after restart ${kills}:\n${daemon.tail()}`).toBe(true);
        const delay = Math.floor(rand() * 600);
        killDelays.push(delay);
        await sleep(delay);
        await daemon.kill();
        outputs.push(daemon.output);
        expect(daemon.exitInfo?.signal).toBe('SIGKILL');
        kills++;
      }
      quota = plan.length;
      await feeder;
      expect(errors).toEqual([]);
      expect(feederDone).toBe(true);
      expect(finished).toBe(plan.length);

      // Last run: let it decide everything, then stop it gracefully.
      // Debug lines and its rescans: what daemon.caughtUp() waits for. A rescan every second, not every 5 s: the two
      // full rescans caughtUp() needs come sooner, and each is the same walk over every file as at 5 s.
      daemon = startDaemon({ watch, airplanes, db, config: { ...config, logLevel: 'debug', rescanIntervalMs: 1_000 } });
      const wanted = new Set(images.map((i) => i.sha256));
      await waitFor(
        () => {
          const decided = new Set(log.rows("action IN ('moved','kept')").map((r) => r.sha256));
          return [...wanted].every((s) => decided.has(s));
        },
        180_000,
        () => `all ${plan.length} files decided (have ${log.count("action IN ('moved','kept')")}; ${daemon!.tail()})`,
        250,
      );
      await daemon.caughtUp(60_000); // anything else it would (wrongly) do, it has done once it looked at every file
      expect(await daemon.stopGracefully(), 'graceful stop on SIGTERM').toBe(true);
      outputs.push(daemon.output);
    } finally {
      quota = plan.length;
      await daemon?.kill();
      await feeder.catch(() => undefined);
    }
    const all = outputs.join('\n');
    const reconciled = (all.match(/reconciled an interrupted move/g) ?? []).length;
    const completedMoves = (all.match(/reconciled an interrupted move: completed/g) ?? []).length;
    const tempsRemoved = (all.match(/removed the temp file of an interrupted copy/g) ?? []).length;
    const seconds = (Date.now() - t0) / 1000;

    // Every file exactly once, byte-identical, where its one row says; no temp files anywhere.
    const rows = log.rows();
    const blogFiles = listTree(watch);
    const planeFiles = listTree(airplanes);
    const where = new Map<string, string[]>();
    for (const [base, files] of [
      [watch, blogFiles],
      [airplanes, planeFiles],
    ] as const) {
      for (const f of files) {
        const p = join(base, f);
        const h = sha256(readFileSync(p));
        where.set(h, [...(where.get(h) ?? []), p]);
      }
    }
    const lost = images.filter((i) => !where.has(i.sha256)).map((i) => i.name);
    const duplicated = [...where.entries()].filter(([, ps]) => ps.length > 1);
    const strangers = [...where.keys()].filter((h) => !images.some((i) => i.sha256 === h));
    const rowsPerFile = new Map<string, number>();
    for (const r of rows)
      rowsPerFile.set(r.sha256 ?? `null:${r.path}`, (rowsPerFile.get(r.sha256 ?? `null:${r.path}`) ?? 0) + 1);
    const wrongRowCount = images
      .filter((i) => rowsPerFile.get(i.sha256) !== 1)
      .map((i) => `${i.name}: ${rowsPerFile.get(i.sha256) ?? 0}`);
    const byPath = new Map(plan.map((p) => [p.img.sha256, p]));
    const mismatched: string[] = [];
    let moved = 0;
    for (const r of rows) {
      const p = byPath.get(r.sha256 ?? '');
      if (!p) {
        mismatched.push(
          `row ${r.id} for an unknown file ${JSON.stringify(r.path)} (${r.action} ${r.error_kind ?? ''})`,
        );
        continue;
      }
      const expectedFinal = r.action === 'moved' ? join(airplanes, p.rel) : join(watch, p.rel);
      if (r.path !== join(watch, p.rel)) mismatched.push(`row ${r.id} path ${r.path} != ${join(watch, p.rel)}`);
      if (r.final_path !== expectedFinal) mismatched.push(`row ${r.id} final_path ${r.final_path} != ${expectedFinal}`);
      if (JSON.stringify(where.get(r.sha256!) ?? []) !== JSON.stringify([r.final_path])) {
        mismatched.push(`row ${r.id} says ${r.final_path}, file is at ${JSON.stringify(where.get(r.sha256!))}`);
      }
      if (r.action === 'moved') moved++;
    }
    const pending = log.query<{ n: number }>('SELECT count(*) AS n FROM pending_moves')[0]?.n ?? 0;
    const leftovers = listTree(staging);

    const renamed = plan.filter((p) => p.renamed).length;
    console.log(
      `[figures] crash${crossFs ? ' (airplanes on another filesystem)' : ''}: seed=${SEED} ` +
        `files=${plan.length} (renamed ${renamed}, slow in place ${plan.length - renamed}) ` +
        `kills=${kills} (+${earlyKills} during start-up, uncounted) moved=${moved} kept=${rows.length - moved} ` +
        `rows=${rows.length} lost=${lost.length} duplicates=${duplicated.length} pending_moves=${pending} ` +
        `interrupted_moves_reconciled=${reconciled} (completed ${completedMoves}, ` +
        `undone ${reconciled - completedMoves}) copy_temps_removed=${tempsRemoved} ` +
        `seconds=${seconds.toFixed(1)} kill_delays_ms=${killDelays.join(',')}`,
    );

    expect(kills).toBeGreaterThanOrEqual(Math.min(20, KILLS)); // BW_CRASH_KILLS < 20 only when debugging
    expect(lost, 'files lost').toEqual([]);
    expect(duplicated, 'files present twice').toEqual([]);
    expect(strangers.length, 'files nobody dropped (temp files, partial copies)').toBe(0);
    expect(
      blogFiles.length + planeFiles.length,
      `temp or extra files: ${[...blogFiles, ...planeFiles].filter((f) => !plan.some((p) => f === p.rel)).join(' | ')}`,
    ).toBe(plan.length);
    expect(wrongRowCount, 'files without exactly one decision row').toEqual([]);
    expect(
      rows.filter((r) => r.action === 'failed').map((r) => `${r.path}: ${r.error_kind} ${r.error}`),
      'failed rows',
    ).toEqual([]);
    expect(mismatched).toEqual([]);
    expect(pending, 'pending_moves left after a graceful stop').toBe(0);
    expect(leftovers).toEqual([]);
    log.close();
    if (crossFs) {
      unmount(airplanes);
    }
  }
}
