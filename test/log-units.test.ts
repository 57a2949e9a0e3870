// The pure pieces under `log` and `stats`: time specs (ages, local dates and times, zones, impossible dates), the
// RFC 4180 writer, the terminal table, and local days across daylight-saving changes.
import { afterEach, describe, expect, it } from 'vitest';
import { csvField, csvRecord } from '../src/cli-kit/csv.js';
import { formatLocalDay, nextLocalDay, startOfLocalDay } from '../src/query/local-time.js';
import { renderTable, shortenLeft } from '../src/cli-kit/table.js';
import { parseTimeRange, parseTimeSpec, TimeSpecError } from '../src/query/time-range.js';
import { parseCsv } from './log-shared.js';

const originalTz = process.env.TZ;
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

describe('time specs', () => {
  const now = Date.UTC(2026, 4, 10, 12, 0, 0);
  it('reads ages relative to now', () => {
    expect(parseTimeSpec('30m', 'since', now)).toBe(now - 30 * 60_000);
    expect(parseTimeSpec('2h', 'since', now)).toBe(now - 2 * 3_600_000);
    expect(parseTimeSpec('1.5h', 'since', now)).toBe(now - 5_400_000);
    expect(parseTimeSpec('7d', 'until', now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeSpec('2w', 'since', now)).toBe(now - 14 * 86_400_000);
    expect(parseTimeSpec('45s', 'since', now)).toBe(now - 45_000);
  });

  it('reads local dates (a whole day as --until) and local or zoned times', () => {
    process.env.TZ = 'Europe/Berlin'; // UTC+2 in May
    expect(parseTimeSpec('2026-05-01', 'since')).toBe(Date.UTC(2026, 3, 30, 22));
    expect(parseTimeSpec('2026-05-01', 'until')).toBe(Date.UTC(2026, 4, 1, 22));
    expect(parseTimeSpec('2026-05-31', 'until')).toBe(Date.UTC(2026, 4, 31, 22)); // local midnight of June 1
    expect(parseTimeSpec('2026-05-01T10:00', 'since')).toBe(Date.UTC(2026, 4, 1, 8));
    expect(parseTimeSpec('2026-05-01 10:00:30.5', 'since')).toBe(Date.UTC(2026, 4, 1, 8, 0, 30, 500));
    expect(parseTimeSpec('2026-05-01T10:00:00Z', 'since')).toBe(Date.UTC(2026, 4, 1, 10));
    expect(parseTimeSpec('2026-05-01T10:00+02:00', 'since')).toBe(Date.UTC(2026, 4, 1, 8));
    expect(parseTimeSpec('2026-05-01T10:00-0530', 'since')).toBe(Date.UTC(2026, 4, 1, 15, 30));
    expect(parseTimeSpec('2026-05-01T10:00:00.123Z', 'since')).toBe(Date.UTC(2026, 4, 1, 10, 0, 0, 123));
  });

  it('refuses what is not a time, and impossible dates', () => {
    for (const bad of [
      '',
      'yesterday',
      '2h ago',
      '-2h',
      '2026-02-30',
      '2026-13-01',
      '2026-05-01T25:00',
      '2026-5-1',
      '2026-05-01T10:61',
      '10:00',
      '2y',
    ]) {
      expect(() => parseTimeSpec(bad, 'since', now), bad).toThrow(TimeSpecError);
    }
    expect(() => parseTimeRange('1h', '2h', now)).toThrow(/not before/);
    expect(parseTimeRange('2h', '1h', now)).toEqual({ sinceMs: now - 7_200_000, untilMs: now - 3_600_000 });
  });
});

describe('local days', () => {
  it('are 23 and 25 hours long across daylight-saving changes', () => {
    process.env.TZ = 'Europe/Berlin';
    const spring = startOfLocalDay(Date.UTC(2026, 2, 29, 12));
    expect(formatLocalDay(spring)).toBe('2026-03-29');
    expect(nextLocalDay(spring) - spring).toBe(23 * 3_600_000);
    const autumn = startOfLocalDay(Date.UTC(2026, 9, 25, 12));
    expect(nextLocalDay(autumn) - autumn).toBe(25 * 3_600_000);
    expect(formatLocalDay(Date.UTC(2026, 4, 1, 22, 30))).toBe('2026-05-02'); // after local midnight
  });
});

describe('CSV (RFC 4180)', () => {
  it('quotes only what needs it, doubles quotes, ends records in CRLF, and parses back', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(0.25)).toBe('0.25');
    const values = ['/blog/odd, "quoted"\nname.jpg', '', 'x', '"', ',,'];
    const text = csvRecord(values) + csvRecord(['a', 'b', 'c', 'd', 'e']);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parseCsv(text)).toEqual([values, ['a', 'b', 'c', 'd', 'e']]);
  });
});

describe('terminal table', () => {
  it('aligns columns and shortens the flexible one from the left to fit the width', () => {
    expect(shortenLeft('/a/b/c/shot.jpg', 10)).toBe('…/shot.jpg');
    expect(shortenLeft('short', 10)).toBe('short');
    const rows = [
      { n: 7, p: '/srv/blog/2026/05/01/IMG_0001.jpg' },
      { n: 1234, p: '/srv/blog/x.jpg' },
    ];
    const columns = [
      { header: 'N', value: (r: (typeof rows)[number]) => String(r.n), align: 'right' as const },
      { header: 'PATH', value: (r: (typeof rows)[number]) => r.p, flexible: true },
    ];
    const wide = renderTable(rows, columns, 200).split('\n');
    expect(wide[0]).toBe('   N  PATH');
    expect(wide[1]).toBe('   7  /srv/blog/2026/05/01/IMG_0001.jpg');
    expect(wide[2]).toBe('1234  /srv/blog/x.jpg');
    const narrow = renderTable(rows, columns, 24).trimEnd().split('\n');
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(24);
    expect(narrow[1]).toMatch(/^ {3}7 {2}…\S*IMG_0001\.jpg$/);
    // A newline in a value (an error message) cannot break the rows apart.
    expect(
      renderTable([{ n: 1, p: 'bad\nname' }], columns, 80)
        .trimEnd()
        .split('\n'),
    ).toHaveLength(2);
  });
});
