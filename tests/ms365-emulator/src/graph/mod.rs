//! Microsoft Graph v1.0, the slice the product uses: `/organization`, `/users`, `/applications` (with
//! `addPassword`/`removePassword` and certificate `keyCredentials`), `/servicePrincipals` (with
//! `appRoleAssignedTo`/`appRoleAssignments`) and `/$batch`.
//!
//! A Graph request is handled by [`handle`], a synchronous function from a [`GraphRequest`] to a
//! [`GraphResponse`], so that `$batch` runs its inner requests through exactly the same code (and the
//! same faults) as direct calls. The axum handler only converts HTTP to and from these types.

pub mod applications;
pub mod auth;
pub mod batch;
pub mod directory;
pub mod error;
pub mod mailbox;
pub mod odata;
pub mod policies;
pub mod rollkey;
pub mod service_principals;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{Map, Value};

use crate::log::LogInfo;
use crate::state::{BatchLogEntry, Emulator, State};
use crate::util::{now_ms, parse_form};
use auth::Caller;
use error::GraphError;

/// The Graph routes.
pub fn routes() -> Router<Arc<Emulator>> {
    Router::new().route("/v1.0/{*rest}", any(entry)).route("/beta/{*rest}", any(entry))
}

/// A Graph request, from HTTP or from a `$batch`.
#[derive(Clone, Debug)]
pub struct GraphRequest {
    /// Method.
    pub method: Method,
    /// Path after `/v1.0`, e.g. `/applications/{id}`.
    pub path: String,
    /// Query options.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `client-request-id` header.
    pub client_request_id: Option<String>,
    /// The JSON body: `Ok(None)` when empty, `Err` when not JSON.
    pub body: Result<Option<Value>, ()>,
}

impl GraphRequest {
    /// A query option.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object, or Graph's 400.
    pub fn json_object(&self) -> Result<&Map<String, Value>, GraphError> {
        match &self.body {
            Ok(Some(Value::Object(m))) => Ok(m),
            _ => Err(GraphError::new(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )),
        }
    }
}

/// A Graph response.
#[derive(Clone, Debug)]
pub struct GraphResponse {
    /// Status.
    pub status: u16,
    /// Extra headers (`Retry-After`, `Location`).
    pub headers: Vec<(String, String)>,
    /// JSON body (none for 204).
    pub body: Option<Value>,
    /// The caller's `appid`, for the request log.
    pub client_id: Option<String>,
    /// Inner requests, when this was a `$batch`.
    pub batch: Option<Vec<BatchLogEntry>>,
}

impl GraphResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> GraphResponse {
        GraphResponse { status, headers: Vec::new(), body: Some(body), client_id: None, batch: None }
    }

    /// 204 No Content.
    pub fn no_content() -> GraphResponse {
        GraphResponse { status: 204, headers: Vec::new(), body: None, client_id: None, batch: None }
    }

    fn error(e: &GraphError, req: &GraphRequest, now: u64) -> GraphResponse {
        GraphResponse::json(e.status, e.body(now, req.client_request_id.as_deref()))
    }
}

/// The `@odata.context` of a response.
pub fn context(caller: &Caller, fragment: &str) -> Value {
    Value::String(format!("{}/v1.0/$metadata#{fragment}", caller.cloud.graph_host()))
}

/// A collection response with `$filter`, `$top` and `$select` applied.
pub fn collection(
    caller: &Caller,
    req: &GraphRequest,
    name: &str,
    items: Vec<Map<String, Value>>,
) -> Result<GraphResponse, GraphError> {
    let clauses = match req.query("$filter") {
        Some(f) => odata::parse_filter(f)?,
        None => Vec::new(),
    };
    let top = odata::top(req.query("$top"))?;
    let selected: Vec<Value> = items
        .into_iter()
        .filter(|o| odata::matches(o, &clauses))
        .take(top.unwrap_or(usize::MAX))
        .map(|o| Value::Object(odata::select(o, req.query("$select"))))
        .collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), context(caller, name));
    body.insert("value".into(), Value::Array(selected));
    Ok(GraphResponse::json(200, Value::Object(body)))
}

/// A single-entity response with `$select` applied.
pub fn entity(
    caller: &Caller,
    req: &GraphRequest,
    status: u16,
    fragment: &str,
    obj: Map<String, Value>,
) -> GraphResponse {
    let mut body = Map::new();
    body.insert("@odata.context".into(), context(caller, fragment));
    body.extend(odata::select(obj, req.query("$select")));
    GraphResponse::json(status, Value::Object(body))
}

