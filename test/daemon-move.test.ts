// The no-clobber move and its crash reconciliation, on real filesystems: same filesystem (link + unlink), across
// filesystems (/tmp to the /dev/shm tmpfs: copy, fsync, link into place), a file owned by another user under
// fs.protected_hardlinks (copy), collisions, and the copy's interrupted states.
import {
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecisionLog, openDatabase, timestamp } from '../src/db/index.js';
import { moveNoClobber, tempPathFor, TEMP_PREFIX, SourceChangedError } from '../src/fs/move.js';
import { reconcilePendingMoves } from '../src/fs/reconcile.js';
import { killAllDaemons, makeTestDirs, NOBODY, NOBODY_MISSING, startDaemon } from './helpers/daemon.js';
import { needs } from './helpers/preconditions.js';
import { waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, fixtureBytes, sha256 } from './helpers/images.js';

const roots: string[] = [];
function temp(base = tmpdir()): string {
  const dir = mkdtempSync(join(base, 'bw-move-'));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  await killAllDaemons();
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

const shmUsable = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;

describe('moveNoClobber', () => {
  it('moves within a filesystem as the same inode, keeping subfolders, and never replaces a taken name', async () => {
    const dir = temp();
    const src = join(dir, 'a.jpg');
    writeFileSync(src, 'first');
    const inode = statSync(src).ino;
    mkdirSync(join(dir, 'out', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'out', 'sub', 'a.jpg'), 'someone else');
    const final = await moveNoClobber(src, join(dir, 'out', 'sub', 'a.jpg'));
    expect(final).toBe(join(dir, 'out', 'sub', 'a (1).jpg'));
    expect(statSync(final).ino).toBe(inode);
    expect(existsSync(src)).toBe(false);
    expect(readFileSync(join(dir, 'out', 'sub', 'a.jpg'), 'utf8')).toBe('someone else');
    // Folders are created; names without an extension get the suffix at the end.
    writeFileSync(join(dir, 'noext'), 'x');
    mkdirSync(join(dir, 'new'), { recursive: true });
    writeFileSync(join(dir, 'new', 'noext'), 'taken');
    expect(await moveNoClobber(join(dir, 'noext'), join(dir, 'new', 'noext'))).toBe(join(dir, 'new', 'noext (1)'));
  });

  it.runIf(shmUsable)(
    'moves across filesystems by copy + fsync + link, keeping content and mtime, leaving no temp',
    async () => {
      const from = temp();
      const to = temp('/dev/shm');
      const bytes = fixtureBytes(AIRPLANE_FIXTURES[0]!);
      const src = join(from, 'plane.jpg');
      writeFileSync(src, bytes);
      utimesSync(src, new Date('2024-05-01T10:00:00Z'), new Date('2024-05-01T10:00:00Z'));
      writeFileSync(join(to, 'plane.jpg'), 'taken');
      const final = await moveNoClobber(src, join(to, 'plane.jpg'));
      expect(final).toBe(join(to, 'plane (1).jpg'));
      expect(sha256(readFileSync(final))).toBe(sha256(bytes));
      expect(statSync(final).mtime.toISOString()).toBe('2024-05-01T10:00:00.000Z');
      expect(existsSync(src)).toBe(false);
      expect(readFileSync(join(to, 'plane.jpg'), 'utf8')).toBe('taken');
      expect(readdirSync(to).filter((n) => n.startsWith(TEMP_PREFIX))).toEqual([]);
    },
  );

  it('refuses symlinks and a source that changed since it was read', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'real.jpg'), 'x');
    symlinkSync(join(dir, 'real.jpg'), join(dir, 'link.jpg'));
    await expect(moveNoClobber(join(dir, 'link.jpg'), join(dir, 'out', 'link.jpg'))).rejects.toBeInstanceOf(
      SourceChangedError,
    );
    expect(lstatSync(join(dir, 'link.jpg')).isSymbolicLink()).toBe(true);
    const st = statSync(join(dir, 'real.jpg'));
    writeFileSync(join(dir, 'real.jpg'), 'changed!');
    await expect(
      moveNoClobber(join(dir, 'real.jpg'), join(dir, 'out', 'real.jpg'), {
        expect: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs },
      }),
    ).rejects.toBeInstanceOf(SourceChangedError);
    expect(existsSync(join(dir, 'out', 'real.jpg'))).toBe(false);
  });
});

