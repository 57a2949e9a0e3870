// Hostile input, generated here, fed to the real daemon running as the unprivileged user `nobody` (so a file
// without read permission really is unreadable to it: we run as root, which chmod 000 would not stop). Each input
// gets its specific, defined outcome; afterwards the daemon still decides a good file, even after its watched folder
// was deleted and recreated, and still stops gracefully on SIGTERM.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOBODY_MISSING } from './helpers/daemon.js';
import { needs } from './helpers/preconditions.js';
import {
  chownTree,
  cleanUpAfterAll,
  type Daemon,
  listTree,
  LogReader,
  NOBODY,
  type Row,
  sleep,
  startDaemon,
  tempDir,
  waitFor,
} from './reliability/harness.js';
import { makeHostileFiles, sha256, type HostileFiles } from './reliability/images.js';
import { writeChunked } from './reliability/writers.js';

const STALL_MS = 2_000;

/** What must become of each input. 'decided' = one moved/kept row; 'failed:<kind>' = one failed row of that kind;
 * 'ignored' = no row at all, file left exactly as it was; 'ignored-or-failed:<kind>' = either of those two. */
type Expect = 'decided' | `failed:${string}` | 'ignored' | `ignored-or-failed:${string}`;
interface Case {
  name: string;
  what: string;
  expect: Expect;
  setup: (dir: string) => void | Promise<void>;
}

cleanUpAfterAll();

