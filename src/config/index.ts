// The configuration API every command imports.
export { loadConfig, ConfigError, CONFIG_FLAG_OPTIONS, describeFsError, isInside, parseListen } from './load.js';
export { LOOP_FLAG_OPTIONS, WEB_FLAG_OPTIONS } from './load.js';
export type { ConfigFlags, LoadConfigOptions } from './load.js';
export type { Camera, Config, Listen, Provider, RetrainConfig, WebConfig } from './schema.js';
export { DEFAULTS, CONFIG_KEYS, CONFIG_SCHEMA, SETTINGS } from './schema.js';
export { CurrentConfig, freezeDeep } from './current.js';
export { PROJECT_ROOT, fromProjectRoot } from './paths.js';
