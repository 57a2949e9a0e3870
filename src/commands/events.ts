// `birdwatch events`: what the outbox holds for each configured sink (MQTT, webhooks): what waits and why (the last
// error, the next try), what failed for good or was dropped by the backlog bound; a table or JSON lines.
import { CONFIG_FLAG_OPTIONS, loadConfig } from '../config/index.js';
import { Outbox, type EventListing, type EventRow } from '../db/index.js';
import { configuredSinkNames } from '../events/index.js';
import { publicEvent } from '../events/public-event.js';
import { parseCommandArgs, parseNumberOption, runCommand, UsageError } from '../cli-kit/command-kit.js';
import { formatLocalTime } from '../query/local-time.js';
import { explainDbError, openLogReadOnly } from '../query/open-log.js';
import { renderTable, terminalWidth } from '../cli-kit/table.js';

const usage = `usage: birdwatch events [--pending | --failed] [--limit N] [--json] [--config FILE] [--db FILE]
  Without a flag: each sink's state and its latest events. --pending: the events waiting for a sink (the first of
  each with why its last try failed and when it is tried next). --failed: events a receiver refused for good, dropped
  by the backlog bound (events.maxAgeHours, events.maxPending), and the one each failing sink keeps retrying.
  --json: one JSON object per line (the event as receivers get it, with sink, state, attempts, error).`;

export async function main(argv: string[]): Promise<number> {
  return runCommand(usage, async () => {
    const { values } = parseCommandArgs(argv, {
      config: CONFIG_FLAG_OPTIONS.config,
      db: CONFIG_FLAG_OPTIONS.db,
      pending: { type: 'boolean' },
      failed: { type: 'boolean' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.pending && values.failed) throw new UsageError('choose one of --pending and --failed');
    const limit = parseNumberOption(values.limit, '--limit', 1, 1_000_000) ?? 50;
    const config = loadConfig({ flags: { config: values.config, db: values.db } });
    const sinks = configuredSinkNames(config);
    const db = openLogReadOnly(config.db);
    let listing: EventListing[];
    let states;
    try {
      const outbox = new Outbox(db);
      listing = outbox.list(sinks, values.pending ? 'pending' : values.failed ? 'failed' : 'all', limit);
      states = outbox
        .sinks()
        .filter((state) => sinks.includes(state.sink))
        .map((state) => ({
          ...state,
          pending: db.prepare('SELECT count(*) FROM events WHERE id > ?').pluck().get(state.cursor) as number,
        }));
    } catch (err) {
      throw explainDbError(err, config.db);
    } finally {
      db.close();
    }
    const shown = (row: EventListing) => ({
      ...publicEvent(row as EventRow, config.cameras),
      sink: row.sink,
      state: row.state,
      attempts: row.attempts,
      error: row.error,
      next_try: row.next_ms === null ? null : new Date(row.next_ms).toISOString(),
    });
    if (values.json) {
      for (const row of listing) process.stdout.write(JSON.stringify(shown(row)) + '\n');
      return 0;
    }
    const out: string[] = [];
    if (sinks.length === 0) out.push('no sinks configured (mqtt, webhooks in the config): events are only recorded');
    for (const name of sinks) {
      const state = states.find((s) => s.sink === name);
      if (state === undefined) {
        out.push(`${name}: not started yet (the daemon starts delivering when it runs with this config)`);
        continue;
      }
      const retrying =
        state.attempts > 0
          ? `, failing: ${state.attempts} attempts, next try ` +
            `${formatLocalTime(new Date(state.next_ms).toISOString())}, last error: ${state.last_error}`
          : '';
      out.push(`${name}: ${state.pending} waiting, ${state.dropped} dropped in all${retrying}`);
    }
    out.push('');
    if (listing.length === 0) {
      out.push(values.pending ? 'nothing waiting' : values.failed ? 'nothing failed' : 'no events');
    } else {
      out.push(
        renderTable(
          listing,
          [
            { header: 'event', value: (r) => String(r.id), align: 'right' },
            { header: 'time', value: (r) => formatLocalTime(r.time) },
            { header: 'type', value: (r) => r.type },
            { header: 'camera', value: (r) => r.camera ?? '-' },
            { header: 'sink', value: (r) => r.sink },
            { header: 'state', value: (r) => r.state },
            { header: 'tries', value: (r) => String(r.attempts), align: 'right' },
            { header: 'why', value: (r) => r.error ?? '', flexible: true },
          ],
          terminalWidth(),
        ).trimEnd(),
      );
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  });
}
