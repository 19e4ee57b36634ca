//! The sign-in pages: `/devicelogin` (the device code flow's `verification_uri`) and the account,
//! password and consent steps shared with `/authorize`.
//!
//! Each step is a form POST. The progress of a sign-in lives server-side in a [`SignInFlow`] whose random
//! ID travels in a hidden input, so a page can be reloaded or driven by a headless browser without
//! JavaScript. The rules of who may sign in where (tenant of the request, cloud of the tenant, home tenant
//! of the client) are in [`choose_account`], shared with the control API's approve call.

pub mod html;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::cloud::{parse_scopes, Cloud};
use crate::identity::authorize::redirect_with;
use crate::identity::errors::OAuthError;
use crate::identity::tokens::delegated_permissions;
use crate::identity::{find_client, resolve_tenant, Client, TenantScope};
use crate::state::{AuthCode, DeviceCodeStatus, Emulator, FlowKind, SignInFlow, SignedInUser, State};
use crate::util::{form_get, now_ms, parse_form, random_string};

/// Microsoft's message for a wrong user code.
pub const WRONG_CODE: &str = "That code didn't work. Check the code and try again.";
/// Microsoft's message for an expired user code.
pub const EXPIRED_CODE: &str = "That code has expired. You can go back to the app and request a new code.";
/// Microsoft's message for an unknown account.
pub const UNKNOWN_ACCOUNT: &str =
    "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.";
/// Microsoft's message for a wrong password.
pub const WRONG_PASSWORD: &str =
    "Your account or password is incorrect. If you don't remember your password, reset it now.";
/// Authorization codes live ten minutes, as at Microsoft.
const AUTH_CODE_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// The sign-in page routes.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/devicelogin", get(code_form).post(code_submit))
        .route("/login/account", post(account_submit))
        .route("/login/password", post(password_submit))
        .route("/login/consent", post(consent_submit))
        .route("/error", get(error_info))
}

/// Opens a sign-in flow and returns its ID.
pub fn begin(state: &mut State, kind: FlowKind, now: u64) -> String {
    let id = random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 32);
    state.flows.insert(id.clone(), SignInFlow { kind, user: None, authenticated: false, created_ms: now });
    id
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}

/// A 302 to `location`.
pub fn redirect(location: &str) -> Response {
    match header::HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => error_page(&OAuthError::new("invalid_request", 50_011, "The redirect URI is not a valid URI.")),
    }
}

/// An error page for a request that cannot be redirected back (bad client, redirect URI, tenant).
pub fn error_page(e: &OAuthError) -> Response {
    let msg = format!("AADSTS{}: {}", e.code, e.message);
    html(StatusCode::BAD_REQUEST, html::message_page("Sorry, but we're having trouble signing you in.", &msg))
}

/// The account page of a flow signing in to `app_name`.
pub fn account_page(flow: &str, prefill: &str, app_name: &str, error: Option<&str>) -> Response {
    html(StatusCode::OK, html::account_page(flow, prefill, app_name, error))
}

/// The name of the client a flow signs in to, for the account page.
fn app_name(state: &State, target: &Target) -> String {
    let scope = resolve_tenant(state, &target.segment).unwrap_or(TenantScope::Any);
    find_client(state, target.cloud, &scope, &target.client_id)
        .map(|c| c.display_name().to_string())
        .unwrap_or_default()
}

async fn error_info(RawQuery(q): RawQuery) -> Response {
    let q = parse_form(q.unwrap_or_default().as_bytes());
    let code = form_get(&q, "code").unwrap_or("").chars().filter(char::is_ascii_digit).take(10).collect::<String>();
    html(StatusCode::OK, html::message_page("Error", &format!("AADSTS{code}: see the emulator README for this code.")))
}

async fn code_form() -> Response {
    html(StatusCode::OK, html::code_page(None))
}

