// The configuration declared once (src/config/schema.ts): the published JSON Schema and docs/configuration.md are
// current, the example config validates against the schema (with ajv, the validator Fastify uses), an unknown key
// is refused by both the schema and birdwatch, every key is fully declared, and a loaded config is frozen.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FLAG_OPTIONS, ConfigError, loadConfig, PROJECT_ROOT, SETTINGS } from '../src/config/index.js';
import { configurationDoc, jsonSchemaText } from '../src/config/publish.js';

const dir = mkdtempSync(join(tmpdir(), 'bw-config-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schemaFile = join(PROJECT_ROOT, 'config', 'birdwatch.schema.json');
const exampleFile = join(PROJECT_ROOT, 'config', 'birdwatch.example.json');
const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);

function fileWith(config: Record<string, unknown>): string {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('the published configuration schema and reference', () => {
  it('config/birdwatch.schema.json and docs/configuration.md are what `npm run config:schema` writes now', () => {
    expect(readFileSync(schemaFile, 'utf8'), 'run npm run config:schema').toBe(jsonSchemaText());
    expect(readFileSync(join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8'), 'run npm run config:schema').toBe(
      configurationDoc(),
    );
  });

  it('the example names the schema first, validates against it, and loads', () => {
    const example = JSON.parse(readFileSync(exampleFile, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(example)[0]).toBe('$schema');
    expect(example.$schema).toBe('./birdwatch.schema.json');
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(loadConfig({ file: exampleFile }).cameras.map((camera) => camera.name)).toEqual(['garden', 'pond']);
  });

  it('an unknown key, at the top, in a camera or in web, is refused by the schema and by birdwatch', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ colour: 'red' }, /^unknown key 'colour' in \S+ \(known keys: watch, airplanes, cameras, db, /],
      [{ cameras: [{ watch: 'a', airplanes: 'b', zoom: 2 }] }, /^unknown key 'zoom' in cameras\[0\] in \S+/],
      [
        { web: { port: 1 } },
        /^unknown key 'port' in 'web' in \S+ \(known keys: listen, publicRead, thumbnails, publicUrl\)$/,
      ],
      [{ $id: 'x' }, /^unknown key '\$id' in \S+/],
    ];
    for (const [config, message] of cases) {
      expect(validate(config), JSON.stringify(config)).toBe(false);
      expect(() => loadConfig({ file: fileWith(config) })).toThrow(message);
    }
    const commented = { $schema: './birdwatch.schema.json', '//': 'a comment', web: { '//listen': 'a comment' } };
    expect(validate(commented)).toBe(true);
    expect(() => loadConfig({ file: fileWith(commented) })).not.toThrow();
  });

  it('the schema refuses what birdwatch refuses for a value out of its limits', () => {
    for (const config of [
      { threshold: 1.5 },
      { birdBudget: 1 },
      { quietMs: -1 },
      { batchSize: 0 },
      { provider: 'gpu' },
      { metricsListen: '9464' },
      { retentionDays: 0 },
      { cameras: [] },
    ]) {
      expect(validate(config), JSON.stringify(config)).toBe(false);
      expect(() => loadConfig({ file: fileWith(config) }), JSON.stringify(config)).toThrow(ConfigError);
    }
  });
});

describe('each key declared once', () => {
  it('every key has a description and says what a reload does; flags are unique and parse as declared', () => {
    const flags: string[] = [];
    const visit = (
      properties: Record<
        string,
        { description?: string; reload?: string; flag?: string; properties?: Record<string, never> }
      >,
    ): void => {
      for (const [name, schema] of Object.entries(properties)) {
        expect(schema.description, name).toMatch(/\w/);
        expect(['applied', 'restart', 'unused'], name).toContain(schema.reload);
        if (schema.flag !== undefined) flags.push(schema.flag);
        if (schema.properties !== undefined) visit(schema.properties);
      }
    };
    visit(SETTINGS as never);
    expect(new Set(flags).size).toBe(flags.length);
    expect(CONFIG_FLAG_OPTIONS).toMatchObject({ 'quiet-ms': { type: 'string' }, polling: { type: 'boolean' } });
    expect(loadConfig({ flags: { 'quiet-ms': '200', 'stall-ms': '300', polling: true } })).toMatchObject({
      quietMs: 200,
      stallMs: 300,
      polling: true,
    });
  });

  it('a loaded config is frozen through and through: nothing edits it in place', () => {
    const config = loadConfig({ file: exampleFile });
    for (const part of [config, config.cameras, config.cameras[0], config.web, config.web.listen, config.retrain]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (config as { quietMs: number }).quietMs = 1;
    }).toThrow(TypeError);
  });
});
