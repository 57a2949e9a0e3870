// Where a test can make a database unwritable while it is open: chattr +i on ext4 stops even root's writes through
// descriptors opened before the flag was set (like a disk remounted read-only); tmpfs (Debian 13's /tmp) does not.
// The global setup (helpers/global-setup.ts) finds or mounts such a folder once per run.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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
    try {
      execFileSync('chattr', ['-i', probe], { stdio: 'pipe' });
    } catch {
      /* never set */
    }
    rmSync(probe, { force: true });
  }
}

/** A base folder on a filesystem that honours chattr +i (from the global setup). */
export const IMMUTABLE_BASE: string | undefined = process.env.BW_TEST_IMMUTABLE_BASE;

/** Why there is no such folder (a precondition for helpers/preconditions.ts needs()), or null. */
export const IMMUTABLE_MISSING: string | null = IMMUTABLE_BASE
  ? null
  : (process.env.BW_TEST_IMMUTABLE_MISSING ??
    'a folder where chattr +i works (test/helpers/global-setup.ts did not run)');
