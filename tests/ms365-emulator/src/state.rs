//! The emulator's in-memory state: the directory (tenants, users, applications, service principals, app
//! role assignments), the sign-in protocol state (device codes, authorization codes, refresh tokens,
//! sign-in page flows, seen assertion IDs), the active faults and the request log.
//!
//! Everything sits behind one mutex in [`Emulator`]. Handlers lock it briefly and never across an
//! `.await`, so there is no lock ordering to get wrong; the emulator serves tests, not load.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cloud::Cloud;
use crate::faults::Faults;
use crate::fixture::{Fixture, GRAPH_APP_ID};
use crate::identity::jwt::SigningKey;
use crate::util::{new_guid, now_ms};

/// Settings fixed at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    /// The base URL used inside responses (`verification_uri`, `iss`, endpoints), without trailing slash.
    pub public_base: String,
    /// `expires_in` of new device codes, seconds.
    pub device_code_expires_in: u64,
    /// `interval` of new device codes, seconds.
    pub device_code_interval: u64,
    /// Accept a client assertion whose `jti` was seen before (MSAL Python re-sends one assertion for up to
    /// nine minutes). Off by default: the emulator then refuses replays.
    pub allow_assertion_replay: bool,
}

/// The shared emulator: configuration, signing key, start time and the locked state.
pub struct Emulator {
    /// Settings fixed at start-up.
    pub config: Config,
    /// The key that signs access and ID tokens.
    pub signing: SigningKey,
    /// The fixture loaded at start-up (what `POST /_emulator/reset` without a body restores).
    pub initial_fixture: Fixture,
    started: Instant,
    state: Mutex<State>,
}

impl Emulator {
    /// An emulator loaded with `fixture`.
    pub fn new(config: Config, fixture: &Fixture) -> Result<Emulator, String> {
        let signing = SigningKey::builtin()?;
        let state = State::from_fixture(fixture, now_ms())?;
        Ok(Emulator {
            config,
            signing,
            initial_fixture: fixture.clone(),
            started: Instant::now(),
            state: Mutex::new(state),
        })
    }

    /// Locks the state. A panic while locked cannot leave it half-written in a way that matters to a
    /// test emulator, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds since start-up (the request log's `t_ms`).
    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// A directory user.
#[derive(Clone, Debug)]
pub struct User {
    /// Object ID.
    pub id: String,
    /// Sign-in name.
    pub upn: String,
    /// Name.
    pub display_name: String,
    /// Directory role names.
    pub roles: Vec<String>,
    /// Password for the sign-in page.
    pub password: String,
}

impl User {
    /// Whether the user's directory roles allow `action` (see [`crate::roles`]).
    pub fn may(&self, action: crate::roles::AdminAction) -> bool {
        crate::roles::may(&self.roles, action)
    }
}

/// A tenant.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Tenant ID.
    pub id: String,
    /// Its cloud.
    pub cloud: Cloud,
    /// Organization name.
    pub display_name: String,
    /// Verified domains, initial domain first.
    pub domains: Vec<String>,
    /// Users.
    pub users: Vec<User>,
    /// Creation time (for `createdDateTime`).
    pub created_ms: u64,
    /// The default app management policy (Microsoft's JSON shape), when the fixture sets one.
    pub app_management_policy: Option<serde_json::Value>,
}

impl Tenant {
    /// The tenant's SharePoint Online root (`https://contoso.sharepoint.com`): the first label of its
    /// initial domain in its cloud's SharePoint domain.
    pub fn sharepoint_resource(&self) -> String {
        let initial = self.domains.first().map(String::as_str).unwrap_or_default();
        let label = initial.split('.').next().unwrap_or_default().to_ascii_lowercase();
        format!("https://{label}.{}", self.cloud.sharepoint_suffix())
    }

    /// The names a fault or a path may use for this tenant: its ID and its domains.
    pub fn names(&self) -> Vec<&str> {
        std::iter::once(self.id.as_str()).chain(self.domains.iter().map(String::as_str)).collect()
    }
}

