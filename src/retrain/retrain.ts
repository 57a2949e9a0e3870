// `birdwatch retrain`, the work: gathers the club's labelled shots, splits them into a held-out and a fine-tune
// part (src/retrain/split.ts), fine-tunes the current model with training/finetune.py (mixed with the CIFAR
// training split) into a candidate in the candidates folder, then scores both models on the club's held-out shots
// and the CIFAR report split (src/retrain/compare.ts) and writes the report CANDIDATE.json beside CANDIDATE.onnx.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { writeJsonAtomic } from '../fs/atomic-write.js';
import { sniffImageType } from '../image/sniff.js';
import { cardPathOf } from '../model/card-file.js';
import { modelFileInfo } from '../model/file-info.js';
import { CommandFailure } from '../cli-kit/command-kit.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { requireTrainingPython, runTrainingScript } from '../training/python.js';
import { listCandidates } from './catalog.js';
import { compareModels, promotionBlockers, type LabelledFile } from './compare.js';
import { REPORT_SPLIT_NOTE, type RetrainReport } from './report.js';
import { confidentShots, labelledShots, type ClubShot } from './shots.js';
import { splitShots } from './split.js';

export interface RetrainOptions {
  epochs: number;
  seed: number;
  /** Share of each class's labelled shots held out (by the hash rule). */
  heldOut: number;
  /** Add the daemon's decisions at least this confident as weak labels (fine-tune part only). */
  withConfident?: number;
  maxConfident: number;
  /** CIFAR data for finetune.py --data (unset: its default). */
  data?: string;
  /** Only when at least retrain.minNewCorrections labels are newer than the newest candidate (the timer). */
  scheduled: boolean;
}

export type { RetrainReport } from './report.js';

export type RetrainResult = { skipped: string } | { candidatePath: string; reportPath: string; report: RetrainReport };

const SPLIT_RULE =
  'held out when sha256("birdwatch-heldout:SEED:KEY") (first 53 bits, as a fraction) < the ' +
  "held-out share, KEY = the shot's sha256 (a class with no shot under it has none held out yet)";

const trainingExtensions = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp', '.tif', '.tiff']);

