-- Relais schema v8 (SQLite): runs of scheduled and date-trait journeys
-- (docs/journeys.md). A run walks a segment (or every profile) by profile
-- id; `cursor` is the last id walked, moved in the transaction that enters
-- that page's profiles, so a restart resumes after the last page entered.
CREATE TABLE journey_runs (
    workspace_id INTEGER NOT NULL,
    journey_id   TEXT NOT NULL,
    run_key      TEXT NOT NULL,
    cursor       INTEGER NOT NULL,
    entered      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    done_at      INTEGER,
    PRIMARY KEY (workspace_id, journey_id, run_key)
) WITHOUT ROWID;
