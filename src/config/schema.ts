// Every configuration key, declared once: its type, default, limits, description, command-line flag and what a
// reload (SIGHUP) does with it. The types, defaults, flag options, the unknown-key check, the value checks
// (load.ts, values.ts), the published JSON Schema and docs/configuration.md (publish.ts) all come from here.
import { createRequire } from 'node:module';
import type * as TypeBox from '@sinclair/typebox';
import type { Static, TBoolean, TSchema } from '@sinclair/typebox';
import { LOG_LEVELS } from '../logger.js';

// TypeBox's ES-module build is 266 files that Node's loader opens all at once: under a low open-files limit (the
// load tests run the daemon at 128) that alone ran out of descriptors at start. Its CommonJS build loads one by one.
const { Type } = createRequire(import.meta.url)('@sinclair/typebox') as typeof TypeBox;

/** What a running daemon does with a changed value on SIGHUP. */
export type Reload = 'applied' | 'restart' | 'unused';
/** Which commands take the flag: 'common' (every command that reads the config, by choice), 'loop' (calibrate,
 *  retrain, models and run) or 'web' (`birdwatch web`). */
export type FlagSet = 'common' | 'loop' | 'web';

/** What a key declares besides its JSON Schema. */
export interface KeyMeta<F extends string = string> {
  /** Its command-line flag, without the dashes. */
  flag?: F;
  flagSet?: FlagSet;
  /** 'applied': SIGHUP applies a change; 'restart': a change waits for a restart (with a warning); 'unused': the
   *  daemon does not read it (the command that does reads the file each time it starts). */
  reload: Reload;
  /** A path: a flag's is relative to the working folder, the file's to the file's folder, a default's to the
   *  project folder. */
  path?: boolean;
  /** A HOST:PORT address, parsed into { host, port }. */
  address?: boolean;
  /** The error's words for a value outside the limits ("must be <must>, got ..."); default: from the limits. */
  must?: string;
}

/** Custom annotations stripped from the published JSON Schema (editors and validators only know the standard). */
export const META_KEYS = ['flag', 'flagSet', 'reload', 'path', 'address', 'must'] as const;

/** A key's schema with its declaration attached (its flag's name and set kept in the type, for the flag options). */
function key<T extends TSchema, const F extends string = never, const G extends FlagSet = 'common'>(
  schema: T,
  meta: KeyMeta<F> & { flagSet?: G },
): T & { reload: Reload; flag: F; flagSet: G } & KeyMeta<F> {
  return Object.assign(schema, { flagSet: 'common', ...meta }) as never;
}

const HOST_PORT = '^(\\[[0-9A-Fa-f:.]+\\]|[^:\\s\\[\\]]+):[0-9]{1,5}$';
const PROBABILITY = { minimum: 0, maximum: 1 };
const SHARE = { exclusiveMinimum: 0, exclusiveMaximum: 1, must: 'a share of birds above 0 and below 1 (0.01 = 1%)' };
const DAYS = { exclusiveMinimum: 0 };

/** One camera in `cameras`. */
export const CAMERA_SETTINGS = {
  name: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        description: "Recorded in each decision's `camera` column. Default: the watched folder's name.",
      }),
      { reload: 'applied' },
    ),
  ),
  watch: key(
    Type.String({ minLength: 1, description: 'The folder the camera uploads into, watched with its subfolders.' }),
    { reload: 'applied', path: true },
  ),
  airplanes: key(Type.String({ minLength: 1, description: 'Where airplane shots go, keeping their subfolder.' }), {
    reload: 'applied',
    path: true,
  }),
  threshold: Type.Optional(
    key(
      Type.Number({
        ...PROBABILITY,
        description:
          "This camera's P(airplane) at or above which a shot is moved. Default: the config's, else the " + "model's.",
      }),
      { reload: 'applied' },
    ),
  ),
  retentionDays: Type.Optional(
    key(
      Type.Number({
        ...DAYS,
        description:
          "Moved shots older than this many days are deleted from this camera's airplanes folder. Default: " +
          "the config's.",
      }),
      { reload: 'applied', must: 'a number of days above 0' },
    ),
  ),
  birdBudget: Type.Optional(
    key(
      Type.Number({
        ...SHARE,
        description:
          "This camera's share of birds the threshold may move, looked up in the model's operating curve " +
          "(see birdBudget); calibrate aims at it. Default: the config's.",
      }),
      { reload: 'applied', must: SHARE.must },
    ),
  ),
};

