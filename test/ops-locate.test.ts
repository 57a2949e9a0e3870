// The config found by default (--config, else $BIRDWATCH_CONFIG, else /etc/birdwatch/config.json, else the Quick
// start's defaults), refusals that name the config and database used, and printed commands that carry the config.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine, locateConfig, SYSTEM_CONFIG } from '../src/config/locate.js';
import { openDatabase } from '../src/db/index.js';
import { runCli } from './helpers/daemon.js';

let root: string;
let configFile: string;
let db: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'bw-locate-'));
  db = join(root, 'club.db');
  const database = openDatabase(db);
  const insert = database.prepare(`INSERT INTO decisions (time, time_ms, camera, path, final_path, action, label,
    p_airplane, p_bird) VALUES (?, ?, 'garden', ?, ?, 'kept', 'bird', 0.1, 0.9)`);
  for (const name of ['robin.jpg', 'wren.jpg']) {
    insert.run(new Date().toISOString(), Date.now(), join(root, name), join(root, name));
  }
  database.close();
  configFile = join(root, 'config.json');
  writeFileSync(configFile, JSON.stringify({ db, watch: join(root, 'blog'), airplanes: join(root, 'planes') }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the config found by default', () => {
  it('$BIRDWATCH_CONFIG, else the system config when it exists, else none (the Quick start defaults)', () => {
    const system = join(root, 'etc-birdwatch-config.json');
    expect(locateConfig({ BIRDWATCH_CONFIG: configFile }, system)).toBe(configFile);
    expect(locateConfig({}, system)).toBeUndefined();
    writeFileSync(system, '{}');
    expect(locateConfig({}, system)).toBe(system);
    expect(locateConfig({ BIRDWATCH_CONFIG: '' }, system)).toBe(system);
    expect(locateConfig({ BIRDWATCH_CONFIG: configFile }, system)).toBe(configFile);
  });

  it('birdwatch log reads the database of $BIRDWATCH_CONFIG without --config; --config wins over it', async () => {
    const found = await runCli(['log', '--json'], { env: { BIRDWATCH_CONFIG: configFile } });
    expect(found.code, found.stderr).toBe(0);
    expect(
      found.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).camera),
    ).toEqual(['garden', 'garden']);
    const other = join(root, 'other.json');
    writeFileSync(other, JSON.stringify({ db: join(root, 'missing.db') }));
    const flag = await runCli(['log', '--config', other], { env: { BIRDWATCH_CONFIG: configFile } });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/missing\.db/);
  });

  it('a refusal names the config and the database it used', async () => {
    const refused = await runCli(['review', '1', '--label', 'bird'], { env: { BIRDWATCH_CONFIG: configFile } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('decision 1 was not drawn');
    expect(refused.stderr).toContain(`(config ${configFile}, database ${db})`);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the commands review-sample prints carry the config it was given', async () => {
    const drawn = await runCli(['review-sample', '1', '--json', '--config', configFile]);
    expect(drawn.code, drawn.stderr).toBe(0);
    const row = JSON.parse(drawn.stdout.trim()) as { id: number; command: string };
    expect(row.command).toBe(`birdwatch review ${row.id} --label bird|airplane|neither --config ${configFile}`);
    const labelled = await runCli(row.command.replace('bird|airplane|neither', 'bird').split(' ').slice(1));
    expect(labelled.code, labelled.stderr).toBe(0);
    expect(labelled.stdout).toContain(`decision ${row.id}: sample label bird recorded`);
  });

  it("a printed command leaves out the server's own config, found by default, and quotes odd paths", () => {
    expect(commandLine({ configFile: SYSTEM_CONFIG }, 'log')).toBe('birdwatch log');
    expect(commandLine({}, 'log')).toBe('birdwatch log');
    expect(commandLine({ configFile: "/srv/club's config.json" }, 'log')).toBe(
      `birdwatch log --config '/srv/club'\\''s config.json'`,
    );
  });
});
