-- Relais schema v6 (SQLite): the commerce context (docs/catalog.md).
-- Catalog items and shops are JSON documents as the import formats write
-- them; stock levels are absolute units per (location, SKU). Not personal
-- data: erasure does not touch these tables. Times are unix milliseconds.

-- kind: 'product' (id = product id) or 'variant' (id = its SKU).
CREATE TABLE catalog_items (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    doc          TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, id)
) WITHOUT ROWID;

CREATE TABLE shops (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    id           TEXT NOT NULL,
    doc          TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

-- location_id: a shop id, or an online location ('online').
CREATE TABLE stock_levels (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    location_id  TEXT NOT NULL,
    sku          TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, location_id, sku)
) WITHOUT ROWID;

-- One counter per workspace, moved on by every write of the three tables
-- above: a writer whose in-memory copy is older is refused and reloads.
CREATE TABLE catalog_revisions (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces(id),
    revision     INTEGER NOT NULL
);
