// `birdwatch db check` and `birdwatch db backup FILE` beside the real daemon: a backup taken while shots are being
// decided and logged is a consistent database that passes the check; an existing FILE is never overwritten; a
// damaged database fails the check.
import { copyFileSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/db/index.js';
import { runCli, startDaemon, useTestDirs } from './helpers/daemon.js';
import { decisions, waitForDecisions } from './helpers/decisions.js';
import { AIRPLANE_FIXTURES, BIRD_FIXTURES } from './helpers/images.js';
import { sleep } from './helpers/wait.js';

const newDirs = useTestDirs();

const FIXTURES = [...AIRPLANE_FIXTURES, ...BIRD_FIXTURES];

describe('birdwatch db', () => {
  it('backs up the log while the daemon writes it: the copy passes the check; FILE is never overwritten', async () => {
    const d = newDirs('bw-db-');
    const daemon = startDaemon(d, ['--provider', 'cpu']);
    await daemon.ready();
    let writing = true;
    let dropped = 0;
    const stream = (async () => {
      while (writing && dropped < 600) {
        const fixture = FIXTURES[dropped % 6]!;
        const temp = join(d.watch, `.s${dropped}.part`);
        copyFileSync(fixture, temp);
        renameSync(temp, join(d.watch, `s${dropped}-${basename(fixture)}`));
        dropped++;
        await sleep(5);
      }
    })();
    const backups: Array<{ file: string; rowsThen: number }> = [];
    try {
      await waitForDecisions(d.db, '1=1', [], 30, 60_000, () => daemon.tail());
      for (let i = 0; i < 3; i++) {
        const file = join(d.root, `backup-${i}.db`);
        const rowsThen = decisions(d.db).length;
        const result = await runCli(['db', 'backup', file, '--db', d.db]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(
          new RegExp(`^backup written to ${file}: integrity ok, schema version ${SCHEMA_VERSION}, .*\\d+ decisions`),
        );
        backups.push({ file, rowsThen });
        await sleep(200);
      }
    } finally {
      writing = false;
      await stream;
    }
    await waitForDecisions(d.db, '1=1', [], dropped, 60_000, () => daemon.tail());
    const rowsNow = decisions(d.db).length;
    expect(rowsNow).toBe(dropped);
    for (const { file, rowsThen } of backups) {
      const check = await runCli(['db', 'check', '--json', '--db', file]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const report = JSON.parse(check.stdout) as {
        ok: boolean;
        integrity: string[];
        schema_version: number;
        rows: Record<string, number>;
      };
      expect(report).toMatchObject({ ok: true, integrity: ['ok'], schema_version: SCHEMA_VERSION });
      // A snapshot of a moment during the stream: at least what was logged before, at most what came after, and
      // exactly the first rows of the live log (no torn or missing row in between).
      expect(report.rows.decisions).toBeGreaterThanOrEqual(rowsThen);
      expect(report.rows.decisions).toBeLessThanOrEqual(rowsNow);
      const copy = new Database(file, { readonly: true });
      const ids = copy.prepare('SELECT id FROM decisions ORDER BY id').pluck().all() as number[];
      copy.close();
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    }
    expect(
      readdirSync(d.root).filter((name) => name.includes('.partial-')),
      'temporary copies left',
    ).toEqual([]);
    expect(backups[2]!.rowsThen).toBeGreaterThan(backups[0]!.rowsThen);
    console.log(
      `[figures] db backup while writing: ${backups.map((b) => b.rowsThen).join(', ')} rows logged at each ` +
        `start; ${dropped} shots streamed`,
    );

    // The live log itself checks out too; an existing FILE is refused and left as it was.
    const live = await runCli(['db', 'check', '--db', d.db]);
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(new RegExp(`^${d.db}: ok\\n  integrity: ok\\n  schema version: ${SCHEMA_VERSION}\\n`));
    expect(live.stdout).toMatch(new RegExp(`  decisions: ${rowsNow} rows`));
    const existing = join(d.root, 'backup-0.db');
    const bytes = readFileSync(existing);
    const again = await runCli(['db', 'backup', existing, '--db', d.db]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      `birdwatch: refusing to overwrite ${existing}: it exists ` +
        `(no config file (the Quick start defaults), database ${d.db})`,
    );
    expect(readFileSync(existing).equals(bytes)).toBe(true);
    expect(await daemon.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('db check fails (exit 1) on a damaged database and on an unknown action', async () => {
    const d = newDirs('bw-db-bad-');
    const daemon = startDaemon(d, ['--provider', 'cpu']);
    await daemon.ready();
    for (let i = 0; i < 60; i++) copyFileSync(FIXTURES[i % 6]!, join(d.watch, `x${i}.jpg`));
    await waitForDecisions(d.db, '1=1', [], 60, 60_000, () => daemon.tail());
    await daemon.stop();
    const damaged = join(d.root, 'damaged.db');
    copyFileSync(d.db, damaged);
    // Overwrite one page in the middle (an index or table page): the integrity check must notice.
    const bytes = readFileSync(damaged);
    const pageSize = bytes.readUInt16BE(16);
    const pages = bytes.length / pageSize;
    expect(pages).toBeGreaterThan(4);
    bytes.fill(0x5a, pageSize * (pages - 2) + 8, pageSize * (pages - 1));
    writeFileSync(damaged, bytes);
    const check = await runCli(['db', 'check', '--db', damaged]);
    expect(check.code, check.stdout + check.stderr).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/NOT OK|not a readable birdwatch decision log|malformed/);
    const usage = await runCli(['db', 'vacuum', '--db', d.db]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^birdwatch: unknown or incomplete: db vacuum\nusage: birdwatch db check/);
  }, 120_000);
});
