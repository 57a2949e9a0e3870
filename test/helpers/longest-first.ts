// The order vitest starts test files in: the longest first, so that three workers finish together. vitest does this
// from its cache of last run's durations, but a fresh clone (CI) has none and starts the larger files first, which
// left a 160 s file to start late. These files took 50 s or more in CI (vitest's own durations, CI=true, 2 cores);
// the rest follow in vitest's order.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'reliability-crash',
  'loop-retrain',
  'web-api',
  'reliability-faults',
  'web-browser',
  'reliability-crash-copy',
  'model-budget',
  'daemon-service',
  'log',
  'classify-cli',
];

const rank = (spec: TestSpecification): number => {
  const index = LONGEST_FIRST.findIndex((name) => spec.moduleId.endsWith(`/test/${name}.test.ts`));
  return index < 0 ? LONGEST_FIRST.length : index;
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cached = await super.sort(files);
    return [...cached].sort((a, b) => rank(a) - rank(b)); // stable: vitest's order among the rest
  }
}
