// Every configuration key, declared once: its type, default, limits, description, command-line flag and what a
// reload (SIGHUP) does with it. The types, defaults, flag options, the unknown-key check, the value checks
// (load.ts, values.ts), the published JSON Schema and docs/configuration.md (publish.ts) all come from here.
import { Type, type Static, type TBoolean, type TSchema } from '@sinclair/typebox';
import { LOG_LEVELS } from '../logger.js';

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
function key<T extends TSchema, const F extends string = never, const G extends FlagSet = 'common'>(schema: T,
  meta: KeyMeta<F> & { flagSet?: G }): T & { reload: Reload; flag: F; flagSet: G } & KeyMeta<F> {
  return Object.assign(schema, { flagSet: 'common', ...meta }) as never;
}

const HOST_PORT = '^(\\[[0-9A-Fa-f:.]+\\]|[^:\\s\\[\\]]+):[0-9]{1,5}$';
const PROBABILITY = { minimum: 0, maximum: 1 };
const SHARE = { exclusiveMinimum: 0, exclusiveMaximum: 1, must: 'a share of birds above 0 and below 1 (0.01 = 1%)' };
const DAYS = { exclusiveMinimum: 0 };

/** One camera in `cameras`. */
export const CAMERA_SETTINGS = {
  name: Type.Optional(key(Type.String({ minLength: 1,
    description: "Recorded in each decision's `camera` column. Default: the watched folder's name." }),
  { reload: 'applied' })),
  watch: key(Type.String({ minLength: 1,
    description: 'The folder the camera uploads into, watched with its subfolders.' }),
  { reload: 'applied', path: true }),
  airplanes: key(Type.String({ minLength: 1,
    description: 'Where airplane shots go, keeping their subfolder.' }), { reload: 'applied', path: true }),
  threshold: Type.Optional(key(Type.Number({ ...PROBABILITY,
    description: "This camera's P(airplane) at or above which a shot is moved. Default: the config's, else the " +
      "model's." }), { reload: 'applied' })),
  retentionDays: Type.Optional(key(Type.Number({ ...DAYS,
    description: "Moved shots older than this many days are deleted from this camera's airplanes folder. Default: " +
      "the config's." }), { reload: 'applied', must: 'a number of days above 0' })),
  birdBudget: Type.Optional(key(Type.Number({ ...SHARE,
    description: "This camera's share of birds the threshold may move, looked up in the model's operating curve " +
      "(see birdBudget); calibrate aims at it. Default: the config's." }), { reload: 'applied', must: SHARE.must })),
};

/** The members' web page, `web`. */
export const WEB_SETTINGS = {
  listen: key(Type.String({ default: '127.0.0.1:8080', pattern: HOST_PORT, examples: ['127.0.0.1:8080', '[::1]:8080'],
    description: 'Address `birdwatch web` listens on (keep it on loopback behind a TLS reverse proxy).' }),
  { reload: 'unused', flag: 'listen', flagSet: 'web', address: true }),
  publicRead: key(Type.Boolean({ default: false,
    description: "Anyone may view without logging in (actions always need a reviewer's login)." }),
  { reload: 'unused' }),
  thumbnails: Type.Optional(key(Type.String({ minLength: 1,
    description: "The thumbnail cache folder. Default: 'thumbnails' beside the database." }),
  { reload: 'unused', path: true })),
};

/** The corrections loop, `retrain`: `birdwatch retrain`, `promote` and the weekly timer. */
export const RETRAIN_SETTINGS = {
  candidates: key(Type.String({ minLength: 1, default: 'models/candidates',
    description: 'Folder candidate models and their reports are written to.' }),
  { reload: 'unused', flag: 'candidates', flagSet: 'loop', path: true }),
  minNewCorrections: key(Type.Integer({ minimum: 0, default: 20,
    description: 'The weekly timer retrains only when at least this many labels are new since the last candidate.' }),
  { reload: 'unused' }),
  autoPromote: key(Type.Boolean({ default: false,
    description: 'The timer installs a candidate that passes the promotion rule (false: a person runs ' +
      '`birdwatch promote`).' }), { reload: 'unused' }),
};

/** Object keys starting with '//' are comments (the example file uses them). */
const COMMENTS = { '^//': {} };
const CAMERA_OBJECT = Type.Object(CAMERA_SETTINGS, { additionalProperties: false });
const WEB_OBJECT = Type.Object(WEB_SETTINGS, { additionalProperties: false, patternProperties: COMMENTS, default: {},
  description: "The members' web page (`birdwatch web`)." });
const RETRAIN_OBJECT = Type.Object(RETRAIN_SETTINGS, { additionalProperties: false, patternProperties: COMMENTS,
  default: {},
  description: 'The corrections loop: `birdwatch retrain`, `promote` and the weekly timer.' });

