// Reads the decisions and stats filters from a URL query (the same filters as `birdwatch log` and `stats`, the
// same parsers for times and choices) for both the JSON API and the pages; a bad value is a BadQuery (HTTP 400).
import { actions, labels, type DecisionFilter } from '../query/decision-filter.js';
import type { StatsFilter } from '../query/stats.js';
import { parseTimeRange, TimeSpecError } from '../query/time-range.js';

export class BadQuery extends Error {}

export type Query = Record<string, string | string[] | undefined>;

/** One value of a query parameter; '' counts as absent (an empty form field). */
function one(query: Query, name: string): string | undefined {
  const value = query[name];
  const text = Array.isArray(value) ? value[value.length - 1] : value;
  return text === undefined || text === '' ? undefined : text;
}

function choice<T extends string>(query: Query, name: string, choices: readonly T[]): T | undefined {
  const value = one(query, name);
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new BadQuery(`${name} must be one of ${choices.join(', ')}, got '${value}'`);
  }
  return value as T;
}

function number(query: Query, name: string, min: number, max: number): number | undefined {
  const value = one(query, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new BadQuery(`${name} must be a number from ${min} to ${max}`);
  return n;
}

function range(query: Query, defaultSince?: string): { sinceMs?: number; untilMs?: number } {
  try {
    return parseTimeRange(one(query, 'since') ?? defaultSince, one(query, 'until'));
  } catch (err) {
    if (err instanceof TimeSpecError) throw new BadQuery(err.message.replace(/--(since|until)/g, '$1'));
    throw err;
  }
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** A cursor is `TIME_MS.ID` of the last decision shown. */
export function encodeCursor(timeMs: number, id: number): string {
  return `${timeMs}.${id}`;
}

export function decisionFilterFrom(query: Query): { filter: DecisionFilter; limit: number } {
  const filter: DecisionFilter = {
    ...range(query),
    camera: one(query, 'camera'),
    label: choice(query, 'label', labels),
    action: choice(query, 'action', actions),
    minPAirplane: number(query, 'min_p', 0, 1),
    maxPAirplane: number(query, 'max_p', 0, 1),
    pathContains: one(query, 'path'),
    modelId: one(query, 'model'),
  };
  const corrected = one(query, 'corrected');
  if (corrected !== undefined) {
    if (!['1', 'true', '0', 'false'].includes(corrected)) throw new BadQuery('corrected must be true or false');
    filter.corrected = corrected === '1' || corrected === 'true';
  }
  const before = one(query, 'before');
  if (before !== undefined) {
    const match = /^(\d{1,16})\.(\d{1,16})$/.exec(before);
    if (!match) throw new BadQuery(`before must be a cursor from a previous answer's 'next', got '${before}'`);
    filter.before = { timeMs: Number(match[1]), id: Number(match[2]) };
  }
  const limit = number(query, 'limit', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit)) throw new BadQuery('limit must be a whole number');
  return { filter, limit };
}

export function statsFilterFrom(query: Query, defaultSince?: string): StatsFilter {
  return { ...range(query, defaultSince), camera: one(query, 'camera') };
}

/** The query again, without some keys (for paging links and filter forms). */
export function queryString(query: Query, changes: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...flatten(query), ...changes })) {
    if (value !== undefined && value !== '') params.set(key, value);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function flatten(query: Query): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
}
