// A model's card as figures, from the metadata training stored in the file (and the card JSON beside it for what an
// older file lacks): what it is, its report-split figures, its operating curve, and where each figure comes from.
// For `birdwatch model` and the web page's /model. Nothing here reads files.
import type { ModelCardFile } from './card-file.js';
import type { ModelFileInfo } from './file-info.js';
import { curveOf } from './thresholds.js';
import type { OperatingCurve } from './validate.js';

export interface ReportFigures {
  split: string;
  images: number | null;
  counts: Record<string, number> | null;
  accuracy: number | null;
  accuracy_interval: [number, number] | null;
  roc_auc: number | null;
  airplanes_caught_at_1pct_bootstrap: { mean: number; p5?: number; p95?: number; resamples?: number } | null;
  views: string[] | null;
}

export interface ModelCard {
  file: string;
  id: string;
  created_at: string | null;
  /** metadata `model`'s description (e.g. "MLP 3072-1536-768-2 (gelu)"). */
  architecture: string | null;
  parameters: number | null;
  /** recipe.device: the device that trained it; null when the recipe does not say (older models). */
  training_device: string | null;
  /** preprocessing.views: the views the daemon averages (["identity"] when absent). */
  views: string[];
  threshold: number;
  /** The held-out figures (metadata report_metrics); null for older models. */
  report: ReportFigures | null;
  /** The figures on the split that chose the epoch and the thresholds (metadata validation_metrics). */
  selection: { split: string; accuracy: number | null; roc_auc: number | null; images: number | null } | null;
  /** null: the model predates the operating curve. */
  operating_curve: OperatingCurve | null;
  /** Without a curve: the bird budget the model's own threshold was chosen at (a config budget at or above it runs
   *  the model at its own threshold; src/model/thresholds.ts), or null when its metadata does not say. */
  own_threshold_budget: number | null;
  /** One sentence per table: where its figures come from. */
  sources: { report: string | null; curve: string | null; selection: string | null };
  card_file: string | null;
}

/** `info`: the validated model file; `card`: the JSON beside it, or null. */
export function describeModel(info: ModelFileInfo, card: ModelCardFile | null, cardFile: string | null): ModelCard {
  const meta = (key: string): Record<string, unknown> | null => {
    const raw = info.metadata[key];
    if (raw === undefined) return null;
    try {
      const value = JSON.parse(raw) as unknown;
      return value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  };
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const pair = (v: unknown): [number, number] | null =>
    Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number') ? [v[0], v[1]] : null;
  const strings = (v: unknown): string[] | null =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;

  const model = meta('model') ?? (card?.model as Record<string, unknown> | undefined) ?? null;
  const recipe = meta('recipe');
  const preprocessing = meta('preprocessing');
  const rawReport = meta('report_metrics');
  const validation = meta('validation_metrics');

  let report: ReportFigures | null = null;
  if (rawReport !== null) {
    const boot = rawReport.airplanes_caught_at_1pct_bootstrap as Record<string, unknown> | undefined;
    report = {
      split: typeof rawReport.split === 'string' ? rawReport.split : 'report',
      images: num(rawReport.images),
      counts:
        rawReport.counts !== null && typeof rawReport.counts === 'object'
          ? (rawReport.counts as Record<string, number>)
          : null,
      accuracy: num(rawReport.accuracy),
      accuracy_interval: pair(rawReport.accuracy_interval),
      roc_auc: num(rawReport.roc_auc),
      airplanes_caught_at_1pct_bootstrap:
        boot && num(boot.mean) !== null
          ? {
              mean: boot.mean as number,
              ...(num(boot.p5) !== null ? { p5: boot.p5 as number } : {}),
              ...(num(boot.p95) !== null ? { p95: boot.p95 as number } : {}),
              ...(num(boot.resamples) !== null ? { resamples: boot.resamples as number } : {}),
            }
          : null,
      views: strings(rawReport.views),
    };
  }
  // Before issue 15 validation_metrics carried no split: it was the one split that chose everything.
  const selectionSplit = typeof validation?.split === 'string' ? validation.split : 'validation';
  const selection =
    validation === null
      ? null
      : {
          split: selectionSplit,
          accuracy: num(validation.accuracy),
          roc_auc: num(validation.roc_auc),
          images: num(validation.validation_images ?? validation.images),
        };

  const curve = info.operatingCurve ?? null;
  const count = (n: number | null): string => (n === null ? 'the' : n.toLocaleString('en'));
  const reportWhat =
    report === null
      ? null
      : `${report.split} split: ${count(report.images)} CIFAR-10 images` +
        (report.counts
          ? ` (${Object.entries(report.counts)
              .map(([k, v]) => `${v.toLocaleString('en')} ${k}s`)
              .join(', ')})`
          : '') +
        ' nothing was chosen on';
  return {
    file: info.path,
    id: info.id,
    created_at: info.createdAt ?? (typeof card?.created_at === 'string' ? card.created_at : null),
    architecture: typeof model?.description === 'string' ? model.description : null,
    parameters: num(model?.parameters),
    training_device: typeof recipe?.device === 'string' ? recipe.device : null,
    views: strings(preprocessing?.views) ?? ['identity'],
    threshold: info.threshold,
    report,
    selection,
    operating_curve: curve,
    own_threshold_budget: curve === null ? (curveOf(info)?.points[0]?.bird_budget ?? null) : null,
    sources: {
      report: reportWhat,
      curve:
        curve === null
          ? null
          : `airplanes caught and birds moved: ` +
            (report !== null && curve.figures_split === report.split ? reportWhat : `${curve.figures_split} split`) +
            '; ' +
            `thresholds chosen on the ${curve.threshold_split} split`,
      selection:
        selection === null
          ? null
          : selectionSplit === 'validation'
            ? 'validation split: the images that chose the epoch and the threshold (optimistic)'
            : `${selectionSplit} split: the images that chose the epochs, the thresholds and the run (optimistic)`,
    },
    card_file: card === null ? null : cardFile,
  };
}