/** Every top-level key of the config file. */
export const SETTINGS = {
  watch: Type.Optional(key(Type.String({ minLength: 1, default: 'var/blog',
    description: "Single-camera shorthand for `cameras`: the folder the camera uploads into (camera name 'blog')." }),
  { reload: 'applied', flag: 'watch', path: true })),
  airplanes: Type.Optional(key(Type.String({ minLength: 1, default: 'var/airplanes',
    description: 'Single-camera shorthand for `cameras`: the folder airplane shots are moved into. The flag also ' +
      'overrides the airplanes folder of a config with one camera.' }),
  { reload: 'applied', flag: 'airplanes', path: true })),
  cameras: Type.Optional(key(Type.Array(CAMERA_OBJECT, {
    minItems: 1,
    description: "One entry per upload folder. Instead, a single camera can be given as top-level 'watch' and " +
      "'airplanes'. Cameras added or removed start or stop being watched on reload." }), { reload: 'applied' })),
  db: key(Type.String({ minLength: 1, default: 'var/birdwatch.db', title: 'the database path',
    description: "SQLite decision log (created with its folder's write access)." }),
  { reload: 'restart', flag: 'db', path: true }),
  model: key(Type.String({ minLength: 1, default: 'models/birds-vs-airplanes.onnx',
    description: "ONNX model (input 'image', output 'probabilities', metadata classes/mean/std/threshold). A " +
      'reload loads it again (checked first; a bad one is refused and the old one keeps deciding).' }),
  { reload: 'applied', flag: 'model', path: true }),
  provider: key(Type.Union([Type.Literal('auto'), Type.Literal('cuda'), Type.Literal('cpu')], { default: 'auto',
    description: "Execution provider: 'auto' (CUDA when an NVIDIA GPU and the CUDA build of onnxruntime are " +
      "present, else CPU), 'cuda' (falls back to CPU with a warning), or 'cpu'." }),
  { reload: 'applied', flag: 'provider' }),
  threshold: Type.Optional(key(Type.Number({ ...PROBABILITY,
    description: "P(airplane) at or above which a shot is moved, for cameras without their own. Default: the " +
      "model's metadata threshold." }), { reload: 'applied', flag: 'threshold' })),
  logLevel: key(Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)), { default: 'info',
    description: "'info' logs one line per decision." }), { reload: 'applied', flag: 'log-level' }),
  quietMs: key(Type.Integer({ minimum: 0, default: 150,
    description: 'A file must keep the same size, mtime and inode this long (ms) before it is read (it must then ' +
      'also be structurally complete).' }), { reload: 'applied', flag: 'quiet-ms' }),
  stallMs: key(Type.Integer({ minimum: 0, default: 10_000,
    description: 'A file still incomplete (cut JPEG, zero bytes) this long (ms) after its last change is logged as ' +
      'failed; completed later, it is decided then. Not shorter than quietMs.' }),
  { reload: 'applied', flag: 'stall-ms' }),
  rescanIntervalMs: key(Type.Integer({ minimum: 0, default: 300_000,
    description: 'ms between full rescans of the watched folders, catching files whose events the OS dropped; ' +
      'also finishes moves of crashed birdwatch commands. 0 turns it off.' }),
  { reload: 'applied', flag: 'rescan-interval-ms' }),
  polling: key(Type.Boolean({ default: false,
    description: 'Poll instead of inotify: for network shares (NFS, SMB) where inotify sees no remote changes.' }),
  { reload: 'restart', flag: 'polling' }),
  pollIntervalMs: key(Type.Integer({ minimum: 1, default: 1_000,
    description: 'ms between two looks at each file in polling mode.' }),
  { reload: 'restart', flag: 'poll-interval-ms' }),
  maxPixels: key(Type.Integer({ minimum: 1, default: 100_000_000,
    description: 'Decompression-bomb guard: images whose header claims more pixels (width x height) are refused ' +
      'without decoding.' }), { reload: 'applied', flag: 'max-pixels' }),
  maxBytes: key(Type.Integer({ minimum: 1, default: 100 * 1024 * 1024,
    description: 'Files larger than this (bytes) are refused without being read.' }),
  { reload: 'applied', flag: 'max-bytes' }),
  concurrency: key(Type.Integer({ minimum: 1, default: 8,
    description: "Files read and decoded at once. Decoding runs on libuv's 4-thread pool; twice that keeps the " +
      'pool busy while some files are being read or logged.' }), { reload: 'restart', flag: 'concurrency' }),
  batchSize: key(Type.Integer({ minimum: 1, default: 8,
    description: 'Most images classified in one model call.' }), { reload: 'restart', flag: 'batch-size' }),
  web: key(WEB_OBJECT, { reload: 'unused' }),
  metricsListen: Type.Optional(key(Type.String({ pattern: HOST_PORT, examples: ['127.0.0.1:9464'],
    description: 'HOST:PORT on which to serve GET /metrics (Prometheus text format) and GET /healthz (200 or 503 ' +
      'with JSON). Off when omitted.' }), { reload: 'restart', flag: 'metrics-listen', address: true })),
  retentionDays: Type.Optional(key(Type.Number({ ...DAYS,
    description: 'Delete moved airplane shots older than this many days from the airplanes folders (a camera may ' +
      'set its own). Never a shot a member labelled or restored; each deletion is recorded in the log. Off when ' +
      "omitted; 'birdwatch retention --dry-run' lists what would go." }),
  { reload: 'applied', flag: 'retention-days', must: 'a number of days above 0' })),
  birdBudget: key(Type.Number({ ...SHARE, default: 0.01,
    description: "Largest share of birds a threshold may move: 'birdwatch calibrate' aims at it, retrain and " +
      'promote compare models at it. Set explicitly (here or by the flag), the daemon also runs cameras without a ' +
      "threshold of their own at the threshold the model's operating curve gives for it. Precedence: camera " +
      'threshold > camera birdBudget > threshold > birdBudget > the model\'s own threshold.' }),
  { reload: 'applied', flag: 'bird-budget', flagSet: 'loop', must: SHARE.must }),
  retrain: key(RETRAIN_OBJECT, { reload: 'unused' }),
};

