// The comparison of a candidate with the current model, and the promotion rule, each defined once here.
// Both models are scored with the daemon's own preprocessing and runtime (src/model/classify-files.ts) on the same
// files: the club's held-out shots and the training subproject's CIFAR report split; and both at the same bird
// budget, each at the threshold it certifies on the held-out birds (src/retrain/evidence.ts). Each model is judged
// at the threshold it runs with (deployedThresholds: the camera's, else the config's, else the model's own), never at one
// re-chosen on the judged files: the current model at what the config and its metadata give now, the candidate at
// its own metadata threshold, and, where the config sets thresholds, also at those kept (promote --keep-thresholds).
import type { Config } from '../config/index.js';
import { figuresAt } from '../calibrate/rule.js';
import { classifyFiles } from '../model/classify-files.js';
import { modelFileInfo } from '../model/file-info.js';
import { loadModel } from '../model/load.js';
import { CommandFailure } from '../cli-kit/command-kit.js';
import { evidenceAtBudget, mcnemar, SIGNIFICANCE, type BudgetEvidence, type McNemar } from './evidence.js';

/** A labelled image; `camera` for a club shot (its camera's threshold applies), absent for the report split. */
export interface LabelledFile {
  path: string;
  label: 'airplane' | 'bird';
  camera?: string;
}

/** The threshold a model runs with for a shot of `camera` (null: no camera), and where it comes from. */
export interface DeployedThreshold {
  threshold: number;
  from: string;
}
export type ThresholdOf = (camera: string | null) => DeployedThreshold;

/**
 * The daemon's rule: the camera's threshold, else the config's, else the model's own; `useConfig` false: the
 * model's own always (a candidate installed with the config's thresholds dropped).
 */
export function deployedThresholds(config: Config, modelThreshold: number, useConfig: boolean): ThresholdOf {
  return (camera) => {
    const own = !useConfig || camera === null ? undefined : config.cameras.find((c) => c.name === camera)?.threshold;
    if (own !== undefined) return { threshold: own, from: `camera '${camera}'` };
    if (useConfig && config.threshold !== undefined) return { threshold: config.threshold, from: 'config' };
    return { threshold: modelThreshold, from: 'model' };
  };
}

export interface ModelFigures {
  /** Images this figure rests on (decided by both models), and of them birds and airplanes. */
  images: number;
  birds: number;
  airplanes: number;
  /** The model's most probable class equals the label. */
  correct: number;
  accuracy: number | null;
  /** The threshold the figures below used: one number, or null when it differs by camera (see threshold_used). */
  threshold: number | null;
  /** Each threshold used and where it comes from, e.g. "0.93 (model)", "0.5 (camera 'garden'), 0.8 (config)". */
  threshold_used: string;
  birds_moved: number;
  birds_moved_share: number | null;
  airplanes_caught: number;
  airplanes_caught_share: number | null;
}

export interface SetComparison {
  images: number;
  failed: number;
  current: ModelFigures;
  /** The candidate at its own threshold (installed with the config's thresholds dropped, or none set). */
  candidate: ModelFigures;
  /** The candidate at the config's thresholds (promote --keep-thresholds); only when the config sets any. */
  candidate_kept_thresholds?: ModelFigures;
  /** Exact McNemar on the birds one model moves and the other keeps, each at the threshold it runs with (and the
   *  candidate at the config's thresholds). Absent in reports written before it. */
  birds_test?: McNemar;
  birds_test_kept_thresholds?: McNemar;
}

export interface Comparison {
  budget: number;
  /** The thresholds the config set when the models were compared (they decide the current model's figures). */
  config_thresholds?: string[];
  club_held_out: SetComparison;
  report_split: SetComparison;
  /** Both models at the same bird budget, each at the threshold it certifies on the club's held-out birds, compared
   *  on the held-out airplanes (src/retrain/evidence.ts). Absent in reports written before it. */
  at_budget?: BudgetEvidence;
}

type Scores = Map<string, number>;

/** P(airplane) of each file the model could decide. */
export async function scoreFiles(config: Config, modelPath: string, files: readonly LabelledFile[]): Promise<Scores> {
  const model = await loadModel({ path: modelPath, provider: config.provider }).catch((err: Error) => {
    throw new CommandFailure(err.message);
  });
  const scores: Scores = new Map();
  try {
    await classifyFiles(
      files.map((f) => f.path),
      model,
      {
        limits: { maxPixels: config.maxPixels, maxBytes: config.maxBytes },
        concurrency: config.concurrency,
        batchSize: 32,
      },
      (result) => {
        if (result.probabilities) scores.set(result.path, result.probabilities.airplane);
      },
    );
  } finally {
    await model.close();
  }
  return scores;
}

