//! The decisions of the organizations API: list and get here; create (Step 3's save after a
//! credential check), update (the manage page's edits), delete, repair, rotation, the health check
//! and the engine's tokens each in their own file below. Every query is scoped to the session's
//! portal account; another account's organization is "not found". Secrets are sealed with the
//! keyring before they reach the store and never leave it again.
//!
//! I/O goes through [`super::ports`] (store, sign-ins, clock, delay, log), Microsoft through
//! [`HttpClient`] and client assertions through [`Signers`]; the Worker's adapter implements them.

use super::check::{Checker, Credential, Patience, Signers};
use super::model::{self, ApplicationRow, ValidCredential};
use super::ports::{
    ApplicationChange, Clock, Edit, Exported, ExportedApp, Grant, Log, NewApplicationRow, NewOrganizationRow, Notify,
    OrganizationStore, RecordedHealth, Refusal, SignIns, Sleeper,
};
use super::store::StoreError;
use crate::config::Config;
use crate::error::AppError;
use crate::microsoft::HttpClient;
use crate::provisioning::manifest;
use crate::seal::{binding, Keyring, SealedCertificate};
use crate::time::Millis;
use crate::webhooks::{EventType, PortalEvent};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use shared::api::{
    CreateOrganization, DeleteOrganization, ErrorDetail, Organization, OrganizationList, ReenableChoice, SignInState,
    SignInStatus, UpdateOrganization, Workload,
};
use shared::certificate::ParsedPfx;
use shared::secret::SecretString;
use shared::{CloudEndpoints, CloudEnvironment, ErrorCode, Field, FieldError, OrganizationName};

mod create;
mod delete;
mod engine;
mod health_check;
mod repair;
mod rotation;
#[cfg(test)]
mod tests;
mod update;

type Res<T> = std::result::Result<T, AppError>;

/// Attempts to tell a sign-in that its applications were stored.
pub const HAND_OVER_ATTEMPTS: u32 = 3;
/// Added to `applications_not_removed` when Microsoft refused the signed-in account (403).
const REMOVAL_DENIED: &str = " Microsoft refused the signed-in account: deleting applications needs Cloud \
     Application Administrator or Application Administrator, or Global Administrator. Sign in with such an account \
     and delete again.";
/// How long a save waits for a sign-in's additional applications.
pub const ADDITIONAL_PATIENCE_MS: i64 = 180_000;

/// The organizations of one portal account.
pub struct Organizations<'a, S, I, H, R, G> {
    /// The session's portal account.
    pub account: &'a str,
    /// Storage.
    pub store: &'a S,
    /// The sign-ins (Durable Objects).
    pub sign_ins: &'a I,
    /// Microsoft.
    pub http: &'a H,
    /// Clock, delay and log.
    pub runtime: &'a R,
    /// Signs client assertions.
    pub signers: &'a G,
    /// The keyring, read when something is sealed or opened (a missing one fails only then).
    pub keyring: &'a dyn Fn() -> Res<Keyring>,
}

/// What gets sealed for an application, and its metadata.
struct Sealable {
    app_id: String,
    object_id: Option<String>,
    is_main: bool,
    credential_type: &'static str,
    expires_at: Option<String>,
    thumbprint: Option<String>,
    plaintext: Vec<u8>,
    grant: Option<Grant>,
    workload: Workload,
}

/// What the service granted the stored application `row`, if it registered it.
fn grant_of_row(row: &ApplicationRow) -> Option<Grant> {
    let permissions = serde_json::from_str(row.granted_permissions.as_deref()?).ok()?;
    Some(Grant { manifest_version: row.manifest_version?, permissions })
}

/// What the service granted an application of `ex`.
fn grant_of(a: &ExportedApp) -> Grant {
    Grant { manifest_version: a.manifest_version, permissions: a.permissions.clone() }
}

/// A stored credential, opened.
enum StoredCredential {
    Secret(SecretString),
    /// A certificate and its key; `generated` when the service created it (it can rotate).
    Certificate {
        parsed: Box<ParsedPfx>,
        generated: bool,
    },
}

