// The long load runs (not in `npm test`): 10,000 real JPEGs dropped at once, then files arriving at a steady rate for
// several minutes. Run: npm run build && npx vitest run --config test/reliability/vitest.stress.config.ts
// Sizes: BW_STRESS_BURST (default 10000), BW_STRESS_RATE (files/s, default 20), BW_STRESS_SECONDS (default 240).
// Photographs: the fixtures by default; BIRDWATCH_DATA=DIR (any folder with airplane/ and bird/, e.g. CIFAR-10's
// 5,000 + 5,000 training images) draws on a larger set, so fewer of the 10,000 are re-encodings of the same photograph.
// One test at a time: add `-t subfolders`, `-t 'one folder'` or `-t steady`.
import { describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from './harness.js';
import { formatFigures, runBurst, runLeakCheck, runOverflow, runSteady, type LoadFigures } from './load.js';

const BURST = Number(process.env.BW_STRESS_BURST ?? 10_000);
const RATE = Number(process.env.BW_STRESS_RATE ?? 20);
const SECONDS = Number(process.env.BW_STRESS_SECONDS ?? 240);

cleanUpAfterAll();

function expectSound(f: LoadFigures): void {
  expect(f.emfile, 'EMFILE in the daemon output').toBe(false);
  expect(f.lost).toBe(0);
  expect(f.duplicates).toBe(0);
  expect(f.rowsNotOne).toBe(0);
  expect(f.failed).toBe(0);
  expect(f.decided).toBe(f.files);
  expect(f.peakRssMiB).toBeLessThan(600);
}

describe('stress', () => {
  it(`burst of ${BURST} files spread over 20 subfolders`, async () => {
    const f = await runBurst(BURST, {}, 20);
    console.log(formatFigures(f));
    expectSound(f);
  }, 3_600_000);

  it(`burst of ${BURST} files into one folder`, async () => {
    const f = await runBurst(BURST);
    console.log(formatFigures(f));
    expectSound(f);
  }, 3_600_000);

  it(
    `steady ${RATE} files/s for ${SECONDS} s`,
    async () => {
      const f = await runSteady(RATE, SECONDS);
      console.log(formatFigures(f));
      expectSound(f);
    },
    SECONDS * 1000 + 600_000,
  );

  it('inotify queue overflow while the daemon is stopped: the safety rescan finds what the kernel lost', async () => {
    const n = Number(process.env.BW_STRESS_OVERFLOW ?? 9000);
    const f = await runOverflow(n, 120_000);
    console.log(
      `${formatFigures(f)}\n  overflow: ${n} files written in place (2 events each, queue ${f.queueMax}) ` +
        `while the daemon was SIGSTOPped; reported by the watcher: ${f.beforeRescan}; ` +
        `found only by the safety rescan: ${n - f.beforeRescan}`,
    );
    expectSound(f);
    expect(f.beforeRescan, 'measured before the first rescan').toBeGreaterThanOrEqual(0);
  }, 3_600_000);

  it('no leak: the live heap stays flat over 10,000 decisions (5 waves of 2,000, all moved out)', async () => {
    const waves = await runLeakCheck(5, 2000);
    const shown = waves.map((w) => `${w.decided} decided: heap ${w.heapKiB} KiB, rss ${w.rssMiB} MiB`);
    console.log(`[figures] leak check: ${shown.join('; ')}`);
    const first = waves[0]!.heapKiB;
    const last = waves.at(-1)!.heapKiB;
    // 8,000 more decisions may not leave more than ~2 MiB behind (0.25 KiB each would be a leak of 2 MiB).
    expect(last - first).toBeLessThan(2048);
  }, 1_800_000);
});
