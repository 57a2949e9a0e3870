// HOOK for the promise engineer (issue 19): a camera's promise state in words ("kept: at most 1% of birds moved,
// 95% sure"), shown in the digest and published to Home Assistant as a sensor. Main had no such function when this
// was written: it answers undefined (nothing shown) until its body calls the calibrate room's one.
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';

export function cameraPromiseState(_db: Db, _config: Config, _camera: string): string | undefined {
  return undefined;
}
