//! The control API under `/_emulator/`, for tests and benchmarks: reset (optionally to a new fixture),
//! inspect the state (never secret values), sign in without a browser, read and clear the request log,
//! and program faults. Documented in the crate README; its JSON keys are a contract with tools outside
//! the project, so they change only additively.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::FaultsBody;
use crate::fixture::Fixture;
use crate::graph::applications::{key_json, password_json};
use crate::signin::{control_sign_in, ControlSignIn};
use crate::state::{Emulator, State};
use crate::util::{hex_upper, iso8601, now_ms};

/// The control routes.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(state))
        .route("/_emulator/fixture", get(fixture))
        .route("/_emulator/device/approve", post(approve))
        .route("/_emulator/device/decline", post(decline))
        .route("/_emulator/requests", get(requests).delete(clear_requests))
        .route("/_emulator/faults", get(faults).post(add_faults).delete(clear_faults))
        .route("/_emulator/clock", get(clock).post(advance))
        .route("/_emulator/gdap", post(gdap))
}

fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

async fn reset(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let fixture = if body.iter().all(u8::is_ascii_whitespace) {
        emu.initial_fixture.clone()
    } else {
        match serde_json::from_slice::<Fixture>(&body) {
            Ok(f) => f,
            Err(e) => return bad(StatusCode::BAD_REQUEST, format!("invalid fixture: {e}")),
        }
    };
    match State::from_fixture(&fixture, now_ms()) {
        Ok(s) => {
            crate::util::reset_clock();
            let tenants = s.tenants.len();
            *emu.lock() = s;
            Json(json!({ "status": "reset", "tenants": tenants })).into_response()
        }
        Err(e) => bad(StatusCode::BAD_REQUEST, format!("invalid fixture: {e}")),
    }
}

/// `GET /_emulator/clock`: the emulator's time and how far ahead of the wall clock it is.
async fn clock() -> Response {
    let now = now_ms();
    let wall = now.saturating_sub(crate::util::advance_clock(0));
    Json(json!({ "now": iso8601(now), "ahead_seconds": (now - wall) / 1000 })).into_response()
}

#[derive(Deserialize)]
struct Advance {
    /// Seconds to move the clock forward (never back: Microsoft's time does not go back).
    advance_seconds: u64,
}

/// `POST /_emulator/clock` `{"advance_seconds": N}`: moves the clock forward, so that credentials
/// expire and tokens age as they would after that time.
async fn advance(body: Bytes) -> Response {
    let Ok(b) = serde_json::from_slice::<Advance>(&body) else {
        return bad(StatusCode::BAD_REQUEST, "expected {\"advance_seconds\": <non-negative integer>}");
    };
    let ahead = crate::util::advance_clock(b.advance_seconds.saturating_mul(1000));
    Json(json!({ "now": iso8601(now_ms()), "ahead_seconds": ahead / 1000 })).into_response()
}

async fn fixture(AxState(emu): AxState<Arc<Emulator>>) -> Response {
    Json(&emu.initial_fixture).into_response()
}

