// `birdwatch calibrate`, the work: each camera's threshold (and all cameras' together) from the club's own labelled
// shots at its bird budget, with the confidence bound (src/calibrate/rule.ts), beside the threshold in use; and
// --apply, which writes the thresholds it would keep into the config file.
import path from 'node:path';
import type { Config } from '../config/index.js';
import { editConfigFile } from '../config/edit.js';
import type { Db } from '../db/index.js';
import type { ModelFileInfo } from '../model/file-info.js';
import { resolveThreshold } from '../model/thresholds.js';
import { upperBound } from './bound.js';
import {
  reviewEvidence,
  strataToWeigh,
  scoredLabels,
  type LabelSource,
  type ReviewDesign,
  type ScoredLabel,
} from './labels.js';
import { stratifiedThreshold, stratifiedUpperBound, type Strata } from './stratified.js';
import { certifiedThreshold, figuresAt, RUNTIME_MARGIN, thresholdToKeep, type AtThreshold } from './rule.js';

export interface Calibration {
  /** null: all cameras together. */
  camera: string | null;
  budget: number;
  confidence: number;
  birds: number;
  airplanes: number;
  /** Whether some threshold's upper bound on the share of birds moved is within the budget. */
  certified: boolean;
  /** The threshold calibration keeps: the lowest certified one; uncertified, the stricter of the one in use and the
   *  best the birds allow (never looser). */
  threshold: number;
  /** The lowest certified threshold (null when none is) and the strictest the labelled birds allow. */
  certified_threshold: number | null;
  best_threshold: number | null;
  /** Labelled birds at or above `threshold`, and the upper bound on the share of all birds it moves. */
  birds_moved: number;
  bound: number;
  /** Randomly reviewed birds still needed (none of them moved) before the budget is certified; 0 when it is. */
  more_birds_needed: number;
  /** How the reviewed shots were drawn: uniform (the bound on k of n birds) or stratified (the weighed-back bound,
   *  src/calibrate/stratified.ts). */
  design: ReviewDesign;
  /** Random shots still to review (as the review draws them) before the budget is certified; 0 when it is. */
  more_reviews_needed: number;
  /** The camera has its own threshold in the config: the daemon never changes it. */
  pinned: boolean;
  at_new: AtThreshold;
  /** The threshold the daemon's config gives this camera (src/model/thresholds.ts). */
  threshold_in_use: number;
  at_in_use: AtThreshold;
}

export interface CalibrationReport {
  model: { path: string; id: string; threshold: number };
  budget: number;
  confidence: number;
  sources: LabelSource[];
  /** Labels found, per source, on decisions of this model; and labels on shots other models decided (not used). */
  labels: {
    sample: { birds: number; airplanes: number };
    correction: { birds: number; airplanes: number };
    other_models: number;
  };
  rule: string;
  all: Calibration;
  cameras: Calibration[];
}

export function describeRule(confidence: number): string {
  return (
    `threshold = the lowest whose one-sided ${confidence * 100}% Clopper-Pearson upper bound on the share of ` +
    `birds moved is within the budget, ${RUNTIME_MARGIN} above the highest labelled bird that stays; uncertified, ` +
    'the stricter of the threshold in use and just above the highest labelled bird (never looser)'
  );
}

/** Random shots to review for `moreBirds` birds, at the share of birds among those reviewed (all when none is). */
export function shotsForBirds(moreBirds: number, birds: number, reviewed: number): number {
  return birds === 0 || moreBirds === 0 ? moreBirds : Math.ceil((moreBirds * reviewed) / birds);
}

/**
 * One camera's (or all cameras') calibration from labelled scores: pure, shared by calibrate and the daemon.
 * `strata`: the review was stratified (src/calibrate/stratified.ts), and its weighed-back bound decides.
 */
export function calibrationOf(
  camera: string | null,
  birds: readonly number[],
  planes: readonly number[],
  budget: number,
  confidence: number,
  inUse: number,
  pinned: boolean,
  strata?: Strata,
): Calibration {
  const stratified = strata && stratifiedThreshold(strata, budget, confidence);
  const choice = stratified ?? certifiedThreshold(birds, budget, confidence);
  const threshold = thresholdToKeep(choice, inUse);
  const atNew = figuresAt(threshold, birds, planes);
  return {
    camera,
    budget,
    confidence,
    birds: birds.length,
    airplanes: planes.length,
    certified: choice.certified,
    threshold,
    certified_threshold: choice.threshold,
    best_threshold: choice.best,
    birds_moved: atNew.birds_moved,
    bound: strata
      ? stratifiedUpperBound(strata, threshold, confidence)
      : upperBound(atNew.birds_moved, birds.length, confidence),
    more_birds_needed: choice.more_birds_needed,
    design: strata ? 'stratified' : 'uniform',
    more_reviews_needed: stratified
      ? stratified.more_reviews_needed
      : shotsForBirds(choice.more_birds_needed, birds.length, birds.length + planes.length),
    pinned,
    at_new: atNew,
    threshold_in_use: inUse,
    at_in_use: figuresAt(inUse, birds, planes),
  };
}