async fn code_submit(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let now = now_ms();
    let form = parse_form(&body);
    let typed = form_get(&form, "otc").unwrap_or("");
    let mut state = emu.lock();
    let Some(dc) = crate::identity::devicecode::find_by_user_code(&mut state, typed) else {
        return html(StatusCode::OK, html::code_page(Some(WRONG_CODE)));
    };
    if now >= dc.expires_ms {
        return html(StatusCode::OK, html::code_page(Some(EXPIRED_CODE)));
    }
    if dc.status != DeviceCodeStatus::Pending {
        return html(StatusCode::OK, html::code_page(Some(WRONG_CODE)));
    }
    let user_code = dc.user_code.clone();
    let flow = begin(&mut state, FlowKind::Device { user_code }, now);
    let name = flow_target(&state, &flow, now).map(|(_, t)| app_name(&state, &t)).unwrap_or_default();
    account_page(&flow, "", &name, None)
}

/// What a flow signs in to: tenant segment, cloud, client ID.
struct Target {
    segment: String,
    cloud: Cloud,
    client_id: String,
    scope: String,
}

/// Looks up the flow and what it targets; for device flows also checks the code is still usable.
fn flow_target(state: &State, flow_id: &str, now: u64) -> Result<(SignInFlow, Target), String> {
    let flow = state.flows.get(flow_id).cloned().ok_or_else(|| "This sign-in has expired. Start again.".to_string())?;
    let target = match &flow.kind {
        FlowKind::Device { user_code } => {
            let dc = state
                .device_codes
                .values()
                .find(|d| &d.user_code == user_code)
                .ok_or_else(|| EXPIRED_CODE.to_string())?;
            if now >= dc.expires_ms {
                return Err(EXPIRED_CODE.to_string());
            }
            if dc.status != DeviceCodeStatus::Pending {
                return Err(WRONG_CODE.to_string());
            }
            Target {
                segment: dc.tenant_segment.clone(),
                cloud: dc.cloud,
                client_id: dc.client_id.clone(),
                scope: dc.scope.clone(),
            }
        }
        FlowKind::Authorize(r) => Target {
            segment: r.tenant_segment.clone(),
            cloud: r.cloud,
            client_id: r.client_id.clone(),
            scope: r.scope.clone(),
        },
    };
    Ok((flow, target))
}

/// Decides whether `upn` may sign in to the client of a flow: the account must exist, belong to the
/// request's tenant (unless `organizations`), live in the request's cloud (AADSTS90038), and the client
/// must be usable in that tenant (AADSTS700016). Returns the user, or the message to show.
fn choose_account(state: &State, target: &Target, upn: &str) -> Result<(SignedInUser, Client), String> {
    let (tenant, user) = state.user_by_upn(upn).ok_or_else(|| UNKNOWN_ACCOUNT.to_string())?;
    let scope = resolve_tenant(state, &target.segment).map_err(|e| format!("AADSTS{}: {}", e.code, e.message))?;
    if let TenantScope::One(t) = &scope {
        if t.id != tenant.id {
            return Err(format!(
                "AADSTS50020: User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist \
                 in tenant '{}' and cannot access the application '{}' in that tenant.",
                user.upn, tenant.id, t.display_name, target.client_id
            ));
        }
    }
    if tenant.cloud != target.cloud {
        let e = OAuthError::wrong_cloud(&tenant.id, tenant.cloud, target.cloud);
        return Err(format!("AADSTS{}: {}", e.code, e.message));
    }
    let client =
        find_client(state, target.cloud, &TenantScope::One(tenant.clone()), &target.client_id).ok_or_else(|| {
            let e = OAuthError::unknown_client(&target.client_id, &tenant.display_name);
            format!("AADSTS{}: {}", e.code, e.message)
        })?;
    Ok((SignedInUser { tenant_id: tenant.id.clone(), user_id: user.id.clone() }, client))
}

