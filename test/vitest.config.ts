import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
    // Root only: a copy of the checkout nobody can read, and a folder where chattr +i works (see the file).
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
