// `birdwatch stats`: what the filter did over a time range, as a readable summary or one JSON object.
import type { ShareInterval } from '../calibrate/bound.js';
import { clubPromise, type CameraPromise } from '../calibrate/promise.js';
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { modelFileInfo } from '../model/file-info.js';
import { parseCommandArgs, runCommand } from '../cli-kit/command-kit.js';
import { formatLocalTime } from '../query/local-time.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { computeStats, type ActionCounts, type Stats } from '../query/stats.js';
import { renderTable, terminalWidth } from '../cli-kit/table.js';
import { parseTimeRange } from '../query/time-range.js';

const usage = `usage: birdwatch stats [--since WHEN] [--until WHEN] [--camera NAME] [--json] [--config FILE] [--db FILE]
  WHEN: an age (30m, 2h, 7d, 2w) or a local date/time (2026-05-01, 2026-05-01T10:00). Days are local days.
  Also where each camera stands with the promise (at most its bird budget of birds moved, at
  calibration.confidence), from the random review of the current model's shots (docs/promise.md).`;

/** Longer ranges are shown per month in the table (--json always has every day). */
const maxDaysShown = 31;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      since: { type: 'string' },
      until: { type: 'string' },
      camera: { type: 'string' },
      json: { type: 'boolean' },
    });
    const range = parseTimeRange(values.since, values.until);
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogReadOnly(config.db);
    let stats: Stats;
    let promise: CameraPromise[] | null = null;
    let noPromise = '';
    try {
      stats = computeStats(db, { ...range, camera: values.camera });
      try {
        promise = clubPromise(config, db, modelFileInfo(config.model)).filter(
          (p) => values.camera === undefined || p.camera === values.camera,
        );
      } catch (err) {
        noPromise = `the promise cannot be shown: ${(err as Error).message}`;
      }
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    if (values.json) {
      process.stdout.write(JSON.stringify({ ...stats, promise }) + '\n');
      return 0;
    }
    process.stdout.write(
      renderStats(stats, terminalWidth()) + '\n' + (promise ? renderPromise(promise) : noPromise + '\n'),
    );
    return 0;
  });
}

export function renderStats(stats: Stats, width: number): string {
  if (stats.decisions === 0) return 'no decisions in this range\n';
  const out: string[] = [];
  const percent = (n: number, of: number): string => (of === 0 ? '-' : `${((100 * n) / of).toFixed(1)}%`);
  out.push(
    `Decisions ${formatLocalTime(stats.since!)} to ${formatLocalTime(stats.until!)}` +
      `${stats.camera ? ` (camera ${stats.camera})` : ''}: ${stats.decisions}`,
  );
  out.push(
    `  airplanes moved ${stats.airplanes_moved} (${percent(stats.airplanes_moved, stats.decisions)}), ` +
      `kept ${stats.per_action.kept}, failed ${stats.per_action.failed}`,
  );
  out.push(
    `  model's label: airplane ${stats.per_label.airplane}, bird ${stats.per_label.bird}, ` +
      `none (failed) ${stats.per_label.none}`,
  );
  const latency = stats.latency_ms;
  if (latency.count > 0) {
    out.push(
      `  latency: p50 ${latency.p50!.toFixed(1)} ms, p99 ${latency.p99!.toFixed(1)} ms (${latency.count} timed)`,
    );
  }
  const c = stats.corrections;
  out.push('', `Corrections by members: ${c.corrected_decisions} decisions labelled`);
  out.push(`  bird moved as airplane: ${c.bird_moved_as_airplane}`);
  out.push(`  airplane kept as bird:  ${c.airplane_kept_as_bird}`);
  out.push(
    `  filter confirmed right: ${c.confirmed_moved + c.confirmed_kept}` +
      (c.wrong_share_of_reviewed === null
        ? ''
        : ` (model wrong in ${(100 * c.wrong_share_of_reviewed).toFixed(1)}% ` + 'of the reviewed decisions)'),
  );
  if (c.labelled_failures > 0) out.push(`  failed shots labelled: ${c.labelled_failures}`);

  const countColumns = <Row extends ActionCounts>(first: { header: string; value: (r: Row) => string }) => [
    first,
    { header: 'DECISIONS', value: (r: Row) => String(r.decisions), align: 'right' as const },
    { header: 'MOVED', value: (r: Row) => String(r.moved), align: 'right' as const },
    { header: 'KEPT', value: (r: Row) => String(r.kept), align: 'right' as const },
    { header: 'FAILED', value: (r: Row) => String(r.failed), align: 'right' as const },
  ];
  out.push(
    '',
    renderTable(stats.per_camera, countColumns({ header: 'CAMERA', value: (r) => r.camera }), width).trimEnd(),
  );
  const days = stats.per_day.length > maxDaysShown ? perMonth(stats.per_day) : stats.per_day;
  const dayHeader = stats.per_day.length > maxDaysShown ? 'MONTH' : 'DAY';
  out.push('', renderTable(days, countColumns({ header: dayHeader, value: (r) => r.day }), width).trimEnd());
  if (days !== stats.per_day) out.push('(per month: --json lists every day)');
  if (stats.per_model.length > 0) {
    out.push(
      '',
      renderTable(stats.per_model, countColumns({ header: 'MODEL', value: (r) => r.model_id ?? '-' }), width).trimEnd(),
    );
  }
  if (stats.failures_by_kind.length > 0) {
    out.push(
      '',
      renderTable(
        stats.failures_by_kind,
        [
          { header: 'FAILURE', value: (r) => r.error_kind },
          { header: 'COUNT', value: (r) => String(r.count), align: 'right' },
        ],
        width,
      ).trimEnd(),
    );
  }
  return out.join('\n') + '\n';
}

/** Each camera's standing with the promise, in the words of the web page's cards. */
export function renderPromise(promise: readonly CameraPromise[]): string {
  const pct = (share: number): string => `${+(share * 100).toFixed(1)}%`;
  const range = (i: ShareInterval, noun: string): string =>
    i.n === 0
      ? `no reviewed ${noun} yet`
      : i.share === null
        ? `${i.k} of ${i.n} (no estimate below the stratum cut)`
        : `${i.k} of ${i.n} (${i.weighted ? 'weighed back: ' : ''}${pct(i.share)}, interval ${pct(i.low)}-${pct(i.high)})`;
  const out = ["The promise (from the random review of the current model's shots):"];
  for (const p of promise) {
    out.push(`  ${p.camera}: ${p.statement}`);
    out.push(
      `    budget ${pct(p.budget)}, threshold ${p.threshold} (${p.threshold_from}), ${p.design} review; birds moved ` +
        `${range(p.birds_moved, 'birds')}; airplanes caught ${range(p.airplanes_caught, 'airplanes')}; ` +
        `${Math.round(p.confidence * 100)}% intervals`,
    );
  }
  return out.join('\n') + '\n';
}

function perMonth(days: Stats['per_day']): Stats['per_day'] {
  const months = new Map<string, Stats['per_day'][number]>();
  for (const day of days) {
    const key = day.day.slice(0, 7);
    const month = months.get(key) ?? { day: key, decisions: 0, moved: 0, kept: 0, failed: 0 };
    month.decisions += day.decisions;
    month.moved += day.moved;
    month.kept += day.kept;
    month.failed += day.failed;
    months.set(key, month);
  }
  return [...months.values()];
}