async fn state(AxState(emu): AxState<Arc<Emulator>>) -> Response {
    let s = emu.lock();
    let tenants: Vec<Value> = s
        .tenants
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "cloud": t.cloud,
                "display_name": t.display_name,
                "domains": t.domains,
                "users": t.users.iter().map(|u| json!({"id": u.id, "upn": u.upn, "display_name": u.display_name, "roles": u.roles})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let public_clients: Vec<Value> = s
        .public_clients
        .iter()
        .map(|p| json!({"cloud": p.cloud, "client_id": p.client_id, "display_name": p.display_name}))
        .collect();
    let applications: Vec<Value> = s
        .applications
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "appId": a.app_id,
                "displayName": a.display_name,
                "tenant": a.tenant_id,
                "createdDateTime": iso8601(a.created_ms),
                "requiredResourceAccess": a.properties.get("requiredResourceAccess").cloned().unwrap_or(json!([])),
                "passwordCredentials": a.passwords.iter().map(|p| password_json(p, None)).collect::<Vec<_>>(),
                "keyCredentials": a.keys.iter().map(|k| {
                    let mut j = key_json(k);
                    if let Some(o) = j.as_object_mut() {
                        o.insert("thumbprint".into(), json!(hex_upper(&k.sha1)));
                        o.insert("thumbprintSha256".into(), json!(hex_upper(&k.sha256)));
                    }
                    j
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let service_principals: Vec<Value> = s
        .service_principals
        .iter()
        .map(|sp| json!({"id": sp.id, "appId": sp.app_id, "displayName": sp.display_name, "tenant": sp.tenant_id}))
        .collect();
    let role_assignments: Vec<Value> = s
        .role_assignments
        .iter()
        .map(|r| {
            let role = s
                .service_principals
                .iter()
                .find(|sp| sp.id == r.resource_id)
                .and_then(|sp| sp.app_roles.iter().find(|x| x.id == r.app_role_id))
                .map(|x| x.value.clone());
            json!({
                "id": r.id,
                "tenant": r.tenant_id,
                "principalId": r.principal_id,
                "resourceId": r.resource_id,
                "appRoleId": r.app_role_id,
                "appRoleValue": role,
                "createdDateTime": iso8601(r.created_ms),
            })
        })
        .collect();
    let device_codes: Vec<Value> = s
        .device_codes
        .values()
        .map(|d| {
            let status = match &d.status {
                crate::state::DeviceCodeStatus::Pending => "pending",
                crate::state::DeviceCodeStatus::Approved(_) => "approved",
                crate::state::DeviceCodeStatus::Declined => "declined",
                crate::state::DeviceCodeStatus::Redeemed => "redeemed",
            };
            json!({"user_code": d.user_code, "client_id": d.client_id, "cloud": d.cloud, "tenant": d.tenant_segment, "status": status, "expires": iso8601(d.expires_ms)})
        })
        .collect();
    Json(json!({
        "tenants": tenants,
        "public_clients": public_clients,
        "applications": applications,
        "service_principals": service_principals,
        "role_assignments": role_assignments,
        "device_codes": device_codes,
        "faults": s.faults.list(),
        // Test support: the refresh tokens issued, so that a test can look for them where they must
        // not be (the product's storage after it is done with them).
        "refresh_tokens": s.refresh_tokens.keys().collect::<Vec<_>>(),
        "partner_consents": s.partner.consents.iter().map(|c| json!({"tenant": c.customer_tenant_id, "client_id": c.client_id, "scopes": c.scopes})).collect::<Vec<_>>(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct GdapChange {
    customer_tenant_id: String,
    roles: Vec<String>,
    #[serde(default)]
    status: Option<String>,
}

/// `POST /_emulator/gdap` `{"customer_tenant_id", "roles", "status"?}`: every relationship with the
/// customer now grants `roles` (and has `status`), as after the customer approved a new one.
async fn gdap(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let Ok(change) = serde_json::from_slice::<GdapChange>(&body) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "expected {\"customer_tenant_id\": ..., \"roles\": [...], \"status\"?: ...}",
        );
    };
    if let Some(s) = &change.status {
        if !crate::partner::STATUSES.contains(&s.as_str()) {
            return bad(StatusCode::BAD_REQUEST, format!("status must be one of {:?}", crate::partner::STATUSES));
        }
    }
    let mut state = emu.lock();
    let mut changed = 0;
    for r in state
        .partner
        .relationships
        .iter_mut()
        .filter(|r| r.customer_tenant_id.eq_ignore_ascii_case(&change.customer_tenant_id))
    {
        r.roles = change.roles.clone();
        if let Some(s) = &change.status {
            r.status = s.clone();
        }
        changed += 1;
    }
    if changed == 0 {
        return bad(StatusCode::NOT_FOUND, "no relationship with this customer");
    }
    Json(json!({ "changed": changed })).into_response()
}

#[derive(Deserialize)]
struct DeviceBody {
    user_code: String,
    #[serde(default)]
    user: Option<String>,
}

fn device_result(r: ControlSignIn) -> Response {
    match r {
        ControlSignIn::Done => Json(json!({"status": "ok"})).into_response(),
        ControlSignIn::UnknownCode => bad(StatusCode::NOT_FOUND, "no pending device code has this user code"),
        ControlSignIn::Expired => bad(StatusCode::GONE, "the device code has expired"),
        ControlSignIn::Refused(msg) => bad(StatusCode::CONFLICT, msg),
    }
}

async fn approve(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let Ok(b) = serde_json::from_slice::<DeviceBody>(&body) else {
        return bad(StatusCode::BAD_REQUEST, "expected {\"user_code\": \"...\", \"user\": \"upn\"}");
    };
    let Some(user) = b.user else { return bad(StatusCode::BAD_REQUEST, "\"user\" (a UPN) is required") };
    let r = control_sign_in(&mut emu.lock(), &b.user_code, Some(&user), now_ms());
    device_result(r)
}

async fn decline(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let Ok(b) = serde_json::from_slice::<DeviceBody>(&body) else {
        return bad(StatusCode::BAD_REQUEST, "expected {\"user_code\": \"...\"}");
    };
    let r = control_sign_in(&mut emu.lock(), &b.user_code, None, now_ms());
    device_result(r)
}

async fn requests(AxState(emu): AxState<Arc<Emulator>>) -> Response {
    Json(json!({ "requests": emu.lock().requests })).into_response()
}

async fn clear_requests(AxState(emu): AxState<Arc<Emulator>>) -> Response {
    emu.lock().requests.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn faults(AxState(emu): AxState<Arc<Emulator>>) -> Response {
    Json(json!({ "faults": emu.lock().faults.list() })).into_response()
}

async fn add_faults(AxState(emu): AxState<Arc<Emulator>>, body: Bytes) -> Response {
    let list = match serde_json::from_slice::<FaultsBody>(&body) {
        Ok(b) => b.into_vec(),
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    };
    if let Some(e) = list.iter().find_map(|f| f.validate().err()) {
        return bad(StatusCode::BAD_REQUEST, e);
    }
    let mut s = emu.lock();
    s.faults.add(list, now_ms());
    Json(json!({ "faults": s.faults.list() })).into_response()
}

async fn clear_faults(AxState(emu): AxState<Arc<Emulator>>) -> Response {
    emu.lock().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}
