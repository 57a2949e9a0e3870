// birdwatch setup into a scratch root, as root: every file and folder it makes checked one by one (mode, owner,
// content), a second run that changes nothing, and the installed command run as an unprivileged member of the
// service group: reading the log and reviewing work, acting is refused with a clear message. Root is needed to
// create accounts and switch users: without it the test is skipped, saying why, except under CI=true, where it fails.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import { withEditedMetadata } from './fixtures/onnx.js';
import { CLI, listTree, NOBODY_REPO, REPO, runCli } from './helpers/daemon.js';

const IS_ROOT = process.getuid?.() === 0;
const tag = String(process.pid % 100000);
const SERVICE = `bwsvc${tag}`;
const MEMBER = `bwmem${tag}`;

/** Whether an unprivileged user can read this checkout's built CLI (a checkout in a 0700 folder cannot be run). */
function memberCanRunCli(cli: string): boolean {
  const probe = spawnSync('setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    process.execPath,
    '-e',
    `require('node:fs').accessSync(${JSON.stringify(cli)}, 4)`,
  ]);
  return probe.status === 0;
}
// The checkout setup installs from: this one, or where it sits in a folder others cannot enter (a 0700 mktemp
// clone), the global setup's read-only copy that an unprivileged user can read (test/helpers/global-setup.ts).
const SOURCE = memberCanRunCli(CLI) ? REPO : NOBODY_REPO;
const why = !IS_ROOT
  ? 'not root: setup creates accounts and the member test switches users'
  : SOURCE === undefined
    ? `an unprivileged user cannot read ${CLI}, and the tests' global setup gave no readable copy`
    : null;

describe('setup needs root', () => {
  it(why === null ? 'runs here' : `is skipped here: ${why}`, () => {
    // Under CI the machine is set up for it: a skip there would hide a broken setup.
    if (process.env.CI === 'true') expect(why).toBeNull();
  });
});

