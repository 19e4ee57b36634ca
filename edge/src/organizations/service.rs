//! The decisions of the organizations API: list, get, create (Step 3's save after a credential
//! check), update (the manage page's edits) and delete. Every query is scoped to the session's
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
use super::seal::{binding, Keyring, SealedCertificate};
use super::store::StoreError;
use crate::config::Config;
use crate::error::AppError;
use crate::microsoft::HttpClient;
use crate::provisioning::manifest;
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

mod engine;
mod health_check;
mod repair;
mod rotation;
#[cfg(test)]
mod tests;

type Res<T> = std::result::Result<T, AppError>;

/// Attempts to tell a sign-in that its applications were stored.
pub const HAND_OVER_ATTEMPTS: u32 = 3;
/// Added to `applications_not_removed` when Microsoft refused the signed-in account (403).
const REMOVAL_DENIED: &str = " Microsoft refused the signed-in account: deleting applications needs the Global \
     Administrator, Application Administrator or Cloud Application Administrator role. Sign in with such an account \
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
                    a.secret_expires_at.map(|s| crate::time::rfc3339_ms(s * 1000)),
                    None,
                    secret.as_bytes().to_vec(),
                ),
                (None, None) => return None,
            };
            Some(Sealable {
                app_id: a.app_id.clone(),
                object_id: Some(a.object_id.clone()),
                is_main: a.index == 0,
                credential_type,
                expires_at,
                thumbprint,
                plaintext,
                grant: Some(grant_of(a)),
                workload: Workload::of_index(a.index),
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
    if rows.len() != usize::from(crate::signin::record::ADDITIONAL_APPLICATIONS) {
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
    fn now(&self) -> i64 {
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
        let mut view = model::to_api(&org, &apps, self.now() / 1000);
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
        let t = self.now() / 1000;
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

    /// Whether a sign-in may be started for deleting organization `id`'s applications from
    /// Microsoft 365: it is this account's, and in `cloud`.
    pub async fn removal_target(&self, id: &str, cloud: CloudEnvironment) -> Res<()> {
        named_organization(id, Field::RemoveOrganizationId)?;
        let (org, _) = self.load(id).await?;
        in_its_cloud(&org, cloud, "remove its applications")
    }

    /// `DELETE /api/organizations/{id}` with `{"confirm": true}`.
    pub async fn delete(&self, id: &str, req: DeleteOrganization) -> Res<()> {
        if !req.confirm {
            return Err(ErrorDetail {
                field: Some(Field::Confirm),
                ..ErrorDetail::new(ErrorCode::ConfirmationRequired)
            }
            .into());
        }
        let (org, apps) = self.load(id).await?;
        if org.version != req.version {
            // Another change was saved since the admin looked: nothing is deleted anywhere.
            return Err(ErrorCode::EditConflict.into());
        }
        let mut removed = 0;
        if let Some(sign_in) = req.remove_with_sign_in.as_deref() {
            if !crate::ids::is_id(sign_in) {
                return Err(FieldError::new(
                    Field::SignInId,
                    "Give the ID of the sign-in made for removing the applications.",
                )
                .into());
            }
            // The organization's own applications, as stored: never IDs the caller names.
            let mut app_ids: Vec<String> = apps.iter().map(|a| a.app_id.clone()).collect();
            app_ids.dedup();
            // An application another organization uses stays: nothing is deleted then.
            let shared = self.store.held_elsewhere(id, &app_ids).await.map_err(internal)?;
            if !shared.is_empty() {
                let detail = ErrorDetail::new(ErrorCode::ApplicationsShared);
                let message = format!("{} Shared: {}.", detail.message, shared.join(", "));
                return Err(ErrorDetail { message, ..detail }.into());
            }
            let cloud: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
            let removal = self
                .sign_ins
                .remove(sign_in, id, cloud, &org.tenant_id, &app_ids)
                .await?
                .map_err(Refusal::into_error)?;
            if !removal.not_removed.is_empty() {
                let detail = ErrorDetail::new(ErrorCode::ApplicationsNotRemoved);
                let mut message = format!("{} Still registered: {}.", detail.message, removal.not_removed.join(", "));
                if removal.denied {
                    message.push_str(REMOVAL_DENIED);
                }
                return Err(ErrorDetail { message, ..detail }.into());
            }
            removed = app_ids.len();
        }
        // Only the rows read above, and only at the version the admin saw: a change saved while
        // Microsoft was deleting (new applications of a "Recreate") keeps the organization.
        let rows: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
        match self.store.delete(self.account, id, req.version, &rows).await {
            Ok(()) => {}
            Err(StoreError::VersionMoved) => return Err(ErrorCode::EditConflict.into()),
            Err(e) => return Err(internal(e)),
        }
        self.notify(EventType::OrganizationDeleted, id, json!({ "removed_applications": removed })).await;
        Ok(())
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
        Ok(ex.apps.iter().any(|a| a.index == 0 && a.app_id == app_id).then(|| (sign_in.to_owned(), ex)))
    }

    /// `POST /api/organizations` (answered 201).
    pub async fn create(&self, config: &Config, req: CreateOrganization) -> Res<Organization> {
        let valid = model::validate_create(&req, self.now() / 1000)?;
        let ring = (self.keyring)()?;
        let endpoints = config.endpoints(valid.cloud);
        let tenant = valid.tenant_id.as_str();
        let app_id = valid.app_id.as_str();

        let mut rows: Vec<Sealable> = vec![];
        let mut sign_in_to_close: Option<String> = None;
        let mut acknowledged: Vec<String> = vec![];
        match &valid.credential {
            ValidCredential::Generated { sign_in_id } => {
                if valid.multiple {
                    self.ensure_additional(sign_in_id, valid.cloud, tenant).await?;
                }
                let ex = self.exported(sign_in_id, valid.cloud, tenant).await?;
                if !ex.apps.iter().any(|a| a.index == 0 && a.app_id == app_id) {
                    return Err(FieldError::new(
                        Field::ApplicationId,
                        "The tenant ID and application ID must be those of the automatic registration.",
                    )
                    .into());
                }
                // Verified by the registration already; checked once more right before it is stored.
                if let Some(main) = ex.apps.iter().find(|a| a.index == 0) {
                    let credential = generated_credential(main, self.now() / 1000)?;
                    self.check(&endpoints, tenant, app_id, credential.check(), Patience::CREATED).await?;
                }
                if valid.multiple {
                    additional_of(&ex)?;
                }
                rows = generated_sealables(&ex);
                sign_in_to_close = Some(sign_in_id.clone());
            }
            cred => {
                if let Some((sign_in, ex)) =
                    self.switched_to_certificate(&valid, req.sign_in_id.as_deref(), app_id).await?
                {
                    // Automatic registration, then Step 3 switched to a certificate: register it on
                    // the created applications (removing the generated secrets) while the sign-in
                    // still holds the admin's token, then check it like any certificate.
                    let ValidCredential::Certificate { parsed, .. } = cred else {
                        unreachable!("checked by switched_to_certificate")
                    };
                    let (nbf, exp) = parsed.validity;
                    self.sign_ins
                        .use_certificate(&sign_in, &parsed.certificate_der, nbf, exp)
                        .await?
                        .map_err(Refusal::into_error)?;
                    self.check(&endpoints, tenant, app_id, Credential::Certificate(parsed), Patience::CREATED).await?;
                    for a in &ex.apps {
                        if let Some(mut row) = sealable_from(cred, &a.app_id) {
                            row.object_id = Some(a.object_id.clone());
                            row.is_main = a.index == 0;
                            row.grant = Some(grant_of(a));
                            row.workload = Workload::of_index(a.index);
                            rows.push(row);
                        }
                    }
                    sign_in_to_close = Some(sign_in);
                } else {
                    let credential = entered(cred).ok_or(AppError::Internal)?;
                    self.check(&endpoints, tenant, app_id, credential, Patience::TYPED).await?;
                    // An application the administrator registered: before anything is created
                    // for it, its permissions are compared with the manifest.
                    if !self.registered_by(req.sign_in_id.as_deref(), valid.cloud, tenant, app_id).await {
                        acknowledged = self
                            .manifest_check(&endpoints, tenant, app_id, credential, &req.acknowledged_permissions)
                            .await?;
                    }
                    // Checked before the administrator is asked to sign in: a typo is found first.
                    if valid.multiple && req.sign_in_id.is_none() {
                        return Err(ErrorCode::SignInRequired.into());
                    }
                    rows.extend(sealable_from(cred, app_id));
                    // (A certificate for the sign-in's own application took the branch above.)
                    let typed_password = matches!(cred, ValidCredential::Secret(_));
                    if let Some(sign_in) = req.sign_in_id.as_ref().filter(|_| valid.multiple || typed_password) {
                        if valid.multiple {
                            self.ensure_additional(sign_in, valid.cloud, tenant).await?;
                        }
                        let ex = self.exported(sign_in, valid.cloud, tenant).await?;
                        // A password typed for the application the sign-in registered: the row keeps
                        // what the service granted it, and the sign-in hands it over.
                        let own = ex.apps.iter().find(|a| a.index == 0 && a.app_id == app_id);
                        if let (Some(main), Some(row)) = (own, rows.first_mut()) {
                            row.object_id = Some(main.object_id.clone());
                            row.grant = Some(grant_of(main));
                        }
                        if valid.multiple {
                            rows.extend(additional_of(&ex)?);
                        }
                        if valid.multiple || own.is_some() {
                            sign_in_to_close = Some(sign_in.clone());
                        }
                    }
                }
            }
        }

        let organization = NewOrganizationRow {
            id: crate::ids::new_id(),
            account_id: self.account.to_owned(),
            name: valid.name.as_str().to_owned(),
            cloud: valid.cloud,
            tenant_id: tenant.to_owned(),
            multiple_applications: valid.multiple,
            created_at: self.now_rfc3339(),
        };
        let mut applications: Vec<NewApplicationRow> =
            rows.iter().map(|row| self.sealed_row(&ring, &organization.id, row, true)).collect();
        if let Some(main) = applications.iter_mut().find(|a| a.is_main).filter(|_| !acknowledged.is_empty()) {
            // Saved knowing what is missing: shown as needing attention from the start, in the
            // same write as the organization.
            let health = crate::health::AppHealth::acknowledged(acknowledged);
            let health = serde_json::to_string(&health).map_err(|_| AppError::Internal)?;
            main.health = Some(RecordedHealth { health, checked_at: self.now_rfc3339() });
        }
        match self.store.insert(&organization, &applications).await {
            Ok(()) => {}
            Err(StoreError::Unique) => {
                let existing =
                    self.store.name_of_tenant(self.account, tenant).await.map_err(internal)?.unwrap_or_default();
                return Err(ErrorDetail {
                    message: format!(
                        "This Microsoft 365 organization has already been added as \"{existing}\". Edit the existing entry instead."
                    ),
                    ..ErrorDetail::new(ErrorCode::OrganizationExists)
                }
                .into());
            }
            Err(_) => return Err(AppError::Internal),
        }
        if let Some(sign_in) = sign_in_to_close {
            // The applications belong to the organization now: the sign-in keeps them and forgets its secrets.
            self.hand_over(config, &sign_in).await;
        }
        let view = self.view(&organization.id).await?;
        let data = json!({"name": view.name, "cloud": view.cloud, "tenant_id": view.tenant_id,
                          "application_id": view.application_id, "active_applications": view.active_applications});
        self.notify(EventType::OrganizationAdded, &view.id, data).await;
        Ok(view)
    }

    /// Whether sign-in `sign_in` (the account's own: the Durable Object checks) registered `app_id`
    /// in `tenant` of `cloud` as its main application, and so granted it the manifest; an
    /// application the administrator registered by hand otherwise.
    async fn registered_by(&self, sign_in: Option<&str>, cloud: CloudEnvironment, tenant: &str, app_id: &str) -> bool {
        let Some(sign_in) = sign_in else { return false };
        let Ok(status) = self.status(sign_in).await else { return false };
        status.cloud == cloud
            && status.result.is_some_and(|r| {
                r.application_id.eq_ignore_ascii_case(app_id) && r.tenant_id.eq_ignore_ascii_case(tenant)
            })
    }

    /// Compares the permissions granted to an application the administrator registered with the
    /// manifest of the endpoints' cloud. What is missing must all be in `acknowledged` (what the
    /// administrator saw listed and saves without): then it is returned, to be recorded; otherwise
    /// the answer is `permissions_missing` with the list.
    async fn manifest_check(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
        acknowledged: &[String],
    ) -> Res<Vec<String>> {
        let granted = self
            .checker()
            .granted_roles(endpoints, tenant, app_id, credential)
            .await
            .map_err(|e| AppError::from(e.detail()))?;
        let missing = manifest::missing_permissions(endpoints.cloud, Workload::All, &granted);
        if missing.iter().any(|p| !acknowledged.contains(&p.value)) {
            return Err(ErrorDetail {
                field: Some(Field::ApplicationId),
                missing_permissions: missing,
                ..ErrorDetail::new(ErrorCode::PermissionsMissing)
            }
            .into());
        }
        Ok(missing.into_iter().map(|p| p.value).collect())
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
            let parsed = sealed.open(self.now() / 1000).map_err(crate::certificates::pfx_error)?;
            StoredCredential::Certificate { parsed: Box::new(parsed), generated: sealed.version == 2 }
        } else {
            StoredCredential::Secret(SecretString::new(String::from_utf8_lossy(plain.expose()).into_owned()))
        };
        Ok((s.app_id, cred, s.secret_ciphertext))
    }

    /// `PATCH /api/organizations/{id}`.
    pub async fn update(&self, config: &Config, id: &str, req: UpdateOrganization) -> Res<Organization> {
        let (org, apps) = self.load(id).await?;
        if req.version != org.version {
            return Err(ErrorCode::EditConflict.into());
        }
        let name = match &req.name {
            Some(n) => OrganizationName::parse(n)?.as_str().to_owned(),
            None => org.name.clone(),
        };
        let cloud: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
        let endpoints = config.endpoints(cloud);
        let ts = self.now_rfc3339();
        let mut changes = vec![];
        let main = apps.iter().find(|a| a.is_main == 1).ok_or(AppError::Internal)?;

        // Application ID or credential: checked against Microsoft again before saving. Another
        // application is new to this product: it may still be replicating, and its permissions
        // are compared with the manifest like a Manual save's.
        model::acknowledged_permissions(&req.acknowledged_permissions)?;
        let mut new_main_health: Option<(String, crate::health::AppHealth)> = None;
        if req.application_id.is_some() || req.credential.is_some() {
            let app_id = match &req.application_id {
                Some(a) => shared::AppId::parse(a)?.as_str().to_owned(),
                None => main.app_id.clone(),
            };
            let another = !app_id.eq_ignore_ascii_case(&main.app_id);
            let patience = if another { Patience::TYPED } else { Patience::TYPED_FOR_SAVED };
            // The typed credential, or else the stored one, checked once.
            let typed =
                req.credential.as_ref().map(|c| model::validate_credential(c, self.now() / 1000)).transpose()?;
            let stored;
            let credential = match &typed {
                Some(valid) => entered(valid).ok_or_else(|| {
                    FieldError::new(Field::ClientSecret, "Enter the new application password or certificate.")
                })?,
                None => {
                    stored = self.open_secret(&main.id).await?.1;
                    stored.check()
                }
            };
            self.check(&endpoints, &org.tenant_id, &app_id, credential, patience).await?;
            let acknowledged = if another {
                self.manifest_check(&endpoints, &org.tenant_id, &app_id, credential, &req.acknowledged_permissions)
                    .await?
            } else {
                vec![]
            };
            let sealable = typed.as_ref().and_then(|valid| sealable_from(valid, &app_id));
            // Another application starts with what this check found, not with the old one's health.
            let fresh = if acknowledged.is_empty() {
                crate::health::AppHealth { health: shared::api::Health::Healthy, ..Default::default() }
            } else {
                crate::health::AppHealth::acknowledged(acknowledged)
            };
            match sealable {
                Some(mut s) => {
                    if s.app_id.eq_ignore_ascii_case(&main.app_id) {
                        // The same application with a new credential: what the service registered
                        // and granted stays on record.
                        s.object_id = main.object_id.clone();
                        s.grant = grant_of_row(main);
                        s.workload = main.workload.as_deref().and_then(Workload::parse).unwrap_or(Workload::All);
                    }
                    changes.push(ApplicationChange::Delete { id: main.id.clone() });
                    let row = self.sealed_row(&(self.keyring)()?, id, &s, true);
                    if another {
                        new_main_health = Some((row.id.clone(), fresh));
                    }
                    changes.push(ApplicationChange::Insert(Box::new(row)));
                }
                None => {
                    if another {
                        new_main_health = Some((main.id.clone(), fresh));
                    }
                    changes.push(ApplicationChange::SetAppId { id: main.id.clone(), app_id });
                }
            }
        }

        let mut multiple = org.multiple_applications == 1;
        // The sign-in whose new applications this edit stores: told "saved" only once they are stored.
        let mut recreated_with: Option<String> = None;
        match (req.multiple_applications, req.reenable) {
            (Some(false), _) => {
                multiple = false;
                changes.push(ApplicationChange::SetAdditionalActive(false));
            }
            (Some(true), _) if multiple => {}
            (Some(true), None) => {
                return Err(FieldError::new(
                    Field::Body,
                    "Choose how to turn multiple applications back on: \"Use existing applications\" or \"Recreate multiple applications\".",
                )
                .into())
            }
            (Some(true), Some(ReenableChoice::UseExisting)) => {
                let additional: Vec<&ApplicationRow> = apps.iter().filter(|a| a.is_main == 0).collect();
                if additional.is_empty() {
                    return Err(FieldError::new(
                        Field::Body,
                        "There are no existing additional applications. Choose \"Recreate multiple applications\".",
                    )
                    .into());
                }
                let mut broken = vec![];
                for a in &additional {
                    let (app_id, cred) = self.open_secret(&a.id).await?;
                    if self.check(&endpoints, &org.tenant_id, &app_id, cred.check(), Patience::TYPED_FOR_SAVED).await.is_err()
                    {
                        broken.push(app_id);
                    }
                }
                if !broken.is_empty() {
                    return Err(ErrorDetail {
                        message: format!(
                            "These additional applications no longer work: {}. Choose \"Recreate multiple applications\" instead.",
                            broken.join(", ")
                        ),
                        ..ErrorDetail::new(ErrorCode::InvalidClientSecret)
                    }
                    .into());
                }
                multiple = true;
                changes.push(ApplicationChange::SetAdditionalActive(true));
            }
            (Some(true), Some(ReenableChoice::Recreate)) => {
                let sign_in = req.sign_in_id.as_deref().ok_or_else(|| {
                    FieldError::new(
                        Field::Body,
                        "Recreating the additional applications needs a sign-in as a Global Administrator: sign in with a device code first.",
                    )
                })?;
                self.ensure_additional(sign_in, cloud, &org.tenant_id).await?;
                let ex = self.exported(sign_in, cloud, &org.tenant_id).await?;
                changes.push(ApplicationChange::DeleteAdditional);
                let ring = (self.keyring)()?;
                for s in additional_of(&ex)? {
                    changes.push(ApplicationChange::Insert(Box::new(self.sealed_row(&ring, id, &s, true))));
                }
                multiple = true;
                recreated_with = Some(sign_in.to_owned());
            }
            (None, _) => {}
        }

        // The store applies the edit only while the organization is still at the version the admin
        // loaded: when another edit has moved it on, nothing of this edit is applied.
        let edit = Edit {
            id: id.to_owned(),
            account_id: self.account.to_owned(),
            version: req.version,
            name,
            multiple_applications: multiple,
            updated_at: ts,
            changes,
        };
        if let Err(e) = self.store.update(&edit).await {
            if let Some(sign_in) = &recreated_with {
                // Nothing of this edit was stored: the new applications must not stay in the tenant.
                self.release(sign_in).await;
            }
            if e == StoreError::VersionMoved {
                return Err(ErrorCode::EditConflict.into());
            }
            return Err(AppError::Internal);
        }
        if let Some(sign_in) = recreated_with {
            self.hand_over(config, &sign_in).await;
        }
        if let Some((row, health)) = new_main_health {
            self.save_health(&row, &health, &self.now_rfc3339()).await?;
        }
        let view = self.view(id).await?;
        let data = json!({"name": view.name, "application_id": view.application_id,
                          "active_applications": view.active_applications, "version": view.version});
        self.notify(EventType::OrganizationUpdated, id, data).await;
        Ok(view)
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
