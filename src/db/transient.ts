// Which database errors are worth waiting out (locks, full or read-only disk, I/O), and a retry loop for them:
// a decision is delayed while the fault lasts, never dropped.
import type { Logger } from '../logger.js';

const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL)/;
const TRANSIENT_ERRNO = new Set(['ENOSPC', 'EROFS', 'EIO', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE', 'EDQUOT']);

export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (TRANSIENT.test(code) || TRANSIENT_ERRNO.has(code));
}

/** Thrown by retryTransient when asked to stop (shutdown) while still failing. */
export class RetryAbortedError extends Error {
  constructor(readonly lastError: unknown) {
    super(`gave up retrying on shutdown: ${(lastError as Error)?.message ?? String(lastError)}`);
    this.name = 'RetryAbortedError';
  }
}

export interface RetryOptions {
  logger?: Logger;
  /** What is being attempted, for the log line ("record decision for /x.jpg"). */
  what: string;
  /** Stop retrying (shutdown). */
  signal?: AbortSignal;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** Runs fn until it succeeds or fails with a non-transient error; transient errors are retried with backoff. */
export async function retryTransient<T>(fn: () => T | Promise<T>, options: RetryOptions): Promise<T> {
  let delay = options.firstDelayMs ?? 50;
  const maxDelay = options.maxDelayMs ?? 5000;
  let failures = 0;
  for (;;) {
    try {
      const result = await fn();
      if (failures > 0) options.logger?.info(`recovered after ${failures} failed attempts`, { what: options.what });
      return result;
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      if (options.signal?.aborted) throw new RetryAbortedError(err);
      failures++;
      // One line when the fault starts, then one every ~10 attempts: a long outage must not flood the journal.
      if (failures === 1 || failures % 10 === 0) {
        options.logger?.warn(`database or disk unavailable, retrying`, {
          what: options.what,
          error: (err as Error).message,
          code: (err as { code?: string }).code,
          attempt: failures,
        });
      }
      await sleep(delay, options.signal);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
