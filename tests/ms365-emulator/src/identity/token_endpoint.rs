//! `POST /{tenant}/oauth2/v2.0/token`: one entry point, one `match` on `grant_type`.
//!
//! - `urn:ietf:params:oauth:grant-type:device_code`: see [`super::devicecode::poll`];
//! - `client_credentials`: a confidential application of the tenant, with a secret or a certificate
//!   assertion ([`super::client_auth`]), for `{graph}/.default`; the token's `roles` are the app roles
//!   granted to its service principal;
//! - `authorization_code`: a code from `/authorize`, redeemed once, with the PKCE verifier and the same
//!   `redirect_uri`;
//! - `refresh_token`: a refresh token issued with `offline_access`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::authorize::Platform;
use super::errors::OAuthError;
use super::tokens::{issue_app, issue_delegated, AppResource, ClientAuth, Delegated};
use super::{client_auth, error_context, find_client, resolve_tenant, scopes_or_error, Client, TenantScope};
use crate::cloud::parse_scopes;
use crate::log::LogInfo;
use crate::state::{Emulator, State};
use crate::util::{b64url, form_get, now_ms, parse_form};

/// The device code grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn handle(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = now_ms();
    let form = parse_form(&body);
    let client_id = form_get(&form, "client_id").map(str::to_string);
    let grant_type = form_get(&form, "grant_type").map(str::to_string);
    let result = {
        let mut state = emu.lock();
        state.prune(now);
        let cross_origin = headers.contains_key(axum::http::header::ORIGIN);
        token(&emu, &mut state, &segment, &form, cross_origin, now)
    };
    let resp = match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.render(&error_context(&emu, &headers, now)),
    };
    LogInfo { client_id, grant_type, ..LogInfo::default() }.attach(resp)
}

