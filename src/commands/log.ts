// `birdwatch log`: the decisions, newest first, filtered, as a terminal table, JSON lines or CSV.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { csvRecord, type CsvValue } from '../cli-kit/csv.js';
import { actions, labels, type DecisionFilter } from '../query/decision-filter.js';
import { formatLocalTime } from '../query/local-time.js';
import { listDecisions, RECORD_COLUMNS, type DecisionRecord } from '../query/decision-list.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { ChunkedWriter } from '../cli-kit/output.js';
import { parseChoice, parseCommandArgs, parseNumberOption, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { renderTable, terminalWidth, type Column } from '../cli-kit/table.js';
import { parseTimeRange } from '../query/time-range.js';

const usage = `usage: birdwatch log [--since WHEN] [--until WHEN] [--camera NAME] [--label airplane|bird]
                     [--action moved|kept|failed] [--min-p P] [--max-p P] [--path TEXT] [--corrected]
                     [--model ID] [--limit N] [--json | --csv] [--config FILE] [--db FILE]
  WHEN: an age (30m, 2h, 7d, 2w) or a local date/time (2026-05-01, 2026-05-01T10:00); --until is exclusive,
  a bare date as --until includes that whole day. --min-p/--max-p bound P(airplane). --path matches a part of
  the path where the shot was found or where it went. --model: the model id that decided. Table output shows the
  newest ${50} unless --limit is given; --json and --csv show every match.`;

const TABLE_LIMIT = 50;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      since: { type: 'string' },
      until: { type: 'string' },
      camera: { type: 'string' },
      label: { type: 'string' },
      action: { type: 'string' },
      'min-p': { type: 'string' },
      'max-p': { type: 'string' },
      path: { type: 'string' },
      corrected: { type: 'boolean' },
      model: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
    });
    if (values.json && values.csv) throw new UsageError('choose one of --json and --csv');
    const filter: DecisionFilter = {
      ...parseTimeRange(values.since, values.until),
      camera: values.camera,
      label: parseChoice(values.label, '--label', labels),
      action: parseChoice(values.action, '--action', actions),
      minPAirplane: parseNumberOption(values['min-p'], '--min-p', 0, 1),
      maxPAirplane: parseNumberOption(values['max-p'], '--max-p', 0, 1),
      pathContains: values.path === '' ? undefined : values.path,
      corrected: values.corrected ?? false,
      modelId: values.model === '' ? undefined : values.model,
    };
    const givenLimit = parseNumberOption(values.limit, '--limit', 1, Number.MAX_SAFE_INTEGER);
    if (givenLimit !== undefined && !Number.isInteger(givenLimit))
      throw new UsageError('--limit must be a whole number');
    const format = values.json ? 'json' : values.csv ? 'csv' : 'table';
    const limit = givenLimit ?? (format === 'table' ? TABLE_LIMIT : undefined);

    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const db = openLogReadOnly(config.db);
    try {
      const rows = listDecisions(db, filter, limit);
      if (format === 'table') await printTable(rows, limit);
      else await printLines(rows, format);
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    return 0;
  });
}

async function printLines(rows: Iterable<DecisionRecord>, format: 'json' | 'csv'): Promise<void> {
  const out = new ChunkedWriter();
  if (format === 'csv') await out.write(csvRecord(csvColumns));
  for (const row of rows) {
    if (!out.open) break;
    await out.write(format === 'json' ? JSON.stringify(row) + '\n' : csvRecord(toCsvValues(row)));
  }
  await out.flush();
}

/** CSV columns: the JSON fields with probabilities flattened. */
export const csvColumns = RECORD_COLUMNS;

function toCsvValues(row: DecisionRecord): CsvValue[] {
  const flat: Record<string, CsvValue> = {
    ...row,
    probabilities: undefined,
    p_airplane: row.probabilities?.airplane,
    p_bird: row.probabilities?.bird,
  } as unknown as Record<string, CsvValue>;
  return csvColumns.map((column) => flat[column]);
}

async function printTable(rows: Iterable<DecisionRecord>, limit: number | undefined): Promise<void> {
  const list = [...rows];
  if (list.length === 0) {
    console.log('no decisions match');
    return;
  }
  const columns: Column<DecisionRecord>[] = [
    { header: 'ID', value: (r) => String(r.id), align: 'right' },
    { header: 'TIME', value: (r) => formatLocalTime(r.time) },
    { header: 'CAMERA', value: (r) => r.camera },
    { header: 'ACTION', value: (r) => r.action },
    { header: 'LABEL', value: (r) => r.label ?? '-' },
    {
      header: 'P(AIRPLANE)',
      value: (r) => (r.probabilities ? r.probabilities.airplane.toFixed(3) : '-'),
      align: 'right',
    },
    { header: 'CORRECTED', value: (r) => (r.corrected_label ? `${r.corrected_label} (${r.corrected_kind})` : '') },
    { header: 'PATH / ERROR', value: (r) => describePlace(r), flexible: true },
  ];
  const out = new ChunkedWriter();
  await out.write(renderTable(list, columns, terminalWidth()));
  if (limit !== undefined && list.length === limit) {
    await out.write(`(newest ${limit} shown: use --limit N, filters, --json or --csv for more)\n`);
  }
  await out.flush();
}

function describePlace(row: DecisionRecord): string {
  if (row.action === 'failed') return `${row.path}: ${row.error ?? 'failed'}`;
  // At the end: a long path is cut from the left to fit the terminal.
  const removed = row.removed_at === null ? '' : ` [removed ${formatLocalTime(row.removed_at)}]`;
  if (row.current_path !== row.path) return `${row.path} -> ${row.current_path}${removed}`;
  return row.path + removed;
}
