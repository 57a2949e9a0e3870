// Validate the model's metadata_props (strings, JSON where structured) into typed values, naming the bad key.
import { ModelError } from './errors.js';

export interface ModelMetadata {
  classes: string[];
  mean: number[];
  std: number[];
  threshold: number;
  /** The bird budgets the model was measured at (metadata `operating_curve`); undefined for older models. */
  operatingCurve?: OperatingCurve;
}

/** One bird budget of the operating curve: the threshold chosen for it and what that threshold gives. */
export interface CurvePoint {
  bird_budget: number;
  /** Chosen on the curve's threshold_split. */
  threshold: number;
  /** Measured on the curve's figures_split (the report split). */
  airplanes_caught: number;
  birds_moved: number;
  airplanes_caught_interval?: [number, number];
  birds_moved_interval?: [number, number];
}

export interface OperatingCurve {
  threshold_split: string;
  figures_split: string;
  /** Budgets ascending. */
  points: CurvePoint[];
  /** Not in the metadata: an older model's single point (its own threshold), see src/model/thresholds.ts. */
  implicit?: boolean;
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
  if (
    !Array.isArray(classes) ||
    classes.length !== 2 ||
    !classes.every((c) => typeof c === 'string') ||
    !classes.includes('airplane') ||
    !classes.includes('bird')
  ) {
    fail('classes', `must be the two classes ["airplane","bird"], got ${JSON.stringify(classes)}`);
  }
  const triple = (key: string, positive: boolean): number[] => {
    const value = json(key);
    if (
      !Array.isArray(value) ||
      value.length !== 3 ||
      !value.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      return fail(key, `must be a JSON array of 3 finite numbers (R, G, B), got ${JSON.stringify(value)}`);
    }
    if (positive && !value.every((v: number) => v > 0))
      fail(key, `must be 3 positive numbers, got ${JSON.stringify(value)}`);
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
  const operatingCurve =
    props.operating_curve === undefined
      ? undefined
      : parseOperatingCurve(json('operating_curve'), (why) => fail('operating_curve', why));
  return { classes: classes as string[], mean, std, threshold, ...(operatingCurve ? { operatingCurve } : {}) };
}

/** The `operating_curve` metadata alone (undefined when absent); a malformed one throws the same ModelError as a
 *  load. */
export function operatingCurveOf(props: Record<string, string>, path: string): OperatingCurve | undefined {
  const raw = props.operating_curve;
  if (raw === undefined) return undefined;
  const fail = (why: string): never => {
    throw new ModelError(`model ${path}: metadata 'operating_curve' ${why}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail(`is not valid JSON: ${JSON.stringify(raw.slice(0, 80))}`);
  }
  return parseOperatingCurve(value, fail);
}

/** The `operating_curve` metadata: splits named, at least one point, budgets strictly ascending in (0, 1), every
 *  threshold and share in [0, 1], intervals (when present) two ordered shares. */
function parseOperatingCurve(value: unknown, fail: (why: string) => never): OperatingCurve {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail('must be a JSON object {threshold_split, figures_split, points}');
  const curve = value as Record<string, unknown>;
  for (const key of ['threshold_split', 'figures_split'] as const) {
    if (typeof curve[key] !== 'string' || curve[key] === '') fail(`must name its ${key} (a string)`);
  }
  if (!Array.isArray(curve.points) || curve.points.length === 0) fail('must have a non-empty list of points');
  const share = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
  const points = (curve.points as unknown[]).map((raw, i): CurvePoint => {
    const at = `point ${i}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${at} must be an object`);
    const p = raw as Record<string, unknown>;
    if (!(typeof p.bird_budget === 'number' && p.bird_budget > 0 && p.bird_budget < 1)) {
      fail(`${at}: bird_budget must be a share above 0 and below 1, got ${JSON.stringify(p.bird_budget)}`);
    }
    for (const key of ['threshold', 'airplanes_caught', 'birds_moved'] as const) {
      if (!share(p[key])) fail(`${at}: ${key} must be a number between 0 and 1, got ${JSON.stringify(p[key])}`);
    }
    const point: CurvePoint = {
      bird_budget: p.bird_budget as number,
      threshold: p.threshold as number,
      airplanes_caught: p.airplanes_caught as number,
      birds_moved: p.birds_moved as number,
    };
    for (const key of ['airplanes_caught_interval', 'birds_moved_interval'] as const) {
      const interval = p[key];
      if (interval === undefined || interval === null) continue;
      if (!Array.isArray(interval) || interval.length !== 2 || !interval.every(share) || interval[0] > interval[1]) {
        fail(`${at}: ${key} must be [low, high], two numbers between 0 and 1, got ${JSON.stringify(interval)}`);
      }
      point[key] = [interval[0], interval[1]];
    }
    return point;
  });
  points.forEach((point, i) => {
    if (i > 0 && !(point.bird_budget > points[i - 1]!.bird_budget)) {
      fail(`bird budgets must be ascending, got ${points.map((p) => p.bird_budget).join(', ')}`);
    }
  });
  return { threshold_split: curve.threshold_split as string, figures_split: curve.figures_split as string, points };
}
