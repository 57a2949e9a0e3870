// Builds the effective configuration: defaults, overridden by the JSON config file, overridden by command-line
// flags; then checks it with errors that name the key and the place. Every key, its flag, default and limits come
// from its one declaration in schema.ts; this file holds the precedence, the paths and the checks across keys.
// The result is deep-frozen: a reload builds a new one. Every command uses this.
import fs from 'node:fs';
import path from 'node:path';
import { freezeDeep } from './current.js';
import { defaultModel, locateConfig, noteConfigInUse } from './locate.js';
import { fromProjectRoot } from './paths.js';
import {
  CAMERA_SETTINGS,
  CONFIG_SCHEMA,
  SETTINGS,
  type Camera,
  type Config,
  type FlagOptions,
  type FlagSet,
} from './schema.js';
import { ConfigError, parseValue, type Declared } from './values.js';

export { ConfigError, parseListen } from './values.js';

/** parseArgs options of every flag in `set`, from the declarations. */
function flagOptions<G extends FlagSet>(set: G): FlagOptions<G> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  const visit = (properties: Record<string, Declared>): void => {
    for (const schema of Object.values(properties)) {
      if (schema.flag !== undefined && schema.flagSet === set) {
        options[schema.flag] = { type: schema.type === 'boolean' ? 'boolean' : 'string' };
      }
      if (schema.type === 'object' && schema.properties !== undefined) visit(schema.properties);
    }
  };
  visit(SETTINGS as unknown as Record<string, Declared>);
  return options as FlagOptions<G>;
}

/** parseArgs options shared by every command that reads the config (spread them into a command's own). */
export const CONFIG_FLAG_OPTIONS = { config: { type: 'string' } as const, ...flagOptions('common') };

/** The corrections loop's flags (calibrate, retrain, models), kept out of the daemon's and classify's options. */
export const LOOP_FLAG_OPTIONS = flagOptions('loop');

/** `birdwatch web`'s own flag (--listen). */
export const WEB_FLAG_OPTIONS = flagOptions('web');

/** The flag values as parseArgs returns them (strings; numbers are accepted from programmatic callers). */
export type ConfigFlags = Partial<
  Record<
    keyof typeof CONFIG_FLAG_OPTIONS | keyof typeof LOOP_FLAG_OPTIONS | keyof typeof WEB_FLAG_OPTIONS,
    string | number | boolean | undefined
  >
>;

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

/** Where the values come from: the flags (paths relative to cwd) and the file (paths relative to its folder). */
interface Sources {
  flags: Raw;
  cwd: string;
  fileDir: string;
  /** The config file's path, or 'flags' when there is none (for messages). */
  where: string;
  /** Path keys that fell back to their default (their default folders may be created). */
  defaulted: Set<string>;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const flags = (options.flags ?? {}) as Raw;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? (typeof flags.config === 'string' ? flags.config : locateConfig());
  const fileConfig: Raw = file === undefined ? {} : readConfigFile(path.resolve(cwd, file));
  const sources: Sources = {
    flags,
    cwd,
    defaulted: new Set(),
    fileDir: file === undefined ? cwd : path.dirname(path.resolve(cwd, file)),
    where: file === undefined ? 'flags' : path.resolve(cwd, file),
  };
  const { watch, airplanes, web, ...settings } = settleObject(
    SETTINGS as unknown as Record<string, Declared>,
    fileConfig,
    '',
    sources,
  );
  const config = {
    ...settings,
    // Thumbnails are cached beside the database unless the file names a folder.
    web: { thumbnails: path.join(path.dirname(settings.db as string), 'thumbnails'), ...(web as Raw) },
    cameras: resolveCameras(fileConfig, { watch, airplanes }, sources),
    ...(file === undefined ? {} : { configFile: path.resolve(cwd, file) }),
    birdBudgetExplicit: flags['bird-budget'] !== undefined || fileConfig.birdBudget !== undefined,
  } as unknown as Config;
  if (config.stallMs < config.quietMs) {
    throw new ConfigError(`stallMs (${config.stallMs}) must not be shorter than quietMs (${config.quietMs})`);
  }
  if (sources.defaulted.has('model')) config.model = defaultModel(config.db);
  noteConfigInUse(config);
  checkOnDisk(config, options.require ?? {}, sources.defaulted);
  return freezeDeep(config);
}

/**
 * Every declared key of one object (the file's top level, `web`, `retrain`): the flag's value, else the file's,
 * else the default; nested objects likewise. `prefix` is the object's dotted name ('' at the top, 'web.').
 */
