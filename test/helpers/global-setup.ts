// Once per vitest run, as root: gives the tests the two things a checkout alone may not.
// 1. A copy of the checkout the unprivileged user `nobody` can run the daemon from. A clone under a 0700 folder
//    (what `mktemp -d` makes) is out of nobody's reach, so the checkout is bind-mounted read-only into a 0755 folder
//    under /tmp (or, where mounting is refused, dist/, package.json, config/ and models/ are copied there beside a
//    link to node_modules).
// 2. A folder where chattr +i stops writes through open descriptors: the temporary folder's or the checkout's own
//    filesystem when it can (ext4), else a small ext4 image loop-mounted under /tmp.
// The workers learn the paths (or why they are missing) from BW_TEST_* environment variables; see helpers/daemon.ts,
// helpers/immutable.ts and helpers/preconditions.ts. Everything is unmounted and removed at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { immutableStopsOpenWrites } from './immutable.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const NOBODY = { uid: 65534, gid: 65534 };
const undo: Array<() => void> = [];

/** Why `nobody` cannot run the CLI from `repo` (reads dist/cli.js and loads the native modules), or null. */
function nobodyCannotRun(repo: string): string | null {
  const probe = "require('node:fs').accessSync('dist/cli.js', 4); require('better-sqlite3'); require('sharp');";
  const run = spawnSync(process.execPath, ['-e', probe], { cwd: repo, ...NOBODY, encoding: 'utf8' });
  if (run.status === 0) return null;
  return `nobody cannot run ${repo}/dist/cli.js: ${(run.error?.message ?? run.stderr).trim().split('\n')[0]}`;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe' });
}

/** A folder with the checkout (or what the daemon needs of it) that nobody can read; sets the env either way. */
function stageForNobody(): void {
  if (process.getuid?.() !== 0) {
    process.env.BW_TEST_NOBODY_MISSING = `root, to run the daemon as nobody (uid ${process.getuid?.()})`;
    return;
  }
  if (!existsSync(join(REPO, 'dist', 'cli.js'))) {
    process.env.BW_TEST_NOBODY_MISSING = `${REPO}/dist/cli.js (run npm run build first)`;
    return;
  }
  if (!nobodyCannotRun(REPO)) {
    process.env.BW_TEST_NOBODY_REPO = REPO;
    return;
  }
  const stage = mkdtempSync(join(tmpdir(), 'bw-nobody-'));
  chmodSync(stage, 0o755);
  const copy = join(stage, 'birdwatch');
  mkdirSync(copy);
  const tried: string[] = [];
  try {
    run('mount', ['--bind', REPO, copy]);
    // Read-only, so that nothing removing files under /tmp can reach the checkout through the mount.
    run('mount', ['-o', 'remount,bind,ro', copy]);
    undo.push(() => {
      run('umount', [copy]);
      rmdirSync(copy);
      rmdirSync(stage);
    });
  } catch (err) {
    try {
      run('umount', [copy]);
    } catch {
      /* not mounted */
    }
    tried.push(`bind mount refused (${String(err).split('\n')[0]})`);
    for (const part of ['dist', 'package.json', 'config', 'models']) {
      cpSync(join(REPO, part), join(copy, part), { recursive: true });
    }
    symlinkSync(realpathSync(join(REPO, 'node_modules')), join(copy, 'node_modules'));
    undo.push(() => rmSync(stage, { recursive: true, force: true }));
  }
  let still = nobodyCannotRun(copy);
  if (still && tried.length === 0) {
    // The checkout's own folder is closed to others (a clone made straight into `mktemp -d`): the bind mount keeps
    // its mode. Mount what the daemon needs, one part at a time, under a folder of our own instead.
    tried.push(`the checkout's own folder is closed to others (${still})`);
    run('umount', [copy]);
    undo.pop();
    chmodSync(copy, 0o755);
    const parts = ['dist', 'node_modules', 'config', 'models', 'test', 'package.json'];
    for (const part of parts) {
      const target = join(copy, part);
      if (part === 'package.json') writeFileSync(target, '');
      else mkdirSync(target);
      run('mount', ['--bind', join(REPO, part), target]);
      run('mount', ['-o', 'remount,bind,ro', target]);
    }
    undo.push(() => {
      for (const part of parts) run('umount', [join(copy, part)]);
      rmSync(stage, { recursive: true, force: true });
    });
    still = nobodyCannotRun(copy);
  }
  if (still) process.env.BW_TEST_NOBODY_MISSING = [...tried, still].join('; ');
  else process.env.BW_TEST_NOBODY_REPO = copy;
}

/** A folder whose filesystem honours chattr +i; sets the env either way. */
function immutableFolder(): void {
  const why: string[] = [];
  const probeIn = (base: string): boolean => {
    const dir = mkdtempSync(join(base, 'bw-immutable-probe-'));
    try {
      const unsupported = immutableStopsOpenWrites(dir);
      if (unsupported) why.push(unsupported);
      return !unsupported;
    } catch (err) {
      why.push(`${base}: ${String(err).split('\n')[0]}`);
      return false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  if (process.getuid?.() !== 0) {
    process.env.BW_TEST_IMMUTABLE_MISSING = `root, to set chattr +i (uid ${process.getuid?.()})`;
    return;
  }
  const besideCheckout = join(REPO, 'var');
  mkdirSync(besideCheckout, { recursive: true });
  for (const base of [tmpdir(), besideCheckout]) {
    if (probeIn(base)) {
      process.env.BW_TEST_IMMUTABLE_BASE = base;
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'bw-ext4-'));
  const image = join(dir, 'ext4.img');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    run('truncate', ['-s', '64M', image]);
    run('mkfs.ext4', ['-q', '-F', image]);
    run('mount', ['-o', 'loop', image, mnt]);
    undo.push(() => {
      run('umount', [mnt]);
      rmSync(dir, { recursive: true, force: true });
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    why.push(`a loop-mounted ext4 image failed: ${String(err).split('\n')[0]}`);
    process.env.BW_TEST_IMMUTABLE_MISSING = why.join('; ');
    return;
  }
  if (probeIn(mnt)) process.env.BW_TEST_IMMUTABLE_BASE = mnt;
  else process.env.BW_TEST_IMMUTABLE_MISSING = why.join('; ');
}

export default function setup(): () => void {
  stageForNobody();
  immutableFolder();
  return () => {
    for (const step of undo.splice(0).reverse()) {
      try {
        step();
      } catch (err) {
        console.warn(`[global-setup] teardown: ${String(err)}`);
      }
    }
  };
}
