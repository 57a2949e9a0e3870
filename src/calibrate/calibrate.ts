// `birdwatch calibrate`, the work: the threshold recomputed from the club's own labelled shots at the configured
// bird budget, overall and per camera, beside the threshold in use; and --apply, which writes the new thresholds
// into the config file where enough birds are labelled.
import path from 'node:path';
import type { Config } from '../config/index.js';
import { editConfigFile } from '../config/edit.js';
import type { Db } from '../db/index.js';
import type { ModelFileInfo } from '../model/file-info.js';
import { resolveThreshold } from '../model/thresholds.js';
import { scoredLabels, type LabelSource, type ScoredLabel } from './labels.js';
import { birdsAllowed, birdsNeeded, figuresAt, RUNTIME_MARGIN, thresholdFor, type AtThreshold } from './rule.js';

export interface Calibration {
  /** null: all cameras together. */
  camera: string | null;
  budget: number;
  birds: number;
  airplanes: number;
  /** ceil(1 / budget) labelled birds are needed before the threshold is applied. */
  birds_needed: number;
  enough: boolean;
  /** null without labelled birds. */
  threshold: number | null;
  at_new: AtThreshold | null;
  /** The threshold the daemon uses now for this camera (src/model/thresholds.ts: threshold or budget, camera's,
   *  else config's, else the model's). */
  threshold_in_use: number;
  at_in_use: AtThreshold;
}

export interface CalibrationReport {
  model: { path: string; id: string; threshold: number };
  budget: number;
  sources: LabelSource[];
  /** Labels found, per source, on decisions of this model; and labels on shots other models decided (not used). */
  labels: { sample: { birds: number; airplanes: number }; correction: { birds: number; airplanes: number };
    other_models: number };
  rule: string;
  all: Calibration;
  cameras: Calibration[];
}

export function describeRule(budget: number): string {
  return `threshold = ${RUNTIME_MARGIN} above the highest-scoring labelled bird beyond the floor(${budget} x birds) ` +
    `the budget lets through (rounded up to 6 decimals); applied only with at least ceil(1/${budget}) = ` +
    `${birdsNeeded(budget)} labelled birds, so that at least one bird may move`;
}

/** `running`: the config the daemon runs with, for the thresholds in use (default `config`; calibrate's
 *  --bird-budget is a what-if that the daemon does not see). */
export function calibrate(config: Config, db: Db, model: ModelFileInfo, withCorrections: boolean,
  running: Config = config): CalibrationReport {
  const all = scoredLabels(db);
  const mine = all.filter((l) => l.model_id === model.id);
  const count = (source: LabelSource, label: string): number =>
    mine.filter((l) => l.source === source && l.label === label).length;
  const sources: LabelSource[] = withCorrections ? ['sample', 'correction'] : ['sample'];
  // One label per decision: the sample's when it has one (unbiased), else its correction (when asked for).
  const used = new Map<number, ScoredLabel>();
  for (const source of sources) {
    for (const l of mine) if (l.source === source && !used.has(l.decision_id)) used.set(l.decision_id, l);
  }
  const labels = [...used.values()];
  // The daemon's own rule (src/model/thresholds.ts): a camera's threshold, its bird budget on the model's curve, ...
  const inUse = (camera: string | null): number => resolveThreshold(running,
    camera === null ? null : running.cameras.find((c) => c.name === camera) ?? { name: camera }, model).threshold;
  const budgetOf = (camera: string | null): number =>
    (camera === null ? undefined : config.cameras.find((c) => c.name === camera)?.birdBudget) ?? config.birdBudget;
  const one = (camera: string | null): Calibration => {
    const subset = camera === null ? labels : labels.filter((l) => l.camera === camera);
    const birds = subset.filter((l) => l.label === 'bird').map((l) => l.p_airplane);
    const planes = subset.filter((l) => l.label === 'airplane').map((l) => l.p_airplane);
    const budget = budgetOf(camera);
    const threshold = birds.length === 0 ? null : thresholdFor(birds, budget);
    return {
      camera, budget, birds: birds.length, airplanes: planes.length, birds_needed: birdsNeeded(budget),
      enough: birds.length >= birdsNeeded(budget) && birdsAllowed(budget, birds.length) >= 1,
      threshold, at_new: threshold === null ? null : figuresAt(threshold, birds, planes),
      threshold_in_use: inUse(camera), at_in_use: figuresAt(inUse(camera), birds, planes),
    };
  };
  const cameraNames = [...new Set([...config.cameras.map((c) => c.name), ...labels.map((l) => l.camera)])];
  return {
    model: { path: model.path, id: model.id, threshold: model.threshold },
    budget: config.birdBudget,
    sources,
    labels: {
      sample: { birds: count('sample', 'bird'), airplanes: count('sample', 'airplane') },
      correction: { birds: count('correction', 'bird'), airplanes: count('correction', 'airplane') },
      other_models: new Set(all.filter((l) => l.model_id !== model.id).map((l) => l.decision_id)).size,
    },
    rule: describeRule(config.birdBudget),
    all: one(null),
    cameras: cameraNames.map((name) => one(name)),
  };
}

export interface AppliedThreshold { key: string; threshold: number }

/**
 * Writes the thresholds that rest on enough birds into the config file: a camera's own `threshold` where that
 * camera has enough, and the top-level `threshold` when all cameras together have enough. Returns what changed.
 */
export function applyCalibration(config: Config, report: CalibrationReport): AppliedThreshold[] {
  const file = config.configFile!;
  const applied: AppliedThreshold[] = [];
  editConfigFile(file, (raw) => {
    if (report.all.enough && report.all.threshold !== null) {
      raw.threshold = report.all.threshold;
      applied.push({ key: 'threshold', threshold: report.all.threshold });
    }
    if (!Array.isArray(raw.cameras)) return;
    const fileDir = path.dirname(file);
    raw.cameras.forEach((entry: Record<string, unknown>, index: number) => {
      const name = typeof entry.name === 'string' ? entry.name
        : path.basename(path.resolve(fileDir, String(entry.watch)));
      const calibration = report.cameras.find((c) => c.camera === name);
      if (calibration?.enough && calibration.threshold !== null) {
        entry.threshold = calibration.threshold;
        applied.push({ key: `cameras[${index}].threshold (${name})`, threshold: calibration.threshold });
      }
    });
  });
  return applied;
}