/// The product's public client in one cloud.
#[derive(Clone, Debug)]
pub struct PublicClient {
    /// Cloud.
    pub cloud: Cloud,
    /// Client ID.
    pub client_id: String,
    /// Name on the consent page.
    pub display_name: String,
    /// Redirect URIs of the "Mobile and desktop applications" platform (`publicClient`).
    pub redirect_uris: Vec<String>,
    /// Redirect URIs of the "Single-page application" platform (`spa`).
    pub spa_redirect_uris: Vec<String>,
    /// Redirect URIs of the "Web" platform (`web`).
    pub web_redirect_uris: Vec<String>,
}

/// A client secret. The value is kept to check it; it is never shown again after `addPassword`.
#[derive(Clone, Debug)]
pub struct PasswordCredential {
    /// `keyId`.
    pub key_id: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// The secret value.
    pub secret: String,
    /// `startDateTime`.
    pub start_ms: u64,
    /// `endDateTime`.
    pub end_ms: u64,
    /// When it was added (replication delay).
    pub added_ms: u64,
}

/// A certificate registered in `keyCredentials`.
#[derive(Clone, Debug)]
pub struct KeyCredential {
    /// `keyId`.
    pub key_id: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `customKeyIdentifier` as given (base64), or the SHA-1 thumbprint when absent.
    pub custom_key_identifier: String,
    /// `type` (`AsymmetricX509Cert`).
    pub key_type: String,
    /// `usage` (`Verify`).
    pub usage: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// SHA-1 of the DER (JWT `x5t`).
    pub sha1: Vec<u8>,
    /// SHA-256 of the DER (JWT `x5t#S256`).
    pub sha256: Vec<u8>,
    /// `startDateTime` (the certificate's notBefore unless given).
    pub start_ms: u64,
    /// `endDateTime` (the certificate's notAfter unless given).
    pub end_ms: u64,
    /// When it was added (replication delay).
    pub added_ms: u64,
}

/// An application object in a tenant.
#[derive(Clone, Debug)]
pub struct Application {
    /// Object ID.
    pub id: String,
    /// Application (client) ID.
    pub app_id: String,
    /// Home tenant.
    pub tenant_id: String,
    /// `displayName`.
    pub display_name: String,
    /// Every other property as last written (`requiredResourceAccess`, `signInAudience`, `web`, ...).
    pub properties: Map<String, Value>,
    /// Client secrets.
    pub passwords: Vec<PasswordCredential>,
    /// Certificates.
    pub keys: Vec<KeyCredential>,
    /// Creation time.
    pub created_ms: u64,
}

impl Application {
    /// Whether "allow public client flows" is on (`isFallbackPublicClient`).
    pub fn is_public_client(&self) -> bool {
        self.properties.get("isFallbackPublicClient").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// An app role or delegated permission offered by a resource.
#[derive(Clone, Debug, Serialize)]
pub struct AppRole {
    /// GUID.
    pub id: String,
    /// Value, e.g. `User.Read.All`.
    pub value: String,
    /// Display name.
    pub display_name: String,
}

/// A service principal in a tenant.
#[derive(Clone, Debug)]
pub struct ServicePrincipal {
    /// Object ID.
    pub id: String,
    /// Application ID.
    pub app_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Name.
    pub display_name: String,
    /// Application permissions it offers.
    pub app_roles: Vec<AppRole>,
    /// Delegated permissions it offers.
    pub scopes: Vec<AppRole>,
    /// The tenant that owns the application (Microsoft's tenant for resource SPs).
    pub app_owner_tenant_id: String,
    /// Creation time.
    pub created_ms: u64,
    /// `accountEnabled`: a disabled application gets no token (AADSTS7000112).
    pub account_enabled: bool,
}

/// An application permission granted: an app role assignment.
#[derive(Clone, Debug)]
pub struct RoleAssignment {
    /// Object ID.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The service principal granted the role.
    pub principal_id: String,
    /// The resource service principal.
    pub resource_id: String,
    /// The app role.
    pub app_role_id: String,
    /// Creation time (replication delay).
    pub created_ms: u64,
}

/// Who signed in, once a sign-in has got that far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    /// Tenant ID.
    pub tenant_id: String,
    /// User object ID.
    pub user_id: String,
}

/// Where a device code stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceCodeStatus {
    /// Waiting for the user.
    Pending,
    /// The user signed in and consented.
    Approved(SignedInUser),
    /// The user cancelled.
    Declined,
    /// Tokens were issued for it.
    Redeemed,
}