impl StoredCredential {
    fn check(&self) -> Credential<'_> {
        match self {
            StoredCredential::Secret(s) => Credential::Secret(s),
            StoredCredential::Certificate { parsed, .. } => Credential::Certificate(parsed),
        }
    }
}

/// The check for a credential as entered; `None` for the generated one (held by a sign-in).
fn entered(cred: &ValidCredential) -> Option<Credential<'_>> {
    match cred {
        ValidCredential::Secret(s) => Some(Credential::Secret(s)),
        ValidCredential::Certificate { parsed, .. } => Some(Credential::Certificate(parsed)),
        ValidCredential::Generated { .. } => None,
    }
}

fn sealable_from(cred: &ValidCredential, app_id: &str) -> Option<Sealable> {
    match cred {
        ValidCredential::Secret(s) => Some(Sealable {
            app_id: app_id.to_owned(),
            object_id: None,
            is_main: true,
            credential_type: "secret",
            expires_at: None,
            thumbprint: None,
            plaintext: s.expose().as_bytes().to_vec(),
            grant: None,
            workload: Workload::All,
        }),
        ValidCredential::Certificate { pfx, password, parsed } => Some(Sealable {
            app_id: app_id.to_owned(),
            object_id: None,
            is_main: true,
            credential_type: "certificate",
            expires_at: Some(parsed.info.not_after.clone()),
            thumbprint: Some(parsed.info.thumbprint_sha1.clone()),
            plaintext: SealedCertificate::new(pfx.expose(), password).to_plaintext(),
            grant: None,
            workload: Workload::All,
        }),
        ValidCredential::Generated { .. } => None,
    }
}

/// The applications a sign-in registered, with the credential it generated for each: a certificate
/// (a secret for an application registered before certificates).
fn generated_sealables(ex: &Exported) -> Vec<Sealable> {
    ex.apps
        .iter()
        .filter_map(|a| {
            let (credential_type, expires_at, thumbprint, plaintext) = match (&a.certificate, &a.secret) {
                (Some(c), _) => (
                    "certificate",
                    Some(c.info.not_after.clone()),
                    Some(c.info.thumbprint_sha1.clone()),
                    SealedCertificate::generated(&c.der_base64, &c.pkcs8_base64).to_plaintext(),
                ),
                (None, Some(secret)) => (
                    "secret",
                    a.secret_expires_at.map(|s| crate::time::rfc3339_ms(Millis::from_seconds(s))),
                    None,
                    secret.as_bytes().to_vec(),
                ),
                (None, None) => return None,
            };
            Some(Sealable {
                app_id: a.app_id.clone(),
                object_id: Some(a.object_id.clone()),
                is_main: a.slot().is_main(),
                credential_type,
                expires_at,
                thumbprint,
                plaintext,
                grant: Some(grant_of(a)),
                workload: a.slot().workload(),
            })
        })
        .collect()
}

/// The credential generated for an application of a sign-in, ready to check.
fn generated_credential(a: &ExportedApp, now: i64) -> Res<StoredCredential> {
    match (&a.certificate, &a.secret) {
        (Some(c), _) => SealedCertificate::generated(&c.der_base64, &c.pkcs8_base64)
            .open(now)
            .map(|p| StoredCredential::Certificate { parsed: Box::new(p), generated: true })
            .map_err(crate::certificates::pfx_error),
        (None, Some(secret)) => Ok(StoredCredential::Secret(SecretString::new(secret.clone()))),
        (None, None) => Err(AppError::Internal),
    }
}

/// The additional applications of `ex`, which must all be there (a sign-in that no longer holds
/// them cannot hand over fewer).
fn additional_of(ex: &Exported) -> Res<Vec<Sealable>> {
    let rows: Vec<Sealable> = generated_sealables(ex).into_iter().filter(|s| !s.is_main).collect();
    if rows.len() != usize::from(crate::handover::ADDITIONAL_APPLICATIONS) {
        return Err(FieldError::new(
            Field::ClientSecret,
            "The additional applications are no longer held by the sign-in. Sign in again to create them.",
        )
        .into());
    }
    Ok(rows)
}

