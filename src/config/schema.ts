// The configuration's shape, its defaults and the documentation of every key (config/birdwatch.example.json
// mirrors this file).
import type { LogLevel } from '../logger.js';
import { EVENTS_CONFIG_KEYS, type EventsLimits, type MqttConfig, type SmtpConfig, type WebhookConfig } from './events.js';

export type Provider = 'auto' | 'cuda' | 'cpu';

export interface Camera {
  /** Recorded in each decision's `camera` column. */
  name: string;
  /** Absolute folder the camera uploads into (watched recursively). */
  watch: string;
  /** Absolute folder airplane shots are moved into, keeping their subfolder. */
  airplanes: string;
  /** P(airplane) at or above which a shot is moved; undefined = the config's, else the model's. */
  threshold?: number;
  /** Moved shots older than this many days are deleted from the airplanes folder; undefined = the config's. */
  retentionDays?: number;
  /** Largest share of this camera's birds the threshold may move: the daemon looks it up in the model's operating
   *  curve (below the camera's own threshold), and calibrate aims at it; undefined = the config's. */
  birdBudget?: number;
}

export interface Config {
  cameras: Camera[];
  db: string;
  model: string;
  provider: Provider;
  /** Global threshold override; undefined = the model's metadata threshold. */
  threshold?: number;
  logLevel: LogLevel;
  /** A file must keep the same size and mtime this long before it is read. */
  quietMs: number;
  /** A file still incomplete this long after its last change is logged as failed. */
  stallMs: number;
  /** Full rescan of the watched folders, catching events the OS dropped. 0 disables it. */
  rescanIntervalMs: number;
  /** Poll instead of using inotify (network shares). */
  polling: boolean;
  pollIntervalMs: number;
  /** Decompression-bomb guard: width*height above this is refused. */
  maxPixels: number;
  /** Files larger than this are refused without being read. */
  maxBytes: number;
  /** Files read and decoded at once. */
  concurrency: number;
  /** Most images classified in one model call. */
  batchSize: number;
  /** Where each value came from: the config file path, or undefined when only defaults and flags were used. */
  configFile?: string;
  /** The members' web page (`birdwatch web`). */
  web: WebConfig;
  /** Serve /metrics and /healthz here; undefined = off. */
  metricsListen?: { host: string; port: number };
  /** Delete moved shots older than this many days (cameras may set their own); undefined = keep them forever. */
  retentionDays?: number;
  /** Largest share of birds a threshold may move (calibrate, retrain's comparison, promote). Default 0.01. */
  birdBudget: number;
  /** Whether birdBudget was set (config file or --bird-budget) rather than defaulted: only then does the daemon look
   *  it up in the model's operating curve for cameras without a threshold or budget of their own. */
  birdBudgetExplicit?: boolean;
  /** The corrections loop: `birdwatch retrain` and its weekly timer. */
  retrain: RetrainConfig;
  /** Telling the club (src/events/, declared in ./events.ts): the broker, the webhooks, the digest's mail server and
   *  the outbox's limits. */
  mqtt?: MqttConfig;
  webhooks: WebhookConfig[];
  smtp?: SmtpConfig;
  events: EventsLimits;
}

export interface RetrainConfig {
  /** Folder candidate models and their reports are written to. */
  candidates: string;
  /** The timer's retrain runs only when at least this many labels are newer than the last candidate. */
  minNewCorrections: number;
  /** The timer promotes a candidate that passes the promotion rule (default false: a person promotes). */
  autoPromote: boolean;
}

export interface WebConfig {
  /** Address `birdwatch web` listens on (`--listen HOST:PORT`). */
  listen: { host: string; port: number };
  /** Viewing needs no login (actions always do). */
  publicRead: boolean;
  /** Folder for cached thumbnails (default: `thumbnails` beside the database). */
  thumbnails: string;
  /** The page's address as members reach it (https://birds.example.org): the digest links shots there. */
  publicUrl?: string;
}

/** Top-level keys accepted in the JSON file (and their meaning, for error messages and the example file). */
export const CONFIG_KEYS: Record<string, string> = {
  watch: 'folder the camera uploads into (single-camera shorthand for cameras)',
  airplanes: 'folder airplane shots are moved into (single-camera shorthand)',
  cameras: 'list of {name, watch, airplanes, threshold?}, one per upload folder',
  db: 'SQLite decision log',
  model: 'ONNX model file',
  provider: "execution provider: 'auto' | 'cuda' | 'cpu'",
  threshold: "P(airplane) at or above which a shot is moved (default: the model's)",
  logLevel: "'error' | 'warn' | 'info' | 'debug'",
  quietMs: 'ms a file must stay unchanged before it is read',
  stallMs: 'ms after its last change an incomplete file is logged as failed',
  rescanIntervalMs: 'ms between safety rescans of the watched folders (0 = off)',
  polling: 'poll the folders instead of inotify (network shares)',
  pollIntervalMs: 'ms between polls in polling mode',
  maxPixels: 'largest width*height decoded',
  maxBytes: 'largest file read, in bytes',
  concurrency: 'files read and decoded at once',
  batchSize: 'most images per model call',
  web: "members' web page: {listen: 'HOST:PORT', publicRead: bool, thumbnails: folder, publicUrl: 'https://...'}",
  metricsListen: "HOST:PORT to serve /metrics (Prometheus) and /healthz on (default: off)",
  retentionDays: 'delete moved shots older than this many days from the airplanes folders (default: never)',
  birdBudget: 'largest share of birds a threshold may move, for calibrate, retrain and promote (default 0.01); ' +
    "set explicitly, the daemon also runs at the model's curve threshold for it",
  retrain: 'the corrections loop: {candidates: folder, minNewCorrections: 20, autoPromote: false}',
  ...EVENTS_CONFIG_KEYS,
};
export const RETRAIN_KEYS = ['candidates', 'minNewCorrections', 'autoPromote'] as const;
export const WEB_KEYS = ['listen', 'publicRead', 'thumbnails', 'publicUrl'] as const;
export const CAMERA_KEYS = ['name', 'watch', 'airplanes', 'threshold', 'retentionDays', 'birdBudget'] as const;

export const DEFAULTS = {
  watch: 'var/blog',
  airplanes: 'var/airplanes',
  db: 'var/birdwatch.db',
  model: 'models/birds-vs-airplanes.onnx',
  provider: 'auto' as Provider,
  logLevel: 'info' as LogLevel,
  cameraName: 'blog',
  quietMs: 150,
  stallMs: 10_000,
  rescanIntervalMs: 300_000,
  polling: false,
  pollIntervalMs: 1_000,
  maxPixels: 100_000_000,
  maxBytes: 100 * 1024 * 1024,
  concurrency: 8,
  batchSize: 8,
  webListen: '127.0.0.1:8080',
  webPublicRead: false,
  /** Beside the database. */
  webThumbnails: 'thumbnails',
  birdBudget: 0.01,
  retrainCandidates: 'models/candidates',
  retrainMinNewCorrections: 20,
  retrainAutoPromote: false,
};
