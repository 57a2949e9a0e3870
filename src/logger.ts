// One winston logger for the whole process: plain lines on stdout, which journald captures and timestamps.
import winston from 'winston';

export type Logger = winston.Logger;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Formats `key=value` metadata after the message so one decision stays one greppable line. */
const lineFormat = winston.format.printf((info) => {
  const { level, message, timestamp, ...meta } = info as Record<string, unknown>;
  const fields = Object.entries(meta)
    .filter(([key, value]) => value !== undefined && typeof key === 'string')
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [timestamp, level, message, ...fields].join(' ');
});

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(4);
  return JSON.stringify(value);
}

export function createLogger(level: LogLevel = 'info'): Logger {
  return winston.createLogger({
    level,
    levels: winston.config.npm.levels,
    format: winston.format.combine(winston.format.timestamp(), lineFormat),
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}

/** A logger that drops everything: for library callers (queries, tests) that have no use for log lines. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
}
