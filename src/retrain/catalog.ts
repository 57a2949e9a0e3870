// Where the models of the loop live and what is known of each: the installed model (the configured model path),
// the previous ones kept for rollback (models/previous/ beside it, with history.jsonl saying which promotion or
// rollback put which file in place) and the candidates with their reports (retrain.candidates).
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { cardPathOf } from '../model/card-file.js';
import type { RetrainReport } from './report.js';

export interface CandidateEntry { path: string; name: string; report: RetrainReport | null }

export function previousFolder(config: Config): string {
  return path.join(path.dirname(config.model), 'previous');
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
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as HistoryEntry);
}

export function listCandidates(folder: string): CandidateEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.onnx') && !n.startsWith('.')).sort().map((name) => {
    const file = path.join(folder, name);
    let report: RetrainReport | null = null;
    try {
      report = JSON.parse(fs.readFileSync(cardPathOf(file), 'utf8')) as RetrainReport;
    } catch {
      report = null;
    }
    return { path: file, name, report };
  });
}

export function listPrevious(config: Config): string[] {
  try {
    return fs.readdirSync(previousFolder(config)).filter((n) => n.endsWith('.onnx') && !n.startsWith('.')).sort()
      .map((n) => path.join(previousFolder(config), n));
  } catch {
    return [];
  }
}
