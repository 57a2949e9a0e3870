// Parses the --since/--until values club members type: a relative age (`30m`, `2h`, `7d`, `2w`) or an
// absolute date/time (`2026-05-01`, `2026-05-01T10:00`, `2026-05-01 10:00:30`, optionally with `Z` or `+02:00`).
// Absolute values without a zone are local time, as people read clocks; the log itself stores UTC.

export class TimeSpecError extends Error {}

const unitMs: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const relativePattern = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$/;
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Returns epoch milliseconds for a time spec. `role` matters only for a bare date: as `since` it is the start of
 * that day, as `until` the end of it (so `--since 2026-05-01 --until 2026-05-01` is that whole day).
 */
export function parseTimeSpec(spec: string, role: 'since' | 'until', nowMs: number = Date.now()): number {
  const text = spec.trim();
  const relative = relativePattern.exec(text);
  if (relative) {
    return nowMs - Math.round(Number(relative[1]) * unitMs[relative[2]]);
  }
  const date = datePattern.exec(text);
  if (date) {
    const [year, month, day] = date.slice(1, 4).map(Number);
    checkFields(year, month, day, 0, 0, 0, spec);
    // new Date() rolls day 32 over into the next month, which is exactly the end of the typed day.
    return new Date(year, month - 1, role === 'since' ? day : day + 1).getTime();
  }
  const dateTime = dateTimePattern.exec(text);
  if (dateTime) {
    const [year, month, day, hour, minute] = dateTime.slice(1, 6).map(Number);
    const second = Number(dateTime[6] ?? 0);
    const ms = Number((dateTime[7] ?? '0').padEnd(3, '0'));
    const zone = dateTime[8];
    checkFields(year, month, day, hour, minute, second, spec);
    if (zone === undefined) return new Date(year, month - 1, day, hour, minute, second, ms).getTime();
    const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    if (zone === 'Z') return utc;
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    return utc - sign * offsetMinutes * 60_000;
  }
  throw new TimeSpecError(
    `cannot read time '${spec}': use an age like 30m, 2h, 7d, 2w or a date/time like 2026-05-01 or 2026-05-01T10:00`,
  );
}

// Refuses dates like 2026-02-31 that new Date() would silently roll over.
function checkFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  spec: string,
): void {
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new TimeSpecError(`no such date/time: '${spec}'`);
  }
}

/** A half-open range [sinceMs, untilMs) of decision times; either end may be open. */
export interface TimeRange {
  sinceMs?: number;
  untilMs?: number;
}

export function parseTimeRange(since: string | undefined, until: string | undefined, nowMs = Date.now()): TimeRange {
  const range: TimeRange = {};
  if (since !== undefined) range.sinceMs = parseTimeSpec(since, 'since', nowMs);
  if (until !== undefined) range.untilMs = parseTimeSpec(until, 'until', nowMs);
  if (range.sinceMs !== undefined && range.untilMs !== undefined && range.sinceMs >= range.untilMs) {
    throw new TimeSpecError(`--since ${since} is not before --until ${until}`);
  }
  return range;
}
