// A test that needs something this machine may lack (root, the `nobody` user, a filesystem honouring chattr +i, a
// tool) calls `needs(ctx, missing)` first. Under CI=true a missing precondition fails the test with its name, so CI
// cannot pass without proving what the test claims; elsewhere the test is skipped and says why, on the console and
// as vitest's skip note.
import type { TestContext } from 'vitest';

export const IN_CI = process.env.CI === 'true';

/** Throws (CI) or skips with a printed reason when `missing` (what is missing, in words) is not null. */
export function needs(ctx: TestContext, ...missing: Array<string | null>): void {
  const why = missing.filter((m): m is string => m !== null);
  if (why.length === 0) return;
  const said = why.join('; ');
  if (IN_CI) throw new Error(`precondition missing (CI=true fails instead of skipping): ${said}`);
  console.warn(`[skipped] ${ctx.task.name}: ${said}`);
  ctx.skip(said);
}

/** Null as root, else why root is needed. */
export function rootMissing(what = 'to mount, chattr or switch users'): string | null {
  return process.getuid?.() === 0 ? null : `root (${what}); running as uid ${process.getuid?.()}`;
}