describe('hostile input', () => {
  let h: HostileFiles;
  beforeAll(async () => {
    h = await makeHostileFiles();
  }, 60_000);

  it('gives every hostile input its defined outcome and keeps serving', async (ctx) => {
    needs(ctx, NOBODY_MISSING);
    const root = tempDir('bw-hostile-');
    const watch = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    const outside = join(root, 'outside');
    for (const d of [watch, airplanes, outside]) mkdirSync(d);
    const db = join(root, 'state', 'birdwatch.db');
    mkdirSync(join(root, 'state'));
    chownTree(root, NOBODY.uid, NOBODY.gid);
    chmodSync(root, 0o755);
    const outsideShot = join(outside, 'secret-airplane.jpg');
    writeFileSync(outsideShot, h.goodAirplane);
    const as = (p: string) => chownSync(p, NOBODY.uid, NOBODY.gid);
    const put = (name: string, bytes: Buffer) => {
      writeFileSync(join(watch, name), bytes);
      as(join(watch, name));
    };

    const cases: Case[] = [
      { name: 'zero.jpg', what: 'zero bytes', expect: 'failed:empty', setup: () => put('zero.jpg', h.zeroBytes) },
      {
        name: 'truncated.jpg',
        what: 'JPEG truncated for good',
        expect: 'failed:truncated',
        setup: () => put('truncated.jpg', h.truncatedJpeg),
      },
      {
        name: 'random.jpg',
        what: 'random bytes named .jpg',
        expect: 'failed:not-image',
        setup: () => put('random.jpg', h.randomBytes),
      },
      {
        name: 'bad-crc.png',
        what: 'PNG with a bad IDAT CRC',
        expect: 'failed:corrupt',
        setup: () => put('bad-crc.png', h.pngBadCrc),
      },
      {
        name: 'bomb.png',
        what: 'PNG header claiming 30000x30000',
        expect: 'failed:too-large',
        setup: () => put('bomb.png', h.claims30000),
      },
      { name: 'deep16.png', what: '16-bit PNG', expect: 'decided', setup: () => put('deep16.png', h.png16) },
      { name: 'cmyk.jpg', what: 'CMYK JPEG', expect: 'decided', setup: () => put('cmyk.jpg', h.cmykJpeg) },
      { name: 'gray.jpg', what: 'grayscale JPEG', expect: 'decided', setup: () => put('gray.jpg', h.grayscaleJpeg) },
      { name: 'alpha.png', what: 'PNG with alpha', expect: 'decided', setup: () => put('alpha.png', h.alphaPng) },
      {
        name: 'animated.gif',
        what: 'animated GIF (2 frames)',
        expect: 'decided',
        setup: () => put('animated.gif', h.animatedGif),
      },
      {
        name: 'rotated.jpg',
        what: 'EXIF orientation 6',
        expect: 'decided',
        setup: () => put('rotated.jpg', h.exifRotatedJpeg),
      },
      {
        name: 'x.jpg',
        what: 'a folder named x.jpg (with a shot inside)',
        expect: 'ignored',
        setup: () => {
          mkdirSync(join(watch, 'x.jpg'));
          as(join(watch, 'x.jpg'));
          put(join('x.jpg', 'inside.jpg'), h.goodBird);
        },
      },
      {
        name: join('x.jpg', 'inside.jpg'),
        what: 'a shot inside the folder x.jpg',
        expect: 'decided',
        setup: () => undefined,
      },
      {
        name: 'link.jpg',
        what: 'symlink to an airplane outside the watched folder',
        expect: 'failed:unsupported',
        setup: () => {
          symlinkSync(outsideShot, join(watch, 'link.jpg'));
        },
      },
      {
        name: 'fifo.jpg',
        what: 'FIFO',
        expect: 'failed:unsupported',
        setup: () => {
          execFileSync('mkfifo', [join(watch, 'fifo.jpg')]);
          as(join(watch, 'fifo.jpg'));
        },
      },
      {
        name: 'unreadable.jpg',
        what: 'no read permission (root-owned 0600, daemon runs as nobody)',
        expect: 'failed:unreadable',
        setup: () => {
          writeFileSync(join(watch, 'unreadable.jpg'), h.goodAirplane.subarray(0));
          chmodSync(join(watch, 'unreadable.jpg'), 0o600);
        },
      },
      {
        name: 'with space.jpg',
        what: 'name with spaces',
        expect: 'decided',
        setup: () => put('with space.jpg', reencode(h.goodBird, 1)),
      },
      {
        name: 'ünïcødé 鳥 🐦.jpg',
        what: 'unicode name',
        expect: 'decided',
        setup: () => put('ünïcødé 鳥 🐦.jpg', reencode(h.goodBird, 2)),
      },
      {
        name: `it's "quoted" \`x\`.jpg`,
        what: 'quotes in the name',
        expect: 'decided',
        setup: () => put(`it's "quoted" \`x\`.jpg`, reencode(h.goodBird, 3)),
      },
      {
        name: 'new\nline.jpg',
        what: 'newline in the name',
        expect: 'decided',
        setup: () => put('new\nline.jpg', reencode(h.goodAirplane, 4)),
      },
      {
        name: 'vanish.jpg',
        what: 'deleted before it is processed (half written, then removed)',
        expect: 'ignored',
        setup: async () => {
          const p = join(watch, 'vanish.jpg');
          writeFileSync(p, h.goodBird.subarray(0, h.goodBird.length >> 1));
          as(p);
          await sleep(400);
          unlinkSync(p);
        },
      },
    ];

    const log = new LogReader(db);
    const daemon: Daemon = startDaemon({
      watch,
      airplanes,
      db,
      user: NOBODY,
      config: { stallMs: STALL_MS, quietMs: 150, rescanIntervalMs: 1_000, logLevel: 'debug' },
    });
    try {
      // Up and deciding first, so the hostile files arrive at a running daemon.
      put('warmup.jpg', reencode(h.goodBird, 5));
      await waitFor(
        () => log.count() >= 1 || !daemon.alive,
        90_000,
        () => `warm-up decision: ${daemon.tail()}`,
      );
      expect(daemon.alive, daemon.tail()).toBe(true);

      for (const c of cases) await c.setup(watch);
      // Failed outcomes of incomplete files come after the stall time; give rescans a few rounds too.
      const byName = (name: string) => log.rows('path = ?', join(watch, name));
      await waitFor(
        () =>
          cases.filter((c) => !c.expect.startsWith('ignored')).every((c) => byName(c.name).length > 0) || !daemon.alive,
        60_000,
        () =>
          `rows for ${cases
            .filter((c) => !c.expect.startsWith('ignored') && byName(c.name).length === 0)
            .map((c) => JSON.stringify(c.name))
            .join(', ')}: ${daemon.tail()}`,
      );
      // Room for wrong extra rows (a second failure, a late decision of an ignored file): the stall time passes, then
      // the daemon walks the tree twice more and looks at everything it found.
      await sleep(STALL_MS);
      await daemon.caughtUp();
      expect(daemon.alive, daemon.tail()).toBe(true);

      const outcomes: string[] = [];
      const problems: string[] = [];
      for (const c of cases) {
        const rows: Row[] = byName(c.name);
        const got =
          rows.length === 0
            ? 'ignored'
            : rows.map((r) => (r.action === 'failed' ? `failed:${r.error_kind}` : 'decided')).join('+');
        const first = rows[0];
        const detail = first?.error
          ? ` (${first.error})`
          : first?.label
            ? ` (${first.label}, p_airplane ${first.p_airplane?.toFixed(3)}, ${first.action})`
            : '';
        outcomes.push(`${c.what}: ${got}${detail}`);
        const ok =
          c.expect === got ||
          (c.expect.startsWith('ignored-or-') && (got === 'ignored' || got === c.expect.slice('ignored-or-'.length)));
        if (!ok) problems.push(`${JSON.stringify(c.name)} (${c.what}): expected ${c.expect}, got ${got}`);
      }
      console.log(`[figures] hostile: inputs=${cases.length}\n  ${outcomes.join('\n  ')}`);
      expect(problems).toEqual([]);

      // Left where they are: every failed or ignored input is still in the blog, untouched.
      expect(lstatSync(join(watch, 'link.jpg')).isSymbolicLink()).toBe(true);
      expect(sha256(readFileSync(outsideShot))).toBe(sha256(h.goodAirplane));
      expect(lstatSync(join(watch, 'fifo.jpg')).isFIFO()).toBe(true);
      expect(lstatSync(join(watch, 'x.jpg')).isDirectory()).toBe(true);
      for (const n of ['zero.jpg', 'truncated.jpg', 'random.jpg', 'bad-crc.png', 'bomb.png', 'unreadable.jpg']) {
        expect(existsSync(join(watch, n)), n).toBe(true);
      }
      // Nothing but decided airplanes reached the airplanes folder; decided files are where their row says.
      const moved = log
        .rows("action = 'moved'")
        .map((r) => r.final_path)
        .sort();
      expect(
        listTree(airplanes)
          .map((f) => join(airplanes, f))
          .sort(),
      ).toEqual(moved);
      for (const r of log.rows("action IN ('moved','kept')")) expect(existsSync(r.final_path), r.final_path).toBe(true);

      // A bad file replaced by a good one is decided then.
      const replacement = reencode(h.goodBird, 6);
      writeFileSync(join(watch, 'random.jpg.tmp'), replacement);
      execFileSync('mv', ['-f', join(watch, 'random.jpg.tmp'), join(watch, 'random.jpg')]);
      await waitFor(
        () => byName('random.jpg').some((r) => r.action !== 'failed'),
        30_000,
        () => `random.jpg decided after replacement: ${daemon.tail()}`,
      );
      expect(byName('random.jpg').filter((r) => r.action !== 'failed')[0]!.sha256).toBe(sha256(replacement));

      // The watched folder deleted and recreated while running: a good file dropped after it is decided.
      const beforeRemoval = daemon.mark;
      rmSync(watch, { recursive: true, force: true });
      await daemon.waitForOutput(/watched folder disappeared/, 30_000, beforeRemoval);
      mkdirSync(watch);
      as(watch);
      await daemon.waitForOutput(/watched folder \(re\)appeared/, 30_000, beforeRemoval);
      const late = reencode(h.goodAirplane, 7);
      await writeChunked(late, join(watch, 'after-recreate.jpg'), 2, 100);
      as(join(watch, 'after-recreate.jpg'));
      await waitFor(
        () => byName('after-recreate.jpg').length > 0 || !daemon.alive,
        30_000,
        () => `a decision for a file dropped after the watched folder was recreated: ${daemon.tail()}`,
      );
      expect(
        byName('after-recreate.jpg')
          .map((r) => r.action)
          .filter((a) => a !== 'failed').length,
      ).toBe(1);
      console.log('[figures] hostile: watched folder deleted and recreated: next file decided');

      // And it still stops on SIGTERM (a FIFO opened for reading would hang a libuv thread and block exit).
      expect(await daemon.stopGracefully(10_000), `graceful stop: ${daemon.tail()}`).toBe(true);
      expect(daemon.exitInfo?.code).toBe(0);
    } finally {
      await daemon.kill();
      log.close();
    }
  }, 300_000);
});

/** A unique copy of a JPEG (a COM marker after SOI), so each name has its own sha256. */
function reencode(jpeg: Buffer, n: number): Buffer {
  const text = Buffer.from(`birdwatch reliability copy ${n}`);
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xfe;
  seg.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, text, jpeg.subarray(2)]);
}