describe('reconciling an interrupted copy-then-link move', () => {
  const setup = (state: 'temp-only' | 'linked' | 'source-gone') => {
    const dir = temp();
    mkdirSync(join(dir, 'blog'));
    mkdirSync(join(dir, 'planes'));
    const bytes = fixtureBytes(AIRPLANE_FIXTURES[1]!);
    const src = join(dir, 'blog', 'p.jpg');
    const target = join(dir, 'planes', 'p.jpg');
    writeFileSync(src, bytes);
    const db = openDatabase(join(dir, 'db.sqlite'));
    const log = new DecisionLog(db);
    const id = log.addPendingMove({
      kind: 'decide',
      src,
      dest: target,
      sha256: sha256(bytes),
      size: bytes.length,
      record: {
        table: 'decisions',
        row: {
          ...timestamp(),
          camera: 'c',
          path: src,
          size: bytes.length,
          sha256: sha256(bytes),
          mtime_ms: 0,
          width: 32,
          height: 32,
          format: 'jpeg',
          p_airplane: 0.9,
          p_bird: 0.1,
          label: 'airplane',
          threshold: 0.5,
          action: 'moved',
          error: null,
          error_kind: null,
          model_id: 'm',
          provider: 'cpu',
          latency_ms: 1,
        },
      },
    });
    log.setPendingTarget(id, target);
    db.prepare('UPDATE pending_moves SET owner_pid = 999999999').run();
    copyFileSync(src, tempPathFor(target)); // the copy under its temp name
    if (state !== 'temp-only') linkSync(tempPathFor(target), target); // linked into place (a separate inode)
    if (state === 'source-gone') rmSync(src);
    return { dir, src, target, db, log, bytes };
  };

  for (const [state, expected] of [
    ['temp-only', 'undone'],
    ['linked', 'completed'],
    ['source-gone', 'completed'],
  ] as const) {
    it(`${state}: ${expected}, the file exists exactly once, no temp left`, async () => {
      const { src, target, db, log, bytes } = setup(state);
      const summary = await reconcilePendingMoves(log);
      expect(summary[expected === 'completed' ? 'completed' : 'dropped']).toBe(1);
      const rows = db.prepare('SELECT final_path FROM decisions').all() as Array<{ final_path: string }>;
      if (expected === 'completed') {
        expect(rows).toEqual([{ final_path: target }]);
        expect(existsSync(src)).toBe(false);
        expect(sha256(readFileSync(target))).toBe(sha256(bytes));
      } else {
        expect(rows).toEqual([]);
        expect(existsSync(target)).toBe(false);
        expect(sha256(readFileSync(src))).toBe(sha256(bytes));
      }
      expect(existsSync(tempPathFor(target))).toBe(false);
      expect(log.listPendingMoves()).toEqual([]);
      db.close();
    });
  }
});

describe('the daemon as its own user, shots uploaded by another', () => {
  it('moves a root-owned upload although protected_hardlinks forbids linking it', async (ctx) => {
    needs(ctx, NOBODY_MISSING);
    const d = makeTestDirs('bw-move-', NOBODY);
    roots.push(d.root);
    const daemon = startDaemon(d, [], { user: NOBODY });
    await daemon.ready();
    const file = join(d.watch, 'camera upload.jpg');
    writeFileSync(file, fixtureBytes(AIRPLANE_FIXTURES[2]!));
    chownSync(file, 0, 0);
    const [row] = await waitForDecisions(d.db, 'path = ?', [file], 1, 30_000, () => daemon.tail());
    expect(row!.action).toBe('moved');
    expect(existsSync(file)).toBe(false);
    expect(sha256(readFileSync(row!.final_path))).toBe(sha256(fixtureBytes(AIRPLANE_FIXTURES[2]!)));
    expect(readdirSync(d.airplanes)).toEqual(['camera upload.jpg']);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  });
});
