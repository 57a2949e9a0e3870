// Where the configuration and the installed model are found when no flag says: --config, else $BIRDWATCH_CONFIG,
// else /etc/birdwatch/config.json when it exists (what `birdwatch setup` writes), else the Quick start's defaults;
// and which config and database a command used, for its refusals and for the commands it prints for the user.
import fs from 'node:fs';
import path from 'node:path';
import { fromProjectRoot } from './paths.js';

/** The server's config, written by `birdwatch setup`. */
export const SYSTEM_CONFIG = '/etc/birdwatch/config.json';
/** The model shipped in the checkout: the factory default, never written by promote or rollback. */
export const FACTORY_MODEL = fromProjectRoot('models', 'birds-vs-airplanes.onnx');

/** The config file to read when --config is not given (undefined: the Quick start's defaults). */
export function locateConfig(env: NodeJS.ProcessEnv = process.env, system = SYSTEM_CONFIG): string | undefined {
  const fromEnv = env.BIRDWATCH_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return fs.existsSync(system) ? system : undefined;
}

/** Where promote installs a model when the config names none: models/ in the state folder, beside the database
 *  (var/ in the Quick start, git-ignored; /var/lib/birdwatch on a server). */
export function stateModel(db: string): string {
  return path.join(path.dirname(db), 'models', path.basename(FACTORY_MODEL));
}

/** The model when the config names none: the one promote installed in the state folder, else the factory one. */
export function defaultModel(db: string): string {
  const installed = stateModel(db);
  return fs.existsSync(installed) ? installed : FACTORY_MODEL;
}

interface InUse {
  configFile?: string;
  db: string;
}
let inUse: InUse | undefined;

/** loadConfig records what it loaded, so that a command's refusal can say which config and database it used. */
export function noteConfigInUse(config: InUse): void {
  inUse = { ...(config.configFile === undefined ? {} : { configFile: config.configFile }), db: config.db };
}

export function forgetConfigInUse(): void {
  inUse = undefined;
}

/** `config FILE, database FILE` (or the Quick start's defaults) of the command running; undefined before it loads. */
export function describeConfigInUse(): string | undefined {
  if (inUse === undefined) return undefined;
  const config =
    inUse.configFile === undefined ? 'no config file (the Quick start defaults)' : `config ${inUse.configFile}`;
  return `${config}, database ${inUse.db}`;
}

/** A birdwatch command line for the user to run, carrying the config this command was given (none for the server's
 *  own, found by default). */
export function commandLine(config: { configFile?: string }, args: string): string {
  const file = config.configFile;
  if (file === undefined || file === SYSTEM_CONFIG) return `birdwatch ${args}`;
  return `birdwatch ${args} --config ${/^[\w./@:+-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`}`;
}
