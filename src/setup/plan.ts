// `birdwatch setup`, the plan: every step that makes a server run birdwatch from this checkout (the service account,
// /etc/birdwatch/config.json from the example, /var/lib/birdwatch with the factory model, the systemd units, the
// `birdwatch` command on PATH), each able to say whether it is already so. Running the plan twice changes nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fromProjectRoot, PROJECT_ROOT } from '../config/index.js';
import { FACTORY_MODEL, SYSTEM_CONFIG } from '../config/locate.js';
import { openDatabase } from '../db/index.js';

export interface SetupOptions {
  /** Everything is written under this folder, and the paths written into the config and units point there
   *  (a scratch root for tests and trials; '/' on a server). */
  root: string;
  /** The service account (user and group of the same name). */
  user: string;
  /** The camera's upload folder and where its airplane shots go: only needed when the config is written. */
  watch?: string;
  airplanes?: string;
  camera: string;
  /** The node binary the units and the command run. */
  node: string;
}

export interface Step {
  /** What the step makes so, e.g. "folder /var/lib/birdwatch (0770 birdwatch:birdwatch)". */
  what: string;
  isDone(): boolean;
  apply(): void;
}

export const UNITS = [
  'birdwatch.service',
  'birdwatch-web.service',
  'birdwatch-retrain.service',
  'birdwatch-retrain.timer',
] as const;
/** The units started at boot, and the target that wants each. */
const ENABLED: Array<[string, string]> = [
  ['birdwatch.service', 'multi-user.target'],
  ['birdwatch-web.service', 'multi-user.target'],
  ['birdwatch-retrain.timer', 'timers.target'],
];

/** The server's paths, under the root. */
export function layout(root: string) {
  const at = (p: string): string => path.join(root, p);
  const state = at('/var/lib/birdwatch');
  return {
    configDir: at(path.dirname(SYSTEM_CONFIG)),
    config: at(SYSTEM_CONFIG),
    state,
    db: path.join(state, 'birdwatch.db'),
    models: path.join(state, 'models'),
    model: path.join(state, 'models', path.basename(FACTORY_MODEL)),
    candidates: path.join(state, 'candidates'),
    thumbnails: path.join(state, 'thumbnails'),
    command: at('/usr/local/bin/birdwatch'),
    units: at('/etc/systemd/system'),
  };
}

export function buildPlan(options: SetupOptions): Step[] {
  const where = layout(options.root);
  const ids = (): { uid: number; gid: number } => accountIds(options.user);
  const owner = `${options.user}:${options.user}`;
  const steps: Step[] = [
    {
      what: `group ${options.user}`,
      isDone: () => lookup('group', options.user) !== null,
      apply: () => run('groupadd', ['--system', options.user]),
    },
    {
      what: `user ${options.user} (system account, no login, home ${where.state})`,
      isDone: () => lookup('passwd', options.user) !== null,
      apply: () =>
        run('useradd', [
          '--system',
          '--gid',
          options.user,
          '--no-create-home',
          '--home-dir',
          where.state,
          '--shell',
          '/usr/sbin/nologin',
          options.user,
        ]),
    },
    folder(where.configDir, 0o750, () => ({ uid: 0, gid: ids().gid }), `root:${options.user}`),
    // setgid: the -wal/-shm files a member's review creates get the group, so the daemon can share them.
    folder(where.state, 0o2770, ids, owner),
    folder(where.models, 0o755, ids, owner),
    folder(where.candidates, 0o755, ids, owner),
    folder(where.thumbnails, 0o750, ids, owner),
    copyOnce(FACTORY_MODEL, where.model, ids, 'the factory model'),
    copyOnce(FACTORY_MODEL.replace(/\.onnx$/, '.json'), where.model.replace(/\.onnx$/, '.json'), ids, 'its card'),
    configStep(options, where),
  ];
  // A camera folder there is the club's and left as it is; a new one is the service's (the blog reads uploads).
  for (const camera of cameraFolders(options, where)) steps.push(folder(camera, 0o755, ids, owner, true));
  steps.push(databaseStep(where.db, ids, options.user));
  steps.push(
    fileStep(
      where.command,
      0o755,
      () => commandScript(options, where),
      'the birdwatch command (runs the built dist/cli.js: no build, no npm)',
    ),
  );
  for (const unit of UNITS) {
    steps.push(fileStep(path.join(where.units, unit), 0o644, () => unitText(unit, options, where), 'systemd unit'));
  }
  for (const [unit, target] of ENABLED) steps.push(enableStep(where.units, unit, target));
  return steps;
}

