// Builds the effective configuration: defaults, overridden by the JSON config file, overridden by command-line
// flags; then checks it with errors that name the key and the place. Every command uses this.
import fs from 'node:fs';
import path from 'node:path';
import { LOG_LEVELS, type LogLevel } from '../logger.js';
import { EventsConfigError, resolveEventsConfig } from './events.js';
import { fromProjectRoot } from './paths.js';
import { CAMERA_KEYS, CONFIG_KEYS, DEFAULTS, RETRAIN_KEYS, WEB_KEYS, type Camera, type Config, type Provider,
  type RetrainConfig, type WebConfig } from './schema.js';

/** A usage or configuration problem: the command prints `birdwatch: <message>` and exits with code 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** parseArgs options shared by every command that reads the config (spread them into a command's own). */
export const CONFIG_FLAG_OPTIONS = {
  config: { type: 'string' },
  watch: { type: 'string' },
  airplanes: { type: 'string' },
  db: { type: 'string' },
  model: { type: 'string' },
  provider: { type: 'string' },
  threshold: { type: 'string' },
  'log-level': { type: 'string' },
  'quiet-ms': { type: 'string' },
  'stall-ms': { type: 'string' },
  'rescan-interval-ms': { type: 'string' },
  polling: { type: 'boolean' },
  'poll-interval-ms': { type: 'string' },
  'max-pixels': { type: 'string' },
  'max-bytes': { type: 'string' },
  concurrency: { type: 'string' },
  'batch-size': { type: 'string' },
  'metrics-listen': { type: 'string' },
  'retention-days': { type: 'string' },
} as const;

/** The corrections loop's flags (calibrate, retrain, models), kept out of the daemon's and classify's options. */
export const LOOP_FLAG_OPTIONS = {
  'bird-budget': { type: 'string' },
  candidates: { type: 'string' },
} as const;

/** The flag values as parseArgs returns them (strings; numbers are accepted from programmatic callers). */
export type ConfigFlags = Partial<Record<keyof typeof CONFIG_FLAG_OPTIONS | keyof typeof LOOP_FLAG_OPTIONS,
  string | number | boolean | undefined>>;

export interface LoadConfigOptions {
  /** JSON config file (usually flags.config). */
  file?: string;
  flags?: ConfigFlags;
  /** What this command needs to exist. Nothing is checked on disk unless asked. */
  require?: {
    /** Watched and airplanes folders exist and are writable (the default var/ folders are created). */
    folders?: boolean;
    /** 'write': the database's folder is writable (created if default); 'read': the database file exists. */
    db?: 'read' | 'write';
    /** The model file exists and is readable (its content is checked by loadModel). */
    model?: boolean;
  };
  /** Base for relative flag paths; default process.cwd(). */
  cwd?: string;
}

