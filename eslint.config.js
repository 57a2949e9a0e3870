// ESLint for src/ and test/ (`npm run lint`): the recommended rules of ESLint and typescript-eslint, type-aware so
// that a promise nobody awaits, or one handed where a plain callback is expected, is an error. Formatting is
// Prettier's (.prettierrc); Python under training/ is flake8's.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The few globals the plain JavaScript files use (the `globals` package is not a dependency for a dozen names).
const browserGlobals = Object.fromEntries(
  ['document', 'window', 'location', 'fetch', 'URL', 'FormData', 'confirm', 'setTimeout', 'HTMLImageElement'].map(
    (name) => [name, 'readonly'],
  ),
);
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'setInterval', 'setTimeout', 'clearInterval', 'Buffer'].map((name) => [name, 'readonly']),
);

export default defineConfig(
  globalIgnores(['dist/', 'models/', 'training/', 'config/', 'var/', 'bench-out/', 'test/screenshots/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    // Each file is checked with the tsconfig that holds it: tsconfig.json for src/, test/tsconfig.json for test/.
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // The point of type-aware linting here: every promise is awaited, returned, or `void`ed on purpose.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A `let` assigned once, later, because a closure made before reads it (ops-metrics.test.ts).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_name` is unused on purpose (a destructured key left out, a callback's unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Not taken from the recommended set: the no-unsafe-* family (the code reads JSON, SQLite rows and CLI output
      // as checked casts, not as `any` flowing around); `x!` after a lookup the code knows succeeds (the house
      // style, not an error); `async` functions without `await` (Fastify handlers and interfaces that return
      // promises); String() of a JSON value already known to be defined (model cards and config files are shown
      // as written).
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Tests parse the CLI's and the API's JSON output: `any` is the honest type of what they then probe.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Plain JavaScript (the web page's script, a test's child-process probe): no types to check.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  { files: ['src/web/static/**/*.js'], languageOptions: { sourceType: 'script', globals: browserGlobals } },
  { files: ['**/*.mjs'], languageOptions: { globals: nodeGlobals } },
);
