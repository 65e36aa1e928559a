-- Relais schema v1 (SQLite). Times are milliseconds since the Unix epoch.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

-- Keys are stored as SHA-256 hex, never in clear.
CREATE TABLE api_keys (
    hash         TEXT PRIMARY KEY,
    prefix       TEXT NOT NULL,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,
    source_id    INTEGER REFERENCES sources(id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

-- The durable event log. seq is the order of processing; payload is the
-- event as the client sent it, NULL once erased.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    source_id    INTEGER NOT NULL,
    channel      TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    payload      TEXT
);
CREATE UNIQUE INDEX events_message_id ON events (workspace_id, message_id);

CREATE TABLE checkpoints (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);

CREATE TABLE identities (
    workspace_id INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    profile_id   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_profile ON identities (workspace_id, profile_id);

CREATE TABLE profiles (
    workspace_id INTEGER NOT NULL,
    id           INTEGER NOT NULL,
    state        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- A merged profile's id keeps resolving to the profile it was merged into.
CREATE TABLE profile_redirects (
    workspace_id INTEGER NOT NULL,
    old_id       INTEGER NOT NULL,
    new_id       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, old_id)
) WITHOUT ROWID;
CREATE INDEX profile_redirects_new ON profile_redirects (workspace_id, new_id);

CREATE TABLE profile_search (
    workspace_id INTEGER NOT NULL,
    key          TEXT NOT NULL,
    profile_id   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, key, profile_id)
) WITHOUT ROWID;
CREATE INDEX profile_search_profile ON profile_search (workspace_id, profile_id);

CREATE TABLE timeline (
    workspace_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, profile_id, seq)
) WITHOUT ROWID;

CREATE TABLE merges (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    winner       INTEGER NOT NULL,
    loser        INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    reason       TEXT NOT NULL
);
CREATE INDEX merges_winner ON merges (workspace_id, winner);
CREATE INDEX merges_loser ON merges (workspace_id, loser);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
