// Why a member's action (restore, mark, a review label) was refused, as a kind the HTTP layer maps to a status
// (invalid 400, not-found 404, conflict 409); the CLI prints the message and exits 1 as for any Refusal. No CLI
// type here: the CLI and the web page each map these to their own terms.
import { Refusal } from '../errors.js';
import { UnknownDecision } from '../query/decided-shot.js';

export type ActionErrorKind = 'invalid' | 'not-found' | 'conflict';

export class ActionError extends Refusal {
  constructor(
    readonly kind: ActionErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ActionError';
  }
}

/**
 * Runs a step whose refusals (a Refusal from the checks: file gone, outside the folders, changed content) mean
 * the shot's state conflicts with the action; an unknown decision stays not-found. Other errors pass through.
 */
export async function refusalsAs<T>(kind: ActionErrorKind, step: () => Promise<T> | T): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw classify(err, kind);
  }
}

/** An ActionError for a Refusal (kind by its class, else `kind`); anything else unchanged. */
export function classify(err: unknown, kind: ActionErrorKind = 'conflict'): unknown {
  if (err instanceof ActionError) return err;
  if (err instanceof UnknownDecision) return new ActionError('not-found', err.message);
  if (err instanceof Refusal) return new ActionError(kind, err.message);
  return err;
}
