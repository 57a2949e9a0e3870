// Row shapes of the decision log's tables, as stored (snake_case columns, see migrations.ts).
export type Label = 'airplane' | 'bird';
export type Action = 'moved' | 'kept' | 'failed';

export interface DecisionRow {
  time: string;
  time_ms: number;
  camera: string;
  path: string;
  final_path: string;
  size: number | null;
  sha256: string | null;
  mtime_ms: number | null;
  width: number | null;
  height: number | null;
  format: string | null;
  p_airplane: number | null;
  p_bird: number | null;
  label: Label | null;
  threshold: number | null;
  action: Action;
  error: string | null;
  error_kind: string | null;
  model_id: string | null;
  provider: string | null;
  latency_ms: number | null;
}

export interface CorrectionRow {
  decision_id: number;
  time: string;
  time_ms: number;
  label: Label;
  kind: 'restore' | 'mark' | 'mark-move';
  from_path: string | null;
  to_path: string | null;
  /** Who made it: the web page's member, or the OS user for the CLI; null when unknown (older rows). */
  member?: string | null;
}

export type MoveKind = 'decide' | 'restore' | 'mark-move';

/** The row a pending move writes once the file is in place; its final_path / to_path is filled in then. */
export type PendingRecord =
  | { table: 'decisions'; row: Omit<DecisionRow, 'final_path'> }
  | { table: 'corrections'; row: Omit<CorrectionRow, 'to_path'> };

export interface PendingMoveRow {
  id: number;
  time_ms: number;
  owner_pid: number;
  kind: MoveKind;
  src_path: string;
  dest_path: string;
  target_path: string | null;
  sha256: string | null;
  size: number | null;
  record: string;
}

/** ISO 8601 UTC with milliseconds and the same instant in ms, as every row stores them. */
export function timestamp(ms = Date.now()): { time: string; time_ms: number } {
  return { time: new Date(ms).toISOString(), time_ms: ms };
}
