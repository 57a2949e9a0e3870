// Edits the JSON config file in place for `calibrate --apply`: the file is parsed, changed by the caller, and
// written back atomically (a temp file in the same folder, fsync, rename over the original), so a crash leaves the
// old file or the new one, never half of one. Every key the caller does not touch is kept, in its order.
import fs from 'node:fs';
import path from 'node:path';
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
  const stat = fs.statSync(file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.birdwatch-${process.pid}.tmp`);
  try {
    const fd = fs.openSync(temp, 'wx', stat.mode & 0o7777);
    try {
      fs.writeFileSync(fd, `${JSON.stringify(raw, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new ConfigError(`cannot write config file ${file}: ${describeFsError(err)}`);
  }
  const dir = fs.openSync(path.dirname(file), 'r');
  try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
}
