// The model card: the JSON file beside a model (models/<name>.json) that training/train.py writes with a model and
// promote writes for a promoted candidate. One path helper, one typed reader (the CLI's `birdwatch model`, the web
// page's /model) and the TypeScript writer; test/model-card-file.test.ts holds the writer to the Python card's shape.
import fs from 'node:fs';
import { writeJsonAtomic } from '../fs/atomic-write.js';
import type { ModelFileInfo } from './file-info.js';
import type { OperatingCurve } from './validate.js';

/** Figures on one split, as training writes them (report_metrics, validation_metrics); older cards lack some. */
export interface CardMetrics {
  split?: string;
  images?: number;
  /** Older cards: the validation split's size. */
  validation_images?: number;
  counts?: Record<string, number>;
  accuracy?: number;
  accuracy_interval?: [number, number];
  roc_auc?: number;
  airplanes_caught_at_1pct_bootstrap?: { mean?: number; p5?: number; p95?: number; resamples?: number };
  /** Older cards' name for the same. */
  airplanes_caught_bootstrap?: { mean?: number };
  mean_caught_up_to_5pct?: number;
  views?: string[];
  /** The report split's figures at the model's threshold (validation_metrics holds them at its top level). */
  at_threshold?: ThresholdFigures;
  bird_budget?: number;
}

export interface ThresholdFigures {
  airplanes_caught_at_threshold?: number;
  birds_moved_at_threshold?: number;
  accuracy_at_threshold?: number;
  confusion_matrix_at_threshold?: { matrix?: number[][] };
}

/** The card's fields birdwatch reads or writes; the rest of what training records is kept as written. */
export interface ModelCardFile {
  model_file?: string;
  created_at?: string | null;
  sha256?: string;
  classes?: string[];
  mean?: number[];
  std?: number[];
  /** As stored in the model's metadata: a decimal string. */
  threshold?: string;
  threshold_rule?: string;
  report_metrics?: CardMetrics;
  validation_metrics?: CardMetrics & ThresholdFigures;
  operating_curve?: OperatingCurve;
  model?: { description?: string; parameters?: number } & Record<string, unknown>;
  recipe?: { bird_budget?: number; device?: string } & Record<string, unknown>;
  preprocessing?: { views?: string[] } & Record<string, unknown>;
  training_data_digest?: string;
  /** Promoted candidates: where it came from, its comparison with the model it replaced, its training. */
  promoted_from?: string;
  comparison?: unknown;
  training?: unknown;
  [recorded: string]: unknown;
}

/** The card beside a model file: models/<name>.onnx -> models/<name>.json (a candidate's report likewise). */
export function cardPathOf(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.json';
}

export interface CardRead {
  file: string;
  /** null: there is no card (or it could not be read: `error` says why). */
  card: ModelCardFile | null;
  error: string | null;
}

/** The card beside `modelPath`: none is no error; one that is not a JSON object is. */
export function readModelCard(modelPath: string): CardRead {
  const file = cardPathOf(modelPath);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { file, card: null, error: missing ? null : `model card ${file}: ${(err as Error).message}` };
  }
  try {
    const card = JSON.parse(text) as unknown;
    if (card === null || typeof card !== 'object' || Array.isArray(card)) {
      return { file, card: null, error: `model card ${file}: not a JSON object` };
    }
    return { file, card: card as ModelCardFile, error: null };
  } catch (err) {
    return { file, card: null, error: `model card ${file}: ${(err as Error).message}` };
  }
}

/**
 * The card of a model built from what its file says (its ONNX metadata, as training/train.py's card has it), with
 * `extra` fields (a promotion's origin, comparison and training). `installedAs` is the model file's name.
 */
export function cardFromModel(
  info: ModelFileInfo,
  installedAs: string,
  thresholdRule: (recipe: ModelCardFile['recipe']) => string,
  extra: Partial<ModelCardFile> = {},
): ModelCardFile {
  const parsed = <T>(key: string): T | undefined => {
    const value = info.metadata[key];
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as T;
    } catch {
      return value as T;
    }
  };
  const recipe = parsed<ModelCardFile['recipe']>('recipe');
  const card: ModelCardFile = {
    model_file: installedAs,
    created_at: info.createdAt,
    sha256: info.sha256,
    classes: parsed('classes'),
    mean: parsed('mean'),
    std: parsed('std'),
    threshold: info.metadata.threshold,
    threshold_rule: thresholdRule(recipe),
    report_metrics: parsed('report_metrics'),
    operating_curve: parsed('operating_curve'),
    validation_metrics: parsed('validation_metrics'),
    model: parsed('model'),
    recipe,
    preprocessing: parsed('preprocessing'),
    training_data_digest: info.metadata.training_data_digest,
    ...extra,
  };
  // A field the model does not record is left out (as JSON.stringify would), not written as null.
  return Object.fromEntries(Object.entries(card).filter(([, value]) => value !== undefined)) as ModelCardFile;
}

/** Writes the card beside `modelPath`, atomically. */
export function writeModelCard(modelPath: string, card: ModelCardFile): void {
  writeJsonAtomic(cardPathOf(modelPath), card);
}
