// promote and rollback, the work: a model file is put in place atomically (copied to a temp name in the model's
// folder, fsynced, renamed over the model path, the folder fsynced), so the daemon, which reloads the model when a
// file is renamed into place, only ever sees the old model or the new one. The factory model in the checkout is never
// written: over it, the model goes to the state folder (catalog.installedModelFile), where the config's default
// finds it. The model it replaces is first copied to previous/<id>.onnx (kept; never overwritten) and the step is appended to previous/history.jsonl, from
// which rollback puts the previous file back byte for byte. The model card beside the model (<model>.json, the web
// page's /model) goes with it: the installed card is kept as previous/<id>.json, promote writes the candidate's
// card (built from its metadata and its report) and rollback puts the kept card back byte for byte.
// Thresholds set in the config (top level or per camera) win over the model's own, and were calibrated for the
// model being replaced: promote refuses while any is set unless told to keep them (--keep-thresholds) or to drop
// them from the config file (--drop-thresholds, rewritten atomically as calibrate --apply writes it).
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { editConfigFile } from '../config/edit.js';
import { copyFileAtomic } from '../fs/atomic-write.js';
import { cardFromModel, cardPathOf, writeModelCard } from '../model/card-file.js';
import { modelFileInfo, type ModelFileInfo } from '../model/file-info.js';
import { loadModel } from '../model/load.js';
import { resolveThresholds, ThresholdError } from '../model/thresholds.js';
import { CommandFailure } from '../cli-kit/command-kit.js';
import { FACTORY_MODEL } from '../config/locate.js';
import { historyFile, installedModelFile, previousFolder, readHistory, type HistoryEntry } from './catalog.js';
import { configThresholds, promotionBlockers } from './compare.js';
import type { RetrainReport } from './report.js';

export interface InstallResult {
  installed: string;
  /** The file written: the configured model, or the state folder's for the factory model in the checkout. */
  installedFile: string;
  replaced: string;
  replacedFile: string;
  /** Why it would have been refused (promote --force only). */
  overridden: string[];
  /** Thresholds in the config that override the new model's own (they were set for the previous model). */
  configThresholds: string[];
  /** The thresholds promote --drop-thresholds removed from the config file. */
  droppedThresholds?: string[];
}

/** What promote does with thresholds the config sets: refuse while any is set, keep them, or drop them. */
export type ThresholdChoice = 'refuse' | 'keep' | 'drop';

/**
 * What stops the candidate at `candidatePath` from being promoted over the installed model by the promotion rule
 * (empty: nothing), and its report (read beside it; null when missing). One rule for promote and `birdwatch models`.
 * Configured thresholds are not a blocker here: promote asks to keep or drop them (thresholdsRefusal).
 */
export function promotionCheck(
  config: Config,
  candidatePath: string,
  keepThresholds = false,
): { blockers: string[]; report: RetrainReport | null } {
  const installed = modelFileInfo(config.model);
  const cand = modelFileInfo(candidatePath);
  const reportPath = cardPathOf(candidatePath);
  const blockers: string[] = [];
  let report: RetrainReport | null = null;
  try {
    report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as RetrainReport;
  } catch {
    blockers.push(`it has no comparison report (${reportPath}); 'birdwatch retrain' writes one`);
  }
  if (report !== null) {
    if (report.candidate?.sha256 !== cand.sha256) {
      blockers.push(
        `its report ${reportPath} is about another file (sha256 ${String(report.candidate?.sha256).slice(0, 12)})`,
      );
    } else if (report.current.sha256 !== installed.sha256) {
      blockers.push(
        `it was compared with model ${report.current.id}, but ${installed.id} is installed now: ` +
          'retrain again to compare with it',
      );
    } else if (!sameList(report.comparison.config_thresholds, configThresholds(config))) {
      blockers.push(
        `it was compared while the config set ${describeSet(report.comparison.config_thresholds)}, ` +
          `but it sets ${describeSet(configThresholds(config))} now: retrain again to compare at those`,
      );
    } else {
      blockers.push(...promotionBlockers(report.comparison, keepThresholds));
    }
  }
  return { blockers, report };
}

