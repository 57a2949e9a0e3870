// What the /model page shows: the model file's metadata (read from the .onnx itself) and its card, the JSON file
// beside it (models/birds-vs-airplanes.json). Read when the page is asked for and kept while the files' mtimes
// stay the same (a new model installed under the same name shows at the next visit).
import fs from 'node:fs';
import { readOnnxMetadata } from '../model/metadata.js';

export interface ModelInfo {
  file: string;
  size: number | null;
  modified: string | null;
  metadata: Record<string, string>;
  card: Record<string, unknown> | null;
  cardFile: string;
  error: string | null;
}

let cache: { key: string; info: ModelInfo } | undefined;

export function readModelInfo(modelFile: string): ModelInfo {
  const cardFile = modelFile.replace(/\.onnx$/i, '') + '.json';
  const stat = (file: string): fs.Stats | null => {
    try {
      return fs.statSync(file);
    } catch {
      return null;
    }
  };
  const modelStat = stat(modelFile);
  const cardStat = stat(cardFile);
  const key = `${modelFile}:${modelStat?.mtimeMs}:${modelStat?.size}:${cardStat?.mtimeMs}`;
  if (cache?.key === key) return cache.info;
  const info: ModelInfo = {
    file: modelFile, size: modelStat?.size ?? null,
    modified: modelStat ? new Date(modelStat.mtimeMs).toISOString() : null,
    metadata: {}, card: null, cardFile, error: null,
  };
  try {
    if (modelStat === null) throw new Error(`no model file at ${modelFile}`);
    info.metadata = readOnnxMetadata(fs.readFileSync(modelFile)).metadata;
  } catch (err) {
    info.error = (err as Error).message;
  }
  try {
    if (cardStat !== null) info.card = JSON.parse(fs.readFileSync(cardFile, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    info.error ??= `model card ${cardFile}: ${(err as Error).message}`;
  }
  cache = { key, info };
  return info;
}
