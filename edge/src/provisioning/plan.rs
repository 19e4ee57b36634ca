//! The registration procedure as a state machine (see the module docs of [`super`]).
//!
//! Happy path for `n` applications, in Graph round trips:
//! 1. one `$batch`: the tenant, the three resource service principals (first run only), and a
//!    `POST /applications` per application (tagged with the sign-in's marker so a resumed run can
//!    find what an interrupted one created);
//! 2. one `$batch`: a service principal and a client secret per application;
//! 3. the app role assignments (admin consent), 20 per `$batch`, all batches at once;
//! 4. per application, a client-credentials token and one Graph call with it (the check).
//!
//! Entra is eventually consistent: a new application may not back a service principal yet, a new
//! secret may be refused, a new role may be missing from tokens. Those are retried with back-off
//! until [`REPLICATION_PATIENCE_MS`] has passed since the phase began waiting.

use super::items::ItemId;
use super::manifest::{grants, Resource, MANIFEST_VERSION, RESOURCES};
use super::policy::TenantPolicy;
use crate::microsoft::graph::{BatchItem, BatchResult, MAX_BATCH};
use crate::microsoft::MicrosoftError;
use crate::signin::poller::Millis;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::api::{ErrorDetail, ProgressStep, StepState, Workload};
use shared::secret::{serialize_exposed, SecretString};
use shared::{CloudEnvironment, ErrorCode};

/// How long to keep retrying through replication delay before it counts as a failure.
pub const REPLICATION_PATIENCE_MS: Millis = 120_000;
/// Lifetime of the generated client secrets.
pub const SECRET_LIFETIME_DAYS: i64 = 730;

/// The refusal when the tenant's policy blocks client secrets for new applications.
fn secrets_blocked(trusted_ca: bool) -> ErrorDetail {
    let certificate = if trusted_ca {
        "a certificate issued by one of the certificate authorities your tenant's policy trusts"
    } else {
        "a certificate"
    };
    ErrorDetail {
        message: format!(
            "Your tenant's app management policy does not allow application passwords for new \
             applications, and the automatic registration creates one. No application was left in the \
             tenant. Register the application yourself with {certificate} and add it with the Manual \
             method (upload the .pfx)."
        ),
        ..ErrorDetail::new(ErrorCode::SecretsForbiddenByPolicy)
    }
}

/// A permission the tenant's resource does not offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// The app role value, e.g. `Sites.FullControl.All`.
    pub value: String,
    /// The resource's name, e.g. `Office 365 SharePoint Online`.
    pub resource: String,
}

/// The tenant, as Graph describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    /// Tenant ID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Default verified domain.
    pub default_domain: String,
}

/// One app role to assign: resource service principal and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRef {
    /// The resource's service principal object ID in this tenant.
    pub resource_sp: String,
    /// The app role ID.
    pub role_id: String,
    /// The role's value, e.g. `User.Read.All`.
    pub value: String,
}

/// One application being registered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    /// 0 for the main application, 1..=3 for the additional ones.
    pub index: u8,
    /// Tag that identifies it (for a resumed run).
    pub marker: String,
    /// Application object ID.
    pub object_id: Option<String>,
    /// Application (client) ID.
    pub app_id: Option<String>,
    /// Service principal object ID.
    pub sp_id: Option<String>,
    /// The generated secret.
    #[serde(serialize_with = "serialize_secret_opt", default)]
    pub secret: Option<SecretString>,
    /// When the secret ends, Unix seconds.
    pub secret_expires_at: Option<i64>,
    /// The generated secret's `keyId` (to remove it when a certificate replaces it).
    #[serde(default)]
    pub secret_key_id: Option<String>,
    /// Role IDs assigned so far.
    pub granted: Vec<String>,
    /// The application lists its permissions (`requiredResourceAccess`), so that the Azure portal
    /// shows them under API permissions.
    #[serde(default)]
    pub declared: bool,
    /// The credential check passed.
    pub verified: bool,
    /// A `POST /applications` for it may have been sent: look it up by its tag before creating.
    #[serde(default)]
    pub create_sent: bool,
}

fn serialize_secret_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => serialize_exposed(secret, s),
        None => s.serialize_none(),
    }
}

/// Where the procedure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Read the tenant and resources; create the applications.
    Discover,
    /// Create service principals and secrets.
    Credentials,
    /// Assign app roles.
    Grant,
    /// Check each application's credential.
    Verify,
    /// All applications work.
    Done,
    /// Deleting what was created after a failure.
    Cleanup,
    /// Failed; cleaned up.
    Failed,
}

/// The next thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Send these batches (in parallel) and report each with [`Registration::on_batches`].
    Graph(Vec<Vec<BatchItem>>),
    /// Check these applications (by index) and report with [`Registration::on_verified`].
    Verify(Vec<u8>),
    /// Nothing before this time.
    WaitUntil(Millis),
    /// Finished.
    Done,
    /// Failed for good (cleanup done).
    Failed(ErrorDetail),
}

/// The result of checking one application's credential.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyOutcome {
    /// A token was issued and the Graph call succeeded.
    Works,
    /// Refused; the error says why.
    Refused(MicrosoftError),
}