/** The members' web page, `web`. */
export const WEB_SETTINGS = {
  listen: key(
    Type.String({
      default: '127.0.0.1:8080',
      pattern: HOST_PORT,
      examples: ['127.0.0.1:8080', '[::1]:8080'],
      description: 'Address `birdwatch web` listens on (keep it on loopback behind a TLS reverse proxy).',
    }),
    { reload: 'unused', flag: 'listen', flagSet: 'web', address: true },
  ),
  publicRead: key(
    Type.Boolean({
      default: false,
      description: "Anyone may view without logging in (actions always need a reviewer's login).",
    }),
    { reload: 'unused' },
  ),
  thumbnails: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        description: "The thumbnail cache folder. Default: 'thumbnails' beside the database.",
      }),
      { reload: 'unused', path: true },
    ),
  ),
  publicUrl: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        pattern: '^https?://',
        examples: ['https://birds.example.org'],
        description: "The page's address as members reach it: the digest links each shot to PUBLIC_URL/shot/ID.",
      }),
      { reload: 'unused', must: "the page's http:// or https:// address" },
    ),
  ),
};

/** The corrections loop, `retrain`: `birdwatch retrain`, `promote` and the weekly timer. */
export const RETRAIN_SETTINGS = {
  candidates: key(
    Type.String({
      minLength: 1,
      default: 'models/candidates',
      description: 'Folder candidate models and their reports are written to.',
    }),
    { reload: 'unused', flag: 'candidates', flagSet: 'loop', path: true },
  ),
  minNewCorrections: key(
    Type.Integer({
      minimum: 0,
      default: 20,
      description: 'The weekly timer retrains only when at least this many labels are new since the last candidate.',
    }),
    { reload: 'unused' },
  ),
  autoPromote: key(
    Type.Boolean({
      default: false,
      description:
        'The timer installs a candidate that passes the promotion rule (false: a person runs ' +
        '`birdwatch promote`).',
    }),
    { reload: 'unused' },
  ),
};

/** The club's promise, `calibration`: its confidence and the daemon's own recalibration (docs/promise.md). */
export const CALIBRATION_SETTINGS = {
  confidence: key(
    Type.Number({
      minimum: 0.5,
      exclusiveMaximum: 1,
      default: 0.9,
      description:
        'Confidence of the one-sided upper bound on the share of birds a threshold moves: a camera is ' +
        'certified when, at this confidence, at most its bird budget of its birds is moved.',
    }),
    { reload: 'applied', must: 'at least 0.5 and below 1 (0.9 = 90%)' },
  ),
  auto: key(
    Type.Boolean({
      default: true,
      description:
        'The daemon recalibrates each camera without a threshold of its own from the random-review ' +
        "labels on the serving model's decisions and applies a certified threshold without a restart (every change " +
        "a row: 'birdwatch thresholds'). A camera with its own threshold is never changed.",
    }),
    { reload: 'applied' },
  ),
  checkMs: key(
    Type.Integer({
      minimum: 1,
      default: 15_000,
      description: 'How often (ms) the daemon looks for new random-review labels.',
    }),
    { reload: 'applied' },
  ),
  sampling: key(
    Type.Union([Type.Literal('stratified'), Type.Literal('uniform')], {
      default: 'stratified',
      description:
        'How the random review draws shots. stratified: shots the model scored P(airplane) >= 0.5 three times in ' +
        'four, the rest otherwise, weighed back by the bound (fewer reviews to certify a camera with few ' +
        'airplanes, about as many with many); uniform: every decided shot alike. Both are honest (docs/promise.md). ' +
        'Read by review-sample and `birdwatch web` when they start.',
    }),
    { reload: 'unused', must: 'stratified or uniform' },
  ),
};