type Raw = Record<string, unknown>;

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const flags = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? (typeof flags.config === 'string' ? flags.config : undefined);
  const fileConfig: Raw = file === undefined ? {} : readConfigFile(path.resolve(cwd, file));
  const fileDir = file === undefined ? cwd : path.dirname(path.resolve(cwd, file));
  const where = file === undefined ? 'flags' : path.resolve(cwd, file);
  const defaults = new Set<string>();

  // Resolve a path: flag (relative to cwd) > file (relative to the file) > default (relative to the project root).
  const pathValue = (key: 'db' | 'model', flag: unknown): string => {
    if (flag !== undefined) return path.resolve(cwd, asString(flag, `--${key}`));
    if (fileConfig[key] !== undefined) return path.resolve(fileDir, asString(fileConfig[key], `'${key}' in ${where}`));
    defaults.add(key);
    return fromProjectRoot(DEFAULTS[key]);
  };
  const pick = <T>(key: string, flagName: string, parse: (value: unknown, label: string) => T, fallback: T): T => {
    const flag = (flags as Raw)[flagName];
    if (flag !== undefined) return parse(flag, `--${flagName}`);
    if (fileConfig[key] !== undefined) return parse(fileConfig[key], `'${key}' in ${where}`);
    return fallback;
  };

  const thresholdValue = pick<number | undefined>('threshold', 'threshold', asThreshold, undefined);
  const config: Config = {
    cameras: [],
    db: pathValue('db', flags.db),
    model: pathValue('model', flags.model),
    provider: pick('provider', 'provider', asProvider, DEFAULTS.provider),
    ...(thresholdValue === undefined ? {} : { threshold: thresholdValue }),
    logLevel: pick('logLevel', 'log-level', asLogLevel, DEFAULTS.logLevel),
    quietMs: pick('quietMs', 'quiet-ms', asCount, DEFAULTS.quietMs),
    stallMs: pick('stallMs', 'stall-ms', asCount, DEFAULTS.stallMs),
    rescanIntervalMs: pick('rescanIntervalMs', 'rescan-interval-ms', asCount, DEFAULTS.rescanIntervalMs),
    polling: pick('polling', 'polling', asBoolean, DEFAULTS.polling),
    pollIntervalMs: pick('pollIntervalMs', 'poll-interval-ms', asPositive, DEFAULTS.pollIntervalMs),
    maxPixels: pick('maxPixels', 'max-pixels', asPositive, DEFAULTS.maxPixels),
    maxBytes: pick('maxBytes', 'max-bytes', asPositive, DEFAULTS.maxBytes),
    concurrency: pick('concurrency', 'concurrency', asPositive, DEFAULTS.concurrency),
    batchSize: pick('batchSize', 'batch-size', asPositive, DEFAULTS.batchSize),
    ...(file === undefined ? {} : { configFile: path.resolve(cwd, file) }),
    web: { listen: parseListen(DEFAULTS.webListen, 'default'), publicRead: DEFAULTS.webPublicRead, thumbnails: '' },
    birdBudget: pick('birdBudget', 'bird-budget', asBudget, DEFAULTS.birdBudget),
    birdBudgetExplicit: flags['bird-budget'] !== undefined || fileConfig.birdBudget !== undefined,
    retrain: { candidates: '', minNewCorrections: 0, autoPromote: false },
    webhooks: [],
    events: { maxAgeHours: 0, maxPending: 0, retryMaxSeconds: 0, pollMs: 0 },
  };
  config.retrain = resolveRetrain(fileConfig.retrain, fileDir, where, flags.candidates, cwd);
  config.web = resolveWeb(fileConfig.web, fileDir, where, config.db);
  const metricsListen = pick<{ host: string; port: number } | undefined>('metricsListen', 'metrics-listen',
    (value, label) => parseListen(value, label, '127.0.0.1:9464'), undefined);
  if (metricsListen !== undefined) config.metricsListen = metricsListen;
  const retentionDays = pick<number | undefined>('retentionDays', 'retention-days', asDays, undefined);
  if (retentionDays !== undefined) config.retentionDays = retentionDays;
  config.cameras = resolveCameras(fileConfig, fileDir, where, flags, cwd, defaults);
  try {
    Object.assign(config, resolveEventsConfig(fileConfig, fileDir, where));
  } catch (err) {
    if (err instanceof EventsConfigError) throw new ConfigError(err.message);
    throw err;
  }
  if (config.stallMs < config.quietMs) {
    throw new ConfigError(`stallMs (${config.stallMs}) must not be shorter than quietMs (${config.quietMs})`);
  }
  checkOnDisk(config, options.require ?? {}, defaults);
  return config;
}

function resolveWeb(raw: unknown, fileDir: string, where: string, db: string): WebConfig {
  const label = `'web' in ${where}`;
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${label} must be an object {listen, publicRead, thumbnails}`);
  }
  const web = (raw ?? {}) as Raw;
  for (const key of Object.keys(web)) {
    if (key.startsWith('//')) continue;
    if (!(WEB_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown key '${key}' in ${label} (known keys: ${WEB_KEYS.join(', ')})`);
    }
  }
  if (web.publicUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(String(web.publicUrl))) {
    throw new ConfigError(`'web.publicUrl' in ${where} must be the page's http(s) address, got ` +
      `${JSON.stringify(web.publicUrl)}`);
  }
  return {
    ...(web.publicUrl === undefined ? {} : { publicUrl: String(web.publicUrl).replace(/\/+$/, '') }),
    listen: parseListen(web.listen ?? DEFAULTS.webListen, `'web.listen' in ${where}`),
    publicRead: web.publicRead === undefined ? DEFAULTS.webPublicRead
      : asBoolean(web.publicRead, `'web.publicRead' in ${where}`),
    thumbnails: web.thumbnails === undefined ? path.join(path.dirname(db), DEFAULTS.webThumbnails)
      : path.resolve(fileDir, asString(web.thumbnails, `'web.thumbnails' in ${where}`)),
  };
}

function resolveRetrain(raw: unknown, fileDir: string, where: string, flag: unknown, cwd: string): RetrainConfig {
  const label = `'retrain' in ${where}`;
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${label} must be an object {candidates, minNewCorrections, autoPromote}`);
  }
  const retrain = (raw ?? {}) as Raw;
  for (const key of Object.keys(retrain)) {
    if (key.startsWith('//')) continue;
    if (!(RETRAIN_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown key '${key}' in ${label} (known keys: ${RETRAIN_KEYS.join(', ')})`);
    }
  }
  const candidates = flag !== undefined ? path.resolve(cwd, asString(flag, '--candidates'))
    : retrain.candidates !== undefined ? path.resolve(fileDir, asString(retrain.candidates, `'retrain.candidates' in ${where}`))
      : fromProjectRoot(DEFAULTS.retrainCandidates);
  return {
    candidates,
    minNewCorrections: retrain.minNewCorrections === undefined ? DEFAULTS.retrainMinNewCorrections
      : asCount(retrain.minNewCorrections, `'retrain.minNewCorrections' in ${where}`),
    autoPromote: retrain.autoPromote === undefined ? DEFAULTS.retrainAutoPromote
      : asBoolean(retrain.autoPromote, `'retrain.autoPromote' in ${where}`),
  };
}

