-- Relais schema v6 (PostgreSQL): journeys (docs/journeys.md). The same
-- tables as migrations/sqlite/0007_journeys.sql. Ids, names, nodes, pools
-- and codes are listed in byte order, so they use COLLATE "C".

-- status: 'draft' | 'active' | 'paused'; definition: canonical JSON.
CREATE TABLE journeys (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    id           TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    status       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

CREATE TABLE journey_versions (
    workspace_id BIGINT NOT NULL,
    journey_id   TEXT COLLATE "C" NOT NULL,
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, journey_id, version)
);

-- status: 'active' | 'done'. wake_at is NULL when nothing is scheduled (and
-- always once done); context is engine-owned JSON.
CREATE TABLE journey_instances (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id BIGINT NOT NULL,
    journey_id   TEXT COLLATE "C" NOT NULL,
    version      INTEGER NOT NULL,
    profile_id   BIGINT NOT NULL,
    status       TEXT NOT NULL,
    node         TEXT COLLATE "C" NOT NULL,
    wake_at      BIGINT,
    wait_event   TEXT,
    context      TEXT NOT NULL,
    entered_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    exited_at    BIGINT,
    exit_reason  TEXT COLLATE "C",
    converted_at BIGINT
);
-- The runner's timer wheel: only scheduled, active instances are in it, so
-- finding what is due is a range read however many instances exist.
CREATE INDEX journey_instances_wake ON journey_instances (wake_at)
    WHERE wake_at IS NOT NULL AND status = 'active';
CREATE INDEX journey_instances_profile ON journey_instances (workspace_id, profile_id, entered_at);
-- Statistics count per (journey, status, node) from the index alone.
CREATE INDEX journey_instances_journey ON journey_instances (workspace_id, journey_id, status, node);

-- n orders an instance's decisions (drawn in insertion order).
CREATE TABLE journey_trace (
    instance_id  TEXT COLLATE "C" NOT NULL,
    n            BIGINT GENERATED ALWAYS AS IDENTITY,
    at           BIGINT NOT NULL,
    node         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    PRIMARY KEY (instance_id, n)
);

-- Events journeys listen to, written by the processor with the batch that
-- resolved their profile (seq: the event's log seq), deleted once handled.
CREATE TABLE journey_feed (
    seq          BIGINT PRIMARY KEY,
    workspace_id BIGINT NOT NULL,
    profile_id   BIGINT NOT NULL,
    name         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    timestamp    BIGINT NOT NULL,
    properties   TEXT NOT NULL
);

-- At most one offer per (profile, group); an expired one no longer counts.
CREATE TABLE profile_offers (
    workspace_id BIGINT NOT NULL,
    profile_id   BIGINT NOT NULL,
    grp          TEXT COLLATE "C" NOT NULL,
    offer        TEXT NOT NULL,
    granted_by   TEXT NOT NULL,
    granted_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, profile_id, grp)
);

-- A code is free while assigned_at is NULL; assign_key makes assigning
-- idempotent (the same key gets the same code). Erasing its profile clears
-- profile_id and assign_key but keeps assigned_at: the code stays used.
CREATE TABLE coupon_codes (
    workspace_id BIGINT NOT NULL,
    pool         TEXT COLLATE "C" NOT NULL,
    code         TEXT COLLATE "C" NOT NULL,
    profile_id   BIGINT,
    assign_key   TEXT COLLATE "C",
    added_at     BIGINT NOT NULL,
    assigned_at  BIGINT,
    PRIMARY KEY (workspace_id, pool, code)
);
CREATE UNIQUE INDEX coupon_codes_key ON coupon_codes (workspace_id, pool, assign_key)
    WHERE assign_key IS NOT NULL;
CREATE INDEX coupon_codes_free ON coupon_codes (workspace_id, pool, code) WHERE assigned_at IS NULL;
-- The codes of one profile, for its erasure.
CREATE INDEX coupon_codes_profile ON coupon_codes (workspace_id, profile_id) WHERE profile_id IS NOT NULL;

-- A journey's statistics count its messages by idempotency-key prefix. The
-- key's unique index uses the database's collation, in which a prefix is
-- not a range (en_US ignores punctuation at first); byte order makes it one.
CREATE INDEX messages_key_prefix ON messages (workspace_id, idempotency_key COLLATE "C");