// ---- steps ----

function folder(
  dir: string,
  mode: number,
  owner: () => { uid: number; gid: number },
  ownerName: string,
  keepOwner = false,
): Step {
  return {
    what: `folder ${dir} (${keepOwner ? 'when missing: ' : ''}${octal(mode)} ${ownerName})`,
    isDone: () => {
      const stat = statOf(dir);
      if (stat === null || !stat.isDirectory()) return false;
      if (keepOwner) return true; // a camera folder that exists is the club's: left as it is
      const want = owner();
      return (stat.mode & 0o7777) === mode && stat.uid === want.uid && stat.gid === want.gid;
    },
    apply: () => {
      fs.mkdirSync(dir, { recursive: true });
      const want = owner();
      fs.chownSync(dir, want.uid, want.gid);
      fs.chmodSync(dir, mode);
    },
  };
}

function copyOnce(from: string, to: string, owner: () => { uid: number; gid: number }, what: string): Step {
  return {
    what: `${what} ${to} (copied from ${from} once; promote and rollback replace it later)`,
    isDone: () => fs.existsSync(to),
    apply: () => {
      const temp = `${to}.setup-${process.pid}.tmp`;
      fs.copyFileSync(from, temp);
      fs.chmodSync(temp, 0o644);
      const want = owner();
      fs.chownSync(temp, want.uid, want.gid);
      fs.renameSync(temp, to);
    },
  };
}

function fileStep(file: string, mode: number, text: () => string, what: string): Step {
  return {
    what: `${what} ${file}`,
    isDone: () => {
      const stat = statOf(file);
      return stat !== null && (stat.mode & 0o7777) === mode && fs.readFileSync(file, 'utf8') === text();
    },
    apply: () => writeFile(file, text(), mode, 0, 0),
  };
}

function configStep(options: SetupOptions, where: ReturnType<typeof layout>): Step {
  return {
    what: `config ${where.config} (from config/birdwatch.example.json; kept as it is when there)`,
    isDone: () => fs.existsSync(where.config),
    apply: () => writeFile(where.config, configText(options, where), 0o640, 0, accountIds(options.user).gid),
  };
}

function databaseStep(db: string, owner: () => { uid: number; gid: number }, user: string): Step {
  return {
    what: `decision log ${db} (0660 ${user}:${user}: the group reads the log and records reviews)`,
    isDone: () => {
      const stat = statOf(db);
      const want = owner();
      return stat !== null && (stat.mode & 0o777) === 0o660 && stat.uid === want.uid && stat.gid === want.gid;
    },
    apply: () => {
      openDatabase(db).close(); // creates it with the daemon's schema (migrations), or opens the one there
      const want = owner();
      for (const file of [db, `${db}-wal`, `${db}-shm`]) {
        if (!fs.existsSync(file)) continue;
        fs.chownSync(file, want.uid, want.gid);
        fs.chmodSync(file, 0o660);
      }
    },
  };
}

function enableStep(unitsDir: string, unit: string, target: string): Step {
  const link = path.join(unitsDir, `${target}.wants`, unit);
  return {
    what: `enable ${unit} (${link})`,
    isDone: () => {
      try {
        return fs.readlinkSync(link) === path.join('/etc/systemd/system', unit);
      } catch {
        return false;
      }
    },
    apply: () => {
      // What `systemctl enable` does for [Install] WantedBy=, done here so that a scratch root needs no systemd.
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.rmSync(link, { force: true });
      fs.symlinkSync(path.join('/etc/systemd/system', unit), link);
    },
  };
}

// ---- the files' contents ----