/// An outstanding device authorization.
#[derive(Clone, Debug)]
pub struct DeviceCode {
    /// The secret the client polls with.
    pub device_code: String,
    /// The code the user types.
    pub user_code: String,
    /// The tenant segment of the request (`organizations`, an ID or a domain).
    pub tenant_segment: String,
    /// The cloud of the request.
    pub cloud: Cloud,
    /// The client.
    pub client_id: String,
    /// The `scope` as requested.
    pub scope: String,
    /// Issue time.
    pub created_ms: u64,
    /// Expiry time.
    pub expires_ms: u64,
    /// Polling interval, seconds.
    pub interval_s: u64,
    /// Time of the previous poll.
    pub last_poll_ms: Option<u64>,
    /// Progress.
    pub status: DeviceCodeStatus,
}

/// An issued authorization code.
#[derive(Clone, Debug)]
pub struct AuthCode {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// The platform that URI is registered under.
    pub platform: crate::identity::authorize::Platform,
    /// PKCE challenge, if any.
    pub code_challenge: Option<String>,
    /// Whether the challenge method was `plain` (else `S256`).
    pub code_challenge_plain: bool,
    /// The cloud.
    pub cloud: Cloud,
    /// The `scope` as requested.
    pub scope: String,
    /// OpenID Connect nonce.
    pub nonce: Option<String>,
    /// The user.
    pub user: SignedInUser,
    /// Expiry.
    pub expires_ms: u64,
    /// Already redeemed.
    pub redeemed: bool,
}

/// A refresh token's grant.
#[derive(Clone, Debug)]
pub struct RefreshGrant {
    /// Client.
    pub client_id: String,
    /// Cloud.
    pub cloud: Cloud,
    /// The `scope` originally granted.
    pub scope: String,
    /// The user.
    pub user: SignedInUser,
}

/// What a sign-in page flow completes.
#[derive(Clone, Debug)]
pub enum FlowKind {
    /// A device code, by user code.
    Device {
        /// The device code's user code.
        user_code: String,
    },
    /// An `/authorize` request.
    Authorize(AuthorizeRequest),
}

/// A validated `/authorize` request, kept while the user signs in.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    /// Tenant segment of the request.
    pub tenant_segment: String,
    /// Cloud.
    pub cloud: Cloud,
    /// Client.
    pub client_id: String,
    /// Where to send the result.
    pub redirect_uri: String,
    /// The platform that URI is registered under.
    pub platform: crate::identity::authorize::Platform,
    /// Returned untouched.
    pub state: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Whether the challenge method is `plain` (else `S256`).
    pub code_challenge_plain: bool,
    /// Requested scope.
    pub scope: String,
    /// OpenID Connect nonce.
    pub nonce: Option<String>,
    /// Prefill of the account field.
    pub login_hint: Option<String>,
    /// Partner Center's permission was asked for consent only, beside `scope`.
    pub consent_partner_center: bool,
}

/// A sign-in in progress on the HTML pages, identified by a random flow ID kept in a hidden input.
#[derive(Clone, Debug)]
pub struct SignInFlow {
    /// What signing in completes.
    pub kind: FlowKind,
    /// The account chosen (step 2).
    pub user: Option<SignedInUser>,
    /// Password checked (step 3).
    pub authenticated: bool,
    /// Creation time; flows expire after an hour.
    pub created_ms: u64,
}

