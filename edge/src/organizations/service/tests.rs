//! The organizations service against one fake world: a store that behaves like the D1 schema
//! (unique tenant per account, the version guard, all-or-nothing writes), sign-ins that answer
//! from scripts, Microsoft answering from the credentials it knows, a clock that sleeps instantly.
//! Every call is written to one journal, so the tests read the order of effects.

use super::*;
use crate::handover::Removed;
use crate::microsoft::{HttpRequest, HttpResponse, TransportError};
use crate::organizations::model::OrganizationRow;
use crate::organizations::ports::{Answer, RotatedCredential, SealedRow, UsageRow};
use futures_executor::block_on;
use shared::api::{
    CredentialInput, EngineResource, EngineTokenRequest, HealthReason, RegistrationResult, RepairOrganization,
};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};

const ACCOUNT: &str = "acct-1";
const TENANT: &str = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60";
const OTHER_TENANT: &str = "9f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a61";
const MAIN: &str = "11111111-2222-4333-8444-555555555555";
const OTHER_APP: &str = "11111111-2222-4333-8444-999999999999";
const SIGN_IN: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
/// 2026-11-30, inside the test certificate's validity (2026 to 2036).
const START_MS: i64 = 1_796_000_000_000;
const PFX: &str = include_str!("test-certificate.pfx.b64");
const PFX_PASSWORD: &str = "test-password";

fn additional_id(i: u8) -> String {
    format!("2222222{i}-2222-4333-8444-555555555555")
}

fn keys() -> Res<Keyring> {
    Ok(Keyring::parse(&format!("k1:{}", STANDARD.encode([7u8; 32]))).unwrap())
}

fn no_keys() -> Res<Keyring> {
    Err(AppError::Internal)
}

fn config() -> Config {
    Config::read(|_| None).unwrap()
}

fn config_failing_handover() -> Config {
    Config::read(|k| match k {
        "DEV_MICROSOFT_BASE_URL" => Some("http://127.0.0.1:8790".into()),
        "DEV_FAULTS" => Some("saved-handover".into()),
        _ => None,
    })
    .unwrap()
}

/// What Microsoft accepts for an application.
#[derive(Clone)]
enum Accepts {
    Secret(String),
    Certificate,
}

#[derive(Clone)]
struct StoredApp {
    row: ApplicationRow,
    object_id: Option<String>,
    key_id: String,
    ciphertext: String,
    grant: Option<Grant>,
}

#[derive(Default)]
struct World {
    portal_events: RefCell<Vec<crate::webhooks::PortalEvent>>,
    clock: Cell<i64>,
    journal: RefCell<Vec<String>>,
    // Store.
    orgs: RefCell<Vec<OrganizationRow>>,
    apps: RefCell<Vec<StoredApp>>,
    /// The next insert or update fails with this.
    store_fails: Cell<Option<StoreError>>,
    /// Another edit wins just before the next update.
    concurrent_edit: Cell<bool>,
    /// Recording a health check fails.
    health_fails: Cell<bool>,
    /// Organizations read from the store.
    loads: Cell<u32>,
    /// The account's engine audit is full.
    audit_full: Cell<bool>,
    /// While the removal talks to Microsoft, a "Recreate multiple applications" is saved: the
    /// version moves on and a new application row appears.
    recreate_during_removal: Cell<bool>,
    // Microsoft.
    accepts: RefCell<HashMap<String, Accepts>>,
    /// Refusals (replication) before an application's credential is accepted.
    replicating: RefCell<HashMap<String, u32>>,
    no_consent: RefCell<HashSet<String>>,
    /// The Graph roles in an application's tokens (absent: every role of the manifest).
    roles: RefCell<HashMap<String, Vec<String>>>,
    /// Applications without SharePoint's `Sites.FullControl.All`.
    no_sharepoint_role: RefCell<Vec<String>>,
    signer_fails: Cell<bool>,
    /// `addKey` answers this status instead of adding the key.
    add_key_refused: Cell<Option<u16>>,
    /// The administrator saves a new credential while `addKey` is under way.
    edit_during_add_key: Cell<bool>,
    // The sign-in.
    statuses: RefCell<VecDeque<Answer<SignInStatus>>>,
    export: RefCell<Option<Answer<Exported>>>,
    additional_answer: RefCell<Option<Answer<()>>>,
    /// What `remove` answers (default: everything removed).
    remove_answer: RefCell<Option<Answer<Removed>>>,
    use_certificate_answer: RefCell<Option<Answer<()>>>,
    saved_answers: RefCell<VecDeque<Res<Answer<()>>>>,
    // The engine's audit.
    usage_rows: RefCell<Vec<UsageRow>>,
}

impl World {
    fn new() -> Self {
        let w = World::default();
        w.clock.set(START_MS);
        w
    }

    fn note(&self, event: impl Into<String>) {
        self.journal.borrow_mut().push(event.into());
    }

    fn events(&self) -> Vec<String> {
        self.journal.borrow().clone()
    }

    /// The journal without sleeps and log lines.
    fn calls(&self) -> Vec<String> {
        self.events().into_iter().filter(|e| !e.starts_with("sleep") && !e.starts_with("log")).collect()
    }

    fn forget(&self) {
        self.journal.borrow_mut().clear();
    }

    fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| *e == event).count()
    }

    fn sleeps(&self) -> Vec<i64> {
        self.events().iter().filter_map(|e| e.strip_prefix("sleep ")?.parse().ok()).collect()
    }

    fn accept(&self, app_id: &str, a: Accepts) {
        self.accepts.borrow_mut().insert(app_id.to_owned(), a);
    }

    fn service(&self) -> Organizations<'_, World, World, World, World, World> {
        Organizations {
            account: ACCOUNT,
            store: self,
            sign_ins: self,
            http: self,
            runtime: self,
            signers: self,
            keyring: &keys,
        }
    }

    fn status_then(&self, answers: Vec<SignInStatus>) {
        *self.statuses.borrow_mut() = answers.into_iter().map(Ok).collect();
    }

    fn exports(&self, ex: Exported) {
        *self.export.borrow_mut() = Some(Ok(ex));
    }

    /// The plaintext of stored application row `row`.
    fn opened(&self, row: &StoredApp) -> Vec<u8> {
        let blob = STANDARD.decode(&row.ciphertext).unwrap();
        let aad = binding(ACCOUNT, &row.row.organization_id, &row.row.id, &row.row.credential_type);
        keys().unwrap().open(&row.key_id, &aad, &blob).unwrap().expose().to_vec()
    }

    fn main_row(&self) -> ApplicationRow {
        self.apps.borrow().iter().find(|a| a.row.is_main == 1).unwrap().row.clone()
    }

    fn main_secret(&self) -> String {
        let apps = self.apps.borrow();
        String::from_utf8(self.opened(apps.iter().find(|a| a.row.is_main == 1).unwrap())).unwrap()
    }

    fn org(&self) -> OrganizationRow {
        self.orgs.borrow()[0].clone()
    }
}

// --- The fakes -------------------------------------------------------------------------------

impl Clock for World {
    fn now_ms(&self) -> Millis {
        Millis(self.clock.get())
    }
}

impl Sleeper for World {
    async fn sleep(&self, ms: i64) {
        self.note(format!("sleep {ms}"));
        self.clock.set(self.clock.get() + ms);
    }
}

impl Log for World {
    fn warn(&self, message: &str) {
        self.note(format!("log warn: {message}"));
    }
    fn error(&self, message: &str) {
        self.note(format!("log error: {message}"));
    }
}

impl Signers for World {
    type Signer<'k> = crate::keys::fake::FakeSigner;
    fn signer<'k>(&'k self, pkcs8: &'k [u8]) -> Self::Signer<'k> {
        assert!(!pkcs8.is_empty(), "the certificate's key is used");
        crate::keys::fake::FakeSigner { fails: self.signer_fails.get() }
    }

    async fn generate_key(&self) -> Result<(shared::secret::SecretBytes, Vec<u8>), String> {
        // A real public key (the certificate is built over it); the fake signatures are carried,
        // never checked.
        Ok(crate::keys::fake::key_pair(b"new test pkcs8"))
    }
}

fn respond(status: u16, body: serde_json::Value) -> Result<HttpResponse, TransportError> {
    Ok(http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap())
}

impl Notify for World {
    // Kept apart from the trace of requests: the tests about events read them.
    async fn notify(&self, event: crate::webhooks::PortalEvent) {
        self.portal_events.borrow_mut().push(event);
    }
}

impl HttpClient for World {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let path = request.uri().path().to_owned();
        if path.ends_with("/oauth2/v2.0/token") {
            assert!(path.contains(TENANT) || path.contains(OTHER_TENANT), "{path}");
            let form: HashMap<String, String> = form_urlencoded::parse(request.body()).into_owned().collect();
            let client = form["client_id"].clone();
            let how = if form.contains_key("client_assertion") { "assertion" } else { "secret" };
            match form["scope"].as_str() {
                "https://graph.microsoft.com/.default" => self.note(format!("ms token {client} {how}")),
                other => self.note(format!("ms token {client} {how} {other}")),
            }
            let refusal = |code: u32, error: &str| {
                respond(
                    if error == "invalid_client" { 401 } else { 400 },
                    serde_json::json!({
                        "error": error, "error_codes": [code], "correlation_id": "corr-1"
                    }),
                )
            };
            if let Some(n) = self.replicating.borrow_mut().get_mut(&client).filter(|n| **n > 0) {
                *n -= 1;
                return refusal(7000215, "invalid_client");
            }
            let accepted = match (self.accepts.borrow().get(&client), form.get("client_secret")) {
                (None, _) => return refusal(700016, "unauthorized_client"),
                (Some(Accepts::Secret(s)), Some(given)) => s == given,
                (Some(Accepts::Certificate), None) => form["client_assertion"].split('.').count() == 3,
                _ => false,
            };
            if !accepted {
                return refusal(7000215, "invalid_client");
            }
            // Each resource's token carries the roles granted on that resource.
            let roles = match form["scope"].as_str() {
                "https://graph.microsoft.com/.default" => {
                    self.roles.borrow().get(&client).cloned().unwrap_or_else(|| {
                        crate::health::required_graph_roles(CloudEnvironment::Global, shared::api::Workload::All)
                    })
                }
                "https://outlook.office365.com/.default" => vec!["full_access_as_app".to_owned()],
                _ if self.no_sharepoint_role.borrow().contains(&client) => vec![],
                _ => vec!["Sites.FullControl.All".to_owned()],
            };
            let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&serde_json::json!({"roles": roles})).unwrap());
            let token = format!("tok:{client}.{claims}.sig");
            return respond(
                200,
                serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 3599}),
            );
        }
        if request.method() == http::Method::POST {
            // An application rolling its own keys: its token and a proof signed by its key.
            let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
            assert_eq!(body["proof"].as_str().unwrap().split('.').count(), 3, "a signed proof");
            let object = path.split('/').rev().nth(1).unwrap().to_owned();
            if path.ends_with("/addKey") {
                assert_eq!(body["keyCredential"]["type"], "AsymmetricX509Cert");
                self.note(format!("ms addKey {object}"));
                if self.edit_during_add_key.get() {
                    self.apps.borrow_mut()[0].ciphertext = "sealed by the administrator's edit".into();
                }
                if let Some(status) = self.add_key_refused.get() {
                    return respond(
                        status,
                        serde_json::json!({"error": {"code": "serviceNotAvailable", "message": "no"}}),
                    );
                }
                return respond(200, serde_json::json!({"keyId": "new-key-id", "type": "AsymmetricX509Cert"}));
            }
            assert!(path.ends_with("/removeKey"), "{path}");
            self.note(format!("ms removeKey {object} {}", body["keyId"].as_str().unwrap()));
            return Ok(http::Response::builder().status(204).body(vec![]).unwrap());
        }
        assert_eq!(request.method(), http::Method::GET);
        assert!(path.ends_with("/v1.0/organization"), "{path}");
        let auth = request.headers()["authorization"].to_str().unwrap().to_owned();
        let client = auth.strip_prefix("Bearer tok:").unwrap().split('.').next().unwrap().to_owned();
        if request.uri().query() == Some("$select=verifiedDomains") {
            // The engine's SharePoint root comes from the initial domain.
            self.note(format!("ms graph domains {client}"));
            return respond(
                200,
                serde_json::json!({"value": [{"verifiedDomains": [
                    {"name": "contoso.com", "isDefault": true, "isInitial": false},
                    {"name": "contoso.onmicrosoft.com", "isDefault": false, "isInitial": true}]}]}),
            );
        }
        assert_eq!(request.uri().query(), Some("$select=id"));
        self.note(format!("ms graph {client}"));
        if self.no_consent.borrow().contains(&client) {
            return respond(
                403,
                serde_json::json!({"error": {"code": "Authorization_RequestDenied", "message": "no"}}),
            );
        }
        respond(200, serde_json::json!({"value": [{"id": TENANT}]}))
    }
}