/// The registration of one or more applications.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    /// The tenant (read in the first run).
    pub tenant: Option<TenantInfo>,
    /// Resolved app roles (first run).
    pub roles: Option<Vec<RoleRef>>,
    /// The applications of this run.
    pub apps: Vec<App>,
    /// Current phase.
    pub phase: Phase,
    /// Base display name of the applications.
    pub display_name: String,
    /// Not before this time (back-off).
    pub wait_until: Option<Millis>,
    /// When waiting for replication began in this phase.
    pub waiting_since: Option<Millis>,
    /// Why it failed.
    pub error: Option<ErrorDetail>,
    /// Round trips to Graph so far (for the budget tests and `make bench`).
    pub graph_round_trips: u32,
    /// HTTP requests to Graph so far (a `$batch` counts as one).
    pub graph_requests: u32,
    /// The tenant these applications are for, when the caller knows it and the run has not read
    /// the tenant yet (additional applications saved with a typed credential): nothing is created
    /// until the tenant read in the first round trip is this one.
    #[serde(default)]
    pub expected_tenant: Option<String>,
    /// The cloud: which of the manifest's permissions are asked for (runs stored before the field
    /// existed were Global or had resolved their roles already).
    #[serde(default)]
    pub cloud: CloudEnvironment,
    /// Permissions the tenant's resources do not offer: the run fails with
    /// their names instead of granting less than the manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
    /// The manifest version the roles were resolved from (runs stored before versioning: 1).
    #[serde(default = "first_manifest")]
    pub manifest_version: u32,
    /// The tenant's default app management policy, read in the first round trip (`None` until
    /// then; a policy the sign-in may not read counts as no restriction: Microsoft still enforces
    /// it, and its refusal is mapped).
    #[serde(default)]
    pub policy: Option<TenantPolicy>,
}

fn first_manifest() -> u32 {
    1
}

impl Registration {
    /// Registers `count` applications with indexes starting at `first_index`, tagged with `marker`.
    pub fn new(cloud: CloudEnvironment, display_name: &str, marker: &str, first_index: u8, count: u8) -> Self {
        let apps = (first_index..first_index + count)
            .map(|index| App {
                index,
                marker: format!("{marker}-{index}"),
                object_id: None,
                app_id: None,
                sp_id: None,
                secret: None,
                secret_expires_at: None,
                secret_key_id: None,
                granted: vec![],
                declared: false,
                verified: false,
                create_sent: false,
            })
            .collect();
        Self {
            tenant: None,
            roles: None,
            apps,
            phase: Phase::Discover,
            display_name: display_name.to_owned(),
            wait_until: None,
            waiting_since: None,
            error: None,
            graph_round_trips: 0,
            graph_requests: 0,
            expected_tenant: None,
            cloud,
            unavailable: vec![],
            manifest_version: MANIFEST_VERSION,
            policy: None,
        }
    }

    /// Like [`Self::new`], for `expected_tenant` only: the first round trip reads the tenant and
    /// creates nothing; a different tenant fails the run before anything exists (one extra round
    /// trip, paid only when the caller names the tenant and no earlier run read it).
    pub fn for_tenant(
        cloud: CloudEnvironment,
        display_name: &str,
        marker: &str,
        first_index: u8,
        count: u8,
        expected_tenant: &str,
    ) -> Self {
        Self {
            expected_tenant: Some(expected_tenant.to_owned()),
            ..Self::new(cloud, display_name, marker, first_index, count)
        }
    }

    /// Whether the tenant read so far contradicts the expected one.
    fn wrong_tenant(&self) -> bool {
        matches!((&self.tenant, &self.expected_tenant), (Some(t), Some(e)) if !t.id.eq_ignore_ascii_case(e))
    }

    /// A follow-up run for more applications in a tenant already read by `previous`.
    pub fn more(previous: &Registration, marker: &str, first_index: u8, count: u8) -> Self {
        let mut r = Self::new(previous.cloud, &previous.display_name, marker, first_index, count);
        r.tenant = previous.tenant.clone();
        r.roles = previous.roles.clone();
        // Resolved against the current manifest: roles an older one did not have are read again.
        r.manifest_version = MANIFEST_VERSION;
        r.policy = previous.policy.clone();
        r
    }

    /// Whether every permission resource `i` must offer in this cloud is resolved to a role or named
    /// unavailable.
    fn resource_resolved(&self, i: usize) -> bool {
        let roles = self.roles.as_deref().unwrap_or_default();
        RESOURCES[i]
            .permissions_in(self.cloud)
            .all(|p| roles.iter().any(|r| r.value == p.value) || self.unavailable.iter().any(|u| u.value == p.value))
    }

    /// The permission values granted to `app` (app role values, in the manifest's order).
    pub fn granted_permissions(&self, app: &App) -> Vec<String> {
        let roles = self.roles.as_deref().unwrap_or_default();
        roles.iter().filter(|r| app.granted.contains(&r.role_id)).map(|r| r.value.clone()).collect()
    }

    fn app_name(&self, index: u8) -> String {
        if index == 0 {
            self.display_name.clone()
        } else {
            format!("{} {}", self.display_name, index + 1)
        }
    }

    /// What to do now.
    pub fn next(&self, now: Millis) -> Work {
        if let Some(t) = self.wait_until {
            if now < t {
                return Work::WaitUntil(t);
            }
        }
        match self.phase {
            Phase::Done => Work::Done,
            Phase::Failed => {
                Work::Failed(self.error.clone().unwrap_or_else(|| ErrorDetail::new(ErrorCode::RegistrationFailed)))
            }
            Phase::Discover => match self.discover_items() {
                // Nothing left to ask and still not complete: a state no answer can change (Graph
                // refuses an empty `$batch`); fail, deleting what exists, rather than loop.
                items if items.is_empty() => Work::Failed(ErrorDetail::new(ErrorCode::RegistrationFailed)),
                items => Work::Graph(vec![items]),
            },
            Phase::Credentials => Work::Graph(vec![self.credential_items(now)]),
            Phase::Grant => Work::Graph(self.grant_items()),
            Phase::Verify => Work::Verify(self.apps.iter().filter(|a| !a.verified).map(|a| a.index).collect()),
            Phase::Cleanup => {
                let items = super::items::deletion_items(
                    self.apps.iter().filter_map(|a| a.object_id.as_ref().map(|oid| (a.index, oid))),
                );
                if items.is_empty() {
                    Work::Failed(self.error.clone().unwrap_or_else(|| ErrorDetail::new(ErrorCode::RegistrationFailed)))
                } else {
                    Work::Graph(items.chunks(MAX_BATCH).map(<[BatchItem]>::to_vec).collect())
                }
            }
        }
    }

