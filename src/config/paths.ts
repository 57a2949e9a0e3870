// Where the project lives, found from this module's own location (dist/config/ or src/config/), never from cwd,
// so the defaults work whatever folder the daemon is started from.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fromProjectRoot(...parts: string[]): string {
  return path.resolve(PROJECT_ROOT, ...parts);
}
