// loadConfig as every command uses it: precedence (flags > file > defaults), paths relative to the right place,
// the example config documenting every key, and nothing checked on disk unless the command asks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, ConfigError, DEFAULTS, loadConfig, PROJECT_ROOT } from '../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bw-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('defaults live under the project root, whatever the cwd', () => {
    const config = loadConfig({ cwd: '/' });
    expect(config.cameras).toEqual([
      { name: 'blog', watch: join(PROJECT_ROOT, 'var/blog'), airplanes: join(PROJECT_ROOT, 'var/airplanes') },
    ]);
    expect(config.db).toBe(join(PROJECT_ROOT, 'var/birdwatch.db'));
    expect(config.model).toBe(join(PROJECT_ROOT, 'models/birds-vs-airplanes.onnx'));
    expect(config.provider).toBe('auto');
    expect(config.stallMs).toBeLessThanOrEqual(15_000);
    expect(config.quietMs).toBe(DEFAULTS.quietMs);
  });

  it('flags override the file, which overrides the defaults; file paths are relative to the file', () => {
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ watch: 'up', db: 'state/x.db', stallMs: 5000, threshold: 0.7, logLevel: 'debug' }),
    );
    const config = loadConfig({ file, flags: { 'stall-ms': '2000', db: 'other.db' }, cwd: '/srv' });
    expect(config.cameras[0]!.watch).toBe(join(dir, 'up'));
    expect(config.db).toBe('/srv/other.db');
    expect(config.stallMs).toBe(2000);
    expect(config.threshold).toBe(0.7);
    expect(config.logLevel).toBe('debug');
  });

  it('checks nothing on disk unless asked (queries need only the db, classify only the model)', () => {
    expect(() => loadConfig({ flags: { watch: '/nonexistent/x', db: '/nonexistent/y.db' } })).not.toThrow();
    expect(() => loadConfig({ flags: { db: join(dir, 'missing.db') }, require: { db: 'read' } })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { model: join(dir, 'none.onnx') }, require: { model: true } })).toThrow(
      /does not exist/,
    );
  });

  it('config/birdwatch.example.json is valid and documents every key', () => {
    const file = join(PROJECT_ROOT, 'config', 'birdwatch.example.json');
    const config = loadConfig({ file });
    expect(config.cameras.map((c) => c.name)).toEqual(['garden', 'pond']);
    const keys = Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object);
    for (const key of Object.keys(CONFIG_KEYS)) {
      if (key === 'watch' || key === 'airplanes') continue; // the single-camera shorthand, documented under //cameras
      expect(keys, `example documents '${key}'`).toContain(`//${key}`);
    }
  });
});
