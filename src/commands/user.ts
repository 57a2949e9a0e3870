// `birdwatch user add|list|remove|passwd`: the web page's members, stored in the decision log (src/web/users.ts).
// A password comes from a prompt on a terminal (typed twice, not shown) or as one line on standard input.
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseChoice, parseCommandArgs, runCommand, UsageError, CommandFailure } from '../cli-kit/command-kit.js';
import { explainDbError, openLogForCorrections } from '../query/open-log.js';
import { addUser, checkUserName, listUsers, removeUser, roles, setPassword } from '../web/users.js';

const usage = `usage: birdwatch user add NAME --role viewer|reviewer [--config FILE] [--db FILE]
       birdwatch user list [--json]
       birdwatch user remove NAME
       birdwatch user passwd NAME
  Members of the web page (birdwatch web): viewers see everything, reviewers also restore, mark and review.
  add and passwd ask for the password on a terminal, or read one line from standard input
  (echo "$PASSWORD" | birdwatch user add ann --role reviewer). remove and passwd end the member's sessions.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
        role: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    const [action, name, ...extra] = positionals;
    const wantsName = action === 'add' || action === 'remove' || action === 'passwd';
    if (action === undefined || !(wantsName || action === 'list')) {
      throw new UsageError(`user needs one of add, list, remove, passwd${action ? `, got '${action}'` : ''}`);
    }
    if (wantsName && name === undefined) throw new UsageError(`user ${action} needs a user NAME`);
    if (extra.length > 0 || (!wantsName && name !== undefined)) throw new UsageError('too many arguments');
    const role = parseChoice(values.role, '--role', roles);
    if (action === 'add' && role === undefined) throw new UsageError('user add needs --role viewer or --role reviewer');
    if (action !== 'add' && role !== undefined) throw new UsageError('--role goes with user add');
    if (wantsName) checkUserName(name!);

    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogForCorrections(config.db);
    try {
      if (action === 'list') {
        const users = listUsers(db);
        if (values.json) for (const user of users) console.log(JSON.stringify(user));
        else if (users.length === 0) console.log(`no users: add one with 'birdwatch user add NAME --role reviewer'`);
        else
          for (const user of users)
            console.log(`${user.name.padEnd(20)} ${user.role.padEnd(9)} added ${user.created_at}`);
      } else if (action === 'remove') {
        removeUser(db, name!);
        console.log(`removed user ${name} (and ended their sessions)`);
      } else if (action === 'add') {
        if (listUsers(db).some((u) => u.name === name)) {
          throw new CommandFailure(`user '${name}' exists already (use 'birdwatch user passwd ${name}')`);
        }
        await addUser(db, name!, role!, await readPassword());
        console.log(`added ${role} ${name}`);
      } else {
        await setPassword(db, name!, await readPassword());
        console.log(`new password set for ${name} (their sessions ended)`);
      }
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    return 0;
  });
}

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw new UsageError('no password on standard input (one line expected)');
    return line;
  }
  const first = await prompt('Password: ');
  const second = await prompt('Again: ');
  if (first !== second) throw new CommandFailure('the two passwords differ; nothing changed');
  return first;
}

/** Asks on the terminal without echoing what is typed. */
function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}