/** The camera folders of the config there, else of the flags (under the root); none when neither is known. */
function cameraFolders(options: SetupOptions, where: ReturnType<typeof layout>): string[] {
  if (fs.existsSync(where.config)) {
    try {
      const raw = JSON.parse(fs.readFileSync(where.config, 'utf8')) as {
        cameras?: Array<{ watch: string; airplanes: string }>;
        watch?: string;
        airplanes?: string;
      };
      const cameras =
        raw.cameras ?? (raw.watch && raw.airplanes ? [{ watch: raw.watch, airplanes: raw.airplanes }] : []);
      return cameras.flatMap((c) => [c.watch, c.airplanes]).filter((f) => typeof f === 'string');
    } catch {
      return [];
    }
  }
  return [options.watch, options.airplanes]
    .filter((f): f is string => f !== undefined)
    .map((f) => path.join(options.root, f));
}

function configText(options: SetupOptions, where: ReturnType<typeof layout>): string {
  if (options.watch === undefined || options.airplanes === undefined) {
    throw new Error('the camera folders are needed to write the config'); // the command asks for them first
  }
  const example = fs.readFileSync(fromProjectRoot('config', 'birdwatch.example.json'), 'utf8');
  const camera = JSON.stringify({
    name: options.camera,
    watch: path.join(options.root, options.watch),
    airplanes: path.join(options.root, options.airplanes),
  });
  const text = example
    .replace(/"cameras": \[[\s\S]*?\n {2}\],/, `"cameras": [\n    ${camera}\n  ],`)
    .replaceAll('"/var/lib/birdwatch/', `"${where.state}/`);
  JSON.parse(text); // the example's layout changed beyond what this knows: fail before writing
  return text;
}

function commandScript(options: SetupOptions, where: ReturnType<typeof layout>): string {
  const scratch = options.root === '/' ? '' : `: "\${BIRDWATCH_CONFIG:=${where.config}}"\nexport BIRDWATCH_CONFIG\n`;
  return (
    `#!/bin/sh\n# birdwatch: the command line of the checkout ${PROJECT_ROOT}, installed by 'birdwatch setup'.\n` +
    '# It runs the built dist/cli.js directly (no build, no npm); after a git pull: npm ci && npm run build there.\n' +
    `${scratch}exec ${options.node} ${path.join(PROJECT_ROOT, 'dist', 'cli.js')} "$@"\n`
  );
}

function unitText(unit: string, options: SetupOptions, where: ReturnType<typeof layout>): string {
  const folders = cameraFolders(options, where);
  let text = fs
    .readFileSync(fromProjectRoot('config', unit), 'utf8')
    .replaceAll('/usr/bin/node /opt/birdwatch/', `${options.node} ${PROJECT_ROOT}/`)
    .replaceAll('file:///opt/birdwatch/', `file://${PROJECT_ROOT}/`)
    .replaceAll(`--config ${SYSTEM_CONFIG}`, `--config ${where.config}`)
    .replace(/^User=birdwatch$/m, `User=${options.user}`)
    .replace(/^Group=birdwatch$/m, `Group=${options.user}`)
    // The group reads the log and records reviews: the database and its -wal/-shm files are group-writable.
    .replace(/^UMask=0027$/m, 'UMask=0007')
    .replace(/^StateDirectoryMode=0750$/m, 'StateDirectoryMode=2770');
  if (folders.length > 0) text = text.replace(/^ReadWritePaths=\/srv\/.*$/m, `ReadWritePaths=${folders.join(' ')}`);
  return text;
}

// ---- the system ----

function lookup(database: 'passwd' | 'group', name: string): string[] | null {
  const result = spawnSync('getent', [database, name], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split(':') : null;
}

/** The service account's uid and gid (after the account steps; 0 before, for a dry run). */
export function accountIds(user: string): { uid: number; gid: number } {
  const entry = lookup('passwd', user);
  const group = lookup('group', user);
  return { uid: entry ? Number(entry[2]) : -1, gid: group ? Number(group[2]) : -1 };
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.error?.message ?? result.stderr.trim()}`);
  }
}

function writeFile(file: string, text: string, mode: number, uid: number, gid: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.setup-${process.pid}.tmp`);
  fs.writeFileSync(temp, text, { mode });
  fs.chmodSync(temp, mode);
  fs.chownSync(temp, uid, gid);
  fs.renameSync(temp, file);
}

function statOf(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

const octal = (mode: number): string => `0${mode.toString(8)}`;