function settleObject(properties: Record<string, Declared>, raw: Raw, prefix: string, sources: Sources): Raw {
  const settled: Raw = {};
  for (const [name, schema] of Object.entries(properties)) {
    const key = `${prefix}${name}`;
    const label = `'${key}' in ${sources.where}`;
    if (schema.type === 'array') {
      if (key === 'cameras') continue; // resolveCameras
      const list = raw[name] ?? schema.default;
      if (list === undefined) continue;
      if (!Array.isArray(list)) throw new ConfigError(`${label} must be a list`);
      settled[name] = list.map((item, i) => settleItem(schema.items!, item, `${key}[${i}]`, sources));
      continue;
    }
    if (schema.type === 'object') {
      // An object without a default (mqtt, smtp) is left out when the file does not have it: that feature is off.
      if (raw[name] === undefined && schema.default === undefined) continue;
      settled[name] = settleItem(schema, raw[name] ?? {}, key, sources);
      continue;
    }
    const flag = schema.flag === undefined ? undefined : sources.flags[schema.flag];
    let value: unknown;
    if (flag !== undefined) {
      value = parseValue(schema, flag, `--${schema.flag}`);
      if (schema.path) value = path.resolve(sources.cwd, value as string);
    } else if (raw[name] !== undefined) {
      value = parseValue(schema, raw[name], label);
      if (schema.path) value = path.resolve(sources.fileDir, value as string);
    } else if (schema.default !== undefined) {
      value = schema.address ? parseValue(schema, schema.default, `the default of '${key}'`) : schema.default;
      if (schema.path) {
        value = fromProjectRoot(value as string);
        sources.defaulted.add(key);
      }
    }
    if (value !== undefined) settled[name] = value;
  }
  return settled;
}

/** One object (its keys settled, the required ones present) or one scalar of a list; `key` names it ('mqtt'). */
function settleItem(schema: Declared, value: unknown, key: string, sources: Sources): unknown {
  const label = `'${key}' in ${sources.where}`;
  if (schema.type !== 'object') return parseValue(schema, value, label);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${label} must be an object {${Object.keys(schema.properties!).join(', ')}}`);
  }
  refuseUnknownKeys(value as Raw, schema, label);
  const settled = settleObject(schema.properties!, value as Raw, `${key}.`, sources);
  for (const name of (schema as { required?: string[] }).required ?? []) {
    if (settled[name] === undefined) throw new ConfigError(`'${key}.${name}' is missing in ${sources.where}`);
  }
  return settled;
}

/** Keys the object's schema does not declare are refused (its comment patterns, '//...', are let through). */
function refuseUnknownKeys(raw: Raw, schema: Declared, label: string): void {
  const patterns = Object.keys((schema as { patternProperties?: object }).patternProperties ?? {}).map(
    (pattern) => new RegExp(pattern),
  );
  const known = Object.keys(schema.properties!);
  for (const key of Object.keys(raw)) {
    if (known.includes(key) || patterns.some((pattern) => pattern.test(key))) continue;
    throw new ConfigError(`unknown key '${key}' in ${label} (known keys: ${known.join(', ')})`);
  }
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
  refuseUnknownKeys(parsed as Raw, CONFIG_SCHEMA as unknown as Declared, file);
  return parsed as Raw;
}

/** The cameras: the file's list, else one camera 'blog' from watch/airplanes (flag, file's shorthand, default). */
function resolveCameras(fileConfig: Raw, settings: Raw, sources: Sources): Camera[] {
  const { flags, where, fileDir } = sources;
  if (fileConfig.cameras !== undefined && (fileConfig.watch !== undefined || fileConfig.airplanes !== undefined)) {
    throw new ConfigError(`${where}: use either 'cameras' or the 'watch'/'airplanes' shorthand, not both`);
  }
  let cameras: Camera[];
  if (fileConfig.cameras !== undefined && flags.watch === undefined) {
    if (!Array.isArray(fileConfig.cameras) || fileConfig.cameras.length === 0) {
      throw new ConfigError(`'cameras' in ${where} must be a non-empty list`);
    }
    cameras = fileConfig.cameras.map((entry, index) => parseCamera(entry, `cameras[${index}] in ${where}`, fileDir));
    // The shorthand's defaults are not these cameras' folders: none of them is created.
    sources.defaulted.delete('watch');
    sources.defaulted.delete('airplanes');
    if (flags.airplanes !== undefined) {
      if (cameras.length > 1) throw new ConfigError('--airplanes cannot override a config with several cameras');
      cameras[0] = { ...cameras[0]!, airplanes: settings.airplanes as string };
    }
  } else {
    cameras = [{ name: 'blog', watch: settings.watch as string, airplanes: settings.airplanes as string }];
  }
  checkCameraLayout(cameras);
  return cameras;
}

function parseCamera(entry: unknown, label: string, fileDir: string): Camera {
  const properties = CAMERA_SETTINGS as unknown as Record<string, Declared>;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new ConfigError(`${label} must be an object {${Object.keys(properties).join(', ')}}`);
  }
  const raw = entry as Raw;
  refuseUnknownKeys(raw, { properties } as Declared, label);
  const camera: Raw = {};
  for (const [name, schema] of Object.entries(properties)) {
    if (raw[name] === undefined) {
      if (schema.path) throw new ConfigError(`${label} has no '${name}' folder`);
      continue;
    }
    const value = parseValue(schema, raw[name], `'${name}' of ${label}`);
    camera[name] = schema.path ? path.resolve(fileDir, value as string) : value;
  }
  camera.name ??= path.basename(camera.watch as string);
  return camera as unknown as Camera;
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
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'EISDIR':
      return 'is a folder';
    default:
      return (err as Error).message;
  }
}