fn token(
    emu: &Emulator,
    state: &mut State,
    segment: &str,
    form: &[(String, String)],
    cross_origin: bool,
    now: u64,
) -> Result<Value, OAuthError> {
    let grant_type = form_get(form, "grant_type").ok_or_else(|| OAuthError::missing("grant_type"))?;
    let client_id =
        form_get(form, "client_id").filter(|c| !c.is_empty()).ok_or_else(|| OAuthError::missing("client_id"))?;
    // The tenant must exist whatever the grant.
    let tenant = resolve_tenant(state, segment)?;
    match grant_type {
        DEVICE_CODE_GRANT | "device_code" => super::devicecode::poll(emu, state, client_id, form, now),
        "client_credentials" => client_credentials(emu, state, segment, tenant, client_id, form, now),
        "authorization_code" => authorization_code(emu, state, segment, tenant, client_id, form, cross_origin, now),
        "refresh_token" => refresh_token(emu, state, segment, tenant, client_id, form, now),
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

fn client_credentials(
    emu: &Emulator,
    state: &mut State,
    segment: &str,
    tenant: TenantScope,
    client_id: &str,
    form: &[(String, String)],
    now: u64,
) -> Result<Value, OAuthError> {
    let TenantScope::One(tenant) = tenant else {
        return Err(OAuthError::new(
            "invalid_request",
            90_002,
            format!("Tenant '{segment}' not found. The client credentials grant needs a tenant ID or domain, not '{segment}'."),
        ));
    };
    // SharePoint Online (`https://contoso.sharepoint.com/.default`): its own audience and roles.
    let sharepoint = form_get(form, "scope").and_then(crate::cloud::sharepoint_default_scope);
    // Exchange Online (`https://outlook.office365.com/.default`): its own audience and roles.
    let exchange = form_get(form, "scope").and_then(crate::cloud::exchange_default_scope);
    let scopes = match (sharepoint.as_ref().map(|(c, _)| *c), exchange) {
        (Some(cloud), _) | (None, Some(cloud)) => crate::cloud::RequestedScopes {
            cloud,
            resource: crate::cloud::Resource::Graph,
            permissions: vec![".default".into()],
            oidc: vec![],
        },
        (None, None) => scopes_or_error(form_get(form, "scope"), segment)?,
    };
    if !scopes.is_default() || scopes.permissions.len() != 1 || !scopes.oidc.is_empty() {
        return Err(OAuthError::new(
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {} is not valid. Client credential flows must have a scope value with \
                 /.default suffixed to the resource identifier (application ID URI).",
                form_get(form, "scope").unwrap_or_default()
            ),
        ));
    }
    TenantScope::One(tenant.clone()).check_cloud(scopes.cloud)?;
    let Some(app) = state.application_by_app_id(&tenant.id, client_id).cloned() else {
        if state.public_client(scopes.cloud, client_id).is_some() {
            return Err(OAuthError::new(
                "invalid_client",
                700_025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            ));
        }
        return Err(OAuthError::unknown_client(client_id, &tenant.display_name));
    };
    let auth = client_auth::authenticate(emu, state, scopes.cloud, &tenant, segment, &app, form, now)?;
    if state.sp_by_app_id(&tenant.id, client_id).is_some_and(|sp| !sp.account_enabled) {
        return Err(OAuthError::new(
            "unauthorized_client",
            7_000_112,
            format!("Application '{client_id}'({}) is disabled.", app.display_name),
        ));
    }
    match &sharepoint {
        Some((_, root)) if *root != tenant.sharepoint_resource() => Err(OAuthError::new(
            "invalid_resource",
            500_011,
            format!(
                "The resource principal named {root} was not found in the tenant named {}. This can happen if the \
                 application has not been installed by the administrator of the tenant or consented to by any user \
                 in the tenant. You might have sent your authentication request to the wrong tenant.",
                tenant.display_name
            ),
        )),
        Some((_, root)) => issue_app(emu, state, AppResource::SharePoint(root), &tenant.id, &app.app_id, auth, now),
        None if exchange.is_some() => {
            issue_app(emu, state, AppResource::Exchange(scopes.cloud), &tenant.id, &app.app_id, auth, now)
        }
        None => issue_app(emu, state, AppResource::Graph(scopes.cloud), &tenant.id, &app.app_id, auth, now),
    }
}

/// Authenticates the client of a delegated grant: public clients send nothing, confidential ones their
/// credential.
fn delegated_client_auth(
    emu: &Emulator,
    state: &mut State,
    client: &Client,
    segment: &str,
    form: &[(String, String)],
    now: u64,
) -> Result<ClientAuth, OAuthError> {
    let sends_credential = form_get(form, "client_secret").is_some() || form_get(form, "client_assertion").is_some();
    match client {
        Client::Public(_) if sends_credential => Err(OAuthError::new(
            "invalid_client",
            700_025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )),
        Client::App(app) if !app.is_public_client() || sends_credential => {
            let tenant = state
                .tenant(&app.tenant_id)
                .cloned()
                .ok_or_else(|| OAuthError::unknown_client(&app.app_id, segment))?;
            let cloud = tenant.cloud;
            client_auth::authenticate(emu, state, cloud, &tenant, segment, app, form, now)
        }
        _ => Ok(ClientAuth::None),
    }
}

#[allow(clippy::too_many_arguments)]
fn authorization_code(
    emu: &Emulator,
    state: &mut State,
    segment: &str,
    tenant: TenantScope,
    client_id: &str,
    form: &[(String, String)],
    cross_origin: bool,
    now: u64,
) -> Result<Value, OAuthError> {
    let code = form_get(form, "code").filter(|c| !c.is_empty()).ok_or_else(|| OAuthError::missing("code"))?;
    let invalid = || OAuthError::new("invalid_grant", 9_002_313, "Invalid request. Request is malformed or invalid.");
    let grant = state.auth_codes.get(code).cloned().ok_or_else(invalid)?;
    if grant.redeemed {
        return Err(OAuthError::new(
            "invalid_grant",
            54_005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing \
             refresh token.",
        ));
    }
    if now >= grant.expires_ms {
        return Err(OAuthError::new(
            "invalid_grant",
            70_008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive \
             authorization request for this user and resource.",
        ));
    }
    if !grant.client_id.eq_ignore_ascii_case(client_id) {
        return Err(OAuthError::new(
            "invalid_grant",
            70_000,
            "The provided authorization code was issued to another client.",
        ));
    }
    if let TenantScope::One(t) = &tenant {
        if t.id != grant.user.tenant_id {
            return Err(OAuthError::new(
                "invalid_grant",
                700_005,
                "Provided Authorization Code is intended to use against other tenant, thus rejected.",
            ));
        }
    }
    let redirect_uri = form_get(form, "redirect_uri").ok_or_else(|| OAuthError::missing("redirect_uri"))?;
    if redirect_uri != grant.redirect_uri {
        return Err(OAuthError::new(
            "invalid_grant",
            500_112,
            format!(
                "The reply address '{redirect_uri}' does not match the reply address '{}' provided when requesting \
                 Authorization code.",
                grant.redirect_uri
            ),
        ));
    }
    if let Some(challenge) = &grant.code_challenge {
        let verifier = form_get(form, "code_verifier").ok_or_else(|| OAuthError::missing("code_verifier"))?;
        let computed = b64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
        let plain = grant.code_challenge_plain;
        let ok = if plain { verifier == challenge } else { &computed == challenge };
        if !ok {
            return Err(OAuthError::new(
                "invalid_grant",
                501_481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
    }
    // How the code may be redeemed depends on the platform its redirect URI is registered under
    // (Learn: "Microsoft identity platform and OAuth 2.0 authorization code flow", redirect URIs for
    // single-page apps): a `spa` code only cross-origin, a `web` code only with the client's credential.
    let sends_credential = form_get(form, "client_secret").is_some() || form_get(form, "client_assertion").is_some();
    match grant.platform {
        Platform::Spa if !cross_origin => {
            return Err(OAuthError::new(
                "invalid_request",
                9_002_327,
                "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin \
                 requests.",
            ));
        }
        Platform::Web if !sends_credential => {
            return Err(OAuthError::new(
                "invalid_client",
                7_000_218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        _ => {}
    }
    let client = find_client(state, grant.cloud, &TenantScope::Any, client_id)
        .ok_or_else(|| OAuthError::unknown_client(client_id, segment))?;
    let auth = delegated_client_auth(emu, state, &client, segment, form, now)?;
    let g = Delegated {
        cloud: grant.cloud,
        client: &client,
        client_id,
        scope: &grant.scope,
        user: &grant.user,
        nonce: grant.nonce.as_deref(),
        client_info: form_get(form, "client_info") == Some("1"),
        auth,
        acting: None,
    };
    let body = issue_delegated(emu, state, &g, now)?;
    if let Some(c) = state.auth_codes.get_mut(code) {
        c.redeemed = true;
    }
    Ok(body)
}

fn refresh_token(
    emu: &Emulator,
    state: &mut State,
    segment: &str,
    tenant: TenantScope,
    client_id: &str,
    form: &[(String, String)],
    now: u64,
) -> Result<Value, OAuthError> {
    let rt = form_get(form, "refresh_token")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| OAuthError::missing("refresh_token"))?;
    let grant = state.refresh_tokens.get(rt).cloned().ok_or_else(|| {
        OAuthError::new("invalid_grant", 9_002_313, "Invalid request. Request is malformed or invalid.")
    })?;
    if !grant.client_id.eq_ignore_ascii_case(client_id) {
        return Err(OAuthError::new("invalid_grant", 700_003, "The refresh token was issued to another client."));
    }
    // At another tenant's authority only a partner's admin agent with an active GDAP relationship
    // there gets a token, and only for a client Partner Center's consent put into that tenant.
    let mut acting = None;
    if let TenantScope::One(t) = &tenant {
        if t.id != grant.user.tenant_id {
            let upn = state.user(&grant.user).map(|(_, u)| u.upn.clone()).unwrap_or_default();
            let Some(roles) = state.partner.gdap_roles(&grant.user, &t.id) else {
                return Err(OAuthError::new(
                    "invalid_grant",
                    50_020,
                    format!(
                        "User account '{upn}' from identity provider 'https://sts.windows.net/{}/' does not exist in \
                         tenant '{}' and cannot access the application '{client_id}' in that tenant. The account \
                         needs to be added as an external user in the tenant first.",
                        grant.user.tenant_id, t.display_name
                    ),
                ));
            };
            let Some(consent) = state.partner.consent(&t.id, client_id) else {
                return Err(OAuthError::new(
                    "invalid_grant",
                    65_001,
                    format!(
                        "The user or administrator has not consented to use the application with ID '{client_id}'. \
                         Send an interactive authorization request for this user and resource."
                    ),
                ));
            };
            acting = Some(super::tokens::Acting { tenant_id: t.id.clone(), roles, consented: consent.scopes.clone() });
        }
    }
    // A narrower scope may be asked for; the cloud must stay the same.
    let scope = match form_get(form, "scope") {
        Some(s) if !s.trim().is_empty() => {
            let asked = scopes_or_error(Some(s), segment)?;
            if asked.cloud != grant.cloud {
                return Err(OAuthError::new(
                    "invalid_grant",
                    700_003,
                    "The refresh token was issued for another cloud's Microsoft Graph.",
                ));
            }
            s.to_string()
        }
        _ => grant.scope.clone(),
    };
    // Redeeming a refresh token issued with `offline_access` gives a new one, whatever the scope
    // asked for now (Learn: "Refresh the access token": "a new refresh token").
    let keeps_offline = parse_scopes(&grant.scope).is_ok_and(|g| g.has_oidc("offline_access"));
    let scope = match parse_scopes(&scope) {
        Ok(now) if keeps_offline && !now.has_oidc("offline_access") => format!("{scope} offline_access"),
        _ => scope,
    };
    let client = find_client(state, grant.cloud, &TenantScope::Any, client_id)
        .ok_or_else(|| OAuthError::unknown_client(client_id, segment))?;
    let auth = delegated_client_auth(emu, state, &client, segment, form, now)?;
    let g = Delegated {
        cloud: grant.cloud,
        client: &client,
        client_id,
        scope: &scope,
        user: &grant.user,
        nonce: None,
        client_info: form_get(form, "client_info") == Some("1"),
        auth,
        acting,
    };
    issue_delegated(emu, state, &g, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_s256_challenge_is_base64url_of_sha256() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let computed = b64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
        assert_eq!(computed, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
