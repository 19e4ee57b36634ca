//! Partner Center's consent API (Learn: "Control Panel Vendor APIs", `POST
//! /v1/customers/{customer_id}/applicationconsents`), served under `/partnercenter` (see README.md,
//! "Partners (GDAP)"): a partner's admin agent puts a multi-tenant client into a customer's tenant
//! with the Graph permissions it names.
//!
//! - The token must be for Partner Center (`aud` `https://api.partnercenter.microsoft.com`, scope
//!   `user_impersonation`), of a user in the partner tenant's AdminAgents group, and issued to the
//!   client being consented ("the applicationId must match the appid of the token").
//! - The customer must have an active GDAP relationship with the partner granting one of the roles
//!   that may consent for applications (Global Administrator, Application Administrator, Cloud
//!   Application Administrator); otherwise 403.
//! - 50 requests a second per application; then 429 with `Retry-After`.
//! - Success is `201 Created` with the request's consent echoed. A consent already given is refused
//!   with 409 (Learn does not document this case's status; partners report "Permission entry already
//!   exists").

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::PartnerConsent;
use crate::cloud::PARTNER_CENTER_RESOURCE;
use crate::fixture::GRAPH_APP_ID;
use crate::state::{Emulator, SignedInUser};
use crate::util::now_ms;

/// Partner Center's limit per application, requests a second.
pub const REQUESTS_PER_SECOND: u32 = 50;

/// The roles with which a partner may consent for applications in a customer's tenant.
pub const CONSENTING_ROLES: [&str; 3] =
    ["Global Administrator", "Application Administrator", "Cloud Application Administrator"];

/// The routes.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/partnercenter/v1/customers/{customer}/applicationconsents", post(consent))
        .route("/partnercenter/v1/customers/{customer}/applicationconsents/{app}", delete(withdraw))
}

/// The caller of a Partner Center request: the user of a valid Partner Center token and the client
/// it was issued to, counted against that client's limit; or the refusal (401, or 429).
fn partner_caller(
    emu: &Emulator,
    state: &mut crate::state::State,
    headers: &HeaderMap,
    now: u64,
) -> Result<(SignedInUser, String), (StatusCode, &'static str)> {
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let Ok(claims) = emu.signing.verify(token) else {
        return Err((StatusCode::UNAUTHORIZED, "The access token is missing or invalid."));
    };
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    let scp = claims.get("scp").and_then(Value::as_str).unwrap_or_default();
    if now / 1000 >= exp
        || !aud.trim_end_matches('/').eq_ignore_ascii_case(PARTNER_CENTER_RESOURCE)
        || !scp.split_whitespace().any(|s| s == "user_impersonation")
    {
        return Err((StatusCode::UNAUTHORIZED, "The access token is not valid for Partner Center."));
    }
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    let appid = claim("appid");
    if !state.partner.admit(&appid, now, REQUESTS_PER_SECOND) {
        return Err((StatusCode::TOO_MANY_REQUESTS, "Too many requests."));
    }
    Ok((SignedInUser { tenant_id: claim("tid"), user_id: claim("oid") }, appid))
}

/// `DELETE .../applicationconsents/{application_id}` (Learn, "Control Panel Vendor APIs", removing
/// consent): the client's consent in the customer's tenant is withdrawn (`204`); `404` when there
/// is none. Same caller rules and limit as the consent.
async fn withdraw(
    AxState(emu): AxState<Arc<Emulator>>,
    Path((customer, app)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let now = now_ms();
    let mut state = emu.lock();
    let (user, appid) = match partner_caller(&emu, &mut state, &headers, now) {
        Ok(c) => c,
        Err((status, why)) => return refuse(status, why),
    };
    if !app.eq_ignore_ascii_case(&appid) || !state.partner.is_admin_agent(&user.tenant_id, &user.user_id) {
        return refuse(StatusCode::FORBIDDEN, "The caller may not remove this consent.");
    }
    let customer = customer.to_ascii_lowercase();
    if state.partner.gdap_roles(&user, &customer).is_none() {
        return refuse(
            StatusCode::FORBIDDEN,
            "The partner has no active delegated admin relationship with the customer.",
        );
    }
    let before = state.partner.consents.len();
    state.partner.consents.retain(|c| !(c.customer_tenant_id == customer && c.client_id.eq_ignore_ascii_case(&app)));
    if state.partner.consents.len() == before {
        return refuse(StatusCode::NOT_FOUND, "The application consent was not found.");
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsentBody {
    application_id: String,
    #[serde(default)]
    display_name: Option<String>,
    application_grants: Vec<Grant>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Grant {
    enterprise_application_id: String,
    scope: String,
}

/// A refusal; a 429 says when to come back (the limit is per second).
fn refuse(status: StatusCode, description: &str) -> Response {
    let mut r = (status, Json(json!({ "description": description, "data": [] }))).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    }
    r
}

async fn consent(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(customer): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = now_ms();
    let mut state = emu.lock();
    let (user, appid) = match partner_caller(&emu, &mut state, &headers, now) {
        Ok(c) => c,
        Err((status, why)) => return refuse(status, why),
    };
    let Ok(req) = serde_json::from_slice::<ConsentBody>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "The request body is not a valid application consent.");
    };
    if !req.application_id.eq_ignore_ascii_case(&appid) {
        return refuse(StatusCode::FORBIDDEN, "The applicationId must be the application the token was issued to.");
    }
    if !state.partner.is_admin_agent(&user.tenant_id, &user.user_id) {
        return refuse(StatusCode::FORBIDDEN, "The user is not in the partner's AdminAgents group.");
    }
    let Some(customer_tenant) = state.tenant(&customer.to_ascii_lowercase()).map(|t| t.id.clone()) else {
        return refuse(StatusCode::NOT_FOUND, "The customer was not found.");
    };
    let refused = state.faults.consent_refused(&customer_tenant);
    let roles = state.partner.gdap_roles(&user, &customer_tenant);
    let Some(roles) = roles else {
        return refuse(
            StatusCode::FORBIDDEN,
            "The partner has no active delegated admin relationship with the customer.",
        );
    };
    if refused || !roles.iter().any(|r| CONSENTING_ROLES.iter().any(|c| c.eq_ignore_ascii_case(r))) {
        return refuse(
            StatusCode::FORBIDDEN,
            "The partner's roles in the customer's tenant do not allow this consent.",
        );
    }
    if state.partner.consent(&customer_tenant, &appid).is_some() {
        return refuse(StatusCode::CONFLICT, "Permission entry already exists.");
    }
    let scopes: Vec<String> = req
        .application_grants
        .iter()
        .filter(|g| g.enterprise_application_id.eq_ignore_ascii_case(GRAPH_APP_ID))
        .flat_map(|g| g.scope.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        .collect();
    state.partner.consents.push(PartnerConsent {
        customer_tenant_id: customer_tenant,
        client_id: appid.to_ascii_lowercase(),
        scopes,
    });
    let grants: Vec<Value> = req
        .application_grants
        .iter()
        .map(|g| json!({ "enterpriseApplicationId": g.enterprise_application_id, "scope": g.scope }))
        .collect();
    (
        StatusCode::CREATED,
        Json(json!({
            "applicationId": req.application_id,
            "displayName": req.display_name,
            "applicationGrants": grants,
        })),
    )
        .into_response()
}
