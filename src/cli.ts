#!/usr/bin/env node
// birdwatch command-line entry: dispatches `birdwatch <command> ...` to src/commands/<command>.ts.
const commands: Record<string, string> = {
  run: 'watch the upload folders, classify new shots, move airplanes out, log every decision',
  classify: 'classify image files with the model, moving nothing',
  log: 'list the decisions, newest first',
  stats: 'summarise the decisions over a time range',
  restore: 'move a wrongly removed shot back into the blog and record the correction',
  mark: 'record a human label for a decision (optionally moving the shot out)',
  'export-corrections': 'write every human-labelled shot as an image-folder tree for training',
  web: "serve the members' web page (decisions, quarantine, review, stats)",
  user: "add, list, remove the web page's members, or set a password",
  retention: 'delete moved shots older than retentionDays from the airplanes folders (--dry-run: list them)',
  db: 'check the decision log (db check) or copy it safely while the daemon runs (db backup FILE)',
  calibrate: "the threshold each camera's reviewed shots certify at the bird budget, with its bound (--apply: config)",
  thresholds: "list the thresholds the daemon's own calibration set, per camera, with the evidence for each",
  'review-sample': 'print N random decided shots to label, with the command for each',
  review: 'record a random-review label (bird, airplane or neither) for a decision',
  retrain: "fine-tune the model with the club's labelled shots into a candidate, compared with the current one",
  promote: 'install a candidate model (refused when it does worse, unless --force), keeping the previous one',
  rollback: 'put the previous model back',
  models: 'list the installed, previous and candidate models with their figures',
  model: "print the model's card: its report-split figures and its operating curve (bird budget -> threshold)",
  events: 'what waits to be sent to MQTT and the webhooks, and what failed (--pending, --failed)',
  digest: 'summarise a day or a week per camera and mail it to the club (--dry-run: print it)',
  setup: 'set a server up: service account, /etc/birdwatch/config.json, /var/lib/birdwatch, units, the command',
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, about]) => `  ${name.padEnd(width)}  ${about}`);
  return (
    `usage: birdwatch <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `Run 'birdwatch <command> --help' for a command's options.`
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(commands, name)) {
    console.error(`birdwatch: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command: { main(argv: string[]): Promise<number> } = await import(`./commands/${name}.js`);
  return command.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`birdwatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
