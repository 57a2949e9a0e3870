import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The long reliability runs, excluded from `npm test` (they are *.stress.ts, not *.test.ts).
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/reliability/**/*.stress.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
