// openShotFile (src/web/shot-files.ts) against the parent-folder symlink race: a folder holding a shot is swapped for
// a symlink to a folder outside AFTER the path was checked and BEFORE the file is opened (O_NOFOLLOW guards only the
// last component). The swap is made to land there for sure: libuv's thread pool is kept busy with real pbkdf2 work,
// so openShotFile's lstat and open wait in the queue while this test swaps the folder in the same tick.
import { pbkdf2 } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { openShotFile, ShotFileError } from '../src/web/shot-files.js';
import { FIXTURE_BIRDS, makeTempDir } from './fixtures/images.js';

const root = makeTempDir('bw-web-shot-files-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const blog = join(root, 'blog');
const planes = join(root, 'airplanes');
const outside = join(root, 'outside');
for (const dir of [join(blog, '2026'), planes, join(outside, '2026')]) mkdirSync(dir, { recursive: true });
const shot = join(blog, '2026', 'IMG_0001.jpg');
copyFileSync(FIXTURE_BIRDS[0]!, shot);
writeFileSync(join(outside, '2026', 'IMG_0001.jpg'), 'not for the web\n');
const config = loadConfig({ flags: { watch: blog, airplanes: planes, db: join(root, 'log.db') } });

/** Occupies every thread of libuv's pool with real work; resolves when it is done. */
function busyThreadPool(): Promise<unknown> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise((resolve, reject) =>
          pbkdf2('password', 'salt', 200_000, 64, 'sha512', (err, key) => (err ? reject(err) : resolve(key))),
        ),
    ),
  );
}

describe('openShotFile', () => {
  it('opens a shot inside the configured folders', async () => {
    const { handle, stat } = await openShotFile(config, shot);
    try {
      expect(stat.size).toBe(readFileSync(shot).length);
      expect(Buffer.compare(await handle.readFile(), readFileSync(shot))).toBe(0);
    } finally {
      await handle.close();
    }
  });

  it('refuses a file reached through a parent folder swapped for a symlink between check and open', async () => {
    const busy = busyThreadPool();
    const opening = openShotFile(config, shot).then(
      async ({ handle }) => {
        const bytes = await handle.readFile('utf8');
        await handle.close();
        return bytes;
      },
      (err: unknown) => err,
    );
    // Same tick: openShotFile has checked the path and its lstat waits for a free thread.
    renameSync(join(blog, '2026'), join(blog, '2026.kept'));
    symlinkSync(join(outside, '2026'), join(blog, '2026'));
    try {
      expect(realpathSync(shot)).toBe(join(realpathSync(outside), '2026', 'IMG_0001.jpg')); // the swap is in place
      const result = await opening;
      expect(result, `served: ${String(result)}`).toBeInstanceOf(ShotFileError);
      expect((result as ShotFileError).kind).toBe('refused');
      // Asked again after the swap, the check before the open refuses it too.
      await expect(openShotFile(config, shot)).rejects.toMatchObject({ kind: 'refused' });
    } finally {
      await busy;
      rmSync(join(blog, '2026'));
      renameSync(join(blog, '2026.kept'), join(blog, '2026'));
    }
  });
});
