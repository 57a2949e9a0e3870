// Waiting for eventual outcomes (never timing assertions): poll until true, fail with a description on timeout.
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs: number,
  what: () => string,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(intervalMs);
  }
}

export { sleep };