impl SignIns for World {
    async fn status(&self, sign_in: &str) -> Res<Answer<SignInStatus>> {
        assert_eq!(sign_in, SIGN_IN);
        self.note("signin status");
        let mut s = self.statuses.borrow_mut();
        if s.len() > 1 {
            Ok(s.pop_front().unwrap())
        } else {
            Ok(s.front().cloned().expect("a status is scripted"))
        }
    }

    async fn export(&self, sign_in: &str) -> Res<Answer<Exported>> {
        assert_eq!(sign_in, SIGN_IN);
        self.note("signin export");
        Ok(self.export.borrow().clone().expect("an export is scripted"))
    }

    async fn additional(&self, sign_in: &str, cloud: CloudEnvironment, tenant: &str) -> Res<Answer<()>> {
        assert_eq!(sign_in, SIGN_IN);
        self.note(format!("signin additional {} {tenant}", cloud.as_str()));
        Ok(self.additional_answer.borrow().clone().unwrap_or(Ok(())))
    }

    async fn remove(
        &self,
        sign_in: &str,
        organization: &str,
        cloud: CloudEnvironment,
        tenant: &str,
        app_ids: &[String],
    ) -> Res<Answer<Removed>> {
        assert_eq!(sign_in, SIGN_IN);
        self.note(format!("signin remove {organization} {} {tenant} {}", cloud.as_str(), app_ids.join(",")));
        if self.recreate_during_removal.take() {
            for o in self.orgs.borrow_mut().iter_mut().filter(|o| o.id == organization) {
                o.version += 1;
            }
            let mut recreated =
                self.apps.borrow().iter().find(|a| a.row.organization_id == organization).unwrap().clone();
            recreated.row.id = "recreated-row".into();
            recreated.row.app_id = "recreated-app".into();
            recreated.row.is_main = 0;
            self.apps.borrow_mut().push(recreated);
        }
        Ok(self.remove_answer.borrow().clone().unwrap_or(Ok(Removed::default())))
    }

    async fn use_certificate(&self, sign_in: &str, der: &[u8], not_before: i64, not_after: i64) -> Res<Answer<()>> {
        assert_eq!(sign_in, SIGN_IN);
        assert!(!der.is_empty() && not_before < not_after);
        self.note("signin use-certificate");
        Ok(self.use_certificate_answer.borrow().clone().unwrap_or(Ok(())))
    }

    async fn saved(&self, sign_in: &str) -> Res<Answer<()>> {
        assert_eq!(sign_in, SIGN_IN);
        self.note("signin saved");
        self.saved_answers.borrow_mut().pop_front().unwrap_or(Ok(Ok(())))
    }

    async fn release(&self, sign_in: &str) -> Res<Answer<()>> {
        assert_eq!(sign_in, SIGN_IN);
        self.note("signin release");
        Ok(Ok(()))
    }
}

impl OrganizationStore for World {
    async fn load(
        &self,
        account: &str,
        id: &str,
    ) -> Result<Option<(OrganizationRow, Vec<ApplicationRow>)>, StoreError> {
        self.loads.set(self.loads.get() + 1);
        let Some(org) = self.orgs.borrow().iter().find(|o| o.id == id && o.account_id == account).cloned() else {
            return Ok(None);
        };
        let mut apps: Vec<ApplicationRow> =
            self.apps.borrow().iter().filter(|a| a.row.organization_id == id).map(|a| a.row.clone()).collect();
        apps.sort_by_key(|a| -a.is_main);
        Ok(Some((org, apps)))
    }

    async fn sealed(&self, id: &str) -> Result<Option<SealedRow>, StoreError> {
        Ok(self.apps.borrow().iter().find(|a| a.row.id == id).map(|a| SealedRow {
            organization_id: a.row.organization_id.clone(),
            app_id: a.row.app_id.clone(),
            credential_type: a.row.credential_type.clone(),
            key_id: a.key_id.clone(),
            secret_ciphertext: a.ciphertext.clone(),
        }))
    }

    async fn list(&self, account: &str) -> Result<(Vec<OrganizationRow>, Vec<ApplicationRow>), StoreError> {
        let mut orgs: Vec<OrganizationRow> =
            self.orgs.borrow().iter().filter(|o| o.account_id == account).cloned().collect();
        orgs.sort_by_key(|o| o.name.to_lowercase());
        let ids: HashSet<String> = orgs.iter().map(|o| o.id.clone()).collect();
        let apps = self.apps.borrow();
        let apps = apps.iter().filter(|a| ids.contains(&a.row.organization_id)).map(|a| a.row.clone()).collect();
        Ok((orgs, apps))
    }

    async fn insert(&self, o: &NewOrganizationRow, apps: &[NewApplicationRow]) -> Result<(), StoreError> {
        self.note(format!("store insert {} application(s)", apps.len()));
        if let Some(e) = self.store_fails.take() {
            return Err(e);
        }
        if self.orgs.borrow().iter().any(|x| x.account_id == o.account_id && x.tenant_id == o.tenant_id) {
            return Err(StoreError::Unique);
        }
        self.orgs.borrow_mut().push(OrganizationRow {
            id: o.id.clone(),
            account_id: o.account_id.clone(),
            name: o.name.clone(),
            cloud: o.cloud.as_str().to_owned(),
            tenant_id: o.tenant_id.clone(),
            multiple_applications: i64::from(o.multiple_applications),
            created_at: o.created_at.clone(),
            updated_at: o.created_at.clone(),
            version: 1,
        });
        for a in apps {
            self.insert_app(a);
        }
        Ok(())
    }

    async fn held_elsewhere(&self, organization_id: &str, app_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let apps = self.apps.borrow();
        let mut held: Vec<String> = apps
            .iter()
            .filter(|a| a.row.organization_id != organization_id && app_ids.contains(&a.row.app_id))
            .map(|a| a.row.app_id.clone())
            .collect();
        held.dedup();
        Ok(held)
    }

    async fn name_of_tenant(&self, account: &str, tenant: &str) -> Result<Option<String>, StoreError> {
        let orgs = self.orgs.borrow();
        Ok(orgs.iter().find(|o| o.account_id == account && o.tenant_id == tenant).map(|o| o.name.clone()))
    }

    async fn update(&self, edit: &Edit) -> Result<(), StoreError> {
        self.note(format!("store update {:?}", edit.changes.iter().map(change_name).collect::<Vec<_>>()));
        if self.concurrent_edit.take() {
            self.orgs.borrow_mut().iter_mut().for_each(|o| o.version += 1);
        }
        if let Some(e) = self.store_fails.take() {
            return Err(e);
        }
        let mut orgs = self.orgs.borrow_mut();
        let Some(org) = orgs.iter_mut().find(|o| o.id == edit.id && o.account_id == edit.account_id) else {
            return Err(StoreError::VersionMoved);
        };
        if org.version != edit.version {
            return Err(StoreError::VersionMoved);
        }
        org.name = edit.name.clone();
        org.multiple_applications = i64::from(edit.multiple_applications);
        org.updated_at = edit.updated_at.clone();
        org.version += 1;
        drop(orgs);
        for c in &edit.changes {
            let mut apps = self.apps.borrow_mut();
            match c {
                ApplicationChange::Delete { id } => apps.retain(|a| a.row.id != *id),
                ApplicationChange::Insert(a) => {
                    drop(apps);
                    self.insert_app(a);
                }
                ApplicationChange::SetAppId { id, app_id } => {
                    apps.iter_mut().filter(|a| a.row.id == *id).for_each(|a| a.row.app_id = app_id.clone())
                }
                ApplicationChange::SetGrant { id, object_id, grant } => {
                    apps.iter_mut().filter(|a| a.row.id == *id).for_each(|a| {
                        a.row.object_id = Some(object_id.clone());
                        a.row.manifest_version = Some(grant.manifest_version);
                        a.row.granted_permissions = Some(serde_json::to_string(&grant.permissions).unwrap());
                    })
                }
                ApplicationChange::SetAdditionalActive(on) => apps
                    .iter_mut()
                    .filter(|a| a.row.organization_id == edit.id && a.row.is_main == 0)
                    .for_each(|a| a.row.active = i64::from(*on)),
                ApplicationChange::DeleteAdditional => {
                    apps.retain(|a| a.row.organization_id != edit.id || a.row.is_main == 1)
                }
            }
        }
        Ok(())
    }

    async fn delete(&self, account: &str, id: &str, version: i64, rows: &[String]) -> Result<(), StoreError> {
        self.note("store delete");
        let at_version =
            self.orgs.borrow().iter().any(|o| o.id == id && o.account_id == account && o.version == version);
        let only_read =
            self.apps.borrow().iter().filter(|a| a.row.organization_id == id).all(|a| rows.contains(&a.row.id));
        if !at_version || !only_read {
            return Err(StoreError::VersionMoved);
        }
        self.apps.borrow_mut().retain(|a| a.row.organization_id != id);
        self.orgs.borrow_mut().retain(|o| !(o.id == id && o.account_id == account));
        Ok(())
    }

    async fn record_health(&self, id: &str, health: &str, checked_at: &str) -> Result<(), StoreError> {
        self.note("store health");
        if self.health_fails.get() {
            return Err(StoreError::Other);
        }
        for a in self.apps.borrow_mut().iter_mut().filter(|a| a.row.id == id) {
            a.row.health = Some(health.to_owned());
            a.row.checked_at = Some(checked_at.to_owned());
        }
        Ok(())
    }

    async fn rotate_credential(&self, r: &RotatedCredential) -> Result<bool, StoreError> {
        self.note(format!("store rotated {}", r.entra_key_id));
        let mut apps = self.apps.borrow_mut();
        let Some(a) = apps.iter_mut().find(|a| a.row.id == r.id && a.ciphertext == r.previous_ciphertext) else {
            return Ok(false);
        };
        a.key_id = r.key_id.clone();
        a.ciphertext = r.secret_ciphertext.clone();
        a.row.credential_expires_at = Some(r.credential_expires_at.clone());
        a.row.certificate_thumbprint = Some(r.certificate_thumbprint.clone());
        a.row.entra_key_id = Some(r.entra_key_id.clone());
        a.row.retiring_key_id = Some(r.retiring_key_id.clone());
        a.row.retire_after_ms = Some(r.retire_after_ms);
        Ok(true)
    }

    async fn key_retired(&self, id: &str) -> Result<(), StoreError> {
        self.note("store key retired");
        for a in self.apps.borrow_mut().iter_mut().filter(|a| a.row.id == id) {
            a.row.retiring_key_id = None;
            a.row.retire_after_ms = None;
        }
        Ok(())
    }

    async fn record_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError> {
        for u in rows {
            self.note(format!("store usage {} {} {} {}", u.application_id, u.resource, u.outcome, u.count));
            self.usage_rows.borrow_mut().push(u.clone());
        }
        Ok(())
    }

    async fn engine_audit_full(&self, _account: &str) -> Result<bool, StoreError> {
        Ok(self.audit_full.get())
    }

    async fn usage(&self, account: &str, id: &str, limit: u32) -> Result<Vec<UsageRow>, StoreError> {
        let rows = self.usage_rows.borrow();
        let mine = rows.iter().rev().filter(|u| u.account_id == account && u.organization_id == id);
        Ok(mine.take(limit as usize).cloned().collect())
    }

    async fn schedule_check(&self, id: &str, at_ms: Millis) -> Result<(), StoreError> {
        self.note(format!("store schedule {id} +{} h", (at_ms - self.clock.get()).ms() / 3_600_000));
        Ok(())
    }

    async fn claim_due_checks(
        &self,
        _now: Millis,
        _lease: Millis,
        _limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self.orgs.borrow().iter().map(|o| (o.account_id.clone(), o.id.clone())).collect())
    }
}

