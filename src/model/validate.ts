// Validate the model's metadata_props (strings, JSON where structured) into typed values, naming the bad key.
import { ModelError } from './errors.js';

export interface ModelMetadata {
  classes: string[];
  mean: number[];
  std: number[];
  threshold: number;
}

export function parseModelMetadata(props: Record<string, string>, path: string): ModelMetadata {
  const fail = (key: string, why: string): never => {
    throw new ModelError(`model ${path}: metadata '${key}' ${why}`);
  };
  const json = (key: string): unknown => {
    const raw = props[key];
    if (raw === undefined) return fail(key, 'is missing');
    try {
      return JSON.parse(raw);
    } catch {
      return fail(key, `is not valid JSON: ${JSON.stringify(raw.slice(0, 80))}`);
    }
  };

  const classes = json('classes');
  if (!Array.isArray(classes) || classes.length !== 2 || !classes.every((c) => typeof c === 'string')
    || !classes.includes('airplane') || !classes.includes('bird')) {
    fail('classes', `must be the two classes ["airplane","bird"], got ${JSON.stringify(classes)}`);
  }
  const triple = (key: string, positive: boolean): number[] => {
    const value = json(key);
    if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return fail(key, `must be a JSON array of 3 finite numbers (R, G, B), got ${JSON.stringify(value)}`);
    }
    if (positive && !value.every((v: number) => v > 0)) fail(key, `must be 3 positive numbers, got ${JSON.stringify(value)}`);
    return value as number[];
  };
  const mean = triple('mean', false);
  const std = triple('std', true);

  const rawThreshold = props.threshold;
  if (rawThreshold === undefined) fail('threshold', 'is missing');
  const threshold = Number(rawThreshold);
  if (rawThreshold!.trim() === '' || !Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    fail('threshold', `must be a number between 0 and 1, got ${JSON.stringify(rawThreshold)}`);
  }
  return { classes: classes as string[], mean, std, threshold };
}
