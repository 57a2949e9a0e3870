// What the daemon remembers about one path, and what a look at it concludes.
import type { Stats } from 'node:fs';
import type { Camera } from '../config/schema.js';
import type { DecisionRow } from '../db/rows.js';

export interface FileEntry {
  camera: Camera;
  /** new: never looked at; queued: waiting for a worker; working: a worker has it; waiting: a timer will requeue it;
   *  settled: decided (or skipped) in the state `settledSig` describes. */
  phase: 'new' | 'queued' | 'working' | 'waiting' | 'settled';
  timer?: NodeJS.Timeout;
  /** An event arrived while a worker had it: look again afterwards. */
  dirty: boolean;
  /** Signature at the last look, since when it is known to have been in that state (first seen, or its mtime
   *  when that is older), and when it last changed. */
  observedSig?: string;
  observedAt: number;
  lastChangeAt: number;
  /** Signature the last completeness check found incomplete (no need to read it again until it changes). */
  incompleteSig?: string;
  settledSig?: string;
  /** Consecutive failed attempts to move it (airplanes folder not writable...), for the backoff. */
  moveFailures: number;
}

/** `decision`: the row this look logged, if it logged one (the service reports it to the metrics). */
export type Outcome =
  | { kind: 'settled'; sig: string; decision?: DecisionRow }
  | { kind: 'wait'; ms: number }
  | { kind: 'gone'; decision?: DecisionRow };

/** Identity and state of a file as lstat sees it; any write, replacement or chmod changes it. */
export function signature(stat: Stats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

export function newEntry(camera: Camera, now = Date.now()): FileEntry {
  return { camera, phase: 'new', dirty: false, observedAt: now, lastChangeAt: now, moveFailures: 0 };
}