impl World {
    fn insert_app(&self, a: &NewApplicationRow) {
        self.apps.borrow_mut().push(StoredApp {
            row: ApplicationRow {
                id: a.id.clone(),
                organization_id: a.organization_id.clone(),
                app_id: a.app_id.clone(),
                is_main: i64::from(a.is_main),
                active: i64::from(a.active),
                credential_type: a.credential_type.to_owned(),
                credential_expires_at: a.credential_expires_at.clone(),
                certificate_thumbprint: a.certificate_thumbprint.clone(),
                manifest_version: a.grant.as_ref().map(|g| g.manifest_version),
                workload: Some(a.workload.as_str().to_owned()),
                granted_permissions: a.grant.as_ref().map(|g| serde_json::to_string(&g.permissions).unwrap()),
                object_id: a.object_id.clone(),
                health: a.health.as_ref().map(|h| h.health.clone()),
                checked_at: a.health.as_ref().map(|h| h.checked_at.clone()),
                entra_key_id: None,
                retiring_key_id: None,
                retire_after_ms: None,
            },
            grant: a.grant.clone(),
            object_id: a.object_id.clone(),
            key_id: a.key_id.clone(),
            ciphertext: a.secret_ciphertext.clone(),
        });
    }
}

fn change_name(c: &ApplicationChange) -> &'static str {
    match c {
        ApplicationChange::Delete { .. } => "delete",
        ApplicationChange::Insert(_) => "insert",
        ApplicationChange::SetAppId { .. } => "set-app-id",
        ApplicationChange::SetGrant { .. } => "set-grant",
        ApplicationChange::SetAdditionalActive(true) => "activate-additional",
        ApplicationChange::SetAdditionalActive(false) => "deactivate-additional",
        ApplicationChange::DeleteAdditional => "delete-additional",
    }
}

// --- Requests and sign-in answers --------------------------------------------------------------

fn secret(s: &str) -> CredentialInput {
    CredentialInput::Secret { client_secret: SecretString::new(s.into()) }
}

fn certificate() -> CredentialInput {
    CredentialInput::Certificate {
        pfx_base64: SecretString::new(PFX.trim().into()),
        password: SecretString::new(PFX_PASSWORD.into()),
    }
}

/// What reading the permissions of an application registered by hand asks Microsoft: a Graph
/// token, the tenant's domains (for its SharePoint host), an Exchange and a SharePoint token.
fn permission_reads(app: &str, how: &str) -> Vec<String> {
    vec![
        format!("ms token {app} {how}"),
        format!("ms graph domains {app}"),
        format!("ms token {app} {how} https://outlook.office365.com/.default"),
        format!("ms token {app} {how} https://contoso.sharepoint.com/.default"),
    ]
}

fn generated() -> CredentialInput {
    CredentialInput::Generated { sign_in_id: SIGN_IN.into() }
}

fn create_req(credential: CredentialInput, multiple: bool, sign_in: Option<&str>) -> CreateOrganization {
    CreateOrganization {
        name: "Contoso".into(),
        cloud: CloudEnvironment::Global,
        tenant_id: TENANT.into(),
        application_id: MAIN.into(),
        credential,
        create_multiple_applications: multiple,
        sign_in_id: sign_in.map(str::to_owned),
        acknowledged_permissions: vec![],
    }
}

fn edit(version: i64) -> UpdateOrganization {
    UpdateOrganization {
        version,
        name: None,
        multiple_applications: None,
        reenable: None,
        sign_in_id: None,
        application_id: None,
        credential: None,
        acknowledged_permissions: vec![],
    }
}

fn exported(indexes: std::ops::RangeInclusive<u8>) -> Exported {
    Exported {
        cloud: CloudEnvironment::Global,
        tenant_id: TENANT.into(),
        apps: indexes
            .map(|i| ExportedApp {
                index: i,
                app_id: if i == 0 { MAIN.into() } else { additional_id(i) },
                object_id: format!("obj-{i}"),
                secret: Some(format!("generated-{i}")),
                certificate: None,
                secret_expires_at: Some(1_900_000_000),
                manifest_version: crate::provisioning::manifest::MANIFEST_VERSION,
                permissions: vec!["User.Read.All".into(), "MailboxItem.ImportExport.All".into()],
            })
            .collect(),
        repair_of: None,
    }
}

fn status(state: SignInState, applications: u8) -> SignInStatus {
    let mut s: SignInStatus = serde_json::from_value(serde_json::json!({
        "id": SIGN_IN, "cloud": "global", "state": state, "poll_after": 5
    }))
    .unwrap();
    s.result = Some(RegistrationResult {
        tenant_id: TENANT.into(),
        tenant_name: "Contoso".into(),
        default_domain: "contoso.example".into(),
        application_id: MAIN.into(),
        secret_stored: true,
        applications,
        application_ids: vec![MAIN.into()],
        certificates: vec![],
    });
    s
}

/// Microsoft accepts the generated secrets of `ex`.
fn accept_generated(w: &World, ex: &Exported) {
    for a in &ex.apps {
        w.accept(&a.app_id, Accepts::Secret(a.secret.clone().unwrap_or_default()));
    }
}

fn code(e: &AppError) -> ErrorCode {
    e.body().error.code
}

fn field(e: &AppError) -> Option<Field> {
    e.body().error.field
}

/// An organization saved with a typed secret for the main application and 3 additional
/// applications from the sign-in; the journal is cleared afterwards.
fn saved_with_additional(w: &World) -> Organization {
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    w.status_then(vec![status(SignInState::Completed, 4)]);
    let ex = exported(1..=3);
    accept_generated(w, &ex);
    w.exports(ex);
    let org = block_on(w.service().create(&config(), create_req(secret("typed~secret"), true, Some(SIGN_IN)))).unwrap();
    w.forget();
    org
}

// --- create ----------------------------------------------------------------------------------

#[test]
fn a_typed_secret_is_checked_then_sealed_and_stored() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    let org = block_on(w.service().create(&config(), create_req(secret("typed~secret"), false, None))).unwrap();
    let mut calls = vec![format!("ms token {MAIN} secret"), format!("ms graph {MAIN}")];
    calls.extend(permission_reads(MAIN, "secret"));
    calls.push("store insert 1 application(s)".into());
    assert_eq!(w.calls(), calls);
    assert_eq!((org.name.as_str(), org.application_id.as_str(), org.version), ("Contoso", MAIN, 1));
    assert_eq!(org.active_applications, 1);
    assert!(!org.multiple_applications);
    assert_eq!(w.main_secret(), "typed~secret");
    assert!(!w.apps.borrow()[0].ciphertext.contains("typed"), "sealed");
    assert_eq!(w.apps.borrow()[0].object_id, None);
    assert_eq!((org.manifest_version, &w.apps.borrow()[0].grant), (None, &None), "the admin's application");
}

#[test]
fn a_wrong_typed_secret_is_retried_for_the_typed_patience_then_refused_on_its_field() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("right".into()));
    let e = block_on(w.service().create(&config(), create_req(secret("wrong~secret"), false, None))).unwrap_err();
    assert_eq!((code(&e), field(&e)), (ErrorCode::InvalidClientSecret, Some(Field::ClientSecret)));
    assert_eq!(e.status(), 422);
    assert!(w.count(&format!("ms token {MAIN} secret")) > 2, "retried: {:?}", w.events());
    assert_eq!(w.sleeps().iter().sum::<i64>(), crate::organizations::check::TYPED_PATIENCE_MS);
    assert!(w.orgs.borrow().is_empty() && w.apps.borrow().is_empty());
}

#[test]
fn an_unknown_application_and_missing_consent_are_refused_on_their_fields() {
    let w = World::new();
    let e = block_on(w.service().create(&config(), create_req(secret("s~1"), false, None))).unwrap_err();
    assert_eq!((code(&e), field(&e)), (ErrorCode::ApplicationNotFound, Some(Field::ApplicationId)));
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("s~1".into()));
    w.no_consent.borrow_mut().insert(MAIN.into());
    let e = block_on(w.service().create(&config(), create_req(secret("s~1"), false, None))).unwrap_err();
    assert_eq!((code(&e), field(&e)), (ErrorCode::PermissionsNotGranted, None));
    assert!(w.orgs.borrow().is_empty());
}

#[test]
fn an_application_registered_by_hand_without_two_permissions_is_refused_naming_both() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    let mut graph = crate::health::required_graph_roles(CloudEnvironment::Global, shared::api::Workload::All);
    graph.retain(|r| r != "Mail.ReadWrite");
    w.roles.borrow_mut().insert(MAIN.into(), graph);
    w.no_sharepoint_role.borrow_mut().push(MAIN.into());
    let e = block_on(w.service().create(&config(), create_req(secret("typed~secret"), false, None))).unwrap_err();
    assert_eq!((code(&e), e.status()), (ErrorCode::PermissionsMissing, 422));
    let body = e.body().error;
    assert_eq!(body.field, Some(Field::ApplicationId));
    let named: Vec<(&str, &str)> =
        body.missing_permissions.iter().map(|p| (p.value.as_str(), p.api.as_str())).collect();
    assert_eq!(
        named,
        [("Mail.ReadWrite", "Microsoft Graph"), ("Sites.FullControl.All", "Office 365 SharePoint Online")]
    );
    assert!(w.orgs.borrow().is_empty() && w.apps.borrow().is_empty(), "nothing saved");

    // Saved anyway, knowingly: it needs attention from the start, and says why.
    let mut req = create_req(secret("typed~secret"), false, None);
    // Acknowledging only one of the two is not enough.
    req.acknowledged_permissions = vec!["Mail.ReadWrite".into()];
    let e = block_on(w.service().create(&config(), req.clone())).unwrap_err();
    assert_eq!(code(&e), ErrorCode::PermissionsMissing);
    req.acknowledged_permissions = vec!["Mail.ReadWrite".into(), "Sites.FullControl.All".into()];
    // The organization and its health are one write: a store that cannot record a health check
    // separately changes nothing.
    w.health_fails.set(true);
    w.forget();
    let org = block_on(w.service().create(&config(), req)).unwrap();
    assert!(!w.calls().iter().any(|c| c == "store health"), "{:?}", w.calls());
    w.health_fails.set(false);
    assert_eq!(org.health.state, shared::api::Health::NeedsAttention);
    assert_eq!(org.health.reason, Some(shared::api::HealthReason::PermissionsMissing));
    assert_eq!(org.health.permissions, ["Mail.ReadWrite", "Sites.FullControl.All"]);
    assert!(org.health.acknowledged);

    // Granted afterwards: the next check finds Graph's and still names SharePoint's, which a Graph
    // token cannot show.
    w.roles.borrow_mut().clear();
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(checked.health.state, shared::api::Health::NeedsAttention);
    assert_eq!(checked.health.permissions, ["Sites.FullControl.All"]);
    // SharePoint's granted too: the check reads its token for the acknowledged permission.
    w.no_sharepoint_role.borrow_mut().clear();
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(checked.health.state, shared::api::Health::Healthy, "{:?}", checked.health);
    assert!(!checked.health.acknowledged);
}

#[test]
fn with_multiple_applications_the_typed_credential_is_checked_before_a_sign_in_is_asked_for() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    // A typo: refused at once, and no sign-in is asked for.
    let e = block_on(w.service().create(&config(), create_req(secret("typo~secret"), true, None))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::InvalidClientSecret);
    // The right one: checked (with its permissions), then the sign-in is asked for; nothing is saved.
    w.forget();
    let e = block_on(w.service().create(&config(), create_req(secret("typed~secret"), true, None))).unwrap_err();
    assert_eq!((code(&e), e.status()), (ErrorCode::SignInRequired, 409));
    let mut calls = vec![format!("ms token {MAIN} secret"), format!("ms graph {MAIN}")];
    calls.extend(permission_reads(MAIN, "secret"));
    assert_eq!(w.calls(), calls);
    assert!(w.orgs.borrow().is_empty());
}

#[test]
fn an_application_the_sign_in_registered_is_not_read_again() {
    let w = World::new();
    let ex = exported(0..=0);
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    w.status_then(vec![status(SignInState::Completed, 1)]);
    w.exports(ex);
    block_on(w.service().create(&config(), create_req(secret("typed~secret"), false, Some(SIGN_IN)))).unwrap();
    assert!(!w.calls().iter().any(|c| c.contains("outlook") || c.contains("domains")), "{:?}", w.calls());
}

