-- Relais schema v3 (SQLite): RFM cut points, one row per workspace,
-- replaced at each refresh. Each measure's 20/40/60/80 % quantiles over the
-- workspace's buyers (profiles with at least one order).
CREATE TABLE rfm_thresholds (
    workspace_id  INTEGER PRIMARY KEY REFERENCES workspaces(id),
    -- whole days since the last order, at computed_at
    recency_20    REAL NOT NULL,
    recency_40    REAL NOT NULL,
    recency_60    REAL NOT NULL,
    recency_80    REAL NOT NULL,
    -- order count
    frequency_20  REAL NOT NULL,
    frequency_40  REAL NOT NULL,
    frequency_60  REAL NOT NULL,
    frequency_80  REAL NOT NULL,
    -- lifetime value
    monetary_20   REAL NOT NULL,
    monetary_40   REAL NOT NULL,
    monetary_60   REAL NOT NULL,
    monetary_80   REAL NOT NULL,
    buyers        INTEGER NOT NULL,
    computed_at   INTEGER NOT NULL
);
