-- The backup engine's audit keeps every token that reached Microsoft and every refusal as a row of
-- its own; tokens answered from the cache are counted per engine key, application, resource and
-- minute in one row (`count`). An account whose audit reached its limit is listed in
-- engine_audit_full by the Cron Trigger: no rows are added for it until retention has made room
-- again, and its organizations' health names the warning.
ALTER TABLE engine_usage ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
CREATE INDEX engine_usage_by_account ON engine_usage (account_id);
CREATE TABLE engine_audit_full (
    account_id TEXT PRIMARY KEY,
    since_ms INTEGER NOT NULL
);
