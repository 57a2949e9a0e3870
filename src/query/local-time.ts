// Calendar helpers in the reader's local time zone (the log stores UTC; members think in their own days).

const pad = (n: number): string => String(n).padStart(2, '0');

/** `2026-05-01T10:00:00.000Z` -> `2026-05-01 12:00:00` in the local zone. */
export function formatLocalTime(isoOrMs: string | number): string {
  const date = new Date(isoOrMs);
  if (Number.isNaN(date.getTime())) return String(isoOrMs);
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${formatLocalDay(date.getTime())} ${time}`;
}

export function formatLocalDay(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function startOfLocalDay(ms: number): number {
  const date = new Date(ms);
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** The next local midnight: 23 or 25 hours later across a DST change, never a fixed 86,400,000 ms. */
export function nextLocalDay(dayStartMs: number): number {
  const date = new Date(dayStartMs);
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + 1).getTime();
}
