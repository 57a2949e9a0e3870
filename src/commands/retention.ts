// `birdwatch retention [--dry-run]`: one quarantine retention pass now (the daemon runs one every hour): moved
// shots older than retentionDays are deleted from the airplanes folders and each removal is logged. --dry-run
// lists what would go and changes nothing.
import { CONFIG_FLAG_OPTIONS, loadConfig, type Config } from '../config/index.js';
import { DecisionLog } from '../db/index.js';
import { CommandFailure, parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { formatLocalTime } from '../query/local-time.js';
import { explainDbError, openLogForCorrections, openLogReadOnly } from '../query/open-log.js';
import { applyRetention } from '../retention/retention.js';

const usage = `usage: birdwatch retention [--dry-run] [--json] [--retention-days N] [--config FILE] [--db FILE]
                           [--airplanes DIR]
  Deletes moved airplane shots older than retentionDays (the camera's, else the config's; --retention-days
  overrides both) from the airplanes folders. Never a shot a member labelled or restored; each removal is recorded
  in the decision log (birdwatch log still lists the row). --dry-run lists what would be removed.`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      airplanes: CONFIG_FLAG_OPTIONS.airplanes,
      'retention-days': CONFIG_FLAG_OPTIONS['retention-days'],
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const loaded = loadConfig({
      flags: {
        config: values.config,
        db: values.db,
        airplanes: values.airplanes,
        'retention-days': values['retention-days'],
      },
    });
    // --retention-days holds for every camera: their own retentionDays give way (a new config, not an edit).
    const config: Config =
      values['retention-days'] === undefined
        ? loaded
        : { ...loaded, cameras: loaded.cameras.map(({ retentionDays: _ignored, ...camera }) => camera) };
    if (config.retentionDays === undefined && config.cameras.every((camera) => camera.retentionDays === undefined)) {
      throw new CommandFailure('no retentionDays in the config (nor --retention-days): nothing is ever removed');
    }
    const dryRun = values['dry-run'] ?? false;
    const db = dryRun ? openLogReadOnly(config.db) : openLogForCorrections(config.db);
    try {
      const report = await applyRetention(new DecisionLog(db), config, { dryRun, listKept: true });
      if (values.json) {
        for (const item of report.removed) console.log(JSON.stringify({ ...item, removed: !dryRun }));
        for (const item of [...report.skipped, ...report.kept])
          console.log(JSON.stringify({ ...item, removed: false }));
      } else {
        const verb = dryRun ? 'would remove' : 'removed';
        for (const item of report.removed) {
          console.log(`${verb} ${item.id} ${item.camera} ${item.path} (moved ${formatLocalTime(item.time)})`);
        }
        const kept = [...report.skipped, ...report.kept].sort((a, b) => a.id - b.id);
        for (const item of kept) console.log(`kept ${item.id} ${item.camera} ${item.path}: ${item.reason}`);
        console.log(
          `${report.removed.length} ${verb}, ${kept.length} due but kept` +
            (report.finished > 0 ? `, ${report.finished} interrupted removals finished` : ''),
        );
      }
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    return 0;
  });
}
