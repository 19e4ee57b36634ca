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
use axum::routing::post;
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
    Router::new().route("/partnercenter/v1/customers/{customer}/applicationconsents", post(consent))
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

fn refuse(status: StatusCode, description: &str) -> Response {
    (status, Json(json!({ "description": description, "data": [] }))).into_response()
}

async fn consent(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(customer): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = now_ms();
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let Ok(claims) = emu.signing.verify(token) else {
        return refuse(StatusCode::UNAUTHORIZED, "The access token is missing or invalid.");
    };
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    let scp = claims.get("scp").and_then(Value::as_str).unwrap_or_default();
    if now / 1000 >= exp
        || !aud.trim_end_matches('/').eq_ignore_ascii_case(PARTNER_CENTER_RESOURCE)
        || !scp.split_whitespace().any(|s| s == "user_impersonation")
    {
        return refuse(StatusCode::UNAUTHORIZED, "The access token is not valid for Partner Center.");
    }
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    let user = SignedInUser { tenant_id: claim("tid"), user_id: claim("oid") };
    let appid = claim("appid");
    let mut state = emu.lock();
    if !state.partner.admit(&appid, now, REQUESTS_PER_SECOND) {
        let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, "Too many requests.");
        r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        return r;
    }
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
