// Where the models of the loop live and what is known of each: the installed model (the configured model path; the
// factory model shipped in the checkout is never written: promote installs beside the database instead), the
// previous ones kept for rollback (previous/ beside it, with history.jsonl saying which promotion or rollback put
// which file in place) and the candidates with their reports (retrain.candidates).
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { FACTORY_MODEL, stateModel } from '../config/locate.js';
import { cardPathOf } from '../model/card-file.js';
import type { RetrainReport } from './report.js';

export interface CandidateEntry {
  path: string;
  name: string;
  report: RetrainReport | null;
}

/** The file promote and rollback write: the configured model, or for the factory model in the checkout (a tracked
 *  file) the same name in the state folder beside the database, which the config's default then finds. */
export function installedModelFile(config: Config): string {
  return path.resolve(config.model) === FACTORY_MODEL ? stateModel(config.db) : config.model;
}

export function previousFolder(config: Config): string {
  return path.join(path.dirname(installedModelFile(config)), 'previous');
}

export function historyFile(config: Config): string {
  return path.join(previousFolder(config), 'history.jsonl');
}

export interface HistoryEntry {
  time: string;
  action: 'promote' | 'rollback';
  /** Ids (sha256 prefix) of the model installed by this step and the one it replaced. */
  installed: string;
  replaced: string;
  /** Where the replaced model was kept, and where the installed one came from. */
  replaced_file: string;
  from: string;
  forced?: boolean;
  /** Thresholds promote --drop-thresholds removed from the config file. */
  dropped_thresholds?: string[];
}

export function readHistory(config: Config): HistoryEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(historyFile(config), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HistoryEntry);
}

export function listCandidates(folder: string): CandidateEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.onnx') && !n.startsWith('.'))
    .sort()
    .map((name) => {
      const file = path.join(folder, name);
      let report: RetrainReport | null;
      try {
        report = JSON.parse(fs.readFileSync(cardPathOf(file), 'utf8')) as RetrainReport;
      } catch {
        report = null;
      }
      return { path: file, name, report };
    });
}

/** The models kept for rollback, less the one installed now (a rollback puts a kept file back in place). */
export function listPrevious(config: Config, installedId?: string): string[] {
  try {
    return fs
      .readdirSync(previousFolder(config))
      .filter((n) => n.endsWith('.onnx') && !n.startsWith('.'))
      .sort()
      .filter((n) => n !== `${installedId}.onnx`)
      .map((n) => path.join(previousFolder(config), n));
  } catch {
    return [];
  }
}