/// A store failure where only success matters: already logged by the store.
/// A sign-in's start names an organization (`field`: to repair, or whose applications to remove):
/// refused unless it has the form of an organization ID.
fn named_organization(id: &str, field: Field) -> Res<()> {
    if crate::ids::is_id(id) {
        return Ok(());
    }
    Err(FieldError::new(field, "Give the ID of one of your organizations (as listed on the manage page).").into())
}

/// A sign-in for organization `org` must be in its cloud: refused otherwise, saying where to sign in
/// `to` do what it is for ("repair it").
fn in_its_cloud(org: &model::OrganizationRow, cloud: CloudEnvironment, to: &str) -> Res<()> {
    let stored: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
    if stored == cloud {
        return Ok(());
    }
    Err(FieldError::new(
        Field::Cloud,
        format!("This organization is in the {} cloud: sign in there to {to}.", stored.label()),
    )
    .into())
}

fn internal(_: StoreError) -> AppError {
    AppError::Internal
}

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    fn now(&self) -> Millis {
        self.runtime.now_ms()
    }

    fn now_rfc3339(&self) -> String {
        crate::time::rfc3339_ms(self.now())
    }

    fn checker(&self) -> Checker<'_, H, R, G> {
        Checker { http: self.http, runtime: self.runtime, signers: self.signers }
    }

    async fn check(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
        patience: Patience,
    ) -> Res<()> {
        self.checker().check(endpoints, tenant, app_id, credential, patience).await
    }

    /// Seals `s` into a new row of organization `org_id`.
    fn sealed_row(&self, ring: &Keyring, org_id: &str, s: &Sealable, active: bool) -> NewApplicationRow {
        let id = crate::ids::new_id();
        let (key_id, blob) = ring.seal(&binding(self.account, org_id, &id, s.credential_type), &s.plaintext);
        NewApplicationRow {
            id,
            organization_id: org_id.to_owned(),
            app_id: s.app_id.clone(),
            object_id: s.object_id.clone(),
            is_main: s.is_main,
            active,
            credential_type: s.credential_type,
            credential_expires_at: s.expires_at.clone(),
            certificate_thumbprint: s.thumbprint.clone(),
            key_id,
            secret_ciphertext: STANDARD.encode(blob),
            created_at: self.now_rfc3339(),
            grant: s.grant.clone(),
            workload: s.workload,
            health: None,
        }
    }

    /// Stores the health of application row `row`, checked at `checked_at` (RFC 3339).
    async fn save_health(&self, row: &str, health: &crate::health::AppHealth, checked_at: &str) -> Res<()> {
        let json = serde_json::to_string(health).map_err(|_| AppError::Internal)?;
        self.store.record_health(row, &json, checked_at).await.map_err(internal)
    }

    /// Organization `id` of the account, with its applications.
    async fn load(&self, id: &str) -> Res<(model::OrganizationRow, Vec<ApplicationRow>)> {
        self.store.load(self.account, id).await.map_err(internal)?.ok_or(AppError::NoSuchObject)
    }

    async fn view(&self, id: &str) -> Res<Organization> {
        let (org, apps) = self.load(id).await?;
        let mut view = model::to_api(&org, &apps, self.now().seconds());
        view.health.warnings = self.account_warnings().await;
        Ok(view)
    }

    /// What the account's organizations' health warns of (a failed read warns of nothing).
    async fn account_warnings(&self) -> Vec<shared::api::HealthWarning> {
        match self.store.engine_audit_full(self.account).await {
            Ok(true) => vec![shared::api::HealthWarning::EngineAuditFull],
            _ => vec![],
        }
    }

    /// `GET /api/organizations`.
    pub async fn list(&self) -> Res<OrganizationList> {
        let (orgs, apps) = self.store.list(self.account).await.map_err(internal)?;
        let t = self.now().seconds();
        let warnings = if orgs.is_empty() { vec![] } else { self.account_warnings().await };
        let organizations = orgs
            .iter()
            .map(|o| {
                let mine: Vec<ApplicationRow> = apps.iter().filter(|a| a.organization_id == o.id).cloned().collect();
                let mut view = model::to_api(o, &mine, t);
                view.health.warnings = warnings.clone();
                view
            })
            .collect();
        Ok(OrganizationList { organizations })
    }

    /// `GET /api/organizations/{id}`.
    pub async fn get(&self, id: &str) -> Res<Organization> {
        self.view(id).await
    }

    /// Queues a portal notification about organization `id`.
    async fn notify(&self, kind: EventType, id: &str, data: serde_json::Value) {
        self.runtime.notify(PortalEvent::new(kind, self.account, id, self.now_rfc3339(), data)).await;
    }

    async fn status(&self, sign_in: &str) -> Res<SignInStatus> {
        self.sign_ins.status(sign_in).await?.map_err(Refusal::into_error)
    }

    /// Runs the 3 additional applications with `sign_in` (if not done yet) in the organization's
    /// `cloud` and `tenant` (a sign-in elsewhere creates nothing), and waits for them.
    async fn ensure_additional(&self, sign_in: &str, cloud: CloudEnvironment, tenant: &str) -> Res<()> {
        let s = self.status(sign_in).await?;
        if s.result.as_ref().is_some_and(|r| r.applications >= 3) && s.state == SignInState::Completed {
            return Ok(());
        }
        self.sign_ins.additional(sign_in, cloud, tenant).await?.map_err(Refusal::into_error)?;
        let deadline = self.now() + ADDITIONAL_PATIENCE_MS;
        loop {
            self.runtime.sleep(1000).await;
            let s = self.status(sign_in).await?;
            match s.state {
                SignInState::Completed => return Ok(()),
                SignInState::Failed => {
                    return Err(s.error.unwrap_or_else(|| ErrorDetail::new(ErrorCode::RegistrationFailed)).into())
                }
                _ if self.now() > deadline => return Err(ErrorCode::ReplicationDelay.into()),
                _ => {}
            }
        }
    }

    /// The applications a sign-in registered, for the organization of `cloud` and `tenant`: the one
    /// way applications are taken from a sign-in, so a sign-in in another tenant or cloud is refused.
    async fn exported(&self, sign_in: &str, cloud: CloudEnvironment, tenant: &str) -> Res<Exported> {
        self.exported_for(sign_in, cloud, tenant, None).await
    }

    /// The applications sign-in `sign_in` registered in `tenant` of `cloud`, taken for a save:
    /// a new organization's or an edit's (`repair_of` `None`), or organization `repair_of`'s
    /// repair. A sign-in made for one of these is never taken for another.
    async fn exported_for(
        &self,
        sign_in: &str,
        cloud: CloudEnvironment,
        tenant: &str,
        repair_of: Option<&str>,
    ) -> Res<Exported> {
        let ex = match self.sign_ins.export(sign_in).await? {
            Ok(ex) => ex,
            Err(Refusal { error: Some(d), .. }) if d.code == ErrorCode::SignInNotClaimed => return Err(d.into()),
            Err(_) if repair_of.is_some() => {
                return Err(FieldError::new(
                    Field::SignInId,
                    "The repair sign-in no longer holds what it did (it ended, failed or was already saved). Choose Repair again.",
                )
                .into())
            }
            Err(_) => {
                return Err(FieldError::new(
                    Field::ClientSecret,
                    "The automatically registered applications are no longer held (the sign-in ended or was already saved). Start again from Step 1.",
                )
                .into())
            }
        };
        if ex.cloud != cloud || !ex.tenant_id.eq_ignore_ascii_case(tenant) {
            return Err(ErrorCode::SignInTenantMismatch.into());
        }
        if ex.repair_of.as_deref() != repair_of {
            let message = if repair_of.is_some() {
                "This sign-in was not started to repair this organization. Choose Repair on its edit page."
            } else {
                "This sign-in repairs a saved organization; it cannot add or change another. Start again from Step 1."
            };
            return Err(FieldError::new(Field::SignInId, message).into());
        }
        Ok(ex)
    }

    /// Whether a certificate in Step 3 replaces the secret of an automatic registration: the request
    /// names the sign-in, and that sign-in created the main application. Returns its applications.
    async fn switched_to_certificate(
        &self,
        valid: &model::NewOrganization,
        sign_in: Option<&str>,
        app_id: &str,
    ) -> Res<Option<(String, Exported)>> {
        let (ValidCredential::Certificate { .. }, Some(sign_in)) = (&valid.credential, sign_in) else {
            return Ok(None);
        };
        if valid.multiple {
            self.ensure_additional(sign_in, valid.cloud, valid.tenant_id.as_str()).await?;
        }
        let ex = self.exported(sign_in, valid.cloud, valid.tenant_id.as_str()).await?;
        Ok(ex.apps.iter().any(|a| a.slot().is_main() && a.app_id == app_id).then(|| (sign_in.to_owned(), ex)))
    }

    /// Opens the sealed credential of application row `app_row`: its application ID and credential.
    async fn open_secret(&self, app_row: &str) -> Res<(String, StoredCredential)> {
        self.open_sealed(app_row).await.map(|(app_id, cred, _)| (app_id, cred))
    }

    /// [`Self::open_secret`], and the sealed value it opened (what a rotation may replace, and only
    /// while it is still the one stored).
    async fn open_sealed(&self, app_row: &str) -> Res<(String, StoredCredential, String)> {
        let s = self.store.sealed(app_row).await.map_err(internal)?.ok_or(AppError::NoSuchObject)?;
        let ring = (self.keyring)()?;
        let blob = STANDARD.decode(&s.secret_ciphertext).map_err(|_| AppError::Internal)?;
        let plain = ring
            .open(&s.key_id, &binding(self.account, &s.organization_id, app_row, &s.credential_type), &blob)
            .map_err(|e| {
                self.runtime.error(&format!("opening a sealed credential failed: {e:?}"));
                AppError::Internal
            })?;
        let cred = if s.credential_type == "certificate" {
            let sealed = SealedCertificate::from_plaintext(plain.expose()).ok_or(AppError::Internal)?;
            let parsed = sealed.open(self.now().seconds()).map_err(crate::certificates::pfx_error)?;
            StoredCredential::Certificate { parsed: Box::new(parsed), generated: sealed.version == 2 }
        } else {
            StoredCredential::Secret(SecretString::new(String::from_utf8_lossy(plain.expose()).into_owned()))
        };
        Ok((s.app_id, cred, s.secret_ciphertext))
    }

    /// Tells the sign-in that its applications are stored now (it keeps them and forgets its
    /// secrets). Sent only after the store's write succeeded, and retried; should every attempt
    /// fail, the sign-in still asks D1 before it deletes anything at the end of its hold.
    async fn hand_over(&self, config: &Config, sign_in: &str) {
        for attempt in 1..=HAND_OVER_ATTEMPTS {
            let outcome = if config.dev.fail_saved_handover {
                Err(AppError::Internal)
            } else {
                self.sign_ins.saved(sign_in).await
            };
            match outcome {
                Ok(Ok(())) => return,
                Ok(Err(r)) => self.runtime.warn(&format!("signin {sign_in}: saved hand-over answered {}", r.status)),
                Err(_) => self.runtime.warn(&format!("signin {sign_in}: saved hand-over failed (attempt {attempt})")),
            }
            self.runtime.sleep(250 * i64::from(attempt)).await;
        }
        self.runtime
            .error(&format!("signin {sign_in}: saved hand-over failed; the sign-in will find the organization in D1"));
    }

    /// Tells the sign-in that the save failed for good: it deletes the applications it created now
    /// instead of at the end of its hold (they are not stored anywhere).
    async fn release(&self, sign_in: &str) {
        if let Err(e) = self.sign_ins.release(sign_in).await {
            self.runtime.warn(&format!("signin {sign_in}: release failed: {e:?}"));
        }
    }
}
