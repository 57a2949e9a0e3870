// The daemon's reusable read buffers: a released buffer serves the next file that fits, at most `keep` are held,
// and a huge file's buffer is not kept. (Identity is compared as booleans: vitest formats whole buffers otherwise.)
import { describe, expect, it } from 'vitest';
import { ReadBuffers } from '../src/daemon/read-buffers.js';

describe('ReadBuffers', () => {
  it('reuses a released buffer for the next file that fits, and allocates for one that does not', () => {
    const pool = new ReadBuffers(2, 8 * 1024 * 1024);
    const a = pool.take(370_000);
    expect(a.length).toBeGreaterThanOrEqual(370_000);
    pool.release(a);
    expect(pool.take(300_000) === a, 'reused').toBe(true);
    pool.release(a);
    const big = pool.take(a.length + 1);
    expect(big === a, 'a buffer too small is not handed out').toBe(false);
    expect(big.length).toBeGreaterThan(a.length);
  });

  it('hands the smallest buffer that fits, holds at most `keep`, and never keeps one over the size cap', () => {
    const pool = new ReadBuffers(2, 4 * 1024 * 1024);
    const small = pool.take(100_000);
    const medium = pool.take(1_000_000);
    const large = pool.take(3_000_000);
    for (const b of [large, medium, small]) pool.release(b); // small is one too many: not kept
    expect(pool.take(50_000) === medium, 'smallest that fits first').toBe(true);
    expect(pool.take(50_000) === large).toBe(true);
    const fresh = pool.take(50_000);
    expect(
      [small, medium, large].some((b) => b === fresh),
      'nothing left to reuse',
    ).toBe(false);

    const huge = pool.take(5 * 1024 * 1024);
    expect(huge.length).toBe(5 * 1024 * 1024); // no headroom past the cap
    pool.release(huge);
    expect(pool.take(5 * 1024 * 1024) === huge, 'over the cap: not kept').toBe(false);
  });

  it('lend() takes the buffer back when the work ends, whether it resolves or throws', async () => {
    const pool = new ReadBuffers(1, 8 * 1024 * 1024);
    let first: Buffer | undefined;
    await pool.lend(async (allocate) => {
      first = allocate(1000);
    });
    expect(pool.take(1000) === first, 'returned after success').toBe(true);
    pool.release(first!);
    let second: Buffer | undefined;
    await expect(
      pool.lend(async (allocate) => {
        second = allocate(1000);
        throw new Error('decode failed');
      }),
    ).rejects.toThrow('decode failed');
    expect(second === first && pool.take(1000) === first, 'returned after a failure').toBe(true);
  });
});
