-- What the service granted each application it registered: the permission manifest's version and
-- the app role values (a JSON array), so that organizations lacking a newer permission can be found
-- (edge/src/provisioning/manifest.rs). NULL for applications the administrator registered.
ALTER TABLE applications ADD COLUMN manifest_version INTEGER;
ALTER TABLE applications ADD COLUMN granted_permissions TEXT;
-- What the application backs up (shared::api::Workload): the main application and the administrator's
-- have every workload; each additional application one. Older additional applications were clones.
ALTER TABLE applications ADD COLUMN workload TEXT NOT NULL DEFAULT 'all';

-- Applications registered before the manifest had versions were granted version 1, in every cloud.
UPDATE applications
SET manifest_version = 1,
    granted_permissions = '["Organization.Read.All","User.Read.All","Group.Read.All","Mail.ReadWrite","Calendars.ReadWrite","Contacts.ReadWrite","Files.ReadWrite.All","Sites.ReadWrite.All","Team.ReadBasic.All","Channel.ReadBasic.All","ChannelMessage.Read.All","Tasks.ReadWrite.All","Sites.FullControl.All","full_access_as_app"]'
WHERE object_id IS NOT NULL;