    fn discover_items(&self) -> Vec<BatchItem> {
        let mut items = vec![];
        if self.tenant.is_none() {
            items.push(BatchItem::get(
                ItemId::Organization.to_string(),
                "/organization?$select=id,displayName,verifiedDomains",
            ));
        }
        // A resource is read until each of its permissions is resolved or named unavailable: a
        // lookup answered 429 in the batch where the others succeeded is asked again, and a run
        // whose roles come from an older manifest reads what the newer one added.
        for (i, r) in RESOURCES.iter().enumerate().filter(|(i, _)| !self.resource_resolved(*i)) {
            items.push(BatchItem::get(
                ItemId::Resource(i).to_string(),
                format!("/servicePrincipals?$filter=appId eq '{}'&$select=id,appId,appRoles", r.app_id),
            ));
        }
        if self.policy.is_none() {
            items.push(BatchItem::get(ItemId::Policy.to_string(), "/policies/defaultAppManagementPolicy"));
        }
        if self.tenant.is_none() && self.expected_tenant.is_some() {
            // Nothing is created before the tenant is known to be the expected one.
            return items;
        }
        for a in self.apps.iter().filter(|a| a.object_id.is_none()) {
            if a.create_sent {
                // An interrupted run may have created it: look it up by its tag first.
                items.push(BatchItem::get(
                    ItemId::Find(a.index).to_string(),
                    format!("/applications?$filter=tags/any(t:t eq '{}')&$select=id,appId", a.marker),
                ));
            } else {
                items.push(BatchItem::with_body(
                    ItemId::Create(a.index).to_string(),
                    "POST",
                    "/applications",
                    json!({
                        "displayName": self.app_name(a.index),
                        "signInAudience": "AzureADMyOrg",
                        "tags": [a.marker],
                        "requiredResourceAccess": self.required_resource_access(a.index),
                    }),
                ));
            }
        }
        items
    }

    /// The resolved roles application `index` gets: every one for the main application, its
    /// workload's for an additional one.
    fn roles_of(&self, index: u8) -> impl Iterator<Item = (usize, &RoleRef)> {
        let workload = Workload::of_index(index);
        self.roles.as_deref().unwrap_or_default().iter().enumerate().filter(move |(_, r)| grants(&r.value, workload))
    }

    fn required_resource_access(&self, index: u8) -> Value {
        let roles: Vec<&RoleRef> = self.roles_of(index).map(|(_, r)| r).collect();
        // Before the roles are resolved (same batch) the manifest's app IDs are declared without
        // role IDs; Graph accepts an empty resourceAccess and consent is granted by assignment.
        // Once they are, a workload's application lists only the resources it uses.
        let resolved = self.roles.is_some();
        Value::Array(
            RESOURCES
                .iter()
                .filter_map(|r: &Resource| {
                    let access: Vec<Value> = roles
                        .iter()
                        .filter(|role| r.permissions.iter().any(|p| p.value == role.value))
                        .map(|role| json!({"id": role.role_id, "type": "Role"}))
                        .collect();
                    (!resolved || !access.is_empty())
                        .then(|| json!({"resourceAppId": r.app_id, "resourceAccess": access}))
                })
                .collect(),
        )
    }

    fn credential_items(&self, now: Millis) -> Vec<BatchItem> {
        let lifetime = self
            .policy
            .as_ref()
            .map_or(SECRET_LIFETIME_DAYS * 86_400_000, |p| p.secret_lifetime_ms(SECRET_LIFETIME_DAYS));
        let end = crate::time::rfc3339_ms(now + lifetime);
        let mut items = vec![];
        for a in &self.apps {
            if let (false, Some(oid)) = (a.declared, &a.object_id) {
                items.push(BatchItem::with_body(
                    ItemId::Declare(a.index).to_string(),
                    "PATCH",
                    format!("/applications/{oid}"),
                    json!({"requiredResourceAccess": self.required_resource_access(a.index)}),
                ));
            }
            if let (None, Some(app_id)) = (&a.sp_id, &a.app_id) {
                items.push(BatchItem::with_body(
                    ItemId::ServicePrincipal(a.index).to_string(),
                    "POST",
                    "/servicePrincipals",
                    json!({"appId": app_id}),
                ));
            }
            if let (None, Some(oid)) = (&a.secret, &a.object_id) {
                items.push(BatchItem::with_body(
                    ItemId::Password(a.index).to_string(),
                    "POST",
                    format!("/applications/{oid}/addPassword"),
                    json!({"passwordCredential": {"displayName": "M365 backup (generated)", "endDateTime": end}}),
                ));
            }
        }
        items
    }

    fn grant_items(&self) -> Vec<Vec<BatchItem>> {
        let mut items = vec![];
        for a in &self.apps {
            let Some(sp) = &a.sp_id else { continue };
            for (n, role) in self.roles_of(a.index) {
                if a.granted.contains(&role.role_id) {
                    continue;
                }
                items.push(BatchItem::with_body(
                    ItemId::Grant(a.index, n).to_string(),
                    "POST",
                    format!("/servicePrincipals/{}/appRoleAssignedTo", role.resource_sp),
                    json!({"principalId": sp, "resourceId": role.resource_sp, "appRoleId": role.role_id}),
                ));
            }
        }
        items.chunks(MAX_BATCH).map(<[BatchItem]>::to_vec).collect()
    }

    /// Call just before sending a discover batch (and persist the result): a run resumed after
    /// this point looks the applications up by tag instead of creating them again.
    pub fn mark_sent(&mut self) {
        let held = self.tenant.is_none() && self.expected_tenant.is_some();
        if self.phase == Phase::Discover && !held {
            for a in self.apps.iter_mut().filter(|a| a.object_id.is_none()) {
                a.create_sent = true;
            }
        }
    }

