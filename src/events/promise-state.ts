// A camera's promise state in one sentence (src/calibrate/promise.ts's statement: "certified: at most 1% of birds
// moved, 90% confidence, from 412 reviewed shots" or "not yet measured on this camera: review 118 more random
// shots"), shown in the digest and published to Home Assistant as a text sensor. The MQTT sink asks for it with
// every state message, so the model file's identity is cached by its size and mtime, and the answer for 30 s.
import { statSync } from 'node:fs';
import { clubPromise } from '../calibrate/promise.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { modelFileInfo, type ModelFileInfo } from '../model/file-info.js';

const FRESH_MS = 30_000;
let modelSeen: { key: string; info: ModelFileInfo } | undefined;
const answers = new WeakMap<Db, { config: Config; at: number; statements: Map<string, string> }>();

function modelInfo(path: string): ModelFileInfo {
  const stat = statSync(path);
  const key = `${path}\0${stat.size}\0${stat.mtimeMs}`;
  if (modelSeen?.key !== key) modelSeen = { key, info: modelFileInfo(path) };
  return modelSeen.info;
}

/** The camera's promise statement for the serving model, or undefined when it cannot be worked out (no model). */
export function cameraPromiseState(db: Db, config: Config, camera: string): string | undefined {
  const now = Date.now();
  let cached = answers.get(db);
  if (cached === undefined || cached.config !== config || now - cached.at > FRESH_MS) {
    let statements: Map<string, string>;
    try {
      statements = new Map(clubPromise(config, db, modelInfo(config.model)).map((p) => [p.camera, p.statement]));
    } catch {
      statements = new Map(); // an unreadable model or log: nothing shown rather than a failed delivery
    }
    cached = { config, at: now, statements };
    answers.set(db, cached);
  }
  return cached.statements.get(camera);
}
