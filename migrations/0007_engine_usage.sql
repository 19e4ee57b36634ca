-- The backup engine's token requests: who asked, for which organization, application and
-- resource, and what came of it. Never the token. Rows older than ENGINE_AUDIT_DAYS (default 90) are
-- deleted by the Cron Trigger.
CREATE TABLE engine_usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    application_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX engine_usage_by_organization ON engine_usage (organization_id, at_ms);
CREATE INDEX engine_usage_by_time ON engine_usage (at_ms);
