// `birdwatch models [--json]`: the installed model, the previous ones kept for rollback and the candidates, each
// with its figures (src/retrain/catalog.ts).
import path from 'node:path';
import { CONFIG_FLAG_OPTIONS, LOOP_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { modelFileInfo, type ModelFileInfo } from '../model/file-info.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { listCandidates, listPrevious } from '../retrain/catalog.js';
import { configThresholds } from '../retrain/compare.js';
import { promotionCheck } from '../retrain/install.js';

const usage = `usage: birdwatch models [--json] [--config FILE] [--model FILE] [--candidates DIR]
  Lists the installed model, the previous models kept for rollback and the candidates from 'birdwatch retrain'
  with their figures: the model's own validation figures, and for a candidate its comparison with the model it
  was compared with (club held-out shots and CIFAR report split) and whether promote would take it.`;

interface Entry {
  kind: 'installed' | 'previous' | 'candidate';
  path: string;
  id: string | null;
  created_at: string | null;
  threshold: number | null;
  validation_accuracy: number | null;
  error?: string;
  comparison?: unknown;
  promotable?: boolean;
  blockers?: string[];
}

function describe(kind: Entry['kind'], file: string): Entry {
  let info: ModelFileInfo;
  try {
    info = modelFileInfo(file);
  } catch (err) {
    return { kind, path: file, id: null, created_at: null, threshold: null, validation_accuracy: null,
      error: (err as Error).message };
  }
  let accuracy: number | null = null;
  try {
    accuracy = (JSON.parse(info.metadata.validation_metrics ?? 'null') as { accuracy?: number } | null)?.accuracy ?? null;
  } catch { /* no figures stored */ }
  return { kind, path: file, id: info.id, created_at: info.createdAt, threshold: info.threshold,
    validation_accuracy: accuracy };
}

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      model: CONFIG_FLAG_OPTIONS.model,
      candidates: LOOP_FLAG_OPTIONS.candidates,
      json: { type: 'boolean' },
    });
    const config = loadConfig({ flags: { config: values.config, model: values.model, candidates: values.candidates } });
    const entries: Entry[] = [describe('installed', config.model), ...listPrevious(config).map((f) => describe('previous', f))];
    for (const candidate of listCandidates(config.retrain.candidates)) {
      const entry = describe('candidate', candidate.path);
      if (candidate.report) {
        entry.comparison = candidate.report.comparison;
        entry.blockers = promotionCheck(config, candidate.path).blockers;
        entry.promotable = entry.blockers.length === 0;
      }
      entries.push(entry);
    }
    const thresholdsSet = configThresholds(config).length > 0;
    if (values.json) {
      for (const e of entries) console.log(JSON.stringify(e));
      return 0;
    }
    const pct = (n: number | null | undefined): string => n === null || n === undefined ? '-' : `${(n * 100).toFixed(1)}%`;
    for (const e of entries) {
      const head = `${e.kind.padEnd(9)}  ${(e.id ?? '-').padEnd(12)}  ${(e.created_at ?? '-').padEnd(20)}  ` +
        `threshold ${e.threshold ?? '-'}  validation accuracy ${pct(e.validation_accuracy)}  ${e.path}`;
      console.log(e.error ? `${head}  (${e.error})` : head);
      const c = e.comparison as { club_held_out: any; report_split: any } | undefined;
      if (c) {
        for (const [name, set] of [['club held-out', c.club_held_out], ['report split', c.report_split]] as const) {
          console.log(`           ${name}: ${set.images} images; birds moved ${set.current.birds_moved} -> ` +
            `${set.candidate.birds_moved} of ${set.candidate.birds}, airplanes caught ${set.current.airplanes_caught}` +
            ` -> ${set.candidate.airplanes_caught} of ${set.candidate.airplanes}, accuracy ` +
            `${pct(set.current.accuracy)} -> ${pct(set.candidate.accuracy)}`);
        }
        // promote also asks what to do with thresholds the config sets (they were calibrated for the installed model).
        const thresholdFlags = thresholdsSet ? ' --drop-thresholds (or --keep-thresholds)' : '';
        console.log(`           ${e.promotable
          ? `promotable: birdwatch promote ${path.relative(process.cwd(), e.path) || e.path}${thresholdFlags}`
          : `not promotable: ${e.blockers?.join('; ')}`}`);
      }
    }
    return 0;
  });
}
