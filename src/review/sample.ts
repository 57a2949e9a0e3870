// Review of a random sample: members label randomly drawn decided shots (kept and moved) bird, airplane or
// neither, one at a time; drawn uniformly, or stratified by score (calibration.sampling). Unlike corrections (mistakes someone happened to notice), these labels are an unbiased
// measure of how the filter does on this camera; reviewSummary() is what the /review page shows and what a later
// `birdwatch calibrate` reuses. Labels live in their own table ('reviews', source 'sample'). Every draw is recorded
// (review_draws) and a sample label is accepted only for a drawn decision: a mistake someone noticed is a
// correction (restore, mark), never part of the unbiased sample.
import type { Db } from '../db/index.js';
import { recordEvent, timestamp } from '../db/index.js';
import type { TimeRange } from '../query/time-range.js';
import { HIGH_STRATUM_SHARE, STRATUM_CUT } from '../calibrate/stratified.js';
import type { ReviewDesign } from '../calibrate/labels.js';
import { ActionError } from './errors.js';

export const reviewLabels = ['bird', 'airplane', 'neither'] as const;
export type ReviewLabel = (typeof reviewLabels)[number];

/** Draws until a decided, not yet reviewed shot is found; each id in [min, max] is equally likely. */
const maxDraws = 200;

/** Which decided shots a draw may land on: any (uniform), or one stratum of them (stratified). */
type Pool = 'any' | 'high' | 'low';
const POOL_SQL: Record<Pool, string> = {
  any: '',
  high: `AND d.p_airplane >= ${STRATUM_CUT}`,
  low: `AND d.p_airplane < ${STRATUM_CUT}`,
};

/**
 * A random decided (kept or moved) decision that no member has reviewed yet, or null when none is left. 'uniform':
 * each such decision equally likely. 'stratified' (src/calibrate/stratified.ts): from the shots the model scored
 * P(airplane) >= STRATUM_CUT with chance HIGH_STRATUM_SHARE, else from the rest (the other stratum when one has
 * nothing left), uniformly inside the stratum. The draw and its design are recorded: only a drawn shot takes a
 * sample label, and the design says which bound the labels allow.
 */
export function pickSampleShot(
  db: Db,
  design: ReviewDesign = 'uniform',
  random: () => number = Math.random,
): number | null {
  let id: number | null;
  if (design === 'uniform') {
    id = drawSampleShot(db, 'any', random);
  } else {
    const first: Pool = random() < HIGH_STRATUM_SHARE ? 'high' : 'low';
    id = drawSampleShot(db, first, random) ?? drawSampleShot(db, first === 'high' ? 'low' : 'high', random);
  }
  if (id !== null) {
    db.prepare('INSERT OR IGNORE INTO review_draws (decision_id, time_ms, design) VALUES (?, ?, ?)').run(
      id,
      timestamp().time_ms,
      design,
    );
  }
  return id;
}

/**
 * Uniform over the pool's unreviewed decided shots: a random id is drawn and redrawn until it is one (rejection
 * sampling), never "the next one after a random id", which would favour shots after gaps.
 */
function drawSampleShot(db: Db, pool: Pool, random: () => number): number | null {
  const bounds = db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM decisions').get() as {
    lo: number | null;
    hi: number | null;
  };
  if (bounds.lo === null || bounds.hi === null) return null;
  const unreviewed = `d.action IN ('moved', 'kept') ${POOL_SQL[pool]}
      AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.decision_id = d.id)`;
  const eligible = db.prepare(`SELECT 1 FROM decisions d WHERE d.id = ? AND ${unreviewed}`).pluck();
  for (let draw = 0; draw < maxDraws; draw++) {
    const id = bounds.lo + Math.floor(random() * (bounds.hi - bounds.lo + 1));
    if (eligible.get(id) !== undefined) return id;
  }
  // Nearly everything reviewed (or failed, or in the other stratum): a scan for what is left, still in random order.
  return (
    (db.prepare(`SELECT d.id FROM decisions d WHERE ${unreviewed} ORDER BY random() LIMIT 1`).pluck().get() as
      number | undefined) ?? null
  );
}

export interface ReviewRecord {
  id: number;
  decision_id: number;
  label: ReviewLabel;
  member: string | null;
  time: string;
}

