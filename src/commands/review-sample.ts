// `birdwatch review-sample N`: prints N random decided shots nobody has reviewed yet (the web page's sample rule,
// src/review/sample.ts pickSampleShot), each with the command that records its label.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { commandLine } from '../config/locate.js';
import { parseCommandArgs, parseNumberOption, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { explainDbError, openLogForCorrections } from '../query/open-log.js';
import { CURRENT_PATH_SQL } from '../query/decided-shot.js';
import { pickSampleShot } from '../review/sample.js';

const usage = `usage: birdwatch review-sample N [--json] [--config FILE] [--db FILE]
  Prints N random decided shots (kept and moved alike) that no member has reviewed, with the command to label
  each: birdwatch review ID --label bird|airplane|neither. These labels are the random sample calibrate uses; with
  calibration.sampling "stratified" (the default) high-scoring shots are drawn more often and weighed back.`;

interface SampleRow {
  id: number;
  camera: string;
  action: string;
  p_airplane: number;
  path: string;
}

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: CONFIG_FLAG_OPTIONS.config,
        db: CONFIG_FLAG_OPTIONS.db,
        json: { type: 'boolean' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('review-sample takes how many shots to draw (N)');
    const n = parseNumberOption(positionals[0], 'N', 1, 10_000)!;
    if (!Number.isInteger(n)) throw new UsageError(`N must be a whole number, got '${positionals[0]}'`);
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogForCorrections(config.db); // the draws are recorded: only a drawn shot takes a sample label
    const rows: SampleRow[] = [];
    try {
      const chosen = new Set<number>();
      const row = db.prepare(`SELECT d.id, d.camera, d.action, d.p_airplane,
          ${CURRENT_PATH_SQL} AS path
          FROM decisions d WHERE d.id = ?`);
      // pickSampleShot draws among the unreviewed decided shots (uniformly, or by stratum); a repeat is drawn again.
      for (let tries = 0; chosen.size < n && tries < n * 20; tries++) {
        const id = pickSampleShot(db, config.calibration.sampling);
        if (id === null) break;
        if (chosen.has(id)) continue;
        chosen.add(id);
        rows.push(row.get(id) as SampleRow);
      }
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    for (const r of rows) {
      const label = commandLine(config, `review ${r.id} --label bird|airplane|neither`);
      if (values.json) console.log(JSON.stringify({ ...r, command: label }));
      else
        console.log(`${r.id}\t${r.camera}\t${r.action}\tP(airplane)=${r.p_airplane.toFixed(4)}\t${r.path}\n  ${label}`);
    }
    if (rows.length < n) {
      process.stderr.write(
        `birdwatch: only ${rows.length} decided shot${rows.length === 1 ? '' : 's'} left to review\n`,
      );
    }
    return 0;
  });
}