/** The config file: every key optional; '//' comments and '$schema' accepted, any other key refused. */
export const CONFIG_SCHEMA = Type.Object(SETTINGS, {
  additionalProperties: false, patternProperties: { ...COMMENTS, '^\\$schema$': { type: 'string' } },
  title: 'birdwatch configuration', description: 'birdwatch run --config FILE. Relative paths are relative to the ' +
    "file's folder. Command-line flags override these values; these override the defaults.",
});

// ---- the types the rest of birdwatch uses, from the declaration ----

export interface Listen { host: string; port: number }
type Settings = Static<typeof CONFIG_SCHEMA>;
export type Provider = Settings['provider'];

export type Camera = Static<typeof CAMERA_OBJECT> & { name: string };

export interface WebConfig extends Omit<Static<typeof WEB_OBJECT>, 'thumbnails' | 'listen'> {
  listen: Listen;
  /** Resolved: `thumbnails` beside the database unless set. */
  thumbnails: string;
}

export type RetrainConfig = Static<typeof RETRAIN_OBJECT>;

/** The effective configuration (load.ts): defaults filled in, paths absolute, cameras resolved. Frozen. */
export interface Config extends Omit<Settings, 'watch' | 'airplanes' | 'cameras' | 'web' | 'metricsListen' |
  'retrain'> {
  cameras: Camera[];
  web: WebConfig;
  retrain: RetrainConfig;
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
export const CONFIG_KEYS: Record<string, string> = Object.fromEntries(Object.entries(SETTINGS)
  .map(([name, schema]) => [name, (schema as Declared).description ?? '']));
export const CAMERA_KEYS = Object.keys(CAMERA_SETTINGS) as Array<keyof typeof CAMERA_SETTINGS>;
export const WEB_KEYS = Object.keys(WEB_SETTINGS) as Array<keyof typeof WEB_SETTINGS>;
export const RETRAIN_KEYS = Object.keys(RETRAIN_SETTINGS) as Array<keyof typeof RETRAIN_SETTINGS>;

/** The declared defaults of the top-level values that have one (paths as declared: under the project folder). */
export const DEFAULTS = Object.fromEntries(Object.entries(SETTINGS)
  .filter(([, schema]) => (schema as Declared).default !== undefined && (schema as Declared).type !== 'object')
  .map(([name, schema]) => [name, (schema as Declared).default])) as Omit<{
  [K in keyof Settings as undefined extends Settings[K] ? never : K]-?: Settings[K] }, 'web' | 'retrain'> &
  Pick<Required<Settings>, 'watch' | 'airplanes'>;

/** The flags of one set, typed for node:util parseArgs ({ 'quiet-ms': { type: 'string' }, polling: ... }). */
type FlagEntries<P> = { [K in keyof P]: P[K] extends { flag: infer F extends string; flagSet: infer G } ?
  { name: F; set: G; kind: P[K] extends TBoolean ? 'boolean' : 'string' } : never }[keyof P];
type AllFlags = FlagEntries<typeof SETTINGS> | FlagEntries<typeof WEB_SETTINGS> | FlagEntries<typeof RETRAIN_SETTINGS>;
export type FlagOptions<G extends FlagSet> = { [E in AllFlags as E['set'] extends G ? E['name'] : never]: {
  type: E['kind'] } };

/** The top-level keys a running daemon keeps until it restarts (a reload warns about a change and keeps them). */
export const RESTART_KEYS = (Object.keys(SETTINGS) as Array<keyof typeof SETTINGS>)
  .filter((name) => SETTINGS[name].reload === 'restart') as Array<'db' | 'polling' | 'pollIntervalMs' |
  'concurrency' | 'batchSize' | 'metricsListen'>;
