// The configuration in force for the running daemon: a deep-frozen Config, replaced whole when a reload (SIGHUP)
// builds a new one, never edited. The decider, the watchers and the retention pass read `config` when they need it.
import type { Config } from './schema.js';

export class CurrentConfig {
  #config: Config;

  constructor(config: Config) {
    this.#config = freezeDeep(config);
  }

  get config(): Config {
    return this.#config;
  }

  /** Hands over a new configuration (frozen here if its builder did not). */
  replace(next: Config): void {
    this.#config = freezeDeep(next);
  }
}

/** Freezes an object and everything it holds (a config holds only plain objects, arrays and scalars). */
export function freezeDeep<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) freezeDeep(inner);
  }
  return value;
}