/** Refuses the candidate when its report says it does worse (unless forced); installs it otherwise. */
export async function promote(
  config: Config,
  candidate: string,
  force: boolean,
  thresholds: ThresholdChoice = 'refuse',
): Promise<InstallResult> {
  const candidatePath = path.resolve(candidate);
  await checkLoads(candidatePath);
  const installed = modelFileInfo(config.model);
  const cand = modelFileInfo(candidatePath);
  if (cand.sha256 === installed.sha256) throw new CommandFailure(`${candidatePath} is already the installed model`);
  const { blockers, report } = promotionCheck(config, candidatePath, thresholds === 'keep');
  if (blockers.length > 0 && !force) {
    throw new CommandFailure(
      `refusing to promote ${path.basename(candidatePath)}: ${blockers.join('; ')} ` + '(--force promotes it anyway)',
    );
  }
  const set = configThresholds(config);
  if (set.length > 0 && thresholds === 'refuse') throw new CommandFailure(thresholdsRefusal(config, set));
  checkBudgets(config, cand, thresholds === 'drop');
  const target = writableModelFile(config);
  const kept = keepPrevious(config, installed.id);
  const dropped = set.length > 0 && thresholds === 'drop' ? dropConfigThresholds(config) : [];
  putInPlace(candidatePath, target);
  writeModelCard(
    target,
    cardFromModel(
      cand,
      path.basename(config.model),
      (recipe) =>
        `chosen by training/finetune.py on the CIFAR report split at bird budget ${recipe?.bird_budget ?? '?'}`,
      { promoted_from: candidatePath, comparison: report?.comparison ?? null, training: report?.training ?? null },
    ),
  );
  appendHistory(config, {
    time: new Date().toISOString(),
    action: 'promote',
    installed: cand.id,
    replaced: installed.id,
    replaced_file: kept,
    from: candidatePath,
    ...(force && blockers.length ? { forced: true } : {}),
    ...(dropped.length > 0 ? { dropped_thresholds: dropped } : {}),
  });
  return {
    installed: cand.id,
    installedFile: target,
    replaced: installed.id,
    replacedFile: kept,
    overridden: force ? blockers : [],
    configThresholds: dropped.length > 0 ? [] : set,
    ...(dropped.length > 0 ? { droppedThresholds: dropped } : {}),
  };
}

/** The daemon looks the config's bird budgets up in the new model's own curve, and refuses a model whose curve cannot
 *  answer them (or that has none): so does promote, whatever --force says (with --drop-thresholds: the config
 *  without its thresholds, where more cameras fall through to a budget). */
function checkBudgets(config: Config, cand: ModelFileInfo, dropping: boolean): void {
  const after = dropping
    ? { ...config, threshold: undefined, cameras: config.cameras.map(({ threshold: _threshold, ...camera }) => camera) }
    : config;
  try {
    resolveThresholds(after, cand);
  } catch (err) {
    if (!(err instanceof ThresholdError)) throw err;
    throw new CommandFailure(
      `refusing to promote ${path.basename(cand.path)}: the daemon would refuse it: ${err.message}`,
    );
  }
}

function sameList(a: string[] | undefined, b: string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

function describeSet(list: string[] | undefined): string {
  return list === undefined
    ? 'unknown thresholds (an older report)'
    : list.length === 0
      ? 'no threshold'
      : list.join(', ');
}

function thresholdsRefusal(config: Config, set: string[]): string {
  return (
    `refusing to promote while the config (${config.configFile ?? 'flags'}) sets ${set.join(', ')}: the daemon ` +
    "uses them instead of the new model's own threshold, and they were calibrated for the model it replaces; " +
    '--drop-thresholds removes them from the config (the new model then runs at its own threshold), ' +
    '--keep-thresholds keeps them'
  );
}

/** Why retrain.autoPromote must not promote this candidate unattended (null: it may). */
export function autoPromoteBlocker(config: Config, promotable: boolean): string | null {
  if (!promotable) return 'it does not pass the promotion rule';
  const set = configThresholds(config);
  if (set.length > 0) {
    return (
      `the config sets ${set.join(', ')}, calibrated for the installed model: promote it by hand with ` +
      '--drop-thresholds or --keep-thresholds'
    );
  }
  return null;
}

/** Removes the top-level and every camera's threshold from the config file, atomically. Returns what it removed. */
function dropConfigThresholds(config: Config): string[] {
  if (config.configFile === undefined) {
    throw new CommandFailure('--drop-thresholds edits the config file: give it with --config FILE');
  }
  const dropped: string[] = [];
  editConfigFile(config.configFile, (raw) => {
    if (raw.threshold !== undefined) {
      dropped.push(`threshold ${String(raw.threshold)}`);
      delete raw.threshold;
    }
    if (!Array.isArray(raw.cameras)) return;
    raw.cameras.forEach((entry: Record<string, unknown>, index: number) => {
      if (entry === null || typeof entry !== 'object' || entry.threshold === undefined) return;
      dropped.push(
        `cameras[${index}]${typeof entry.name === 'string' ? ` ('${entry.name}')` : ''} threshold ` +
          String(entry.threshold),
      );
      delete entry.threshold;
    });
  });
  return dropped;
}

/** Puts back the model that the last promotion of the current model replaced. */
export async function rollback(config: Config): Promise<InstallResult> {
  const installed = modelFileInfo(config.model);
  // Promotions only: rolling back twice walks back through the promotions (C -> B -> A), never forward again.
  const step = readHistory(config)
    .reverse()
    .find((h) => h.action === 'promote' && h.installed === installed.id);
  if (step === undefined) {
    throw new CommandFailure(
      `nothing to roll back to: no promotion installed the current model ${installed.id} ` + `(${historyFile(config)})`,
    );
  }
  if (!fs.existsSync(step.replaced_file)) {
    throw new CommandFailure(`the previous model ${step.replaced_file} is gone; nothing was changed`);
  }
  await checkLoads(step.replaced_file);
  const target = writableModelFile(config);
  const kept = keepPrevious(config, installed.id);
  putInPlace(step.replaced_file, target);
  const card = cardPathOf(step.replaced_file);
  if (fs.existsSync(card)) putInPlace(card, cardPathOf(target));
  else fs.rmSync(cardPathOf(target), { force: true }); // it had none; the one there is kept in previous/
  appendHistory(config, {
    time: new Date().toISOString(),
    action: 'rollback',
    installed: step.replaced,
    replaced: installed.id,
    replaced_file: kept,
    from: step.replaced_file,
  });
  return {
    installed: step.replaced,
    installedFile: target,
    replaced: installed.id,
    replacedFile: kept,
    overridden: [],
    configThresholds: configThresholds(config),
  };
}

/** The model file promote and rollback may write; refused when the config names the checkout's factory model itself
 *  (the daemon would go on reading it, and git would see the file change). */
function writableModelFile(config: Config): string {
  const target = installedModelFile(config);
  if (target !== config.model && config.configFile !== undefined && namesModel(config.configFile)) {
    throw new CommandFailure(
      `the config ${config.configFile} names the factory model ${FACTORY_MODEL} (shipped in ` +
        `the checkout, never written): set its 'model' to a file in the state folder, e.g. ${target} ` +
        '(birdwatch setup copies the factory model there), and reload the daemon',
    );
  }
  const folder = path.dirname(target);
  let existing = folder;
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new CommandFailure(`cannot write the model folder ${folder}: permission denied; nothing was changed`);
  }
  return target;
}

