// The decision log API other modules import.
export { openDatabase, DbSchemaError } from './open.js';
export type { Db, OpenOptions } from './open.js';
export { DecisionLog } from './decision-log.js';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
export { isTransientDbError, retryTransient, RetryAbortedError } from './transient.js';
export type { RetryOptions } from './transient.js';
export * from './rows.js';
export { recordEvent, Outbox, EVENT_TYPES } from './outbox.js';
export type { CameraDay, EventRow, EventType, NewEvent, SinkState, EventListing, FinalOutcome } from './outbox.js';