export async function retrain(config: Config, options: RetrainOptions): Promise<RetrainResult> {
  const db = openLogReadOnly(config.db);
  let shots: ClubShot[];
  let confident: ClubShot[] = [];
  try {
    shots = labelledShots(db);
    if (options.withConfident !== undefined) {
      confident = confidentShots(db, options.withConfident, options.maxConfident, new Set(shots.map((s) => s.key)));
    }
  } catch (err) {
    throw explainDbError(err, config.db);
  } finally {
    db.close();
  }
  if (options.scheduled) {
    const since = Math.max(
      0,
      ...listCandidates(config.retrain.candidates).map((c) => c.report?.labels.labels_until_ms ?? 0),
    );
    const fresh = shots.filter((s) => s.time_ms > since).length;
    if (fresh < config.retrain.minNewCorrections) {
      return {
        skipped:
          `${fresh} label${fresh === 1 ? '' : 's'} newer than the last candidate; ` +
          `retrain.minNewCorrections is ${config.retrain.minNewCorrections}: nothing to do`,
      };
    }
  }
  const present = shots.filter((s) => isFile(s.current_path));
  const missing = shots.length - present.length;
  const { heldOut, fineTune } = splitShots(present, options.heldOut, options.seed);
  const count = (list: ClubShot[]): Record<string, number> => ({
    airplane: list.filter((s) => s.label === 'airplane').length,
    bird: list.filter((s) => s.label === 'bird').length,
  });
  const held = count(heldOut);
  const tune = count(fineTune);
  if (held.airplane < 1 || held.bird < 1 || tune.airplane < 1 || tune.bird < 1) {
    const all = count(present);
    throw new CommandFailure(
      `too few labelled shots to retrain: ${all.bird} bird${all.bird === 1 ? '' : 's'} and ` +
        `${all.airplane} airplane${all.airplane === 1 ? '' : 's'} with their files` +
        (missing ? ` (${missing} more whose files are gone)` : '') +
        `; retrain needs at least one of each class ` +
        `held out and one to fine-tune with (held out ${held.bird}/${held.airplane}, fine-tune ${tune.bird}/` +
        `${tune.airplane} birds/airplanes; a shot is held out when the hash of its content falls under the held-out ` +
        `share ${options.heldOut}, so a class may have none held out until more of its shots are labelled): ` +
        'restore, mark or review more shots',
    );
  }
  requireTrainingPython();
  const current = modelFileInfo(config.model);
  const folder = config.retrain.candidates;
  fs.mkdirSync(folder, { recursive: true });
  const id = candidateId(folder);
  const candidatePath = path.join(folder, `${id}.onnx`);
  const reportPath = cardPathOf(candidatePath);
  const work = fs.mkdtempSync(path.join(folder, `.work-${id}-`));
  try {
    for (const shot of [...fineTune, ...confident]) {
      if (!isFile(shot.current_path)) continue;
      const dir = path.join(work, 'club', shot.label);
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(shot.current_path, path.join(dir, `${shot.decision_id}${trainingName(shot.current_path)}`));
    }
    const splitList = path.join(work, 'report-split.jsonl');
    const summary = path.join(work, 'summary.json');
    await runTrainingScript('finetune.py', [
      '--init',
      config.model,
      '--club',
      path.join(work, 'club'),
      '--out',
      candidatePath,
      // No --seed: the CIFAR split is the current model's (its recipe's seed and val_fraction, read by finetune.py),
      // so the report split stays the one neither model trained on; options.seed is the club split's alone.
      '--epochs',
      String(options.epochs),
      '--bird-budget',
      String(config.birdBudget),
      '--split-list',
      splitList,
      '--split-images',
      path.join(folder, 'report-split-images'),
      '--summary',
      summary,
      '--quiet',
      ...(options.data === undefined ? [] : ['--data', options.data]),
    ]);
    const reportSplit = fs
      .readFileSync(splitList, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LabelledFile);
    const heldFiles = heldOut.map((s) => ({ path: s.current_path, label: s.label, camera: s.camera }));
    const comparison = await compareModels(
      config,
      config.model,
      candidatePath,
      heldFiles,
      reportSplit,
      config.birdBudget,
    );
    const blockers = promotionBlockers(comparison);
    const info = modelFileInfo(candidatePath);
    const report: RetrainReport = {
      candidate: {
        path: candidatePath,
        id: info.id,
        sha256: info.sha256,
        threshold: info.threshold,
        created_at: info.createdAt,
      },
      current: { path: current.path, id: current.id, sha256: current.sha256, threshold: current.threshold },
      bird_budget: config.birdBudget,
      comparison,
      blockers,
      promotable: blockers.length === 0,
      notes: [REPORT_SPLIT_NOTE],
      labels: {
        held_out: held,
        fine_tune: tune,
        confident: confident.length,
        missing_files: missing,
        labels_until_ms: Math.max(0, ...shots.map((s) => s.time_ms)),
      },
      split: { seed: options.seed, held_out_fraction: options.heldOut, rule: SPLIT_RULE },
      held_out_shots: heldOut.map((s) => ({
        decision_id: s.decision_id,
        key: s.key,
        label: s.label,
        path: s.current_path,
      })),
      report_split: { images: reportSplit.length, files: reportSplit },
      training: JSON.parse(fs.readFileSync(summary, 'utf8')),
    };
    writeJsonAtomic(reportPath, report);
    return { candidatePath, reportPath, report };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function isFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** The extension training reads the copy by: the shot's own when usual, else one from its content. */
function trainingName(file: string): string {
  const ext = path.extname(file).toLowerCase();
  if (trainingExtensions.has(ext)) return ext;
  const head = Buffer.alloc(64);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 64, 0);
  } finally {
    fs.closeSync(fd);
  }
  const type = sniffImageType(head);
  return type === 'jpeg' ? '.jpg' : type === 'tiff' ? '.tif' : type ? `.${type}` : ext || '.jpg';
}

function candidateId(folder: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
  for (let n = 1; ; n++) {
    const id = n === 1 ? `candidate-${stamp}` : `candidate-${stamp}-${n}`;
    if (!fs.existsSync(path.join(folder, `${id}.onnx`)) && !fs.existsSync(path.join(folder, `${id}.json`))) return id;
  }
}
