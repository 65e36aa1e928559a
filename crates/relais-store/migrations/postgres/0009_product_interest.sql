-- Relais schema v9 (PostgreSQL): the interest index, product key →
-- profiles that viewed or wish-listed it. The same table and backfill as
-- migrations/sqlite/0010_product_interest.sql.
CREATE TABLE product_interest (
    workspace_id BIGINT NOT NULL,
    product_key  TEXT COLLATE "C" NOT NULL,
    profile_id   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, product_key, profile_id)
);
CREATE INDEX product_interest_profile ON product_interest (workspace_id, profile_id);

-- Profiles stored before this version, from their states (`json`, not
-- `jsonb`: it keeps any escape the processor wrote): the `product_id` and
-- `sku` of each item of `commerce.recently_viewed` and `commerce.wishlist`,
-- keys of at most 256 bytes.
WITH lists AS (
    SELECT workspace_id, id, state::json -> 'commerce' -> 'recently_viewed' AS list FROM profiles
    UNION ALL
    SELECT workspace_id, id, state::json -> 'commerce' -> 'wishlist' FROM profiles
), items AS (
    SELECT l.workspace_id, l.id, i.item
    FROM lists l,
         json_array_elements(CASE WHEN json_typeof(l.list) = 'array' THEN l.list ELSE '[]'::json END) AS i(item)
    WHERE json_typeof(i.item) = 'object'
), keys AS (
    SELECT workspace_id, id, item ->> 'product_id' AS k
    FROM items WHERE json_typeof(item -> 'product_id') = 'string'
    UNION ALL
    SELECT workspace_id, id, item ->> 'sku'
    FROM items WHERE json_typeof(item -> 'sku') = 'string'
)
INSERT INTO product_interest (workspace_id, product_key, profile_id)
SELECT DISTINCT workspace_id, k, id FROM keys WHERE octet_length(k) <= 256
ON CONFLICT DO NOTHING;