/** Records `member`'s label for a sampled decision (the latest label of a decision counts). */
export function recordReview(db: Db, decisionId: number, label: unknown, member: string | null): ReviewRecord {
  if (!(reviewLabels as readonly unknown[]).includes(label)) {
    throw new ActionError('invalid', `label must be one of ${reviewLabels.join(', ')}, got ${JSON.stringify(label)}`);
  }
  const decision = db.prepare('SELECT action, camera, path, p_airplane FROM decisions WHERE id = ?').get(decisionId) as
    { action: string; camera: string; path: string; p_airplane: number | null } | undefined;
  if (decision === undefined) throw new ActionError('not-found', `no decision with id ${decisionId} in the log`);
  if (decision.action === 'failed') {
    throw new ActionError(
      'conflict',
      `decision ${decisionId} failed (the filter decided nothing): not part of the sample`,
    );
  }
  if (db.prepare('SELECT 1 FROM review_draws WHERE decision_id = ?').get(decisionId) === undefined) {
    throw new ActionError(
      'conflict',
      `decision ${decisionId} was not drawn for the random review ` +
        "('birdwatch review-sample N' or the web page's \"review a sample\" draw shots): a mistake you noticed is a " +
        `correction: birdwatch restore ${decisionId}, or birdwatch mark ${decisionId} --label airplane`,
    );
  }
  const when = timestamp();
  // The label and its event (the outbox, src/db/outbox.ts) in one transaction.
  const id = db.transaction(() => {
    const rowId = Number(
      db
        .prepare(
          `INSERT INTO reviews (decision_id, time, time_ms, label, member, source)
        VALUES (?, ?, ?, ?, ?, 'sample')`,
        )
        .run(decisionId, when.time, when.time_ms, label, member).lastInsertRowid,
    );
    recordEvent(db, {
      type: 'review',
      camera: decision.camera,
      time_ms: when.time_ms,
      payload: {
        id: decisionId,
        review_id: rowId,
        label,
        member,
        action: decision.action,
        p_airplane: decision.p_airplane,
        path: decision.path,
      },
    });
    return rowId;
  })();
  return { id, decision_id: decisionId, label: label as ReviewLabel, member, time: when.time };
}

export interface ReviewSummary {
  /** Decisions with a sample label (the latest label of each counts), in range. */
  reviewed: number;
  /** Labelled bird: how many, and how many of them the filter moved (its costly mistake). */
  birds: number;
  birds_moved: number;
  /** Labelled airplane: how many, and how many the filter caught (moved). */
  airplanes: number;
  airplanes_caught: number;
  /** Labelled neither (empty frame, a deer...): not counted in either share. */
  neither: number;
  /** birds_moved / birds and airplanes_caught / airplanes; null without labels of that class. */
  bird_moved_share: number | null;
  airplane_caught_share: number | null;
  /** The same counts split by what the filter did, for calibration. */
  by_action: { moved: Record<ReviewLabel, number>; kept: Record<ReviewLabel, number> };
}

export interface ReviewFilter extends TimeRange {
  camera?: string;
}

/** What the sample labels say about the filter, over decisions in the range (by decision time). */
export function reviewSummary(db: Db, filter: ReviewFilter = {}): ReviewSummary {
  const terms: string[] = [];
  const params: unknown[] = [];
  if (filter.sinceMs !== undefined) {
    terms.push('d.time_ms >= ?');
    params.push(filter.sinceMs);
  }
  if (filter.untilMs !== undefined) {
    terms.push('d.time_ms < ?');
    params.push(filter.untilMs);
  }
  if (filter.camera !== undefined) {
    terms.push('d.camera = ?');
    params.push(filter.camera);
  }
  const rows = db
    .prepare(
      `SELECT d.action AS action, r.label AS label, count(*) AS n
      FROM reviews r CROSS JOIN decisions d ON d.id = r.decision_id
      WHERE r.source = 'sample' AND r.id = (SELECT max(id) FROM reviews WHERE decision_id = r.decision_id)
        ${terms.map((t) => `AND ${t}`).join(' ')}
      GROUP BY 1, 2`,
    )
    .all(...params) as Array<{ action: 'moved' | 'kept'; label: ReviewLabel; n: number }>;
  const zero = (): Record<ReviewLabel, number> => ({ bird: 0, airplane: 0, neither: 0 });
  const byAction = { moved: zero(), kept: zero() };
  for (const row of rows) {
    if (row.action === 'moved' || row.action === 'kept') byAction[row.action][row.label] += row.n;
  }
  const birds = byAction.moved.bird + byAction.kept.bird;
  const airplanes = byAction.moved.airplane + byAction.kept.airplane;
  return {
    reviewed: rows.reduce((sum, row) => sum + row.n, 0),
    birds,
    birds_moved: byAction.moved.bird,
    airplanes,
    airplanes_caught: byAction.moved.airplane,
    neither: byAction.moved.neither + byAction.kept.neither,
    bird_moved_share: birds === 0 ? null : byAction.moved.bird / birds,
    airplane_caught_share: airplanes === 0 ? null : byAction.moved.airplane / airplanes,
    by_action: byAction,
  };
}