/** `HOST:PORT` (IPv6 as `[::1]:8080`) for `web.listen` and `birdwatch web --listen`. */
/** `HOST:PORT` (`[::1]:8080` for IPv6; port 0 picks a free one): the web page's and the metrics' listen address. */
export function parseListen(value: unknown, label: string, example = '127.0.0.1:8080 or [::1]:8080'):
  { host: string; port: number } {
  const text = asString(value, label);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(`${label} must be HOST:PORT (e.g. ${example}), got ${JSON.stringify(value)}`);
  }
  return { host: match[1] ?? match[2]!, port };
}

function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${describeFsError(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  for (const key of Object.keys(parsed)) {
    // Keys starting with '//' or '$' are comments (the example file uses them).
    if (key.startsWith('//') || key.startsWith('$')) continue;
    if (!Object.hasOwn(CONFIG_KEYS, key)) {
      throw new ConfigError(`unknown key '${key}' in ${file} (known keys: ${Object.keys(CONFIG_KEYS).join(', ')})`);
    }
  }
  return parsed as Raw;
}

function resolveCameras(fileConfig: Raw, fileDir: string, where: string, flags: ConfigFlags, cwd: string,
  defaults: Set<string>): Camera[] {
  const flagWatch = flags.watch === undefined ? undefined : path.resolve(cwd, asString(flags.watch, '--watch'));
  const flagAirplanes = flags.airplanes === undefined ? undefined
    : path.resolve(cwd, asString(flags.airplanes, '--airplanes'));
  const fromFile = (key: 'watch' | 'airplanes'): string | undefined => fileConfig[key] === undefined ? undefined
    : path.resolve(fileDir, asString(fileConfig[key], `'${key}' in ${where}`));

  if (fileConfig.cameras !== undefined && (fileConfig.watch !== undefined || fileConfig.airplanes !== undefined)) {
    throw new ConfigError(`${where}: use either 'cameras' or the 'watch'/'airplanes' shorthand, not both`);
  }
  let cameras: Camera[];
  if (fileConfig.cameras !== undefined && flagWatch === undefined) {
    if (!Array.isArray(fileConfig.cameras) || fileConfig.cameras.length === 0) {
      throw new ConfigError(`'cameras' in ${where} must be a non-empty list`);
    }
    cameras = fileConfig.cameras.map((entry, index) => parseCamera(entry, `cameras[${index}] in ${where}`, fileDir));
    if (flagAirplanes !== undefined) {
      if (cameras.length > 1) throw new ConfigError('--airplanes cannot override a config with several cameras');
      cameras[0]!.airplanes = flagAirplanes;
    }
  } else {
    const watch = flagWatch ?? fromFile('watch');
    const airplanes = flagAirplanes ?? fromFile('airplanes');
    if (watch === undefined) defaults.add('watch');
    if (airplanes === undefined) defaults.add('airplanes');
    cameras = [{
      name: DEFAULTS.cameraName,
      watch: watch ?? fromProjectRoot(DEFAULTS.watch),
      airplanes: airplanes ?? fromProjectRoot(DEFAULTS.airplanes),
    }];
  }
  checkCameraLayout(cameras);
  return cameras;
}

function parseCamera(entry: unknown, label: string, fileDir: string): Camera {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new ConfigError(`${label} must be an object {name, watch, airplanes, threshold?}`);
  }
  const raw = entry as Raw;
  for (const key of Object.keys(raw)) {
    if (!(CAMERA_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown key '${key}' in ${label} (known keys: ${CAMERA_KEYS.join(', ')})`);
    }
  }
  for (const key of ['watch', 'airplanes'] as const) {
    if (raw[key] === undefined) throw new ConfigError(`${label} has no '${key}' folder`);
  }
  const watch = path.resolve(fileDir, asString(raw.watch, `'watch' of ${label}`));
  const camera: Camera = {
    name: raw.name === undefined ? path.basename(watch) : asString(raw.name, `'name' of ${label}`),
    watch,
    airplanes: path.resolve(fileDir, asString(raw.airplanes, `'airplanes' of ${label}`)),
  };
  if (raw.threshold !== undefined) camera.threshold = asThreshold(raw.threshold, `'threshold' of ${label}`);
  if (raw.retentionDays !== undefined) camera.retentionDays = asDays(raw.retentionDays, `'retentionDays' of ${label}`);
  if (raw.birdBudget !== undefined) camera.birdBudget = asBudget(raw.birdBudget, `'birdBudget' of ${label}`);
  return camera;
}

/** Two cameras must not share a folder, and a camera's airplanes folder must not be its watched folder. */
function checkCameraLayout(cameras: Camera[]): void {
  const names = new Set<string>();
  const watched = new Set<string>();
  for (const camera of cameras) {
    if (names.has(camera.name)) throw new ConfigError(`two cameras are named '${camera.name}'`);
    names.add(camera.name);
    if (watched.has(camera.watch)) throw new ConfigError(`two cameras watch the same folder ${camera.watch}`);
    watched.add(camera.watch);
    if (camera.airplanes === camera.watch) {
      throw new ConfigError(`camera '${camera.name}': the airplanes folder cannot be the watched folder itself`);
    }
    if (isInside(camera.airplanes, camera.watch)) {
      throw new ConfigError(`camera '${camera.name}': the watched folder cannot be inside its airplanes folder`);
    }
  }
}

export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

function checkOnDisk(config: Config, need: NonNullable<LoadConfigOptions['require']>, defaults: Set<string>): void {
  if (need.folders) {
    for (const camera of config.cameras) {
      if (defaults.has('watch')) fs.mkdirSync(camera.watch, { recursive: true });
      if (defaults.has('airplanes')) fs.mkdirSync(camera.airplanes, { recursive: true });
      checkWritableFolder(camera.watch, `watched folder of camera '${camera.name}'`);
      checkWritableFolder(camera.airplanes, `airplanes folder of camera '${camera.name}'`);
    }
  }
  if (need.db === 'write') {
    const folder = path.dirname(config.db);
    if (defaults.has('db')) fs.mkdirSync(folder, { recursive: true });
    checkWritableFolder(folder, 'database folder');
  } else if (need.db === 'read') {
    try {
      fs.accessSync(config.db, fs.constants.R_OK);
    } catch (err) {
      throw new ConfigError(`database ${config.db}: ${describeFsError(err)}`);
    }
  }
  if (need.model) {
    try {
      const stat = fs.statSync(config.model);
      if (!stat.isFile()) throw new ConfigError(`model ${config.model} is not a file`);
      fs.accessSync(config.model, fs.constants.R_OK);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`model ${config.model}: ${describeFsError(err)}`);
    }
  }
}

function checkWritableFolder(folder: string, what: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch (err) {
    throw new ConfigError(`${what} ${folder}: ${describeFsError(err)}`);
  }
  if (!stat.isDirectory()) throw new ConfigError(`${what} ${folder} is not a folder`);
  try {
    fs.accessSync(folder, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw new ConfigError(`${what} ${folder} is not writable: ${describeFsError(err)}`);
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'does not exist';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOTDIR': return 'a part of the path is not a folder';
    case 'EISDIR': return 'is a folder';
    default: return (err as Error).message;
  }
}

// ---- value parsers: each names the key (and where it came from) in its error ----

function asString(value: unknown, label: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${label} must be a non-empty string`);
  return value;
}

function asNumber(value: unknown, label: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new ConfigError(`${label} must be a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

function asThreshold(value: unknown, label: string): number {
  const number = asNumber(value, label);
  if (number < 0 || number > 1) throw new ConfigError(`${label} must be between 0 and 1, got ${number}`);
  return number;
}

function asCount(value: unknown, label: string): number {
  const number = asNumber(value, label);
  if (!Number.isInteger(number) || number < 0) {
    throw new ConfigError(`${label} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return number;
}

function asPositive(value: unknown, label: string): number {
  const number = asCount(value, label);
  if (number === 0) throw new ConfigError(`${label} must be at least 1`);
  return number;
}

function asBoolean(value: unknown, label: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`${label} must be true or false, got ${JSON.stringify(value)}`);
}

function asProvider(value: unknown, label: string): Provider {
  if (value === 'auto' || value === 'cuda' || value === 'cpu') return value;
  throw new ConfigError(`${label} must be 'auto', 'cuda' or 'cpu', got ${JSON.stringify(value)}`);
}

function asBudget(value: unknown, label: string): number {
  const number = asNumber(value, label);
  if (!(number > 0 && number < 1)) {
    throw new ConfigError(`${label} must be a share of birds above 0 and below 1 (0.01 = 1%), got ${JSON.stringify(value)}`);
  }
  return number;
}

function asDays(value: unknown, label: string): number {
  const number = asNumber(value, label);
  if (!(number > 0)) throw new ConfigError(`${label} must be a number of days above 0, got ${JSON.stringify(value)}`);
  return number;
}

function asLogLevel(value: unknown, label: string): LogLevel {
  if ((LOG_LEVELS as readonly unknown[]).includes(value)) return value as LogLevel;
  throw new ConfigError(`${label} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
}
