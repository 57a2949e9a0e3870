// The file-moving API: raw no-clobber moves, moves recorded in the decision log, and crash reconciliation.
export {
  moveNoClobber,
  collisionName,
  firstFreeName,
  tempPathFor,
  isOwnTempName,
  syncFolder,
  assertRealFolders,
  SourceChangedError,
  TEMP_PREFIX,
} from './move.js';
export type { MoveOptions } from './move.js';
export { moveLogged } from './logged-move.js';
export type { LoggedMoveRequest, LoggedMoveOptions, LoggedMoveResult } from './logged-move.js';
export { reconcilePendingMoves, removeLeftoverTemps, tempsInUse, hashFile } from './reconcile.js';
export type { ReconcileSummary } from './reconcile.js';
export { copyFileAtomic, writeFileAtomic, writeJsonAtomic } from './atomic-write.js';
export type { AtomicWriteOptions } from './atomic-write.js';
