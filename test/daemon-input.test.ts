// Bad and awkward input never stops the daemon: slow uploads are decided once, after they complete; files that
// stay incomplete, empty, non-images, oversized, unreadable and special files are logged as failed with a
// specific error and left in place; temporary names are ignored; a failed file completed later is decided then.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
  closeSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllDaemons,
  makeTestDirs,
  NOBODY,
  NOBODY_MISSING,
  pathLine,
  startDaemon,
  type TestDirs,
} from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES, cameraJpeg, sha256 } from './helpers/images.js';
import { needs } from './helpers/preconditions.js';

const STALL_MS = 4000;
let planes: Buffer[] = [];
let birds: Buffer[] = [];
const dirs: TestDirs[] = [];

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

describe('incomplete and hostile input', () => {
  it('decides a slow upload once, after its last byte; fails one that stays cut, decides it once whole', async () => {
    const d = makeTestDirs();
    dirs.push(d);
    const daemon = startDaemon(d, [
      '--stall-ms',
      String(STALL_MS),
      '--log-level',
      'debug',
      '--rescan-interval-ms',
      '500',
    ]);
    await daemon.ready();

    // A camera on a slow link: half the JPEG, a pause longer than the quiet window, then the rest.
    const slow = join(d.watch, 'slow.jpg');
    const half = Math.floor(planes[0]!.length / 2);
    const fd = openSync(slow, 'w');
    writeSync(fd, planes[0]!, 0, half, 0);
    // It read the half file after its quiet window and found it incomplete (debug level).
    await daemon.waitForOutput(pathLine('incomplete: waiting for the rest', slow));
    expect(decisions(d.db, 'path = ?', slow), 'decided while incomplete').toEqual([]);
    writeSync(fd, planes[0]!, half, planes[0]!.length - half, half);
    closeSync(fd);
    const [row] = await waitForDecisions(d.db, 'path = ?', [slow], 1, 30_000, () => daemon.tail());
    expect(row!.action).toBe('moved');
    expect(row!.sha256).toBe(sha256(planes[0]!));

    // Cut for good: failed as truncated after the stall time, left in place.
    const cut = join(d.watch, 'cut.jpg');
    writeFileSync(cut, planes[1]!.subarray(0, Math.floor(planes[1]!.length / 3)));
    const [failed] = await waitForDecisions(d.db, 'path = ?', [cut], 1, 30_000, () => daemon.tail());
    expect(failed!.action).toBe('failed');
    expect(failed!.error_kind).toBe('truncated');
    expect(failed!.error).toMatch(/truncated JPEG/);
    expect(existsSync(cut)).toBe(true);
    // Completed later (the upload resumed): decided then.
    appendFileSync(cut, planes[1]!.subarray(Math.floor(planes[1]!.length / 3)));
    const rows = await waitForDecisions(d.db, 'path = ?', [cut], 2, 30_000, () => daemon.tail());
    expect(rows.map((r) => r.action)).toEqual(['failed', 'moved']);
    expect(rows[1]!.sha256).toBe(sha256(planes[1]!));

    await daemon.caughtUp();
    expect(decisions(d.db, 'path = ?', slow).length, 'the slow upload has exactly one row').toBe(1);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('reads at once a file whose mtime is past the quiet window (inotify only), never one just written', async () => {
    // A quiet window far longer than the test: only the mtime shortcut can get a file decided in time.
    const window = ['--quiet-ms', '600000', '--stall-ms', '600000'];
    const old = new Date(Date.now() - 3_600_000);
    for (const polling of [false, true]) {
      const d = makeTestDirs();
      dirs.push(d);
      const daemon = startDaemon(d, [
        ...window,
        '--log-level',
        'debug',
        ...(polling ? ['--polling', '--poll-interval-ms', '100'] : []),
      ]);
      await daemon.ready();
      const staged = join(d.root, 'staged.jpg');
      writeFileSync(staged, planes[0]!);
      utimesSync(staged, old, old); // uploaded an hour ago, renamed into place now (mv keeps the mtime)
      const renamed = join(d.watch, 'renamed.jpg');
      renameSync(staged, renamed);
      const fresh = join(d.watch, 'fresh.jpg');
      writeFileSync(fresh, birds[0]!);
      // The daemon saw the file and chose to wait: its own words, with how long (debug level).
      const waits = async (file: string): Promise<number> => {
        const said = pathLine('changed: waiting for it to stay unchanged', file);
        await daemon.waitForOutput(said);
        return Number(daemon.output.match(new RegExp(`${said.source}[^\\n]* ms=(\\d+)`))![1]);
      };
      if (polling) {
        // A share's mtime comes from another clock: polling mode waits the whole window, whatever the mtime says.
        expect(await waits(renamed), 'polling mode waits the whole window').toBeGreaterThan(500_000);
        expect(await waits(fresh)).toBeGreaterThan(500_000);
        expect(decisions(d.db), 'polling mode decided inside the quiet window').toEqual([]);
      } else {
        const [row] = await waitForDecisions(d.db, 'path = ?', [renamed], 1, 30_000, () => daemon.tail());
        expect(row!.action).toBe('moved');
        expect(await waits(fresh), 'a file written just now waits its quiet window').toBeGreaterThan(500_000);
        expect(decisions(d.db, 'path = ?', fresh), 'a file written just now waits its quiet window').toEqual([]);
      }
      expect(await daemon.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('logs each bad input with its specific error, leaves it in place, ignores temp names, keeps serving', async () => {
    const d = makeTestDirs();
    dirs.push(d);
    const outside = join(d.root, 'outside.jpg');
    writeFileSync(outside, planes[2]!);
    const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#7a9' } })
      .jpeg()
      .toBuffer();
    const daemon = startDaemon(d, ['--stall-ms', String(STALL_MS), '--max-pixels', String(5_000_000)]);
    await daemon.ready();

    const put = (name: string, bytes: Buffer | string): string => {
      const file = join(d.watch, name);
      writeFileSync(file, bytes);
      return file;
    };
    const empty = put('empty.jpg', '');
    const text = put('notes.jpg', 'this is not a picture, just some text someone saved with the wrong name\n');
    const noise = put('noise.jpg', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) % 251)));
    const huge = put('huge.jpg', big);
    const fifo = join(d.watch, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    const link = join(d.watch, 'link.jpg');
    symlinkSync(outside, link);
    mkdirSync(join(d.watch, 'folder.jpg'));
    // Temporary names: never decided while they carry them.
    for (const name of ['.hidden.jpg', 'upload.jpg.part', 'x.tmp', 'y.crdownload', 'backup.jpg~'])
      put(name, planes[0]!);

    const expectFailed = async (file: string, kind: string, message: RegExp): Promise<void> => {
      const [row] = await waitForDecisions(d.db, 'path = ?', [file], 1, 30_000, () => daemon.tail());
      expect(row!.action, file).toBe('failed');
      expect(row!.error_kind, file).toBe(kind);
      expect(row!.error, file).toMatch(message);
      expect(row!.label).toBeNull();
      expect(row!.final_path).toBe(file);
    };
    await expectFailed(empty, 'empty', /empty file/);
    await expectFailed(text, 'not-image', /not an image/);
    await expectFailed(noise, 'not-image', /not an image/);
    await expectFailed(huge, 'too-large', /4000x3000/);
    await expectFailed(fifo, 'unsupported', /FIFO/);
    await expectFailed(link, 'unsupported', /symbolic link/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(sha256(readFileSync(outside))).toBe(sha256(planes[2]!)); // never followed, never moved
    for (const file of [empty, text, noise, huge]) expect(existsSync(file), file).toBe(true);

    // A temp name renamed into place is decided under its final name; a good file after all this too.
    renameSync(join(d.watch, 'upload.jpg.part'), join(d.watch, 'upload.jpg'));
    put('after.jpg', birds[0]!);
    await waitForDecisions(d.db, 'path = ?', [join(d.watch, 'upload.jpg')], 1, 30_000, () => daemon.tail());
    await waitForDecisions(d.db, "path = ? AND action = 'kept'", [join(d.watch, 'after.jpg')], 1, 30_000);
    const decidedNames = decisions(d.db)
      .map((r) => r.path.slice(d.watch.length + 1))
      .sort();
    expect(decidedNames).toEqual([
      'after.jpg',
      'empty.jpg',
      'huge.jpg',
      'link.jpg',
      'noise.jpg',
      'notes.jpg',
      'pipe.jpg',
      'upload.jpg',
    ]);

    // A zero-byte file that then gets content is decided then.
    writeFileSync(empty, birds[1]!);
    const rows = await waitForDecisions(d.db, 'path = ?', [empty], 2, 30_000, () => daemon.tail());
    expect(rows[1]!.action).toBe('kept');
    // The FIFO must not keep it from stopping.
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });

  it('logs a file it may not read as unreadable and decides it once readable (daemon as an unprivileged user)', async (ctx) => {
    needs(ctx, NOBODY_MISSING);
    const d = makeTestDirs('bw-daemon-', NOBODY);
    dirs.push(d);
    const daemon = startDaemon(d, ['--rescan-interval-ms', '1000'], { user: NOBODY });
    await daemon.ready();
    const file = join(d.watch, 'locked.jpg');
    writeFileSync(file, planes[0]!);
    chmodSync(file, 0o000); // owned by root, no permission for anyone else
    chownSync(file, 0, 0);
    const [row] = await waitForDecisions(d.db, 'path = ?', [file], 1, 30_000, () => daemon.tail());
    expect(row!.action).toBe('failed');
    expect(row!.error_kind).toBe('unreadable');
    expect(row!.error).toMatch(/permission denied/);
    expect(existsSync(file)).toBe(true);
    chmodSync(file, 0o644);
    chownSync(file, NOBODY.uid, NOBODY.gid);
    const rows = await waitForDecisions(d.db, 'path = ?', [file], 2, 30_000, () => daemon.tail());
    expect(rows[1]!.action).toBe('moved');
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });
});