/// Handles one Graph request (not `$batch`-aware; see [`handle`]).
fn dispatch(
    emu: &Emulator,
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let m = &req.method;
    match segments.as_slice() {
        ["organization"] if m == Method::GET => directory::organization(state, caller, req),
        // The beta mailbox API (the entry marks beta paths with `_beta`).
        ["_beta", "users", user, "settings", "exchange"] if m == Method::GET => {
            mailbox::exchange_settings(state, caller, user)
        }
        ["_beta", "admin", "exchange", "mailboxes", mailbox, "folders", "delta"] if m == Method::GET => {
            mailbox::folders_delta(state, caller, mailbox)
        }
        ["policies", "defaultAppManagementPolicy"] if m == Method::GET => {
            policies::default_app_management_policy(state, caller, req)
        }
        ["users"] if m == Method::GET => directory::users(state, caller, req),
        ["tenantRelationships", "delegatedAdminRelationships"] if m == Method::GET => {
            crate::partner::relationships::list(state, caller, req)
        }
        ["applications"] if m == Method::GET => applications::list(state, caller, req),
        ["applications"] if m == Method::POST => applications::create(emu, state, caller, req, now),
        [app] if app.starts_with("applications(") => {
            let id = applications::resolve_key(state, caller, app)?;
            applications::one(emu, state, caller, req, &id, now)
        }
        ["applications", id] => applications::one(emu, state, caller, req, id, now),
        [app, action] if app.starts_with("applications(") => {
            let id = applications::resolve_key(state, caller, app)?;
            applications::action(state, caller, req, &id, action, now)
        }
        ["applications", id, action] => applications::action(state, caller, req, id, action, now),
        ["servicePrincipals"] if m == Method::GET => service_principals::list(state, caller, req),
        ["servicePrincipals"] if m == Method::POST => service_principals::create(state, caller, req, now),
        ["servicePrincipals", id] => service_principals::one(state, caller, req, id),
        // The alternate key, as Graph has it: `servicePrincipals(appId='…')`.
        [sp] if sp.starts_with("servicePrincipals(") => {
            let app_id = sp
                .strip_prefix("servicePrincipals(appId=")
                .and_then(|s| s.strip_suffix(')'))
                .map(|v| v.trim_matches('\''))
                .ok_or_else(|| GraphError::bad_request(format!("Invalid key segment '{sp}'.")))?;
            let id = state
                .sp_by_app_id(&caller.tenant_id, app_id)
                .map(|s| s.id.clone())
                .ok_or_else(|| GraphError::not_found(app_id))?;
            service_principals::one(state, caller, req, &id)
        }
        ["servicePrincipals", id, rel] => service_principals::relation(state, caller, req, id, rel, now),
        ["servicePrincipals", id, "appRoleAssignedTo", assignment] if m == Method::DELETE => {
            service_principals::delete_assignment(state, caller, id, assignment)
        }
        ["organization" | "users" | "applications" | "servicePrincipals", ..] => Err(GraphError::method_not_allowed()),
        [first, ..] => {
            Err(GraphError::new(400, "BadRequest", format!("Resource not found for the segment '{first}'.")))
        }
        [] => Err(GraphError::new(400, "BadRequest", "Invalid request.")),
    }
}

/// Handles a Graph request: authentication, then the route (or the batch).
pub fn handle(emu: &Emulator, req: &GraphRequest, now: u64) -> GraphResponse {
    if req.path.trim_end_matches('/') == "/$batch" && req.method == Method::POST {
        return batch::run(emu, req, now);
    }
    let mut state = emu.lock();
    let caller = match auth::authenticate(emu, &state, req.authorization.as_deref(), now) {
        Ok(c) => c,
        Err(e) => {
            let mut r = GraphResponse::error(&e, req, now);
            r.headers.push((
                "WWW-Authenticate".into(),
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"".into(),
            ));
            return r;
        }
    };
    let mut resp = match dispatch(emu, &mut state, &caller, req, now) {
        Ok(r) => r,
        Err(e) => GraphResponse::error(&e, req, now),
    };
    resp.client_id = Some(caller.app_id.clone());
    resp
}

async fn entry(
    AxState(emu): AxState<Arc<Emulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = now_ms();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let parsed_body = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        serde_json::from_slice::<Value>(&body).map(Some).map_err(|_| ())
    };
    let req = GraphRequest {
        method,
        path: match uri.path().strip_prefix("/beta") {
            Some(beta) => format!("/_beta{beta}"),
            None => uri.path().strip_prefix("/v1.0").unwrap_or("").to_string(),
        },
        query: parse_form(uri.query().unwrap_or("").as_bytes()),
        authorization: header("authorization"),
        client_request_id: header("client-request-id"),
        body: parsed_body,
    };
    let r = handle(&emu, &req, now);
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match &r.body {
        Some(b) => (status, axum::Json(b)).into_response(),
        None => status.into_response(),
    };
    for (k, v) in &r.headers {
        if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            resp.headers_mut().insert(name, value);
        }
    }
    if let Some(id) = req.client_request_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert("client-request-id", id);
    }
    LogInfo { client_id: r.client_id, grant_type: None, batch: r.batch }.attach(resp)
}
