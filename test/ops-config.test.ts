// The configuration keys added for running the daemon for years (metricsListen, retentionDays global and per
// camera), through loadConfig as every command uses it: parsed values and one-line errors naming the key.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bw-ops-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(config: Record<string, unknown>): string {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('metricsListen and retentionDays', () => {
  it('are off unless given; parse HOST:PORT (IPv6 in brackets) and days, globally and per camera', () => {
    const none = loadConfig({ file: fileWith({}) });
    expect(none.metricsListen).toBeUndefined();
    expect(none.retentionDays).toBeUndefined();
    const config = loadConfig({
      file: fileWith({
        metricsListen: '[::1]:9464',
        retentionDays: 90,
        cameras: [
          { name: 'a', watch: 'a', airplanes: 'a-out', retentionDays: 7 },
          { name: 'b', watch: 'b', airplanes: 'b-out' },
        ],
      }),
    });
    expect(config.metricsListen).toEqual({ host: '::1', port: 9464 });
    expect(config.retentionDays).toBe(90);
    expect(config.cameras.map((c) => c.retentionDays)).toEqual([7, undefined]);
    expect(loadConfig({ flags: { 'metrics-listen': '0.0.0.0:0', 'retention-days': '0.5' } })).toMatchObject({
      metricsListen: { host: '0.0.0.0', port: 0 },
      retentionDays: 0.5,
    });
  });

  it('refuse bad values with a message naming the key and the file', () => {
    const bad = (config: Record<string, unknown>) => {
      const file = fileWith(config);
      return () => loadConfig({ file });
    };
    expect(bad({ metricsListen: '9464' })).toThrow(
      /^'metricsListen' in \S+ must be HOST:PORT \(e\.g\. 127\.0\.0\.1:9464\), got "9464"$/,
    );
    expect(bad({ metricsListen: 'localhost:70000' })).toThrow(/must be HOST:PORT/);
    expect(bad({ retentionDays: 0 })).toThrow(/^'retentionDays' in \S+ must be a number of days above 0, got 0$/);
    expect(bad({ retentionDays: 'soon' })).toThrow(/'retentionDays' in \S+ must be a number, got "soon"/);
    expect(bad({ cameras: [{ watch: 'a', airplanes: 'b', retentionDays: -3 }] })).toThrow(
      /^'retentionDays' of cameras\[0\] in \S+ must be a number of days above 0, got -3$/,
    );
  });
});
