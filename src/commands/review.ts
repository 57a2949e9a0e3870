// `birdwatch review ID --label bird|airplane|neither`: records a random-review label (source 'sample', with your
// user name) through src/review/sample.ts recordReview, the web page's code path.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { parseChoice, parseCommandArgs, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { openLogForCorrections } from '../query/open-log.js';
import { cliMember } from '../review/member.js';
import { recordReview, reviewLabels } from '../review/sample.js';

const usage = `usage: birdwatch review ID --label bird|airplane|neither [--config FILE] [--db FILE]
  Records what the shot of decision ID (drawn by 'birdwatch review-sample N') really shows, as a random-review
  label: the unbiased sample 'birdwatch calibrate' rests on. Nothing is moved; to put a bird back use restore.
  Only a drawn shot takes a sample label (a mistake you noticed is a correction: restore or mark).`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
        label: { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 1 || !/^\d+$/.test(positionals[0]!))
      throw new UsageError('review takes one decision ID');
    const label = parseChoice(values.label, '--label', reviewLabels);
    if (label === undefined) throw new UsageError('review needs --label bird, airplane or neither');
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogForCorrections(config.db);
    try {
      const record = recordReview(db, Number(positionals[0]), label, cliMember());
      console.log(`decision ${record.decision_id}: sample label ${record.label} recorded (review ${record.id})`);
    } finally {
      db.close();
    }
    return 0;
  });
}
