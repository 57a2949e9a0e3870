// `birdwatch setup`: sets a server up to run birdwatch from this checkout (src/setup/plan.ts has the steps), asking
// for the camera folders when it writes a new config and none are given; --dry-run prints the plan. Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { spawnSync } from 'node:child_process';
import { CommandFailure, parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { buildPlan, layout, UNITS, type SetupOptions } from '../setup/plan.js';

const usage = `usage: sudo node dist/cli.js setup [--watch DIR --airplanes DIR] [--camera NAME] [--dry-run]
                                  [--user NAME] [--root DIR]
  Sets this server up to run birdwatch from this checkout, and says what it did:
  - the service account NAME (default birdwatch; user and group),
  - /etc/birdwatch/config.json from config/birdwatch.example.json, with one camera: --watch (its upload folder)
    and --airplanes (where its airplane shots go), asked when not given; an existing config is kept as it is,
  - /var/lib/birdwatch: the decision log (the group reads it and records reviews), models/ (the factory model
    copied once; promote and rollback replace it there), candidates/, thumbnails/,
  - the systemd units (daemon, web page, weekly retrain timer) with this checkout's paths and the camera folders,
    enabled (and started where systemd runs),
  - /usr/local/bin/birdwatch, which runs the built dist/cli.js directly (build first: npm ci && npm run build).
  Running it again changes nothing that is already so. --dry-run prints each step and whether it is done.
  --root DIR writes everything under DIR, and the config, units and command point there (a scratch root for
  tests and trials; the accounts are still the system's: pick --user for a trial).`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      watch: { type: 'string' },
      airplanes: { type: 'string' },
      camera: { type: 'string' },
      user: { type: 'string' },
      root: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    const root = path.resolve(values.root ?? '/');
    const user = values.user ?? 'birdwatch';
    if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(user))
      throw new UsageError(`--user must be a plain account name, got '${user}'`);
    for (const flag of ['watch', 'airplanes'] as const) {
      const value = values[flag];
      if (value !== undefined && !path.isAbsolute(value)) throw new UsageError(`--${flag} must be an absolute folder`);
    }
    const dryRun = values['dry-run'] === true;
    if (!dryRun && process.getuid?.() !== 0) {
      throw new CommandFailure(
        'setup creates an account and writes /etc and /var/lib: run it as root ' +
          '(sudo node dist/cli.js setup ...), or --dry-run to see the plan',
      );
    }
    if (!fs.existsSync(path.join(path.dirname(import.meta.dirname), 'cli.js'))) {
      throw new CommandFailure('the checkout is not built: npm ci && npm run build first');
    }
    const where = layout(root);
    const options: SetupOptions = {
      root,
      user,
      camera: values.camera ?? 'blog',
      node: process.execPath,
      ...(values.watch === undefined ? {} : { watch: values.watch }),
      ...(values.airplanes === undefined ? {} : { airplanes: values.airplanes }),
    };
    if (!fs.existsSync(where.config) && (options.watch === undefined || options.airplanes === undefined)) {
      if (dryRun) {
        options.watch ??= '/srv/blog/uploads (--watch)';
        options.airplanes ??= '/srv/birdwatch/airplanes (--airplanes)';
      } else {
        await askFolders(options);
      }
    }
    if (values.camera === undefined && options.watch !== undefined) options.camera = path.basename(options.watch);

    let changed = 0;
    for (const step of buildPlan(options)) {
      if (step.isDone()) {
        console.log(`ok      ${step.what}`);
        continue;
      }
      if (dryRun) {
        console.log(`to do   ${step.what}`);
        changed++;
        continue;
      }
      try {
        step.apply();
      } catch (err) {
        throw new CommandFailure(
          `setup stopped at: ${step.what}: ${(err as Error).message} ` +
            '(the steps before it are done; run setup again once fixed)',
        );
      }
      console.log(`done    ${step.what}`);
      changed++;
    }
    if (dryRun) {
      console.log(`setup --dry-run: ${changed} step${changed === 1 ? '' : 's'} to do; nothing was changed`);
      return 0;
    }
    console.log(changed === 0 ? 'setup: everything was already so; nothing changed' : `setup: ${changed} steps done`);
    for (const line of afterwards(root, user, changed > 0)) console.log(line);
    return 0;
  });
}

async function askFolders(options: SetupOptions): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(
      'a new config needs the camera folders: --watch DIR (its upload folder) and --airplanes DIR ' +
        '(where its airplane shots go)',
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const ask = async (question: string, fallback: string): Promise<string> => {
      const answer = (await rl.question(`${question} [${fallback}]: `)).trim() || fallback;
      if (!path.isAbsolute(answer)) throw new UsageError(`${question} must be an absolute folder, got '${answer}'`);
      return answer;
    };
    options.watch ??= await ask("the camera's upload folder (watched)", '/srv/blog/uploads');
    options.airplanes ??= await ask('where its airplane shots go', '/srv/birdwatch/airplanes');
  } finally {
    rl.close();
  }
}

/** Starts the units where systemd runs this root, and says what members and the volunteer do next. */
function afterwards(root: string, user: string, changed: boolean): string[] {
  const lines: string[] = [];
  const live = root === '/' && fs.existsSync('/run/systemd/system');
  if (live && changed) {
    const reload = spawnSync('systemctl', ['daemon-reload'], { encoding: 'utf8' });
    const start = spawnSync('systemctl', ['start', ...UNITS.filter((u) => u !== 'birdwatch-retrain.service')], {
      encoding: 'utf8',
    });
    lines.push(
      reload.status === 0 && start.status === 0
        ? 'started birdwatch, birdwatch-web and the retrain timer'
        : `systemctl could not start the units: ${(start.stderr || reload.stderr).trim()}; ` +
            'see: journalctl -u birdwatch',
    );
  } else if (!live) {
    lines.push(
      'systemd does not run this root: the units are installed and enabled, start them there with ' +
        'systemctl daemon-reload && systemctl start birdwatch birdwatch-web birdwatch-retrain.timer',
    );
  }
  lines.push(
    `members: sudo usermod -aG ${user} NAME (then log in again) lets NAME read the log and record reviews ` +
      `with 'birdwatch log', 'birdwatch review-sample N'; restore, mark, promote and calibrate --apply need ` +
      `sudo -u ${user} birdwatch ...`,
  );
  lines.push("the web page's first member: sudo -u " + `${user} birdwatch user add NAME --role reviewer`);
  return lines;
}
