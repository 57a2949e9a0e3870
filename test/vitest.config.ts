import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import LongestFirst from './helpers/longest-first.js';

// The daemon tests spawn real child processes and decode real images, and spend much of their time waiting on them
// (files settling, rescans, restarts): three files at a time keep 2 cores busy without starving any (measured:
// 470 s for the suite against 729 s one file at a time, the same 346 tests passing).
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 3,
    // A worker keeps the modules it loaded (vitest, the helpers, sharp, playwright...) for its next file instead of
    // loading them afresh per file: measured on 20 small files, 28 s of CPU instead of 40, the same tests passing.
    // The helpers' state is per file (each file's afterAll stops its daemons and removes its folders).
    isolate: false,
    sequence: { sequencer: LongestFirst },
    // Root only: a copy of the checkout nobody can read, and a folder where chattr +i works (see the file).
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
