// Where a test can make a database unwritable while it is open: chattr +i on ext4 stops even root's writes through
// descriptors opened before the flag was set (like a disk remounted read-only); tmpfs (Debian 13's /tmp) does not.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './daemon.js';

/** Why `dir`'s filesystem cannot hold the fault, or null when it can. chattr comes with e2fsprogs (.ci/run). */
export function immutableStopsOpenWrites(dir: string): string | null {
  const probe = join(dir, 'immutable-probe');
  writeFileSync(probe, 'x');
  const fd = openSync(probe, 'r+');
  try {
    try {
      execFileSync('chattr', ['+i', probe], { stdio: 'pipe' });
    } catch (err) {
      const said = String((err as { stderr?: Buffer }).stderr ?? '');
      if (/not supported|Inappropriate ioctl/i.test(said)) return `${dir}: no immutable flag (${said.trim()})`;
      throw err;
    }
    try {
      writeSync(fd, 'y', 0);
      return `${dir}: the immutable flag does not stop writes through a descriptor already open`;
    } catch {
      return null;
    }
  } finally {
    closeSync(fd);
    try { execFileSync('chattr', ['-i', probe], { stdio: 'pipe' }); } catch { /* never set */ }
    rmSync(probe, { force: true });
  }
}

/** A base folder that can hold the fault: the temporary folder's, else beside the checkout (var/, git-ignored). */
export function immutableCapableBase(): { base: string } | { skip: string } {
  const why: string[] = [];
  for (const base of [tmpdir(), join(REPO, 'var')]) {
    mkdirSync(base, { recursive: true });
    const probeDir = mkdtempSync(join(base, 'bw-immutable-probe-'));
    try {
      const unsupported = immutableStopsOpenWrites(probeDir);
      if (!unsupported) return { base };
      why.push(unsupported);
    } finally {
      rmSync(probeDir, { recursive: true, force: true });
    }
  }
  return { skip: why.join('; ') };
}
