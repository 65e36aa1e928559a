-- Relais schema v3 (PostgreSQL): RFM cut points, one row per workspace.
-- The same table as migrations/sqlite/0003_rfm.sql.
CREATE TABLE rfm_thresholds (
    workspace_id  BIGINT PRIMARY KEY REFERENCES workspaces(id),
    -- whole days since the last order, at computed_at
    recency_20    DOUBLE PRECISION NOT NULL,
    recency_40    DOUBLE PRECISION NOT NULL,
    recency_60    DOUBLE PRECISION NOT NULL,
    recency_80    DOUBLE PRECISION NOT NULL,
    -- order count
    frequency_20  DOUBLE PRECISION NOT NULL,
    frequency_40  DOUBLE PRECISION NOT NULL,
    frequency_60  DOUBLE PRECISION NOT NULL,
    frequency_80  DOUBLE PRECISION NOT NULL,
    -- lifetime value
    monetary_20   DOUBLE PRECISION NOT NULL,
    monetary_40   DOUBLE PRECISION NOT NULL,
    monetary_60   DOUBLE PRECISION NOT NULL,
    monetary_80   DOUBLE PRECISION NOT NULL,
    buyers        BIGINT NOT NULL,
    computed_at   BIGINT NOT NULL
);
