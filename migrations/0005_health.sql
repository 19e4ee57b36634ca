-- Health checks (edge/src/health.rs): each application's last finding (JSON of health::AppHealth)
-- and when it was checked; each organization's next scheduled check. New and existing organizations
-- start at 0: due at the next Cron Trigger, then a day after each check.
ALTER TABLE applications ADD COLUMN health TEXT;
ALTER TABLE applications ADD COLUMN checked_at TEXT;
ALTER TABLE organizations ADD COLUMN next_check_at_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX organizations_next_check ON organizations (next_check_at_ms);
