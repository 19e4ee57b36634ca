//! SharePoint Online's REST API, the one call a backup makes first: `GET /_api/web` (the site's
//! title and URL) with an application token for the tenant's SharePoint root
//! (`https://contoso.sharepoint.com/.default`). As SharePoint does, it refuses app-only tokens whose
//! client authenticated with a secret (`appidacr` 1): 401 "Unsupported app only token."; a
//! certificate (`appidacr` 2) and an application permission on SharePoint that covers every site
//! (`Sites.Read.All` up to `Sites.FullControl.All`; not `Sites.Selected`) open it.
//! Sites live at `https://{tenant}.sharepoint.com`; the emulator serves them on its one host and
//! tells the tenant by the token.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::Emulator;
use crate::util::now_ms;

/// The application permissions that open every site of the tenant.
const OPENS_EVERY_SITE: [&str; 4] =
    ["Sites.Read.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All"];

/// The routes.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new().route("/_api/web", get(web))
}

/// SharePoint's refusal: its status, the `x-ms-diagnostics` reason, and the OData error body.
fn refuse(status: StatusCode, reason: &str, body: Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    let diagnostics = format!("3000003;reason=\"{reason}\";category=\"invalid_client\"");
    if let Ok(v) = HeaderValue::from_str(&diagnostics) {
        resp.headers_mut().insert("x-ms-diagnostics", v);
    }
    resp
}

fn unauthorized(reason: &str) -> Response {
    refuse(StatusCode::UNAUTHORIZED, reason, json!({ "error_description": reason }))
}

async fn web(AxState(emu): AxState<Arc<Emulator>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or_default();
    let Ok(claims) = emu.signing.verify(token) else {
        return unauthorized("Invalid JWT token. The token is malformed or its signature is not valid.");
    };
    if now_ms() / 1000 >= claims.get("exp").and_then(Value::as_u64).unwrap_or(0) {
        return unauthorized("Invalid JWT token. The token is expired.");
    }
    let state = emu.lock();
    let tenant_id = claims.get("tid").and_then(Value::as_str).unwrap_or_default();
    let Some(tenant) = state.tenant(tenant_id) else {
        return unauthorized("Invalid issuer or signature.");
    };
    let root = tenant.sharepoint_resource();
    if claims.get("aud").and_then(Value::as_str).map(|a| a.trim_end_matches('/')) != Some(root.as_str()) {
        return unauthorized("Invalid audience Uri.");
    }
    let app_only = claims.get("scp").is_none();
    if app_only && claims.get("appidacr").and_then(Value::as_str) != Some("2") {
        return unauthorized("Unsupported app only token.");
    }
    let roles: Vec<&str> =
        claims.get("roles").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    // `Sites.Selected` opens only the sites an administrator granted the application one by one
    // (Learn: "Overview of Selected permissions in OneDrive and SharePoint"); no site is granted here.
    if app_only && !roles.iter().any(|r| OPENS_EVERY_SITE.contains(r)) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Access denied.",
            json!({"error": {"code": "-2147024891, System.UnauthorizedAccessException",
                "message": {"lang": "en-US",
                    "value": "Access denied. You do not have permission to perform this action or access this resource."}}}),
        );
    }
    Json(json!({
        "odata.metadata": format!("{root}/_api/$metadata#SP.ApiData.Webs/@Element"),
        "Title": tenant.display_name,
        "Url": root,
        "ServerRelativeUrl": "/",
        "WebTemplate": "SITEPAGEPUBLISHING",
    }))
    .into_response()
}
