// Small numeric helpers for benchmark figures.
import { nearestRank } from '../query/stats.js';

/**
 * Percentile (p in 0..100) of unsorted values by the stats' one definition (query/stats.ts nearestRank). Of no
 * values NaN, which fmt prints as 'n/a' (nearestRank's null, in the bench's numbers).
 */
export function percentile(values: number[], p: number): number {
  return (
    nearestRank(
      [...values].sort((a, b) => a - b),
      p / 100,
    ) ?? Number.NaN
  );
}

/** Runs `work` on every item with at most `limit` in flight; resolves when all are done. */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
