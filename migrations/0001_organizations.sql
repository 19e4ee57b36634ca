-- Organizations added by portal accounts, and the backup applications registered for them.
-- Secrets are stored only as AES-256-GCM ciphertext (see ARCHITECTURE.md, "Secrets at rest").

CREATE TABLE organizations (
    id                     TEXT PRIMARY KEY,              -- UUID chosen by the edge
    account_id             TEXT NOT NULL,                 -- portal account (session claim `acct`)
    name                   TEXT NOT NULL,
    cloud                  TEXT NOT NULL,                 -- shared::CloudEnvironment wire name
    tenant_id              TEXT NOT NULL,                 -- lower-case GUID
    multiple_applications  INTEGER NOT NULL DEFAULT 1,    -- 0/1
    created_at             TEXT NOT NULL,                 -- RFC 3339, UTC
    updated_at             TEXT NOT NULL,
    version                INTEGER NOT NULL DEFAULT 1,    -- optimistic concurrency
    UNIQUE (account_id, tenant_id)
);

CREATE TABLE applications (
    id                     TEXT PRIMARY KEY,
    organization_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    app_id                 TEXT NOT NULL,                 -- Entra application (client) ID
    object_id              TEXT,                          -- Entra object ID, when we created it
    is_main                INTEGER NOT NULL,              -- 0/1
    active                 INTEGER NOT NULL DEFAULT 1,    -- 0/1
    credential_type        TEXT NOT NULL,                 -- 'secret' | 'certificate'
    credential_expires_at  TEXT,                          -- RFC 3339, UTC
    certificate_thumbprint TEXT,                          -- SHA-1, upper-case hex
    key_id                 TEXT NOT NULL,                 -- which encryption key sealed the blobs
    secret_ciphertext      TEXT NOT NULL,                 -- base64(AES-256-GCM nonce || ct || tag)
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    UNIQUE (organization_id, app_id)
);

CREATE INDEX applications_by_organization ON applications (organization_id);