async fn account_submit(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let now = now_ms();
    let form = parse_form(&body);
    let flow_id = form_get(&form, "flow").unwrap_or("");
    let upn = form_get(&form, "loginfmt").unwrap_or("").trim().to_string();
    let mut state = emu.lock();
    let (_, target) = match flow_target(&state, flow_id, now) {
        Ok(x) => x,
        Err(msg) => return html(StatusCode::OK, html::code_page(Some(&msg))),
    };
    match choose_account(&state, &target, &upn) {
        Ok((user, _)) => {
            if let Some(f) = state.flows.get_mut(flow_id) {
                f.user = Some(user);
                f.authenticated = false;
            }
            html(StatusCode::OK, html::password_page(flow_id, &upn, None))
        }
        Err(msg) => html(StatusCode::OK, html::account_page(flow_id, &upn, &app_name(&state, &target), Some(&msg))),
    }
}

async fn password_submit(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let now = now_ms();
    let form = parse_form(&body);
    let flow_id = form_get(&form, "flow").unwrap_or("");
    let password = form_get(&form, "passwd").unwrap_or("");
    let mut state = emu.lock();
    let (flow, target) = match flow_target(&state, flow_id, now) {
        Ok(x) => x,
        Err(msg) => return html(StatusCode::OK, html::code_page(Some(&msg))),
    };
    let Some((tenant, user)) = flow.user.as_ref().and_then(|u| state.user(u)).map(|(t, u)| (t.clone(), u.clone()))
    else {
        return account_page(flow_id, "", &app_name(&state, &target), None);
    };
    if user.password != password {
        return html(StatusCode::OK, html::password_page(flow_id, &user.upn, Some(WRONG_PASSWORD)));
    }
    if let Some(f) = state.flows.get_mut(flow_id) {
        f.authenticated = true;
    }
    let client = find_client(&state, target.cloud, &TenantScope::One(tenant.clone()), &target.client_id);
    let app_name = client.as_ref().map(|c| c.display_name().to_string()).unwrap_or_default();
    let permissions = permission_lines(&state, client.as_ref(), &target.scope, &tenant.id);
    html(StatusCode::OK, html::consent_page(flow_id, &user.upn, &app_name, &permissions))
}

/// The lines of the consent page: each delegated permission's description, then the OpenID ones.
fn permission_lines(state: &State, client: Option<&Client>, scope: &str, tenant_id: &str) -> Vec<String> {
    let Ok(requested) = parse_scopes(scope) else { return Vec::new() };
    let mut lines: Vec<String> = match client {
        Some(c) => delegated_permissions(state, c, &requested.permissions, tenant_id),
        None => requested.permissions.clone(),
    }
    .into_iter()
    .map(|p| {
        let desc = state
            .graph_sp(tenant_id)
            .and_then(|sp| sp.scopes.iter().find(|s| s.value == p))
            .map(|s| s.display_name.clone());
        match desc {
            Some(d) => format!("{d} ({p})"),
            None => p,
        }
    })
    .collect();
    if requested.has_oidc("openid") || requested.has_oidc("profile") {
        lines.push("View your basic profile".into());
    }
    if requested.has_oidc("offline_access") {
        lines.push("Maintain access to data you have given it access to".into());
    }
    lines
}

