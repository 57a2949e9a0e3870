// What the /model and /stats pages read of the installed model: its file's metadata (read from the .onnx itself,
// checked as the daemon checks it) and its card (src/model/card-file.ts). Read when a page is asked for and kept
// while the files' mtimes stay the same (a new model installed under the same name shows at the next visit).
import fs from 'node:fs';
import { readModelCard, type ModelCardFile } from '../model/card-file.js';
import { readOnnxMetadata } from '../model/metadata.js';
import { parseModelMetadata, type ModelMetadata } from '../model/validate.js';

export interface ModelInfo {
  file: string;
  size: number | null;
  modified: string | null;
  metadata: Record<string, string>;
  /** The metadata as the daemon reads it (threshold, operating curve); null when it would refuse the model. */
  checked: ModelMetadata | null;
  /** Why the metadata was refused (the page still shows it raw). */
  checkError: string | null;
  card: ModelCardFile | null;
  cardFile: string;
  error: string | null;
}

let cache: { key: string; info: ModelInfo } | undefined;

export function readModelInfo(modelFile: string): ModelInfo {
  const stat = (file: string): fs.Stats | null => {
    try {
      return fs.statSync(file);
    } catch {
      return null;
    }
  };
  const beside = readModelCard(modelFile);
  const modelStat = stat(modelFile);
  const cardStat = stat(beside.file);
  const key = `${modelFile}:${modelStat?.mtimeMs}:${modelStat?.size}:${cardStat?.mtimeMs}`;
  if (cache?.key === key) return cache.info;
  const info: ModelInfo = {
    file: modelFile,
    size: modelStat?.size ?? null,
    modified: modelStat ? new Date(modelStat.mtimeMs).toISOString() : null,
    metadata: {},
    checked: null,
    checkError: null,
    card: beside.card,
    cardFile: beside.file,
    error: null,
  };
  try {
    if (modelStat === null) throw new Error(`no model file at ${modelFile}`);
    info.metadata = readOnnxMetadata(fs.readFileSync(modelFile)).metadata;
  } catch (err) {
    info.error = (err as Error).message;
  }
  if (info.error === null) {
    try {
      info.checked = parseModelMetadata(info.metadata, modelFile);
    } catch (err) {
      info.checkError = (err as Error).message;
    }
  }
  info.error ??= beside.error;
  cache = { key, info };
  return info;
}
