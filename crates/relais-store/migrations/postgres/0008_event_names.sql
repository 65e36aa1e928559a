-- Relais schema v8 (PostgreSQL): the catalogue of event names each
-- workspace has seen. The same table as migrations/sqlite/0009_event_names.sql.
CREATE TABLE event_names (
    workspace_id BIGINT NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

-- Names logged before this version, from the timeline (event times).
INSERT INTO event_names (workspace_id, name, first_seen, last_seen, count)
SELECT workspace_id, name, MIN(timestamp), MAX(timestamp), COUNT(*)
FROM timeline
WHERE kind = 'track' AND name <> '' AND octet_length(name) <= 256
GROUP BY workspace_id, name;
