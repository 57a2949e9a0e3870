// What a receiver gets: an outbox row turned into the event's public JSON (the same for MQTT and webhooks). The
// recorded absolute paths are replaced by `file`, the shot's path relative to its camera's folder; no absolute
// server path ever leaves.
import path from 'node:path';
import type { Camera } from '../config/schema.js';
import type { EventRow, EventType } from '../db/outbox.js';

export interface PublicEvent {
  event_id: string;
  type: EventType;
  time: string;
  camera: string | null;
  /** The shot's path relative to its camera's watched folder (events about a shot). */
  file?: string;
  [key: string]: unknown;
}

const PATH_KEYS = ['path', 'final_path', 'from_path', 'to_path'];

export function publicEvent(row: EventRow, cameras: readonly Camera[]): PublicEvent {
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  const event: PublicEvent = { event_id: row.event_id, type: row.type, time: row.time, camera: row.camera };
  for (const [key, value] of Object.entries(payload)) {
    if (!PATH_KEYS.includes(key)) event[key] = value;
  }
  if (typeof payload.path === 'string') {
    event.file = relativeFile(
      payload.path,
      cameras.find((camera) => camera.name === row.camera),
    );
  }
  return event;
}

/** `shot` relative to the camera's watched folder; its base name when the camera or folder is not known. */
export function relativeFile(shot: string, camera: Camera | undefined): string {
  for (const folder of camera === undefined ? [] : [camera.watch, camera.airplanes]) {
    const relative = path.relative(folder, shot);
    if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) return relative;
  }
  return path.basename(shot);
}