/** The MQTT broker, `mqtt` (src/events/mqtt-sink.ts): Home Assistant's topics and discovery. */
export const MQTT_SETTINGS = {
  url: key(
    Type.String({
      minLength: 1,
      pattern: '^mqtts?://',
      examples: ['mqtt://127.0.0.1:1883'],
      description: 'The broker: mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS.',
    }),
    { reload: 'restart', must: 'an mqtt://HOST:PORT or mqtts://HOST:PORT address' },
  ),
  topicPrefix: key(
    Type.String({
      minLength: 1,
      default: 'birdwatch',
      pattern: '^[^#+]+$',
      description: 'First level of every topic: PREFIX/CAMERA/decision, PREFIX/CAMERA/state, PREFIX/availability.',
    }),
    { reload: 'restart', must: 'a topic level without # or +' },
  ),
  discoveryPrefix: key(
    Type.String({
      minLength: 1,
      default: 'homeassistant',
      pattern: '^[^#+]+$',
      description: "Home Assistant's MQTT discovery prefix.",
    }),
    { reload: 'restart', must: 'a topic without # or +' },
  ),
  username: Type.Optional(key(Type.String({ minLength: 1, description: 'The broker login.' }), { reload: 'restart' })),
  passwordFile: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        description:
          'File holding the broker password ' +
          '(mode 600 or 400; a systemd credential); else BIRDWATCH_MQTT_PASSWORD, if set.',
      }),
      { reload: 'restart', path: true },
    ),
  ),
  clientId: Type.Optional(
    key(Type.String({ minLength: 1, description: 'MQTT client id. Default: birdwatch-PREFIX.' }), {
      reload: 'restart',
    }),
  ),
  caFile: Type.Optional(
    key(Type.String({ minLength: 1, description: 'mqtts: CA certificate(s) to trust (PEM).' }), {
      reload: 'restart',
      path: true,
    }),
  ),
  certFile: Type.Optional(
    key(Type.String({ minLength: 1, description: 'mqtts: client certificate (PEM).' }), {
      reload: 'restart',
      path: true,
    }),
  ),
  keyFile: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        description: "mqtts: the client certificate's key (PEM; " + 'a secret file, mode 600 or 400).',
      }),
      { reload: 'restart', path: true },
    ),
  ),
  rejectUnauthorized: key(
    Type.Boolean({ default: true, description: 'mqtts: refuse a broker whose certificate ' + 'does not verify.' }),
    { reload: 'restart' },
  ),
};

/** One signed webhook in `webhooks` (src/events/webhook-sink.ts). */
export const WEBHOOK_SETTINGS = {
  url: key(
    Type.String({
      minLength: 1,
      pattern: '^https?://',
      description: 'The receiver: each event is POSTed ' + 'here as JSON, signed (X-Birdwatch-Signature).',
    }),
    { reload: 'restart', must: 'an http:// or https:// URL' },
  ),
  secretFile: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        description: 'File holding the HMAC secret (mode 600 ' + 'or 400; a systemd credential).',
      }),
      { reload: 'restart', path: true },
    ),
  ),
  secretEnv: Type.Optional(
    key(Type.String({ minLength: 1, description: 'Or: the environment variable holding it.' }), { reload: 'restart' }),
  ),
  events: Type.Optional(
    key(
      Type.Array(
        Type.Union(
          ['decision', 'restore', 'mark', 'review', 'threshold', 'model-swap'].map((type) => Type.Literal(type)),
        ),
        { description: 'Only these event types. Default: all.' },
      ),
      { reload: 'restart' },
    ),
  ),
  cameras: Type.Optional(
    key(Type.Array(Type.String({ minLength: 1 }), { description: "Only these cameras' " + 'events. Default: all.' }), {
      reload: 'restart',
    }),
  ),
  actions: Type.Optional(
    key(
      Type.Array(Type.Union(['moved', 'kept', 'failed'].map((action) => Type.Literal(action))), {
        description: 'Decisions with these actions only. Default: all.',
      }),
      { reload: 'restart' },
    ),
  ),
  cooldownSeconds: key(
    Type.Number({
      minimum: 0,
      default: 0,
      description:
        'After a delivered event, the same ' + "camera's events within this many seconds (by event time) are not sent.",
    }),
    { reload: 'restart' },
  ),
  timeoutSeconds: key(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 300,
      default: 10,
      description: 'Seconds an attempt may take before it counts as failed (tried again later).',
    }),
    { reload: 'restart' },
  ),
};

