//! The Microsoft identity platform, per tenant (`/{tenant}/...`): discovery documents and keys, the
//! device authorization grant, the token endpoint (device code, client credentials with a secret or a
//! certificate assertion, authorization code with PKCE, refresh token) and `/authorize`.
//!
//! `tenant` is a tenant ID, one of its verified domains, or `organizations`/`common` (the tenant is then
//! the signed-in user's). The cloud of a request comes from its `scope` (see [`crate::cloud`]).

pub mod authorize;
pub mod certs;
pub mod client_auth;
pub mod devicecode;
pub mod discovery;
pub mod errors;
pub mod jwt;
pub mod token_endpoint;
pub mod tokens;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

use crate::cloud::{parse_scopes, Cloud, RequestedScopes, ScopeError};
use crate::state::{Application, Emulator, PublicClient, State, Tenant};
use errors::{ErrorContext, OAuthError};

/// The identity routes.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode::handle))
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::handle))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::handle))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
}

/// What the tenant segment of a request names.
#[derive(Clone, Debug)]
pub enum TenantScope {
    /// `organizations` or `common`: whoever signs in.
    Any,
    /// One tenant.
    One(Tenant),
}

impl TenantScope {
    /// The directory name Microsoft puts in AADSTS700016 messages.
    pub fn directory_name(&self, segment: &str) -> String {
        match self {
            TenantScope::Any => segment.to_string(),
            TenantScope::One(t) => t.display_name.clone(),
        }
    }

    /// Fails with AADSTS90038 when the tenant lives in another cloud than the request's.
    pub fn check_cloud(&self, cloud: Cloud) -> Result<(), OAuthError> {
        match self {
            TenantScope::One(t) if t.cloud != cloud => Err(OAuthError::wrong_cloud(&t.id, t.cloud, cloud)),
            _ => Ok(()),
        }
    }
}

/// Resolves a tenant path segment (AADSTS90002 for an unknown tenant, AADSTS900023 for garbage).
pub fn resolve_tenant(state: &State, segment: &str) -> Result<TenantScope, OAuthError> {
    if segment.eq_ignore_ascii_case("organizations") || segment.eq_ignore_ascii_case("common") {
        return Ok(TenantScope::Any);
    }
    if let Some(t) = state.tenant_by_segment(segment) {
        return Ok(TenantScope::One(t.clone()));
    }
    let looks_valid = crate::util::is_guid(segment)
        || (segment.contains('.') && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    if looks_valid {
        Err(OAuthError::new(
            "invalid_request",
            90_002,
            format!(
                "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing \
                 into the correct cloud. Check with your subscription administrator, this may happen if there are \
                 no active subscriptions for the tenant."
            ),
        ))
    } else {
        Err(OAuthError::new(
            "invalid_request",
            900_023,
            format!(
                "Specified tenant identifier '{segment}' is neither a valid DNS name, nor a valid external domain."
            ),
        ))
    }
}

/// Parses `scope`, with Microsoft's errors.
pub fn scopes_or_error(scope: Option<&str>, tenant_segment: &str) -> Result<RequestedScopes, OAuthError> {
    match parse_scopes(scope.unwrap_or("")) {
        Ok(s) => Ok(s),
        Err(ScopeError::Missing) => Err(OAuthError::missing("scope")),
        Err(ScopeError::UnknownResource(r)) => Err(OAuthError::new(
            "invalid_resource",
            500_011,
            format!(
                "The resource principal named {r} was not found in the tenant named {tenant_segment}. This can \
                 happen if the application has not been installed by the administrator of the tenant or consented \
                 to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )),
        Err(ScopeError::MixedClouds) => Err(OAuthError::new(
            "invalid_scope",
            28_000,
            "Provided value for the input parameter scope is not valid because it contains more than one resource.",
        )),
    }
}

/// A client a user signs in to.
#[derive(Clone, Debug)]
pub enum Client {
    /// The product's multi-tenant public client of the cloud.
    Public(PublicClient),
    /// An application registered in a tenant.
    App(Application),
}

impl Client {
    /// The name on the consent and final pages.
    pub fn display_name(&self) -> &str {
        match self {
            Client::Public(p) => &p.display_name,
            Client::App(a) => &a.display_name,
        }
    }

    /// Whether it may use public client flows without a credential.
    pub fn is_public(&self) -> bool {
        match self {
            Client::Public(_) => true,
            Client::App(a) => a.is_public_client(),
        }
    }

    /// The tenant that registered it (`None` for the multi-tenant public clients).
    pub fn home_tenant(&self) -> Option<&str> {
        match self {
            Client::Public(_) => None,
            Client::App(a) => Some(&a.tenant_id),
        }
    }
}

/// Finds a client in a cloud: the product's public client, or an application of the tenant (of any tenant
/// of the cloud for `organizations`; the sign-in then checks the user's tenant).
pub fn find_client(state: &State, cloud: Cloud, tenant: &TenantScope, client_id: &str) -> Option<Client> {
    if let Some(p) = state.public_client(cloud, client_id) {
        return Some(Client::Public(p.clone()));
    }
    state
        .applications
        .iter()
        .find(|a| {
            a.app_id.eq_ignore_ascii_case(client_id)
                && match tenant {
                    TenantScope::One(t) => a.tenant_id == t.id,
                    TenantScope::Any => state.tenant(&a.tenant_id).is_some_and(|t| t.cloud == cloud),
                }
        })
        .map(|a| Client::App(a.clone()))
}

/// The error context of a request.
pub fn error_context(emu: &Emulator, headers: &HeaderMap, now_ms: u64) -> ErrorContext {
    ErrorContext {
        base: emu.config.public_base.clone(),
        correlation_id: headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| crate::util::is_guid(v))
            .map(str::to_string),
        now_ms,
    }
}
