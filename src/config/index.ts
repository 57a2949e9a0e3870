// The configuration API every command imports.
export { loadConfig, ConfigError, CONFIG_FLAG_OPTIONS, describeFsError, isInside, parseListen } from './load.js';
export { LOOP_FLAG_OPTIONS } from './load.js';
export type { ConfigFlags, LoadConfigOptions } from './load.js';
export type { Camera, Config, Provider, RetrainConfig, WebConfig } from './schema.js';
export { DEFAULTS, CONFIG_KEYS } from './schema.js';
export { PROJECT_ROOT, fromProjectRoot } from './paths.js';