/** The digest's mail server, `smtp` (src/events/mail.ts; `birdwatch digest` reads it each time). */
export const SMTP_SETTINGS = {
  host: key(Type.String({ minLength: 1, description: 'The mail server.' }), { reload: 'unused' }),
  port: key(Type.Integer({ minimum: 1, maximum: 65535, default: 587, description: 'Its port.' }), { reload: 'unused' }),
  security: key(
    Type.Union([Type.Literal('starttls'), Type.Literal('tls'), Type.Literal('none')], {
      default: 'starttls',
      description: "'starttls' (port 587), 'tls' (port 465), or 'none' (a relay on this " + 'machine only).',
    }),
    { reload: 'unused' },
  ),
  user: Type.Optional(key(Type.String({ minLength: 1, description: 'The login.' }), { reload: 'unused' })),
  passwordFile: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        description:
          'File holding the password (mode 600 or ' +
          '400; a systemd credential); else BIRDWATCH_SMTP_PASSWORD, if set.',
      }),
      { reload: 'unused', path: true },
    ),
  ),
  from: key(Type.String({ minLength: 3, description: "The digest's sender address." }), { reload: 'unused' }),
  to: Type.Optional(
    key(Type.Array(Type.String({ minLength: 3 }), { description: 'Who gets the digest (or --to).' }), {
      reload: 'unused',
    }),
  ),
  rejectUnauthorized: key(
    Type.Boolean({ default: true, description: 'Refuse a server whose certificate does not ' + 'verify.' }),
    { reload: 'unused' },
  ),
};

/** The outbox, `events` (src/events/worker.ts): how long and how much a dead sink's backlog may grow. */
export const EVENTS_SETTINGS = {
  maxAgeHours: key(
    Type.Number({
      exclusiveMinimum: 0,
      default: 168,
      description:
        'An event a sink has not taken ' +
        'after this many hours is dropped for it (logged, counted); delivered events are forgotten after it too.',
    }),
    { reload: 'applied' },
  ),
  maxPending: key(
    Type.Integer({
      minimum: 1,
      default: 100_000,
      description: 'Most events waiting per sink; the ' + 'oldest beyond it are dropped (logged, counted).',
    }),
    { reload: 'applied' },
  ),
  retryMaxSeconds: key(
    Type.Number({
      minimum: 0.1,
      default: 300,
      description: 'Longest wait between two tries ' + 'of a failing sink (the wait doubles from 1 s).',
    }),
    { reload: 'applied' },
  ),
  pollMs: key(
    Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 500,
      description: 'How often (ms) the ' + "worker looks for new events (other processes' restores and marks too).",
    }),
    { reload: 'applied' },
  ),
};

/** Object keys starting with '//' are comments (the example file uses them). */
const COMMENTS = { '^//': {} };
const CAMERA_OBJECT = Type.Object(CAMERA_SETTINGS, { additionalProperties: false });
const WEB_OBJECT = Type.Object(WEB_SETTINGS, {
  additionalProperties: false,
  patternProperties: COMMENTS,
  default: {},
  description: "The members' web page (`birdwatch web`).",
});
const CALIBRATION_OBJECT = Type.Object(CALIBRATION_SETTINGS, {
  additionalProperties: false,
  patternProperties: COMMENTS,
  default: {},
  description: "The club's promise: its confidence and the daemon's own recalibration (docs/promise.md).",
});
const MQTT_OBJECT = Type.Object(MQTT_SETTINGS, {
  additionalProperties: false,
  patternProperties: COMMENTS,
  description: 'The MQTT broker, for Home Assistant (docs/events.md). Off when omitted.',
});
const WEBHOOK_OBJECT = Type.Object(WEBHOOK_SETTINGS, { additionalProperties: false, patternProperties: COMMENTS });
const SMTP_OBJECT = Type.Object(SMTP_SETTINGS, {
  additionalProperties: false,
  patternProperties: COMMENTS,
  description: "The digest's mail server (`birdwatch digest`).",
});
const EVENTS_OBJECT = Type.Object(EVENTS_SETTINGS, {
  additionalProperties: false,
  patternProperties: COMMENTS,
  default: {},
  description: 'The outbox: the backlog bound per sink and the retries (docs/events.md).',
});
const RETRAIN_OBJECT = Type.Object(RETRAIN_SETTINGS, {
  additionalProperties: false,
  patternProperties: COMMENTS,
  default: {},
  description: 'The corrections loop: `birdwatch retrain`, `promote` and the weekly timer.',
});