#[test]
fn a_credential_still_replicating_is_retried_until_it_works() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    w.replicating.borrow_mut().insert(MAIN.into(), 2);
    block_on(w.service().create(&config(), create_req(secret("typed~secret"), false, None))).unwrap();
    assert_eq!(w.count(&format!("ms token {MAIN} secret")), 3 + 1, "and one for its permissions");
    assert_eq!(w.sleeps().len(), 2);
    assert_eq!(w.orgs.borrow().len(), 1);
}

#[test]
fn a_typed_certificate_is_checked_with_a_client_assertion_and_stored_with_its_password() {
    let w = World::new();
    w.accept(MAIN, Accepts::Certificate);
    let org = block_on(w.service().create(&config(), create_req(certificate(), false, None))).unwrap();
    assert_eq!(w.calls()[0], format!("ms token {MAIN} assertion"));
    assert_eq!(org.credential_type, shared::api::CredentialType::Certificate);
    assert!(org.certificate_thumbprint.is_some());
    assert_eq!(org.credential_expires_at.as_deref(), Some("2036-01-01T00:00:00Z"));
    let plain: serde_json::Value = serde_json::from_slice(&w.opened(&w.apps.borrow()[0])).unwrap();
    assert_eq!(plain["password"], PFX_PASSWORD);
    assert_eq!(plain["pfx_base64"], PFX.trim());
}

#[test]
fn a_certificate_whose_assertion_cannot_be_signed_is_refused_on_the_certificate_field() {
    let w = World::new();
    w.accept(MAIN, Accepts::Certificate);
    w.signer_fails.set(true);
    let e = block_on(w.service().create(&config(), create_req(certificate(), false, None))).unwrap_err();
    assert_eq!((code(&e), field(&e)), (ErrorCode::InvalidCertificate, Some(Field::Certificate)));
    assert!(w.events().iter().any(|e| e == "log error: signing a client assertion failed: no such key"));
    assert!(!w.events().iter().any(|e| e.starts_with("ms ")), "nothing sent without an assertion");
    assert!(w.orgs.borrow().is_empty());
}

#[test]
fn a_missing_keyring_fails_before_anything_is_asked() {
    let w = World::new();
    let service = Organizations { keyring: &no_keys, ..w.service() };
    let e = block_on(service.create(&config(), create_req(secret("s~1"), false, None))).unwrap_err();
    assert_eq!(e, AppError::Internal);
    assert!(w.events().is_empty());
}

#[test]
fn a_generated_secret_is_checked_again_stored_then_handed_over() {
    let w = World::new();
    let ex = exported(0..=0);
    accept_generated(&w, &ex);
    w.exports(ex);
    let org = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap();
    assert_eq!(
        w.calls(),
        [
            "signin export".to_owned(),
            format!("ms token {MAIN} secret"),
            format!("ms graph {MAIN}"),
            "store insert 1 application(s)".into(),
            "signin saved".into(),
        ]
    );
    assert_eq!(org.application_id, MAIN);
    assert_eq!(org.manifest_version, Some(crate::provisioning::manifest::MANIFEST_VERSION));
    assert_eq!(w.main_secret(), "generated-0");
    let told = w.portal_events.borrow();
    assert_eq!(told.len(), 1, "the portal hears of the new organization once");
    assert_eq!(
        (told[0].kind, told[0].account.as_str(), told[0].organization_id.as_str()),
        (crate::webhooks::EventType::OrganizationAdded, ACCOUNT, org.id.as_str())
    );
    let json = serde_json::to_string(&told[0]).unwrap();
    assert!(!json.contains("generated-0"), "no credential in an event: {json}");
    drop(told);
    let apps = w.apps.borrow();
    assert_eq!(apps[0].object_id.as_deref(), Some("obj-0"));
    let grant = apps[0].grant.as_ref().expect("what was granted is stored");
    assert!(grant.permissions.contains(&"MailboxItem.ImportExport.All".to_owned()));
    assert_eq!(apps[0].row.credential_expires_at, Some(crate::time::rfc3339_ms(Millis(1_900_000_000_000))));
}

#[test]
fn a_generated_secret_with_additional_applications_runs_them_waits_and_stores_all_four() {
    let w = World::new();
    w.status_then(vec![
        status(SignInState::Completed, 1),
        status(SignInState::Registering, 1),
        status(SignInState::Completed, 4),
    ]);
    let ex = exported(0..=3);
    accept_generated(&w, &ex);
    w.exports(ex);
    let org = block_on(w.service().create(&config(), create_req(generated(), true, None))).unwrap();
    assert_eq!(
        w.calls(),
        [
            "signin status".to_owned(),
            format!("signin additional global {TENANT}"),
            "signin status".into(),
            "signin status".into(),
            "signin export".into(),
            format!("ms token {MAIN} secret"),
            format!("ms graph {MAIN}"),
            "store insert 4 application(s)".into(),
            "signin saved".into(),
        ]
    );
    assert_eq!(w.sleeps(), [1000, 1000]);
    assert_eq!((org.active_applications, org.multiple_applications), (4, true));
    let workloads: Vec<Workload> = org.applications.iter().map(|a| a.workload).collect();
    assert_eq!(
        workloads,
        [Workload::All, Workload::Exchange, Workload::Files, Workload::Teams],
        "main first, then one each"
    );
    let apps = w.apps.borrow();
    assert_eq!(apps.iter().filter(|a| a.row.is_main == 1).count(), 1);
    for a in apps.iter() {
        let i = a.object_id.as_deref().unwrap().strip_prefix("obj-").unwrap();
        assert_eq!(String::from_utf8(w.opened(a)).unwrap(), format!("generated-{i}"));
    }
}

#[test]
fn additional_applications_already_there_are_not_asked_for_again() {
    let w = World::new();
    w.status_then(vec![status(SignInState::Completed, 4)]);
    let ex = exported(0..=3);
    accept_generated(&w, &ex);
    w.exports(ex);
    block_on(w.service().create(&config(), create_req(generated(), true, None))).unwrap();
    assert!(!w.events().iter().any(|e| e.starts_with("signin additional")));
    assert_eq!(w.apps.borrow().len(), 4);
}

#[test]
fn additional_applications_that_fail_or_never_finish_stop_the_save() {
    let w = World::new();
    let mut failed = status(SignInState::Failed, 1);
    failed.error = Some(ErrorDetail::new(ErrorCode::PermissionsNotGranted));
    w.status_then(vec![status(SignInState::Completed, 1), failed]);
    let e = block_on(w.service().create(&config(), create_req(generated(), true, None))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::PermissionsNotGranted);

    let w = World::new();
    w.status_then(vec![status(SignInState::Completed, 1), status(SignInState::Registering, 1)]);
    let e = block_on(w.service().create(&config(), create_req(generated(), true, None))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::ReplicationDelay);
    assert!(w.sleeps().iter().sum::<i64>() > ADDITIONAL_PATIENCE_MS);

    let w = World::new();
    w.status_then(vec![status(SignInState::Completed, 1)]);
    *w.additional_answer.borrow_mut() =
        Some(Err(Refusal { status: 409, error: Some(ErrorDetail::new(ErrorCode::SignInTenantMismatch)) }));
    let e = block_on(w.service().create(&config(), create_req(generated(), true, None))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::SignInTenantMismatch);
    assert!(w.orgs.borrow().is_empty());
    assert_eq!(w.calls(), ["signin status".to_owned(), format!("signin additional global {TENANT}")]);
}

#[test]
fn a_sign_in_in_another_tenant_or_cloud_gives_nothing() {
    for ex in [
        Exported { tenant_id: OTHER_TENANT.into(), ..exported(0..=0) },
        Exported { cloud: CloudEnvironment::UsGovDod, ..exported(0..=0) },
    ] {
        let w = World::new();
        accept_generated(&w, &ex);
        w.exports(ex);
        let e = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap_err();
        assert_eq!((code(&e), e.status()), (ErrorCode::SignInTenantMismatch, 409));
        assert_eq!(w.calls(), ["signin export"], "no check, no write, no hand-over");
    }
    // The tenant ID compares without case.
    let w = World::new();
    let ex = Exported { tenant_id: TENANT.to_uppercase(), ..exported(0..=0) };
    accept_generated(&w, &ex);
    w.exports(ex);
    block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap();
}

#[test]
fn the_application_must_be_the_sign_ins_main_application() {
    let w = World::new();
    w.exports(exported(0..=0));
    let mut req = create_req(generated(), false, None);
    req.application_id = OTHER_APP.into();
    let e = block_on(w.service().create(&config(), req)).unwrap_err();
    assert_eq!(field(&e), Some(Field::ApplicationId));
    assert_eq!(w.calls(), ["signin export"]);
}

#[test]
fn a_sign_in_that_no_longer_holds_its_applications_is_explained() {
    let w = World::new();
    *w.export.borrow_mut() = Some(Err(Refusal { status: 404, error: None }));
    let e = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap_err();
    assert_eq!(field(&e), Some(Field::ClientSecret));
    assert!(e.body().error.message.contains("Start again from Step 1"));

    let w = World::new();
    *w.export.borrow_mut() =
        Some(Err(Refusal { status: 409, error: Some(ErrorDetail::new(ErrorCode::SignInNotClaimed)) }));
    let e = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::SignInNotClaimed);

    // Fewer than 3 additional applications: all or none.
    let w = World::new();
    w.status_then(vec![status(SignInState::Completed, 4)]);
    let ex = exported(0..=2);
    accept_generated(&w, &ex);
    w.exports(ex);
    let e = block_on(w.service().create(&config(), create_req(generated(), true, None))).unwrap_err();
    assert_eq!(field(&e), Some(Field::ClientSecret));
    assert!(w.orgs.borrow().is_empty() && !w.events().iter().any(|e| e == "signin saved"));
}

#[test]
fn a_refused_generated_secret_stores_nothing_and_keeps_the_sign_ins_hold() {
    let w = World::new();
    w.exports(exported(0..=0));
    w.accept(MAIN, Accepts::Secret("something else".into()));
    let e = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::InvalidClientSecret);
    assert!(w.sleeps().iter().sum::<i64>() >= crate::organizations::check::CREATED_PATIENCE_MS, "the created patience");
    assert!(w.orgs.borrow().is_empty());
    // Unchanged behaviour: a failed create neither hands over nor releases (the hold ends by itself).
    assert!(!w.events().iter().any(|e| e == "signin saved" || e == "signin release"));
}

#[test]
fn a_typed_secret_with_additional_applications_from_a_sign_in() {
    let w = World::new();
    let org = saved_with_additional(&w);
    assert_eq!(org.active_applications, 4);
    assert_eq!(w.main_secret(), "typed~secret");
    let apps = w.apps.borrow();
    assert_eq!(apps.iter().filter(|a| a.row.is_main == 0 && a.object_id.is_some()).count(), 3);
}

#[test]
fn a_typed_secret_with_additional_applications_checks_the_main_one_first() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    // A sign-in for the additional applications only: its first application is not the main one.
    let mut done = status(SignInState::Completed, 4);
    done.result.as_mut().unwrap().application_id = additional_id(1);
    w.status_then(vec![done]);
    let ex = exported(1..=3);
    w.exports(ex);
    block_on(w.service().create(&config(), create_req(secret("typed~secret"), true, Some(SIGN_IN)))).unwrap();
    let mut calls = vec![format!("ms token {MAIN} secret"), format!("ms graph {MAIN}"), "signin status".into()];
    // The main application was registered by hand: its permissions are read before anything is created.
    calls.extend(permission_reads(MAIN, "secret"));
    calls.extend([
        "signin status".into(),
        "signin export".into(),
        "store insert 4 application(s)".into(),
        "signin saved".into(),
    ]);
    assert_eq!(w.calls(), calls);
}

