-- A partner's batches (onboarding customers with one partner sign-in), for the account's list: the
-- batch itself, with each customer's state and the partner's sealed refresh token while it runs,
-- is in its own Durable Object (PartnerBatch). The counts are those of the batch's last finish.
CREATE TABLE partner_batches (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER,
    total INTEGER NOT NULL,
    saved INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX partner_batches_by_account ON partner_batches (account_id, created_at_ms);