/// One request-log entry (`GET /_emulator/requests`).
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// When the request arrived, milliseconds since the emulator started.
    pub t_ms: u64,
    /// When the answer was ready (after any injected latency), same clock.
    pub done_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Response status.
    pub status: u16,
    /// The client: `client_id` of identity requests, `appid` of the token for Graph requests.
    pub client_id: Option<String>,
    /// `grant_type` of token requests.
    pub grant_type: Option<String>,
    /// The inner requests of a `$batch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<BatchLogEntry>>,
}

/// One inner request of a logged `$batch`.
#[derive(Clone, Debug, Serialize)]
pub struct BatchLogEntry {
    /// Method.
    pub method: String,
    /// Relative URL as sent.
    pub url: String,
    /// Inner status.
    pub status: u16,
}

/// The whole mutable state.
#[derive(Debug, Default)]
pub struct State {
    /// The product's public clients.
    pub public_clients: Vec<PublicClient>,
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Applications, in creation order.
    pub applications: Vec<Application>,
    /// Service principals, in creation order.
    pub service_principals: Vec<ServicePrincipal>,
    /// App role assignments, in creation order.
    pub role_assignments: Vec<RoleAssignment>,
    /// Device codes by `device_code`.
    pub device_codes: HashMap<String, DeviceCode>,
    /// Authorization codes.
    pub auth_codes: HashMap<String, AuthCode>,
    /// Refresh tokens.
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// Sign-in page flows by flow ID.
    pub flows: HashMap<String, SignInFlow>,
    /// Client assertion `jti`s seen, with their expiry (replay protection).
    pub seen_jtis: HashMap<String, u64>,
    /// Active faults.
    pub faults: Faults,
    /// The request log.
    pub requests: Vec<LogEntry>,
    /// Partners, their GDAP relationships and Partner Center's consents.
    pub partner: crate::partner::PartnerState,
}

/// Microsoft's own tenant, the owner of the resource applications.
pub const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

impl State {
    /// A state holding `fixture`'s directory and nothing else.
    pub fn from_fixture(fixture: &Fixture, now: u64) -> Result<State, String> {
        fixture.validate()?;
        let mut state = State {
            public_clients: fixture
                .public_clients
                .iter()
                .map(|p| PublicClient {
                    cloud: p.cloud,
                    client_id: p.client_id.to_ascii_lowercase(),
                    display_name: p.display_name.clone(),
                    redirect_uris: p.redirect_uris.clone(),
                    spa_redirect_uris: p.spa_redirect_uris.clone(),
                    web_redirect_uris: p.web_redirect_uris.clone(),
                })
                .collect(),
            ..State::default()
        };
        for t in &fixture.tenants {
            let tenant_id = t.id.to_ascii_lowercase();
            state.tenants.push(Tenant {
                id: tenant_id.clone(),
                cloud: t.cloud,
                display_name: t.display_name.clone(),
                domains: t.domains.clone(),
                users: t
                    .users
                    .iter()
                    .map(|u| User {
                        id: u.id.clone().map(|i| i.to_ascii_lowercase()).unwrap_or_else(new_guid),
                        upn: u.upn.clone(),
                        display_name: u.display_name.clone(),
                        roles: u.roles.clone(),
                        password: u.password.clone(),
                    })
                    .collect(),
                created_ms: now,
                app_management_policy: t.app_management_policy.clone(),
            });
            for r in &fixture.resource_service_principals {
                let to_roles = |list: &[crate::fixture::AppRoleFixture]| {
                    list.iter()
                        .filter(|x| x.clouds.is_empty() || x.clouds.contains(&t.cloud))
                        .filter(|x| !t.withheld_app_roles.contains(&x.value))
                        .map(|x| AppRole {
                            id: x.id.to_ascii_lowercase(),
                            value: x.value.clone(),
                            display_name: x.display_name.clone().unwrap_or_else(|| x.value.clone()),
                        })
                        .collect()
                };
                state.service_principals.push(ServicePrincipal {
                    id: new_guid(),
                    app_id: r.app_id.to_ascii_lowercase(),
                    tenant_id: tenant_id.clone(),
                    display_name: r.display_name.clone(),
                    app_roles: to_roles(&r.app_roles),
                    scopes: to_roles(&r.oauth2_permission_scopes),
                    app_owner_tenant_id: MICROSOFT_TENANT_ID.into(),
                    created_ms: now,
                    account_enabled: true,
                });
            }
            for a in &t.applications {
                state.load_application(&tenant_id, a, now)?;
            }
        }
        state.partner = crate::partner::PartnerState::load(&state, &fixture.partners, now)?;
        Ok(state)
    }

