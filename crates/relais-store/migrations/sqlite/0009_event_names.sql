-- Relais schema v9 (SQLite): the catalogue of event names each workspace
-- has seen (journeys warn about names never seen). Written by the
-- processor when a batch brings a new name; counts are approximate.
CREATE TABLE event_names (
    workspace_id INTEGER NOT NULL,
    name         TEXT NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;

-- Names logged before this version, from the timeline (event times).
INSERT INTO event_names (workspace_id, name, first_seen, last_seen, count)
SELECT workspace_id, name, MIN(timestamp), MAX(timestamp), COUNT(*)
FROM timeline
WHERE kind = 'track' AND name <> '' AND length(CAST(name AS BLOB)) <= 256
GROUP BY workspace_id, name;
