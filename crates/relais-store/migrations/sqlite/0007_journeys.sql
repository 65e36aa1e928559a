-- Relais schema v7 (SQLite): journeys (docs/journeys.md). Definitions with
-- every version kept (an instance finishes the version it entered), one
-- instance per (journey, profile, entry) with its timer and trace, the feed
-- of events journeys react to, offers held by profiles and coupon pools.
-- Times are unix milliseconds.

-- status: 'draft' | 'active' | 'paused'; definition: canonical JSON.
CREATE TABLE journeys (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
) WITHOUT ROWID;

CREATE TABLE journey_versions (
    workspace_id INTEGER NOT NULL,
    journey_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, journey_id, version)
) WITHOUT ROWID;

-- status: 'active' | 'done'. wake_at is NULL when nothing is scheduled (and
-- always once done); context is engine-owned JSON.
CREATE TABLE journey_instances (
    id           TEXT PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    journey_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    status       TEXT NOT NULL,
    node         TEXT NOT NULL,
    wake_at      INTEGER,
    wait_event   TEXT,
    context      TEXT NOT NULL,
    entered_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    exited_at    INTEGER,
    exit_reason  TEXT,
    converted_at INTEGER
);
-- The runner's timer wheel: only scheduled, active instances are in it, so
-- finding what is due is a range read however many instances exist.
CREATE INDEX journey_instances_wake ON journey_instances (wake_at)
    WHERE wake_at IS NOT NULL AND status = 'active';
CREATE INDEX journey_instances_profile ON journey_instances (workspace_id, profile_id, entered_at);
-- Statistics count per (journey, status, node) from the index alone.
CREATE INDEX journey_instances_journey ON journey_instances (workspace_id, journey_id, status, node);

-- n orders an instance's decisions (a rowid: always above the rows before).
CREATE TABLE journey_trace (
    n            INTEGER PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    at           INTEGER NOT NULL,
    node         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX journey_trace_instance ON journey_trace (instance_id, n);

-- Events journeys listen to, written by the processor with the batch that
-- resolved their profile (seq: the event's log seq), deleted once handled.
CREATE TABLE journey_feed (
    seq          INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    name         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    properties   TEXT NOT NULL
);

-- At most one offer per (profile, group); an expired one no longer counts.
CREATE TABLE profile_offers (
    workspace_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    grp          TEXT NOT NULL,
    offer        TEXT NOT NULL,
    granted_by   TEXT NOT NULL,
    granted_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, profile_id, grp)
) WITHOUT ROWID;

-- A code is free while assigned_at is NULL; assign_key makes assigning
-- idempotent (the same key gets the same code). Erasing its profile clears
-- profile_id and assign_key but keeps assigned_at: the code stays used.
CREATE TABLE coupon_codes (
    workspace_id INTEGER NOT NULL,
    pool         TEXT NOT NULL,
    code         TEXT NOT NULL,
    profile_id   INTEGER,
    assign_key   TEXT,
    added_at     INTEGER NOT NULL,
    assigned_at  INTEGER,
    PRIMARY KEY (workspace_id, pool, code)
);
CREATE UNIQUE INDEX coupon_codes_key ON coupon_codes (workspace_id, pool, assign_key)
    WHERE assign_key IS NOT NULL;
CREATE INDEX coupon_codes_free ON coupon_codes (workspace_id, pool, code) WHERE assigned_at IS NULL;
-- The codes of one profile, for its erasure.
CREATE INDEX coupon_codes_profile ON coupon_codes (workspace_id, profile_id) WHERE profile_id IS NOT NULL;