    fn load_application(
        &mut self,
        tenant_id: &str,
        a: &crate::fixture::ApplicationFixture,
        now: u64,
    ) -> Result<(), String> {
        const TWO_YEARS_MS: u64 = 2 * 365 * 24 * 3600 * 1000;
        let app_id = a.app_id.clone().map(|i| i.to_ascii_lowercase()).unwrap_or_else(new_guid);
        let mut keys = Vec::new();
        for c in &a.certificates {
            let der = crate::identity::certs::der_from_pem_or_base64(c)
                .ok_or_else(|| format!("certificate of '{}' is neither PEM nor base64 DER", a.display_name))?;
            let info = crate::identity::certs::inspect(&der)
                .map_err(|e| format!("certificate of '{}': {e}", a.display_name))?;
            keys.push(KeyCredential {
                key_id: new_guid(),
                display_name: Some(info.subject.clone()),
                custom_key_identifier: crate::util::b64(&info.sha1),
                key_type: "AsymmetricX509Cert".into(),
                usage: "Verify".into(),
                sha1: info.sha1,
                sha256: info.sha256,
                start_ms: info.not_before_ms,
                end_ms: info.not_after_ms,
                der,
                added_ms: 0,
            });
        }
        let passwords = a
            .secrets
            .iter()
            .map(|s| PasswordCredential {
                key_id: new_guid(),
                display_name: None,
                secret: s.clone(),
                start_ms: now,
                end_ms: now + TWO_YEARS_MS,
                added_ms: 0,
            })
            .collect();
        let mut properties = Map::new();
        properties.insert("signInAudience".into(), Value::from("AzureADMyOrg"));
        self.applications.push(Application {
            id: new_guid(),
            app_id: app_id.clone(),
            tenant_id: tenant_id.into(),
            display_name: a.display_name.clone(),
            properties,
            passwords,
            keys,
            created_ms: 0,
        });
        let sp_id = new_guid();
        self.service_principals.push(ServicePrincipal {
            id: sp_id.clone(),
            app_id,
            tenant_id: tenant_id.into(),
            display_name: a.display_name.clone(),
            app_roles: Vec::new(),
            scopes: Vec::new(),
            app_owner_tenant_id: tenant_id.into(),
            created_ms: 0,
            account_enabled: true,
        });
        let graph = self
            .service_principals
            .iter()
            .find(|s| s.tenant_id == tenant_id && s.app_id == GRAPH_APP_ID)
            .ok_or("the fixture has no Microsoft Graph resource service principal")?;
        for value in &a.graph_roles {
            let role = graph
                .app_roles
                .iter()
                .find(|r| &r.value == value)
                .ok_or_else(|| format!("Microsoft Graph has no app role '{value}'"))?;
            let assignment = RoleAssignment {
                id: new_guid(),
                tenant_id: tenant_id.into(),
                principal_id: sp_id.clone(),
                resource_id: graph.id.clone(),
                app_role_id: role.id.clone(),
                created_ms: 0,
            };
            self.role_assignments.push(assignment);
        }
        Ok(())
    }

