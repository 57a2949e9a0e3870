// Every statement the daemon (and restore/mark) runs against the decision log, prepared once. Each decision and
// correction writes its event row (the outbox, ./outbox.ts) in its own transaction.
import type { Db } from './open.js';
import { recordEvent } from './outbox.js';
import type { CorrectionRow, DecisionRow, MoveKind, PendingMoveRow, PendingRecord } from './rows.js';

const DECISION_COLUMNS = [
  'time',
  'time_ms',
  'camera',
  'path',
  'final_path',
  'size',
  'sha256',
  'mtime_ms',
  'width',
  'height',
  'format',
  'p_airplane',
  'p_bird',
  'label',
  'threshold',
  'action',
  'error',
  'error_kind',
  'model_id',
  'provider',
  'latency_ms',
] as const;
const CORRECTION_COLUMNS = [
  'decision_id',
  'time',
  'time_ms',
  'label',
  'kind',
  'from_path',
  'to_path',
  'member',
] as const;

export class DecisionLog {
  private readonly statements;
  private readonly recordDecision: (row: DecisionRow) => number;
  private readonly recordCorrection: (row: CorrectionRow) => number;

  constructor(readonly db: Db) {
    this.statements = {
      insertDecision: db.prepare(`INSERT INTO decisions (${DECISION_COLUMNS.join(', ')})
        VALUES (${DECISION_COLUMNS.map((c) => '@' + c).join(', ')})`),
      insertCorrection: db.prepare(`INSERT INTO corrections (${CORRECTION_COLUMNS.join(', ')})
        VALUES (${CORRECTION_COLUMNS.map((c) => '@' + c).join(', ')})`),
      decidedByContent: db
        .prepare(
          `SELECT EXISTS (
          SELECT 1 FROM decisions WHERE sha256 = @sha AND final_path = @path
          UNION ALL
          SELECT 1 FROM corrections c JOIN decisions d ON d.id = c.decision_id
            WHERE c.to_path = @path AND d.sha256 = @sha) AS found`,
        )
        .pluck(),
      // The restart shortcut: the file at this path is the one a decision recorded (same size and mtime).
      decidedBySignature: db
        .prepare(
          `SELECT EXISTS (
          SELECT 1 FROM decisions WHERE final_path = @path AND size = @size AND mtime_ms = @mtime
            AND (sha256 IS NOT NULL OR (action = 'failed' AND error_kind IS NOT 'unreadable'))
          UNION ALL
          SELECT 1 FROM corrections c JOIN decisions d ON d.id = c.decision_id
            WHERE c.to_path = @path AND d.size = @size AND d.mtime_ms = @mtime) AS found`,
        )
        .pluck(),
      humanSaysBird: db
        .prepare(
          `SELECT EXISTS (
          SELECT 1 FROM decisions d JOIN corrections c ON c.decision_id = d.id
          WHERE d.sha256 = ? AND c.label = 'bird'
            AND c.id = (SELECT MAX(id) FROM corrections WHERE decision_id = d.id)) AS found`,
        )
        .pluck(),
      isFinalPathOfDecision: db
        .prepare(
          `SELECT EXISTS (
          SELECT 1 FROM decisions WHERE final_path = @path
          UNION ALL SELECT 1 FROM corrections WHERE to_path = @path) AS found`,
        )
        .pluck(),
      addPending: db.prepare(`INSERT INTO pending_moves
          (time_ms, owner_pid, kind, src_path, dest_path, target_path, sha256, size, record)
          VALUES (@time_ms, @owner_pid, @kind, @src_path, @dest_path, @target_path, @sha256, @size, @record)`),
      setPendingTarget: db.prepare(`UPDATE pending_moves SET target_path = ? WHERE id = ?`),
      getPending: db.prepare(`SELECT * FROM pending_moves WHERE id = ?`),
      deletePending: db.prepare(`DELETE FROM pending_moves WHERE id = ?`),
      listPending: db.prepare(`SELECT * FROM pending_moves ORDER BY id`),
      heartbeat: db.prepare(`INSERT INTO heartbeat (id, time_ms, pid) VALUES (1, ?, ?)
          ON CONFLICT (id) DO UPDATE SET time_ms = excluded.time_ms, pid = excluded.pid`),
      pendingTouching: db
        .prepare(
          `SELECT EXISTS (
          SELECT 1 FROM pending_moves WHERE src_path = @path UNION ALL
          SELECT 1 FROM pending_moves WHERE target_path = @path) AS found`,
        )
        .pluck(),
      correctedShot: db.prepare(`SELECT camera, path, action, p_airplane FROM decisions WHERE id = ?`),
    };
    this.recordDecision = db.transaction((row: DecisionRow): number => {
      const id = Number(this.statements.insertDecision.run(row).lastInsertRowid);
      recordEvent(db, {
        type: 'decision',
        camera: row.camera,
        time_ms: row.time_ms,
        payload: decisionPayload(id, row),
      });
      return id;
    });
    this.recordCorrection = db.transaction((row: CorrectionRow): number => {
      const id = Number(this.statements.insertCorrection.run({ ...row, member: row.member ?? null }).lastInsertRowid);
      const shot = this.statements.correctedShot.get(row.decision_id) as
        { camera: string; path: string; action: string; p_airplane: number | null } | undefined;
      recordEvent(db, {
        type: row.kind === 'restore' ? 'restore' : 'mark',
        camera: shot?.camera ?? null,
        time_ms: row.time_ms,
        payload: {
          id: row.decision_id,
          correction_id: id,
          label: row.label,
          moved: row.kind !== 'mark',
          member: row.member ?? null,
          action: shot?.action ?? null,
          p_airplane: shot?.p_airplane ?? null,
          path: shot?.path ?? null,
          from_path: row.from_path,
          to_path: row.to_path,
        },
      });
      return id;
    });
  }

