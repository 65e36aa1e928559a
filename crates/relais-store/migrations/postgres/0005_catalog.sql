-- Relais schema v5 (PostgreSQL): the commerce context (docs/catalog.md).
-- The same tables as migrations/sqlite/0006_catalog.sql. Ids are paged by
-- keyset, so they use COLLATE "C" (byte order, as SQLite's BINARY).

-- kind: 'product' (id = product id) or 'variant' (id = its SKU).
CREATE TABLE catalog_items (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    kind         TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    doc          TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, kind, id)
);

CREATE TABLE shops (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    id           TEXT COLLATE "C" NOT NULL,
    doc          TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- location_id: a shop id, or an online location ('online').
CREATE TABLE stock_levels (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    location_id  TEXT COLLATE "C" NOT NULL,
    sku          TEXT COLLATE "C" NOT NULL,
    quantity     INTEGER NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, location_id, sku)
);

-- One counter per workspace, moved on by every write of the three tables
-- above (UPDATE … WHERE revision = expected: a stale writer is refused).
CREATE TABLE catalog_revisions (
    workspace_id BIGINT PRIMARY KEY REFERENCES workspaces(id),
    revision     BIGINT NOT NULL
);
