// `birdwatch thresholds [--camera NAME] [--json]`: every threshold the daemon's own calibration set, oldest first:
// when, which camera and model, old and new, the reviewed birds it rests on and the bound on birds moved, and why.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { listThresholdChanges, type ThresholdChangeRow } from '../db/threshold-changes.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { formatLocalTime } from '../query/local-time.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { renderTable, terminalWidth } from '../cli-kit/table.js';

const usage = `usage: birdwatch thresholds [--camera NAME] [--json] [--config FILE] [--db FILE]
  Every threshold change the daemon made by itself (calibration.auto): the time, the camera, the model, the old and
  new threshold, the n randomly reviewed birds it rests on and k of them at or above the new threshold, the upper
  bound on the share of the camera's birds it moves (at calibration.confidence), and why. Each decision keeps the
  threshold it was decided at ('birdwatch log'), so the shots before and after a change can be told apart.
  --json prints one object per change, one per line.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      camera: { type: 'string' },
      json: { type: 'boolean' },
    });
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogReadOnly(config.db);
    let rows: ThresholdChangeRow[];
    try {
      rows = listThresholdChanges(db, values.camera);
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    if (values.json) {
      for (const row of rows) console.log(JSON.stringify({ ...row, certified: row.certified === 1 }));
      return 0;
    }
    if (rows.length === 0) {
      console.log(
        `no threshold changes yet${values.camera === undefined ? '' : ` for camera '${values.camera}'`}: ` +
          'the daemon changes a threshold once random-review labels certify one (birdwatch calibrate shows where ' +
          'each camera stands)',
      );
      return 0;
    }
    const pct = (share: number): string => `${+(share * 100).toFixed(2)}%`;
    console.log(
      renderTable(
        rows,
        [
          { header: 'time', value: (r: ThresholdChangeRow) => formatLocalTime(r.time_ms) },
          { header: 'camera', value: (r) => r.camera },
          { header: 'model', value: (r) => r.model_id },
          { header: 'old', value: (r) => String(r.old_threshold), align: 'right' },
          { header: 'new', value: (r) => String(r.new_threshold), align: 'right' },
          { header: 'birds n', value: (r) => String(r.n), align: 'right' },
          { header: 'moved k', value: (r) => String(r.k), align: 'right' },
          { header: 'bound', value: (r) => pct(r.bound), align: 'right' },
          { header: 'why', value: (r) => r.why },
        ],
        terminalWidth(),
      ),
    );
    return 0;
  });
}
