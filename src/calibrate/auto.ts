// Auto-calibration: the daemon asks this, on a timer, whether new random-review labels arrived (one cheap look at
// the newest label's id) or the model changed, and if so recalibrates every camera without a threshold of its own
// from the labels on the serving model's decisions; a threshold that changes is a threshold_changes row and a log
// line, and the new thresholds are handed over as a fresh frozen map (nothing shared is edited in place).
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { timestamp } from '../db/rows.js';
import { insertThresholdChange, latestThresholds } from '../db/threshold-changes.js';
import type { Logger } from '../logger.js';
import { resolveThreshold, ThresholdError, type ThresholdModel } from '../model/thresholds.js';
import { budgetOf, calibrationOf, type Calibration } from './calibrate.js';
import { latestSampleLabelId, reviewEvidence, sampleLabels, strataToWeigh } from './labels.js';

/** Calibrated thresholds of one model, per camera name. */
export interface CalibratedThresholds {
  readonly modelId: string;
  readonly thresholds: ReadonlyMap<string, number>;
}

export interface AutoCalibratorDeps {
  db: Db;
  /** The config in force, asked at each look (a reload hands over a new one). */
  config: () => Config;
  /** The model new shots are decided with. */
  models: { readonly model: ThresholdModel & { id: string } };
  logger: Logger;
  /** Receives every new set of thresholds (an empty one when calibration.auto is turned off). */
  apply: (calibrated: CalibratedThresholds) => void;
}

/** Why a threshold changed, in a line a member can read. */
export function changeReason(c: Calibration): string {
  const pct = (share: number): string => `${+(share * 100).toFixed(2)}%`;
  if (c.certified) {
    return (
      `certified: at most ${pct(c.budget)} of birds moved at ${pct(c.confidence)} confidence ` +
      `(bound ${pct(c.bound)}), ${c.birds_moved} of ${c.birds} reviewed birds at or above it`
    );
  }
  const needed =
    c.design === 'stratified'
      ? `${c.more_reviews_needed} more stratified reviews needed`
      : `${c.more_birds_needed} more reviewed birds needed`;
  return `not certified (${needed}): raised to just above the highest of ${c.birds} reviewed birds, never lowered`;
}

export class AutoCalibrator {
  private lastLabelId = -1;
  private lastModelId: string | undefined;
  private applied = false;

  constructor(private readonly deps: AutoCalibratorDeps) {}

  /**
   * Recalibrates when a label arrived or the model changed since the last look (always when `force`). A database
   * error is logged and the look repeated next time.
   */
  check(force = false): void {
    const { db, models, logger } = this.deps;
    const config = this.deps.config();
    if (!config.calibration.auto) {
      if (this.applied) this.deps.apply({ modelId: models.model.id, thresholds: new Map() });
      this.applied = false;
      this.lastLabelId = -1;
      return;
    }
    try {
      const labelId = latestSampleLabelId(db);
      const model = models.model;
      if (!force && labelId === this.lastLabelId && model.id === this.lastModelId) return;
      this.deps.apply(this.recalibrate(model));
      this.applied = true;
      this.lastLabelId = labelId;
      this.lastModelId = model.id;
    } catch (err) {
      logger.warn('auto-calibration failed; tried again at the next look', { error: (err as Error).message });
    }
  }

  private recalibrate(model: ThresholdModel & { id: string }): CalibratedThresholds {
    const { db, logger } = this.deps;
    const config = this.deps.config();
    const labels = sampleLabels(db, model.id);
    const evidence = reviewEvidence(db, model.id);
    const latest = latestThresholds(db, model.id);
    const thresholds = new Map<string, number>();
    for (const camera of config.cameras) {
      if (camera.threshold !== undefined) continue; // pinned by the config
      let base: number;
      try {
        base = resolveThreshold(config, camera, model).threshold;
      } catch (err) {
        if (!(err instanceof ThresholdError)) throw err;
        base = model.threshold;
      }
      const current = latest.get(camera.name)?.new_threshold ?? base;
      const mine = labels.filter((l) => l.camera === camera.name);
      const scores = (label: string): number[] => mine.filter((l) => l.label === label).map((l) => l.p_airplane);
      const strata = strataToWeigh(evidence, camera.name, config.calibration.sampling);
      const c = calibrationOf(
        camera.name,
        scores('bird'),
        scores('airplane'),
        budgetOf(config, camera.name),
        config.calibration.confidence,
        current,
        false,
        strata,
      );
      const known = strata ? strata.high.reviewed + strata.low.reviewed : c.birds;
      if (known === 0 && !latest.has(camera.name)) continue; // nothing known: the config's threshold
      if (c.threshold !== current) {
        const why = changeReason(c);
        insertThresholdChange(db, {
          ...timestamp(),
          camera: camera.name,
          old_threshold: current,
          new_threshold: c.threshold,
          model_id: model.id,
          budget: c.budget,
          confidence: c.confidence,
          n: c.birds,
          k: c.birds_moved,
          bound: c.bound,
          certified: c.certified ? 1 : 0,
          why,
        });
        logger.info('threshold changed', {
          camera: camera.name,
          old: current,
          new: c.threshold,
          model_id: model.id,
          n: c.birds,
          k: c.birds_moved,
          bound: +c.bound.toFixed(6),
          why,
        });
      }
      thresholds.set(camera.name, c.threshold);
    }
    return Object.freeze({ modelId: model.id, thresholds });
  }
}
