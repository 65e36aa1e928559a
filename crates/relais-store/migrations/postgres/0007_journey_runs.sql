-- Relais schema v7 (PostgreSQL): runs of scheduled and date-trait journeys.
-- The same table as migrations/sqlite/0008_journey_runs.sql.
CREATE TABLE journey_runs (
    workspace_id BIGINT NOT NULL,
    journey_id   TEXT COLLATE "C" NOT NULL,
    run_key      TEXT COLLATE "C" NOT NULL,
    cursor       BIGINT NOT NULL,
    entered      BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    done_at      BIGINT,
    PRIMARY KEY (workspace_id, journey_id, run_key)
);
