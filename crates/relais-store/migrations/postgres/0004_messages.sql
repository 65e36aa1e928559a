-- Relais schema v4 (PostgreSQL): the outbox. A message is stored before any
-- delivery attempt; its id is derived from its idempotency key, so asking
-- twice for the same send finds the first one. Times are unix milliseconds.
CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    workspace_id         BIGINT NOT NULL REFERENCES workspaces(id),
    profile_id           BIGINT NOT NULL,
    channel              TEXT NOT NULL,
    provider             TEXT NOT NULL,
    -- 'marketing' | 'transactional'
    category             TEXT NOT NULL,
    idempotency_key      TEXT NOT NULL,
    campaign             TEXT,
    -- queued | sending | sent | delivered | failed | bounced | dead | skipped | cancelled
    status               TEXT NOT NULL,
    -- why skipped / failed / dead, or the last retryable error
    reason               TEXT,
    address              TEXT NOT NULL,   -- JSON (relais_channels::Address)
    content              TEXT NOT NULL,   -- JSON (relais_channels::Content)
    attempts             INTEGER NOT NULL DEFAULT 0,
    -- when the dispatcher should look at it next; NULL once settled
    next_attempt_at      BIGINT,
    -- a claimed message ('sending') belongs to its dispatcher until then
    lease_until          BIGINT,
    provider_message_id  TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    sent_at              BIGINT,
    delivered_at         BIGINT,
    opened_at            BIGINT,
    clicked_at           BIGINT,
    dismissed_at         BIGINT,
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX messages_profile ON messages (workspace_id, profile_id, created_at);
CREATE INDEX messages_ws_created ON messages (workspace_id, created_at);
CREATE INDEX messages_provider_id ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Every delivery attempt and its outcome ('accepted' | 'retry' | 'failed').
CREATE TABLE message_attempts (
    message_id   TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    error        TEXT,
    PRIMARY KEY (message_id, attempt)
);

-- Addresses never to send to again on a channel (hard bounces, complaints,
-- invalid numbers, unregistered push tokens); applies to transactional sends too.
CREATE TABLE suppressions (
    workspace_id  BIGINT NOT NULL,
    channel       TEXT NOT NULL,
    address       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    message_id    TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, channel, address)
);

-- Work for people (call centre, sales owner, store associate), created when
-- a 'task' message is delivered; the task id is the message id.
CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    workspace_id  BIGINT NOT NULL,
    profile_id    BIGINT NOT NULL,
    title         TEXT NOT NULL,
    instructions  TEXT NOT NULL,
    queue         TEXT NOT NULL,
    assignee      TEXT,
    due_at        BIGINT,
    context       TEXT NOT NULL,   -- JSON
    -- open | claimed | done | cancelled
    status        TEXT NOT NULL,
    claimed_by    TEXT,
    claimed_at    BIGINT,
    completed_at  BIGINT,
    outcome       TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX tasks_ws_status ON tasks (workspace_id, status, due_at);

-- Small named settings and secrets (workspace 0: the whole installation),
-- e.g. the key that signs tracking and unsubscribe links.
CREATE TABLE settings (
    workspace_id  BIGINT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
