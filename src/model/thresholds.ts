// The threshold each camera runs with, the one definition: camera `threshold` > camera `birdBudget` (looked up in
// the model's operating curve) > config `threshold` > config `birdBudget` when set explicitly (looked up) > the
// model's own threshold. A budget picks the curve point with the largest bird_budget not above it (never more birds
// than asked); a budget below the smallest point, or a budget with a model that has no curve, is a ThresholdError.
// A model older than the curve has one point: its own threshold, at the bird budget its metadata says it was chosen
// at (validation_metrics.bird_budget), so a config that set birdBudget for calibrate keeps running as before.
import type { CurvePoint, OperatingCurve } from './validate.js';

/** What the resolution reads from the configuration (a Config fits). */
export interface CameraSettings {
  name: string;
  threshold?: number;
  birdBudget?: number;
}

export interface ThresholdSettings {
  cameras: readonly CameraSettings[];
  threshold?: number;
  birdBudget: number;
  /** Whether the top-level birdBudget was set (config file or flag) rather than the default: only then is it looked
   *  up for the daemon's thresholds. */
  birdBudgetExplicit?: boolean;
}

/** What it reads from the model (a Model or a ModelFileInfo fits). */
export interface ThresholdModel {
  path: string;
  threshold: number;
  operatingCurve?: OperatingCurve;
  /** The metadata_props as stored: an older model's one point is read from validation_metrics. */
  metadata?: Record<string, string>;
}

export type ThresholdSource =
  'camera threshold' | 'camera birdBudget' | 'config threshold' | 'config birdBudget' | 'model threshold';

export interface ResolvedThreshold {
  /** null: the configuration's level (no camera). */
  camera: string | null;
  threshold: number;
  source: ThresholdSource;
  /** The budget asked for, and the curve point that answered it (budget sources only). */
  budget?: number;
  point?: CurvePoint;
  /** The curve the point is from (an older model's one implicit point included). */
  curve?: OperatingCurve;
}

/** A budget that cannot be looked up in the model's curve: a config error at start, a refusal at a swap or reload. */
export class ThresholdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThresholdError';
  }
}

/** The curve point with the largest bird_budget <= budget; undefined when the budget is below every point. */
export function pointForBudget(curve: OperatingCurve, budget: number): CurvePoint | undefined {
  let best: CurvePoint | undefined;
  // A budget written as 0.02 must find the 0.02 point whatever the float arithmetic that produced either.
  for (const point of curve.points) if (point.bird_budget <= budget * (1 + 1e-9)) best = point;
  return best;
}

/**
 * The curve a budget is looked up in: the model's operating_curve; for an older model without one, the single point
 * its own threshold stands for when validation_metrics names the bird budget it was chosen at and the figures there
 * (undefined when it does not).
 */
export function curveOf(model: ThresholdModel): OperatingCurve | undefined {
  if (model.operatingCurve !== undefined) return model.operatingCurve;
  let metrics: Record<string, unknown>;
  try {
    metrics = JSON.parse(model.metadata?.validation_metrics ?? 'null') as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const share = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
  const budget = metrics?.bird_budget;
  const caught = metrics?.airplanes_caught_at_threshold;
  const moved = metrics?.birds_moved_at_threshold;
  if (!share(budget) || budget === 0 || budget === 1 || !share(caught) || !share(moved)) return undefined;
  const split = typeof metrics.split === 'string' ? metrics.split : 'validation';
  return {
    threshold_split: split,
    figures_split: split,
    implicit: true,
    points: [{ bird_budget: budget, threshold: model.threshold, airplanes_caught: caught, birds_moved: moved }],
  };
}

function lookUp(model: ThresholdModel, budget: number, who: string): { point: CurvePoint; curve: OperatingCurve } {
  const curve = curveOf(model);
  if (curve === undefined) {
    throw new ThresholdError(
      `${who} birdBudget ${budget} needs the model's operating curve, and model ${model.path} ` +
        'has none (it predates it, and its metadata does not say at which bird budget its own threshold was chosen): ' +
        'set a threshold instead, or install a model that carries a curve',
    );
  }
  const point = pointForBudget(curve, budget);
  if (point === undefined) {
    throw new ThresholdError(
      `${who} birdBudget ${budget} is below the smallest bird budget model ${model.path} was ` +
        `measured at (${
          curve.implicit
            ? `it has no operating curve; its own threshold was chosen at bird budget ` +
              `${curve.points[0]!.bird_budget}`
            : `its curve's budgets: ${curve.points.map((p) => p.bird_budget).join(', ')}`
        })`,
    );
  }
  return { point, curve };
}

/** The threshold for `camera` (null: for the configuration as a whole, no camera's own settings). */
export function resolveThreshold(
  settings: ThresholdSettings,
  camera: CameraSettings | null,
  model: ThresholdModel,
): ResolvedThreshold {
  const name = camera?.name ?? null;
  const who = name === null ? "the config's" : `camera '${name}':`;
  if (camera?.threshold !== undefined) return { camera: name, threshold: camera.threshold, source: 'camera threshold' };
  if (camera?.birdBudget !== undefined) {
    const { point, curve } = lookUp(model, camera.birdBudget, `${who} its`);
    return {
      camera: name,
      threshold: point.threshold,
      source: 'camera birdBudget',
      budget: camera.birdBudget,
      point,
      curve,
    };
  }
  if (settings.threshold !== undefined)
    return { camera: name, threshold: settings.threshold, source: 'config threshold' };
  if (settings.birdBudgetExplicit) {
    const { point, curve } = lookUp(model, settings.birdBudget, name === null ? who : `${who} the config's`);
    return {
      camera: name,
      threshold: point.threshold,
      source: 'config birdBudget',
      budget: settings.birdBudget,
      point,
      curve,
    };
  }
  return { camera: name, threshold: model.threshold, source: 'model threshold' };
}

/** Every camera's threshold, in the config's order; throws the first ThresholdError. */
export function resolveThresholds(settings: ThresholdSettings, model: ThresholdModel): ResolvedThreshold[] {
  return settings.cameras.map((camera) => resolveThreshold(settings, camera, model));
}

/** The log line's fields for one camera's threshold: where it came from and what the curve says it gives. */
export function thresholdLogFields(
  resolved: ResolvedThreshold,
  model: ThresholdModel & { id?: string },
): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    camera: resolved.camera ?? '(all)',
    threshold: resolved.threshold,
    from: resolved.source,
  };
  if (model.id !== undefined) fields.model_id = model.id;
  if (resolved.point !== undefined && resolved.curve !== undefined) {
    const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
    const curve = resolved.curve;
    Object.assign(fields, {
      bird_budget: resolved.budget!,
      curve_point: resolved.point.bird_budget,
      airplanes_caught: percent(resolved.point.airplanes_caught),
      birds_moved: percent(resolved.point.birds_moved),
      figures_from: `${curve.figures_split} split`,
      threshold_from: `${curve.threshold_split} split`,
      ...(curve.implicit ? { curve: "none: the model's own threshold and the bird budget it was chosen at" } : {}),
    });
  }
  return fields;
}