/** The bird budget a camera aims at: its own birdBudget, else the config's. */
export function budgetOf(config: Config, camera: string | null): number {
  return (camera === null ? undefined : config.cameras.find((c) => c.name === camera)?.birdBudget) ?? config.birdBudget;
}

/** Labels in the order calibrate uses them: one per decision, the sample's when it has one (unbiased), else its
 *  correction (only when corrections are asked for). */
function oneLabelPerDecision(labels: readonly ScoredLabel[], sources: readonly LabelSource[]): ScoredLabel[] {
  const used = new Map<number, ScoredLabel>();
  for (const source of sources) {
    for (const l of labels) if (l.source === source && !used.has(l.decision_id)) used.set(l.decision_id, l);
  }
  return [...used.values()];
}

/** `running`: the config the daemon runs with, for the thresholds in use (default `config`; calibrate's
 *  --bird-budget is a what-if that the daemon does not see). */
export function calibrate(
  config: Config,
  db: Db,
  model: ModelFileInfo,
  withCorrections: boolean,
  running: Config = config,
): CalibrationReport {
  const all = scoredLabels(db);
  const mine = all.filter((l) => l.model_id === model.id);
  const count = (source: LabelSource, label: string): number =>
    mine.filter((l) => l.source === source && l.label === label).length;
  const sources: LabelSource[] = withCorrections ? ['sample', 'correction'] : ['sample'];
  const labels = oneLabelPerDecision(mine, sources);
  const confidence = config.calibration.confidence;
  // The daemon's own rule (src/model/thresholds.ts): a camera's threshold, its bird budget on the model's curve, ...
  const inUse = (camera: string | null): number =>
    resolveThreshold(
      running,
      camera === null ? null : (running.cameras.find((c) => c.name === camera) ?? { name: camera }),
      model,
    ).threshold;
  // A stratified review is weighed back only from its own labels: corrections (--with-corrections) are no draw.
  const evidence = withCorrections ? new Map<string | null, never>() : reviewEvidence(db, model.id);
  const one = (camera: string | null): Calibration => {
    const subset = camera === null ? labels : labels.filter((l) => l.camera === camera);
    const scores = (label: string): number[] => subset.filter((l) => l.label === label).map((l) => l.p_airplane);
    const pinned = camera !== null && running.cameras.find((c) => c.name === camera)?.threshold !== undefined;
    return calibrationOf(
      camera,
      scores('bird'),
      scores('airplane'),
      budgetOf(config, camera),
      confidence,
      inUse(camera),
      pinned,
      withCorrections ? undefined : strataToWeigh(evidence, camera, config.calibration.sampling),
    );
  };
  const cameraNames = [...new Set([...config.cameras.map((c) => c.name), ...labels.map((l) => l.camera)])];
  return {
    model: { path: model.path, id: model.id, threshold: model.threshold },
    budget: config.birdBudget,
    confidence,
    sources,
    labels: {
      sample: { birds: count('sample', 'bird'), airplanes: count('sample', 'airplane') },
      correction: { birds: count('correction', 'bird'), airplanes: count('correction', 'airplane') },
      other_models: new Set(all.filter((l) => l.model_id !== model.id).map((l) => l.decision_id)).size,
    },
    rule: describeRule(confidence),
    all: one(null),
    cameras: cameraNames.map((name) => one(name)),
  };
}

export interface AppliedThreshold {
  key: string;
  threshold: number;
}

/** Whether --apply writes this calibration: only a certified threshold (the club's own stays otherwise). */
export function worthApplying(c: Calibration): boolean {
  return c.certified;
}

/**
 * Writes the certified thresholds into the config file: a camera's own `threshold` (which pins it: the daemon's
 * auto-calibration leaves it alone from then on), and the top-level `threshold` for all cameras together.
 * Returns what changed.
 */
export function applyCalibration(config: Config, report: CalibrationReport): AppliedThreshold[] {
  const file = config.configFile!;
  const applied: AppliedThreshold[] = [];
  editConfigFile(file, (raw) => {
    if (worthApplying(report.all)) {
      raw.threshold = report.all.threshold;
      applied.push({ key: 'threshold', threshold: report.all.threshold });
    }
    if (!Array.isArray(raw.cameras)) return;
    const fileDir = path.dirname(file);
    raw.cameras.forEach((entry: Record<string, unknown>, index: number) => {
      const name =
        typeof entry.name === 'string' ? entry.name : path.basename(path.resolve(fileDir, String(entry.watch)));
      const calibration = report.cameras.find((c) => c.camera === name);
      if (calibration !== undefined && worthApplying(calibration)) {
        entry.threshold = calibration.threshold;
        applied.push({ key: `cameras[${index}].threshold (${name})`, threshold: calibration.threshold });
      }
    });
  });
  return applied;
}