#[test]
fn a_certificate_after_automatic_registration_replaces_the_generated_secrets() {
    let w = World::new();
    w.status_then(vec![status(SignInState::Completed, 4)]);
    w.exports(exported(0..=3));
    w.accept(MAIN, Accepts::Certificate);
    let org = block_on(w.service().create(&config(), create_req(certificate(), true, Some(SIGN_IN)))).unwrap();
    assert_eq!(
        w.calls(),
        [
            "signin status".to_owned(),
            "signin export".into(),
            "signin use-certificate".into(),
            format!("ms token {MAIN} assertion"),
            format!("ms graph {MAIN}"),
            "store insert 4 application(s)".into(),
            "signin saved".into(),
        ]
    );
    assert_eq!(org.credential_type, shared::api::CredentialType::Certificate);
    let apps = w.apps.borrow();
    assert!(apps.iter().all(|a| a.row.credential_type == "certificate" && a.object_id.is_some()));
    assert_eq!(apps.iter().filter(|a| a.row.is_main == 1).map(|a| a.row.app_id.as_str()).collect::<Vec<_>>(), [MAIN]);
}

#[test]
fn a_refused_certificate_swap_is_answered_with_the_sign_ins_error() {
    let w = World::new();
    w.exports(exported(0..=0));
    *w.use_certificate_answer.borrow_mut() = Some(Err(Refusal { status: 404, error: None }));
    let e = block_on(w.service().create(&config(), create_req(certificate(), false, Some(SIGN_IN)))).unwrap_err();
    assert_eq!(e, AppError::NoSuchObject);
    assert_eq!(w.calls(), ["signin export", "signin use-certificate"]);
}

#[test]
fn a_certificate_for_another_application_than_the_sign_ins_is_a_typed_certificate() {
    let w = World::new();
    w.exports(exported(0..=0));
    w.status_then(vec![status(SignInState::Completed, 1)]);
    w.accept(OTHER_APP, Accepts::Certificate);
    let mut req = create_req(certificate(), false, Some(SIGN_IN));
    req.application_id = OTHER_APP.into();
    block_on(w.service().create(&config(), req)).unwrap();
    let mut calls = vec![
        "signin export".to_owned(),
        format!("ms token {OTHER_APP} assertion"),
        format!("ms graph {OTHER_APP}"),
        "signin status".into(),
    ];
    // Not the sign-in's application: registered by hand, so its permissions are read.
    calls.extend(permission_reads(OTHER_APP, "assertion"));
    calls.push("store insert 1 application(s)".into());
    assert_eq!(w.calls(), calls);
}

#[test]
fn the_same_tenant_twice_names_the_existing_organization() {
    let w = World::new();
    saved_with_additional(&w);
    w.orgs.borrow_mut()[0].name = "Contoso Ltd".into();
    w.status_then(vec![status(SignInState::Completed, 4)]);
    let e =
        block_on(w.service().create(&config(), create_req(secret("typed~secret"), true, Some(SIGN_IN)))).unwrap_err();
    assert_eq!((code(&e), e.status()), (ErrorCode::OrganizationExists, 409));
    assert!(e.body().error.message.contains("\"Contoso Ltd\""));
    assert_eq!((w.orgs.borrow().len(), w.apps.borrow().len()), (1, 4), "nothing added");
    assert!(!w.events().iter().any(|e| e == "signin saved" || e == "signin release"));
}

#[test]
fn a_failed_write_stores_nothing_and_does_not_hand_over() {
    let w = World::new();
    w.store_fails.set(Some(StoreError::Other));
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    w.status_then(vec![status(SignInState::Completed, 4)]);
    w.exports(exported(1..=3));
    let e =
        block_on(w.service().create(&config(), create_req(secret("typed~secret"), true, Some(SIGN_IN)))).unwrap_err();
    assert_eq!(e, AppError::Internal);
    assert!(w.orgs.borrow().is_empty() && w.apps.borrow().is_empty());
    assert_eq!(w.calls().last().unwrap(), "store insert 4 application(s)");
    assert!(!w.events().iter().any(|e| e == "signin saved" || e == "signin release"));
    assert!(w.portal_events.borrow().is_empty(), "nothing saved, nothing announced");
}

#[test]
fn the_hand_over_is_retried_three_times_and_the_save_stands_regardless() {
    let w = World::new();
    let ex = exported(0..=0);
    accept_generated(&w, &ex);
    w.exports(ex);
    *w.saved_answers.borrow_mut() =
        [Err(AppError::Internal), Ok(Err(Refusal { status: 500, error: None })), Ok(Ok(()))].into();
    block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap();
    assert_eq!(w.count("signin saved"), 2 + 1);
    assert_eq!(w.sleeps(), [250, 500]);
    assert!(w.events().contains(&format!("log warn: signin {SIGN_IN}: saved hand-over failed (attempt 1)")));
    assert!(w.events().contains(&format!("log warn: signin {SIGN_IN}: saved hand-over answered 500")));

    let w = World::new();
    let ex = exported(0..=0);
    accept_generated(&w, &ex);
    w.exports(ex);
    *w.saved_answers.borrow_mut() = (0..5).map(|_| Err(AppError::Internal)).collect();
    let org = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap();
    assert_eq!(w.count("signin saved"), HAND_OVER_ATTEMPTS as usize);
    assert_eq!(w.sleeps(), [250, 500, 750]);
    assert!(w.events().last().unwrap().starts_with("log error: signin"));
    assert_eq!(w.org().id, org.id);
}

#[test]
fn the_hand_over_fault_switch_sends_nothing() {
    let w = World::new();
    let ex = exported(0..=0);
    accept_generated(&w, &ex);
    w.exports(ex);
    block_on(w.service().create(&config_failing_handover(), create_req(generated(), false, None))).unwrap();
    assert_eq!(w.count("signin saved"), 0);
    assert_eq!(w.sleeps(), [250, 500, 750]);
    assert_eq!(w.orgs.borrow().len(), 1);
}

// --- update ----------------------------------------------------------------------------------

#[test]
fn a_rename_touches_only_the_name_and_the_version() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let before = w.main_row();
    let updated = block_on(w.service().update(
        &config(),
        &org.id,
        UpdateOrganization { name: Some("Fabrikam".into()), ..edit(1) },
    ))
    .unwrap();
    assert_eq!((updated.name.as_str(), updated.version), ("Fabrikam", 2));
    assert_eq!(w.calls(), ["store update []"]);
    assert_eq!(w.main_row().id, before.id);

    let e =
        block_on(w.service().update(&config(), &org.id, UpdateOrganization { name: Some(String::new()), ..edit(2) }))
            .unwrap_err();
    assert_eq!(field(&e), Some(Field::OrganizationName));
    assert_eq!(w.org().version, 2);
}

#[test]
fn an_edit_from_an_old_version_or_of_another_accounts_organization_is_refused() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let e = block_on(w.service().update(&config(), &org.id, UpdateOrganization { name: Some("X".into()), ..edit(7) }))
        .unwrap_err();
    assert_eq!((code(&e), e.status()), (ErrorCode::EditConflict, 409));
    w.orgs.borrow_mut()[0].account_id = "someone-else".into();
    let e = block_on(w.service().update(&config(), &org.id, edit(1))).unwrap_err();
    assert_eq!(e, AppError::NoSuchObject);
    assert!(w.calls().is_empty());
}

#[test]
fn a_new_application_id_is_checked_with_the_stored_credential() {
    let w = World::new();
    let org = saved_with_additional(&w);
    w.accept(OTHER_APP, Accepts::Secret("typed~secret".into()));
    let req = UpdateOrganization { application_id: Some(OTHER_APP.into()), ..edit(1) };
    // Another application: its permissions are compared with the manifest like a Manual save's.
    w.no_sharepoint_role.borrow_mut().push(OTHER_APP.into());
    let e = block_on(w.service().update(&config(), &org.id, req.clone())).unwrap_err();
    assert_eq!(code(&e), ErrorCode::PermissionsMissing);
    assert_eq!(w.main_row().app_id, MAIN, "nothing changed");
    w.no_sharepoint_role.borrow_mut().clear();
    w.forget();
    let updated = block_on(w.service().update(&config(), &org.id, req)).unwrap();
    let mut calls = vec![format!("ms token {OTHER_APP} secret"), format!("ms graph {OTHER_APP}")];
    calls.extend(permission_reads(OTHER_APP, "secret"));
    calls.extend(["store update [\"set-app-id\"]".into(), "store health".into()]);
    assert_eq!(w.calls(), calls);
    assert_eq!(updated.application_id, OTHER_APP);
    assert_eq!(updated.health.state, shared::api::Health::Healthy, "its own health, not the old one's");
    assert_eq!(w.main_secret(), "typed~secret");

    // Refused: nothing changes.
    let req = UpdateOrganization { application_id: Some(MAIN.into()), ..edit(2) };
    w.accepts.borrow_mut().remove(MAIN);
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(field(&e), Some(Field::ApplicationId));
    assert_eq!(w.main_row().app_id, OTHER_APP);
}

#[test]
fn a_new_secret_replaces_the_main_applications_row() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let old = w.main_row();
    w.accept(MAIN, Accepts::Secret("new~secret".into()));
    let req = UpdateOrganization { credential: Some(secret("new~secret")), ..edit(1) };
    block_on(w.service().update(&config(), &org.id, req)).unwrap();
    assert_eq!(w.calls().last().unwrap(), "store update [\"delete\", \"insert\"]");
    assert_ne!(w.main_row().id, old.id);
    assert_eq!(w.main_secret(), "new~secret");
    assert_eq!(w.apps.borrow().len(), 4);

    // A wrong one changes nothing.
    let req = UpdateOrganization { credential: Some(secret("wrong~secret")), ..edit(2) };
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(code(&e), ErrorCode::InvalidClientSecret);
    assert_eq!(w.main_secret(), "new~secret");
    assert_eq!(w.org().version, 2);
}

#[test]
fn a_new_credential_for_a_registered_application_keeps_what_was_granted() {
    let w = World::new();
    let ex = exported(0..=0);
    accept_generated(&w, &ex);
    w.exports(ex);
    let org = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap();
    assert_eq!(org.manifest_version, Some(crate::provisioning::manifest::MANIFEST_VERSION));
    w.accept(MAIN, Accepts::Secret("new~secret".into()));
    let req = UpdateOrganization { credential: Some(secret("new~secret")), ..edit(1) };
    let org = block_on(w.service().update(&config(), &org.id, req)).unwrap();
    assert_eq!(org.manifest_version, Some(crate::provisioning::manifest::MANIFEST_VERSION), "still the service's");
    let apps = w.apps.borrow();
    assert_eq!(apps[0].object_id.as_deref(), Some("obj-0"));
    assert!(apps[0].grant.as_ref().is_some_and(|g| g.permissions.contains(&"MailboxItem.ImportExport.All".to_owned())));
}

#[test]
fn a_new_certificate_replaces_the_secret_and_is_used_for_later_checks() {
    let w = World::new();
    let org = saved_with_additional(&w);
    w.accept(MAIN, Accepts::Certificate);
    let req = UpdateOrganization { credential: Some(certificate()), ..edit(1) };
    let updated = block_on(w.service().update(&config(), &org.id, req)).unwrap();
    assert_eq!(updated.credential_type, shared::api::CredentialType::Certificate);
    // The stored certificate is opened (and parsed) for the next application ID check.
    w.forget();
    w.accept(OTHER_APP, Accepts::Certificate);
    block_on(w.service().update(
        &config(),
        &org.id,
        UpdateOrganization { application_id: Some(OTHER_APP.into()), ..edit(2) },
    ))
    .unwrap();
    assert_eq!(w.calls()[0], format!("ms token {OTHER_APP} assertion"));
}

#[test]
fn the_generated_credential_is_not_a_new_credential() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let req = UpdateOrganization { credential: Some(generated()), ..edit(1) };
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(field(&e), Some(Field::ClientSecret));
    assert!(w.calls().is_empty());
}

#[test]
fn turning_additional_applications_off_keeps_them_inactive() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let req = UpdateOrganization { multiple_applications: Some(false), ..edit(1) };
    let updated = block_on(w.service().update(&config(), &org.id, req)).unwrap();
    assert_eq!((updated.multiple_applications, updated.active_applications), (false, 1));
    assert_eq!(w.apps.borrow().len(), 4);
    assert_eq!(w.calls(), ["store update [\"deactivate-additional\"]"]);

    // On while on: nothing to do but the version.
    let w = World::new();
    let org = saved_with_additional(&w);
    let req = UpdateOrganization { multiple_applications: Some(true), ..edit(1) };
    block_on(w.service().update(&config(), &org.id, req)).unwrap();
    assert_eq!(w.calls(), ["store update []"]);
}

