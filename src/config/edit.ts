// Edits the JSON config file in place for `calibrate --apply` and promote: the file is parsed, changed by the
// caller, and written back with fs/atomic-write.ts (a crash leaves the old file or the new one, never half of one),
// keeping its permissions. Every key the caller does not touch is kept, in its order.
import fs from 'node:fs';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { ConfigError, describeFsError } from './load.js';

export type RawConfig = Record<string, unknown>;

export function editConfigFile(file: string, change: (raw: RawConfig) => void): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${describeFsError(err)}`);
  }
  const raw = JSON.parse(text) as RawConfig;
  change(raw);
  const { mode } = fs.statSync(file);
  try {
    writeFileAtomic(file, `${JSON.stringify(raw, null, 2)}\n`, { mode: mode & 0o7777 });
  } catch (err) {
    throw new ConfigError(`cannot write config file ${file}: ${describeFsError(err)}`);
  }
}
