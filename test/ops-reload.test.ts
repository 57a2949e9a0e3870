// Config reload on SIGHUP, on the real daemon: a camera added (its folder watched at once), a threshold and the log
// level changed, the database path refused with a warning while the rest applies; a broken config file refused with
// one line (the running config kept); a camera removed (its folder no longer watched); a db path in a missing folder
// refused with one warning, not the whole reload.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonProcess, listTree, makeCamera, useTestDirs } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES } from './helpers/images.js';

const newDirs = useTestDirs();

function linesMatching(daemon: DaemonProcess, pattern: RegExp): string[] {
  return daemon.output.split('\n').filter((line) => pattern.test(line));
}

describe('config reload (SIGHUP)', () => {
  it('adds a camera, applies thresholds and log level, refuses a new db path or bad file, drops a camera', async () => {
    const d = newDirs('bw-reload-');
    const camera = (name: string) => makeCamera(d.root, name);
    const garden = camera('garden');
    const pond = camera('pond');
    const configFile = join(d.root, 'config.json');
    const writeConfig = (config: Record<string, unknown>): void => writeFileSync(configFile, JSON.stringify(config));
    writeConfig({ cameras: [garden], db: d.db, provider: 'cpu', quietMs: 100 });
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    await daemon.ready();
    const drop = async (c: typeof garden, name: string, fixture: string) => {
      copyFileSync(fixture, join(c.watch, name));
      const [row] = await waitForDecisions(d.db, 'path = ?', [join(c.watch, name)], 1, 30_000, () => daemon.tail());
      return row!;
    };
    expect(await drop(garden, 'plane-1.jpg', AIRPLANE_FIXTURES[0]!)).toMatchObject({
      camera: 'garden',
      action: 'moved',
    });

    // Add pond; garden's threshold 1.0 (nothing moves); debug log level; another database path (refused).
    writeConfig({
      cameras: [{ ...garden, threshold: 1 }, pond],
      db: join(d.root, 'other.db'),
      provider: 'cpu',
      quietMs: 100,
      logLevel: 'debug',
    });
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reloaded/);
    expect(linesMatching(daemon, /warn config reload: the database path cannot change while running/)).toHaveLength(1);
    expect(daemon.output).toMatch(/config reload: camera added camera=pond/);
    expect(daemon.output).toMatch(/watching camera=pond/);
    expect(await drop(pond, 'pond-plane.jpg', AIRPLANE_FIXTURES[1]!)).toMatchObject({
      camera: 'pond',
      action: 'moved',
    });
    expect(listTree(pond.airplanes)).toEqual(['pond-plane.jpg']);
    expect(await drop(garden, 'plane-2.jpg', AIRPLANE_FIXTURES[2]!)).toMatchObject({
      camera: 'garden',
      label: 'airplane',
      action: 'kept',
      threshold: 1,
    });
    expect(daemon.output).toMatch(/ debug /); // the new log level is in force
    expect(existsSync(join(d.root, 'other.db'))).toBe(false);

    // A broken file: one line, the running config (both cameras) kept.
    writeFileSync(configFile, '{ "cameras": [');
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reload refused/);
    expect(linesMatching(daemon, /config reload refused/)).toHaveLength(1);
    expect(linesMatching(daemon, /config reload refused/)[0]).toMatch(
      /error config reload refused: config file \S+ is not valid JSON: .*; the running config is kept$/,
    );
    expect(await drop(pond, 'pond-bird.jpg', BIRD_FIXTURES[0]!)).toMatchObject({ camera: 'pond', action: 'kept' });

    // Pond removed: its folder is no longer watched; garden (threshold back to the model's) still is.
    // (Rescans and debug lines: the proof below that the daemon looked at its folders after the removal.)
    writeConfig({
      cameras: [garden],
      db: d.db,
      provider: 'cpu',
      quietMs: 100,
      logLevel: 'debug',
      rescanIntervalMs: 300,
    });
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reload: camera removed camera=pond/);
    await daemon.waitForOutput(/config reloaded cameras=garden log_level=debug/);
    copyFileSync(AIRPLANE_FIXTURES[0]!, join(pond.watch, 'after-removal.jpg'));
    expect(await drop(garden, 'plane-3.jpg', AIRPLANE_FIXTURES[1]!)).toMatchObject({
      camera: 'garden',
      action: 'moved',
    });
    await daemon.caughtUp();
    expect(decisions(d.db, 'path = ?', join(pond.watch, 'after-removal.jpg'))).toEqual([]);
    expect(daemon.output, "the removed camera's folder was looked at").not.toContain('after-removal.jpg');
    expect(listTree(pond.watch)).toEqual(['after-removal.jpg', 'pond-bird.jpg']);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('a new db path in a missing folder is refused with one warning; the camera added with it is applied', async () => {
    const d = newDirs('bw-reload-db-');
    const garden = makeCamera(d.root, 'garden');
    const pond = makeCamera(d.root, 'pond');
    const configFile = join(d.root, 'config.json');
    writeFileSync(configFile, JSON.stringify({ cameras: [garden], db: d.db, provider: 'cpu', quietMs: 100 }));
    const daemon = new DaemonProcess(['run', '--config', configFile]);
    await daemon.ready();

    writeFileSync(
      configFile,
      JSON.stringify({ cameras: [garden, pond], db: '/nonexistent/dir/x.db', provider: 'cpu', quietMs: 100 }),
    );
    daemon.child.kill('SIGHUP');
    await daemon.waitForOutput(/config reloaded|config reload refused/);
    expect(linesMatching(daemon, /config reload refused/)).toEqual([]);
    expect(linesMatching(daemon, / warn /)).toEqual([
      expect.stringMatching(
        /warn config reload: the database path cannot change while running \(restart to apply\); keeping ".*" .*wanted=.*\/nonexistent\/dir\/x\.db/,
      ),
    ]);
    expect(daemon.output).toMatch(/config reload: camera added camera=pond/);
    copyFileSync(AIRPLANE_FIXTURES[0]!, join(pond.watch, 'pond-plane.jpg'));
    const [row] = await waitForDecisions(d.db, 'path = ?', [join(pond.watch, 'pond-plane.jpg')], 1, 30_000, () =>
      daemon.tail(),
    );
    expect(row).toMatchObject({ camera: 'pond', action: 'moved' });
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 60_000);
});
