// The schema, as an ordered list of migrations: migration i brings PRAGMA user_version from i to i + 1.
// Never edit a migration that has shipped; append a new one.
export const MIGRATIONS: readonly string[] = [
  // 1: decisions, corrections and the daemon's crash bookkeeping.
  `
  CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    camera TEXT NOT NULL,
    path TEXT NOT NULL,
    final_path TEXT NOT NULL,
    size INTEGER,
    sha256 TEXT,
    mtime_ms INTEGER,
    width INTEGER,
    height INTEGER,
    format TEXT,
    p_airplane REAL,
    p_bird REAL,
    label TEXT CHECK (label IN ('airplane','bird')),
    threshold REAL,
    action TEXT NOT NULL CHECK (action IN ('moved','kept','failed')),
    error TEXT,
    error_kind TEXT,
    model_id TEXT,
    provider TEXT,
    latency_ms REAL
  );
  CREATE INDEX decisions_time ON decisions (time_ms);
  CREATE INDEX decisions_camera_time ON decisions (camera, time_ms);
  CREATE INDEX decisions_label_time ON decisions (label, time_ms);
  CREATE INDEX decisions_action_time ON decisions (action, time_ms);
  CREATE INDEX decisions_sha256 ON decisions (sha256);
  CREATE INDEX decisions_path ON decisions (path);
  -- Not in the contract's list, additive: the daemon asks "was the file now at this path decided?" on every start.
  CREATE INDEX decisions_final_path ON decisions (final_path);

  CREATE TABLE corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL REFERENCES decisions(id),
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('airplane','bird')),
    kind TEXT NOT NULL CHECK (kind IN ('restore','mark','mark-move')),
    from_path TEXT,
    to_path TEXT
  );
  CREATE INDEX corrections_decision ON corrections (decision_id);
  CREATE INDEX corrections_to_path ON corrections (to_path);

  -- An intent written before a file is moved, deleted in the transaction that records the move's outcome;
  -- whatever is left here after a crash is reconciled at the next start. 'record' is the JSON of the row to write
  -- when the move completes ({"table": "decisions"|"corrections", "row": {...}}), its final path filled in then.
  CREATE TABLE pending_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    owner_pid INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('decide','restore','mark-move')),
    src_path TEXT NOT NULL,
    dest_path TEXT NOT NULL,
    target_path TEXT,
    sha256 TEXT,
    size INTEGER,
    record TEXT NOT NULL
  );
  CREATE INDEX pending_moves_src ON pending_moves (src_path);
  CREATE INDEX pending_moves_target ON pending_moves (target_path);
  `,
  // 2 (added by the members' commands): covering indexes that keep `birdwatch stats` well under a second on a
  // million decisions. Counts per day, camera, action and label become index-only range counts (count(*) over a
  // seek, nothing decoded per row); latency percentiles walk the latency index to the wanted rank instead of
  // sorting every row.
  `
  CREATE INDEX decisions_camera_action_label_time ON decisions (camera, action, label, time_ms, latency_ms,
    error_kind);
  CREATE INDEX decisions_latency ON decisions (latency_ms, time_ms, camera);
  `,
  // 3 (added by the members' web page): who made each correction (the web member's name; the OS user for the CLI),
  // the web page's users and sessions, and the labels of random review ('reviews'), kept apart from corrections:
  // a correction is a mistake someone noticed, a review label an unbiased sample for calibration.
  `
  ALTER TABLE corrections ADD COLUMN member TEXT;
  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer','reviewer')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  -- Only a SHA-256 of each session token is stored: a copy of the database opens no session.
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
  );
  CREATE INDEX sessions_user ON sessions (user_name);
  CREATE TABLE reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL REFERENCES decisions(id),
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('airplane','bird','neither')),
    member TEXT,
    source TEXT NOT NULL CHECK (source IN ('sample'))
  );
  CREATE INDEX reviews_decision ON reviews (decision_id);
  `,
  // 4 (added for running for years): quarantine retention and the daemon's health probe.
  // removals: one row per shot retention deletes from an airplanes folder. Written 'pending' (durably) before the
  // file is unlinked and set 'done' after, so a crash in between is finished by the next pass; the decision row
  // stays, and `log` shows where the file went and when it was removed.
  // heartbeat: the one row /healthz rewrites to prove the database takes writes.
  // decisions_model_time: `log --model ID` walks it in time order. decisions_model_camera_action_time: per-model stats
  // as index-only range counts, like decisions_camera_action_label_time for the rest of `stats`.
  `
  CREATE TABLE removals (
    decision_id INTEGER PRIMARY KEY REFERENCES decisions(id),
    state TEXT NOT NULL CHECK (state IN ('pending','done')),
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER,
    reason TEXT NOT NULL
  );
  CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    time_ms INTEGER NOT NULL,
    pid INTEGER NOT NULL
  );
  CREATE INDEX decisions_model_time ON decisions (model_id, time_ms);
  CREATE INDEX decisions_model_camera_action_time ON decisions (model_id, camera, action, time_ms);
  `,
  // 5 (added for the corrections loop) review_draws: each decision drawn for the random review (review-sample, the
  // web page's "review a sample"); a 'sample' label is accepted only for a drawn decision, so a mistake someone
  // noticed cannot enter the unbiased sample. No foreign key: housekeeping of the log stays free to prune.
  `
  CREATE TABLE review_draws (
    decision_id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL
  );
  `,
  // 6 (added for telling the club, src/events/): the outbox. An event row is written in the same transaction as the
  // change it reports (a decision, a correction, a review label, a threshold change...), so nothing is told that did
  // not happen and nothing that happened goes untold. event_id (a UUID) is what receivers drop duplicates by; payload
  // is the event's JSON as recorded (absolute paths included: the sinks make them relative before sending).
  // event_sinks: per sink (mqtt, webhook:URL) the id of the last event it is done with (delivered, filtered out,
  // failed for good or dropped), and the head event's retry state. event_deliveries: each (event, sink) outcome.
  `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    camera TEXT,
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX events_time ON events (time_ms);
  CREATE TABLE event_sinks (
    sink TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    dropped INTEGER NOT NULL DEFAULT 0,
    memo TEXT,
    updated_ms INTEGER NOT NULL
  );
  CREATE TABLE event_deliveries (
    event_row INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    sink TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('delivered','failed','dropped')),
    attempts INTEGER NOT NULL,
    error TEXT,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (event_row, sink)
  );
  CREATE INDEX event_deliveries_sink_state ON event_deliveries (sink, state, event_row);
  `,
  // 7 (added for the club's promise) threshold_changes: every threshold the daemon's own calibration set for a
  // camera and model (old and new, the n reviewed birds and k of them at or above the new one, the upper bound on
  // the share of birds moved, why). Each decision row keeps the threshold it was decided at (decisions.threshold).
  `
  CREATE TABLE threshold_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    camera TEXT NOT NULL,
    old_threshold REAL NOT NULL,
    new_threshold REAL NOT NULL,
    model_id TEXT NOT NULL,
    budget REAL NOT NULL,
    confidence REAL NOT NULL,
    n INTEGER NOT NULL,
    k INTEGER NOT NULL,
    bound REAL NOT NULL,
    certified INTEGER NOT NULL,
    why TEXT NOT NULL
  );
  CREATE INDEX threshold_changes_camera ON threshold_changes (camera, model_id, id);
  `,
  // 8 (added for reviews that count more) review_draws.design: how each shot was drawn. 'uniform': any decided shot
  // alike; 'stratified': from the shots the model scored high (P(airplane) >= 0.5) more often than from the rest,
  // uniformly inside each (src/calibrate/stratified.ts weighs them back). Draws before this were uniform.
  `
  ALTER TABLE review_draws ADD COLUMN design TEXT NOT NULL DEFAULT 'uniform'
    CHECK (design IN ('uniform', 'stratified'));
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