function figures(files: readonly LabelledFile[], scores: Scores, thresholdOf: ThresholdOf): ModelFigures {
  const birds = files.filter((f) => f.label === 'bird').map((f) => scores.get(f.path)!);
  const planes = files.filter((f) => f.label === 'airplane').map((f) => scores.get(f.path)!);
  // P(airplane) > 0.5 is the most probable class (the daemon's `label`: airplane when P(airplane) > P(bird)).
  const correct = birds.filter((p) => !(p > 1 - p)).length + planes.filter((p) => p > 1 - p).length;
  // Files grouped by the threshold they are judged at (their camera's), each group counted by the calibrate rule.
  const groups = new Map<string, { at: DeployedThreshold; files: LabelledFile[] }>();
  for (const f of files) {
    const at = thresholdOf(f.camera ?? null);
    const key = `${at.threshold} (${at.from})`;
    if (!groups.has(key)) groups.set(key, { at, files: [] });
    groups.get(key)!.files.push(f);
  }
  if (groups.size === 0) {
    const at = thresholdOf(null);
    groups.set(`${at.threshold} (${at.from})`, { at, files: [] });
  }
  let birdsMoved = 0;
  let caught = 0;
  for (const { at, files: group } of groups.values()) {
    const f = figuresAt(
      at.threshold,
      group.filter((g) => g.label === 'bird').map((g) => scores.get(g.path)!),
      group.filter((g) => g.label === 'airplane').map((g) => scores.get(g.path)!),
    );
    birdsMoved += f.birds_moved;
    caught += f.airplanes_caught;
  }
  const values = new Set([...groups.values()].map((g) => g.at.threshold));
  return {
    images: files.length,
    birds: birds.length,
    airplanes: planes.length,
    correct,
    accuracy: files.length === 0 ? null : correct / files.length,
    threshold: values.size === 1 ? [...values][0]! : null,
    threshold_used: [...groups.keys()].join(', '),
    birds_moved: birdsMoved,
    birds_moved_share: birds.length === 0 ? null : birdsMoved / birds.length,
    airplanes_caught: caught,
    airplanes_caught_share: planes.length === 0 ? null : caught / planes.length,
  };
}

/** The thresholds the config sets, as promote and the report name them. */
export function configThresholds(config: Config): string[] {
  const out: string[] = [];
  if (config.threshold !== undefined) out.push(`threshold ${config.threshold}`);
  for (const c of config.cameras)
    if (c.threshold !== undefined) out.push(`camera '${c.name}' threshold ${c.threshold}`);
  return out;
}

/**
 * Scores both models on both sets and judges each at the threshold it runs with: the current model at the
 * config's thresholds (else its own), the candidate at its own, and at the config's kept when the config sets any.
 */
export async function compareModels(
  config: Config,
  currentPath: string,
  candidatePath: string,
  heldOut: readonly LabelledFile[],
  reportSplit: readonly LabelledFile[],
  budget: number,
  confidence = config.calibration.confidence,
): Promise<Comparison> {
  const all = [...heldOut, ...reportSplit];
  const current = await scoreFiles(config, currentPath, all);
  const candidate = await scoreFiles(config, candidatePath, all);
  const decided = (files: readonly LabelledFile[]): LabelledFile[] =>
    files.filter((f) => current.has(f.path) && candidate.has(f.path));
  const configSet = configThresholds(config);
  const tCurrent = deployedThresholds(config, modelFileInfo(currentPath).threshold, true);
  const candidateOwn = modelFileInfo(candidatePath).threshold;
  // Birds one model moves and the other keeps, each at the threshold it runs with for the bird's camera.
  const birdPairs = (files: readonly LabelledFile[], tCandidate: ThresholdOf): McNemar => {
    const birds = files.filter((f) => f.label === 'bird');
    const moves = (scores: Scores, t: ThresholdOf, f: LabelledFile): boolean =>
      scores.get(f.path)! >= t(f.camera ?? null).threshold;
    return mcnemar(
      birds.filter((f) => moves(current, tCurrent, f) && !moves(candidate, tCandidate, f)).length,
      birds.filter((f) => moves(candidate, tCandidate, f) && !moves(current, tCurrent, f)).length,
    );
  };
  const set = (files: readonly LabelledFile[]): SetComparison => {
    const ok = decided(files);
    const own = deployedThresholds(config, candidateOwn, false);
    const kept = deployedThresholds(config, candidateOwn, true);
    return {
      images: ok.length,
      failed: files.length - ok.length,
      current: figures(ok, current, tCurrent),
      candidate: figures(ok, candidate, own),
      birds_test: birdPairs(ok, own),
      ...(configSet.length > 0
        ? { candidate_kept_thresholds: figures(ok, candidate, kept), birds_test_kept_thresholds: birdPairs(ok, kept) }
        : {}),
    };
  };
  const held = decided(heldOut);
  const pairs = (label: string) =>
    held
      .filter((f) => f.label === label)
      .map((f) => ({ current: current.get(f.path)!, candidate: candidate.get(f.path)! }));
  return {
    budget,
    config_thresholds: configSet,
    club_held_out: set(heldOut),
    report_split: set(reportSplit),
    at_budget: evidenceAtBudget(pairs('bird'), pairs('airplane'), budget, confidence),
  };
}

