-- Relais schema v2 (SQLite): real-time segments and computed traits.

-- AUTOINCREMENT: a deleted segment's id is never given to a new one (its
-- history rows keep naming it).
CREATE TABLE segments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    definition      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    backfill_cursor INTEGER NOT NULL,
    backfill_done   INTEGER NOT NULL,
    backfill_total  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE segment_members (
    workspace_id INTEGER NOT NULL,
    segment_id   INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    entered_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, segment_id, profile_id)
) WITHOUT ROWID;
-- No index by profile: a profile's rows are found by primary key, one
-- seek per segment of the workspace (few), which keeps every membership
-- change to one B-tree instead of two.

-- Every entry and exit, kept after the segment is deleted; erased with the
-- profile. cause_seq is the log entry that caused it, when one did.
CREATE TABLE segment_history (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    segment_id   INTEGER NOT NULL,
    entered      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    cause_seq    INTEGER,
    cause        TEXT NOT NULL
);
CREATE INDEX segment_history_profile ON segment_history (workspace_id, profile_id, id);

-- One timer per profile: when a time-based condition may next change.
CREATE TABLE profile_timers (
    workspace_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    due          INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX profile_timers_due ON profile_timers (due, workspace_id, profile_id);

CREATE TABLE computed_traits (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;
