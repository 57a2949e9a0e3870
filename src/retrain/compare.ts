// The comparison of a candidate with the current model, and the promotion rule, each defined once here.
// Both models are scored with the daemon's own preprocessing and runtime (src/model/classify-files.ts) on the same
// files: the club's held-out shots and the training subproject's CIFAR report split. Each model is judged at its
// threshold for the configured bird budget, chosen on the report split by the calibrate rule (src/calibrate/rule.ts).
import type { Config } from '../config/index.js';
import { figuresAt, thresholdFor } from '../calibrate/rule.js';
import { classifyFiles } from '../model/classify-files.js';
import { loadModel } from '../model/load.js';
import { CommandFailure } from '../query/command-kit.js';

export interface LabelledFile { path: string; label: 'airplane' | 'bird' }

export interface ModelFigures {
  /** Images this figure rests on (decided by both models), and of them birds and airplanes. */
  images: number;
  birds: number;
  airplanes: number;
  /** The model's most probable class equals the label. */
  correct: number;
  accuracy: number | null;
  threshold: number;
  birds_moved: number;
  birds_moved_share: number | null;
  airplanes_caught: number;
  airplanes_caught_share: number | null;
}

export interface SetComparison { images: number; failed: number; current: ModelFigures; candidate: ModelFigures }

export interface Comparison {
  budget: number;
  club_held_out: SetComparison;
  report_split: SetComparison;
}

type Scores = Map<string, number>;

/** P(airplane) of each file the model could decide. */
export async function scoreFiles(config: Config, modelPath: string, files: readonly LabelledFile[]): Promise<Scores> {
  const model = await loadModel({ path: modelPath, provider: config.provider }).catch((err: Error) => {
    throw new CommandFailure(err.message);
  });
  const scores: Scores = new Map();
  try {
    await classifyFiles(files.map((f) => f.path), model,
      { limits: { maxPixels: config.maxPixels, maxBytes: config.maxBytes }, concurrency: config.concurrency,
        batchSize: 32 },
      (result) => { if (result.probabilities) scores.set(result.path, result.probabilities.airplane); });
  } finally {
    await model.close();
  }
  return scores;
}

function figures(files: readonly LabelledFile[], scores: Scores, threshold: number): ModelFigures {
  const birds = files.filter((f) => f.label === 'bird').map((f) => scores.get(f.path)!);
  const planes = files.filter((f) => f.label === 'airplane').map((f) => scores.get(f.path)!);
  // P(airplane) > 0.5 is the most probable class (the daemon's `label`: airplane when P(airplane) > P(bird)).
  const correct = birds.filter((p) => !(p > 1 - p)).length + planes.filter((p) => p > 1 - p).length;
  const at = figuresAt(threshold, birds, planes);
  return { images: files.length, birds: birds.length, airplanes: planes.length, correct,
    accuracy: files.length === 0 ? null : correct / files.length, threshold,
    birds_moved: at.birds_moved, birds_moved_share: at.birds_moved_share,
    airplanes_caught: at.airplanes_caught, airplanes_caught_share: at.airplanes_caught_share };
}

/** Scores both models on both sets and compares them at each model's threshold for `budget`. */
export async function compareModels(config: Config, currentPath: string, candidatePath: string,
  heldOut: readonly LabelledFile[], reportSplit: readonly LabelledFile[], budget: number): Promise<Comparison> {
  const all = [...heldOut, ...reportSplit];
  const current = await scoreFiles(config, currentPath, all);
  const candidate = await scoreFiles(config, candidatePath, all);
  const decided = (files: readonly LabelledFile[]): LabelledFile[] =>
    files.filter((f) => current.has(f.path) && candidate.has(f.path));
  const threshold = (scores: Scores): number => {
    const birds = decided(reportSplit).filter((f) => f.label === 'bird').map((f) => scores.get(f.path)!);
    if (birds.length === 0) throw new CommandFailure('the report split holds no bird both models could decide');
    return thresholdFor(birds, budget);
  };
  const tCurrent = threshold(current);
  const tCandidate = threshold(candidate);
  const set = (files: readonly LabelledFile[]): SetComparison => {
    const ok = decided(files);
    return { images: ok.length, failed: files.length - ok.length, current: figures(ok, current, tCurrent),
      candidate: figures(ok, candidate, tCandidate) };
  };
  return { budget, club_held_out: set(heldOut), report_split: set(reportSplit) };
}

const setNames = { club_held_out: "the club's held-out shots", report_split: 'the CIFAR report split' } as const;

/**
 * The promotion rule: a candidate is refused when it moves more birds at the bird budget on either set, or catches
 * fewer airplanes on the club's held-out shots. Returns what blocks it (empty: it may be promoted).
 */
export function promotionBlockers(comparison: Comparison): string[] {
  const blockers: string[] = [];
  for (const key of ['club_held_out', 'report_split'] as const) {
    const { current, candidate } = comparison[key];
    if (candidate.birds_moved > current.birds_moved) {
      blockers.push(`it moves more birds on ${setNames[key]}: ${candidate.birds_moved} of ${candidate.birds} ` +
        `against ${current.birds_moved} (bird budget ${comparison.budget})`);
    }
  }
  const { current, candidate } = comparison.club_held_out;
  if (candidate.airplanes_caught < current.airplanes_caught) {
    blockers.push(`it catches fewer airplanes on ${setNames.club_held_out}: ${candidate.airplanes_caught} of ` +
      `${candidate.airplanes} against ${current.airplanes_caught}`);
  }
  return blockers;
}

/** The comparison as a terminal table. */
export function comparisonTable(comparison: Comparison): string {
  const pct = (n: number | null): string => n === null ? '-' : `${(n * 100).toFixed(1)}%`;
  const lines = [`set                      model      images  accuracy  threshold  birds moved      airplanes caught`];
  for (const key of ['club_held_out', 'report_split'] as const) {
    for (const which of ['current', 'candidate'] as const) {
      const f = comparison[key][which];
      lines.push(`${(which === 'current' ? setNames[key].replace(/^the /, '') : '').padEnd(25)}${which.padEnd(11)}` +
        `${String(f.images).padStart(6)}  ${pct(f.accuracy).padStart(8)}  ${String(f.threshold).padStart(9)}  ` +
        `${`${f.birds_moved}/${f.birds} (${pct(f.birds_moved_share)})`.padEnd(15)}  ` +
        `${f.airplanes_caught}/${f.airplanes} (${pct(f.airplanes_caught_share)})`);
    }
  }
  return lines.join('\n');
}