    /// Reports the answers to the batches of the last [`Work::Graph`], in the same order.
    pub fn on_batches(&mut self, answers: Vec<Result<Vec<BatchResult>, MicrosoftError>>, now: Millis) {
        self.graph_round_trips += 1;
        self.graph_requests += answers.len() as u32;
        let mut transient: Option<MicrosoftError> = None;
        let mut fatal: Option<MicrosoftError> = None;
        let mut results = vec![];
        for answer in answers {
            match answer {
                Ok(r) => results.extend(r),
                Err(e) if e.is_transient() => transient = Some(e),
                Err(e) => fatal = Some(e),
            }
        }
        for r in &results {
            if r.ok() {
                self.apply_success(r, now);
            } else if self.tolerable(r) {
                self.apply_tolerated(r);
            } else {
                let e = r.error();
                if e.is_transient() {
                    transient = Some(e);
                } else {
                    fatal.get_or_insert(e);
                }
            }
        }
        if self.phase == Phase::Cleanup {
            self.phase = Phase::Failed;
            return;
        }
        if let Some(e) = fatal {
            return self.fail(e.detail());
        }
        if self.policy.as_ref().is_some_and(|p| p.secrets_blocked) {
            return self.fail(secrets_blocked(self.policy.as_ref().is_some_and(|p| p.trusted_ca_required)));
        }
        if !self.unavailable.is_empty() {
            let detail = ErrorDetail {
                message: format!(
                    "Your tenant does not offer the application permission{} {}, which the backup needs. \
                     No application was left in the tenant. Register the application yourself with the \
                     Manual method, or contact support with this message.",
                    if self.unavailable.len() == 1 { "" } else { "s" },
                    self.unavailable
                        .iter()
                        .map(|u| format!("{} ({})", u.value, u.resource))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                ..ErrorDetail::new(ErrorCode::PermissionUnavailable)
            };
            return self.fail(detail);
        }
        if self.wrong_tenant() {
            return self.fail(ErrorDetail::new(ErrorCode::SignInTenantMismatch));
        }
        if let Some(e) = transient {
            return self.back_off(&e, now);
        }
        self.wait_until = None;
        if self.phase_complete() {
            self.advance();
        }
    }

    /// Errors that do not stop the run: a grant that exists already (a resumed run repeating it),
    /// or a policy the sign-in may not read (a public client consented before the scope was asked
    /// for), except when Graph is only busy.
    fn tolerable(&self, r: &BatchResult) -> bool {
        match r.id.parse() {
            Ok(ItemId::Grant(..)) => r.already_exists(),
            Ok(ItemId::Policy) => !r.error().is_transient(),
            _ => false,
        }
    }

    /// Applies a tolerated error: a grant that exists already counts as granted; an unreadable
    /// policy as none.
    fn apply_tolerated(&mut self, r: &BatchResult) {
        if r.id.parse() == Ok(ItemId::Policy) {
            self.policy = Some(TenantPolicy::default());
            return;
        }
        let Ok(ItemId::Grant(index, n)) = r.id.parse() else { return };
        let Some(role) = self.roles.as_ref().and_then(|roles| roles.get(n)).map(|r| r.role_id.clone()) else { return };
        if let Some(app) = self.apps.iter_mut().find(|a| a.index == index) {
            if !app.granted.contains(&role) {
                app.granted.push(role);
            }
        }
    }

    fn apply_success(&mut self, r: &BatchResult, now: Millis) {
        let b = &r.body;
        let Ok(id) = r.id.parse::<ItemId>() else { return };
        match id {
            ItemId::Policy => self.policy = Some(TenantPolicy::read(b, now)),
            ItemId::Organization => {
                let org = &b["value"][0];
                let domains = org["verifiedDomains"].as_array().cloned().unwrap_or_default();
                let default_domain = domains
                    .iter()
                    .find(|d| d["isDefault"].as_bool() == Some(true))
                    .or(domains.first())
                    .and_then(|d| d["name"].as_str())
                    .unwrap_or_default();
                self.tenant = Some(TenantInfo {
                    id: org["id"].as_str().unwrap_or_default().to_owned(),
                    display_name: org["displayName"].as_str().unwrap_or_default().to_owned(),
                    default_domain: default_domain.to_owned(),
                });
            }
            ItemId::Resource(i) => {
                let Some(resource) = RESOURCES.get(i) else { return };
                // No service principal at all: the tenant offers none of the resource's permissions.
                let sp = b["value"].get(0).cloned().unwrap_or(Value::Null);
                let roles = self.roles.get_or_insert_with(Vec::new);
                for p in resource.permissions_in(self.cloud) {
                    if roles.iter().any(|r| r.value == p.value) {
                        continue;
                    }
                    let found =
                        sp["appRoles"].as_array().into_iter().flatten().find(|r| r["value"].as_str() == Some(p.value));
                    match (found.and_then(|r| r["id"].as_str()), sp["id"].as_str()) {
                        (Some(role), Some(sp_id)) => roles.push(RoleRef {
                            resource_sp: sp_id.to_owned(),
                            role_id: role.to_owned(),
                            value: p.value.to_owned(),
                        }),
                        _ => self
                            .unavailable
                            .push(Unavailable { value: p.value.to_owned(), resource: resource.name.to_owned() }),
                    }
                }
            }
            _ => {
                let Some(app) = id.application().and_then(|i| self.apps.iter_mut().find(|a| a.index == i)) else {
                    return;
                };
                match id {
                    ItemId::Create(_) => {
                        app.object_id = b["id"].as_str().map(str::to_owned);
                        app.app_id = b["appId"].as_str().map(str::to_owned);
                        app.declared = b["requiredResourceAccess"].as_array().is_some_and(|r| {
                            r.iter().any(|x| x["resourceAccess"].as_array().is_some_and(|a| !a.is_empty()))
                        });
                    }
                    ItemId::Declare(_) => app.declared = true,
                    ItemId::Find(_) => match b["value"].get(0) {
                        Some(found) => {
                            app.object_id = found["id"].as_str().map(str::to_owned);
                            app.app_id = found["appId"].as_str().map(str::to_owned);
                        }
                        // The interrupted request never created it: create it now.
                        None => app.create_sent = false,
                    },
                    ItemId::ServicePrincipal(_) => app.sp_id = b["id"].as_str().map(str::to_owned),
                    ItemId::Password(_) => {
                        app.secret = b["secretText"].as_str().map(|s| SecretString::new(s.to_owned()));
                        app.secret_expires_at = b["endDateTime"].as_str().and_then(crate::time::parse_rfc3339);
                        app.secret_key_id = b["keyId"].as_str().map(str::to_owned);
                    }
                    ItemId::Grant(..) => {
                        if let Some(role) = b["appRoleId"].as_str() {
                            app.granted.push(role.to_owned());
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn phase_complete(&self) -> bool {
        match self.phase {
            Phase::Discover => {
                self.tenant.is_some()
                    && self.policy.is_some()
                    && (0..RESOURCES.len()).all(|i| self.resource_resolved(i))
                    && self.apps.iter().all(|a| a.object_id.is_some())
            }
            Phase::Credentials => self.apps.iter().all(|a| a.sp_id.is_some() && a.secret.is_some() && a.declared),
            Phase::Grant => {
                self.apps.iter().all(|a| self.roles_of(a.index).all(|(_, r)| a.granted.contains(&r.role_id)))
            }
            Phase::Verify => self.apps.iter().all(|a| a.verified),
            _ => false,
        }
    }

    fn advance(&mut self) {
        self.waiting_since = None;
        self.wait_until = None;
        self.phase = match self.phase {
            Phase::Discover => Phase::Credentials,
            Phase::Credentials => Phase::Grant,
            Phase::Grant => Phase::Verify,
            Phase::Verify => Phase::Done,
            other => other,
        };
    }

    fn back_off(&mut self, e: &MicrosoftError, now: Millis) {
        let since = *self.waiting_since.get_or_insert(now);
        if now - since > REPLICATION_PATIENCE_MS {
            return self.fail(e.detail());
        }
        let waited = now - since;
        let step = (2_000 + waited / 4).min(15_000);
        let retry_after = e.retry_after.map(|s| s as Millis * 1000).unwrap_or(0);
        self.wait_until = Some(now + step.max(retry_after));
    }

    /// Ends in failure: created applications are deleted first.
    pub fn fail(&mut self, detail: ErrorDetail) {
        self.error = Some(detail);
        self.wait_until = None;
        self.phase = if self.apps.iter().any(|a| a.object_id.is_some()) { Phase::Cleanup } else { Phase::Failed };
    }

    /// Reports one round of checks (one per application, sent in parallel).
    pub fn on_verify_round(&mut self, outcomes: Vec<(u8, VerifyOutcome)>, now: Millis) {
        self.graph_round_trips += 1;
        self.graph_requests += outcomes.len() as u32;
        for (i, o) in outcomes {
            self.on_verified(i, o, now);
        }
    }

    /// Reports the check of application `index`.
    pub fn on_verified(&mut self, index: u8, outcome: VerifyOutcome, now: Millis) {
        match outcome {
            VerifyOutcome::Works => {
                if let Some(a) = self.apps.iter_mut().find(|a| a.index == index) {
                    a.verified = true;
                }
                if self.phase_complete() {
                    self.advance();
                }
            }
            VerifyOutcome::Refused(e) => {
                // A new secret, service principal or role takes time to reach the token service.
                let replicating = matches!(
                    e.code,
                    ErrorCode::InvalidClientSecret
                        | ErrorCode::ApplicationNotFound
                        | ErrorCode::AdminConsentRequired
                        | ErrorCode::PermissionsNotGranted
                );
                if replicating || e.is_transient() {
                    self.back_off(&e, now);
                } else {
                    self.fail(e.detail());
                }
            }
        }
    }

    /// The application with `index`.
    pub fn app(&self, index: u8) -> Option<&App> {
        self.apps.iter().find(|a| a.index == index)
    }

    /// Progress for the browser.
    pub fn progress(&self, total_apps: usize) -> Vec<ProgressStep> {
        let order = [Phase::Discover, Phase::Credentials, Phase::Grant, Phase::Verify];
        let at = order.iter().position(|p| *p == self.phase);
        let waiting = self.wait_until.is_some();
        let failed = matches!(self.phase, Phase::Cleanup | Phase::Failed);
        let created = self.apps.iter().filter(|a| a.object_id.is_some()).count();
        let labels = [
            ("create_applications", format!("Creating applications {created}/{total_apps}")),
            ("create_credentials", "Creating service principals and client secrets".to_owned()),
            ("grant_permissions", "Granting permissions (admin consent)".to_owned()),
            (
                "verify",
                if waiting && self.phase == Phase::Verify {
                    "Waiting for Microsoft to replicate the new credentials".to_owned()
                } else {
                    "Checking that the applications work".to_owned()
                },
            ),
        ];
        labels
            .into_iter()
            .enumerate()
            .map(|(i, (key, label))| {
                let state = match (self.phase, at) {
                    (Phase::Done, _) => StepState::Done,
                    (_, Some(a)) if i < a => StepState::Done,
                    (_, Some(a)) if i == a && waiting => StepState::Waiting,
                    (_, Some(a)) if i == a => StepState::Running,
                    (_, None) if failed => StepState::Failed,
                    _ => StepState::Pending,
                };
                ProgressStep { key: key.to_owned(), label, state }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::manifest::assignments_per_application;
    use std::collections::HashMap;

    /// A strict, tiny stand-in for a tenant's Graph: answers each batch item like Graph would, and
    /// can hold back new objects (replication delay) or refuse (no admin role).
    #[derive(Default)]
    struct FakeTenant {
        apps: HashMap<String, (String, Vec<String>)>, // object id -> (app id, tags)
        sps: Vec<String>,
        assignments: usize,
        sp_not_replicated_for: u32,
        verify_refusals: u32,
        forbid_create: bool,
        forbid_secrets: bool,
        deleted: Vec<String>,
        patched: usize,
        /// App role values the tenant's resources do not offer (a national cloud's Graph).
        withheld: Vec<&'static str>,
        /// The default app management policy (`None`: Microsoft's default, disabled).
        policy: Option<Value>,
        /// The sign-in may not read the policy (403).
        policy_denied: bool,
        /// The `endDateTime` of each `addPassword`.
        password_ends: Vec<String>,
        /// Lookups of these resources' service principals answer 429 once.
        throttle_resources: Vec<&'static str>,
    }

    impl FakeTenant {
        fn answer(&mut self, item: &BatchItem) -> BatchResult {
            let ok = |status: u16, body: Value| BatchResult {
                id: item.id.clone(),
                status,
                headers: Default::default(),
                body,
            };
            let err = |status: u16, code: &str, msg: &str| {
                ok(status, json!({"error": {"code": code, "message": msg, "innerError": {"request-id": "r"}}}))
            };
            let url = item.url.as_str();
            match (item.method, url) {
                ("GET", u) if u.starts_with("/organization") => ok(
                    200,
                    json!({"value": [{"id": "tid", "displayName": "Contoso", "verifiedDomains": [
                        {"name": "contoso.onmicrosoft.com", "isDefault": false},
                        {"name": "contoso.com", "isDefault": true}]}]}),
                ),
                ("GET", "/policies/defaultAppManagementPolicy") => {
                    if self.policy_denied {
                        return err(
                            403,
                            "Authorization_RequestDenied",
                            "Insufficient privileges to complete the operation.",
                        );
                    }
                    ok(200, self.policy.clone().unwrap_or_else(|| json!({"isEnabled": false})))
                }
                ("GET", u) if u.starts_with("/servicePrincipals?") => {
                    let r = RESOURCES.iter().find(|r| u.contains(r.app_id)).unwrap();
                    if let Some(n) = self.throttle_resources.iter().position(|a| *a == r.app_id) {
                        self.throttle_resources.remove(n);
                        return err(429, "TooManyRequests", "Too many requests.");
                    }
                    let roles: Vec<Value> = r
                        .permissions
                        .iter()
                        .filter(|p| !self.withheld.contains(&p.value))
                        .map(|p| json!({"id": format!("role-{}", p.value), "value": p.value}))
                        .collect();
                    ok(
                        200,
                        json!({"value": [{"id": format!("sp-{}", r.app_id), "appId": r.app_id, "appRoles": roles}]}),
                    )
                }
                ("POST", "/applications") => {
                    if self.forbid_create {
                        return err(
                            403,
                            "Authorization_RequestDenied",
                            "Insufficient privileges to complete the operation.",
                        );
                    }
                    let n = self.apps.len();
                    let tags = item.body.as_ref().unwrap()["tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect();
                    self.apps.insert(format!("obj{n}"), (format!("app{n}"), tags));
                    let rra = item.body.as_ref().unwrap()["requiredResourceAccess"].clone();
                    ok(201, json!({"id": format!("obj{n}"), "appId": format!("app{n}"), "requiredResourceAccess": rra}))
                }
                ("PATCH", u) if u.starts_with("/applications/") => {
                    self.patched += 1;
                    ok(204, Value::Null)
                }
                ("GET", u) if u.starts_with("/applications?") => {
                    let found: Vec<Value> = self
                        .apps
                        .iter()
                        .filter(|(_, (_, tags))| tags.iter().any(|t| u.contains(&format!("'{t}'"))))
                        .map(|(oid, (aid, _))| json!({"id": oid, "appId": aid}))
                        .collect();
                    ok(200, json!({"value": found}))
                }
                ("POST", "/servicePrincipals") => {
                    if self.sp_not_replicated_for > 0 {
                        self.sp_not_replicated_for -= 1;
                        return err(
                            400,
                            "NoBackingApplicationObject",
                            "The appId of the service principal does not reference a valid application object.",
                        );
                    }
                    let app = item.body.as_ref().unwrap()["appId"].as_str().unwrap().to_owned();
                    self.sps.push(app.clone());
                    ok(201, json!({"id": format!("sp-{app}"), "appId": app}))
                }
                ("POST", u) if u.ends_with("/addPassword") => {
                    let end = &item.body.as_ref().unwrap()["passwordCredential"]["endDateTime"];
                    self.password_ends.push(end.as_str().unwrap_or_default().to_owned());
                    if self.forbid_secrets {
                        return err(
                            400,
                            "CredentialTypeNotAllowedAsPerAssignedPolicy",
                            "Credential type not allowed as per assigned policy.",
                        );
                    }
                    ok(200, json!({"secretText": "gen~secret", "endDateTime": "2028-11-26T10:00:00Z", "keyId": "k"}))
                }
                ("POST", u) if u.ends_with("/appRoleAssignedTo") => {
                    self.assignments += 1;
                    ok(201, json!({"appRoleId": item.body.as_ref().unwrap()["appRoleId"]}))
                }
                ("DELETE", u) => {
                    let oid = u.trim_start_matches("/applications/").to_owned();
                    self.apps.remove(&oid);
                    self.deleted.push(oid);
                    ok(204, Value::Null)
                }
                other => panic!("unexpected request {other:?}"),
            }
        }

        /// Drives `reg` to the end; returns the simulated time taken.
        fn run(&mut self, reg: &mut Registration) -> Millis {
            let mut now = 0;
            for _ in 0..200 {
                match reg.next(now) {
                    Work::Graph(batches) => {
                        reg.mark_sent();
                        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH && !b.is_empty()));
                        let answers = batches.iter().map(|b| Ok(b.iter().map(|i| self.answer(i)).collect())).collect();
                        reg.on_batches(answers, now);
                    }
                    Work::Verify(indexes) => {
                        for i in indexes {
                            let outcome = if self.verify_refusals > 0 {
                                self.verify_refusals -= 1;
                                VerifyOutcome::Refused(MicrosoftError {
                                    code: ErrorCode::InvalidClientSecret,
                                    status: 401,
                                    correlation: Default::default(),
                                    retry_after: None,
                                })
                            } else {
                                VerifyOutcome::Works
                            };
                            reg.on_verified(i, outcome, now);
                        }
                    }
                    Work::WaitUntil(t) => now = t,
                    Work::Done | Work::Failed(_) => return now,
                }
                now += 50;
            }
            panic!("registration did not finish");
        }
    }

    #[test]
    fn applications_for_a_named_tenant_are_created_only_in_that_tenant() {
        // The fake tenant is "tid": another tenant named by the caller creates nothing.
        let mut tenant = FakeTenant::default();
        let mut reg =
            Registration::for_tenant(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 1, 3, "other-tenant");
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Failed);
        assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::SignInTenantMismatch);
        assert!(tenant.apps.is_empty() && tenant.deleted.is_empty(), "nothing was created, nothing to delete");
        assert_eq!(reg.graph_round_trips, 1);

        // The right tenant (matched without regard to case): created after the read, one round trip more.
        let mut tenant = FakeTenant::default();
        let mut reg = Registration::for_tenant(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 1, 3, "TID");
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done);
        assert_eq!(tenant.apps.len(), 3);
        assert_eq!(reg.graph_round_trips, 4, "tenant, then discover, credentials, grant");
        assert!(reg.apps.iter().all(|a| a.create_sent), "marked only once a create was really sent");
    }

    #[test]
    fn one_application_within_the_graph_budget() {
        let mut tenant = FakeTenant::default();
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done);
        assert!(
            reg.graph_round_trips <= 5 && reg.graph_requests <= 8,
            "{} / {}",
            reg.graph_round_trips,
            reg.graph_requests
        );
        assert_eq!(
            reg.graph_round_trips, 3,
            "discover, credentials, grant (the check's Graph call is counted by the caller)"
        );
        let t = reg.tenant.as_ref().unwrap();
        assert_eq!(
            (t.id.as_str(), t.display_name.as_str(), t.default_domain.as_str()),
            ("tid", "Contoso", "contoso.com")
        );
        let app = reg.app(0).unwrap();
        assert_eq!(app.app_id.as_deref(), Some("app0"));
        assert_eq!(app.secret.as_ref().unwrap().expose(), "gen~secret");
        assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::Global));
        assert!(reg.progress(1).iter().all(|s| s.state == StepState::Done));
    }

    #[test]
    fn three_more_applications_within_the_budget() {
        let mut tenant = FakeTenant::default();
        let mut main = Registration::new(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 0, 1);
        tenant.run(&mut main);
        let mut more = Registration::more(&main, "m365onb-s1", 1, 3);
        tenant.run(&mut more);
        assert_eq!(more.phase, Phase::Done);
        // Discover (1) + credentials (1) + grants (each application its workload's: 22 assignments
        // = 2 batches, one round trip).
        assert_eq!(more.graph_round_trips, 3);
        assert_eq!(more.graph_requests, 4);
        let per_workload = |i: u8| {
            RESOURCES
                .iter()
                .flat_map(|r| r.permissions_in(CloudEnvironment::Global))
                .filter(|p| p.for_workload(Workload::of_index(i)))
                .count()
        };
        assert_eq!(per_workload(0), assignments_per_application(CloudEnvironment::Global));
        assert_eq!(tenant.assignments, (0..=3).map(per_workload).sum::<usize>());
        assert!(per_workload(1) < per_workload(0), "an additional application is not a clone");
        assert_eq!(tenant.patched, 1, "the additional applications declare their permissions at creation");
        let names: Vec<u8> = more.apps.iter().map(|a| a.index).collect();
        assert_eq!(names, vec![1, 2, 3]);
    }

    #[test]
    fn a_national_cloud_is_not_asked_for_the_graph_mailbox_roles_it_does_not_have() {
        let mailbox = ["MailboxItem.Read.All", "MailboxItem.ImportExport.All", "MailboxFolder.ReadWrite.All"];
        let mut tenant = FakeTenant { withheld: mailbox.to_vec(), ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::UsGovGccHigh, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
        assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::UsGovGccHigh));

        // In the Global cloud the same tenant lacks what the manifest asks for: named, not granted less.
        let mut tenant = FakeTenant { withheld: mailbox.to_vec(), ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        let e = reg.error.as_ref().unwrap();
        assert_eq!(e.code, ErrorCode::PermissionUnavailable);
        assert!(e.message.contains("MailboxItem.ImportExport.All (Microsoft Graph)"), "{}", e.message);
    }

    #[test]
    fn a_resource_without_a_permission_fails_with_its_name_and_leaves_nothing() {
        let mut tenant = FakeTenant { withheld: vec!["Sites.FullControl.All"], ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Failed);
        let e = reg.error.as_ref().unwrap();
        assert_eq!(e.code, ErrorCode::PermissionUnavailable);
        assert!(e.message.contains("Sites.FullControl.All (Office 365 SharePoint Online)"), "{}", e.message);
        assert!(!e.message.contains("permissions"), "one permission: {}", e.message);
        assert!(tenant.apps.is_empty() && tenant.deleted == vec!["obj0".to_owned()], "created, then deleted");
        assert_eq!(tenant.assignments, 0, "nothing was granted");
    }

    fn tenant_policy(password: Value) -> Value {
        json!({"id": "00000000-0000-0000-0000-000000000000", "isEnabled": true,
            "applicationRestrictions": {"passwordCredentials": password, "keyCredentials": []},
            "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}})
    }

    #[test]
    fn a_policy_that_caps_secrets_at_180_days_gets_a_secret_inside_it_in_the_same_round_trips() {
        let cap = json!([{"restrictionType": "passwordLifetime", "maxLifetime": "P180D",
            "restrictForAppsCreatedAfterDateTime": "1970-01-01T00:00:00Z"}]);
        let mut tenant = FakeTenant { policy: Some(tenant_policy(cap)), ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
        let end = crate::time::parse_rfc3339(&tenant.password_ends[0]).unwrap();
        assert!((178 * 86_400..=180 * 86_400).contains(&end), "ends {} days after the start", end / 86_400);
        assert!(reg.graph_round_trips <= 5 && reg.graph_requests <= 8, "the policy is read in the first batch");

        // No policy: the usual two years.
        let mut tenant = FakeTenant::default();
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        let end = crate::time::parse_rfc3339(&tenant.password_ends[0]).unwrap();
        assert!(end >= (SECRET_LIFETIME_DAYS - 1) * 86_400);
    }

    #[test]
    fn a_policy_that_blocks_secrets_fails_before_any_secret_and_leaves_nothing() {
        // The fake's clock starts at the epoch: a restriction in force from then on.
        let block = json!([{"restrictionType": "passwordAddition", "maxLifetime": null,
            "restrictForAppsCreatedAfterDateTime": "1970-01-01T00:00:00Z"}]);
        let mut tenant = FakeTenant { policy: Some(tenant_policy(block)), ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        let e = reg.error.as_ref().unwrap();
        assert_eq!(e.code, ErrorCode::SecretsForbiddenByPolicy);
        assert!(e.message.contains("Manual method"), "{}", e.message);
        assert!(tenant.password_ends.is_empty(), "no secret was asked for");
        assert!(tenant.apps.is_empty() && tenant.deleted.len() == 1, "created in the first batch, then deleted");
    }

    #[test]
    fn a_policy_the_sign_in_may_not_read_counts_as_none() {
        let mut tenant = FakeTenant { policy_denied: true, ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
        assert_eq!(reg.policy, Some(TenantPolicy::default()));
    }

    #[test]
    fn replication_delay_is_waited_out() {
        let mut tenant = FakeTenant { sp_not_replicated_for: 3, verify_refusals: 2, ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        let took = tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done);
        assert!(took > 4_000, "it backed off ({took} ms)");
        assert_eq!(tenant.sps.len(), 1, "the service principal was created once");
    }

    #[test]
    fn replication_that_never_ends_fails_and_cleans_up() {
        let mut tenant = FakeTenant { sp_not_replicated_for: 10_000, ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        let took = tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Failed);
        assert!(took >= REPLICATION_PATIENCE_MS);
        assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::ReplicationDelay);
        assert_eq!(tenant.deleted, vec!["obj0".to_owned()]);
        assert!(tenant.apps.is_empty(), "nothing left half-made");
    }

    #[test]
    fn a_non_admin_fails_without_leaving_anything() {
        let mut tenant = FakeTenant { forbid_create: true, ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Failed);
        let e = reg.error.unwrap();
        assert_eq!(e.code, ErrorCode::AdminConsentRequired);
        assert!(e.message.contains("Global Administrator"));
        assert!(tenant.deleted.is_empty());
    }

    #[test]
    fn secrets_forbidden_by_policy_rolls_back() {
        let mut tenant = FakeTenant { forbid_secrets: true, ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::SecretsForbiddenByPolicy);
        assert_eq!(tenant.deleted, vec!["obj0".to_owned()]);
    }

    #[test]
    fn a_resumed_run_finds_what_the_interrupted_one_created() {
        let mut tenant = FakeTenant::default();
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        // The worker stopped after sending the discover batch, before recording its answer.
        let Work::Graph(batches) = reg.next(0) else { panic!() };
        reg.mark_sent();
        for item in &batches[0] {
            tenant.answer(item);
        }
        let persisted = serde_json::to_string(&reg).unwrap();
        let mut resumed: Registration = serde_json::from_str(&persisted).unwrap();
        tenant.run(&mut resumed);
        assert_eq!(resumed.phase, Phase::Done);
        assert_eq!(tenant.apps.len(), 1, "no second application was created");
    }

    #[test]
    fn a_resource_lookup_throttled_beside_answered_ones_is_asked_again() {
        let sharepoint = RESOURCES[1].app_id;
        let mut tenant = FakeTenant { throttle_resources: vec![sharepoint], ..Default::default() };
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
        assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::Global));
        assert!(tenant.throttle_resources.is_empty(), "the throttled lookup was sent again");
    }

    #[test]
    fn additional_applications_after_a_main_one_from_the_older_manifest_read_the_new_roles() {
        // A main application registered before version 2 (a sign-in held across the deploy).
        let mut tenant = FakeTenant::default();
        let mut main = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut main);
        main.manifest_version = 1;
        main.roles.as_mut().unwrap().retain(|r| !r.value.starts_with("Mailbox"));
        let mut more = Registration::more(&main, "m", 1, 3);
        tenant.run(&mut more);
        assert_eq!(more.phase, Phase::Done, "{:?}", more.error);
        assert_eq!(more.manifest_version, MANIFEST_VERSION);
        let exchange = more.apps.iter().find(|a| a.index == 1).unwrap();
        assert!(more.granted_permissions(exchange).iter().any(|p| p == "MailboxItem.ImportExport.All"));
    }

    #[test]
    fn a_throttled_discover_batch_is_sent_again_after_looking_up() {
        // Regression: a whole discover batch refused with 429 left the run looking up forever.
        let mut tenant = FakeTenant::default();
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        let Work::Graph(_) = reg.next(0) else { panic!() };
        reg.mark_sent();
        let throttled = MicrosoftError {
            code: ErrorCode::Throttled,
            status: 429,
            correlation: Default::default(),
            retry_after: Some(1),
        };
        reg.on_batches(vec![Err(throttled)], 0);
        assert_eq!(reg.next(10), Work::WaitUntil(2_000));
        tenant.run(&mut reg);
        assert_eq!(reg.phase, Phase::Done);
        assert_eq!(tenant.apps.len(), 1);
    }

    #[test]
    fn the_persisted_form_round_trips_the_secret() {
        let mut tenant = FakeTenant::default();
        let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
        tenant.run(&mut reg);
        let back: Registration = serde_json::from_str(&serde_json::to_string(&reg).unwrap()).unwrap();
        assert_eq!(back.app(0).unwrap().secret.as_ref().unwrap().expose(), "gen~secret");
        assert!(!format!("{reg:?}").contains("gen~secret"));
    }
}
