// Security: file names can't steer a move out of the airplanes folder, symlinks (in the blog, or planted in the
// airplanes folder) never let a shot escape or let the daemon read outside its folders, file names reach SQLite only
// as parameters, and the shipped systemd unit verifies, with its exposure score printed.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll, listTree, LogReader, REPO, startDaemon, tempDir, waitFor } from './reliability/harness.js';
import { sha256 } from './reliability/images.js';
import { pickShots, type Screened } from './reliability/screen.js';

cleanUpAfterAll();

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
}

describe('security', () => {
  let movers: Screened[] = [];
  beforeAll(async () => {
    movers = await pickShots('airplane', true, 10, 3300);
  }, 120_000);

  it('keeps every move inside the airplanes folder, follows no symlink, parameterizes SQL', async () => {
    const root = tempDir('bw-sec-');
    const watch = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    const outside = join(root, 'outside');
    const planted = join(root, 'planted-target');
    for (const d of [watch, airplanes, outside, planted]) mkdirSync(d);
    const db = join(root, 'birdwatch.db');
    const outsideShot = join(outside, 'plane.jpg');
    writeFileSync(outsideShot, movers[9]!.bytes);

    // Names that look like traversal (a real name can't hold '/': '%2f', backslashes, '..' inside names, deep
    // nesting), a name that looks like SQL, one that looks like a flag.
    const tricky = [
      join('%2e%2e%2f%2e%2e%2fetc', '%2e%2e%2fpasswd.jpg'),
      join('a..b', 'c..', 'x..jpg'),
      'up\\..\\..\\windows\\x.jpg',
      join('a', 'b', 'c', 'd', 'e', 'f', 'g', 'deep.jpg'),
      "'); DROP TABLE decisions;--.jpg",
      '-rf --no-preserve-root.jpg',
    ];
    // Names starting with a dot are hidden/temp names: ignored by design (no row, left alone), folders included.
    const dotted = [join('..%2f..%2fetc', '..%2fpasswd.jpg'), join('...', 'x.jpg')];
    // A symlinked folder inside the blog pointing outside: never followed (its airplane stays put, no row).
    symlinkSync(outside, join(watch, 'escape'));
    // A folder planted in the airplanes folder as a symlink to elsewhere: a move into 'sub' must not land there.
    symlinkSync(planted, join(airplanes, 'sub'));
    const planted_ = join('sub', 'p.jpg');
    const files = [...tricky, planted_];
    const OUTSIDE = files.length;

    const log = new LogReader(db);
    const d = startDaemon({ watch, airplanes, db, config: { rescanIntervalMs: 2_000 } });
    try {
      for (const [i, f] of [...files, ...dotted].entries()) {
        mkdirSync(join(watch, f, '..'), { recursive: true });
        writeFileSync(join(watch, f), movers[i]!.bytes);
      }
      await waitFor(
        () => tricky.every((f) => log.count('path = ?', join(watch, f)) > 0) || !d.alive,
        60_000,
        () => `rows for ${tricky.filter((f) => log.count('path = ?', join(watch, f)) === 0).join(', ')}: ${d.tail()}`,
      );
      await new Promise((r) => setTimeout(r, 3_000)); // two rescans: would the symlinked folder be entered?

      const rows = log.rows();
      const shown = rows.map(
        (r) =>
          `${JSON.stringify(relative(root, r.path))} -> ` +
          `${JSON.stringify(relative(root, r.final_path))} ${r.action}${r.error_kind ? ' ' + r.error_kind : ''}`,
      );
      console.log(`[figures] security: ${shown.join('; ')}`);
      // SQL: the table survived the name, which is stored verbatim.
      expect(
        log.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'decisions'"),
      ).toHaveLength(1);
      expect(log.rows('path = ?', join(watch, tricky[4]!))).toHaveLength(1);

      const realAir = realpathSync(airplanes);
      for (const r of rows) {
        expect(inside(watch, r.path), `found outside the blog: ${r.path}`).toBe(true);
        if (r.action === 'moved') {
          expect(inside(airplanes, r.final_path), `lexically outside: ${r.final_path}`).toBe(true);
          expect(
            inside(realAir, realpathSync(r.final_path)),
            `moved through a symlink to ${realpathSync(r.final_path)}`,
          ).toBe(true);
        }
      }
      for (const [i, f] of tricky.entries()) {
        const r = log.rows("path = ? AND action IN ('moved','kept')", join(watch, f));
        expect(r, `${f} decided once`).toHaveLength(1);
        expect(sha256(readFileSync(r[0]!.final_path))).toBe(movers[i]!.sha256);
      }
      // Nothing arrived in the planted target, nothing was read or moved through the blog's symlinked folder.
      expect(listTree(planted), 'a move followed a symlink planted in the airplanes folder').toEqual([]);
      expect(lstatSync(join(airplanes, 'sub')).isSymbolicLink(), 'the planted symlink was left alone').toBe(true);
      expect(log.rows('path LIKE ?', `${join(watch, 'escape')}/%`), 'rows for files behind a symlinked folder').toEqual(
        [],
      );
      expect(
        log.rows('path = ?', join(watch, 'escape')).map((r) => `${r.action}:${r.error_kind}`),
        'the symlinked folder itself',
      ).toEqual(['failed:unsupported']);
      expect(sha256(readFileSync(outsideShot))).toBe(movers[9]!.sha256);
      for (const [i, f] of dotted.entries()) {
        expect(log.rows('path = ?', join(watch, f)), `${f} is a hidden name: no row`).toEqual([]);
        expect(sha256(readFileSync(join(watch, f)))).toBe(movers[OUTSIDE + i]!.sha256);
      }
      expect(existsSync(join(airplanes, 'escape'))).toBe(false);
      // The shot bound for the planted link stays in the blog, unlogged, and the daemon says why...
      expect(log.rows('path = ?', join(watch, planted_))).toEqual([]);
      expect(sha256(readFileSync(join(watch, planted_)))).toBe(movers[OUTSIDE - 1]!.sha256);
      expect(d.output).toMatch(/symbolic link in the airplanes folder/);
      // ...and once the link is gone, it is moved into a real folder under the airplanes folder.
      unlinkSync(join(airplanes, 'sub'));
      await waitFor(
        () => log.count("action = 'moved' AND path = ?", join(watch, planted_)) === 1 || !d.alive,
        90_000,
        () => `${planted_} moved after the planted link was removed: ${d.tail()}`,
      );
      expect(lstatSync(join(airplanes, 'sub')).isDirectory()).toBe(true);
      expect(sha256(readFileSync(join(airplanes, planted_)))).toBe(movers[OUTSIDE - 1]!.sha256);
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      await d.kill();
      log.close();
    }
  }, 180_000);

  it('restore and mark move files only inside configured folders (traversal, symlinks, SQL in argument)', async () => {
    const root = tempDir('bw-sec-cli-');
    const watch = join(root, 'blog');
    const airplanes = join(root, 'airplanes');
    const outside = join(root, 'outside');
    for (const d of [watch, airplanes, outside, join(watch, 'day1'), join(watch, 'day2')]) mkdirSync(d);
    const db = join(root, 'birdwatch.db');
    const victim = join(outside, 'victim.jpg');
    writeFileSync(victim, movers[9]!.bytes);
    const keeper = (await pickShots('bird', false, 1, 3300))[0]!;
    writeFileSync(join(watch, 'day1', 'm1.jpg'), movers[0]!.bytes);
    writeFileSync(join(watch, 'day2', 'b1.jpg'), keeper.bytes);
    const log = new LogReader(db);
    const d = startDaemon({ watch, airplanes, db });
    try {
      await waitFor(
        () => log.count() >= 2 || !d.alive,
        60_000,
        () => `two decisions: ${d.tail()}`,
      );
      expect(await d.stopGracefully()).toBe(true);
    } finally {
      await d.kill();
    }
    const moved = log.rows("action = 'moved'")[0]!;
    const kept = log.rows("action = 'kept'")[0]!;
    expect(moved.final_path).toBe(join(airplanes, 'day1', 'm1.jpg'));
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [join(REPO, 'dist', 'cli.js'), ...args, '--watch', watch, '--airplanes', airplanes, '--db', db],
        { cwd: REPO, encoding: 'utf8' },
      );
    const outcomes: string[] = [];
    const refused = (what: string, r: ReturnType<typeof cli>) => {
      outcomes.push(`${what}: exit ${r.status} ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
      expect(r.status, `${what} was not refused: ${r.stdout}${r.stderr}`).not.toBe(0);
    };
    refused('restore /etc/passwd', cli('restore', '/etc/passwd'));
    refused('restore airplanes/../outside/victim.jpg', cli('restore', `${airplanes}/../outside/victim.jpg`));
    refused('restore blog/../outside/victim.jpg', cli('restore', `${watch}/../outside/victim.jpg`));
    refused("restore '1 OR 1=1'", cli('restore', '1 OR 1=1'));
    refused("mark '1; DROP TABLE decisions' --label bird", cli('mark', '1; DROP TABLE decisions', '--label', 'bird'));
    expect(log.query("SELECT name FROM sqlite_master WHERE name = 'decisions'")).toHaveLength(1);

    // The blog folder the shot came from is now a symlink to elsewhere: restore must not follow it.
    rmSync(join(watch, 'day1'), { recursive: true });
    symlinkSync(outside, join(watch, 'day1'));
    refused('restore through a symlinked blog folder', cli('restore', String(moved.id)));
    // The airplanes folder for a mark --move is a planted symlink to elsewhere: mark must not follow it.
    symlinkSync(outside, join(airplanes, 'day2'));
    refused(
      'mark --move through a symlinked airplanes folder',
      cli('mark', String(kept.id), '--label', 'airplane', '--move'),
    );
    console.log(`[figures] security restore/mark: ${outcomes.join('; ')}`);

    expect(listTree(outside).sort(), 'a file reached the outside folder').toEqual(['victim.jpg']);
    expect(sha256(readFileSync(victim))).toBe(movers[9]!.sha256);
    expect(sha256(readFileSync(join(airplanes, 'day1', 'm1.jpg')))).toBe(movers[0]!.sha256);
    expect(sha256(readFileSync(join(watch, 'day2', 'b1.jpg')))).toBe(keeper.sha256);
    expect(log.query('SELECT * FROM corrections')).toEqual([]);
    log.close();
  }, 180_000);

  it('ships a systemd unit that systemd-analyze verifies; prints its exposure score', () => {
    const unit = join(REPO, 'config', 'birdwatch.service');
    expect(existsSync(unit), 'config/birdwatch.service').toBe(true);
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(verify.status, `systemd-analyze verify:\n${verify.stdout}${verify.stderr}`).toBe(0);
    expect(`${verify.stdout}${verify.stderr}`.trim(), 'warnings from verify').toBe('');
    const text = readFileSync(unit, 'utf8');
    expect(text).not.toMatch(/^\s*MemoryDenyWriteExecute\s*=\s*(yes|true|1)/m); // breaks V8's JIT
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const overall = `${sec.stdout}${sec.stderr}`.match(/Overall exposure level for \S+: ([\d.]+) (\S+)/);
    const score = overall ? `${overall[1]} ${overall[2]}` : `(no score) ${sec.stderr}`;
    console.log(`[figures] systemd-analyze security --offline: ${score}`);
    expect(overall, sec.stdout + sec.stderr).not.toBeNull();
    // systemd scores 0 (locked down) to 10 (no sandboxing); the unit scores 0.7 SAFE with Debian 12's systemd. A
    // setting dropped from the unit, or a newer systemd finding a new gap, shows up here.
    expect(Number(overall![1]), sec.stdout).toBeLessThanOrEqual(2);
    expect(overall![2]).toMatch(/^(SAFE|OK)$/);
  });
});
