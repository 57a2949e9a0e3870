import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The daemon tests spawn real child processes and decode real images: give them room on a 2-core machine.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // Root only: a copy of the checkout nobody can read, and a folder where chattr +i works (see the file).
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
