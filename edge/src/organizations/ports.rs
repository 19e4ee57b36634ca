//! What the organizations service asks of the world, as small traits: the storage (D1), the
//! sign-ins (Durable Objects), the clock, a delay and the log. The Worker implements them in its
//! adapter; tests implement them with fakes. Microsoft is reached through
//! [`crate::microsoft::HttpClient`], client assertions are signed through [`super::check::Signers`].

use super::model::{ApplicationRow, OrganizationRow};
use super::store::StoreError;
use crate::error::AppError;
use crate::time::Millis;
use serde::Deserialize;
use shared::api::{ErrorDetail, SignInStatus, Workload};
use shared::CloudEnvironment;
use std::future::Future;

/// The time, Unix milliseconds.
pub trait Clock {
    /// Now.
    fn now_ms(&self) -> Millis;
}

/// Waiting.
pub trait Sleeper {
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: i64) -> impl Future<Output = ()>;
}

/// The Worker's log (never a secret in a message).
pub trait Log {
    /// Something went wrong but the request goes on.
    fn warn(&self, message: &str);
    /// Something failed.
    fn error(&self, message: &str);
}

/// The portal's notifications: queued here, delivered signed by the Worker's queue consumer
/// ([`crate::webhooks`]). Nothing is queued when no webhook is configured.
pub trait Notify {
    /// Queues `event`. A failure is logged, never returned: the change it reports is done.
    fn notify(&self, event: crate::webhooks::PortalEvent) -> impl Future<Output = ()>;
}

/// An organization to insert (with its applications, in one batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganizationRow {
    /// ID.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// Cloud.
    pub cloud: CloudEnvironment,
    /// Tenant.
    pub tenant_id: String,
    /// The 3 additional applications are on.
    pub multiple_applications: bool,
    /// RFC 3339; also `updated_at`. The version starts at 1.
    pub created_at: String,
}

/// What the service granted an application it registered: the manifest's version and the
/// permission values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// [`crate::provisioning::manifest::MANIFEST_VERSION`] at the registration.
    pub manifest_version: u32,
    /// The app role values granted.
    pub permissions: Vec<String>,
}

/// An application row to insert, its credential already sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplicationRow {
    /// Row ID (part of the sealed value's binding).
    pub id: String,
    /// Owner organization.
    pub organization_id: String,
    /// Application (client) ID.
    pub app_id: String,
    /// Object ID, when this product created the application.
    pub object_id: Option<String>,
    /// The main application.
    pub is_main: bool,
    /// Counted among the active applications.
    pub active: bool,
    /// `secret` or `certificate`.
    pub credential_type: &'static str,
    /// RFC 3339.
    pub credential_expires_at: Option<String>,
    /// SHA-1 thumbprint of a certificate.
    pub certificate_thumbprint: Option<String>,
    /// The key the credential is sealed with.
    pub key_id: String,
    /// The sealed credential, base64.
    pub secret_ciphertext: String,
    /// RFC 3339; also `updated_at`.
    pub created_at: String,
    /// What the service granted, when it registered the application.
    pub grant: Option<Grant>,
    /// What it backs up.
    pub workload: Workload,
    /// Its health from the start (saved knowing what is missing), written with the row.
    pub health: Option<RecordedHealth>,
}

/// A health as stored with an application row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedHealth {
    /// The health, JSON ([`crate::health::AppHealth`]).
    pub health: String,
    /// RFC 3339.
    pub checked_at: String,
}

/// A certificate the service created, replaced by a new one (see
/// [`super::service`]'s rotation): the new credential, sealed, and the replaced key kept until
/// `retire_after_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedCredential {
    /// Application row ID.
    pub id: String,
    /// The sealed credential it replaces (the update applies only while it is still stored).
    pub previous_ciphertext: String,
    /// The key the new credential is sealed with.
    pub key_id: String,
    /// The new sealed credential, base64.
    pub secret_ciphertext: String,
    /// RFC 3339.
    pub credential_expires_at: String,
    /// SHA-1 thumbprint.
    pub certificate_thumbprint: String,
    /// The key ID Entra gave the new certificate.
    pub entra_key_id: String,
    /// The key ID of the replaced certificate, still registered.
    pub retiring_key_id: String,
    /// When the replaced key is removed.
    pub retire_after_ms: Millis,
    /// RFC 3339.
    pub updated_at: String,
}

