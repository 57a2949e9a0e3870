// The decision log API other modules import.
export { openDatabase, DbSchemaError } from './open.js';
export type { Db, OpenOptions } from './open.js';
export { DecisionLog } from './decision-log.js';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
export { isTransientDbError, retryTransient, RetryAbortedError } from './transient.js';
export type { RetryOptions } from './transient.js';
export * from './rows.js';
