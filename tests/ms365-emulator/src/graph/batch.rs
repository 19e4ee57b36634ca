//! `POST /$batch`: up to 20 requests with relative URLs, run in `dependsOn` order through the same
//! [`super::handle`] as direct calls. Each inner request is counted against throttle faults separately,
//! as Graph counts it, so an inner request can get its own 429 with a `Retry-After` header while its
//! neighbours succeed. A request whose dependency failed gets 424 Failed Dependency, as at Graph.

use std::collections::HashSet;

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::error::GraphError;
use super::{GraphRequest, GraphResponse};
use crate::log::graph_throttle_error;
use crate::state::{BatchLogEntry, Emulator};
use crate::util::parse_form;

/// Graph's limit of requests per batch.
pub const MAX_REQUESTS: usize = 20;

struct Inner {
    id: String,
    method: String,
    url: String,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn parse(req: &GraphRequest) -> Result<Vec<Inner>, GraphError> {
    let bad = |m: &str| GraphError::new(400, "BadRequest", m.to_string());
    let body = req.json_object()?;
    let list = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid batch payload format: 'requests' is required."))?;
    if list.is_empty() {
        return Err(bad("Invalid batch payload format: 'requests' must not be empty."));
    }
    if list.len() > MAX_REQUESTS {
        return Err(bad(&format!("Too many requests in the batch: {} (the limit is {MAX_REQUESTS}).", list.len())));
    }
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    for r in list {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("Invalid batch payload format: every request needs an 'id'.")),
        };
        if !ids.insert(id.clone()) {
            return Err(bad(&format!("Duplicate request id '{id}' in the batch.")));
        }
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Invalid batch payload format: 'method' is required."))?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Invalid batch payload format: 'url' is required."))?;
        let depends_on = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => {
                a.iter().map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())).collect()
            }
            Some(_) => return Err(bad("Invalid batch payload format: 'dependsOn' must be a list of ids.")),
        };
        // A request with a body must name its type; Graph refuses the whole batch otherwise, with
        // this message (as reported in microsoftgraph/msgraph-sdk-dotnet issue 2628).
        let typed = r
            .get("headers")
            .and_then(Value::as_object)
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
        if r.get("body").is_some_and(|b| !b.is_null()) && !typed {
            return Err(bad(&format!("Write request id : {id} does not contain Content-Type header or body.")));
        }
        out.push(Inner {
            id,
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            body: r.get("body").cloned(),
            depends_on,
        });
    }
    for r in &out {
        if let Some(d) = r.depends_on.iter().find(|d| !ids.contains(*d)) {
            return Err(bad(&format!("Request '{}' depends on unknown request '{d}'.", r.id)));
        }
    }
    Ok(out)
}

/// A stable topological order (batch order among ready requests); `None` on a cycle.
fn order(items: &[Inner]) -> Option<Vec<usize>> {
    let mut done: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    while out.len() < items.len() {
        let next = (0..items.len())
            .find(|&i| !out.contains(&i) && items[i].depends_on.iter().all(|d| done.contains(d.as_str())))?;
        done.insert(items[next].id.as_str());
        out.push(next);
    }
    Some(out)
}

fn response_json(id: &str, r: &GraphResponse) -> Value {
    let mut headers = Map::new();
    if r.body.is_some() {
        headers.insert("Content-Type".into(), json!("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"));
    }
    for (k, v) in &r.headers {
        headers.insert(k.clone(), json!(v));
    }
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    o.insert("status".into(), json!(r.status));
    o.insert("headers".into(), Value::Object(headers));
    if let Some(b) = &r.body {
        o.insert("body".into(), b.clone());
    }
    Value::Object(o)
}

/// Runs a batch.
pub fn run(emu: &Emulator, req: &GraphRequest, now: u64) -> GraphResponse {
    let error = |e: GraphError| GraphResponse::json(e.status, e.body(now, req.client_request_id.as_deref()));
    // The batch itself needs a valid token, like any request.
    let caller = {
        let state = emu.lock();
        super::auth::authenticate(emu, &state, req.authorization.as_deref(), now)
    };
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let items = match parse(req) {
        Ok(i) => i,
        Err(e) => return error(e),
    };
    let Some(sequence) = order(&items) else {
        return error(GraphError::new(400, "BadRequest", "The dependsOn graph of the batch has a cycle."));
    };
    let mut statuses: Vec<Option<u16>> = vec![None; items.len()];
    let mut responses = Vec::new();
    let mut log = Vec::new();
    for i in sequence {
        let item = &items[i];
        let failed_dep = item
            .depends_on
            .iter()
            .any(|d| items.iter().position(|x| &x.id == d).and_then(|p| statuses[p]).is_none_or(|s| s >= 400));
        let resp = if failed_dep {
            let e = GraphError::new(424, "FailedDependency", "Dependent request failed; this request was not run.");
            GraphResponse::json(424, e.body(now, None))
        } else {
            run_one(emu, req, item, now)
        };
        statuses[i] = Some(resp.status);
        log.push(BatchLogEntry { method: item.method.clone(), url: item.url.clone(), status: resp.status });
        responses.push(response_json(&item.id, &resp));
    }
    let mut r = GraphResponse::json(200, json!({ "responses": responses }));
    r.client_id = Some(caller.app_id);
    r.batch = Some(log);
    r
}

fn run_one(emu: &Emulator, outer: &GraphRequest, item: &Inner, now: u64) -> GraphResponse {
    let bad = |m: String| {
        let e = GraphError::new(400, "BadRequest", m);
        GraphResponse::json(400, e.body(now, None))
    };
    if item.url.contains("://") {
        return bad(format!("Invalid request URL '{}': batch URLs must be relative, e.g. '/applications'.", item.url));
    }
    let Ok(method) = Method::from_bytes(item.method.as_bytes()) else {
        return bad(format!("Invalid method '{}'.", item.method));
    };
    if !matches!(method, Method::GET | Method::POST | Method::PATCH | Method::PUT | Method::DELETE) {
        return bad(format!("Invalid method '{}'.", item.method));
    }
    let url = if item.url.starts_with('/') { item.url.clone() } else { format!("/{}", item.url) };
    let url = url.strip_prefix("/v1.0").map(str::to_string).unwrap_or(url);
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.clone(), String::new()),
    };
    if path.trim_end_matches('/') == "/$batch" {
        return bad("A batch cannot contain another batch.".into());
    }
    let throttled = emu.lock().faults.throttle(&format!("/v1.0{path}"), now);
    if let Some(t) = throttled {
        let (code, message) = graph_throttle_error(t.status);
        let e = GraphError::new(t.status, code, message);
        let mut r = GraphResponse::json(t.status, e.body(now, None));
        r.headers.push(("Retry-After".into(), t.retry_after.to_string()));
        return r;
    }
    let inner = GraphRequest {
        method,
        path,
        query: parse_form(query.as_bytes()),
        authorization: outer.authorization.clone(),
        client_request_id: outer.client_request_id.clone(),
        body: Ok(item.body.clone()),
    };
    super::handle(emu, &inner, now)
}
