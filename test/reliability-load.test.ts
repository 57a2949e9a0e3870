// Load (default suite, sized for CI on 2 cores): a burst of real JPEGs dropped at once into the running daemon.
// The 10,000-file burst and the several-minute steady-rate run are in test/reliability/load.stress.ts
// (`vitest run --config test/reliability/vitest.stress.config.ts`). Figures are printed, not asserted on time.
import { describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from './reliability/harness.js';
import { formatFigures, MAX_OPEN_FILES, runBurst } from './reliability/load.js';

const BURST = Number(process.env.BW_BURST_FILES ?? 2000);

cleanUpAfterAll();

describe('load', () => {
  it(`decides a burst of ${BURST} files dropped at once, once each, without EMFILE or runaway memory`, async () => {
    const f = await runBurst(BURST);
    console.log(formatFigures(f));
    expect(f.emfile, 'EMFILE in the daemon output').toBe(false);
    expect(f.lost).toBe(0);
    expect(f.duplicates).toBe(0);
    expect(f.rowsNotOne, 'files without exactly one decision row').toBe(0);
    expect(f.failed).toBe(0);
    expect(f.decided).toBe(BURST);
    expect(f.moved).toBeGreaterThan(0);
    expect(f.kept).toBeGreaterThan(0);
    // Bounded memory: a queue of N pending files must not hold N images. Generous, not a speed figure.
    expect(f.peakRssMiB).toBeLessThan(600);
    expect(f.maxOpenFds).toBeLessThan(MAX_OPEN_FILES); // the daemon runs with RLIMIT_NOFILE = MAX_OPEN_FILES
  }, 600_000);

  it('decides a burst of 500 files in polling mode (network shares) too', async () => {
    const f = await runBurst(500, { polling: true, pollIntervalMs: 500 });
    console.log(formatFigures(f).replace('load burst', 'load burst, polling mode'));
    expect(f.emfile).toBe(false);
    expect(f.lost).toBe(0);
    expect(f.duplicates).toBe(0);
    expect(f.rowsNotOne).toBe(0);
    expect(f.decided).toBe(500);
  }, 600_000);
});