const setNames = { club_held_out: "the club's held-out shots", report_split: 'the CIFAR report split' } as const;

/**
 * The promotion rule: a candidate is refused only when it is worse beyond the noise (exact McNemar, two-sided, at
 * SIGNIFICANCE): it moves more birds at the threshold it will run with on either set, or, at the same bird budget
 * with each model at the threshold it certifies on the club's held-out birds, catches fewer held-out airplanes.
 * `keepThresholds`: it will run at the config's thresholds (promote --keep-thresholds). A report written before the
 * tests existed is judged by its counts, as then. Returns what blocks it (empty: it may be promoted).
 */
export function promotionBlockers(comparison: Comparison, keepThresholds = false): string[] {
  const blockers: string[] = [];
  const judged = (s: SetComparison): ModelFigures =>
    keepThresholds && s.candidate_kept_thresholds ? s.candidate_kept_thresholds : s.candidate;
  for (const key of ['club_held_out', 'report_split'] as const) {
    const { current } = comparison[key];
    const candidate = judged(comparison[key]);
    const test =
      keepThresholds && comparison[key].birds_test_kept_thresholds
        ? comparison[key].birds_test_kept_thresholds
        : comparison[key].birds_test;
    const worse =
      test === undefined
        ? candidate.birds_moved > current.birds_moved
        : test.candidate_only > test.current_only && test.p_value < SIGNIFICANCE;
    if (worse) {
      blockers.push(
        `it moves more birds on ${setNames[key]}: ${candidate.birds_moved} of ${candidate.birds} at ` +
          `${candidate.threshold_used} against ${current.birds_moved} at ${current.threshold_used} ` +
          (test === undefined
            ? `(bird budget ${comparison.budget})`
            : `(${test.candidate_only} birds moved by it ` +
              `alone, ${test.current_only} by the current model alone: exact McNemar p = ${test.p_value.toPrecision(2)})`),
      );
    }
  }
  const evidence = comparison.at_budget;
  if (evidence !== undefined) {
    if (evidence.verdict === 'worse') {
      blockers.push(`it catches fewer airplanes on ${setNames.club_held_out}: ${evidence.summary}`);
    }
    return blockers;
  }
  const { current } = comparison.club_held_out;
  const candidate = judged(comparison.club_held_out);
  if (candidate.airplanes_caught < current.airplanes_caught) {
    blockers.push(
      `it catches fewer airplanes on ${setNames.club_held_out}: ${candidate.airplanes_caught} of ` +
        `${candidate.airplanes} at ${candidate.threshold_used} against ${current.airplanes_caught} at ` +
        `${current.threshold_used}`,
    );
  }
  return blockers;
}

/** The comparison as a terminal table; each figure with the threshold it used and where that comes from. */
export function comparisonTable(comparison: Comparison): string {
  const pct = (n: number | null): string => (n === null ? '-' : `${(n * 100).toFixed(1)}%`);
  const lines = [
    `set                      model             images  accuracy  birds moved      airplanes caught  at threshold`,
  ];
  for (const key of ['club_held_out', 'report_split'] as const) {
    const rows: Array<[string, ModelFigures | undefined]> = [
      ['current', comparison[key].current],
      ['candidate', comparison[key].candidate],
      ['candidate, kept', comparison[key].candidate_kept_thresholds],
    ];
    rows
      .filter((r): r is [string, ModelFigures] => r[1] !== undefined)
      .forEach(([which, f], i) => {
        lines.push(
          `${(i === 0 ? setNames[key].replace(/^the /, '') : '').padEnd(25)}${which.padEnd(16)}` +
            `${String(f.images).padStart(6)}  ${pct(f.accuracy).padStart(8)}  ` +
            `${`${f.birds_moved}/${f.birds} (${pct(f.birds_moved_share)})`.padEnd(15)}  ` +
            `${`${f.airplanes_caught}/${f.airplanes} (${pct(f.airplanes_caught_share)})`.padEnd(16)}  ` +
            f.threshold_used,
        );
      });
  }
  if (comparison.at_budget)
    lines.push(`same bird budget, thresholds certified on the held-out birds: ` + comparison.at_budget.summary);
  return lines.join('\n');
}
