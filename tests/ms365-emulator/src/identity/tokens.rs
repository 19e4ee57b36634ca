//! Issuing tokens once a grant has been checked: delegated tokens (a user signed in to a client) and
//! application tokens (client credentials). Access tokens are for the request cloud's Microsoft Graph
//! (`aud` = its Graph host) and carry `scp` (delegated) or `roles` (application); ID tokens only come
//! with `openid`, refresh tokens only with `offline_access`, as at Microsoft.

use serde_json::{json, Map, Value};

use super::errors::OAuthError;
use super::Client;
use crate::cloud::{parse_scopes, Cloud};
use crate::fixture::GRAPH_APP_ID;
use crate::state::{Emulator, RefreshGrant, SignedInUser, State};
use crate::util::{b64url, new_guid, random_string};

/// Lifetime of ID tokens, seconds.
pub const ID_TOKEN_LIFETIME_S: u64 = 3600;

/// The lifetime of one access token, seconds: as Microsoft's, a random value from 60 to 90 minutes
/// (Learn: "Configurable token lifetimes in the Microsoft identity platform"), so that nothing
/// relies on one fixed `expires_in`.
pub fn access_token_lifetime_s() -> u64 {
    let mut b = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    3600 + u64::from(u16::from_le_bytes(b)) % 1801
}

/// The delegated permissions of the product's public client (what `.default` means for it).
pub const PUBLIC_CLIENT_PERMISSIONS: [&str; 3] =
    ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Organization.Read.All"];

/// How the client authenticated (`appidacr`): none, secret, certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// A public client.
    None,
    /// A client secret.
    Secret,
    /// A certificate assertion.
    Certificate,
}

impl ClientAuth {
    fn acr(self) -> &'static str {
        match self {
            ClientAuth::None => "0",
            ClientAuth::Secret => "1",
            ClientAuth::Certificate => "2",
        }
    }
}

/// A delegated grant ready to be turned into tokens.
pub struct Delegated<'a> {
    /// The request cloud.
    pub cloud: Cloud,
    /// The client.
    pub client: &'a Client,
    /// The client ID as the client sent it.
    pub client_id: &'a str,
    /// The `scope` granted.
    pub scope: &'a str,
    /// The user.
    pub user: &'a SignedInUser,
    /// OpenID Connect nonce for the ID token.
    pub nonce: Option<&'a str>,
    /// Whether the client asked for `client_info` (MSAL does).
    pub client_info: bool,
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// A partner's admin agent signing in at a customer's authority through GDAP.
    pub acting: Option<Acting>,
}

/// A partner user acting in a customer tenant (see [`crate::partner`]).
#[derive(Clone, Debug)]
pub struct Acting {
    /// The customer's tenant: the token's `tid`.
    pub tenant_id: String,
    /// The relationship's roles: the token's `wids`.
    pub roles: Vec<String>,
    /// The delegated permissions the client was consented to there.
    pub consented: Vec<String>,
}

fn issuer(emu: &Emulator, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", emu.config.public_base)
}

/// The Graph permissions a delegated grant gives: the requested ones, or for `.default` the client's
/// configured ones.
pub(crate) fn delegated_permissions(
    state: &State,
    client: &Client,
    requested: &[String],
    tenant_id: &str,
) -> Vec<String> {
    let mut perms: Vec<String> = requested.iter().filter(|p| *p != ".default").cloned().collect();
    if requested.iter().any(|p| p == ".default") {
        match client {
            Client::Public(_) => perms.extend(PUBLIC_CLIENT_PERMISSIONS.iter().map(|s| (*s).to_string())),
            Client::App(app) => {
                let graph_scopes = state.graph_sp(tenant_id).map(|sp| sp.scopes.clone()).unwrap_or_default();
                let rra = app.properties.get("requiredResourceAccess").and_then(Value::as_array);
                for r in rra.into_iter().flatten() {
                    if r.get("resourceAppId").and_then(Value::as_str) != Some(GRAPH_APP_ID) {
                        continue;
                    }
                    for access in r.get("resourceAccess").and_then(Value::as_array).into_iter().flatten() {
                        let is_scope = access.get("type").and_then(Value::as_str) == Some("Scope");
                        let id = access.get("id").and_then(Value::as_str).unwrap_or("");
                        if let Some(s) = graph_scopes.iter().find(|s| is_scope && s.id.eq_ignore_ascii_case(id)) {
                            perms.push(s.value.clone());
                        }
                    }
                }
            }
        }
    }
    if perms.is_empty() {
        perms.push("User.Read".into());
    }
    perms.dedup();
    perms
}

