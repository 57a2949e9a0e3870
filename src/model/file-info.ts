// What a model file is without starting onnxruntime: its id (as the daemon logs it), its own threshold and the
// metadata training stored (validation figures, creation time). For calibrate, promote and `birdwatch models`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ModelError } from './errors.js';
import { readOnnxMetadata } from './metadata.js';
import { parseModelMetadata, type OperatingCurve } from './validate.js';

export interface ModelFileInfo {
  path: string;
  /** First 12 hex digits of the file's sha256: the model_id the daemon records with each decision. */
  id: string;
  sha256: string;
  threshold: number;
  /** Undefined for models older than the operating curve. */
  operatingCurve?: OperatingCurve;
  createdAt: string | null;
  metadata: Record<string, string>;
}

export function modelFileInfo(path: string): ModelFileInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ModelError(`cannot read model ${path}: ${(err as Error).message}`);
  }
  let info;
  try {
    info = readOnnxMetadata(bytes);
  } catch (err) {
    throw new ModelError(`model ${path} is not a valid ONNX file (${(err as Error).message})`);
  }
  if (!info.hasGraph) throw new ModelError(`model ${path} is not a valid ONNX file (it has no graph)`);
  const meta = parseModelMetadata(info.metadata, path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    path,
    id: sha256.slice(0, 12),
    sha256,
    threshold: meta.threshold,
    ...(meta.operatingCurve ? { operatingCurve: meta.operatingCurve } : {}),
    createdAt: info.metadata.created_at ?? null,
    metadata: info.metadata,
  };
}
