// What every members' command shares: argument parsing with usage errors, exit codes, one-line error messages.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/index.js';
import { describeConfigInUse, forgetConfigInUse } from '../config/locate.js';
import { DbSchemaError } from '../db/index.js';
import { Refusal } from '../errors.js';
import { TimeSpecError } from '../query/time-range.js';

/** A usage mistake (exit 2). */
export class UsageError extends Error {}
/** The command could not do its job (exit 1): unknown id, missing file, locked database... A Refusal, as any
 *  layer's refusals are (review's ActionError too): runCommand prints every Refusal the same way. */
export class CommandFailure extends Refusal {}
/** `--help`/`-h` was given: runCommand prints the usage and exits 0. */
class HelpRequested extends Error {}

/** Parses a command's flags (every command also takes --help/-h, answered by runCommand). */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } } as T;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: withHelp, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested();
  return parsed;
}

/** Runs a command body, printing failures as `birdwatch: <message>` and returning the exit code. */
export async function runCommand(usage: string, body: () => Promise<number> | number): Promise<number> {
  forgetConfigInUse();
  try {
    return await body();
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(usage);
      return 0;
    }
    if (err instanceof UsageError || err instanceof TimeSpecError) {
      process.stderr.write(`birdwatch: ${err.message}\n${usage}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`birdwatch: ${withContext(err.message)}\n`);
      return 2;
    }
    if (err instanceof Refusal || err instanceof DbSchemaError) {
      process.stderr.write(`birdwatch: ${withContext(err.message)}\n`);
      return 1;
    }
    if (isBrokenPipe(err)) return 0; // `birdwatch log | head` closing early is not a failure
    throw err;
  }
}

/** A refusal names the config and database the command used, and how to act when it is a permission problem. */
function withContext(message: string): string {
  const used = describeConfigInUse();
  const denied = /permission denied|EACCES|EPERM|readonly database|read-only/i.test(message);
  const hint = denied
    ? "; members of group birdwatch may read and review, other commands need the group's write " +
      'right or the service user: sudo -u birdwatch birdwatch ...'
    : '';
  return used === undefined ? `${message}${hint}` : `${message} (${used})${hint}`;
}

export function isBrokenPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';
}

export function parseNumberOption(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(number) || number < min || number > max) {
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, got '${value}'`);
  }
  return number;
}

export function parseChoice<T extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  }
  return value as T;
}
