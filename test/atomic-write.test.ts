// The one atomic file writer (src/fs/atomic-write.ts) that the config edits, the retrain reports, the model card and
// promote's copies use: the target is replaced whole with the permissions asked for, and a failed write leaves the
// target as it was and no temp file behind.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileAtomic, writeFileAtomic, writeJsonAtomic } from '../src/fs/atomic-write.js';

const dir = mkdtempSync(join(tmpdir(), 'bw-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic and copyFileAtomic', () => {
  it('replace the file whole, with the mode asked for, leaving nothing else in the folder', () => {
    const folder = join(dir, 'ok');
    mkdirSync(folder);
    const file = join(folder, 'config.json');
    writeFileSync(file, 'old');
    writeFileAtomic(file, 'new text\n', { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('new text\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeJsonAtomic(join(folder, 'card.json'), { a: [1] });
    expect(readFileSync(join(folder, 'card.json'), 'utf8')).toBe('{\n "a": [\n  1\n ]\n}\n');
    copyFileAtomic(file, join(folder, 'copy.json'));
    expect(readFileSync(join(folder, 'copy.json'), 'utf8')).toBe('new text\n');
    expect(readdirSync(folder).sort()).toEqual(['card.json', 'config.json', 'copy.json']);
  });

  it('a failed write leaves the target as it was and removes its temp file', () => {
    const folder = join(dir, 'fail');
    mkdirSync(join(folder, 'target'), { recursive: true });
    writeFileSync(join(folder, 'target', 'inside'), 'kept');
    // Renaming a file over a non-empty folder fails after the temp file was written and fsynced.
    expect(() => writeFileAtomic(join(folder, 'target'), 'x')).toThrow();
    expect(() => copyFileAtomic(join(folder, 'no-such-file'), join(folder, 'copy'))).toThrow(/ENOENT/);
    expect(readdirSync(folder)).toEqual(['target']);
    expect(readFileSync(join(folder, 'target', 'inside'), 'utf8')).toBe('kept');
  });
});
