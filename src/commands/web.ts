// `birdwatch web [--listen HOST:PORT]`: the members' web page, a process of its own beside the daemon. It reads the
// same config and decision log (WAL: its reads never block the daemon), and moves files only through restore and
// mark (src/review). Stops cleanly on SIGTERM/SIGINT.
import { CONFIG_FLAG_OPTIONS, ConfigError, loadConfig, WEB_FLAG_OPTIONS } from '../config/index.js';
import { CommandFailure, parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { explainDbError, openLogForCorrections } from '../query/open-log.js';
import { createWebServer } from '../web/server.js';
import { listUsers } from '../web/users.js';

const usage = `usage: birdwatch web [--listen HOST:PORT] [--config FILE] [--db FILE] [--watch DIR] [--airplanes DIR]
  Serves the members' web page (default 127.0.0.1:8080, config key web.listen). Give it the daemon's --config:
  the page shows that decision log and restores/marks only within those folders. Add members with
  'birdwatch user add NAME --role viewer|reviewer'.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      watch: CONFIG_FLAG_OPTIONS.watch,
      airplanes: CONFIG_FLAG_OPTIONS.airplanes,
      listen: WEB_FLAG_OPTIONS.listen,
    });
    const config = loadConfig({
      flags: {
        config: values.config,
        db: values.db,
        watch: values.watch,
        airplanes: values.airplanes,
        listen: values.listen,
      },
    });
    const db = openLogForCorrections(config.db);
    const say = (line: string): void => {
      process.stdout.write(`birdwatch web: ${line}\n`);
    };
    let app;
    try {
      app = await createWebServer(config, db, say);
    } catch (err) {
      db.close();
      throw explainDbError(err, config.db);
    }
    const { host, port } = config.web.listen;
    try {
      await app.listen({ host, port });
    } catch (err) {
      db.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CommandFailure(`cannot listen on ${host}:${port}: the port is in use`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new ConfigError(`cannot listen on ${host}:${port}: no such address on this machine`);
      }
      if (code === 'EACCES') throw new CommandFailure(`cannot listen on ${host}:${port}: permission denied`);
      throw err;
    }
    const users = listUsers(db).length;
    say(
      `listening on http://${host.includes(':') ? `[${host}]` : host}:${port} (decision log ${config.db}, ` +
        `${users} user${users === 1 ? '' : 's'}${config.web.publicRead ? ', public read' : ''})`,
    );
    if (users === 0) say(`no users yet: add one with 'birdwatch user add NAME --role reviewer'`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        resolve();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    await app.close();
    db.close();
    say('stopped');
    return 0;
  });
}