/** Every top-level key of the config file. */
export const SETTINGS = {
  watch: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        default: 'var/blog',
        description: "Single-camera shorthand for `cameras`: the folder the camera uploads into (camera name 'blog').",
      }),
      { reload: 'applied', flag: 'watch', path: true },
    ),
  ),
  airplanes: Type.Optional(
    key(
      Type.String({
        minLength: 1,
        default: 'var/airplanes',
        description:
          'Single-camera shorthand for `cameras`: the folder airplane shots are moved into. The flag also ' +
          'overrides the airplanes folder of a config with one camera.',
      }),
      { reload: 'applied', flag: 'airplanes', path: true },
    ),
  ),
  cameras: Type.Optional(
    key(
      Type.Array(CAMERA_OBJECT, {
        minItems: 1,
        description:
          "One entry per upload folder. Instead, a single camera can be given as top-level 'watch' and " +
          "'airplanes'. Cameras added or removed start or stop being watched on reload.",
      }),
      { reload: 'applied' },
    ),
  ),
  db: key(
    Type.String({
      minLength: 1,
      default: 'var/birdwatch.db',
      title: 'the database path',
      description: "SQLite decision log (created with its folder's write access).",
    }),
    { reload: 'restart', flag: 'db', path: true },
  ),
  model: key(
    Type.String({
      minLength: 1,
      default: 'models/birds-vs-airplanes.onnx',
      description:
        "ONNX model (input 'image', output 'probabilities', metadata classes/mean/std/threshold). A " +
        'reload loads it again (checked first; a bad one is refused and the old one keeps deciding).',
    }),
    { reload: 'applied', flag: 'model', path: true },
  ),
  provider: key(
    Type.Union([Type.Literal('auto'), Type.Literal('cuda'), Type.Literal('cpu')], {
      default: 'auto',
      description:
        "Execution provider: 'auto' (CUDA when an NVIDIA GPU and the CUDA build of onnxruntime are " +
        "present, else CPU), 'cuda' (falls back to CPU with a warning), or 'cpu'.",
    }),
    { reload: 'applied', flag: 'provider' },
  ),
  threshold: Type.Optional(
    key(
      Type.Number({
        ...PROBABILITY,
        description:
          'P(airplane) at or above which a shot is moved, for cameras without their own. Default: the ' +
          "model's metadata threshold.",
      }),
      { reload: 'applied', flag: 'threshold' },
    ),
  ),
  logLevel: key(
    Type.Union(
      LOG_LEVELS.map((level) => Type.Literal(level)),
      { default: 'info', description: "'info' logs one line per decision." },
    ),
    { reload: 'applied', flag: 'log-level' },
  ),
  quietMs: key(
    Type.Integer({
      minimum: 0,
      default: 150,
      description:
        'A file must keep the same size, mtime and inode this long (ms) before it is read (it must then ' +
        'also be structurally complete).',
    }),
    { reload: 'applied', flag: 'quiet-ms' },
  ),
  stallMs: key(
    Type.Integer({
      minimum: 0,
      default: 10_000,
      description:
        'A file still incomplete (cut JPEG, zero bytes) this long (ms) after its last change is logged as ' +
        'failed; completed later, it is decided then. Not shorter than quietMs.',
    }),
    { reload: 'applied', flag: 'stall-ms' },
  ),
  rescanIntervalMs: key(
    Type.Integer({
      minimum: 0,
      default: 300_000,
      description:
        'ms between full rescans of the watched folders, catching files whose events the OS dropped; ' +
        'also finishes moves of crashed birdwatch commands. 0 turns it off.',
    }),
    { reload: 'applied', flag: 'rescan-interval-ms' },
  ),
  polling: key(
    Type.Boolean({
      default: false,
      description: 'Poll instead of inotify: for network shares (NFS, SMB) where inotify sees no remote changes.',
    }),
    { reload: 'restart', flag: 'polling' },
  ),
  pollIntervalMs: key(
    Type.Integer({ minimum: 1, default: 1_000, description: 'ms between two looks at each file in polling mode.' }),
    { reload: 'restart', flag: 'poll-interval-ms' },
  ),
  maxPixels: key(
    Type.Integer({
      minimum: 1,
      default: 100_000_000,
      description:
        'Decompression-bomb guard: images whose header claims more pixels (width x height) are refused ' +
        'without decoding.',
    }),
    { reload: 'applied', flag: 'max-pixels' },
  ),
  maxBytes: key(
    Type.Integer({
      minimum: 1,
      default: 100 * 1024 * 1024,
      description: 'Files larger than this (bytes) are refused without being read.',
    }),
    { reload: 'applied', flag: 'max-bytes' },
  ),
  concurrency: key(
    Type.Integer({
      minimum: 1,
      default: 8,
      description:
        "Files read and decoded at once. Decoding runs on libuv's 4-thread pool; twice that keeps the " +
        'pool busy while some files are being read or logged.',
    }),
    { reload: 'restart', flag: 'concurrency' },
  ),
  batchSize: key(Type.Integer({ minimum: 1, default: 8, description: 'Most images classified in one model call.' }), {
    reload: 'restart',
    flag: 'batch-size',
  }),
  web: key(WEB_OBJECT, { reload: 'unused' }),
  metricsListen: Type.Optional(
    key(
      Type.String({
        pattern: HOST_PORT,
        examples: ['127.0.0.1:9464'],
        description:
          'HOST:PORT on which to serve GET /metrics (Prometheus text format) and GET /healthz (200 or 503 ' +
          'with JSON). Off when omitted.',
      }),
      { reload: 'restart', flag: 'metrics-listen', address: true },
    ),
  ),
  retentionDays: Type.Optional(
    key(
      Type.Number({
        ...DAYS,
        description:
          'Delete moved airplane shots older than this many days from the airplanes folders (a camera may ' +
          'set its own). Never a shot a member labelled or restored; each deletion is recorded in the log. Off when ' +
          "omitted; 'birdwatch retention --dry-run' lists what would go.",
      }),
      { reload: 'applied', flag: 'retention-days', must: 'a number of days above 0' },
    ),
  ),
  birdBudget: key(
    Type.Number({
      ...SHARE,
      default: 0.01,
      description:
        "Largest share of birds a threshold may move: 'birdwatch calibrate' aims at it, retrain and " +
        'promote compare models at it. Set explicitly (here or by the flag), the daemon also runs cameras without a ' +
        "threshold of their own at the threshold the model's operating curve gives for it. Precedence: camera " +
        "threshold > camera birdBudget > threshold > birdBudget > the model's own threshold.",
    }),
    { reload: 'applied', flag: 'bird-budget', flagSet: 'loop', must: SHARE.must },
  ),
  retrain: key(RETRAIN_OBJECT, { reload: 'unused' }),
  calibration: key(CALIBRATION_OBJECT, { reload: 'applied' }),
  mqtt: Type.Optional(key(MQTT_OBJECT, { reload: 'restart' })),
  webhooks: key(
    Type.Array(WEBHOOK_OBJECT, {
      default: [],
      title: 'the webhooks',
      description: 'Signed webhooks (docs/events.md): each gets the events its filters let through.',
    }),
    { reload: 'restart' },
  ),
  smtp: Type.Optional(key(SMTP_OBJECT, { reload: 'unused' })),
  events: key(EVENTS_OBJECT, { reload: 'applied' }),
};

