// The query and correction commands facing a database they cannot use: missing, locked too long, from a newer
// birdwatch, not a decision log at all. Each is one clear line on stderr and exit code 1, never a stack trace;
// nothing is created or changed.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import { runCli } from './helpers/daemon.js';

let root: string;
let realDb: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'bw-refusals-'));
  realDb = join(root, 'birdwatch.db');
  // The daemon's own schema, through the daemon's own opening code (migrations included).
  const db = openDatabase(realDb);
  db.prepare(
    `INSERT INTO decisions (time, time_ms, camera, path, final_path, action, label, p_airplane, p_bird)
    VALUES (?, ?, 'blog', '/b/x.jpg', '/b/x.jpg', 'kept', 'bird', 0.1, 0.9)`,
  ).run(new Date().toISOString(), Date.now());
  db.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const commands = (db: string): string[][] => [
  ['log', '--db', db],
  ['log', '--json', '--db', db],
  ['stats', '--db', db],
  ['restore', '1', '--db', db],
  ['mark', '1', '--label', 'bird', '--db', db],
  ['export-corrections', join(root, 'out'), '--db', db],
];

async function expectOneLineFailure(args: string[], message: RegExp): Promise<void> {
  const result = await runCli(args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^birdwatch: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
}

describe('database refusals', () => {
  it('a database that does not exist yet: says so, and creates nothing', async () => {
    const missing = join(root, 'not-yet.db');
    for (const args of commands(missing)) await expectOneLineFailure(args, /no decision log at .*not-yet\.db yet/);
    expect(existsSync(missing)).toBe(false);
  });

  it('a database from a newer birdwatch: refused, untouched', async () => {
    const newer = join(root, 'newer.db');
    copyFileSync(realDb, newer);
    const db = new Database(newer);
    db.pragma('user_version = 99');
    db.close();
    const before = readFileSync(newer);
    for (const args of commands(newer))
      await expectOneLineFailure(args, /schema version 99, newer than this birdwatch/);
    expect(readFileSync(newer)).toEqual(before);
  });

  it('a file that is not a decision log', async () => {
    const junk = join(root, 'junk.db');
    writeFileSync(junk, 'this is not a database at all, just some text that is long enough '.repeat(100));
    for (const args of commands(junk)) await expectOneLineFailure(args, /not a readable birdwatch decision log/);
    const empty = join(root, 'empty-sqlite.db');
    new Database(empty).close();
    await expectOneLineFailure(['log', '--db', empty], /not a birdwatch decision log/);
  });

  it('a database locked longer than the busy timeout: a message, not a hang or a crash', async () => {
    const locked = join(root, 'locked.db');
    copyFileSync(realDb, locked);
    const holder = new Database(locked);
    try {
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec('BEGIN EXCLUSIVE');
      holder
        .prepare(
          `INSERT INTO decisions (time, time_ms, camera, path, final_path, action)
        VALUES ('t', 1, 'c', '/p', '/p', 'kept')`,
        )
        .run();
      await expectOneLineFailure(['log', '--db', locked], /stayed locked for more than 5 s/);
      await expectOneLineFailure(['mark', '1', '--label', 'bird', '--db', locked], /stayed locked/);
    } finally {
      holder.close();
    }
    // Once released it reads fine (the held transaction was never committed).
    const result = await runCli(['log', '--json', '--db', locked]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });
});