/// Issues the token response of a delegated grant (device code, authorization code, refresh token).
pub fn issue_delegated(emu: &Emulator, state: &mut State, g: &Delegated<'_>, now_ms: u64) -> Result<Value, OAuthError> {
    let requested = parse_scopes(g.scope).map_err(|_| OAuthError::missing("scope"))?;
    let (tenant, user) = state
        .user(g.user)
        .map(|(t, u)| (t.clone(), u.clone()))
        .ok_or_else(|| OAuthError::new("invalid_grant", 50_034, "The user account does not exist in the directory."))?;
    let partner_center = requested.resource == crate::cloud::Resource::PartnerCenter;
    if partner_center && !state.partner.partner_center_consented(g.user, g.client_id) {
        // Nobody consented to Partner Center's permission for this client and user.
        return Err(OAuthError::new(
            "invalid_grant",
            65_001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. \
                 Send an interactive authorization request for this user and resource.",
                g.client_id,
                g.client.display_name()
            ),
        ));
    }
    let mut perms = if partner_center {
        // Partner Center has one delegated permission.
        vec!["user_impersonation".to_string()]
    } else {
        delegated_permissions(state, g.client, &requested.permissions, &tenant.id)
    };
    if let Some(a) = &g.acting {
        // In a customer's tenant the client holds only what Partner Center's consent granted.
        if requested.is_default() {
            perms = a.consented.clone();
        }
        if let Some(p) = perms.iter().find(|p| !a.consented.iter().any(|c| c.eq_ignore_ascii_case(p))) {
            return Err(OAuthError::new(
                "invalid_grant",
                65_001,
                format!(
                    "The user or administrator has not consented to use the application with ID '{}' named '{}'. \
                     Send an interactive authorization request for this user and resource. Missing: {p}.",
                    g.client_id,
                    g.client.display_name()
                ),
            ));
        }
    }
    let audience = if partner_center { crate::cloud::PARTNER_CENTER_RESOURCE } else { g.cloud.graph_host() };
    let acting_tenant = g.acting.as_ref().map_or(tenant.id.as_str(), |a| a.tenant_id.as_str()).to_string();
    let now = now_ms / 1000;
    let lifetime = access_token_lifetime_s();
    let mut scp: Vec<String> = perms.clone();
    scp.extend(requested.oidc.iter().filter(|s| *s != "offline_access").cloned());
    let iss = issuer(emu, &acting_tenant);
    let mut access = json!({
        "aud": audience,
        "iss": iss,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": g.client_id,
        "appidacr": g.auth.acr(),
        "idtyp": "user",
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.upn,
        "upn": user.upn,
        "unique_name": user.upn,
        "scp": scp.join(" "),
        "sub": b64url(ring::digest::digest(&ring::digest::SHA256, format!("{}{}", user.id, g.client_id).as_bytes()).as_ref()),
        "tid": acting_tenant,
        "uti": random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 22),
        "ver": "2.0",
    });
    // The user's active built-in directory roles, by template ID, as Microsoft's tokens carry them.
    // A partner's user in a customer's tenant: the relationship's roles, and `idp` names the
    // partner's tenant, where the user's account is.
    let wids = crate::roles::template_ids(g.acting.as_ref().map_or(&user.roles, |a| &a.roles));
    if !wids.is_empty() {
        access["wids"] = json!(wids);
    }
    if g.acting.is_some() {
        access["idp"] = json!(format!("https://sts.windows.net/{}/", tenant.id));
    }
    let granted: Vec<String> =
        perms.iter().map(|p| format!("{audience}/{p}")).chain(requested.oidc.iter().cloned()).collect();
    let mut body = Map::new();
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("scope".into(), json!(granted.join(" ")));
    body.insert("expires_in".into(), json!(lifetime));
    body.insert("ext_expires_in".into(), json!(lifetime));
    body.insert("access_token".into(), json!(emu.signing.sign(&access).map_err(server_error)?));
    if requested.has_oidc("offline_access") {
        let rt =
            format!("1.{}", random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 120));
        state.refresh_tokens.insert(
            rt.clone(),
            RefreshGrant {
                client_id: g.client_id.to_ascii_lowercase(),
                cloud: g.cloud,
                scope: g.scope.to_string(),
                user: g.user.clone(),
            },
        );
        body.insert("refresh_token".into(), json!(rt));
    }
    if requested.has_oidc("openid") {
        let mut id = json!({
            "aud": g.client_id,
            "iss": iss,
            "iat": now,
            "nbf": now,
            "exp": now + ID_TOKEN_LIFETIME_S,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.upn,
            "sub": user.id,
            "tid": tenant.id,
            "ver": "2.0",
        });
        if let (Some(n), Some(obj)) = (g.nonce, id.as_object_mut()) {
            obj.insert("nonce".into(), json!(n));
        }
        body.insert("id_token".into(), json!(emu.signing.sign(&id).map_err(server_error)?));
    }
    if g.client_info {
        let info = json!({ "uid": user.id, "utid": tenant.id });
        body.insert("client_info".into(), json!(b64url(info.to_string().as_bytes())));
    }
    Ok(Value::Object(body))
}