/** The config file: every key optional; '//' comments and '$schema' accepted, any other key refused. */
export const CONFIG_SCHEMA = Type.Object(SETTINGS, {
  additionalProperties: false,
  patternProperties: { ...COMMENTS, '^\\$schema$': { type: 'string' } },
  title: 'birdwatch configuration',
  description:
    'birdwatch run --config FILE. Relative paths are relative to the ' +
    "file's folder. Command-line flags override these values; these override the defaults.",
});

// ---- the types the rest of birdwatch uses, from the declaration ----

export interface Listen {
  host: string;
  port: number;
}
type Settings = Static<typeof CONFIG_SCHEMA>;
export type Provider = Settings['provider'];

export type Camera = Static<typeof CAMERA_OBJECT> & { name: string };

export interface WebConfig extends Omit<Static<typeof WEB_OBJECT>, 'thumbnails' | 'listen'> {
  listen: Listen;
  /** Resolved: `thumbnails` beside the database unless set. */
  thumbnails: string;
}

export type RetrainConfig = Static<typeof RETRAIN_OBJECT>;
export type CalibrationConfig = Static<typeof CALIBRATION_OBJECT>;
export type MqttConfig = Static<typeof MQTT_OBJECT>;
export type WebhookConfig = Static<typeof WEBHOOK_OBJECT>;
export type SmtpConfig = Static<typeof SMTP_OBJECT>;
export type EventsLimits = Static<typeof EVENTS_OBJECT>;

