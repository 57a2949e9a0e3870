// Checks one configuration value against its declared schema (schema.ts) and returns it parsed: numbers from flag
// text, HOST:PORT into { host, port }. Each error is one line naming the key and where the value came from.
import type { TSchema } from '@sinclair/typebox';
import type { KeyMeta } from './schema.js';

/** A usage or configuration problem: the command prints `birdwatch: <message>` and exits with code 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A declared key: its JSON Schema with the declaration's annotations. */
export type Declared = TSchema &
  KeyMeta & {
    type?: string;
    anyOf?: Array<{ const: unknown }>;
    default?: unknown;
    examples?: string[];
    pattern?: string;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    exclusiveMaximum?: number;
    properties?: Record<string, Declared>;
    items?: Declared;
  };

/** The value of a scalar key (strings, numbers, booleans, one of a list, HOST:PORT), checked; `label` says which
 *  key and where (e.g. `'quietMs' in /etc/birdwatch.json` or `--quiet-ms`). */
export function parseValue(schema: Declared, value: unknown, label: string): unknown {
  if (schema.anyOf !== undefined)
    return oneOf(
      schema.anyOf.map((option) => option.const),
      value,
      label,
    );
  switch (schema.type) {
    case 'string':
      if (schema.address) return parseListen(value, label, (schema.examples ?? []).join(' or '));
      return matching(schema, asString(value, label), label);
    case 'boolean':
      return asBoolean(value, label);
    case 'integer':
      return inLimits(schema, asCount(value, label), value, label);
    case 'number':
      return inLimits(schema, asNumber(value, label), value, label);
    default:
      throw new Error(`no value parser for a schema of type ${String(schema.type)}`);
  }
}

/** `HOST:PORT` (`[::1]:8080` for IPv6; port 0 picks a free one): the web page's and the metrics' listen address. */
export function parseListen(
  value: unknown,
  label: string,
  example = '127.0.0.1:8080 or [::1]:8080',
): { host: string; port: number } {
  const text = asString(value, label);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(`${label} must be HOST:PORT (e.g. ${example}), got ${JSON.stringify(value)}`);
  }
  return { host: match[1] ?? match[2]!, port };
}

/** The limits in words, for errors and the docs: "between 0 and 1", "above 0", "at least 1". */
export function limitsText(schema: Declared): string | undefined {
  const low = schema.minimum !== undefined ? `${schema.minimum}` : schema.exclusiveMinimum;
  const high = schema.maximum !== undefined ? `${schema.maximum}` : schema.exclusiveMaximum;
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `between ${low} and ${high}`;
  const parts: string[] = [];
  if (schema.minimum !== undefined) parts.push(`at least ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`above ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) parts.push(`at most ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`below ${schema.exclusiveMaximum}`);
  return parts.length === 0 ? undefined : parts.join(' and ');
}

function inLimits(schema: Declared, number: number, value: unknown, label: string): number {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  const fits =
    (minimum === undefined || number >= minimum) &&
    (maximum === undefined || number <= maximum) &&
    (exclusiveMinimum === undefined || number > exclusiveMinimum) &&
    (exclusiveMaximum === undefined || number < exclusiveMaximum);
  if (fits) return number;
  // A whole number: asCount already refused anything below 0, so only a higher minimum is left to say.
  if (schema.type === 'integer' && schema.must === undefined) {
    throw new ConfigError(`${label} must be ${limitsText(schema)}`);
  }
  const got = typeof value === 'string' ? number : JSON.stringify(value);
  throw new ConfigError(`${label} must be ${schema.must ?? limitsText(schema)}, got ${got}`);
}

/** A string key with a declared pattern (an mqtt:// URL...): refused, in the declaration's words, when it does not
 *  match. */
function matching(schema: Declared, text: string, label: string): string {
  if (schema.pattern === undefined || new RegExp(schema.pattern).test(text)) return text;
  throw new ConfigError(
    `${label} must be ${schema.must ?? `text matching ${schema.pattern}`}, got ` + `${JSON.stringify(text)}`,
  );
}

function asString(value: unknown, label: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${label} must be a non-empty string`);
  return value;
}

function asNumber(value: unknown, label: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new ConfigError(`${label} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

function asCount(value: unknown, label: string): number {
  const number = asNumber(value, label);
  if (!Number.isInteger(number) || number < 0) {
    throw new ConfigError(`${label} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return number;
}

function asBoolean(value: unknown, label: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`${label} must be true or false, got ${JSON.stringify(value)}`);
}

function oneOf(options: unknown[], value: unknown, label: string): unknown {
  if (options.includes(value)) return value;
  const quoted = options.map((option) => `'${String(option)}'`);
  throw new ConfigError(
    `${label} must be ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}, ` + `got ${JSON.stringify(value)}`,
  );
}
