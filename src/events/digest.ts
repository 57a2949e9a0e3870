// The digest's content: per configured camera over a period, the shots decided, airplanes moved, kept, failures
// (the same counts as `birdwatch stats`, from the same function), birds restored by members, the camera's promise
// state, and the shots the filter was least sure of (P(airplane) nearest its threshold).
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { CURRENT_PATH_SQL } from '../query/decided-shot.js';
import { computeStats } from '../query/stats.js';
import { relativeFile } from './public-event.js';
import { cameraPromiseState } from './promise-state.js';

/** Shots listed per camera as the least sure. */
export const LEAST_SURE = 5;

export interface UnsureShot {
  id: number;
  time: string;
  action: 'moved' | 'kept';
  label: string | null;
  p_airplane: number;
  threshold: number;
  /** Relative to the camera's folder. */
  file: string;
  /** The shot's page on the members' web page (web.publicUrl), or null. */
  link: string | null;
  /** Where the shot is now (for its thumbnail; never shown). */
  current_path: string;
}

export interface CameraDigest {
  camera: string;
  decided: number;
  moved: number;
  kept: number;
  failed: number;
  restored: number;
  promise_state: string | null;
  least_sure: UnsureShot[];
}

export interface Digest {
  /** The period, ISO 8601 UTC, [since, until). */
  since: string;
  until: string;
  cameras: CameraDigest[];
}

export function collectDigest(db: Db, config: Config, range: { sinceMs: number; untilMs: number }): Digest {
  const restores = db
    .prepare(
      `SELECT count(*) FROM corrections c JOIN decisions d ON d.id = c.decision_id
      WHERE c.kind = 'restore' AND d.camera = ? AND c.time_ms >= ? AND c.time_ms < ?`,
    )
    .pluck();
  const unsure = db.prepare(`SELECT d.id, d.time, d.action, d.label, d.p_airplane, d.threshold, d.path,
        ${CURRENT_PATH_SQL} AS current_path
      FROM decisions d WHERE d.camera = ? AND d.time_ms >= ? AND d.time_ms < ? AND d.p_airplane IS NOT NULL
        AND d.threshold IS NOT NULL AND d.action IN ('moved', 'kept')
      ORDER BY abs(d.p_airplane - d.threshold), d.id LIMIT ${LEAST_SURE}`);
  const cameras = config.cameras.map((camera): CameraDigest => {
    const stats = computeStats(db, { sinceMs: range.sinceMs, untilMs: range.untilMs, camera: camera.name });
    const shots = unsure.all(camera.name, range.sinceMs, range.untilMs) as Array<
      Omit<UnsureShot, 'file' | 'link'> & { path: string }
    >;
    return {
      camera: camera.name,
      decided: stats.decisions,
      moved: stats.per_action.moved,
      kept: stats.per_action.kept,
      failed: stats.per_action.failed,
      restored: restores.get(camera.name, range.sinceMs, range.untilMs) as number,
      promise_state: cameraPromiseState(db, config, camera.name) ?? null,
      least_sure: shots.map(({ path: shotPath, ...shot }) => ({
        ...shot,
        file: relativeFile(shotPath, camera),
        link: config.web.publicUrl === undefined ? null : `${config.web.publicUrl.replace(/\/+$/, '')}/shot/${shot.id}`,
      })),
    };
  });
  return { since: new Date(range.sinceMs).toISOString(), until: new Date(range.untilMs).toISOString(), cameras };
}

/** The digest as `--json` prints it (no server paths). */
export function digestJson(digest: Digest): unknown {
  return {
    ...digest,
    cameras: digest.cameras.map((camera) => ({
      ...camera,
      least_sure: camera.least_sure.map(({ current_path: _current, ...shot }) => shot),
    })),
  };
}

/** A thumbnail's Content-ID (the HTML refers to it as cid:...). */
export function thumbnailCid(shot: UnsureShot): string {
  return `shot-${shot.id}@birdwatch`;
}

/** The file name an attached thumbnail gets. */
export function thumbnailName(shot: UnsureShot): string {
  return `shot-${shot.id}-${path.basename(shot.file).replace(/\.[^.]*$/, '')}.jpg`;
}