function namesModel(configFile: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(configFile, 'utf8')) as { model?: unknown }).model !== undefined;
  } catch {
    return true; // it was read a moment ago: treat a file that changed under us as naming it
  }
}

async function checkLoads(file: string): Promise<void> {
  try {
    const model = await loadModel({ path: file, provider: 'cpu' });
    await model.close();
  } catch (err) {
    throw new CommandFailure(`${file} cannot be used as the model: ${(err as Error).message}`);
  }
}

/** Copies the installed model to previous/<id>.onnx unless that file is already there. */
function keepPrevious(config: Config, id: string): string {
  const folder = previousFolder(config);
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${id}.onnx`);
  if (!fs.existsSync(file)) copyDurably(config.model, file);
  const card = cardPathOf(config.model);
  if (fs.existsSync(card) && !fs.existsSync(cardPathOf(file))) copyDurably(card, cardPathOf(file));
  return file;
}

/** Copies `from` to `to` atomically: temp name in `to`'s folder, fsync, rename, fsync the folder. */
function putInPlace(from: string, to: string): void {
  copyDurably(from, to);
}

function copyDurably(from: string, to: string): void {
  try {
    copyFileAtomic(from, to);
  } catch (err) {
    throw new CommandFailure(`cannot write ${to}: ${(err as Error).message}`);
  }
}

function appendHistory(config: Config, entry: HistoryEntry): void {
  const fd = fs.openSync(historyFile(config), 'a', 0o644);
  try {
    fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** What a promotion or rollback did and what follows from it, as lines for the terminal. */
export function describeInstall(result: InstallResult, verb: string, modelPath: string): string[] {
  const lines = result.overridden.map((why) => `--force: installed although ${why}`);
  lines.push(
    `${verb} model ${result.installed} at ${result.installedFile}; the previous model ${result.replaced} is ` +
      `kept at ${result.replacedFile}`,
  );
  lines.push(
    result.installedFile === modelPath
      ? 'a running daemon switches to it by itself (it reloads the model file when one is renamed into place); ' +
          'otherwise: sudo systemctl reload birdwatch'
      : `the factory model ${modelPath} is left as shipped; a running daemon still reads it: reload it ` +
          '(sudo systemctl reload birdwatch, or restart birdwatch run) to take the installed one',
  );
  if (result.droppedThresholds) {
    lines.push(
      `removed ${result.droppedThresholds.join(', ')} from the config (kept in ` +
        'previous/history.jsonl); the daemon drops them on reload: sudo systemctl reload birdwatch',
    );
  }
  if (result.configThresholds.length > 0) {
    lines.push(
      `note: the config sets ${result.configThresholds.join(', ')}, which the daemon uses instead of the ` +
        "model's own threshold; they were calibrated for the previous model: run 'birdwatch calibrate' once members " +
        'have reviewed shots the new model decided',
    );
  }
  return lines;
}