/// The resource an application token is for.
#[derive(Clone, Copy, Debug)]
pub enum AppResource<'a> {
    /// Microsoft Graph of the cloud.
    Graph(Cloud),
    /// SharePoint Online at this root (`https://contoso.sharepoint.com`), its own audience.
    SharePoint(&'a str),
    /// Exchange Online of the cloud (`https://outlook.office365.com`), its own audience.
    Exchange(Cloud),
}

/// Issues an application token (client credentials) for the app's service principal in the tenant,
/// for `resource`, with the app roles granted on it.
pub fn issue_app(
    emu: &Emulator,
    state: &State,
    resource: AppResource<'_>,
    tenant_id: &str,
    app_id: &str,
    auth: ClientAuth,
    now_ms: u64,
) -> Result<Value, OAuthError> {
    let sp = state.sp_by_app_id(tenant_id, app_id).ok_or_else(|| {
        OAuthError::new(
            "invalid_client",
            7_000_229,
            format!(
                "The client application {app_id} is missing service principal in the tenant {tenant_id}. See \
                 instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
        )
    })?;
    let (aud, roles) = match resource {
        AppResource::Graph(cloud) => (cloud.graph_host(), state.graph_roles_of(tenant_id, app_id, now_ms)),
        AppResource::SharePoint(root) => {
            (root, state.roles_on(tenant_id, app_id, crate::fixture::SHAREPOINT_APP_ID, now_ms))
        }
        AppResource::Exchange(cloud) => {
            (cloud.exchange_host(), state.roles_on(tenant_id, app_id, crate::fixture::EXCHANGE_APP_ID, now_ms))
        }
    };
    let now = now_ms / 1000;
    let lifetime = access_token_lifetime_s();
    let mut access = json!({
        "aud": aud,
        "iss": issuer(emu, tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "app_displayname": sp.display_name,
        "appid": app_id,
        "appidacr": auth.acr(),
        "idtyp": "app",
        "oid": sp.id,
        "sub": sp.id,
        "tid": tenant_id,
        "uti": new_guid(),
        "ver": "2.0",
    });
    if !roles.is_empty() {
        if let Some(obj) = access.as_object_mut() {
            obj.insert("roles".into(), json!(roles));
        }
    }
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": emu.signing.sign(&access).map_err(server_error)?,
    }))
}

fn server_error(e: String) -> OAuthError {
    OAuthError {
        status: 500,
        error: "server_error",
        code: 90_033,
        message: format!("A transient error has occurred. ({e})"),
    }
}