    /// The tenant a path segment names: its ID (any case) or one of its domains.
    pub fn tenant_by_segment(&self, segment: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(segment) || t.domains.iter().any(|d| d.eq_ignore_ascii_case(segment)))
    }

    /// The tenant with this ID.
    pub fn tenant(&self, tenant_id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == tenant_id)
    }

    /// A user by sign-in name, with their tenant.
    pub fn user_by_upn(&self, upn: &str) -> Option<(&Tenant, &User)> {
        let upn = upn.trim();
        self.tenants.iter().find_map(|t| t.users.iter().find(|u| u.upn.eq_ignore_ascii_case(upn)).map(|u| (t, u)))
    }

    /// The directory roles with which `user_id` acts in `tenant_id`: their own as a user of the
    /// tenant, or a GDAP relationship's as a partner's admin agent; `None` for anyone else.
    pub fn acting_roles(&self, tenant_id: &str, user_id: &str) -> Option<Vec<String>> {
        match self.tenant(tenant_id)?.users.iter().find(|u| u.id == user_id) {
            Some(u) => Some(u.roles.clone()),
            None => self.partner.acting_partner(tenant_id, user_id).map(|(_, roles)| roles),
        }
    }

    /// A user by tenant and object ID.
    pub fn user(&self, who: &SignedInUser) -> Option<(&Tenant, &User)> {
        let t = self.tenant(&who.tenant_id)?;
        t.users.iter().find(|u| u.id == who.user_id).map(|u| (t, u))
    }

    /// The product's public client with this ID in this cloud.
    pub fn public_client(&self, cloud: Cloud, client_id: &str) -> Option<&PublicClient> {
        self.public_clients.iter().find(|p| p.cloud == cloud && p.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The application with this client ID registered in this tenant.
    pub fn application_by_app_id(&self, tenant_id: &str, app_id: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.tenant_id == tenant_id && a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// The service principal of `app_id` in the tenant.
    pub fn sp_by_app_id(&self, tenant_id: &str, app_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.tenant_id == tenant_id && s.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Microsoft Graph's service principal in the tenant.
    pub fn graph_sp(&self, tenant_id: &str) -> Option<&ServicePrincipal> {
        self.sp_by_app_id(tenant_id, GRAPH_APP_ID)
    }

    /// The Graph app role values granted to `app_id`'s service principal in the tenant that are visible at
    /// `now` (a role assignment younger than the `role_assignment` replication delay is not).
    pub fn graph_roles_of(&self, tenant_id: &str, app_id: &str, now: u64) -> Vec<String> {
        self.roles_on(tenant_id, app_id, GRAPH_APP_ID, now)
    }

    /// Like [`Self::graph_roles_of`], for the resource application `resource_app_id`.
    pub fn roles_on(&self, tenant_id: &str, app_id: &str, resource_app_id: &str, now: u64) -> Vec<String> {
        let (Some(sp), Some(graph)) =
            (self.sp_by_app_id(tenant_id, app_id), self.sp_by_app_id(tenant_id, resource_app_id))
        else {
            return Vec::new();
        };
        let mut roles: Vec<String> = self
            .role_assignments
            .iter()
            .filter(|ra| ra.principal_id == sp.id && ra.resource_id == graph.id)
            .filter(|ra| {
                !self.faults.still_replicating(crate::faults::ReplicationTarget::RoleAssignment, ra.created_ms, now)
            })
            .filter_map(|ra| graph.app_roles.iter().find(|r| r.id == ra.app_role_id).map(|r| r.value.clone()))
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Drops expired device codes, codes, flows and seen assertion IDs.
    pub fn prune(&mut self, now: u64) {
        const HOUR: u64 = 3600 * 1000;
        self.device_codes.retain(|_, d| now < d.expires_ms.saturating_add(HOUR));
        self.auth_codes.retain(|_, c| now < c.expires_ms.saturating_add(HOUR));
        self.flows.retain(|_, f| now < f.created_ms.saturating_add(HOUR));
        self.seen_jtis.retain(|_, exp| now < exp.saturating_add(10 * 60 * 1000));
    }
}