/// A sealed credential as stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SealedRow {
    /// Owner organization.
    pub organization_id: String,
    /// Application (client) ID.
    pub app_id: String,
    /// `secret` or `certificate`.
    pub credential_type: String,
    /// The key it is sealed with.
    pub key_id: String,
    /// Base64.
    pub secret_ciphertext: String,
}

/// One change to an organization's applications within an [`Edit`], applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationChange {
    /// Delete the application row `id`.
    Delete {
        /// Row ID.
        id: String,
    },
    /// Insert a row.
    Insert(Box<NewApplicationRow>),
    /// The main application row `id` now has application ID `app_id` (same credential).
    SetAppId {
        /// Row ID.
        id: String,
        /// The new application (client) ID.
        app_id: String,
    },
    /// Repair: application row `id` keeps its credential; it is application `object_id` in Entra
    /// and was granted `grant`.
    SetGrant {
        /// Row ID.
        id: String,
        /// Entra object ID.
        object_id: String,
        /// What it was granted.
        grant: Grant,
    },
    /// Every additional application of the organization is (in)active.
    SetAdditionalActive(bool),
    /// Delete every additional application of the organization.
    DeleteAdditional,
}

/// An edit, applied in one transaction only while the organization is still at `version`
/// (otherwise nothing of it is applied and the store answers [`StoreError::VersionMoved`]).
/// The organization's version goes up by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Organization ID.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// The version the edit was made from.
    pub version: i64,
    /// Name (the old one when unchanged).
    pub name: String,
    /// The 3 additional applications are on.
    pub multiple_applications: bool,
    /// RFC 3339; also for the changed application rows.
    pub updated_at: String,
    /// The changes to applications, after the organization's row.
    pub changes: Vec<ApplicationChange>,
}

/// One token request of the backup engine, for the audit (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// The portal account.
    pub account_id: String,
    /// The organization.
    pub organization_id: String,
    /// When, Unix milliseconds.
    pub at_ms: Millis,
    /// The engine key that signed the request.
    pub key_id: String,
    /// The application used ("" when none could be chosen).
    pub application_id: String,
    /// `graph`, `sharepoint` or `exchange`.
    pub resource: String,
    /// `issued`, `cached`, or the error code.
    pub outcome: String,
    /// How many requests: 1, except for `cached`, counted per minute.
    pub count: u64,
}