fn switched_off(w: &World) -> Organization {
    let org = saved_with_additional(w);
    let req = UpdateOrganization { multiple_applications: Some(false), ..edit(1) };
    block_on(w.service().update(&config(), &org.id, req)).unwrap();
    w.forget();
    org
}

#[test]
fn turning_them_back_on_needs_a_choice() {
    let w = World::new();
    let org = switched_off(&w);
    let req = UpdateOrganization { multiple_applications: Some(true), ..edit(2) };
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(field(&e), Some(Field::Body));
    let req =
        UpdateOrganization { multiple_applications: Some(true), reenable: Some(ReenableChoice::Recreate), ..edit(2) };
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(field(&e), Some(Field::Body), "recreating needs a sign-in");
    assert!(w.calls().is_empty());
}

#[test]
fn use_existing_checks_every_stored_additional_application() {
    let w = World::new();
    let org = switched_off(&w);
    let req = || UpdateOrganization {
        multiple_applications: Some(true),
        reenable: Some(ReenableChoice::UseExisting),
        ..edit(2)
    };
    let updated = block_on(w.service().update(&config(), &org.id, req())).unwrap();
    assert_eq!((updated.multiple_applications, updated.active_applications), (true, 4));
    let tokens: Vec<String> = w.calls().into_iter().filter(|e| e.starts_with("ms token")).collect();
    assert_eq!(tokens, (1..=3).map(|i| format!("ms token {} secret", additional_id(i))).collect::<Vec<_>>());
    assert_eq!(w.calls().last().unwrap(), "store update [\"activate-additional\"]");

    // A broken one: named, and nothing changes.
    let w = World::new();
    let org = switched_off(&w);
    w.accept(&additional_id(2), Accepts::Secret("rotated".into()));
    let e = block_on(w.service().update(&config(), &org.id, req())).unwrap_err();
    assert_eq!(code(&e), ErrorCode::InvalidClientSecret);
    assert!(e.body().error.message.contains(&additional_id(2)));
    assert!(!e.body().error.message.contains(&additional_id(1)));
    assert!(!w.events().iter().any(|e| e.starts_with("store update")));
    assert_eq!(w.org().multiple_applications, 0);
}

#[test]
fn use_existing_without_stored_additional_applications_says_to_recreate() {
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    let org = block_on(w.service().create(&config(), create_req(secret("typed~secret"), false, None))).unwrap();
    let req = UpdateOrganization {
        multiple_applications: Some(true),
        reenable: Some(ReenableChoice::UseExisting),
        ..edit(1)
    };
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(field(&e), Some(Field::Body));
    assert!(e.body().error.message.contains("Recreate"));
}

fn recreate(version: i64) -> UpdateOrganization {
    UpdateOrganization {
        multiple_applications: Some(true),
        reenable: Some(ReenableChoice::Recreate),
        sign_in_id: Some(SIGN_IN.into()),
        ..edit(version)
    }
}

/// The sign-in that recreates the additional applications: new IDs and secrets.
fn recreating_sign_in(w: &World) {
    w.status_then(vec![status(SignInState::Completed, 1), status(SignInState::Completed, 4)]);
    let mut ex = exported(1..=3);
    for a in &mut ex.apps {
        a.app_id = a.app_id.replace("2222222", "3333333");
        a.secret = Some(format!("recreated-{}", a.index));
    }
    w.exports(ex);
}

#[test]
fn recreate_replaces_the_additional_applications_then_hands_over() {
    let w = World::new();
    let org = switched_off(&w);
    recreating_sign_in(&w);
    let updated = block_on(w.service().update(&config(), &org.id, recreate(2))).unwrap();
    assert_eq!(
        w.calls(),
        [
            "signin status".to_owned(),
            format!("signin additional global {TENANT}"),
            "signin status".into(),
            "signin export".into(),
            "store update [\"delete-additional\", \"insert\", \"insert\", \"insert\"]".into(),
            "signin saved".into(),
        ]
    );
    assert_eq!((updated.multiple_applications, updated.active_applications, updated.version), (true, 4, 3));
    let apps = w.apps.borrow();
    assert_eq!(apps.iter().filter(|a| a.row.app_id.starts_with("3333333")).count(), 3);
    assert!(!apps.iter().any(|a| a.row.app_id.starts_with("2222222")));
}

#[test]
fn a_recreate_that_cannot_be_stored_releases_the_new_applications() {
    for failure in [StoreError::Other, StoreError::VersionMoved] {
        let w = World::new();
        let org = switched_off(&w);
        recreating_sign_in(&w);
        w.store_fails.set(Some(failure));
        let e = block_on(w.service().update(&config(), &org.id, recreate(2))).unwrap_err();
        let expected = if failure == StoreError::VersionMoved { ErrorCode::EditConflict } else { ErrorCode::Internal };
        assert_eq!(code(&e), expected);
        let calls = w.calls();
        assert_eq!(
            &calls[calls.len() - 2..],
            ["store update [\"delete-additional\", \"insert\", \"insert\", \"insert\"]", "signin release"]
        );
        assert!(!calls.iter().any(|e| e == "signin saved"));
        assert_eq!(w.org().version, 2, "nothing of the edit applied");
        assert!(w.apps.borrow().iter().filter(|a| a.row.is_main == 0).all(|a| a.row.app_id.starts_with("2222222")));
    }
}

#[test]
fn an_edit_that_loses_the_race_is_a_conflict_and_applies_nothing() {
    let w = World::new();
    let org = saved_with_additional(&w);
    w.concurrent_edit.set(true);
    let req = UpdateOrganization { name: Some("Fabrikam".into()), multiple_applications: Some(false), ..edit(1) };
    let e = block_on(w.service().update(&config(), &org.id, req)).unwrap_err();
    assert_eq!(code(&e), ErrorCode::EditConflict);
    assert_eq!(w.org().name, "Contoso");
    assert_eq!(w.org().version, 2, "only the other edit");
    assert!(w.apps.borrow().iter().all(|a| a.row.active == 1));
    assert!(!w.events().iter().any(|e| e == "signin release"), "nothing to release");
}

// --- delete, list, get -----------------------------------------------------------------------

#[test]
fn delete_needs_confirmation_and_the_accounts_own_organization() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let e = block_on(
        w.service().delete(&org.id, DeleteOrganization { confirm: false, version: 1, remove_with_sign_in: None }),
    )
    .unwrap_err();
    assert_eq!((code(&e), field(&e)), (ErrorCode::ConfirmationRequired, Some(Field::Confirm)));
    let other = Organizations { account: "someone-else", ..w.service() };
    let e = block_on(other.delete(&org.id, keep())).unwrap_err();
    assert_eq!(e, AppError::NoSuchObject);
    assert!(w.calls().is_empty());
    assert_eq!(w.apps.borrow().len(), 4);

    block_on(w.service().delete(&org.id, keep())).unwrap();
    assert_eq!(w.calls(), ["store delete"]);
    assert!(w.orgs.borrow().is_empty() && w.apps.borrow().is_empty());
    assert_eq!(block_on(w.service().get(&org.id)).unwrap_err(), AppError::NoSuchObject);
}

/// Delete carries the version the admin saw: a change saved before it, or while its removal
/// talks to Microsoft, stops it (409), and the organization keeps every row, the new ones too.
#[test]
fn delete_refuses_a_moved_version_and_never_deletes_rows_it_did_not_read() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let stale = DeleteOrganization { version: 0, ..keep() };
    let e = block_on(w.service().delete(&org.id, stale)).unwrap_err();
    assert_eq!((code(&e), e.status()), (ErrorCode::EditConflict, 409));
    assert!(w.calls().is_empty(), "nothing asked of the sign-in or the store: {:?}", w.calls());

    // "Recreate multiple applications" commits while the removal is deleting at Microsoft.
    w.recreate_during_removal.set(true);
    let e = block_on(w.service().delete(&org.id, remove_with(SIGN_IN))).unwrap_err();
    assert_eq!((code(&e), e.status()), (ErrorCode::EditConflict, 409));
    assert_eq!(w.orgs.borrow().len(), 1, "the organization stays");
    assert!(w.apps.borrow().iter().any(|a| a.row.app_id == "recreated-app"), "with the new applications' rows");
    assert!(w.portal_events.borrow().iter().all(|e| e.kind != crate::webhooks::EventType::OrganizationDeleted));
}

fn keep() -> DeleteOrganization {
    DeleteOrganization { confirm: true, version: 1, remove_with_sign_in: None }
}

#[test]
fn a_removal_sign_in_is_started_only_for_the_accounts_organization_in_its_cloud() {
    let w = World::new();
    let org = saved_with_additional(&w);
    block_on(w.service().removal_target(&org.id, CloudEnvironment::Global)).unwrap();
    let other = Organizations { account: "someone-else", ..w.service() };
    assert_eq!(block_on(other.removal_target(&org.id, CloudEnvironment::Global)).unwrap_err(), AppError::NoSuchObject);
    let e = block_on(w.service().removal_target(&org.id, CloudEnvironment::China)).unwrap_err();
    assert_eq!(field(&e), Some(Field::Cloud));
    let e = block_on(w.service().removal_target("not an id", CloudEnvironment::Global)).unwrap_err();
    assert_eq!(field(&e), Some(Field::RemoveOrganizationId));
}

fn remove_with(sign_in: &str) -> DeleteOrganization {
    DeleteOrganization { confirm: true, version: 1, remove_with_sign_in: Some(sign_in.into()) }
}

#[test]
fn delete_with_removal_deletes_the_organizations_own_applications_first_and_keeps_it_until_all_are_gone() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let stored: Vec<String> = w.apps.borrow().iter().map(|a| a.row.app_id.clone()).collect();
    assert_eq!(stored.len(), 4);
    // Another account cannot use its own sign-in on this organization.
    let other = Organizations { account: "someone-else", ..w.service() };
    assert_eq!(block_on(other.delete(&org.id, remove_with(SIGN_IN))).unwrap_err(), AppError::NoSuchObject);
    let e = block_on(w.service().delete(&org.id, remove_with("not an id"))).unwrap_err();
    assert_eq!(field(&e), Some(Field::SignInId));
    assert!(w.calls().is_empty(), "nothing asked of the sign-in");

    // Another organization (another account's) uses one of them: nothing is asked of the sign-in.
    let mut shared = w.apps.borrow()[1].clone();
    shared.row.organization_id = "another-organization".into();
    shared.row.id = "another-row".into();
    w.apps.borrow_mut().push(shared);
    let e = block_on(w.service().delete(&org.id, remove_with(SIGN_IN))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::ApplicationsShared);
    assert!(e.body().error.message.ends_with(&format!("Shared: {}.", stored[1])), "{e:?}");
    assert!(w.calls().is_empty(), "{:?}", w.calls());
    w.apps.borrow_mut().retain(|a| a.row.organization_id != "another-organization");

    // The sign-in refuses (another tenant): nothing is deleted anywhere.
    let mismatch = Refusal { status: 409, error: Some(ErrorDetail::new(ErrorCode::SignInTenantMismatch)) };
    *w.remove_answer.borrow_mut() = Some(Err(mismatch));
    let e = block_on(w.service().delete(&org.id, remove_with(SIGN_IN))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::SignInTenantMismatch);
    assert_eq!(w.orgs.borrow().len(), 1);

    // Microsoft keeps one: the organization stays, and the message names it.
    *w.remove_answer.borrow_mut() = Some(Ok(Removed { not_removed: vec![stored[2].clone()], denied: false }));
    w.forget();
    let e = block_on(w.service().delete(&org.id, remove_with(SIGN_IN))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::ApplicationsNotRemoved);
    assert!(e.body().error.message.ends_with(&format!("Still registered: {}.", stored[2])), "{e:?}");
    assert!(!e.body().error.message.contains("role"), "no role is blamed for another failure: {e:?}");
    assert_eq!(
        w.calls(),
        [format!("signin remove {} global {TENANT} {}", org.id, stored.join(","))],
        "the stored IDs, in the stored tenant, for the sign-in started for this organization"
    );
    assert_eq!((w.orgs.borrow().len(), w.apps.borrow().len()), (1, 4));

    // Refused to the signed-in account's role: the message says which roles may delete them.
    *w.remove_answer.borrow_mut() = Some(Ok(Removed { not_removed: stored.clone(), denied: true }));
    let e = block_on(w.service().delete(&org.id, remove_with(SIGN_IN))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::ApplicationsNotRemoved);
    let message = &e.body().error.message;
    assert!(message.contains(&format!("Still registered: {}.", stored.join(", "))), "{message}");
    assert!(
        message.contains("Application Administrator") && message.contains("Sign in with such an account"),
        "{message}"
    );
    assert_eq!((w.orgs.borrow().len(), w.apps.borrow().len()), (1, 4));

    // Sent again: all gone, then the organization is deleted.
    *w.remove_answer.borrow_mut() = None;
    w.forget();
    block_on(w.service().delete(&org.id, remove_with(SIGN_IN))).unwrap();
    assert_eq!(w.calls()[1..], ["store delete".to_owned()]);
    assert!(w.orgs.borrow().is_empty() && w.apps.borrow().is_empty());
}

