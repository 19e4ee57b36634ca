-- Sign-ins under way, per portal account: enforces "only a few at once" atomically.
-- The sign-in's own state lives in its Durable Object; this row only says until when it counts.
CREATE TABLE signins (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    cloud            TEXT NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    active_until_ms  INTEGER NOT NULL
);

CREATE INDEX signins_active_by_account ON signins (account_id, active_until_ms);
