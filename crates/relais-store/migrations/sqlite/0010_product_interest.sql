-- Relais schema v10 (SQLite): the interest index, product key → profiles
-- that viewed or wish-listed it (src/interest.rs). Written by the processor
-- with the profile states; read by the catalog's per-profile fan-out.
CREATE TABLE product_interest (
    workspace_id INTEGER NOT NULL,
    product_key  TEXT NOT NULL,
    profile_id   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, product_key, profile_id)
) WITHOUT ROWID;
CREATE INDEX product_interest_profile ON product_interest (workspace_id, profile_id);

-- Profiles stored before this version, from their states: the `product_id`
-- and `sku` of each item of `commerce.recently_viewed` and
-- `commerce.wishlist` (as the processor writes them; keys of at most 256
-- bytes; a state that is not JSON adds nothing).
WITH states AS (
    SELECT workspace_id, id, CASE WHEN json_valid(state) THEN state ELSE '{}' END AS state
    FROM profiles
), items AS (
    SELECT s.workspace_id, s.id, i.value AS item
    FROM states s, json_each(s.state, '$.commerce.recently_viewed') i
    WHERE i.type = 'object'
    UNION ALL
    SELECT s.workspace_id, s.id, i.value AS item
    FROM states s, json_each(s.state, '$.commerce.wishlist') i
    WHERE i.type = 'object'
), keys AS (
    SELECT workspace_id, id, json_extract(item, '$.product_id') AS k
    FROM items WHERE json_type(item, '$.product_id') = 'text'
    UNION ALL
    SELECT workspace_id, id, json_extract(item, '$.sku') AS k
    FROM items WHERE json_type(item, '$.sku') = 'text'
)
INSERT OR IGNORE INTO product_interest (workspace_id, product_key, profile_id)
SELECT workspace_id, k, id FROM keys WHERE length(CAST(k AS BLOB)) <= 256;
