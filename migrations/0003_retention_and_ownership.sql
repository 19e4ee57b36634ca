-- Which organization holds an application (a sign-in asks before it deletes unsaved applications),
-- and the account's recent sign-ins (the start rate limit and the retention sweep read them by time).
CREATE INDEX applications_by_app_id ON applications (app_id);
CREATE INDEX signins_by_account_created ON signins (account_id, created_at_ms);
CREATE INDEX signins_by_created ON signins (created_at_ms);
-- Which method a sign-in uses, for the list of sign-ins under way (GET /api/signins).
ALTER TABLE signins ADD COLUMN method TEXT NOT NULL DEFAULT 'device_code';