async fn consent_submit(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let now = now_ms();
    let form = parse_form(&body);
    let flow_id = form_get(&form, "flow").unwrap_or("").to_string();
    let accept = form_get(&form, "action") != Some("cancel");
    let mut state = emu.lock();
    let (flow, target) = match flow_target(&state, &flow_id, now) {
        Ok(x) => x,
        Err(msg) => return html(StatusCode::OK, html::code_page(Some(&msg))),
    };
    let (Some(user), true) = (flow.user.clone(), flow.authenticated) else {
        return account_page(&flow_id, "", &app_name(&state, &target), None);
    };
    let app_name = state
        .user(&user)
        .map(|(t, _)| t.clone())
        .and_then(|t| find_client(&state, target.cloud, &TenantScope::One(t), &target.client_id))
        .map(|c| c.display_name().to_string())
        .unwrap_or_default();
    state.flows.remove(&flow_id);
    match flow.kind {
        FlowKind::Device { user_code } => {
            if accept {
                state.partner.record_sign_in_consent(&user, &target.client_id, &target.scope, false);
            }
            let status = if accept { DeviceCodeStatus::Approved(user) } else { DeviceCodeStatus::Declined };
            if let Some(dc) = state.device_codes.values_mut().find(|d| d.user_code == user_code) {
                dc.status = status;
            }
            if accept {
                html(
                    StatusCode::OK,
                    html::message_page(
                        app_name.as_str(),
                        &format!(
                            "You have signed in to the {app_name} application on your device. You may now close this window."
                        ),
                    ),
                )
            } else {
                html(
                    StatusCode::OK,
                    html::message_page(
                        app_name.as_str(),
                        &format!("You have declined to sign in to the {app_name} application on your device. You may now close this window."),
                    ),
                )
            }
        }
        FlowKind::Authorize(r) => {
            let mut params: Vec<(&str, String)> = Vec::new();
            if accept {
                state.partner.record_sign_in_consent(&user, &r.client_id, &r.scope, r.consent_partner_center);
                let code = format!(
                    "1.{}",
                    random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 200)
                );
                state.auth_codes.insert(
                    code.clone(),
                    AuthCode {
                        client_id: r.client_id.clone(),
                        redirect_uri: r.redirect_uri.clone(),
                        platform: r.platform,
                        code_challenge: r.code_challenge.clone(),
                        code_challenge_plain: r.code_challenge_plain,
                        cloud: r.cloud,
                        scope: r.scope.clone(),
                        nonce: r.nonce.clone(),
                        user,
                        expires_ms: now + AUTH_CODE_LIFETIME_MS,
                        redeemed: false,
                    },
                );
                params.push(("code", code));
            } else {
                params.push(("error", "access_denied".into()));
                params.push(("error_description", "AADSTS65004: User declined to consent to access the app.".into()));
            }
            if let Some(s) = &r.state {
                params.push(("state", s.clone()));
            }
            let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            redirect(&redirect_with(&r.redirect_uri, &refs))
        }
    }
}

/// Result of an approve/decline through the control API.
#[derive(Debug)]
pub enum ControlSignIn {
    /// Done.
    Done,
    /// No pending device code has that user code.
    UnknownCode,
    /// The code has expired.
    Expired,
    /// The account may not sign in here; the message says why.
    Refused(String),
}

/// Approves (`Some(upn)`) or declines (`None`) a device code without the browser pages.
pub fn control_sign_in(state: &mut State, user_code: &str, upn: Option<&str>, now: u64) -> ControlSignIn {
    let Some(dc) = crate::identity::devicecode::find_by_user_code(state, user_code) else {
        return ControlSignIn::UnknownCode;
    };
    if now >= dc.expires_ms {
        return ControlSignIn::Expired;
    }
    if dc.status != DeviceCodeStatus::Pending {
        return ControlSignIn::UnknownCode;
    }
    let target = Target {
        segment: dc.tenant_segment.clone(),
        cloud: dc.cloud,
        client_id: dc.client_id.clone(),
        scope: dc.scope.clone(),
    };
    let code = dc.user_code.clone();
    let status = match upn {
        None => DeviceCodeStatus::Declined,
        Some(upn) => match choose_account(state, &target, upn) {
            Ok((user, _)) => {
                state.partner.record_sign_in_consent(&user, &target.client_id, &target.scope, false);
                DeviceCodeStatus::Approved(user)
            }
            Err(msg) => return ControlSignIn::Refused(msg),
        },
    };
    if let Some(dc) = state.device_codes.values_mut().find(|d| d.user_code == code) {
        dc.status = status;
    }
    ControlSignIn::Done
}