/** The effective configuration (load.ts): defaults filled in, paths absolute, cameras resolved. Frozen. */
export interface Config extends Omit<
  Settings,
  'watch' | 'airplanes' | 'cameras' | 'web' | 'metricsListen' | 'retrain' | 'calibration'
> {
  cameras: Camera[];
  web: WebConfig;
  retrain: RetrainConfig;
  calibration: CalibrationConfig;
  /** Serve /metrics and /healthz here; undefined = off. */
  metricsListen?: Listen;
  /** The config file every value not from a flag or default came from; undefined when there was none. */
  configFile?: string;
  /** Whether birdBudget was set (config file or --bird-budget) rather than defaulted: only then does the daemon look
   *  it up in the model's operating curve for cameras without a threshold or budget of their own. */
  birdBudgetExplicit?: boolean;
}

// ---- derived views kept for the modules that import them ----

type Declared = TSchema & KeyMeta;

/** Top-level keys accepted in the JSON file, with their description. */
export const CONFIG_KEYS: Record<string, string> = Object.fromEntries(
  Object.entries(SETTINGS).map(([name, schema]) => [name, (schema as Declared).description ?? '']),
);
export const CAMERA_KEYS = Object.keys(CAMERA_SETTINGS) as Array<keyof typeof CAMERA_SETTINGS>;
export const WEB_KEYS = Object.keys(WEB_SETTINGS) as Array<keyof typeof WEB_SETTINGS>;
export const RETRAIN_KEYS = Object.keys(RETRAIN_SETTINGS) as Array<keyof typeof RETRAIN_SETTINGS>;
export const CALIBRATION_KEYS = Object.keys(CALIBRATION_SETTINGS) as Array<keyof typeof CALIBRATION_SETTINGS>;

/** The declared defaults of the top-level values that have one (paths as declared: under the project folder). */
export const DEFAULTS = Object.fromEntries(
  Object.entries(SETTINGS)
    .filter(([, schema]) => (schema as Declared).default !== undefined && (schema as Declared).type !== 'object')
    .map(([name, schema]) => [name, (schema as Declared).default]),
) as Omit<
  {
    [K in keyof Settings as undefined extends Settings[K] ? never : K]-?: Settings[K];
  },
  'web' | 'retrain' | 'events' | 'calibration'
> &
  Pick<Required<Settings>, 'watch' | 'airplanes'>;

/** The flags of one set, typed for node:util parseArgs ({ 'quiet-ms': { type: 'string' }, polling: ... }). */
type FlagEntries<P> = {
  [K in keyof P]: P[K] extends { flag: infer F extends string; flagSet: infer G }
    ? { name: F; set: G; kind: P[K] extends TBoolean ? 'boolean' : 'string' }
    : never;
}[keyof P];
type AllFlags = FlagEntries<typeof SETTINGS> | FlagEntries<typeof WEB_SETTINGS> | FlagEntries<typeof RETRAIN_SETTINGS>;
export type FlagOptions<G extends FlagSet> = {
  [E in AllFlags as E['set'] extends G ? E['name'] : never]: {
    type: E['kind'];
  };
};

/** The top-level keys a running daemon keeps until it restarts (a reload warns about a change and keeps them). */
export const RESTART_KEYS = (Object.keys(SETTINGS) as Array<keyof typeof SETTINGS>).filter(
  (name) => SETTINGS[name].reload === 'restart',
) as Array<'db' | 'polling' | 'pollIntervalMs' | 'concurrency' | 'batchSize' | 'metricsListen' | 'mqtt' | 'webhooks'>;