let root: string;
// Large files compared by digest: a byte-wise toEqual on megabytes takes minutes.
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const sh = (command: string, args: string[]) => {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  expect(result.status, `${command} ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout.trim();
};
const idOf = (database: 'passwd' | 'group', name: string): number =>
  Number(sh('getent', [database, name]).split(':')[2]);
// Root either way; `user` makes runCli take the CLI from the readable copy (helpers/daemon.ts cliFor).
const fromCopy = SOURCE === REPO ? {} : { user: { uid: 0, gid: 0 } };
const setup = (...args: string[]) => runCli(['setup', '--root', root, '--user', SERVICE, ...args], fromCopy);

interface Entry {
  path: string;
  type: string;
  mode: string;
  owner: string;
  sha: string;
}
function snapshot(): Entry[] {
  const users = new Map([
    [0, 'root'],
    [idOf('passwd', SERVICE), 'service'],
  ]);
  const groups = new Map([
    [0, 'root'],
    [idOf('group', SERVICE), 'service'],
  ]);
  const walk = spawnSync('find', [root, '-mindepth', '1'], { encoding: 'utf8' }).stdout.trim().split('\n').sort();
  return walk.map((file) => {
    const stat = lstatSync(file);
    const type = stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'dir' : 'file';
    const sha =
      type === 'file'
        ? createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16)
        : type === 'link'
          ? readlinkSync(file)
          : '';
    return {
      path: file.slice(root.length),
      type,
      mode: (stat.mode & 0o7777).toString(8),
      owner: `${users.get(stat.uid) ?? stat.uid}:${groups.get(stat.gid) ?? stat.gid}`,
      sha,
    };
  });
}

describe.skipIf(why !== null)('birdwatch setup into a scratch root', () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'bw-setup-'));
    chmodSync(root, 0o755); // the member must reach the scratch /var/lib and /etc
  });
  afterAll(() => {
    spawnSync('userdel', [MEMBER]);
    spawnSync('userdel', [SERVICE]);
    spawnSync('groupdel', [SERVICE]);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const plan = await setup('--dry-run', '--watch', '/srv/blog/uploads', '--airplanes', '/srv/birdwatch/airplanes');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/^to do {3}group bwsvc\d+$/m);
    expect(plan.stdout).toContain(`to do   config ${root}/etc/birdwatch/config.json`);
    expect(plan.stdout).toMatch(/setup --dry-run: 21 steps to do; nothing was changed\n$/);
    expect(listTree(root)).toEqual([]);
    expect(spawnSync('getent', ['group', SERVICE]).status).toBe(2);
  });

  it('a new config needs the camera folders: without them and a terminal, a usage error', async () => {
    const result = await setup();
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^birdwatch: a new config needs the camera folders: --watch DIR .* --airplanes DIR/);
  });

  it('makes every file and folder as documented, and says what it did', async () => {
    const result = await setup('--watch', '/srv/blog/uploads', '--airplanes', '/srv/birdwatch/airplanes');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/^done {4}/gm)).toHaveLength(21);
    expect(result.stdout).toContain('setup: 21 steps done');

    const node = process.execPath;
    const tree = snapshot();
    const shape = tree.map((e) => `${e.type} ${e.mode} ${e.owner} ${e.path}`);
    expect(shape).toEqual([
      'dir 755 root:root /etc',
      'dir 750 root:service /etc/birdwatch',
      'file 640 root:service /etc/birdwatch/config.json',
      'dir 755 root:root /etc/systemd',
      'dir 755 root:root /etc/systemd/system',
      'file 644 root:root /etc/systemd/system/birdwatch-retrain.service',
      'file 644 root:root /etc/systemd/system/birdwatch-retrain.timer',
      'file 644 root:root /etc/systemd/system/birdwatch-web.service',
      'file 644 root:root /etc/systemd/system/birdwatch.service',
      'dir 755 root:root /etc/systemd/system/multi-user.target.wants',
      'link 777 root:root /etc/systemd/system/multi-user.target.wants/birdwatch-web.service',
      'link 777 root:root /etc/systemd/system/multi-user.target.wants/birdwatch.service',
      'dir 755 root:root /etc/systemd/system/timers.target.wants',
      'link 777 root:root /etc/systemd/system/timers.target.wants/birdwatch-retrain.timer',
      'dir 755 root:root /srv',
      'dir 755 root:root /srv/birdwatch',
      'dir 755 service:service /srv/birdwatch/airplanes',
      'dir 755 root:root /srv/blog',
      'dir 755 service:service /srv/blog/uploads',
      'dir 755 root:root /usr',
      'dir 755 root:root /usr/local',
      'dir 755 root:root /usr/local/bin',
      'file 755 root:root /usr/local/bin/birdwatch',
      'dir 755 root:root /var',
      'dir 755 root:root /var/lib',
      'dir 2770 service:service /var/lib/birdwatch',
      'file 660 service:service /var/lib/birdwatch/birdwatch.db',
      'dir 755 service:service /var/lib/birdwatch/candidates',
      'dir 755 service:service /var/lib/birdwatch/models',
      'file 644 service:service /var/lib/birdwatch/models/birds-vs-airplanes.json',
      'file 644 service:service /var/lib/birdwatch/models/birds-vs-airplanes.onnx',
      'dir 750 service:service /var/lib/birdwatch/thumbnails',
    ]);
    const at = (p: string) => readFileSync(join(root, p), 'utf8');
    expect(sha(join(root, '/var/lib/birdwatch/models/birds-vs-airplanes.onnx'))).toBe(
      sha(join(REPO, 'models', 'birds-vs-airplanes.onnx')),
    );
    const config = JSON.parse(at('/etc/birdwatch/config.json'));
    expect(config).toMatchObject({
      cameras: [{ name: 'uploads', watch: `${root}/srv/blog/uploads`, airplanes: `${root}/srv/birdwatch/airplanes` }],
      db: `${root}/var/lib/birdwatch/birdwatch.db`,
      model: `${root}/var/lib/birdwatch/models/birds-vs-airplanes.onnx`,
      retrain: { candidates: `${root}/var/lib/birdwatch/candidates` },
    });
    expect(at('/usr/local/bin/birdwatch')).toBe(
      '#!/bin/sh\n' +
        `# birdwatch: the command line of the checkout ${SOURCE}, installed by 'birdwatch setup'.\n` +
        '# It runs the built dist/cli.js directly (no build, no npm); after a git pull: npm ci && npm run build there.\n' +
        `: "\${BIRDWATCH_CONFIG:=${root}/etc/birdwatch/config.json}"\nexport BIRDWATCH_CONFIG\n` +
        `exec ${node} ${SOURCE}/dist/cli.js "$@"\n`,
    );
    for (const unit of ['birdwatch.service', 'birdwatch-web.service']) {
      const text = at(`/etc/systemd/system/${unit}`);
      expect(text).toMatch(
        new RegExp(
          `^ExecStart=${node} ${SOURCE}/dist/cli.js (run|web) --config ${root}/etc/birdwatch/config.json$`,
          'm',
        ),
      );
      expect(text).toMatch(new RegExp(`^User=${SERVICE}$`, 'm'));
      expect(text).toMatch(/^UMask=0007$/m);
      expect(text).toMatch(/^StateDirectoryMode=2770$/m);
      expect(text).toContain(`\nReadWritePaths=${root}/srv/blog/uploads ${root}/srv/birdwatch/airplanes\n`);
    }
    expect(at('/etc/systemd/system/birdwatch-retrain.service')).not.toMatch(/^ReadWritePaths=/m);
    expect(at('/etc/systemd/system/birdwatch-retrain.timer')).toBe(
      readFileSync(join(REPO, 'config', 'birdwatch-retrain.timer'), 'utf8').replace('/opt/birdwatch', SOURCE!),
    );
    expect(tree.filter((e) => e.type === 'link').map((e) => e.sha)).toEqual([
      '/etc/systemd/system/birdwatch-web.service',
      '/etc/systemd/system/birdwatch.service',
      '/etc/systemd/system/birdwatch-retrain.timer',
    ]);
    // The database has the daemon's schema.
    const schema = await runCli(['db', 'check', '--config', join(root, '/etc/birdwatch/config.json')]);
    expect(schema.code, schema.stderr).toBe(0);
  });

  it('run again, changes nothing (same files, modes, owners, contents) and says so', async () => {
    const before = snapshot();
    const again = await setup();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/^done/m);
    expect(again.stdout.match(/^ok {6}/gm)).toHaveLength(21);
    expect(again.stdout).toContain('setup: everything was already so; nothing changed');
    expect(snapshot()).toEqual(before);
  });

  it('the installed command, as a member of the group: reads the log and reviews; acting is refused clearly', async () => {
    sh('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--groups', SERVICE, MEMBER]);
    const dbFile = join(root, '/var/lib/birdwatch/birdwatch.db');
    const db = openDatabase(dbFile);
    db.prepare(
      `INSERT INTO decisions (time, time_ms, camera, path, final_path, action, label, p_airplane, p_bird)
      VALUES (?, ?, 'uploads', ?, ?, 'kept', 'bird', 0.1, 0.9)`,
    ).run(
      new Date().toISOString(),
      Date.now(),
      `${root}/srv/blog/uploads/robin.jpg`,
      `${root}/srv/blog/uploads/robin.jpg`,
    );
    db.close();
    const candidate = join(root, 'candidate.onnx');
    writeFileSync(
      candidate,
      withEditedMetadata(readFileSync(join(REPO, 'models', 'birds-vs-airplanes.onnx')), (props) => {
        props.created_at = '2026-12-02T00:00:00Z';
      }),
    );
    chmodSync(candidate, 0o644);
    const asMember = (...args: string[]) =>
      spawnSync(
        'setpriv',
        ['--reuid', MEMBER, '--regid', MEMBER, '--init-groups', join(root, '/usr/local/bin/birdwatch'), ...args],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
      );

    const log = asMember('log', '--json');
    expect(log.status, log.stderr).toBe(0);
    expect(JSON.parse(log.stdout.trim()).camera).toBe('uploads');
    const sample = asMember('review-sample', '1', '--json');
    expect(sample.status, sample.stderr).toBe(0);
    const drawn = JSON.parse(sample.stdout.trim()) as { id: number; command: string };
    expect(drawn.command).toBe(
      `birdwatch review ${drawn.id} --label bird|airplane|neither --config ` + `${root}/etc/birdwatch/config.json`,
    );
    const review = asMember('review', String(drawn.id), '--label', 'bird');
    expect(review.status, review.stderr).toBe(0);
    expect(review.stdout).toContain(`decision ${drawn.id}: sample label bird recorded`);

    const model = join(root, '/var/lib/birdwatch/models/birds-vs-airplanes.onnx');
    const modelBefore = sha(model);
    const promote = asMember('promote', candidate, '--force');
    expect(promote.status).toBe(1);
    expect(promote.stderr).toBe(
      `birdwatch: cannot write the model folder ${root}/var/lib/birdwatch/models: ` +
        `permission denied; nothing was changed (config ${root}/etc/birdwatch/config.json, database ${dbFile}); ` +
        "members of group birdwatch may read and review, other commands need the group's write right or the " +
        'service user: sudo -u birdwatch birdwatch ...\n',
    );
    expect(sha(model)).toBe(modelBefore);
    // The files the member's review left behind stay the service's to use.
    for (const entry of snapshot().filter((e) => e.path.startsWith('/var/lib/birdwatch/birdwatch.db'))) {
      expect(entry.owner.endsWith(':service'), entry.path).toBe(true);
    }
  });
});