  /** The decision and its event, in one transaction (a savepoint inside a caller's). */
  insertDecision(row: DecisionRow): number {
    return this.recordDecision(row);
  }

  /** The correction and its event (restore or mark), in one transaction. */
  insertCorrection(row: CorrectionRow): number {
    return this.recordCorrection(row);
  }

  /** The "already decided" rule: a decision with this content whose final path is this path, or a correction that
   *  put it here. */
  isDecided(path: string, sha256: string): boolean {
    return this.statements.decidedByContent.get({ path, sha: sha256 }) === 1;
  }

  /** Same question without reading the file: a decision recorded this path with this size and mtime. */
  isDecidedBySignature(path: string, size: number, mtimeMs: number): boolean {
    return this.statements.decidedBySignature.get({ path, size, mtime: Math.trunc(mtimeMs) }) === 1;
  }

  /** A human labelled this content 'bird' (latest correction): the daemon never moves it. */
  humanSaysBird(sha256: string): boolean {
    return this.statements.humanSaysBird.get(sha256) === 1;
  }

  isFinalPathOfDecision(path: string): boolean {
    return this.statements.isFinalPathOfDecision.get({ path }) === 1;
  }

  /** The time (ms) of the camera's latest decision, if it has one (an index lookup: read when a camera starts). */
  lastDecisionTimeMs(camera: string): number | undefined {
    const value = this.db.prepare(`SELECT max(time_ms) FROM decisions WHERE camera = ?`).pluck().get(camera);
    return typeof value === 'number' ? value : undefined;
  }

  // ---- pending moves (see src/fs/logged-move.ts) ----

  /** Records a move intent, durably (fsynced): it must be on disk before the file is touched. */
  addPendingMove(intent: {
    kind: MoveKind;
    src: string;
    dest: string;
    target?: string;
    sha256: string | null;
    size: number | null;
    record: PendingRecord;
  }): number {
    return this.durably(() =>
      Number(
        this.statements.addPending.run({
          time_ms: Date.now(),
          owner_pid: process.pid,
          kind: intent.kind,
          src_path: intent.src,
          dest_path: intent.dest,
          target_path: intent.target ?? null,
          sha256: intent.sha256,
          size: intent.size,
          record: JSON.stringify(intent.record),
        }).lastInsertRowid,
      ),
    );
  }

  /** Records the exact name a move is about to use (durably, like the intent). */
  setPendingTarget(id: number, target: string): void {
    this.durably(() => this.statements.setPendingTarget.run(target, id));
  }

  /** Runs one write with synchronous=FULL: fsynced at commit, whatever the connection's default. */
  durably<T>(fn: () => T): T {
    const previous = this.db.pragma('synchronous', { simple: true }) as number;
    if (previous >= 2) return fn();
    this.db.pragma('synchronous = FULL');
    try {
      return fn();
    } finally {
      this.db.pragma(`synchronous = ${previous}`);
    }
  }

  /**
   * Proves the database takes writes (for /healthz): rewrites the heartbeat row, waiting at most `busyMs` for
   * another process's lock. Throws what SQLite says when it cannot.
   */
  probeWrite(busyMs = 200): void {
    const previous = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${Math.trunc(busyMs)}`);
    try {
      this.statements.heartbeat.run(Date.now(), process.pid);
    } finally {
      this.db.pragma(`busy_timeout = ${previous}`);
    }
  }

  getPendingMove(id: number): PendingMoveRow | undefined {
    return this.statements.getPending.get(id) as PendingMoveRow | undefined;
  }

  listPendingMoves(): PendingMoveRow[] {
    return this.statements.listPending.all() as PendingMoveRow[];
  }

  dropPendingMove(id: number): void {
    this.statements.deletePending.run(id);
  }

  /** Some process is moving a file from or to this path right now (or crashed doing so). */
  isPendingMovePath(path: string): boolean {
    return this.statements.pendingTouching.get({ path }) === 1;
  }

  /**
   * The move is done: write its row (decision or correction, final path filled in) and delete the intent, in one
   * transaction. Returns the new row's id.
   */
  completePendingMove(id: number, finalPath: string): number {
    return this.db
      .transaction(() => {
        const pending = this.getPendingMove(id);
        if (pending === undefined) throw new Error(`pending move ${id} vanished`);
        const record = JSON.parse(pending.record) as PendingRecord;
        const rowId =
          record.table === 'decisions'
            ? this.insertDecision({ ...record.row, final_path: finalPath })
            : this.insertCorrection({ ...record.row, to_path: finalPath });
        this.statements.deletePending.run(id);
        return rowId;
      })
      .immediate();
  }
}

/** A decision's event facts (the row's id, what the filter did and why); paths are made relative when sent. */
function decisionPayload(id: number, row: DecisionRow): Record<string, unknown> {
  return {
    id,
    action: row.action,
    label: row.label,
    p_airplane: row.p_airplane,
    threshold: row.threshold,
    path: row.path,
    final_path: row.final_path,
    model_id: row.model_id,
    error_kind: row.error_kind,
    error: row.error,
  };
}