#[test]
fn list_and_get_show_only_the_accounts_organizations() {
    let w = World::new();
    let org = saved_with_additional(&w);
    w.accept(MAIN, Accepts::Secret("other~secret".into()));
    let mut req = create_req(secret("other~secret"), false, None);
    req.tenant_id = OTHER_TENANT.into();
    req.name = "alpha".into();
    block_on(w.service().create(&config(), req)).unwrap();
    let list = block_on(w.service().list()).unwrap();
    let names: Vec<(&str, u8)> = list.organizations.iter().map(|o| (o.name.as_str(), o.active_applications)).collect();
    assert_eq!(names, [("alpha", 1), ("Contoso", 4)]);
    assert_eq!(block_on(w.service().get(&org.id)).unwrap().tenant_id, TENANT);

    let other = Organizations { account: "someone-else", ..w.service() };
    assert!(block_on(other.list()).unwrap().organizations.is_empty());
    assert_eq!(block_on(other.get(&org.id)).unwrap_err(), AppError::NoSuchObject);
}

#[test]
fn a_health_check_reads_the_tokens_roles_and_an_application_fails_after_two_refusals_in_a_row() {
    use shared::api::{Health, HealthReason};
    let w = World::new();
    w.accept(MAIN, Accepts::Secret("typed~secret".into()));
    let org = block_on(w.service().create(&config(), create_req(secret("typed~secret"), false, None))).unwrap();
    assert_eq!(org.health.state, Health::Unchecked);
    w.forget();

    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(checked.health.state, Health::Healthy, "{:?}", checked.health);
    assert!(checked.health.checked_at.is_some());
    assert_eq!(
        w.calls(),
        [&format!("ms token {MAIN} secret"), "store health", &format!("store schedule {} +24 h", org.id)],
        "one request per application, and the next check a day later"
    );

    // Admin consent for a mailbox permission was removed in the tenant.
    let mut fewer = crate::health::required_graph_roles(CloudEnvironment::Global, shared::api::Workload::All);
    fewer.retain(|r| r != "Mail.ReadWrite");
    w.roles.borrow_mut().insert(MAIN.to_owned(), fewer);
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(
        (checked.health.state, checked.health.reason, checked.health.permissions.clone()),
        (Health::NeedsAttention, Some(HealthReason::PermissionsMissing), vec!["Mail.ReadWrite".to_owned()])
    );
    w.roles.borrow_mut().clear();
    let granted_again = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(granted_again.health.state, Health::Healthy, "consent granted again: the failure is over");

    // The application was deleted: a first refusal needs attention, a second one fails.
    w.accepts.borrow_mut().clear();
    let once = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(once.health.state, Health::NeedsAttention);
    let twice = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!((twice.health.state, twice.health.reason), (Health::Failing, Some(HealthReason::ApplicationDeleted)));
    assert_eq!(twice.applications[0].health.state, Health::Failing);
    let told: Vec<(crate::webhooks::EventType, serde_json::Value)> =
        w.portal_events.borrow().iter().map(|e| (e.kind, e.data["state"].clone())).collect();
    use crate::webhooks::EventType::{HealthChanged, OrganizationAdded};
    assert_eq!(
        told,
        [
            (OrganizationAdded, serde_json::Value::Null),
            (HealthChanged, "healthy".into()),
            (HealthChanged, "needs_attention".into()),
            (HealthChanged, "healthy".into()),
            (HealthChanged, "needs_attention".into()),
            (HealthChanged, "failing".into()),
        ],
        "each change of health is announced once"
    );

    // Another account checks nothing of it.
    let other = Organizations { account: "acct-2", ..w.service() };
    assert!(matches!(block_on(other.check_health(&config(), &org.id)), Err(AppError::NoSuchObject)));
}

/// An organization saved after an automatic registration whose main application holds a
/// certificate the service generated (here the test certificate and its key, valid 2026 to 2036);
/// the journal is cleared afterwards.
fn saved_with_generated_certificate(w: &World) -> (Organization, ParsedPfx) {
    let pfx =
        shared::certificate::parse_pfx(&STANDARD.decode(PFX.trim()).unwrap(), PFX_PASSWORD, START_MS / 1000).unwrap();
    let mut ex = exported(0..=0);
    ex.apps[0].secret = None;
    ex.apps[0].certificate = Some(crate::provisioning::plan::GeneratedCertificate {
        der_base64: STANDARD.encode(&pfx.certificate_der),
        pkcs8_base64: SecretString::new(STANDARD.encode(pfx.private_key_pkcs8.expose())),
        info: pfx.info.clone(),
        not_before: pfx.validity.0,
        not_after: pfx.validity.1,
    });
    w.accept(MAIN, Accepts::Certificate);
    w.exports(ex);
    let org = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap();
    w.forget();
    (org, pfx)
}

#[test]
fn a_generated_certificate_near_its_end_is_replaced_with_a_proof_from_the_current_key() {
    use shared::api::Health;
    let w = World::new();
    let (org, pfx) = saved_with_generated_certificate(&w);
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(checked.health.state, Health::Healthy);
    assert!(!w.calls().iter().any(|c| c.contains("addKey")), "not due for years");

    // 20 days before its end.
    w.clock.set(pfx.validity.1 * 1000 - 20 * 86_400_000);
    w.forget();
    let rotated = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(
        w.calls(),
        [
            format!("ms token {MAIN} assertion"),
            "ms addKey obj-0".into(),
            format!("ms token {MAIN} assertion"),
            format!("ms graph {MAIN}"),
            "store rotated new-key-id".into(),
            "store health".into(),
            format!("store schedule {} +24 h", org.id),
        ],
        "the check's token carries the addKey; the new certificate is checked before it is stored"
    );
    assert_eq!(rotated.health.state, Health::Healthy, "{:?}", rotated.health);
    let app = &rotated.applications[0];
    assert_ne!(app.credential_expires_at, org.applications[0].credential_expires_at);
    assert_ne!(app.certificate_thumbprint, org.applications[0].certificate_thumbprint);
    let row = w.apps.borrow()[0].row.clone();
    assert_eq!(row.retiring_key_id, Some(shared::assertion::key_id_for_certificate(&pfx.certificate_der)));
    assert_eq!(row.retire_after_ms, Some(Millis(w.clock.get() + crate::health::ROTATION_OVERLAP_MS)));
    let kinds: Vec<_> = w.portal_events.borrow().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&crate::webhooks::EventType::CredentialRotated), "{kinds:?}");
    assert!(!kinds.contains(&crate::webhooks::EventType::CredentialExpiring), "a rotating credential is not announced");
}

#[test]
fn a_refused_add_key_keeps_the_old_certificate_and_says_so() {
    use shared::api::{Health, HealthReason};
    let w = World::new();
    let (org, pfx) = saved_with_generated_certificate(&w);
    w.clock.set(pfx.validity.1 * 1000 - 20 * 86_400_000);
    w.add_key_refused.set(Some(503));
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(w.calls()[..2], [format!("ms token {MAIN} assertion"), "ms addKey obj-0".into()]);
    assert!(!w.calls().iter().any(|c| c.starts_with("store rotated") || c.contains("removeKey")));
    assert_eq!(
        (checked.health.state, checked.health.reason),
        (Health::NeedsAttention, Some(HealthReason::RotationFailed))
    );
    assert_eq!(checked.applications[0].credential_expires_at, org.applications[0].credential_expires_at);
}

#[test]
fn a_new_certificate_that_does_not_work_is_removed_again_and_the_old_one_kept() {
    use shared::api::HealthReason;
    let w = World::new();
    let (org, pfx) = saved_with_generated_certificate(&w);
    w.clock.set(pfx.validity.1 * 1000 - 20 * 86_400_000);
    // Tokens are issued, but Graph refuses them (through the whole replication patience).
    w.no_consent.borrow_mut().insert(MAIN.to_owned());
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    let calls = w.calls();
    assert_eq!(calls.iter().filter(|c| c.starts_with("ms removeKey obj-0 new-key-id")).count(), 1, "{calls:?}");
    assert!(!calls.iter().any(|c| c.starts_with("store rotated")), "{calls:?}");
    assert_eq!(checked.health.reason, Some(HealthReason::RotationFailed));
    assert_eq!(w.apps.borrow()[0].row.retiring_key_id, None);
}

#[test]
fn the_replaced_key_is_removed_once_the_overlap_has_ended() {
    let w = World::new();
    let (org, _) = saved_with_generated_certificate(&w);
    {
        let mut apps = w.apps.borrow_mut();
        apps[0].row.retiring_key_id = Some("old-key-id".into());
        apps[0].row.retire_after_ms = Some(Millis(START_MS + 3_600_000));
    }
    block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert!(!w.calls().iter().any(|c| c.contains("removeKey")), "the overlap has not ended");
    w.clock.set(START_MS + 2 * 3_600_000);
    w.forget();
    block_on(w.service().check_health(&config(), &org.id)).unwrap();
    assert_eq!(
        w.calls(),
        [
            format!("ms token {MAIN} assertion"),
            "ms removeKey obj-0 old-key-id".into(),
            "store key retired".into(),
            "store health".into(),
            format!("store schedule {} +24 h", org.id),
        ]
    );
    assert_eq!(w.apps.borrow()[0].row.retiring_key_id, None);
}

#[test]
fn an_edit_made_during_a_rotation_wins_and_the_new_key_is_removed_again() {
    use shared::api::HealthReason;
    let w = World::new();
    let (org, pfx) = saved_with_generated_certificate(&w);
    w.clock.set(pfx.validity.1 * 1000 - 20 * 86_400_000);
    w.edit_during_add_key.set(true);
    let checked = block_on(w.service().check_health(&config(), &org.id)).unwrap();
    let calls = w.calls();
    assert!(calls.contains(&"store rotated new-key-id".to_owned()), "{calls:?}");
    assert!(calls.contains(&"ms removeKey obj-0 new-key-id".to_owned()), "{calls:?}");
    assert_eq!(w.apps.borrow()[0].ciphertext, "sealed by the administrator's edit", "the edit stays");
    assert_eq!(checked.health.reason, Some(HealthReason::RotationFailed));
}

// --- repair ----------------------------------------------------------------------------------

/// What a repair sign-in of the organization saved by [`saved_with_additional`] exports: the main
/// application kept its (typed) credential, additional application 1 was deleted and created again
/// with a new ID and credential, 2 and 3 kept theirs; every one now has every permission.
fn repaired(org_id: Option<&str>) -> Exported {
    let mut ex = exported(0..=3);
    for a in ex.apps.iter_mut() {
        a.object_id = format!("kept-obj-{}", a.index);
        a.secret = None;
        a.secret_expires_at = None;
        a.permissions = vec!["User.Read.All".into(), "Mail.ReadWrite".into()];
    }
    ex.apps[1].app_id = "33333333-3333-4333-8444-555555555555".into();
    ex.apps[1].object_id = "new-obj-1".into();
    ex.apps[1].secret = Some("generated-again-1".into());
    ex.repair_of = org_id.map(str::to_owned);
    ex
}

fn repair_req(version: i64) -> RepairOrganization {
    RepairOrganization { version, sign_in_id: SIGN_IN.into() }
}

