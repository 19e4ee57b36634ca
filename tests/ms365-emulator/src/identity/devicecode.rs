//! The device authorization grant (RFC 8628 as Microsoft implements it).
//!
//! `POST /{tenant}/oauth2/v2.0/devicecode` hands out a `device_code` (the client's secret) and a
//! 9-character `user_code` that the user types on the emulator's sign-in page (or that a test approves
//! through the control API). The token endpoint then answers each poll from [`poll`]: pending, slow
//! down, declined, expired, blocked by Conditional Access, or tokens, once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::errors::OAuthError;
use super::tokens::{issue_delegated, ClientAuth, Delegated};
use super::{error_context, find_client, resolve_tenant, scopes_or_error, Client};
use crate::log::LogInfo;
use crate::state::{DeviceCode, DeviceCodeStatus, Emulator, State};
use crate::util::{form_get, now_ms, parse_form, random_string};

const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DEVICE_CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn handle(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = now_ms();
    let form = parse_form(&body);
    let client_id = form_get(&form, "client_id").map(str::to_string);
    let result = start(&emu, &segment, &form, now);
    let resp = match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => {
            let mut resp = e.render(&error_context(&emu, &headers, now));
            if emu.lock().faults.device_code_errors_on_200() {
                *resp.status_mut() = axum::http::StatusCode::OK;
            }
            resp
        }
    };
    LogInfo { client_id, ..LogInfo::default() }.attach(resp)
}

fn start(emu: &Emulator, segment: &str, form: &[(String, String)], now: u64) -> Result<serde_json::Value, OAuthError> {
    let client_id =
        form_get(form, "client_id").filter(|c| !c.is_empty()).ok_or_else(|| OAuthError::missing("client_id"))?;
    let mut state = emu.lock();
    state.prune(now);
    let tenant = resolve_tenant(&state, segment)?;
    let scopes = scopes_or_error(form_get(form, "scope"), segment)?;
    tenant.check_cloud(scopes.cloud)?;
    if find_client(&state, scopes.cloud, &tenant, client_id).is_none() {
        return Err(OAuthError::unknown_client(client_id, &tenant.directory_name(segment)));
    }
    let user_code = loop {
        let c = random_string(USER_CODE_ALPHABET, 9);
        if !state.device_codes.values().any(|d| d.user_code == c) {
            break c;
        }
    };
    let device_code = format!("DAQABIQEAAAD{}", random_string(DEVICE_CODE_ALPHABET, 160));
    let (expires_in, interval) = (emu.config.device_code_expires_in, emu.config.device_code_interval);
    state.device_codes.insert(
        device_code.clone(),
        DeviceCode {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            tenant_segment: segment.to_string(),
            cloud: scopes.cloud,
            client_id: client_id.to_ascii_lowercase(),
            scope: form_get(form, "scope").unwrap_or_default().to_string(),
            created_ms: now,
            expires_ms: now.saturating_add(expires_in.saturating_mul(1000)),
            interval_s: interval,
            last_poll_ms: None,
            status: DeviceCodeStatus::Pending,
        },
    );
    let uri = format!("{}/devicelogin", emu.config.public_base);
    Ok(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": uri,
        "expires_in": expires_in,
        "interval": interval,
        "message": format!(
            "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."
        ),
    }))
}

/// Finds a pending, unexpired device code by the code the user typed (case, spaces and dashes ignored).
pub fn find_by_user_code<'a>(state: &'a mut State, typed: &str) -> Option<&'a mut DeviceCode> {
    let normalized: String =
        typed.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
    if normalized.is_empty() {
        return None;
    }
    state.device_codes.values_mut().find(|d| d.user_code == normalized)
}

/// Answers one poll of the token endpoint with `grant_type=device_code`.
pub fn poll(
    emu: &Emulator,
    state: &mut State,
    client_id: &str,
    form: &[(String, String)],
    now: u64,
) -> Result<serde_json::Value, OAuthError> {
    let code =
        form_get(form, "device_code").filter(|c| !c.is_empty()).ok_or_else(|| OAuthError::missing("device_code"))?;
    let bad_code = || {
        OAuthError::new(
            "bad_verification_code",
            70_000,
            "The provided value for the input parameter 'device_code' is not valid.",
        )
    };
    let dc = state.device_codes.get_mut(code).ok_or_else(bad_code)?;
    if !dc.client_id.eq_ignore_ascii_case(client_id) {
        return Err(bad_code());
    }
    if dc.status == DeviceCodeStatus::Redeemed {
        return Err(OAuthError::new(
            "invalid_grant",
            70_000,
            "The provided value for the input parameter 'device_code' is not valid. It has already been redeemed.",
        ));
    }
    if now >= dc.expires_ms {
        return Err(OAuthError::new(
            "expired_token",
            70_020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        ));
    }
    let too_soon = dc.last_poll_ms.is_some_and(|last| now < last.saturating_add(dc.interval_s.saturating_mul(1000)));
    dc.last_poll_ms = Some(now);
    if too_soon {
        return Err(OAuthError::new(
            "slow_down",
            70_016,
            "OAuth 2.0 device flow error. Polling too frequently; wait at least the interval between polls.",
        ));
    }
    let user = match &dc.status {
        DeviceCodeStatus::Pending => {
            return Err(OAuthError::new(
                "authorization_pending",
                70_016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ))
        }
        DeviceCodeStatus::Declined => {
            return Err(OAuthError::new(
                "authorization_declined",
                70_000,
                "The user has declined the authorization request.",
            ))
        }
        DeviceCodeStatus::Redeemed => return Err(bad_code()),
        DeviceCodeStatus::Approved(user) => user.clone(),
    };
    let (cloud, scope, segment) = (dc.cloud, dc.scope.clone(), dc.tenant_segment.clone());
    let tenant = resolve_tenant(state, &segment)?;
    let client =
        find_client(state, cloud, &tenant, client_id).ok_or_else(|| OAuthError::unknown_client(client_id, &segment))?;
    if !client.is_public() && form_get(form, "client_secret").is_none() && form_get(form, "client_assertion").is_none()
    {
        return Err(OAuthError::new(
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    let auth = match &client {
        Client::App(app) if !app.is_public_client() => {
            let Some(t) = state.tenant(&user.tenant_id).cloned() else { return Err(bad_code()) };
            super::client_auth::authenticate(emu, state, cloud, &t, &segment, app, form, now)?
        }
        _ => ClientAuth::None,
    };
    let names: Vec<String> =
        state.tenant(&user.tenant_id).map(|t| t.names().into_iter().map(str::to_string).collect()).unwrap_or_default();
    let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
    if state.faults.conditional_access_blocks(&names_ref) {
        return Err(OAuthError::new(
            "invalid_grant",
            53_003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        ));
    }
    let grant = Delegated {
        cloud,
        client: &client,
        client_id,
        scope: &scope,
        user: &user,
        nonce: None,
        client_info: form_get(form, "client_info") == Some("1"),
        auth,
        acting: None,
    };
    let body = issue_delegated(emu, state, &grant, now)?;
    if let Some(dc) = state.device_codes.get_mut(code) {
        dc.status = DeviceCodeStatus::Redeemed;
    }
    Ok(body)
}