/// The organizations' storage. Errors are classified once, by the implementation
/// ([`super::store::classify`] for D1); every failure is logged there.
pub trait OrganizationStore {
    /// Organization `id` of `account` and its applications (main first), `None` if there is none.
    fn load(
        &self,
        account: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<(OrganizationRow, Vec<ApplicationRow>)>, StoreError>>;
    /// The sealed credential of application row `id`.
    fn sealed(&self, id: &str) -> impl Future<Output = Result<Option<SealedRow>, StoreError>>;
    /// The account's organizations (by name) and all their applications.
    fn list(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<(Vec<OrganizationRow>, Vec<ApplicationRow>), StoreError>>;
    /// Inserts the organization and its applications, all or nothing.
    fn insert(
        &self,
        organization: &NewOrganizationRow,
        applications: &[NewApplicationRow],
    ) -> impl Future<Output = Result<(), StoreError>>;
    /// The name of the account's organization of `tenant`; `Ok(None)` also when it cannot be read.
    fn name_of_tenant(&self, account: &str, tenant: &str) -> impl Future<Output = Result<Option<String>, StoreError>>;
    /// Applies `edit` under its version guard, all or nothing.
    fn update(&self, edit: &Edit) -> impl Future<Output = Result<(), StoreError>>;
    /// Which of `app_ids` another organization than `organization_id` also holds (any account's: an
    /// application used by two organizations, e.g. a provider's and its customer's Manual one).
    fn held_elsewhere(
        &self,
        organization_id: &str,
        app_ids: &[String],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>>;
    /// Deletes organization `id` of `account` and its application rows `rows`, all or nothing, only
    /// while it is at `version` and has no other rows ([`StoreError::VersionMoved`] otherwise).
    fn delete(
        &self,
        account: &str,
        id: &str,
        version: i64,
        rows: &[String],
    ) -> impl Future<Output = Result<(), StoreError>>;
    /// Records application row `id`'s health (JSON of [`crate::health::AppHealth`]) checked at
    /// `checked_at` (RFC 3339).
    fn record_health(&self, id: &str, health: &str, checked_at: &str) -> impl Future<Output = Result<(), StoreError>>;
    /// Stores a rotated certificate; `Ok(false)` (nothing changed) when the row no longer holds
    /// the credential it replaces.
    fn rotate_credential(&self, rotated: &RotatedCredential) -> impl Future<Output = Result<bool, StoreError>>;
    /// The replaced key of application row `id` is gone from Entra.
    fn key_retired(&self, id: &str) -> impl Future<Output = Result<(), StoreError>>;
    /// Records the backup engine's token requests, one row each, in one write; nothing once the
    /// account's audit is full.
    fn record_usage(&self, rows: &[UsageRow]) -> impl Future<Output = Result<(), StoreError>>;
    /// Whether `account`'s audit of the engine is full (see [`crate::config::Config::engine_audit_max_rows`]).
    fn engine_audit_full(&self, account: &str) -> impl Future<Output = Result<bool, StoreError>>;
    /// The latest `limit` token requests for organization `id` of `account`, newest first.
    fn usage(&self, account: &str, id: &str, limit: u32) -> impl Future<Output = Result<Vec<UsageRow>, StoreError>>;
    /// Organization `id` is next checked at `at_ms`.
    fn schedule_check(&self, id: &str, at_ms: Millis) -> impl Future<Output = Result<(), StoreError>>;
    /// Claims up to `limit` organizations (account, ID) whose next check is due at `now_ms`, the
    /// longest waiting first: their next check moves to `lease_until_ms` (the check itself then
    /// sets it a day ahead; a check that never ran is claimed again after the lease).
    fn claim_due_checks(
        &self,
        now_ms: Millis,
        lease_until_ms: Millis,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>>;
}

/// A sign-in answered with a status other than 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The error body, when the answer had one.
    pub error: Option<ErrorDetail>,
}

impl Refusal {
    /// The sign-in's error as the request's error: its body, else "not found" for a 404.
    pub fn into_error(self) -> AppError {
        match self.error {
            Some(d) => d.into(),
            None if self.status == 404 => AppError::NoSuchObject,
            None => AppError::Internal,
        }
    }
}

/// A sign-in's answer: 200 with its value, or a refusal.
pub type Answer<T> = Result<T, Refusal>;

/// The applications a save takes from a sign-in (the Durable Object's protocol type).
pub use crate::handover::{Exported, ExportedApp};

/// What the organizations code asks a sign-in (its Durable Object), on behalf of the session's
/// account. `Err` when no answer could be had (already logged); `Ok(Err(_))` when it refused.
pub trait SignIns {
    /// `status`: where the sign-in stands.
    fn status(&self, sign_in: &str) -> impl Future<Output = Result<Answer<SignInStatus>, AppError>>;
    /// `export`: the applications it registered, with their secrets.
    fn export(&self, sign_in: &str) -> impl Future<Output = Result<Answer<Exported>, AppError>>;
    /// `additional`: register the 3 additional applications, in `cloud` and `tenant` only.
    fn additional(
        &self,
        sign_in: &str,
        cloud: CloudEnvironment,
        tenant: &str,
    ) -> impl Future<Output = Result<Answer<()>, AppError>>;
    /// `use-certificate`: put this certificate (DER, validity in Unix seconds) on the applications
    /// it created, in place of their generated secrets.
    fn use_certificate(
        &self,
        sign_in: &str,
        certificate_der: &[u8],
        not_before: i64,
        not_after: i64,
    ) -> impl Future<Output = Result<Answer<()>, AppError>>;
    /// `remove`: delete saved organization `organization`'s applications `app_ids` from `tenant` of
    /// `cloud` (refused unless the sign-in was started for that organization); the IDs still there,
    /// and whether Microsoft refused some to the signed-in account.
    fn remove(
        &self,
        sign_in: &str,
        organization: &str,
        cloud: CloudEnvironment,
        tenant: &str,
        app_ids: &[String],
    ) -> impl Future<Output = Result<Answer<crate::handover::Removed>, AppError>>;
    /// `saved`: its applications are stored now (it keeps them and forgets their secrets).
    fn saved(&self, sign_in: &str) -> impl Future<Output = Result<Answer<()>, AppError>>;
    /// `release`: the save failed for good (it deletes the applications it created now).
    fn release(&self, sign_in: &str) -> impl Future<Output = Result<Answer<()>, AppError>>;
}