#[test]
fn a_repair_keeps_the_organization_and_working_credentials_and_replaces_what_was_recreated() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let ex = repaired(Some(&org.id));
    w.accept(&ex.apps[1].app_id, Accepts::Secret("generated-again-1".into()));
    w.exports(ex.clone());
    let before: Vec<ApplicationRow> = w.apps.borrow().iter().map(|a| a.row.clone()).collect();

    let after = block_on(w.service().repair(&config(), &org.id, repair_req(org.version))).unwrap();

    assert_eq!((after.id.as_str(), after.name.as_str()), (org.id.as_str(), org.name.as_str()), "same ID and name");
    assert_eq!(after.version, org.version + 1);
    assert_eq!(w.main_secret(), "typed~secret", "the working credential was kept");
    let main = w.main_row();
    assert_eq!((main.id.as_str(), main.app_id.as_str()), (before[0].id.as_str(), MAIN));
    assert_eq!(main.object_id.as_deref(), Some("kept-obj-0"));
    assert_eq!(main.granted_permissions.as_deref(), Some(r#"["User.Read.All","Mail.ReadWrite"]"#));
    let apps = w.apps.borrow();
    let recreated = apps.iter().find(|a| a.row.app_id == ex.apps[1].app_id).expect("the new application stored");
    assert_eq!(String::from_utf8(w.opened(recreated)).unwrap(), "generated-again-1");
    assert_eq!(recreated.row.workload.as_deref(), Some("exchange"));
    assert!(!apps.iter().any(|a| a.row.app_id == additional_id(1)), "the deleted application's row is gone");
    assert_eq!(apps.len(), 4);
    drop(apps);
    assert!(w.count("signin saved") == 1, "handed over: {:?}", w.calls());
    // Checked again at once, and the portal hears of it.
    assert_eq!(after.health.state, shared::api::Health::Healthy, "{:?}", after.health);
    let told = w.portal_events.borrow();
    let updated = told.iter().find(|e| e.kind == crate::webhooks::EventType::OrganizationUpdated).unwrap();
    assert_eq!(updated.data["repaired"], true);
    assert_eq!(updated.data["recreated_applications"], serde_json::json!([ex.apps[1].app_id]));
}

#[test]
fn a_repair_stores_only_its_own_sign_in_for_its_own_organization() {
    let w = World::new();
    let org = saved_with_additional(&w);
    for (ex, why) in [
        (repaired(None), "a sign-in that registered a new organization"),
        (repaired(Some("0123456789abcdef0123456789abcdef")), "another organization's repair"),
    ] {
        w.exports(ex);
        let e = block_on(w.service().repair(&config(), &org.id, repair_req(org.version))).unwrap_err();
        assert_eq!(field(&e), Some(Field::SignInId), "{why}");
    }
    // Another tenant's sign-in, even for this organization.
    w.exports(Exported { tenant_id: OTHER_TENANT.into(), ..repaired(Some(&org.id)) });
    let e = block_on(w.service().repair(&config(), &org.id, repair_req(org.version))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::SignInTenantMismatch);
    // Repairing from a page loaded before an edit: refused before anything is taken.
    w.exports(repaired(Some(&org.id)));
    let e = block_on(w.service().repair(&config(), &org.id, repair_req(org.version - 1))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::EditConflict);
    // An edit that lands while the repair is stored: nothing of the repair is stored, and the
    // sign-in is told to delete what it created now.
    w.forget();
    w.concurrent_edit.set(true);
    let e = block_on(w.service().repair(&config(), &org.id, repair_req(org.version))).unwrap_err();
    assert_eq!(code(&e), ErrorCode::EditConflict);
    assert_eq!(w.count("signin release"), 1, "{:?}", w.calls());
    assert_eq!(w.count("signin saved"), 0);
    assert_eq!(w.main_row().object_id, None, "the repair's grant was not recorded");
    // Another account's organization does not exist for this one.
    let other = Organizations { account: "acct-2", ..w.service() };
    let e = block_on(other.repair(&config(), &org.id, repair_req(org.version))).unwrap_err();
    assert_eq!(e.body().error.code, ErrorCode::NotFound);
}

#[test]
fn a_repair_order_renews_only_failing_credentials_and_keeps_to_the_organizations_cloud() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let order = block_on(w.service().repair_order(&config(), &org.id, CloudEnvironment::Global)).unwrap();
    assert_eq!((order.organization_id.as_str(), order.tenant_id.as_str()), (org.id.as_str(), TENANT));
    let indexes: Vec<(u8, bool)> = order.apps.iter().map(|a| (a.index, a.renew)).collect();
    assert_eq!(indexes, vec![(0, false), (1, false), (2, false), (3, false)], "all work: nothing renewed");
    assert_eq!(order.apps[1].app_id, additional_id(1));

    let e = block_on(w.service().repair_order(&config(), &org.id, CloudEnvironment::UsGovDod)).unwrap_err();
    assert_eq!(field(&e), Some(Field::Cloud));
    let other = Organizations { account: "acct-2", ..w.service() };
    let e = block_on(other.repair_order(&config(), &org.id, CloudEnvironment::Global)).unwrap_err();
    assert_eq!(e.body().error.code, ErrorCode::NotFound);
    let e = block_on(w.service().repair_order(&config(), "../x", CloudEnvironment::Global)).unwrap_err();
    assert_eq!(field(&e), Some(Field::RepairOrganizationId));

    // The stored health decides: a refused, expired or ending credential, or a deleted application.
    let row = |reason: Option<HealthReason>| ApplicationRow {
        active: 1,
        is_main: 1,
        health: Some(serde_json::to_string(&crate::health::AppHealth { reason, ..Default::default() }).unwrap()),
        ..Default::default()
    };
    for (reason, renew) in [
        (None, false),
        (Some(HealthReason::CredentialExpired), true),
        (Some(HealthReason::CredentialWrong), true),
        (Some(HealthReason::CredentialExpiring), true),
        (Some(HealthReason::ApplicationDeleted), true),
        (Some(HealthReason::PermissionsMissing), false),
        (Some(HealthReason::ServicePrincipalDisabled), false),
        (Some(HealthReason::RotationFailed), false),
    ] {
        assert_eq!(repair::needs_new_credential(&row(reason)), renew, "{reason:?}");
    }
}

#[test]
fn a_repair_sign_in_cannot_add_an_organization_or_recreate_applications() {
    let w = World::new();
    w.status_then(vec![status(SignInState::Completed, 1)]);
    let mut ex = exported(0..=0);
    ex.repair_of = Some("0123456789abcdef0123456789abcdef".into());
    accept_generated(&w, &ex);
    w.exports(ex);
    let e = block_on(w.service().create(&config(), create_req(generated(), false, None))).unwrap_err();
    assert_eq!(field(&e), Some(Field::SignInId), "{:?}", e.body());
    assert!(w.orgs.borrow().is_empty() && w.apps.borrow().is_empty(), "nothing stored");
}

// --- the backup engine -----------------------------------------------------------------------

fn engine_req(resource: EngineResource, workload: Option<shared::api::Workload>) -> EngineTokenRequest {
    EngineTokenRequest { resource, workload }
}

#[test]
fn the_engine_gets_a_token_per_resource_minted_once_then_cached_and_each_request_is_audited() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let broker = crate::engine::tokens::Broker::default();
    let token = |r| block_on(w.service().engine_token(&config(), &broker, "engine-1", &org.id, &engine_req(r, None)));

    let graph = token(EngineResource::Graph).unwrap();
    assert_eq!((graph.application_id.as_str(), graph.scope.as_str()), (MAIN, "https://graph.microsoft.com/.default"));
    assert!(graph.access_token.starts_with(&format!("tok:{MAIN}")));
    assert_eq!(graph.expires_at, crate::time::rfc3339_ms(Millis(START_MS + 3_599_000)));
    let loads = w.loads.get();
    assert_eq!(token(EngineResource::Graph).unwrap().access_token, graph.access_token, "cached");
    assert_eq!(w.count(&format!("ms token {MAIN} secret")), 1, "one call to Microsoft: {:?}", w.calls());
    assert_eq!(w.loads.get(), loads, "a cached token reads nothing from the database");

    let sharepoint = token(EngineResource::Sharepoint).unwrap();
    assert_eq!(sharepoint.scope, "https://contoso.sharepoint.com/.default");
    let exchange = token(EngineResource::Exchange).unwrap();
    assert_eq!(exchange.scope, "https://outlook.office365.com/.default");
    assert_eq!(
        w.calls(),
        [
            format!("ms token {MAIN} secret"),
            format!("store usage {MAIN} graph issued 1"),
            format!("ms graph domains {MAIN}"),
            format!("ms token {MAIN} secret https://contoso.sharepoint.com/.default"),
            format!("store usage {MAIN} sharepoint issued 1"),
            format!("ms token {MAIN} secret https://outlook.office365.com/.default"),
            format!("store usage {MAIN} exchange issued 1"),
        ]
    );
    // The cached answers are counted in the object and written as one row once their minute is
    // over, by the object's alarm.
    for _ in 0..99 {
        token(EngineResource::Graph).unwrap();
    }
    w.forget();
    assert_eq!(broker.hits().next_flush_at(), Some(Millis(START_MS - START_MS % 60_000 + 60_000)));
    assert!(broker.hits().take_due(Millis(START_MS)).is_empty(), "not before the minute is over");
    let due = broker.hits().take_due(Millis(START_MS - START_MS % 60_000 + 60_000));
    assert!(block_on(w.service().write_hits(&org.id, &due)));
    assert_eq!(w.calls(), [format!("store usage {MAIN} graph cached 100")]);
    // The edit page's list: newest first, and never the token.
    let usage = block_on(w.service().usage(&org.id)).unwrap();
    let outcomes: Vec<(&str, &str)> = usage.entries.iter().map(|e| (e.resource.as_str(), e.outcome.as_str())).collect();
    assert_eq!(outcomes, [("graph", "cached"), ("exchange", "issued"), ("sharepoint", "issued"), ("graph", "issued")]);
    assert_eq!(usage.entries[0].count, 100);
    // A full audit is named in the health, without changing its state.
    let before = block_on(w.service().get(&org.id)).unwrap().health;
    w.audit_full.set(true);
    let after = block_on(w.service().get(&org.id)).unwrap().health;
    assert_eq!(after.warnings, [shared::api::HealthWarning::EngineAuditFull]);
    assert_eq!((after.state, after.reason), (before.state, before.reason));
    let listed = block_on(w.service().list()).unwrap();
    assert_eq!(listed.organizations[0].health.warnings, [shared::api::HealthWarning::EngineAuditFull]);
    assert!(!format!("{usage:?}").contains("tok:"));
    assert_eq!(usage.entries[0].key_id, "engine-1");
}

#[test]
fn a_workload_without_its_permissions_and_another_accounts_organization_are_refused() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let broker = crate::engine::tokens::Broker::default();
    // The mailbox application was granted less than the mailbox workload needs on Graph.
    let e = block_on(w.service().engine_token(
        &config(),
        &broker,
        "engine-1",
        &org.id,
        &engine_req(EngineResource::Graph, Some(shared::api::Workload::Exchange)),
    ))
    .unwrap_err();
    assert_eq!(code(&e), ErrorCode::WorkloadNotGranted);
    assert!(!w.calls().iter().any(|c| c.starts_with("ms token")), "no token was asked for");
    assert_eq!(w.usage_rows.borrow()[0].outcome, "workload_not_granted");

    let other = Organizations { account: "acct-2", ..w.service() };
    let e =
        block_on(other.engine_token(&config(), &broker, "engine-1", &org.id, &engine_req(EngineResource::Graph, None)))
            .unwrap_err();
    assert_eq!(code(&e), ErrorCode::NotFound);
    assert_eq!(code(&block_on(other.usage(&org.id)).unwrap_err()), ErrorCode::NotFound);
    assert_eq!(w.usage_rows.borrow().len(), 1, "nothing audited for another account");
}

#[test]
fn a_revoked_credential_is_named_and_changes_the_organizations_health() {
    let w = World::new();
    let org = saved_with_additional(&w);
    let broker = crate::engine::tokens::Broker::default();
    // The administrator replaced the application's secret in the tenant.
    w.accept(MAIN, Accepts::Secret("another~secret".into()));
    let e = block_on(w.service().engine_token(
        &config(),
        &broker,
        "engine-1",
        &org.id,
        &engine_req(EngineResource::Graph, None),
    ))
    .unwrap_err();
    assert_eq!(code(&e), ErrorCode::InvalidClientSecret);
    let health = w.main_row().health();
    assert_eq!(health.reason, Some(HealthReason::CredentialWrong));
    assert_eq!(w.usage_rows.borrow()[0].outcome, "invalid_client_secret");
}
