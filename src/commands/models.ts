// `birdwatch models [--json]`: the installed model, the previous ones kept for rollback and the candidates, each
// with its figures (src/retrain/catalog.ts).
import { commandLine } from '../config/locate.js';
import { CONFIG_FLAG_OPTIONS, LOOP_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { describeModel } from '../model/card.js';
import { modelFileInfo, type ModelFileInfo } from '../model/file-info.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { listCandidates, listPrevious } from '../retrain/catalog.js';
import { configThresholds, type Comparison } from '../retrain/compare.js';
import { promotionCheck } from '../retrain/install.js';
import { readModelInfo } from '../web/model-card.js';

const usage = `usage: birdwatch models [--json] [--config FILE] [--model FILE] [--candidates DIR]
  Lists the installed model, the previous models kept for rollback and the candidates from 'birdwatch retrain'
  with their figures: the model's own accuracy (on its report split, as 'birdwatch model' prints it), and for a
  candidate its comparison with the model it was compared with (club held-out shots and CIFAR report split) and
  whether promote would take it. A candidate that is the installed model says so; the installed model is not listed
  as previous again after a rollback.`;

interface Entry {
  kind: 'installed' | 'previous' | 'candidate';
  path: string;
  id: string | null;
  created_at: string | null;
  threshold: number | null;
  /** The model's accuracy on the split `birdwatch model` headlines (report split; selection split for older ones). */
  accuracy: number | null;
  accuracy_split: string | null;
  error?: string;
  /** A candidate that is the installed model now (promoted). */
  installed?: boolean;
  comparison?: unknown;
  promotable?: boolean;
  blockers?: string[];
}

/** One model's line: its figures as `birdwatch model` works them out (src/model/card.ts), from its metadata and,
 *  for the installed and previous models, the card beside it (a candidate's .json is its comparison report). */
function describe(kind: Entry['kind'], file: string): Entry {
  let info: ModelFileInfo;
  try {
    info = modelFileInfo(file);
  } catch (err) {
    return {
      kind,
      path: file,
      id: null,
      created_at: null,
      threshold: null,
      accuracy: null,
      accuracy_split: null,
      error: (err as Error).message,
    };
  }
  const card = describeModel(info, kind === 'candidate' ? null : readModelInfo(file).card, null);
  const figures = card.report ?? card.selection;
  return {
    kind,
    path: file,
    id: info.id,
    created_at: info.createdAt,
    threshold: info.threshold,
    accuracy: figures?.accuracy ?? null,
    accuracy_split: figures?.accuracy === null ? null : (figures?.split ?? null),
  };
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
    const installed = describe('installed', config.model);
    const entries: Entry[] = [
      installed,
      ...listPrevious(config, installed.id ?? undefined).map((f) => describe('previous', f)),
    ];
    for (const candidate of listCandidates(config.retrain.candidates)) {
      const entry = describe('candidate', candidate.path);
      if (entry.id !== null && entry.id === installed.id) {
        entry.installed = true; // promoted: its comparison was with the model it replaced
      } else if (candidate.report) {
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
    const pct = (n: number | null | undefined): string =>
      n === null || n === undefined ? '-' : `${(n * 100).toFixed(1)}%`;
    for (const e of entries) {
      const head =
        `${e.kind.padEnd(9)}  ${(e.id ?? '-').padEnd(12)}  ${(e.created_at ?? '-').padEnd(20)}  ` +
        `threshold ${e.threshold ?? '-'}  accuracy ${pct(e.accuracy)}` +
        `${e.accuracy_split === null ? '' : ` (${e.accuracy_split} split)`}  ${e.path}`;
      console.log(e.error ? `${head}  (${e.error})` : head);
      if (e.installed) console.log('           installed: this candidate is the model in use (promoted)');
      const c = e.comparison as Comparison | undefined;
      if (c) {
        for (const [name, set] of [
          ['club held-out', c.club_held_out],
          ['report split', c.report_split],
        ] as const) {
          console.log(
            `           ${name}: ${set.images} images; birds moved ${set.current.birds_moved} -> ` +
              `${set.candidate.birds_moved} of ${set.candidate.birds}, ` +
              `airplanes caught ${set.current.airplanes_caught}` +
              ` -> ${set.candidate.airplanes_caught} of ${set.candidate.airplanes}, accuracy ` +
              `${pct(set.current.accuracy)} -> ${pct(set.candidate.accuracy)}`,
          );
        }
        // promote also asks what to do with thresholds the config sets (they were calibrated for the installed model).
        const thresholdFlags = thresholdsSet ? ' --drop-thresholds (or --keep-thresholds)' : '';
        console.log(
          `           ${
            e.promotable
              ? `promotable: ${commandLine(config, `promote ${e.path}${thresholdFlags}`)}`
              : `not promotable: ${e.blockers?.join('; ')}`
          }`,
        );
      }
    }
    return 0;
  });
}
