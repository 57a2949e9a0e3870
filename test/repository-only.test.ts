// The tests need nothing beside the repository (a club's clone has no ../shared): the reliability photographs come
// from test/fixtures unless BIRDWATCH_DATA names another set, and no test or helper spells a path out of the
// checkout. CI runs with ../shared beside the checkout, so without this a test reaching for it would pass there and
// fail on a clone. (training/tests/conftest.py hides ../shared from the Python tests the same way.)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/daemon.js';
import { DATA_ROOT, FIXTURE_DATA, realImagePaths } from './reliability/images.js';

/** Every TypeScript/JavaScript file under test/, recursively. */
function testSources(dir = join(REPO, 'test')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testSources(path);
    return /\.(ts|mts|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

/** The code of a source file without its comments (line comments, and block comments on their own lines). */
function code(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/?\*)/.test(line))
    .map((line) => line.replace(/\s\/\/.*$/, ''))
    .join('\n');
}

describe('tests read nothing outside the repository', () => {
  it('takes the reliability photographs from test/fixtures unless BIRDWATCH_DATA names a set', () => {
    if (process.env.BIRDWATCH_DATA) {
      expect(DATA_ROOT).toBe(process.env.BIRDWATCH_DATA);
    } else {
      expect(DATA_ROOT).toBe(FIXTURE_DATA);
      expect(relative(REPO, DATA_ROOT).startsWith('..')).toBe(false);
    }
    // The fixtures themselves: a few dozen real CIFAR JPEGs of each class, in the repository.
    for (const kind of ['airplane', 'bird'] as const) {
      const paths = readdirSync(join(FIXTURE_DATA, kind)).filter((n) => n.endsWith('.jpg'));
      expect(paths.length, kind).toBeGreaterThanOrEqual(24);
      expect(realImagePaths(kind).length).toBeGreaterThan(0);
    }
  });

  it('spells no path out of the checkout in any test or helper', () => {
    const sources = testSources().filter((path) => !path.endsWith('repository-only.test.ts')); // its own examples
    expect(sources.length).toBeGreaterThan(20);
    const outside = sources
      .filter((path) =>
        /(\.\.[/\\]+)+shared\b|['"`]\.\.[/\\]*['"`]\s*,\s*['"`]shared['"`]/.test(code(readFileSync(path, 'utf8'))),
      )
      .map((path) => relative(REPO, path));
    expect(outside, 'these read ../shared (use test/fixtures, or BIRDWATCH_DATA for a larger set)').toEqual([]);
  });

  it('would catch one that did', () => {
    expect(/(\.\.[/\\]+)+shared\b/.test(code("const root = new URL('../../../shared/data/x', import.meta.url);"))).toBe(
      true,
    );
    expect(/(\.\.[/\\]+)+shared\b/.test(code('// an example: ../shared/data/cifar10-airplane-bird'))).toBe(false);
  });
});
